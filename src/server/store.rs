//! The token store: opaque tokens kept only as SHA-256 hashes, indexed by token, by grant, by
//! client and by expiry, so that revoking one token, one grant or all of a client's tokens costs
//! what it touches, not what the store holds, and expired tokens can be swept without a scan.
//!
//! The in-memory index answers every read. Every change (one revocation request, one issue, one
//! sweep) is one store transaction: one hold of the index lock and, with a data directory, one
//! committed redb write transaction made before the index changes. The index is rebuilt from the
//! database at start, so a restart neither resurrects a revoked token nor forgets an issued one.
//! The same database keeps the settings and client scopes changed through the Config API
//! (see [`Store::load_meta`]); it is created `0600` in a folder created `0700`.

use base64::Engine as _;
use rand::RngCore as _;
use redb::{ReadableDatabase as _, ReadableTable as _, TableDefinition};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
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

/// A storage failure (only possible with a data directory).
#[derive(Debug, thiserror::Error)]
#[error("token store: {0}")]
pub struct StoreError(String);

impl From<redb::Error> for StoreError {
    fn from(e: redb::Error) -> Self {
        StoreError(e.to_string())
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

/// The tokens of one grant.
#[derive(Debug, Default)]
struct Grant {
    client_id: String,
    members: HashSet<TokenHash>,
    /// Access tokens in issue order; may still name tokens removed since (skipped when read).
    access_order: VecDeque<TokenHash>,
    access_count: usize,
}

#[derive(Default)]
struct Index {
    tokens: HashMap<TokenHash, TokenRecord>,
    grants: HashMap<u64, Grant>,
    by_client: HashMap<String, HashSet<u64>>,
    expiry: BTreeSet<(u64, TokenHash)>,
}

impl Index {
    fn insert(&mut self, hash: TokenHash, record: TokenRecord) {
        let grant = self.grants.entry(record.grant_id).or_insert_with(|| Grant {
            client_id: record.client_id.clone(),
            ..Grant::default()
        });
        if grant.members.insert(hash) && record.kind == TokenKind::Access {
            grant.access_order.push_back(hash);
            grant.access_count += 1;
        }
        self.by_client
            .entry(record.client_id.clone())
            .or_default()
            .insert(record.grant_id);
        self.expiry.insert((record.expires_at, hash));
        if let Some(old) = self.tokens.insert(hash, record) {
            self.expiry.remove(&(old.expires_at, hash));
        }
    }

    fn drop_grant_entry(&mut self, grant_id: u64, client_id: &str) {
        self.grants.remove(&grant_id);
        if let Some(set) = self.by_client.get_mut(client_id) {
            set.remove(&grant_id);
            if set.is_empty() {
                self.by_client.remove(client_id);
            }
        }
    }

    /// Removes one token; drops its grant from the indexes when it was the last one.
    fn remove(&mut self, hash: &TokenHash) -> Option<TokenRecord> {
        let record = self.tokens.remove(hash)?;
        self.expiry.remove(&(record.expires_at, *hash));
        let mut emptied = false;
        if let Some(grant) = self.grants.get_mut(&record.grant_id) {
            grant.members.remove(hash);
            if record.kind == TokenKind::Access {
                grant.access_count = grant.access_count.saturating_sub(1);
                // Keep the order list from growing with removed entries.
                if grant.access_order.len() > 2 * grant.access_count + 16 {
                    let members = &grant.members;
                    grant.access_order.retain(|h| members.contains(h));
                }
            }
            emptied = grant.members.is_empty();
        }
        if emptied {
            self.drop_grant_entry(record.grant_id, &record.client_id);
        }
        Some(record)
    }

    /// Removes a whole grant, in time linear in its own size.
    fn remove_grant(&mut self, grant_id: u64) -> Removed {
        let Some(grant) = self.grants.get(&grant_id) else {
            return Vec::new();
        };
        let client_id = grant.client_id.clone();
        let members: Vec<TokenHash> = grant.members.iter().copied().collect();
        self.drop_grant_entry(grant_id, &client_id);
        members
            .into_iter()
            .filter_map(|hash| {
                let record = self.tokens.remove(&hash)?;
                self.expiry.remove(&(record.expires_at, hash));
                Some((hash, record))
            })
            .collect()
    }

    /// The hashes `victims` name, each once.
    fn victims(&self, victims: &[Victim]) -> Vec<TokenHash> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut add = |h: &TokenHash| {
            if seen.insert(*h) {
                out.push(*h);
            }
        };
        for victim in victims {
            match victim {
                Victim::Token(h) if self.tokens.contains_key(h) => add(h),
                Victim::Token(_) => {}
                Victim::Grant(g) => self
                    .grants
                    .get(g)
                    .into_iter()
                    .flat_map(|g| g.members.iter())
                    .for_each(&mut add),
                Victim::Client(client, kind) => self
                    .by_client
                    .get(client)
                    .into_iter()
                    .flatten()
                    .filter_map(|g| self.grants.get(g))
                    .flat_map(|g| g.members.iter())
                    .filter(|h| {
                        kind.is_none_or(|k| self.tokens.get(*h).is_some_and(|r| r.kind == k))
                    })
                    .for_each(&mut add),
            }
        }
        out
    }

    /// The oldest access tokens of a grant beyond the first `keep` newest ones.
    fn excess_access(&self, grant_id: u64, keep: usize) -> Vec<TokenHash> {
        let Some(grant) = self.grants.get(&grant_id) else {
            return Vec::new();
        };
        let excess = grant.access_count.saturating_sub(keep);
        grant
            .access_order
            .iter()
            .filter(|h| grant.members.contains(*h))
            .take(excess)
            .copied()
            .collect()
    }
}

/// The token store.
pub struct Store {
    index: RwLock<Index>,
    disk: Option<Arc<redb::Database>>,
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

impl Store {
    /// A store that lives in memory only.
    pub fn in_memory() -> Self {
        Self {
            index: RwLock::new(Index::default()),
            disk: None,
            transactions: AtomicU64::new(0),
        }
    }

