//! The token store: opaque tokens kept only as SHA-256 hashes, with the operations the server
//! needs expressed as whole units ([`TokenBackend`]): issue the tokens of a grant, look one up,
//! revoke tokens, grants or all of a client's tokens, put revoked tokens back (a fault), sweep
//! the expired ones, and keep the Config API's settings. Each unit is atomic in its backend, so
//! a backend never has to "read an index, then write": that is what lets a shared backend
//! (Redis: a Lua script or MULTI per unit, TTLs for expiry) sit beside the local ones.
//!
//! The local backend ([`LocalStore`]) answers from an in-memory index (`index`): by token, by
//! grant, by client and by expiry, so revoking one token, one grant or all of a client's
//! tokens costs what it touches, not what the store holds. With a data directory every change
//! is also written through to an embedded redb database (`journal`) with group commit:
//! concurrent changes share one fsync'd commit, and a change's unit returns only once it is
//! durable, so every 200 the server sends is durable when it is sent. The index is rebuilt
//! from the database at start (rows in `codec`'s compact form), so a restart neither
//! resurrects a revoked token nor forgets an issued one. The database is created `0600` in a
//! folder created `0700`.

mod codec;
mod index;
mod journal;
pub mod redis;

use base64::Engine as _;
use index::Index;
use journal::{Journal, Op};
use rand::RngCore as _;
use redb::{ReadableDatabase as _, ReadableTable as _, TableDefinition};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// The hash under which a token is stored; the token itself is never kept.
pub type TokenHash = [u8; 32];

const TOKENS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tokens");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// The database file inside the data directory.
pub const DB_FILE: &str = "tokens.redb";
/// The most expired tokens one sweep transaction removes, so a sweep never holds the lock long.
const SWEEP_BATCH: usize = 4096;

/// Access or refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub fn hint(self) -> &'static str {
        match self {
            TokenKind::Access => "access_token",
            TokenKind::Refresh => "refresh_token",
        }
    }
}

/// What the store knows of one token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub kind: TokenKind,
    pub client_id: String,
    pub grant_id: u64,
    pub subject: Option<String>,
    pub scopes: Vec<String>,
    pub issued_at: u64,
    pub expires_at: u64,
}

impl TokenRecord {
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_at
    }
}

/// What one revocation removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Victim {
    /// One token only (no cascade).
    Token(TokenHash),
    /// Every token of a grant.
    Grant(u64),
    /// Every token of a client, or only those of one kind.
    Client(String, Option<TokenKind>),
}

/// Tokens removed by a revocation, as they were (the `resurrection` fault puts them back).
pub type Removed = Vec<(TokenHash, TokenRecord)>;

/// A storage failure: a data directory's database failed (the server answers 500 until it is
/// restarted), or the shared store cannot be reached now (503 `temporarily_unavailable`, and
/// the next request tries again).
#[derive(Debug, thiserror::Error)]
#[error("token store: {message}")]
pub struct StoreError {
    message: String,
    unavailable: bool,
}

impl StoreError {
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            unavailable: false,
        }
    }

    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            unavailable: true,
        }
    }

    /// The store could not be reached (a later request may succeed): nothing was changed by
    /// this unit, or what was changed is not known to be stored.
    pub fn is_unavailable(&self) -> bool {
        self.unavailable
    }

    /// The RFC 6749 5.2 answer to a request that met this error: 503 `temporarily_unavailable`
    /// (with `Retry-After: 1`) while the shared store cannot be reached, otherwise 500
    /// `server_error` with `description`. Internals never reach the client; they are logged
    /// here, so no answer to a store failure goes unlogged.
    pub fn answer(&self, description: &'static str) -> super::error::OAuthError {
        tracing::error!("{self}");
        if self.unavailable {
            super::error::OAuthError::temporarily_unavailable(1)
        } else {
            super::error::OAuthError::server_error(description)
        }
    }
}

impl From<redb::Error> for StoreError {
    fn from(e: redb::Error) -> Self {
        StoreError::failed(e.to_string())
    }
}

