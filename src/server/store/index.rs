//! The in-memory index of the local backends: every token by its hash, every grant's members,
//! every client's grants and every token's expiry, so that one token, one grant or one client
//! costs what it touches. Kept compact (451 B a token by RSS at 1M, see `docs/performance.md`):
//! what many tokens share (client, subject, scopes) is one [`Profile`] they point to, and a
//! grant lists its members inline.
//!
//! The maps hash with FxHash (`rustc-hash`), not std's SipHash: their keys are SHA-256 digests,
//! grant ids the server drew at random and client ids from its configuration, and a request
//! can only look keys up, never add one of its choosing, so SipHash's resistance to collision
//! flooding buys nothing here and costs time on every request.

use super::token::{Removed, TokenHash, TokenKind, TokenRecord, Victim};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeSet;
use std::sync::Arc;

/// What many tokens share: their client, subject and scopes.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Profile {
    client_id: String,
    subject: Option<String>,
    scopes: Vec<String>,
}

/// One stored token.
#[derive(Debug, Clone)]
struct Entry {
    profile: Arc<Profile>,
    grant_id: u64,
    issued_at: u64,
    expires_at: u64,
    kind: TokenKind,
}

/// A grant's tokens in issue order (oldest first); at most the per-grant cap.
type Members = Vec<TokenHash>;

#[derive(Default)]
pub(super) struct Index {
    tokens: FxHashMap<TokenHash, Entry>,
    grants: FxHashMap<u64, Members>,
    by_client: FxHashMap<String, FxHashSet<u64>>,
    expiry: BTreeSet<(u64, TokenHash)>,
    profiles: FxHashSet<Arc<Profile>>,
}

impl Index {
    fn intern(&mut self, record: TokenRecord) -> (Arc<Profile>, Entry) {
        let profile = Profile {
            client_id: record.client_id,
            subject: record.subject,
            scopes: record.scopes,
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
            kind: record.kind,
        };
        (profile, entry)
    }

    fn record(entry: &Entry) -> TokenRecord {
        TokenRecord {
            kind: entry.kind,
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
        let members = self.grants.entry(entry.grant_id).or_default();
        if !members.contains(&hash) {
            members.push(hash);
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
        self.expiry.insert((entry.expires_at, hash));
        if let Some(old) = self.tokens.insert(hash, entry) {
            if old.expires_at != self.tokens[&hash].expires_at {
                self.expiry.remove(&(old.expires_at, hash));
            }
        }
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
        self.grants.get(&grant_id).map_or(0, Vec::len)
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
        self.expiry.remove(&(entry.expires_at, *hash));
        let mut emptied = false;
        if let Some(members) = self.grants.get_mut(&entry.grant_id) {
            if let Some(i) = members.iter().position(|h| h == hash) {
                members.remove(i);
            }
            emptied = members.is_empty();
        }
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
        for hash in members {
            if let Some(entry) = self.tokens.remove(&hash) {
                self.expiry.remove(&(entry.expires_at, hash));
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
                        .flatten()
                        .filter(|h| self.tokens.get(*h).is_some_and(|e| e.kind == *kind))
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
                .is_some_and(|e| e.kind == TokenKind::Access)
        };
        let count = members.iter().filter(is_access).count();
        members
            .iter()
            .filter(is_access)
            .take(count.saturating_sub(keep))
            .copied()
            .collect()
    }

    /// Up to `limit` tokens expired at `now`, soonest first.
    pub fn expired(&self, now: u64, limit: usize) -> Vec<TokenHash> {
        self.expiry
            .iter()
            .take_while(|(expires_at, _)| *expires_at <= now)
            .take(limit)
            .map(|(_, h)| *h)
            .collect()
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
            members.sort_by_key(|h| tokens.get(h).map(|e| e.issued_at));
        }
    }
}
