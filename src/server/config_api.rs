//! A Janssen-compatible slice of the Config API: read and JSON-Patch (RFC 6902) the auth
//! server properties that govern revocation, and read or patch a client (its scopes), so a
//! harness can set up every Janssen case on a live server. Changes apply at once.
//!
//! Authorization is a bearer access token issued by this server's token endpoint that holds
//! the properties scope (or the clients scope for clients).

use super::config::{Settings, CLIENTS_WRITE_SCOPE, PROPERTIES_READ_SCOPE, PROPERTIES_WRITE_SCOPE};
use super::error::OAuthError;
use super::oauth::bearer_access_token;
use super::request::read_body;
use super::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Request};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

fn require_scope(state: &AppState, headers: &HeaderMap, any_of: &[&str]) -> Result<(), OAuthError> {
    let record = bearer_access_token(state, headers)?;
    if any_of
        .iter()
        .any(|s| record.scopes.iter().any(|have| have == s))
    {
        Ok(())
    } else {
        Err(OAuthError::insufficient_scope(format!(
            "requires scope {}",
            any_of[0]
        )))
    }
}

fn config_json(state: &AppState, settings: &Settings) -> Value {
    let mut v = serde_json::to_value(settings).unwrap_or(Value::Null);
    v["issuer"] = Value::String(state.issuer.clone());
    v["tokenRevocationEndpoint"] = Value::String(state.url(super::paths::REVOKE));
    v
}

async fn json_patch_body(req: Request<Body>) -> Result<json_patch::Patch, OAuthError> {
    let (parts, body) = req.into_parts();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/json-patch+json")
        && !content_type.starts_with("application/json")
    {
        return Err(OAuthError::invalid_request(
            "the body must be application/json-patch+json",
        ));
    }
    let bytes = read_body(body).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| OAuthError::invalid_request(format!("not an RFC 6902 JSON Patch: {e}")))
}

/// `GET /jans-config-api/api/v1/jans-auth-server/config`.
pub async fn get_config(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, OAuthError> {
    require_scope(
        &state,
        &headers,
        &[PROPERTIES_READ_SCOPE, PROPERTIES_WRITE_SCOPE],
    )?;
    Ok(Json(config_json(&state, &state.settings())))
}

/// `PATCH /jans-config-api/api/v1/jans-auth-server/config` with a JSON Patch.
pub async fn patch_config(
    State(state): State<Arc<AppState>>,
    req: Request<Body>,
) -> Result<Json<Value>, OAuthError> {
    require_scope(&state, req.headers(), &[PROPERTIES_WRITE_SCOPE])?;
    let patch = json_patch_body(req).await?;
    let mut guard = state.settings.write().unwrap_or_else(|p| p.into_inner());
    let mut doc =
        serde_json::to_value(&*guard).map_err(|_| OAuthError::server_error("settings"))?;
    json_patch::patch(&mut doc, &patch)
        .map_err(|e| OAuthError::invalid_request(format!("patch failed: {e}")))?;
    let updated: Settings = serde_json::from_value(doc).map_err(|e| {
        OAuthError::invalid_request(format!("the patched configuration is invalid: {e}"))
    })?;
    updated.validate().map_err(|e| {
        OAuthError::invalid_request(format!("the patched configuration is invalid: {e}"))
    })?;
    tracing::info!(?updated, "auth server configuration patched");
    *guard = updated.clone();
    drop(guard);
    Ok(Json(config_json(&state, &updated)))
}

fn client_json(client: &super::config::Client) -> Value {
    json!({
        "clientId": client.id,
        "inum": client.id,
        "tokenEndpointAuthMethod": client.auth_method.as_str(),
        "scopes": client.scopes,
    })
}

/// `GET /jans-config-api/api/v1/openid/clients/{client_id}`.
pub async fn get_client(
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, OAuthError> {
    require_scope(&state, &headers, &[CLIENTS_WRITE_SCOPE])?;
    let client = state
        .client(&client_id)
        .ok_or_else(|| OAuthError::invalid_request("no such client"))?;
    Ok(Json(client_json(&client)))
}

/// `PATCH /jans-config-api/api/v1/openid/clients/{client_id}`: only `/scopes` may change.
pub async fn patch_client(
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
    req: Request<Body>,
) -> Result<Json<Value>, OAuthError> {
    require_scope(&state, req.headers(), &[CLIENTS_WRITE_SCOPE])?;
    let patch = json_patch_body(req).await?;
    let mut clients = state.clients.write().unwrap_or_else(|p| p.into_inner());
    let client = clients
        .get_mut(&client_id)
        .ok_or_else(|| OAuthError::invalid_request("no such client"))?;
    let mut doc = json!({ "scopes": client.scopes });
    json_patch::patch(&mut doc, &patch)
        .map_err(|e| OAuthError::invalid_request(format!("patch failed: {e}")))?;
    let scopes: Vec<String> = doc
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.get("scopes"))
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .ok_or_else(|| {
            OAuthError::invalid_request("only /scopes (a list of strings) may be patched")
        })?;
    client.scopes = scopes;
    Ok(Json(client_json(client)))
}