macro_rules! redb_from {
    ($($t:ty),*) => {$(impl From<$t> for StoreError {
        fn from(e: $t) -> Self { StoreError::from(redb::Error::from(e)) }
    })*};
}
redb_from!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// The operations of a token backend, each one atomic unit. A unit that changes something
/// returns only when the change is durable in the backend (so the answer built on it may be
/// sent), and a unit that finds nothing to change still returns only when every change it
/// could have observed is durable (so "already revoked" is never acknowledged early).
pub trait TokenBackend: Send + Sync {
    /// Stores the tokens of one issue (a grant's first tokens).
    fn issue(
        &self,
        tokens: Vec<(TokenHash, TokenRecord)>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores `tokens` only while `parent` is stored, in the parent's grant; with
    /// `remove_parent` also removes the parent; then drops the grant's oldest access tokens so
    /// that at most `max_access` remain. `false` (nothing changed) when `parent` is gone. The
    /// refresh grant uses it, so a refresh racing the revocation of its refresh token cannot
    /// leave a live token in the revoked grant.
    fn issue_while_present(
        &self,
        parent: TokenHash,
        tokens: Vec<(TokenHash, TokenRecord)>,
        remove_parent: bool,
        max_access: usize,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The stored token with this hash.
    fn get(
        &self,
        hash: TokenHash,
    ) -> impl Future<Output = Result<Option<TokenRecord>, StoreError>> + Send;

    /// Removes everything `victims` name, as one unit; returns what was removed. An empty
    /// list changes nothing and waits for what is pending (see the trait's doc).
    fn revoke(
        &self,
        victims: Vec<Victim>,
    ) -> impl Future<Output = Result<Removed, StoreError>> + Send;

    /// Puts removed tokens back (only the `resurrection` fault does this).
    fn reinstate(&self, removed: Removed) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes every token expired at `now` (a backend with its own expiry may do nothing);
    /// returns how many.
    fn sweep_expired(&self, now: u64) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// The clients that hold tokens (used by the `all-too-wide` fault).
    fn clients_with_tokens(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// A value the Config API stored under `key` (settings, client scopes), if persisted.
    fn load_meta(
        &self,
        key: String,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;

    /// Persists a Config API value (durable when this returns).
    fn save_meta(
        &self,
        key: String,
        value: Vec<u8>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The local backend: the in-memory index, written through to redb with a data directory.
pub struct LocalStore {
    index: RwLock<Index>,
    journal: Option<Journal>,
    transactions: AtomicU64,
}

/// Makes a new opaque token: 32 random bytes, base64url.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh random grant id.
pub fn new_grant_id() -> u64 {
    rand::rng().next_u64()
}

pub fn hash_token(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// Creates the data directory `0700` (only the server's user may list or enter it).
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates the database file `0600` before redb opens it, and narrows an existing one.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    drop(file);
    Ok(())
}

impl LocalStore {
    fn in_memory() -> Self {
        Self {
            index: RwLock::new(Index::default()),
            journal: None,
            transactions: AtomicU64::new(0),
        }
    }

    fn open(dir: &Path, now: u64) -> Result<Self, StoreError> {
        let io = |e: std::io::Error| StoreError::failed(format!("{}: {e}", dir.display()));
        create_private_dir(dir).map_err(io)?;
        let path = dir.join(DB_FILE);
        create_private_file(&path).map_err(io)?;
        let db = redb::Database::create(&path)?;
        let mut index = Index::default();
        let mut expired = Vec::new();
        {
            let write = db.begin_write()?;
            write.open_table(TOKENS)?; // make sure the tables exist
            write.open_table(META)?;
            write.commit()?;
            let read = db.begin_read()?;
            let table = read.open_table(TOKENS)?;
            for row in table.iter()? {
                let (key, value) = row?;
                let Ok(hash) = <TokenHash>::try_from(key.value()) else {
                    continue;
                };
                let record = codec::decode(value.value())
                    .map_err(|e| StoreError::failed(format!("corrupt token row: {e}")))?;
                if record.is_expired(now) {
                    expired.push(hash);
                } else {
                    index.insert(hash, record);
                }
            }
        }
        index.order_grants();
        if !expired.is_empty() {
            let write = db.begin_write()?;
            {
                let mut table = write.open_table(TOKENS)?;
                for hash in &expired {
                    table.remove(hash.as_slice())?;
                }
            }
            write.commit()?;
        }
        Ok(Self {
            index: RwLock::new(index),
            journal: Some(Journal::start(Arc::new(db))?),
            transactions: AtomicU64::new(0),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuses a change once the journal has failed (before the index changes).
    fn check(&self) -> Result<(), StoreError> {
        self.journal.as_ref().map_or(Ok(()), Journal::check)
    }

    /// Queues the change just made to the index (call with the index lock held), counting it
    /// as one store transaction; returns what to wait for.
    fn log(&self, ops: impl FnOnce() -> Vec<Op>) -> Result<u64, StoreError> {
        self.transactions.fetch_add(1, Ordering::Relaxed);
        self.journal.as_ref().map_or(Ok(0), |j| j.submit(ops()))
    }

    /// Waits until change `seq` is durable.
    async fn durable(&self, seq: u64) -> Result<(), StoreError> {
        match &self.journal {
            Some(j) => j.wait(seq).await,
            None => Ok(()),
        }
    }

    /// Waits until every change made so far is durable.
    async fn settled(&self) -> Result<(), StoreError> {
        match &self.journal {
            Some(j) => j.wait(j.last_submitted()).await,
            None => Ok(()),
        }
    }

    fn puts(&self, tokens: &[(TokenHash, TokenRecord)]) -> Vec<Op> {
        match self.journal {
            Some(_) => tokens
                .iter()
                .map(|(h, r)| Op::Put(*h, codec::encode(r)))
                .collect(),
            None => Vec::new(),
        }
    }
}

impl TokenBackend for LocalStore {
    async fn issue(&self, tokens: Vec<(TokenHash, TokenRecord)>) -> Result<(), StoreError> {
        if tokens.is_empty() {
            return Ok(());
        }
        let puts = self.puts(&tokens);
        let seq = {
            let mut index = self.write();
            self.check()?;
            let seq = self.log(|| puts)?;
            for (hash, record) in tokens {
                index.insert(hash, record);
            }
            seq
        };
        self.durable(seq).await
    }

    async fn issue_while_present(
        &self,
        parent: TokenHash,
        tokens: Vec<(TokenHash, TokenRecord)>,
        remove_parent: bool,
        max_access: usize,
    ) -> Result<bool, StoreError> {
        let mut ops = self.puts(&tokens);
        let seq = {
            let mut index = self.write();
            self.check()?;
            let Some(grant_id) = index.grant_of(&parent) else {
                return Ok(false);
            };
            let new_access = tokens
                .iter()
                .filter(|(_, r)| r.kind == TokenKind::Access)
                .count();
            let mut removed = index.excess_access(
                grant_id,
                max_access.saturating_sub(new_access.min(max_access)),
            );
            if remove_parent {
                removed.push(parent);
            }
            for hash in &removed {
                index.remove(hash);
            }
            for (hash, record) in tokens {
                index.insert(hash, record);
            }
            // Removals first: a new token never shares a hash with an old one.
            let mut all: Vec<Op> = removed.into_iter().map(Op::Remove).collect();
            all.append(&mut ops);
            self.log(|| all)?
        };
        self.durable(seq).await?;
        Ok(true)
    }

    async fn get(&self, hash: TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        Ok(self.read().get(&hash))
    }

    async fn revoke(&self, victims: Vec<Victim>) -> Result<Removed, StoreError> {
        if victims.is_empty() {
            self.settled().await?;
            return Ok(Vec::new());
        }
        let (removed, seq) = {
            let mut index = self.write();
            self.check()?;
            let removed = index.revoke(&victims);
            let seq = if removed.is_empty() {
                None
            } else {
                Some(self.log(|| removed.iter().map(|(h, _)| Op::Remove(*h)).collect())?)
            };
            (removed, seq)
        };
        match seq {
            Some(seq) => self.durable(seq).await?,
            // Nothing left to remove: what removed it may still be on its way to the disk.
            None => self.settled().await?,
        }
        Ok(removed)
    }

    async fn reinstate(&self, removed: Removed) -> Result<(), StoreError> {
        self.issue(removed).await
    }

    async fn sweep_expired(&self, now: u64) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let (count, seq) = {
                let mut index = self.write();
                self.check()?;
                let batch = index.expired(now, SWEEP_BATCH);
                if batch.is_empty() {
                    index.prune_profiles();
                    return Ok(total);
                }
                for hash in &batch {
                    index.remove(hash);
                }
                let count = batch.len();
                (
                    count,
                    self.log(|| batch.into_iter().map(Op::Remove).collect())?,
                )
            };
            self.durable(seq).await?;
            total += count;
        }
    }

    async fn clients_with_tokens(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.read().clients())
    }

    async fn load_meta(&self, key: String) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(journal) = &self.journal else {
            return Ok(None);
        };
        let read = journal.db.begin_read()?;
        let table = read.open_table(META)?;
        Ok(table.get(key.as_str())?.map(|v| v.value().to_vec()))
    }

    async fn save_meta(&self, key: String, value: Vec<u8>) -> Result<(), StoreError> {
        let Some(journal) = &self.journal else {
            return Ok(());
        };
        journal.check()?;
        let seq = journal.submit(vec![Op::Meta(key, value)])?;
        journal.wait(seq).await
    }
}

/// Which backend a store uses.
enum Backend {
    Local(LocalStore),
    Shared(self::redis::RedisStore),
}

/// Runs the same expression on whichever backend the store has.
macro_rules! on_backend {
    ($store:expr, $b:ident => $e:expr) => {
        match &$store.backend {
            Backend::Local($b) => $e,
            Backend::Shared($b) => $e,
        }
    };
}

/// A node's own cache of token state (only a fault or a quirk sets one): a token looked up
/// here is answered from the cache until the entry is `lifetime` old, so a revocation made
/// through another node is seen late. What this node revokes itself leaves its cache at once.
struct NodeCache {
    lifetime: std::time::Duration,
    entries:
        std::sync::Mutex<std::collections::HashMap<TokenHash, (std::time::Instant, TokenRecord)>>,
}

/// The most entries a node cache holds (then the stale ones go, or all of them).
const NODE_CACHE_CAP: usize = 100_000;

impl NodeCache {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        std::collections::HashMap<TokenHash, (std::time::Instant, TokenRecord)>,
    > {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, hash: &TokenHash) -> Option<TokenRecord> {
        let entries = self.lock();
        let (at, record) = entries.get(hash)?;
        (at.elapsed() < self.lifetime).then(|| record.clone())
    }

    fn put(&self, hash: TokenHash, record: TokenRecord) {
        let mut entries = self.lock();
        if entries.len() >= NODE_CACHE_CAP {
            let lifetime = self.lifetime;
            entries.retain(|_, (at, _)| at.elapsed() < lifetime);
            if entries.len() >= NODE_CACHE_CAP {
                entries.clear();
            }
        }
        entries.insert(hash, (std::time::Instant::now(), record));
    }

    fn forget<'a>(&self, hashes: impl IntoIterator<Item = &'a TokenHash>) {
        let mut entries = self.lock();
        for hash in hashes {
            entries.remove(hash);
        }
    }
}

/// The token store of a server: its backend (local, or shared through Redis), and the
/// conveniences the endpoints use (tokens made and hashed here, so a backend only ever sees
/// hashes).
pub struct Store {
    backend: Backend,
    cache: Option<NodeCache>,
}

impl Store {
    fn with(backend: Backend) -> Self {
        Self {
            backend,
            cache: None,
        }
    }

    /// A store that lives in memory only.
    pub fn in_memory() -> Self {
        Self::with(Backend::Local(LocalStore::in_memory()))
    }

    /// A store persisted under `dir` (created if needed); loads what an earlier run left.
    pub fn open(dir: &Path, now: u64) -> Result<Self, StoreError> {
        Ok(Self::with(Backend::Local(LocalStore::open(dir, now)?)))
    }

    /// A store shared through Redis at `url` (`redis://HOST:PORT[/DB]`) under the key
    /// `prefix` ([`self::redis::DEFAULT_PREFIX`] for `revspec serve`): every server started
    /// with the same URL and prefix is a node of one server.
    pub async fn connect_redis(url: &str, prefix: &str) -> Result<Self, StoreError> {
        Ok(Self::with(Backend::Shared(
            self::redis::RedisStore::connect(url, prefix).await?,
        )))
    }

    /// The shared backend, if this store has one.
    pub fn shared(&self) -> Option<&self::redis::RedisStore> {
        match &self.backend {
            Backend::Shared(r) => Some(r),
            Backend::Local(_) => None,
        }
    }

    fn local(&self) -> Option<&LocalStore> {
        match &self.backend {
            Backend::Local(l) => Some(l),
            Backend::Shared(_) => None,
        }
    }

    /// Gives this node a cache of token state whose entries live `lifetime` (the `stale-node`
    /// fault, the `cross-node-delay` quirk); a longer lifetime than one already set wins.
    pub fn cache_token_state(&mut self, lifetime: std::time::Duration) {
        let longest = self
            .cache
            .as_ref()
            .map_or(lifetime, |c| c.lifetime.max(lifetime));
        self.cache = Some(NodeCache {
            lifetime: longest,
            entries: Default::default(),
        });
    }

    /// How many store transactions changed something since start (one per issue, revocation
    /// request or sweep batch): lets a test see that a multi-token revocation is one change.
    pub fn transactions(&self) -> u64 {
        match &self.backend {
            Backend::Local(l) => l.transactions.load(Ordering::Relaxed),
            Backend::Shared(r) => r.transactions(),
        }
    }

    /// How many database commits were made (0 in memory or in Redis): with group commit,
    /// fewer than the changes made.
    pub fn commits(&self) -> u64 {
        self.local()
            .and_then(|l| l.journal.as_ref())
            .map_or(0, Journal::commits)
    }

    fn hashed(records: &[TokenRecord]) -> (Vec<String>, Vec<(TokenHash, TokenRecord)>) {
        let tokens: Vec<String> = records.iter().map(|_| new_token()).collect();
        let hashed = tokens
            .iter()
            .map(|t| hash_token(t))
            .zip(records.iter().cloned())
            .collect();
        (tokens, hashed)
    }

    /// Stores new tokens in one transaction and returns them (the only time they exist in clear).
    pub async fn issue_all(&self, records: &[TokenRecord]) -> Result<Vec<String>, StoreError> {
        let (tokens, hashed) = Self::hashed(records);
        on_backend!(self, b => b.issue(hashed).await)?;
        Ok(tokens)
    }

    /// Stores one new token and returns it.
    pub async fn issue(&self, record: TokenRecord) -> Result<String, StoreError> {
        Ok(self
            .issue_all(std::slice::from_ref(&record))
            .await?
            .pop()
            .unwrap_or_default())
    }

    /// See [`TokenBackend::issue_while_present`]; the new tokens, or `None` when `parent` is gone.
    pub async fn issue_while_present(
        &self,
        parent: &TokenHash,
        records: &[TokenRecord],
        remove_parent: bool,
        max_access: usize,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let (tokens, hashed) = Self::hashed(records);
        let issued = on_backend!(self, b => b
            .issue_while_present(*parent, hashed, remove_parent, max_access)
            .await)?;
        if let (Some(cache), true) = (&self.cache, remove_parent) {
            cache.forget([parent]);
        }
        Ok(issued.then_some(tokens))
    }

    /// Looks a token up by its value.
    pub async fn get(&self, token: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.get_hash(&hash_token(token)).await
    }

    pub async fn get_hash(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let Some(cache) = &self.cache else {
            return on_backend!(self, b => b.get(*hash).await);
        };
        if let Some(record) = cache.get(hash) {
            return Ok(Some(record));
        }
        let found = on_backend!(self, b => b.get(*hash).await)?;
        if let Some(record) = &found {
            cache.put(*hash, record.clone());
        }
        Ok(found)
    }

    /// Revokes everything `victims` name in one transaction; returns what was removed.
    pub async fn revoke(&self, victims: &[Victim]) -> Result<Removed, StoreError> {
        let removed = on_backend!(self, b => b.revoke(victims.to_vec()).await)?;
        if let Some(cache) = &self.cache {
            cache.forget(removed.iter().map(|(h, _)| h));
            cache.forget(victims.iter().filter_map(|v| match v {
                Victim::Token(h) => Some(h),
                _ => None,
            }));
        }
        Ok(removed)
    }

    /// Revokes one token only (no cascade). Returns whether it existed.
    pub async fn revoke_token(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        Ok(!self.revoke(&[Victim::Token(*hash)]).await?.is_empty())
    }

    /// Revokes every token of a grant. Returns how many were removed.
    pub async fn revoke_grant(&self, grant_id: u64) -> Result<usize, StoreError> {
        Ok(self.revoke(&[Victim::Grant(grant_id)]).await?.len())
    }

    /// Revokes every token of a client, or only those of one kind.
    pub async fn revoke_client(
        &self,
        client_id: &str,
        kind: Option<TokenKind>,
    ) -> Result<usize, StoreError> {
        Ok(self
            .revoke(&[Victim::Client(client_id.to_owned(), kind)])
            .await?
            .len())
    }

    /// Puts removed tokens back (only the `resurrection` fault does this).
    pub async fn reinstate(&self, removed: &Removed) -> Result<(), StoreError> {
        on_backend!(self, b => b.reinstate(removed.clone()).await)
    }

    /// Removes every token expired at `now`, in batches of bounded size; returns how many.
    pub async fn sweep_expired(&self, now: u64) -> Result<usize, StoreError> {
        on_backend!(self, b => b.sweep_expired(now).await)
    }

    /// The clients that hold tokens (used by the `all-too-wide` fault; with Redis, the
    /// clients with grants not yet expired, revoked or not).
    pub async fn clients_with_tokens(&self) -> Result<Vec<String>, StoreError> {
        on_backend!(self, b => b.clients_with_tokens().await)
    }

    /// How many tokens the local index holds (for tests and figures; 0 with Redis).
    pub fn len(&self) -> usize {
        self.local().map_or(0, |l| l.read().len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many tokens a grant holds in the local index (0 with Redis).
    pub fn grant_len(&self, grant_id: u64) -> usize {
        self.local().map_or(0, |l| l.read().grant_len(grant_id))
    }

    /// A value the Config API stored under `key` (settings, client scopes), if persisted.
    pub async fn load_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        on_backend!(self, b => b.load_meta(key.to_owned()).await)
    }

    /// Persists a Config API value (nothing to do without a data directory; with Redis the
    /// other nodes are told).
    pub async fn save_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        on_backend!(self, b => b.save_meta(key.to_owned(), value.to_vec()).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: TokenKind, client: &str, grant: u64) -> TokenRecord {
        TokenRecord {
            kind,
            client_id: client.into(),
            grant_id: grant,
            subject: None,
            scopes: vec![],
            issued_at: 0,
            expires_at: u64::MAX,
        }
    }

    #[tokio::test]
    async fn grant_revocation_touches_only_that_grant() {
        let store = Store::in_memory();
        let at1 = store
            .issue(record(TokenKind::Access, "a", 1))
            .await
            .unwrap();
        let rt1 = store
            .issue(record(TokenKind::Refresh, "a", 1))
            .await
            .unwrap();
        let at2 = store
            .issue(record(TokenKind::Access, "a", 2))
            .await
            .unwrap();
        assert_eq!(store.revoke_grant(1).await.unwrap(), 2);
        assert!(
            store.get(&at1).await.unwrap().is_none() && store.get(&rt1).await.unwrap().is_none()
        );
        assert!(store.get(&at2).await.unwrap().is_some());
        assert_eq!(store.grant_len(1), 0);
        assert_eq!(
            store.clients_with_tokens().await.unwrap(),
            vec!["a".to_string()]
        );
    }

    #[tokio::test]
    async fn client_revocation_filters_by_kind_and_client() {
        let store = Store::in_memory();
        let at = store
            .issue(record(TokenKind::Access, "a", 1))
            .await
            .unwrap();
        let rt = store
            .issue(record(TokenKind::Refresh, "a", 1))
            .await
            .unwrap();
        let other = store
            .issue(record(TokenKind::Access, "b", 3))
            .await
            .unwrap();
        assert_eq!(
            store
                .revoke_client("a", Some(TokenKind::Refresh))
                .await
                .unwrap(),
            1
        );
        assert!(store.get(&at).await.unwrap().is_some() && store.get(&rt).await.unwrap().is_none());
        assert_eq!(store.revoke_client("a", None).await.unwrap(), 1);
        assert!(
            store.get(&at).await.unwrap().is_none() && store.get(&other).await.unwrap().is_some()
        );
        assert_eq!(
            store.clients_with_tokens().await.unwrap(),
            vec!["b".to_string()]
        );
    }

    #[tokio::test]
    async fn one_revocation_of_many_victims_is_one_transaction() {
        let store = Store::in_memory();
        let tokens = store
            .issue_all(&[
                record(TokenKind::Access, "a", 1),
                record(TokenKind::Refresh, "a", 1),
                record(TokenKind::Access, "a", 2),
                record(TokenKind::Access, "a", 3),
            ])
            .await
            .unwrap();
        let before = store.transactions();
        let removed = store
            .revoke(&[
                Victim::Grant(1),
                Victim::Token(hash_token(&tokens[2])),
                Victim::Grant(1),
            ])
            .await
            .unwrap();
        assert_eq!(removed.len(), 3);
        assert_eq!(store.transactions(), before + 1);
        assert_eq!(store.len(), 1);
        // Nothing to remove is no transaction at all.
        store.revoke(&[Victim::Grant(1)]).await.unwrap();
        assert_eq!(store.transactions(), before + 1);
        store.reinstate(&removed).await.unwrap();
        assert_eq!(store.len(), 4);
        assert_eq!(store.grant_len(1), 2);
    }

    #[tokio::test]
    async fn issue_while_present_needs_the_parent_and_can_rotate_it() {
        let store = Store::in_memory();
        let rt = store
            .issue(record(TokenKind::Refresh, "a", 1))
            .await
            .unwrap();
        let parent = hash_token(&rt);
        let kept = store
            .issue_while_present(&parent, &[record(TokenKind::Access, "a", 1)], false, 10)
            .await
            .unwrap()
            .unwrap();
        assert!(
            store.get(&rt).await.unwrap().is_some() && store.get(&kept[0]).await.unwrap().is_some()
        );
        let rotated = store
            .issue_while_present(
                &parent,
                &[
                    record(TokenKind::Access, "a", 1),
                    record(TokenKind::Refresh, "a", 1),
                ],
                true,
                10,
            )
            .await
            .unwrap()
            .unwrap();
        assert!(store.get(&rt).await.unwrap().is_none());
        assert_eq!(store.revoke_grant(1).await.unwrap(), 3);
        for t in &rotated {
            assert!(store.get(t).await.unwrap().is_none());
        }
        // Once the parent is gone nothing is issued.
        let none = store
            .issue_while_present(&parent, &[record(TokenKind::Access, "a", 1)], false, 10)
            .await
            .unwrap();
        assert!(none.is_none() && store.is_empty());
    }

    #[tokio::test]
    async fn issue_while_present_drops_the_oldest_access_tokens_beyond_the_cap() {
        let store = Store::in_memory();
        let first = store
            .issue_all(&[
                record(TokenKind::Access, "a", 1),
                record(TokenKind::Refresh, "a", 1),
            ])
            .await
            .unwrap();
        let parent = hash_token(&first[1]);
        let mut access = vec![first[0].clone()];
        for _ in 0..5 {
            let t = store
                .issue_while_present(&parent, &[record(TokenKind::Access, "a", 1)], false, 3)
                .await
                .unwrap()
                .unwrap();
            access.extend(t);
        }
        // Three access tokens (the newest) and the refresh token.
        assert_eq!(store.grant_len(1), 4);
        for (i, t) in access.iter().enumerate() {
            assert_eq!(store.get(t).await.unwrap().is_some(), i >= 3, "{i}");
        }
        assert!(store.get(&first[1]).await.unwrap().is_some());
        // A cap of one keeps only the newest access token.
        let newest = store
            .issue_while_present(&parent, &[record(TokenKind::Access, "a", 1)], false, 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(store.grant_len(1), 2);
        assert!(store.get(&newest[0]).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn sweep_removes_only_expired_tokens_and_their_empty_grants() {
        let store = Store::in_memory();
        let expiring = |kind, grant, at| TokenRecord {
            expires_at: at,
            ..record(kind, "a", grant)
        };
        let old = store
            .issue_all(&[
                expiring(TokenKind::Access, 1, 10),
                expiring(TokenKind::Refresh, 1, 20),
            ])
            .await
            .unwrap();
        let fresh = store
            .issue(expiring(TokenKind::Access, 2, 100))
            .await
            .unwrap();
        assert_eq!(store.sweep_expired(9).await.unwrap(), 0);
        assert_eq!(store.sweep_expired(10).await.unwrap(), 1);
        assert!(
            store.get(&old[0]).await.unwrap().is_none()
                && store.get(&old[1]).await.unwrap().is_some()
        );
        assert_eq!(store.sweep_expired(50).await.unwrap(), 1);
        assert_eq!(store.grant_len(1), 0);
        assert!(store.get(&fresh).await.unwrap().is_some());
        assert_eq!(store.len(), 1);
    }

    #[tokio::test]
    async fn data_dir_survives_restart_without_resurrection() {
        let dir = tempfile::tempdir().unwrap();
        let (kept, revoked) = {
            let store = Store::open(dir.path(), 0).unwrap();
            let kept = store
                .issue(record(TokenKind::Access, "a", 1))
                .await
                .unwrap();
            let revoked = store
                .issue(record(TokenKind::Refresh, "a", 2))
                .await
                .unwrap();
            store.revoke_token(&hash_token(&revoked)).await.unwrap();
            store.save_meta("k", b"v").await.unwrap();
            (kept, revoked)
        };
        let store = Store::open(dir.path(), 0).unwrap();
        assert!(store.get(&kept).await.unwrap().is_some());
        assert!(store.get(&revoked).await.unwrap().is_none());
        assert_eq!(store.len(), 1);
        assert_eq!(
            store.load_meta("k").await.unwrap().as_deref(),
            Some(&b"v"[..])
        );
        assert_eq!(store.load_meta("absent").await.unwrap(), None);
    }

    /// Whether the database (not the index) holds a token.
    fn on_disk(store: &Store, token: &str) -> bool {
        let db = &store.local().unwrap().journal.as_ref().unwrap().db;
        let read = db.begin_read().unwrap();
        let table = read.open_table(TOKENS).unwrap();
        let found = table.get(hash_token(token).as_slice()).unwrap().is_some();
        found
    }

    #[tokio::test]
    #[allow(clippy::await_holding_lock)] // the committer's hold, released in the test
    async fn concurrent_changes_share_a_commit_and_each_is_on_disk_when_it_returns() {
        use futures::FutureExt as _;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 0).unwrap();
        let journal = store.local().unwrap().journal.as_ref().unwrap();
        let held = journal.hold();
        // Twenty issues queue up while the committer is held; none can have returned.
        let mut pending = Vec::new();
        for i in 0..20 {
            let mut issue = Box::pin(store.issue(record(TokenKind::Access, "a", i)));
            assert!(
                (&mut issue).now_or_never().is_none(),
                "issue {i} returned early"
            );
            pending.push(issue);
        }
        assert_eq!(store.commits(), 0);
        drop(held);
        for issue in pending {
            let token = issue.await.unwrap();
            assert!(on_disk(&store, &token), "a returned issue is not on disk");
        }
        // The first change and the nineteen queued behind it: at most two commits.
        assert!(store.commits() <= 2, "{} commits", store.commits());
        assert_eq!(store.len(), 20);
    }

    #[tokio::test]
    #[allow(clippy::await_holding_lock)]
    async fn nothing_to_revoke_still_waits_for_the_pending_revocation() {
        use futures::FutureExt as _;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 0).unwrap();
        let token = store
            .issue(record(TokenKind::Access, "a", 1))
            .await
            .unwrap();
        let hash = hash_token(&token);
        let held = store.local().unwrap().journal.as_ref().unwrap().hold();
        // The first revocation changes the index and waits for its commit.
        assert!(Box::pin(store.revoke_token(&hash)).now_or_never().is_none());
        assert!(store.get(&token).await.unwrap().is_none());
        // A second one finds nothing, but must not answer before the first is durable.
        let mut again = Box::pin(store.revoke_token(&hash));
        assert!(
            (&mut again).now_or_never().is_none(),
            "answered before durable"
        );
        drop(held);
        assert!(!again.await.unwrap());
        assert!(!on_disk(&store, &token));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn data_dir_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("new").join("data");
        drop(Store::open(&dir, 0).unwrap());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(DB_FILE)), 0o600);
        // A database file left readable by an older run is narrowed.
        std::fs::set_permissions(dir.join(DB_FILE), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        drop(Store::open(&dir, 0).unwrap());
        assert_eq!(mode(&dir.join(DB_FILE)), 0o600);
    }
}
