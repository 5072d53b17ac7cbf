//! `POST /introspection` (RFC 7662). A confidential client learns about its own tokens only,
//! unless it holds `introspect_any`; a public client proves nothing about itself, so it may
//! not introspect. The `introspection` feature flag gates the endpoint (Janssen's 403).

use super::common::{no_store, require_feature};
use crate::faults::quirks::Quirk;
use crate::server::clock::now;
use crate::server::config::{AuthMethod, INTROSPECTION_FLAG, INTROSPECT_ANY_SCOPE};
use crate::server::error::OAuthError;
use crate::server::extract::authenticated::{authenticated_form, Endpoint};
use crate::server::extract::client_auth::auth_failed;
use crate::server::state::AppState;
use crate::server::store::{TokenKind, TokenRecord};
use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

/// `POST /introspection` (RFC 7662): a confidential client learns about its own tokens, or
/// about any token with `introspect_any`; every other token reads `{"active": false}`.
pub async fn introspect(
    State(state): State<Arc<AppState>>,
    req: Request<Body>,
) -> Result<Response, OAuthError> {
    require_feature(&state, INTROSPECTION_FLAG)?;
    let (parts, body) = req.into_parts();
    let (form, client) = authenticated_form(
        &state,
        &parts.headers,
        parts.extensions.get::<crate::server::net::ConnInfo>(),
        body,
        false,
        Endpoint::Introspection,
    )
    .await?;
    if client.auth_method == AuthMethod::None {
        // A public client proves nothing about itself, so it may not learn about tokens.
        return Err(auth_failed());
    }
    let token = form
        .non_empty("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let now = now();
    let may_see = |r: &TokenRecord| {
        r.client_id == client.id
            || (client.has_scope(INTROSPECT_ANY_SCOPE)
                && !state.has_quirk(Quirk::IntrospectionOwnerOnly))
    };
    let body = match state
        .store
        .get(token)
        .await?
        .filter(|r| !r.is_expired(now) && may_see(r))
    {
        Some(r) => {
            let mut v = json!({
                "active": true,
                "client_id": r.client_id,
                "scope": r.scopes.join(" "),
                "token_type": if r.kind == TokenKind::Access { "Bearer" } else { "refresh_token" },
                "exp": r.expires_at,
                "iat": r.issued_at,
                "iss": state.issuer,
            });
            if let Some(sub) = r.subject {
                v["sub"] = Value::String(sub.clone());
                v["username"] = Value::String(sub);
            }
            v
        }
        None => json!({ "active": false }),
    };
    Ok(no_store(Json(body).into_response()))
}
