//! Discovery: the OpenID configuration and the RFC 8414 metadata. Both publish only what works:
//! an endpoint whose feature flag is off is left out, and the introspection methods are those
//! a client can use there (a public client cannot introspect).

use crate::faults::quirks::Quirk;
use crate::faults::Fault;
use crate::server::config::{INTROSPECTION_FLAG, REVOKE_TOKEN_FLAG, USERINFO_FLAG};
use crate::server::error::OAuthError;
use crate::server::paths;
use crate::server::state::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

fn metadata(state: &AppState, for_oidc: bool) -> Value {
    let settings = state.settings();
    let methods = ["client_secret_basic", "client_secret_post", "none"];
    // A public client cannot introspect: only the methods that work are published.
    let introspection_methods = ["client_secret_basic", "client_secret_post"];
    let mut scopes: Vec<String> = state
        .clients
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .flat_map(|c| c.scopes.clone())
        .collect();
    scopes.sort();
    scopes.dedup();
    let mut doc = json!({
        "issuer": state.issuer,
        "token_endpoint": state.url(paths::TOKEN),
        "token_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_methods_supported": methods,
        "grant_types_supported": ["client_credentials", "password", "refresh_token"],
        "response_types_supported": ["token"],
        "scopes_supported": scopes,
        "subject_types_supported": ["public"],
    });
    let publish_revocation = if for_oidc {
        !state.has_fault(Fault::OidcDiscoveryOmitsRevocation)
    } else {
        !state.has_fault(Fault::MetadataOmitsRevocation)
    } && (settings.revoke_enabled()
        || state.has_fault(Fault::DiscoveryIgnoresFlag));
    if publish_revocation {
        doc["revocation_endpoint"] = Value::String(state.url(paths::REVOKE));
    }
    if settings.feature_enabled(INTROSPECTION_FLAG) {
        doc["introspection_endpoint"] = Value::String(state.url(paths::INTROSPECTION));
        doc["introspection_endpoint_auth_methods_supported"] = json!(introspection_methods);
    }
    if settings.feature_enabled(USERINFO_FLAG) {
        doc["userinfo_endpoint"] = Value::String(state.url(paths::USERINFO));
    }
    doc
}

/// Both discovery documents; with the `discovery-503-when-disabled` quirk a 503 while the
/// revocation endpoint is disabled.
fn discovery(state: &AppState, for_oidc: bool) -> Result<Json<Value>, OAuthError> {
    if state.has_quirk(Quirk::Discovery503WhenDisabled)
        && !state.settings().feature_enabled(REVOKE_TOKEN_FLAG)
    {
        return Err(OAuthError::temporarily_unavailable(5));
    }
    Ok(Json(metadata(state, for_oidc)))
}

/// `GET /.well-known/openid-configuration`.
pub async fn oidc_discovery(State(state): State<Arc<AppState>>) -> Result<Json<Value>, OAuthError> {
    discovery(&state, true)
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
pub async fn as_metadata(State(state): State<Arc<AppState>>) -> Result<Json<Value>, OAuthError> {
    discovery(&state, false)
}
