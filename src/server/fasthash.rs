//! A fast hasher for the server's hot maps, where SipHash (std's default, built to resist
//! collision flooding) buys nothing: the token index is keyed by SHA-256 digests and random
//! grant ids the server made itself, the client registry by the ids in its configuration.
//! A request can only look keys up in these maps, never add one, so chosen keys cannot grow
//! a probe sequence beyond what the stored keys already make.

use std::hash::{BuildHasherDefault, Hasher};

/// Folds the bytes written, 8 at a time, with a multiply-rotate step (FxHash's).
#[derive(Default, Clone, Copy)]
pub struct FoldHasher(u64);

const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FoldHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for FoldHasher {
    fn write(&mut self, bytes: &[u8]) {
        // The length first, so that a zero-padded tail cannot collide with a shorter input.
        self.add(bytes.len() as u64);
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(n.into());
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The `BuildHasher` of the maps that use [`FoldHasher`].
pub type Fold = BuildHasherDefault<FoldHasher>;

/// A `HashMap` with [`FoldHasher`].
pub type FoldMap<K, V> = std::collections::HashMap<K, V, Fold>;

/// A `HashSet` with [`FoldHasher`].
pub type FoldSet<T> = std::collections::HashSet<T, Fold>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher as _;

    fn hash(value: impl std::hash::Hash) -> u64 {
        Fold::default().hash_one(value)
    }

    #[test]
    fn every_byte_and_the_length_count() {
        assert_ne!(hash([1u8; 32]), hash([2u8; 32]));
        let mut last = [0u8; 32];
        last[31] = 1;
        assert_ne!(hash([0u8; 32]), hash(last));
        assert_ne!(hash("client-a"), hash("client-b"));
        assert_ne!(hash("a"), hash("a\0"));
        assert_eq!(hash("client-a"), hash(String::from("client-a")));
    }
}
