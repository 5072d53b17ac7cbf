//! The OAuth endpoints around revocation: token (client_credentials, password, refresh_token),
//! RFC 7662 introspection, userinfo, and discovery (OpenID and RFC 8414 metadata).
//!
//! Authorization follows each client's registration as it is now: a refresh grant and a bearer
//! token carry only the scopes their client still holds. Introspection tells a caller about its
//! own tokens only, unless it holds `introspect_any`; a public client cannot introspect. The
//! `introspection` and `userinfo` feature flags gate their endpoints as Janssen's do (403
//! `access_denied`, and discovery stops publishing the endpoint).

use super::config::{
    AuthMethod, Client, INTROSPECTION_FLAG, INTROSPECT_ANY_SCOPE, REVOKE_TOKEN_FLAG, USERINFO_FLAG,
};
use super::error::OAuthError;
use super::request::{self, Form, Presented};
use super::store::{TokenKind, TokenRecord};
use super::{now, paths, AppState};
use crate::faults::quirks::Quirk;
use crate::faults::Fault;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Request};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

/// Reads the form body and authenticates the client with its registered method.
pub async fn form_and_client(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    allow_repeats: bool,
) -> Result<(Form, Arc<Client>), OAuthError> {
    let bytes = request::read_body(body).await?;
    let form = Form::parse(headers, bytes, allow_repeats)?;
    let presented = request::presented_credentials(headers, &form)?;
    let clients = state.clients.read().unwrap_or_else(|p| p.into_inner());
    let client = request::authenticate(&presented, |id| clients.get(id).map(|c| &**c))
        .map(|c| {
            clients
                .get(&c.id)
                .cloned()
                .unwrap_or_else(|| Arc::new(c.clone()))
        })
        .map_err(|e| auth_failure(state, &presented, e))?;
    Ok((form, client))
}

/// A failed client authentication as the server answers it: 401 with the Basic challenge, or
/// with the `post-auth-failure-400` quirk a 400 without it for body credentials.
pub fn auth_failure(state: &AppState, presented: &Presented, error: OAuthError) -> OAuthError {
    if state.has_quirk(Quirk::PostAuthFailure400)
        && matches!(presented, Presented::Post { .. })
        && error.code == "invalid_client"
    {
        return OAuthError {
            status: axum::http::StatusCode::BAD_REQUEST,
            challenge: false,
            ..error
        };
    }
    error
}

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

