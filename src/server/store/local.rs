//! The local backend: an in-memory index (`index`), made durable with a data directory by an
//! append-only journal checkpointed into an embedded redb database (`journal`).
//!
//! The index answers by token, by grant, by client and by expiry, so revoking one token, one
//! grant or all of a client's tokens costs what it touches, not what the store holds. With a
//! data directory every change is also appended to the journal with group commit: a unit
//! returns only once its change is durable, so every 200 the server sends is durable when it
//! is sent. At start the index is rebuilt from the database (rows in `codec`'s compact form)
//! and the journal written since its last checkpoint, so a restart neither resurrects a
//! revoked token nor forgets an issued one. The database and the journal files are created
//! `0600` in a folder created `0700`.

use super::backend::TokenBackend;
use super::codec;
use super::doc::{Doc, Saved, Versioned};
use super::error::StoreError;
use super::index::Index;
use super::journal::{self, Journal, Limits, Op, APPLIED_KEY, META, TOKENS};
use super::token::{Removed, TokenHash, TokenKind, TokenRecord, Victim};
use redb::{ReadableDatabase as _, ReadableTable as _};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// The database file inside the data directory.
pub const DB_FILE: &str = "tokens.redb";
/// The most expired tokens one sweep transaction removes, so a sweep never holds the lock long.
const SWEEP_BATCH: usize = 4096;

/// The key of the settings in the database's meta table (as earlier versions wrote it).
const SETTINGS_KEY: &str = "settings";
/// The key of every client's scopes, one JSON map client id -> scopes (as earlier versions
/// wrote it).
const CLIENT_SCOPES_KEY: &str = "client_scopes";

/// The local backend: the in-memory index, made durable by the journal with a data directory.
pub struct LocalStore {
    index: RwLock<Index>,
    journal: Option<Journal>,
    transactions: AtomicU64,
    meta: Mutex<LocalMeta>,
}

/// The Config API's documents as stored (and persisted with a data directory), with their
/// versions (counted from this run's start: one node, so nothing else writes them).
#[derive(Default)]
struct LocalMeta {
    versions: HashMap<String, u64>,
    settings: Option<Vec<u8>>,
    client_scopes: serde_json::Map<String, serde_json::Value>,
}

impl LocalMeta {
    fn version(&self, doc: &Doc) -> u64 {
        self.versions.get(&doc.name()).copied().unwrap_or(0)
    }

    /// Takes in a stored value of the meta table (at start).
    fn load(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        match key {
            SETTINGS_KEY => self.settings = Some(value.to_vec()),
            CLIENT_SCOPES_KEY => {
                self.client_scopes = serde_json::from_slice(value)
                    .map_err(|e| StoreError::failed(format!("stored client scopes: {e}")))?;
            }
            _ => {}
        }
        Ok(())
    }

    fn get(&self, doc: &Doc) -> Option<Versioned> {
        let value = match doc {
            Doc::Settings => self.settings.clone()?,
            Doc::ClientScopes(client) => {
                serde_json::to_vec(self.client_scopes.get(client)?).unwrap_or_default()
            }
        };
        Some(Versioned {
            version: self.version(doc),
            value,
        })
    }
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
    pub(super) fn in_memory() -> Self {
        Self {
            index: RwLock::new(Index::default()),
            journal: None,
            transactions: AtomicU64::new(0),
            meta: Mutex::new(LocalMeta::default()),
        }
    }

    /// Opens (or creates) the database under `dir` and rebuilds the index from it and the
    /// journal, dropping the tokens expired at `now`.
    pub(super) fn open(dir: &Path, now: u64) -> Result<Self, StoreError> {
        Self::open_with(dir, now, Limits::from_env())
    }

