//! `GET|POST /userinfo` with a bearer access token. The `userinfo` feature flag gates it, and
//! Janssen checks the flag before it looks at the token.

use super::common::{no_store, require_feature};
use crate::faults::quirks::Quirk;
use crate::server::config::USERINFO_FLAG;
use crate::server::error::OAuthError;
use crate::server::extract::bearer::bearer_access_token;
use crate::server::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::Arc;

/// `GET|POST /userinfo` with a bearer access token.
pub async fn userinfo(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, OAuthError> {
    // Janssen checks the flag before it looks at the token.
    require_feature(&state, USERINFO_FLAG)?;
    let record = bearer_access_token(&state, &headers).await?;
    if state.has_quirk(Quirk::Userinfo403)
        && !state.live_scopes(&record).iter().any(|s| s == "openid")
    {
        return Err(OAuthError::insufficient_scope(
            "the access token lacks the openid scope",
        ));
    }
    let sub = record.subject.unwrap_or(record.client_id);
    Ok(no_store(Json(json!({ "sub": sub })).into_response()))
}