    /// A store persisted under `dir` (created if needed); loads what an earlier run left.
    pub fn open(dir: &Path, now: u64) -> Result<Self, StoreError> {
        let io = |e: std::io::Error| StoreError(format!("{}: {e}", dir.display()));
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
                let record: TokenRecord = serde_json::from_slice(value.value())
                    .map_err(|e| StoreError(format!("corrupt token row: {e}")))?;
                if record.is_expired(now) {
                    expired.push(hash);
                } else {
                    index.insert(hash, record);
                }
            }
        }
        // Issue order is not stored: after a restart "oldest" means earliest issued.
        for grant in index.grants.values_mut() {
            let tokens = &index.tokens;
            grant
                .access_order
                .make_contiguous()
                .sort_by_key(|h| tokens.get(h).map(|r| r.issued_at));
        }
        let store = Self {
            index: RwLock::new(index),
            disk: Some(Arc::new(db)),
            transactions: AtomicU64::new(0),
        };
        store.persist(&[], &expired)?;
        Ok(store)
    }

    fn persist(
        &self,
        added: &[(TokenHash, &TokenRecord)],
        removed: &[TokenHash],
    ) -> Result<(), StoreError> {
        if added.is_empty() && removed.is_empty() {
            return Ok(());
        }
        self.transactions.fetch_add(1, Ordering::Relaxed);
        let Some(db) = &self.disk else { return Ok(()) };
        let write = db.begin_write()?;
        {
            let mut table = write.open_table(TOKENS)?;
            for (hash, record) in added {
                let bytes = serde_json::to_vec(record).map_err(|e| StoreError(e.to_string()))?;
                table.insert(hash.as_slice(), bytes.as_slice())?;
            }
            for hash in removed {
                table.remove(hash.as_slice())?;
            }
        }
        write.commit()?;
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|p| p.into_inner())
    }

    /// How many store transactions changed something since start (one per issue, revocation
    /// request or sweep batch): lets a test see that a multi-token revocation is one change.
    pub fn transactions(&self) -> u64 {
        self.transactions.load(Ordering::Relaxed)
    }

    /// Stores new tokens in one transaction and returns them (the only time they exist in clear).
    pub fn issue_all(&self, records: &[TokenRecord]) -> Result<Vec<String>, StoreError> {
        let tokens: Vec<String> = records.iter().map(|_| new_token()).collect();
        let hashes: Vec<TokenHash> = tokens.iter().map(|t| hash_token(t)).collect();
        let added: Vec<(TokenHash, &TokenRecord)> =
            hashes.iter().copied().zip(records.iter()).collect();
        let mut index = self.write();
        self.persist(&added, &[])?;
        for (hash, record) in hashes.into_iter().zip(records.iter().cloned()) {
            index.insert(hash, record);
        }
        Ok(tokens)
    }

    /// Stores one new token and returns it.
    pub fn issue(&self, record: TokenRecord) -> Result<String, StoreError> {
        Ok(self
            .issue_all(std::slice::from_ref(&record))?
            .pop()
            .unwrap_or_default())
    }

    /// Issues `records` into the grant of `parent` only while `parent` is still stored; with
    /// `remove_parent` also removes it; then drops the grant's oldest access tokens so that at
    /// most `max_access` remain. All under one lock and one transaction; `None` when `parent`
    /// is gone. The refresh grant uses it so that a refresh racing with the revocation of the
    /// refresh token cannot leave a live token in the revoked grant.
    pub fn issue_while_present(
        &self,
        parent: &TokenHash,
        records: &[TokenRecord],
        remove_parent: bool,
        max_access: usize,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let tokens: Vec<String> = records.iter().map(|_| new_token()).collect();
        let hashes: Vec<TokenHash> = tokens.iter().map(|t| hash_token(t)).collect();
        let mut index = self.write();
        let Some(grant_id) = index.tokens.get(parent).map(|r| r.grant_id) else {
            return Ok(None);
        };
        let new_access = records
            .iter()
            .filter(|r| r.kind == TokenKind::Access)
            .count();
        let mut removed = index.excess_access(
            grant_id,
            max_access.saturating_sub(new_access.min(max_access)),
        );
        if remove_parent {
            removed.push(*parent);
        }
        let added: Vec<(TokenHash, &TokenRecord)> =
            hashes.iter().copied().zip(records.iter()).collect();
        self.persist(&added, &removed)?;
        for hash in &removed {
            index.remove(hash);
        }
        for (hash, record) in hashes.into_iter().zip(records.iter().cloned()) {
            index.insert(hash, record);
        }
        Ok(Some(tokens))
    }

    /// Looks a token up by its value.
    pub fn get(&self, token: &str) -> Option<TokenRecord> {
        self.get_hash(&hash_token(token))
    }

    pub fn get_hash(&self, hash: &TokenHash) -> Option<TokenRecord> {
        self.read().tokens.get(hash).cloned()
    }

    /// Revokes everything `victims` name in one transaction; returns what was removed.
    pub fn revoke(&self, victims: &[Victim]) -> Result<Removed, StoreError> {
        let mut index = self.write();
        let hashes = index.victims(victims);
        self.persist(&[], &hashes)?;
        let mut removed = Vec::with_capacity(hashes.len());
        // Whole grants go in one step each (linear in the grant); the rest token by token.
        for victim in victims {
            if let Victim::Grant(g) = victim {
                removed.extend(index.remove_grant(*g));
            }
        }
        for hash in &hashes {
            if let Some(record) = index.remove(hash) {
                removed.push((*hash, record));
            }
        }
        Ok(removed)
    }

    /// Revokes one token only (no cascade). Returns whether it existed.
    pub fn revoke_token(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        Ok(!self.revoke(&[Victim::Token(*hash)])?.is_empty())
    }

    /// Revokes every token of a grant. Returns how many were removed.
    pub fn revoke_grant(&self, grant_id: u64) -> Result<usize, StoreError> {
        Ok(self.revoke(&[Victim::Grant(grant_id)])?.len())
    }

    /// Revokes every token of a client, or only those of one kind.
    pub fn revoke_client(
        &self,
        client_id: &str,
        kind: Option<TokenKind>,
    ) -> Result<usize, StoreError> {
        Ok(self
            .revoke(&[Victim::Client(client_id.to_owned(), kind)])?
            .len())
    }

    /// Puts removed tokens back (only the `resurrection` fault does this).
    pub fn reinstate(&self, removed: &Removed) -> Result<(), StoreError> {
        let added: Vec<(TokenHash, &TokenRecord)> = removed.iter().map(|(h, r)| (*h, r)).collect();
        let mut index = self.write();
        self.persist(&added, &[])?;
        for (hash, record) in removed {
            index.insert(*hash, record.clone());
        }
        Ok(())
    }

    /// Removes every token expired at `now`, in batches of bounded size; returns how many.
    pub fn sweep_expired(&self, now: u64) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let mut index = self.write();
            let batch: Vec<TokenHash> = index
                .expiry
                .iter()
                .take_while(|(expires_at, _)| *expires_at <= now)
                .take(SWEEP_BATCH)
                .map(|(_, h)| *h)
                .collect();
            if batch.is_empty() {
                return Ok(total);
            }
            self.persist(&[], &batch)?;
            for hash in &batch {
                index.remove(hash);
            }
            total += batch.len();
        }
    }

    /// The clients that hold tokens (used by the `all-too-wide` fault).
    pub fn clients_with_tokens(&self) -> Vec<String> {
        self.read().by_client.keys().cloned().collect()
    }

    /// How many tokens the store holds.
    pub fn len(&self) -> usize {
        self.read().tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many tokens a grant holds.
    pub fn grant_len(&self, grant_id: u64) -> usize {
        self.read()
            .grants
            .get(&grant_id)
            .map_or(0, |g| g.members.len())
    }

    /// A value the Config API stored under `key` (settings, client scopes), if persisted.
    pub fn load_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(db) = &self.disk else {
            return Ok(None);
        };
        let read = db.begin_read()?;
        let table = read.open_table(META)?;
        Ok(table.get(key)?.map(|v| v.value().to_vec()))
    }

    /// Persists a Config API value (nothing to do without a data directory).
    pub fn save_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let Some(db) = &self.disk else {
            return Ok(());
        };
        let write = db.begin_write()?;
        write.open_table(META)?.insert(key, value)?;
        write.commit()?;
        Ok(())
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

    #[test]
    fn grant_revocation_touches_only_that_grant() {
        let store = Store::in_memory();
        let at1 = store.issue(record(TokenKind::Access, "a", 1)).unwrap();
        let rt1 = store.issue(record(TokenKind::Refresh, "a", 1)).unwrap();
        let at2 = store.issue(record(TokenKind::Access, "a", 2)).unwrap();
        assert_eq!(store.revoke_grant(1).unwrap(), 2);
        assert!(store.get(&at1).is_none() && store.get(&rt1).is_none());
        assert!(store.get(&at2).is_some());
        assert_eq!(store.grant_len(1), 0);
        assert_eq!(store.clients_with_tokens(), vec!["a".to_string()]);
    }

    #[test]
    fn client_revocation_filters_by_kind_and_client() {
        let store = Store::in_memory();
        let at = store.issue(record(TokenKind::Access, "a", 1)).unwrap();
        let rt = store.issue(record(TokenKind::Refresh, "a", 1)).unwrap();
        let other = store.issue(record(TokenKind::Access, "b", 3)).unwrap();
        assert_eq!(
            store.revoke_client("a", Some(TokenKind::Refresh)).unwrap(),
            1
        );
        assert!(store.get(&at).is_some() && store.get(&rt).is_none());
        assert_eq!(store.revoke_client("a", None).unwrap(), 1);
        assert!(store.get(&at).is_none() && store.get(&other).is_some());
        assert_eq!(store.clients_with_tokens(), vec!["b".to_string()]);
    }

    #[test]
    fn one_revocation_of_many_victims_is_one_transaction() {
        let store = Store::in_memory();
        let tokens = store
            .issue_all(&[
                record(TokenKind::Access, "a", 1),
                record(TokenKind::Refresh, "a", 1),
                record(TokenKind::Access, "a", 2),
                record(TokenKind::Access, "a", 3),
            ])
            .unwrap();
        let before = store.transactions();
        let removed = store
            .revoke(&[
                Victim::Grant(1),
                Victim::Token(hash_token(&tokens[2])),
                Victim::Grant(1),
            ])
            .unwrap();
        assert_eq!(removed.len(), 3);
        assert_eq!(store.transactions(), before + 1);
        assert_eq!(store.len(), 1);
        // Nothing to remove is no transaction at all.
        store.revoke(&[Victim::Grant(1)]).unwrap();
        assert_eq!(store.transactions(), before + 1);
        store.reinstate(&removed).unwrap();
        assert_eq!(store.len(), 4);
        assert_eq!(store.grant_len(1), 2);
    }

    #[test]
    fn issue_while_present_needs_the_parent_and_can_rotate_it() {
        let store = Store::in_memory();
        let rt = store.issue(record(TokenKind::Refresh, "a", 1)).unwrap();
        let parent = hash_token(&rt);
        let kept = store
            .issue_while_present(&parent, &[record(TokenKind::Access, "a", 1)], false, 10)
            .unwrap()
            .unwrap();
        assert!(store.get(&rt).is_some() && store.get(&kept[0]).is_some());
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
            .unwrap()
            .unwrap();
        assert!(store.get(&rt).is_none());
        assert_eq!(store.revoke_grant(1).unwrap(), 3);
        assert!(rotated.iter().all(|t| store.get(t).is_none()));
        // Once the parent is gone nothing is issued.
        let none = store
            .issue_while_present(&parent, &[record(TokenKind::Access, "a", 1)], false, 10)
            .unwrap();
        assert!(none.is_none() && store.is_empty());
    }

    #[test]
    fn issue_while_present_drops_the_oldest_access_tokens_beyond_the_cap() {
        let store = Store::in_memory();
        let first = store
            .issue_all(&[
                record(TokenKind::Access, "a", 1),
                record(TokenKind::Refresh, "a", 1),
            ])
            .unwrap();
        let parent = hash_token(&first[1]);
        let mut access = vec![first[0].clone()];
        for _ in 0..5 {
            let t = store
                .issue_while_present(&parent, &[record(TokenKind::Access, "a", 1)], false, 3)
                .unwrap()
                .unwrap();
            access.extend(t);
        }
        // Three access tokens (the newest) and the refresh token.
        assert_eq!(store.grant_len(1), 4);
        assert!(access[..3].iter().all(|t| store.get(t).is_none()));
        assert!(access[3..].iter().all(|t| store.get(t).is_some()));
        assert!(store.get(&first[1]).is_some());
        // A cap of one keeps only the newest access token.
        let newest = store
            .issue_while_present(&parent, &[record(TokenKind::Access, "a", 1)], false, 1)
            .unwrap()
            .unwrap();
        assert_eq!(store.grant_len(1), 2);
        assert!(store.get(&newest[0]).is_some());
    }

    #[test]
    fn sweep_removes_only_expired_tokens_and_their_empty_grants() {
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
            .unwrap();
        let fresh = store.issue(expiring(TokenKind::Access, 2, 100)).unwrap();
        assert_eq!(store.sweep_expired(9).unwrap(), 0);
        assert_eq!(store.sweep_expired(10).unwrap(), 1);
        assert!(store.get(&old[0]).is_none() && store.get(&old[1]).is_some());
        assert_eq!(store.sweep_expired(50).unwrap(), 1);
        assert_eq!(store.grant_len(1), 0);
        assert!(store.get(&fresh).is_some());
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn data_dir_survives_restart_without_resurrection() {
        let dir = tempfile::tempdir().unwrap();
        let (kept, revoked) = {
            let store = Store::open(dir.path(), 0).unwrap();
            let kept = store.issue(record(TokenKind::Access, "a", 1)).unwrap();
            let revoked = store.issue(record(TokenKind::Refresh, "a", 2)).unwrap();
            store.revoke_token(&hash_token(&revoked)).unwrap();
            store.save_meta("k", b"v").unwrap();
            (kept, revoked)
        };
        let store = Store::open(dir.path(), 0).unwrap();
        assert!(store.get(&kept).is_some());
        assert!(store.get(&revoked).is_none());
        assert_eq!(store.len(), 1);
        assert_eq!(store.load_meta("k").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(store.load_meta("absent").unwrap(), None);
    }

    #[cfg(unix)]
    #[test]
    fn data_dir_is_private() {
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
