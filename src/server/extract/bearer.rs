//! The bearer access token of a protected resource (userinfo, the Config API): RFC 6750's
//! `Authorization: Bearer`, looked up in the store; only a live access token counts.

use crate::server::clock::now;
use crate::server::error::OAuthError;
use crate::server::state::AppState;
use crate::server::store::{TokenKind, TokenRecord};
use axum::http::{header, HeaderMap};

/// Finds the active access token named by `Authorization: Bearer`.
pub async fn bearer_access_token(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<TokenRecord, OAuthError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| OAuthError::invalid_token("a bearer access token is required"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(OAuthError::invalid_token(
            "a bearer access token is required",
        ));
    }
    state
        .store
        .get(token.trim())
        .await?
        .filter(|r| r.kind == TokenKind::Access && !r.is_expired(now()))
        .ok_or_else(|| OAuthError::invalid_token("the access token is invalid, expired or revoked"))
}
