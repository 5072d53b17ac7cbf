//! A node's own cache of token state, which only a fault (`stale-node`) and a quirk
//! (`cross-node-delay`) give a node: what it shows is how a cluster behaves when a node
//! answers from a cache that another node's revocation does not reach.

use super::token::{TokenHash, TokenRecord};

/// A node's own cache of token state (only a fault or a quirk sets one): a token looked up
/// here is answered from the cache until the entry is `lifetime` old, so a revocation made
/// through another node is seen late. What this node revokes itself leaves its cache at once.
pub(super) struct NodeCache {
    lifetime: std::time::Duration,
    entries:
        std::sync::Mutex<std::collections::HashMap<TokenHash, (std::time::Instant, TokenRecord)>>,
}

/// The most entries a node cache holds (then the stale ones go, or all of them).
const NODE_CACHE_CAP: usize = 100_000;

impl NodeCache {
    pub(super) fn new(lifetime: std::time::Duration) -> Self {
        Self {
            lifetime,
            entries: Default::default(),
        }
    }

    /// How long an entry answers lookups.
    pub(super) fn lifetime(&self) -> std::time::Duration {
        self.lifetime
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        std::collections::HashMap<TokenHash, (std::time::Instant, TokenRecord)>,
    > {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn get(&self, hash: &TokenHash) -> Option<TokenRecord> {
        let entries = self.lock();
        let (at, record) = entries.get(hash)?;
        (at.elapsed() < self.lifetime).then(|| record.clone())
    }

    pub(super) fn put(&self, hash: TokenHash, record: TokenRecord) {
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

    pub(super) fn forget<'a>(&self, hashes: impl IntoIterator<Item = &'a TokenHash>) {
        let mut entries = self.lock();
        for hash in hashes {
            entries.remove(hash);
        }
    }
}
