//! A Janssen-compatible slice of the Config API: read and JSON-Patch (RFC 6902) the auth
//! server properties that govern revocation, and read or patch a client (its scopes), so a
//! harness can set up every Janssen case on a live server.
//!
//! A change is stored at once (a GET reads it back); the running server applies stored
//! settings on its reload timer (`reload`), and client scopes at once. With a data directory
//! both are persisted. Authorization is a bearer access token issued by this server that holds
//! the properties scope (or the clients scope for clients) and whose client still holds it.
//!
//! A patch is bounded (operations, size of the document after every operation, no `copy` or
//! `move` from the root) and applied to a copy outside every lock; only the result is stored,
//! as a compare-and-set on the version the patch was applied to. When another write (through
//! another node) came first, the patch is applied again to what it stored, so a write never
//! undoes another; a client's scopes are stored apart from every other client's.

use crate::server::config::{
    Client, Settings, CLIENTS_WRITE_SCOPE, PROPERTIES_READ_SCOPE, PROPERTIES_WRITE_SCOPE,
};
use crate::server::error::OAuthError;
use crate::server::extract::bearer::bearer_access_token;
use crate::server::extract::form::read_body;
use crate::server::limits::Limits;
use crate::server::paths;
use crate::server::state::{AppState, WriteError};
use crate::server::store::StoreError;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Request};
use axum::Json;
use json_patch::{Patch, PatchOperation};
use serde_json::{json, Value};
use std::sync::Arc;

