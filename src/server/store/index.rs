//! The in-memory index of the local backends: every token by its hash, every grant's members
//! and every client's grants, so that one token, one grant or one client costs what it
//! touches. Kept compact (see `docs/performance.md` and `examples/index_memory.rs`): what many
//! tokens share (client, subject, scopes, kind) is one [`Profile`] they point to, so a token's
//! entry is 32 bytes; a grant of one token (every client_credentials grant) holds that token's
//! hash inline, with no allocation of its own; and there is no expiry order: the sweep scans
//! the tokens (every `--sweep-interval`, 60 s by default, and only once the earliest expiry
//! seen has passed), which costs a pass over the map instead of 40 bytes and more a token.
//!
//! The maps hash with FxHash (`rustc-hash`), not std's SipHash: their keys are SHA-256 digests,
//! grant ids the server drew at random and client ids from its configuration, and a request
//! can only look keys up, never add one of its choosing, so SipHash's resistance to collision
//! flooding buys nothing here and costs time on every request.

use super::token::{Removed, TokenHash, TokenKind, TokenRecord, Victim};
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What many tokens share: their client, subject, scopes and kind.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Profile {
    client_id: String,
    subject: Option<String>,
    scopes: Vec<String>,
    kind: TokenKind,
}

/// One stored token (32 bytes).
#[derive(Debug, Clone)]
struct Entry {
    profile: Arc<Profile>,
    grant_id: u64,
    issued_at: u64,
    expires_at: u64,
}

/// A grant's tokens in issue order (oldest first); at most the per-grant cap. A grant of one
/// token (the most common) holds it inline.
#[derive(Debug)]
enum Members {
    One(TokenHash),
    Many(Vec<TokenHash>),
}

impl Members {
    fn as_slice(&self) -> &[TokenHash] {
        match self {
            Members::One(h) => std::slice::from_ref(h),
            Members::Many(v) => v,
        }
    }

    fn push(&mut self, hash: TokenHash) {
        match self {
            Members::One(first) => {
                let mut both = Vec::with_capacity(2);
                both.extend([*first, hash]);
                *self = Members::Many(both);
            }
            Members::Many(v) => v.push(hash),
        }
    }

    /// Removes `hash`; whether the grant is now empty.
    fn remove(&mut self, hash: &TokenHash) -> bool {
        match self {
            Members::One(h) => h == hash,
            Members::Many(v) => {
                if let Some(i) = v.iter().position(|h| h == hash) {
                    v.remove(i);
                }
                match v.as_slice() {
                    [] => true,
                    [only] => {
                        *self = Members::One(*only);
                        false
                    }
                    _ => false,
                }
            }
        }
    }
}

pub(super) struct Index {
    tokens: FxHashMap<TokenHash, Entry>,
    grants: FxHashMap<u64, Members>,
    by_client: FxHashMap<String, FxHashSet<u64>>,
    profiles: FxHashSet<Arc<Profile>>,
    /// No token expires before this (a lower bound): the sweep scans only once it has passed.
    earliest_expiry: AtomicU64,
}

impl Default for Index {
    fn default() -> Self {
        Self {
            tokens: FxHashMap::default(),
            grants: FxHashMap::default(),
            by_client: FxHashMap::default(),
            profiles: FxHashSet::default(),
            earliest_expiry: AtomicU64::new(u64::MAX),
        }
    }
}

impl Index {
    fn intern(&mut self, record: TokenRecord) -> (Arc<Profile>, Entry) {
        let profile = Profile {
            client_id: record.client_id,
            subject: record.subject,
            scopes: record.scopes,
            kind: record.kind,
        };
        let profile = match self.profiles.get(&profile) {
            Some(p) => p.clone(),
            None => {
                let p = Arc::new(profile);
                self.profiles.insert(p.clone());
                p
            }
        };
        let entry = Entry {
            profile: profile.clone(),
            grant_id: record.grant_id,
            issued_at: record.issued_at,
            expires_at: record.expires_at,
        };
        (profile, entry)
    }

    fn record(entry: &Entry) -> TokenRecord {
        TokenRecord {
            kind: entry.profile.kind,
            client_id: entry.profile.client_id.clone(),
            grant_id: entry.grant_id,
            subject: entry.profile.subject.clone(),
            scopes: entry.profile.scopes.clone(),
            issued_at: entry.issued_at,
            expires_at: entry.expires_at,
        }
    }

    pub fn insert(&mut self, hash: TokenHash, record: TokenRecord) {
        let (profile, entry) = self.intern(record);
        match self.grants.get_mut(&entry.grant_id) {
            Some(members) => {
                if !members.as_slice().contains(&hash) {
                    members.push(hash);
                }
            }
            None => {
                self.grants.insert(entry.grant_id, Members::One(hash));
            }
        }
        match self.by_client.get_mut(&profile.client_id) {
            Some(grants) => {
                grants.insert(entry.grant_id);
            }
            None => {
                self.by_client.insert(
                    profile.client_id.clone(),
                    FxHashSet::from_iter([entry.grant_id]),
                );
            }
        }
        self.earliest_expiry
            .fetch_min(entry.expires_at, Ordering::Relaxed);
        self.tokens.insert(hash, entry);
    }

    pub fn get(&self, hash: &TokenHash) -> Option<TokenRecord> {
        self.tokens.get(hash).map(Self::record)
    }

