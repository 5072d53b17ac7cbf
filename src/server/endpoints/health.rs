//! `GET /health`, for load balancers: a node that cannot serve tokens, or (with a shared store)
//! cannot hear the Config API changes made through other nodes, says so.

use crate::server::error::OAuthError;
use crate::server::state::AppState;
use axum::extract::State;
use std::sync::Arc;

/// `GET /health`: `ok` once the token store answers a lookup and, with a shared store, the node
/// hears the other nodes' Config API changes (its subscription answered a ping within
/// `STALE_AFTER`); else 503 `temporarily_unavailable`, so that a load balancer takes a node out
/// of rotation while Redis cannot be reached, while Redis's eviction policy is one the node
/// refuses, or while the node would act on settings and scopes it may not know changed.
pub async fn health(State(state): State<Arc<AppState>>) -> Result<&'static str, OAuthError> {
    state.store.get_hash(&[0; 32]).await?;
    if let Some(shared) = state.store.shared() {
        if !shared.hears_changes() {
            tracing::warn!("health: this node does not hear the Config API changes (redis)");
            return Err(OAuthError::temporarily_unavailable(1));
        }
    }
    Ok("ok")
}