fn no_store(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The answer to a failed token-store operation (shared by the token, introspection,
/// userinfo, health and revocation endpoints).
pub(super) fn store_error(e: super::store::StoreError) -> OAuthError {
    e.answer("the token store failed")
}

/// `GET /health`: `ok` once the token store answers a lookup, else the store's error (503
/// `temporarily_unavailable` while Redis cannot be reached), so that a load balancer takes a
/// node that cannot serve tokens out of rotation.
pub async fn health(State(state): State<Arc<AppState>>) -> Result<&'static str, OAuthError> {
    state.store.get_hash(&[0; 32]).await.map_err(store_error)?;
    Ok("ok")
}

/// A space-separated `scope` parameter as a list (RFC 6749 3.3).
fn scope_list(text: &str) -> Vec<String> {
    text.split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Resolves the requested scope against what the client may obtain.
fn granted_scopes(client: &Client, requested: Option<&str>) -> Result<Vec<String>, OAuthError> {
    match requested {
        None => Ok(client
            .scopes
            .iter()
            .filter(|s| !s.starts_with("https://"))
            .cloned()
            .collect()),
        Some(text) => {
            let wanted = scope_list(text);
            if let Some(bad) = wanted.iter().find(|s| !client.has_scope(s)) {
                return Err(OAuthError::invalid_scope(format!(
                    "scope '{}' is not allowed for this client",
                    super::error::sanitize_description(bad)
                )));
            }
            Ok(wanted)
        }
    }
}

/// `POST /token`.
pub async fn token(
    State(state): State<Arc<AppState>>,
    req: Request<Body>,
) -> Result<Response, OAuthError> {
    let (parts, body) = req.into_parts();
    let (form, client) = form_and_client(&state, &parts.headers, body, false).await?;
    let settings = state.settings();
    let issued_at = now();
    let access = |grant_id: u64, subject: Option<String>, scopes: Vec<String>| TokenRecord {
        kind: TokenKind::Access,
        client_id: client.id.clone(),
        grant_id,
        subject,
        scopes,
        issued_at,
        expires_at: issued_at.saturating_add(settings.access_token_lifetime),
    };
    let refresh = |grant_id: u64, subject: Option<String>, scopes: Vec<String>| TokenRecord {
        kind: TokenKind::Refresh,
        expires_at: issued_at.saturating_add(settings.refresh_token_lifetime),
        ..access(grant_id, subject, scopes)
    };
    let grant_type = form
        .non_empty("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    let (access_token, refresh_token, scopes) = match grant_type {
        "client_credentials" => {
            if client.auth_method == AuthMethod::None {
                return Err(OAuthError::unauthorized_client(
                    "a public client cannot use client_credentials",
                ));
            }
            let scopes = granted_scopes(&client, form.get("scope"))?;
            let grant = super::store::new_grant_id();
            let at = state
                .store
                .issue(access(grant, None, scopes.clone()))
                .await
                .map_err(store_error)?;
            (at, None, scopes)
        }
        "password" => {
            let (Some(username), Some(password)) =
                (form.non_empty("username"), form.get("password"))
            else {
                return Err(OAuthError::invalid_request(
                    "username and password are required",
                ));
            };
            let ok = state
                .users
                .get(username)
                .is_some_and(|expected| request::secret_matches(expected, password));
            if !ok {
                return Err(OAuthError::invalid_grant("wrong username or password"));
            }
            let scopes = granted_scopes(&client, form.get("scope"))?;
            let grant = super::store::new_grant_id();
            let subject = Some(username.to_owned());
            let mut issued = state
                .store
                .issue_all(&[
                    access(grant, subject.clone(), scopes.clone()),
                    refresh(grant, subject, scopes.clone()),
                ])
                .await
                .map_err(store_error)?
                .into_iter();
            let at = issued.next().unwrap_or_default();
            (at, issued.next(), scopes)
        }
        "refresh_token" => {
            let presented = form
                .non_empty("refresh_token")
                .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
            let requested = form.non_empty("scope").map(scope_list);
            if state.has_quirk(Quirk::RefreshScopeFirst) {
                // The quirk: the registration is checked before the token is looked at.
                if let Some(wanted) = &requested {
                    if wanted.iter().any(|s| !client.has_scope(s)) {
                        return Err(OAuthError::invalid_scope(
                            "the requested scope is not allowed for this client",
                        ));
                    }
                }
            }
            let record = state
                .store
                .get(presented)
                .await
                .map_err(store_error)?
                .filter(|r| {
                    r.kind == TokenKind::Refresh
                        && !r.is_expired(issued_at)
                        && r.client_id == client.id
                })
                .ok_or_else(|| {
                    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked")
                })?;
            // What the grant may still carry: its scopes that the client holds now.
            let allowed: Vec<String> = record
                .scopes
                .iter()
                .filter(|s| client.has_scope(s))
                .cloned()
                .collect();
            // RFC 6749 6: a requested scope may only narrow the grant's scope.
            let scopes = match requested {
                None => allowed.clone(),
                Some(wanted) => {
                    if wanted.iter().any(|s| !allowed.contains(s)) {
                        return Err(OAuthError::invalid_scope(
                            "the requested scope exceeds the grant",
                        ));
                    }
                    wanted
                }
            };
            let rotate = settings.refresh_token_rotation;
            let mut records = vec![access(
                record.grant_id,
                record.subject.clone(),
                scopes.clone(),
            )];
            if rotate {
                records.push(refresh(record.grant_id, record.subject.clone(), allowed));
            }
            // Beyond the cap the grant's oldest access tokens go; the quirk keeps only one.
            let max_access = if state.has_quirk(Quirk::RefreshReplacesAccess) {
                1
            } else {
                state.limits.max_tokens_per_grant.saturating_sub(1)
            };
            if let Some(pause) = &state.refresh_pause {
                pause.pause().await;
            }
            // Atomic with the check that the refresh token is still there: a revocation that
            // wins the race must not leave a new token alive in its grant.
            let mut issued = state
                .store
                .issue_while_present(
                    &super::store::hash_token(presented),
                    &records,
                    rotate,
                    max_access,
                )
                .await
                .map_err(store_error)?
                .ok_or_else(|| {
                    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked")
                })?
                .into_iter();
            let at = issued.next().unwrap_or_default();
            (at, issued.next(), scopes)
        }
        _ => {
            return Err(OAuthError::unsupported_grant_type(
                "supported: client_credentials, password, refresh_token",
            ))
        }
    };
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": settings.access_token_lifetime,
        "scope": scopes.join(" "),
    });
    if let Some(rt) = refresh_token {
        body["refresh_token"] = Value::String(rt);
    }
    Ok(no_store(Json(body).into_response()))
}

/// `POST /introspection` (RFC 7662): a confidential client learns about its own tokens, or
/// about any token with `introspect_any`; every other token reads `{"active": false}`.
pub async fn introspect(
    State(state): State<Arc<AppState>>,
    req: Request<Body>,
) -> Result<Response, OAuthError> {
    require_feature(&state, INTROSPECTION_FLAG)?;
    let (parts, body) = req.into_parts();
    let (form, client) = form_and_client(&state, &parts.headers, body, false).await?;
    if client.auth_method == AuthMethod::None {
        // A public client proves nothing about itself, so it may not learn about tokens.
        return Err(request::auth_failed());
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
        .await
        .map_err(store_error)?
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
        .await
        .map_err(store_error)?
        .filter(|r| r.kind == TokenKind::Access && !r.is_expired(now()))
        .ok_or_else(|| OAuthError::invalid_token("the access token is invalid, expired or revoked"))
}

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