    pub fn grant_of(&self, hash: &TokenHash) -> Option<u64> {
        self.tokens.get(hash).map(|e| e.grant_id)
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn has_grant(&self, grant_id: u64) -> bool {
        self.grants.contains_key(&grant_id)
    }

    /// How many grants a client holds (live, or expired and not swept yet).
    pub fn client_grants(&self, client_id: &str) -> usize {
        self.by_client.get(client_id).map_or(0, |g| g.len())
    }

    pub fn grant_len(&self, grant_id: u64) -> usize {
        self.grants.get(&grant_id).map_or(0, |m| m.as_slice().len())
    }

    pub fn clients(&self) -> Vec<String> {
        self.by_client.keys().cloned().collect()
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
    pub fn remove(&mut self, hash: &TokenHash) -> Option<TokenRecord> {
        let entry = self.tokens.remove(hash)?;
        let emptied = self
            .grants
            .get_mut(&entry.grant_id)
            .is_some_and(|members| members.remove(hash));
        if emptied {
            self.drop_grant_entry(entry.grant_id, &entry.profile.client_id);
        }
        Some(Self::record(&entry))
    }

    /// Removes a whole grant, in time linear in its own size.
    fn remove_grant(&mut self, grant_id: u64, removed: &mut Removed) {
        let Some(members) = self.grants.remove(&grant_id) else {
            return;
        };
        let mut client = None;
        for &hash in members.as_slice() {
            if let Some(entry) = self.tokens.remove(&hash) {
                removed.push((hash, Self::record(&entry)));
                client.get_or_insert(entry.profile);
            }
        }
        if let Some(profile) = client {
            self.drop_grant_entry(grant_id, &profile.client_id);
        }
    }

    /// Revokes everything `victims` name (each token once); returns what was removed.
    pub fn revoke(&mut self, victims: &[Victim]) -> Removed {
        let mut removed = Vec::new();
        for victim in victims {
            match victim {
                Victim::Token(h) => {
                    if let Some(record) = self.remove(h) {
                        removed.push((*h, record));
                    }
                }
                Victim::Grant(g) => self.remove_grant(*g, &mut removed),
                Victim::Client(client, None) => {
                    let grants: Vec<u64> = self
                        .by_client
                        .get(client)
                        .map(|g| g.iter().copied().collect())
                        .unwrap_or_default();
                    for g in grants {
                        self.remove_grant(g, &mut removed);
                    }
                }
                Victim::Client(client, Some(kind)) => {
                    let hashes: Vec<TokenHash> = self
                        .by_client
                        .get(client)
                        .into_iter()
                        .flatten()
                        .filter_map(|g| self.grants.get(g))
                        .flat_map(Members::as_slice)
                        .filter(|h| self.tokens.get(*h).is_some_and(|e| e.profile.kind == *kind))
                        .copied()
                        .collect();
                    for h in hashes {
                        if let Some(record) = self.remove(&h) {
                            removed.push((h, record));
                        }
                    }
                }
            }
        }
        removed
    }

    /// The oldest access tokens of a grant beyond the `keep` newest ones.
    pub fn excess_access(&self, grant_id: u64, keep: usize) -> Vec<TokenHash> {
        let Some(members) = self.grants.get(&grant_id) else {
            return Vec::new();
        };
        let is_access = |h: &&TokenHash| {
            self.tokens
                .get(*h)
                .is_some_and(|e| e.profile.kind == TokenKind::Access)
        };
        let members = members.as_slice();
        let count = members.iter().filter(is_access).count();
        members
            .iter()
            .filter(is_access)
            .take(count.saturating_sub(keep))
            .copied()
            .collect()
    }

    /// Every token expired at `now`, by a scan of the tokens (none when the earliest expiry
    /// seen has not passed); the earliest expiry of the others is kept for the next call. A
    /// caller that does not remove them all must call [`Index::rescan`].
    pub fn expired(&self, now: u64) -> Vec<TokenHash> {
        if self.earliest_expiry.load(Ordering::Relaxed) > now {
            return Vec::new();
        }
        let mut earliest = u64::MAX;
        let mut expired = Vec::new();
        for (hash, entry) in &self.tokens {
            if entry.expires_at <= now {
                expired.push(*hash);
            } else {
                earliest = earliest.min(entry.expires_at);
            }
        }
        // Inserts take the write lock, so none ran during the scan.
        self.earliest_expiry.store(earliest, Ordering::Relaxed);
        expired
    }

    /// Makes the next [`Index::expired`] scan whatever the time.
    pub fn rescan(&self) {
        self.earliest_expiry.store(0, Ordering::Relaxed);
    }

    /// Removes a token if it is expired at `now`; whether it was.
    pub fn remove_expired(&mut self, hash: &TokenHash, now: u64) -> bool {
        if self.tokens.get(hash).is_some_and(|e| e.expires_at <= now) {
            self.remove(hash);
            return true;
        }
        false
    }

    /// Forgets profiles no token points to any more.
    pub fn prune_profiles(&mut self) {
        self.profiles.retain(|p| Arc::strong_count(p) > 1);
    }

    /// After a load from disk: each grant's members in issue order (the order is not stored,
    /// so "oldest" means earliest issued).
    pub fn order_grants(&mut self) {
        let tokens = &self.tokens;
        for members in self.grants.values_mut() {
            if let Members::Many(members) = members {
                members.sort_by_key(|h| tokens.get(h).map(|e| e.issued_at));
            }
        }
    }
}