async fn require_scope(
    state: &AppState,
    headers: &HeaderMap,
    any_of: &[&str],
) -> Result<(), OAuthError> {
    let record = bearer_access_token(state, headers).await?;
    // The token's scopes that its client still holds: removing a scope from a client takes
    // effect on the tokens it already has.
    let live = state.live_scopes(&record);
    if any_of.iter().any(|s| live.iter().any(|have| have == s)) {
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
    v["tokenRevocationEndpoint"] = Value::String(state.url(paths::REVOKE));
    v
}

async fn json_patch_body(req: Request<Body>) -> Result<Patch, OAuthError> {
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

/// An `io::Write` that only counts, and fails once past a limit (so a huge document is never
/// serialized whole).
struct SizeCheck {
    written: usize,
    limit: usize,
}

impl std::io::Write for SizeCheck {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.written += buf.len();
        if self.written > self.limit {
            return Err(std::io::ErrorKind::FileTooLarge.into());
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn within(doc: &Value, limit: usize) -> bool {
    serde_json::to_writer(SizeCheck { written: 0, limit }, doc).is_ok()
}

/// Applies `patch` to `doc` one operation at a time within the limits. `doc` is the caller's
/// copy: on an error it is left half-patched and must be discarded.
pub fn apply_bounded(doc: &mut Value, patch: &Patch, limits: &Limits) -> Result<(), OAuthError> {
    if patch.0.len() > limits.max_patch_operations {
        return Err(OAuthError::invalid_request(format!(
            "a patch may hold at most {} operations",
            limits.max_patch_operations
        )));
    }
    for op in &patch.0 {
        let from_root = match op {
            PatchOperation::Copy(c) => c.from.is_root(),
            PatchOperation::Move(m) => m.from.is_root(),
            _ => false,
        };
        if from_root {
            return Err(OAuthError::invalid_request(
                "copy and move from the document root are not allowed",
            ));
        }
        json_patch::patch_unsafe(doc, std::slice::from_ref(op))
            .map_err(|e| OAuthError::invalid_request(format!("patch failed: {e}")))?;
        // A copy can double the document: check after every operation, not only at the end.
        if !within(doc, limits.max_patch_document_bytes) {
            return Err(OAuthError::invalid_request(format!(
                "the patched document exceeds {} bytes",
                limits.max_patch_document_bytes
            )));
        }
    }
    Ok(())
}

/// The answer to a Config API change the store could not keep.
fn not_saved(e: StoreError) -> OAuthError {
    OAuthError::store_failed(e, "the configuration could not be saved")
}

/// The answer to a Config API write that was not stored.
fn write_failed(e: WriteError<OAuthError>) -> OAuthError {
    match e {
        WriteError::Refused(refusal) => refusal,
        WriteError::Store(e) => not_saved(e),
        WriteError::Contended => {
            tracing::warn!("a Config API write kept meeting newer writes; answered 503");
            OAuthError::temporarily_unavailable(1)
        }
    }
}

/// `GET /jans-config-api/api/v1/jans-auth-server/config`: the stored settings.
pub async fn get_config(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, OAuthError> {
    require_scope(
        &state,
        &headers,
        &[PROPERTIES_READ_SCOPE, PROPERTIES_WRITE_SCOPE],
    )
    .await?;
    Ok(Json(config_json(&state, &state.settings.stored())))
}

/// `PATCH /jans-config-api/api/v1/jans-auth-server/config` with a JSON Patch.
pub async fn patch_config(
    State(state): State<Arc<AppState>>,
    req: Request<Body>,
) -> Result<Json<Value>, OAuthError> {
    require_scope(&state, req.headers(), &[PROPERTIES_WRITE_SCOPE]).await?;
    let patch = json_patch_body(req).await?;
    // This node's writers take turns; readers and every other endpoint never wait.
    let _turn = state.config_write.lock().await;
    let updated = state
        .update_settings(|current| {
            let mut doc =
                serde_json::to_value(current).map_err(|_| OAuthError::server_error("settings"))?;
            apply_bounded(&mut doc, &patch, &state.limits)?;
            let updated: Settings = serde_json::from_value(doc).map_err(|e| {
                OAuthError::invalid_request(format!("the patched configuration is invalid: {e}"))
            })?;
            updated.validate().map_err(|e| {
                OAuthError::invalid_request(format!("the patched configuration is invalid: {e}"))
            })?;
            Ok(updated)
        })
        .await
        .map_err(write_failed)?;
    tracing::info!(?updated, "auth server configuration patched");
    Ok(Json(config_json(&state, &updated)))
}

fn client_json(client: &Client) -> Value {
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
    require_scope(&state, &headers, &[CLIENTS_WRITE_SCOPE]).await?;
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
    require_scope(&state, req.headers(), &[CLIENTS_WRITE_SCOPE]).await?;
    let patch = json_patch_body(req).await?;
    let _turn = state.config_write.lock().await;
    state
        .update_client_scopes(&client_id, |current| {
            let mut doc = json!({ "scopes": current });
            apply_bounded(&mut doc, &patch, &state.limits)?;
            doc.as_object()
                .filter(|o| o.len() == 1)
                .and_then(|o| o.get("scopes"))
                .and_then(|s| serde_json::from_value(s.clone()).ok())
                .ok_or_else(|| {
                    OAuthError::invalid_request("only /scopes (a list of strings) may be patched")
                })
        })
        .await
        .map_err(write_failed)?
        .ok_or_else(|| OAuthError::invalid_request("no such client"))?;
    let client = state
        .client(&client_id)
        .ok_or_else(|| OAuthError::invalid_request("no such client"))?;
    Ok(Json(client_json(&client)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(ops: Value) -> Patch {
        serde_json::from_value(ops).unwrap()
    }

    #[test]
    fn doubling_copies_stop_at_the_size_limit() {
        let limits = Limits::default();
        let mut doc = json!({"featureFlags": ["a"], "x": 1});
        // Copying one element appends one element: linear, allowed.
        let linear: Vec<Value> = (0..30)
            .map(|_| json!({"op": "copy", "from": "/featureFlags/0", "path": "/featureFlags/-"}))
            .collect();
        assert!(apply_bounded(&mut doc.clone(), &patch(json!(linear)), &limits).is_ok());
        // Copying the array into itself doubles it (2^12 here, 2^n for n operations).
        let doubling: Vec<Value> = (0..12)
            .map(|_| json!({"op": "copy", "from": "/featureFlags", "path": "/featureFlags/-"}))
            .collect();
        let err = apply_bounded(&mut doc, &patch(json!(doubling)), &limits).unwrap_err();
        assert!(err.description.contains("exceeds 16384 bytes"), "{err:?}");
    }

    #[test]
    fn root_copy_and_move_and_long_patches_are_refused() {
        let limits = Limits::default();
        for op in ["copy", "move"] {
            let mut doc = json!({"a": 1});
            let err = apply_bounded(
                &mut doc,
                &patch(json!([{"op": op, "from": "", "path": "/b"}])),
                &limits,
            )
            .unwrap_err();
            assert!(err.description.contains("root"), "{op}: {err:?}");
        }
        let many: Vec<Value> = (0..=limits.max_patch_operations)
            .map(|_| json!({"op": "test", "path": "/a", "value": 1}))
            .collect();
        let err = apply_bounded(&mut json!({"a": 1}), &patch(json!(many)), &limits).unwrap_err();
        assert!(err.description.contains("at most 32 operations"), "{err:?}");
        let enough: Vec<Value> = (0..limits.max_patch_operations)
            .map(|_| json!({"op": "test", "path": "/a", "value": 1}))
            .collect();
        assert!(apply_bounded(&mut json!({"a": 1}), &patch(json!(enough)), &limits).is_ok());
    }

    #[test]
    fn size_check_counts_exactly() {
        let doc = json!("abc"); // 5 bytes serialized
        assert!(within(&doc, 5));
        assert!(!within(&doc, 4));
    }
}
