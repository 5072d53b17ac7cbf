//! A problem with the target itself, not a rule verdict.

/// Why a target cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// Something the profile says (a key, a secret's variable): the user's to fix.
    #[error("profile error: {0}")]
    Profile(String),
    /// The target does not answer, or answers what cannot be used; names the URL.
    #[error("{0}")]
    Unreachable(String),
    /// A token could not be obtained.
    #[error("token minting failed: {0}")]
    Minting(String),
    /// Discovery points somewhere the profile does not trust with secrets (another origin,
    /// plain http off loopback, another issuer's document): nothing was sent there.
    #[error("{0}")]
    Untrusted(String),
}
