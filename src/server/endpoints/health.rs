//! `GET /health`, for load balancers: a node that cannot serve tokens says so.

use crate::server::error::OAuthError;
use crate::server::state::AppState;
use axum::extract::State;
use std::sync::Arc;

/// `GET /health`: `ok` once the token store answers a lookup, else the store's error (503
/// `temporarily_unavailable` while Redis cannot be reached), so that a load balancer takes a
/// node that cannot serve tokens out of rotation.
pub async fn health(State(state): State<Arc<AppState>>) -> Result<&'static str, OAuthError> {
    state.store.get_hash(&[0; 32]).await?;
    Ok("ok")
}
