//! The contract every token backend keeps (local or Redis): each operation is one atomic unit,
//! so a backend never has to "read an index, then write" and a shared backend can sit beside
//! the local one.

use super::doc::{Doc, Saved, Versioned};
use super::error::StoreError;
use super::token::{Removed, TokenHash, TokenRecord, Victim};
use std::future::Future;

/// The operations of a token backend, each one atomic unit. A unit that changes something
/// returns only when the change is durable in the backend (so the answer built on it may be
/// sent), and a unit that finds nothing to change still returns only when every change it
/// could have observed is durable (so "already revoked" is never acknowledged early).
pub trait TokenBackend: Send + Sync {
    /// Stores the tokens of one issue (a grant's first tokens). With `max_grants`, a new grant
    /// of a client that already holds that many live grants is refused, as unavailable (503),
    /// and nothing is stored.
    fn issue(
        &self,
        tokens: Vec<(TokenHash, TokenRecord)>,
        max_grants: Option<usize>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores `tokens` only while `parent` is stored, in the parent's grant; with
    /// `remove_parent` also removes the parent; then drops the grant's oldest access tokens so
    /// that at most `max_access` remain. `false` (nothing changed) when `parent` is gone. The
    /// refresh grant uses it, so a refresh racing the revocation of its refresh token cannot
    /// leave a live token in the revoked grant.
    fn issue_while_present(
        &self,
        parent: TokenHash,
        tokens: Vec<(TokenHash, TokenRecord)>,
        remove_parent: bool,
        max_access: usize,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The stored token with this hash.
    fn get(
        &self,
        hash: TokenHash,
    ) -> impl Future<Output = Result<Option<TokenRecord>, StoreError>> + Send;

    /// Removes everything `victims` name, as one unit; returns what was removed. An empty
    /// list changes nothing and waits for what is pending (see the trait's doc). A client's
    /// tokens are all revoked when this returns; a backend may return only those it removed at
    /// once and give the rest of the memory back later (Redis: see `redis`).
    fn revoke(
        &self,
        victims: Vec<Victim>,
    ) -> impl Future<Output = Result<Removed, StoreError>> + Send;

    /// Puts removed tokens back (only the `resurrection` fault does this).
    fn reinstate(&self, removed: Removed) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes every token expired at `now` (a backend with its own expiry may do nothing);
    /// returns how many.
    fn sweep_expired(&self, now: u64) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// The clients that hold tokens (used by the `all-too-wide` fault).
    fn clients_with_tokens(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Every Config API document stored, at its version.
    fn load_docs(&self) -> impl Future<Output = Result<Vec<(Doc, Versioned)>, StoreError>> + Send;

    /// One Config API document, if stored.
    fn load_doc(
        &self,
        doc: Doc,
    ) -> impl Future<Output = Result<Option<Versioned>, StoreError>> + Send;

    /// Stores `value` as `doc` only if the document is still at version `based_on` (0: never
    /// stored), at a later version (durable when this returns; with a shared store the other
    /// nodes are told); otherwise stores nothing and says at which version the document is.
    fn save_doc(
        &self,
        doc: Doc,
        based_on: u64,
        value: Vec<u8>,
    ) -> impl Future<Output = Result<Saved, StoreError>> + Send;
}
