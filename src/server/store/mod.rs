//! The token store: opaque tokens kept only as SHA-256 hashes (`token`), behind one facade
//! ([`Store`]) over two backends that keep the same contract (`backend`): each operation is
//! one atomic unit (issue a grant's tokens, look one up, revoke tokens, grants or a client's
//! tokens, put revoked tokens back for a fault, sweep the expired ones, keep the Config API's
//! documents, each written as a compare-and-set on its version: `doc`).
//!
//! `local` is the default: an in-memory index, made durable with a data directory by an
//! append-only journal (group commit) checkpointed into redb in the background (`journal`).
//! `redis` is shared by the nodes of a cluster: a Lua script or one command per unit, TTLs for
//! expiry. A failure is a [`StoreError`] (`error`); the endpoints decide how to answer it.

mod backend;
mod codec;
mod doc;
mod error;
mod index;
mod journal;
mod local;
mod node_cache;
pub mod redis;
mod token;

pub use backend::TokenBackend;
pub use doc::{Doc, Saved, Versioned};
pub use error::StoreError;
pub use local::DB_FILE;
pub use token::{
    hash_token, new_grant_id, new_token, Removed, TokenHash, TokenKind, TokenRecord, Victim,
};

use self::redis::RedisStore;
use local::LocalStore;
use node_cache::NodeCache;
use std::path::Path;

/// Which backend a store uses.
enum Backend {
    Local(LocalStore),
    Shared(RedisStore),
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

/// The token store of a server: its backend (local, or shared through Redis), and the
/// conveniences the endpoints use (tokens made and hashed here, so a backend only ever sees
/// hashes).
pub struct Store {
    backend: Backend,
    cache: Option<NodeCache>,
    /// The most live grants one client may hold (`--max-grants-per-client`; none by default).
    max_grants: Option<usize>,
}

impl Store {
    fn with(backend: Backend) -> Self {
        Self {
            backend,
            cache: None,
            max_grants: None,
        }
    }

    /// Refuses a new grant (503) to a client that already holds `max` live grants.
    pub fn limit_grants_per_client(&mut self, max: usize) {
        self.max_grants = Some(max);
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
    /// `prefix` ([`redis::DEFAULT_PREFIX`] for `revspec serve`): every server started
    /// with the same URL and prefix is a node of one server.
    pub async fn connect_redis(url: &str, prefix: &str) -> Result<Self, StoreError> {
        Self::connect_redis_with(url, prefix, &redis::RedisOptions::default()).await
    }

    /// [`Store::connect_redis`] with options (see [`redis::RedisOptions`]).
    pub async fn connect_redis_with(
        url: &str,
        prefix: &str,
        options: &redis::RedisOptions,
    ) -> Result<Self, StoreError> {
        Ok(Self::with(Backend::Shared(
            RedisStore::connect(url, prefix, options).await?,
        )))
    }

    /// The shared backend, if this store has one.
    pub fn shared(&self) -> Option<&RedisStore> {
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
            .map_or(lifetime, |c| c.lifetime().max(lifetime));
        self.cache = Some(NodeCache::new(longest));
    }

    /// How many store transactions changed something since start (one per issue, revocation
    /// request or sweep batch): lets a test see that a multi-token revocation is one change.
    pub fn transactions(&self) -> u64 {
        match &self.backend {
            Backend::Local(l) => l.transactions(),
            Backend::Shared(r) => r.transactions(),
        }
    }

    /// How many journal group commits (one `fdatasync` each) were made (0 in memory or in
    /// Redis): fewer than the changes made.
    pub fn commits(&self) -> u64 {
        self.local().map_or(0, LocalStore::commits)
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
        on_backend!(self, b => b.issue(hashed, self.max_grants).await)?;
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

    /// Revokes every token of a client, or only those of one kind. Returns how many were
    /// removed at once (with Redis, the rest of a large client's tokens are revoked as well,
    /// and removed in the background).
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

    /// Every Config API document stored (with a data directory or a shared store), at its
    /// version.
    pub async fn load_docs(&self) -> Result<Vec<(Doc, Versioned)>, StoreError> {
        on_backend!(self, b => b.load_docs().await)
    }

    /// One Config API document, if stored.
    pub async fn load_doc(&self, doc: &Doc) -> Result<Option<Versioned>, StoreError> {
        on_backend!(self, b => b.load_doc(doc.clone()).await)
    }

    /// Stores a Config API document if it is still at version `based_on` (see
    /// [`TokenBackend::save_doc`]; persisted with a data directory, and with a shared store the
    /// other nodes are told).
    pub async fn save_doc(
        &self,
        doc: &Doc,
        based_on: u64,
        value: &[u8],
    ) -> Result<Saved, StoreError> {
        on_backend!(self, b => b.save_doc(doc.clone(), based_on, value.to_vec()).await)
    }
}

#[cfg(test)]
mod tests;
