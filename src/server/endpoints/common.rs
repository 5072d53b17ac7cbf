//! What the OAuth endpoints share: the answer that no cache keeps, and Janssen's refusal of an
//! endpoint whose feature flag is off.

use crate::server::error::OAuthError;
use crate::server::state::AppState;
use axum::http::{header, HeaderValue};
use axum::response::Response;

/// 403 `access_denied` when a Janssen feature flag is off (Janssen's message).
pub fn require_feature(state: &AppState, flag: &str) -> Result<(), OAuthError> {
    if state.settings().feature_enabled(flag) {
        Ok(())
    } else {
        Err(OAuthError::access_denied(
            "the feature flag of this endpoint is disabled on this server",
        ))
    }
}

/// Marks a successful OAuth answer as not to be cached (RFC 6749 5.1).
pub fn no_store(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
