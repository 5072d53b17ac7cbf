//! The token store: opaque tokens kept only as SHA-256 hashes, indexed by token, by grant and
//! by client, so that revoking one token, one grant or all of a client's tokens costs what it
//! touches, not what the store holds.
//!
//! The in-memory index answers every read. With a data directory, every change is first
//! written to an embedded redb database (one row per token, holding its grant and client) in
//! one committed transaction, and the index is rebuilt from it at start: a restart neither
//! resurrects a revoked token nor forgets an issued one.

use base64::Engine as _;
use rand::RngCore as _;
use redb::{ReadableDatabase as _, ReadableTable as _, TableDefinition};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, RwLock};

/// The hash under which a token is stored; the token itself is never kept.
pub type TokenHash = [u8; 32];

const TOKENS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tokens");

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

#[derive(Default)]
struct Index {
    tokens: HashMap<TokenHash, TokenRecord>,
    grants: HashMap<u64, Vec<TokenHash>>,
    by_client: HashMap<String, HashSet<u64>>,
}

impl Index {
    fn insert(&mut self, hash: TokenHash, record: TokenRecord) {
        self.grants.entry(record.grant_id).or_default().push(hash);
        self.by_client
            .entry(record.client_id.clone())
            .or_default()
            .insert(record.grant_id);
        self.tokens.insert(hash, record);
    }

    /// Removes one token; drops its grant from the indexes when it was the last one.
    fn remove(&mut self, hash: &TokenHash) -> Option<TokenRecord> {
        let record = self.tokens.remove(hash)?;
        if let Some(members) = self.grants.get_mut(&record.grant_id) {
            members.retain(|h| h != hash);
            if members.is_empty() {
                self.grants.remove(&record.grant_id);
                if let Some(set) = self.by_client.get_mut(&record.client_id) {
                    set.remove(&record.grant_id);
                    if set.is_empty() {
                        self.by_client.remove(&record.client_id);
                    }
                }
            }
        }
        Some(record)
    }
}

/// The token store.
pub struct Store {
    index: RwLock<Index>,
    disk: Option<Arc<redb::Database>>,
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

impl Store {
    /// A store that lives in memory only.
    pub fn in_memory() -> Self {
        Self {
            index: RwLock::new(Index::default()),
            disk: None,
        }
    }

    /// A store persisted under `dir` (created if needed); loads what an earlier run left.
    pub fn open(dir: &Path, now: u64) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError(format!("{}: {e}", dir.display())))?;
        let db = redb::Database::create(dir.join("tokens.redb"))?;
        let mut index = Index::default();
        let mut expired = Vec::new();
        {
            let write = db.begin_write()?;
            write.open_table(TOKENS)?; // make sure the table exists
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
        let store = Self {
            index: RwLock::new(index),
            disk: Some(Arc::new(db)),
        };
        store.persist(&[], &expired)?;
        Ok(store)
    }

    fn persist(
        &self,
        added: &[(TokenHash, &TokenRecord)],
        removed: &[TokenHash],
    ) -> Result<(), StoreError> {
        let Some(db) = &self.disk else { return Ok(()) };
        if added.is_empty() && removed.is_empty() {
            return Ok(());
        }
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

    /// Stores a new token and returns the token string (the only time it exists in clear).
    pub fn issue(&self, record: TokenRecord) -> Result<String, StoreError> {
        let token = new_token();
        let hash = hash_token(&token);
        let mut index = self.write();
        self.persist(&[(hash, &record)], &[])?;
        index.insert(hash, record);
        Ok(token)
    }

    /// Issues `records` only while `parent` is still stored, and with `remove_parent` also
    /// removes it, all under one lock and one transaction; `None` when `parent` is gone.
    /// The refresh grant uses it so that a refresh racing with the revocation of the refresh
    /// token cannot leave a live token in the revoked grant.
    pub fn issue_while_present(
        &self,
        parent: &TokenHash,
        records: &[TokenRecord],
        remove_parent: bool,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let tokens: Vec<String> = records.iter().map(|_| new_token()).collect();
        let hashes: Vec<TokenHash> = tokens.iter().map(|t| hash_token(t)).collect();
        let mut index = self.write();
        if !index.tokens.contains_key(parent) {
            return Ok(None);
        }
        let added: Vec<(TokenHash, &TokenRecord)> =
            hashes.iter().copied().zip(records.iter()).collect();
        let removed: &[TokenHash] = if remove_parent {
            std::slice::from_ref(parent)
        } else {
            &[]
        };
        self.persist(&added, removed)?;
        if remove_parent {
            index.remove(parent);
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

    /// Revokes one token only (no cascade). Returns whether it existed.
    pub fn revoke_token(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let mut index = self.write();
        if !index.tokens.contains_key(hash) {
            return Ok(false);
        }
        self.persist(&[], &[*hash])?;
        index.remove(hash);
        Ok(true)
    }

    /// Revokes every token of a grant. Returns how many were removed.
    pub fn revoke_grant(&self, grant_id: u64) -> Result<usize, StoreError> {
        let mut index = self.write();
        let members = index.grants.get(&grant_id).cloned().unwrap_or_default();
        self.persist(&[], &members)?;
        for hash in &members {
            index.remove(hash);
        }
        Ok(members.len())
    }

    /// Revokes every token of a client, or only those of one kind.
    pub fn revoke_client(
        &self,
        client_id: &str,
        kind: Option<TokenKind>,
    ) -> Result<usize, StoreError> {
        let mut index = self.write();
        let grants: Vec<u64> = index
            .by_client
            .get(client_id)
            .map(|g| g.iter().copied().collect())
            .unwrap_or_default();
        let victims: Vec<TokenHash> = grants
            .iter()
            .flat_map(|g| index.grants.get(g).into_iter().flatten())
            .filter(|h| kind.is_none_or(|k| index.tokens.get(*h).is_some_and(|r| r.kind == k)))
            .copied()
            .collect();
        self.persist(&[], &victims)?;
        for hash in &victims {
            index.remove(hash);
        }
        Ok(victims.len())
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
    fn issue_while_present_needs_the_parent_and_can_rotate_it() {
        let store = Store::in_memory();
        let rt = store.issue(record(TokenKind::Refresh, "a", 1)).unwrap();
        let parent = hash_token(&rt);
        let kept = store
            .issue_while_present(&parent, &[record(TokenKind::Access, "a", 1)], false)
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
            )
            .unwrap()
            .unwrap();
        assert!(store.get(&rt).is_none());
        assert_eq!(store.revoke_grant(1).unwrap(), 3);
        assert!(rotated.iter().all(|t| store.get(t).is_none()));
        // Once the parent is gone nothing is issued.
        let none = store
            .issue_while_present(&parent, &[record(TokenKind::Access, "a", 1)], false)
            .unwrap();
        assert!(none.is_none() && store.is_empty());
    }

    #[test]
    fn data_dir_survives_restart_without_resurrection() {
        let dir = tempfile::tempdir().unwrap();
        let (kept, revoked) = {
            let store = Store::open(dir.path(), 0).unwrap();
            let kept = store.issue(record(TokenKind::Access, "a", 1)).unwrap();
            let revoked = store.issue(record(TokenKind::Refresh, "a", 2)).unwrap();
            store.revoke_token(&hash_token(&revoked)).unwrap();
            (kept, revoked)
        };
        let store = Store::open(dir.path(), 0).unwrap();
        assert!(store.get(&kept).is_some());
        assert!(store.get(&revoked).is_none());
        assert_eq!(store.len(), 1);
    }
}
