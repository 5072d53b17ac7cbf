//! What the store keeps of a token, and how tokens are made: opaque random values, known to
//! the store only by their SHA-256 hash.

use base64::Engine as _;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash under which a token is stored; the token itself is never kept.
pub type TokenHash = [u8; 32];

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
