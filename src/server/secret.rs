//! Secrets compared as fixed-length digests in constant time: a client's secret at
//! authentication, a user's password in the password grant. Comparing SHA-256 digests with
//! `subtle` takes the same time whatever the lengths of the two secrets and wherever they
//! differ, so timing tells an attacker nothing about a secret.

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

/// A secret reduced to a fixed-length digest, so that comparing two takes the same time
/// whatever their lengths and wherever they differ.
pub type SecretDigest = [u8; 32];

pub fn secret_digest(secret: &str) -> SecretDigest {
    Sha256::digest(secret.as_bytes()).into()
}

/// Compares two digests in constant time (`subtle`; never `==`, which returns at the first
/// differing byte).
pub fn digests_match(expected: &SecretDigest, presented: &SecretDigest) -> bool {
    bool::from(expected.ct_eq(presented))
}

/// Compares secrets over their digests, in constant time.
pub fn secret_matches(expected: &str, presented: &str) -> bool {
    digests_match(&secret_digest(expected), &secret_digest(presented))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guards the one property no behaviour shows: secrets are compared with `subtle` over
    /// digests, not with `==` over the strings.
    #[test]
    fn secret_comparison_is_constant_time_over_digests() {
        let source = include_str!("secret.rs");
        let body = |name: &str| {
            let start = source
                .find(&format!("pub fn {name}("))
                .unwrap_or_else(|| panic!("fn {name} not found"));
            let end = start + source[start..].find("\n}\n").expect("end of fn");
            &source[start..end]
        };
        let digests = body("digests_match");
        assert!(digests.contains(".ct_eq("), "{digests}");
        assert!(!digests.contains("=="), "{digests}");
        let secrets = body("secret_matches");
        assert!(
            secrets.contains("digests_match(&secret_digest(expected), &secret_digest(presented))"),
            "{secrets}"
        );
        assert!(digests_match(&secret_digest("a"), &secret_digest("a")));
        assert!(!digests_match(&secret_digest("a"), &secret_digest("b")));
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(secret_matches("secret-a", "secret-a"));
        assert!(!secret_matches("secret-a", "secret-b"));
        assert!(!secret_matches("secret-a", "secret-a "));
    }
}