    /// [`LocalStore::open`] with the journal's checkpoint limits.
    pub(super) fn open_with(dir: &Path, now: u64, limits: Limits) -> Result<Self, StoreError> {
        let io = |e: std::io::Error| StoreError::failed(format!("{}: {e}", dir.display()));
        create_private_dir(dir).map_err(io)?;
        let path = dir.join(DB_FILE);
        create_private_file(&path).map_err(io)?;
        let db = redb::Database::create(&path)?;
        let mut index = Index::default();
        let mut expired = Vec::new();
        let mut meta = LocalMeta::default();
        let applied;
        {
            let write = db.begin_write()?;
            write.open_table(TOKENS)?; // make sure the tables exist
            write.open_table(META)?;
            write.commit()?;
            let read = db.begin_read()?;
            let stored = read.open_table(META)?;
            for key in [SETTINGS_KEY, CLIENT_SCOPES_KEY] {
                if let Some(value) = stored.get(key)? {
                    meta.load(key, value.value())?;
                }
            }
            applied = match stored.get(APPLIED_KEY)? {
                Some(v) => u64::from_le_bytes(v.value().try_into().map_err(|_| {
                    StoreError::failed("corrupt journal generation in the database")
                })?),
                None => 0,
            };
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
        // Then what the journal holds beyond the last checkpoint, change by change as it was
        // made; the changes are checkpointed again (revocations with what they removed here).
        let mut replayed_ops = Vec::new();
        let replayed = journal::replay(dir, applied, |ops| {
            for op in ops {
                replayed_ops.push(match op {
                    Op::Put(hash, row) => {
                        let record = codec::decode(&row)
                            .map_err(|e| StoreError::failed(format!("corrupt journal row: {e}")))?;
                        index.insert(hash, record);
                        Op::Put(hash, row)
                    }
                    Op::Remove(hash) => {
                        index.remove(&hash);
                        Op::Remove(hash)
                    }
                    Op::Meta(key, value) => {
                        meta.load(&key, &value)?;
                        Op::Meta(key, value)
                    }
                    Op::Revoke(victims, _) => {
                        let removed = index.revoke(&victims);
                        Op::Revoke(victims, removed.into_iter().map(|(h, _)| h).collect())
                    }
                });
            }
            Ok(())
        })?;
        for hash in index.expired(now) {
            index.remove(&hash);
            replayed_ops.push(Op::Remove(hash));
        }
        index.order_grants();
        index.prune_profiles();
        let journal = Journal::start(dir, Arc::new(db), applied, replayed, replayed_ops, limits)?;
        Ok(Self {
            index: RwLock::new(index),
            journal: Some(journal),
            transactions: AtomicU64::new(0),
            meta: Mutex::new(meta),
        })
    }

    pub(super) fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
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

    /// How many store transactions changed something since start.
    pub(super) fn transactions(&self) -> u64 {
        self.transactions.load(Ordering::Relaxed)
    }

    /// How many database commits were made (0 in memory).
    pub(super) fn commits(&self) -> u64 {
        self.journal.as_ref().map_or(0, Journal::commits)
    }

    /// The journal of a data directory (tests look at what it wrote and hold the committer).
    #[cfg(test)]
    pub(super) fn journal(&self) -> Option<&Journal> {
        self.journal.as_ref()
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
    async fn issue(
        &self,
        tokens: Vec<(TokenHash, TokenRecord)>,
        max_grants: Option<usize>,
    ) -> Result<(), StoreError> {
        if tokens.is_empty() {
            return Ok(());
        }
        let puts = self.puts(&tokens);
        let seq = {
            let mut index = self.write();
            self.check()?;
            if let Some(cap) = max_grants {
                let first = &tokens[0].1;
                if !index.has_grant(first.grant_id) && index.client_grants(&first.client_id) >= cap
                {
                    return Err(StoreError::unavailable(format!(
                        "client '{}' already holds {cap} live grants \
                         (--max-grants-per-client); a new grant is refused until some expire \
                         or are revoked",
                        first.client_id
                    )));
                }
            }
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
            // One record whatever it removed: the revocation itself (replayed on the index at
            // start), with the hashes it removed for the checkpoint.
            let seq = if removed.is_empty() {
                None
            } else {
                Some(self.log(|| {
                    vec![Op::Revoke(
                        victims,
                        removed.iter().map(|(h, _)| *h).collect(),
                    )]
                })?)
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
        self.issue(removed, None).await
    }

    async fn sweep_expired(&self, now: u64) -> Result<usize, StoreError> {
        // One scan under the read lock, then the removals in batches under the write lock.
        let expired = self.read().expired(now);
        let mut total = 0;
        for chunk in expired.chunks(SWEEP_BATCH) {
            let (batch, seq) = {
                let mut index = self.write();
                if let Err(e) = self.check() {
                    index.rescan();
                    return Err(e);
                }
                let batch: Vec<TokenHash> = chunk
                    .iter()
                    .filter(|h| index.remove_expired(h, now))
                    .copied()
                    .collect();
                if batch.is_empty() {
                    continue;
                }
                let count = batch.len();
                (
                    count,
                    self.log(|| batch.into_iter().map(Op::Remove).collect())?,
                )
            };
            if let Err(e) = self.durable(seq).await {
                self.read().rescan();
                return Err(e);
            }
            total += batch;
        }
        self.write().prune_profiles();
        Ok(total)
    }

    async fn clients_with_tokens(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.read().clients())
    }

    async fn load_docs(&self) -> Result<Vec<(Doc, Versioned)>, StoreError> {
        let meta = self.meta.lock().unwrap_or_else(|p| p.into_inner());
        let docs = std::iter::once(Doc::Settings)
            .chain(meta.client_scopes.keys().cloned().map(Doc::ClientScopes));
        Ok(docs
            .filter_map(|doc| meta.get(&doc).map(|v| (doc, v)))
            .collect())
    }

    async fn load_doc(&self, doc: Doc) -> Result<Option<Versioned>, StoreError> {
        Ok(self
            .meta
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&doc))
    }

    async fn save_doc(&self, doc: Doc, based_on: u64, value: Vec<u8>) -> Result<Saved, StoreError> {
        let (version, seq) = {
            let mut meta = self.meta.lock().unwrap_or_else(|p| p.into_inner());
            let current = meta.version(&doc);
            if current != based_on {
                return Ok(Saved::Conflict(current));
            }
            let mut client_scopes = None;
            let (key, bytes) = match &doc {
                Doc::Settings => (SETTINGS_KEY, value.clone()),
                Doc::ClientScopes(client) => {
                    let scopes: serde_json::Value = serde_json::from_slice(&value)
                        .map_err(|e| StoreError::failed(format!("client scopes: {e}")))?;
                    let mut all = meta.client_scopes.clone();
                    all.insert(client.clone(), scopes);
                    let bytes = serde_json::to_vec(&all).unwrap_or_default();
                    client_scopes = Some(all);
                    (CLIENT_SCOPES_KEY, bytes)
                }
            };
            // Queued under the lock, so the journal holds the documents in this order.
            let seq = match &self.journal {
                Some(journal) => {
                    journal.check()?;
                    Some(journal.submit(vec![Op::Meta(key.to_owned(), bytes)])?)
                }
                None => None,
            };
            match client_scopes {
                Some(all) => meta.client_scopes = all,
                None => meta.settings = Some(value),
            }
            meta.versions.insert(doc.name(), current + 1);
            (current + 1, seq)
        };
        if let (Some(journal), Some(seq)) = (&self.journal, seq) {
            journal.wait(seq).await?;
        }
        Ok(Saved::Stored(version))
    }
}
