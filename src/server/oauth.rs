//! The OAuth endpoints around revocation: token (client_credentials, password, refresh_token),
//! RFC 7662 introspection, userinfo, and discovery (OpenID and RFC 8414 metadata).

use super::config::{AuthMethod, Client};
use super::error::OAuthError;
use super::faults::Fault;
use super::request::{self, Form};
use super::store::{TokenKind, TokenRecord};
use super::{now, paths, AppState};
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
) -> Result<(Form, Client), OAuthError> {
    let bytes = request::read_body(body).await?;
    let form = Form::parse(headers, &bytes, allow_repeats)?;
    let presented = request::presented_credentials(headers, &form)?;
    let clients = state.clients.read().unwrap_or_else(|p| p.into_inner());
    let client = request::authenticate(&presented, |id| clients.get(id))?.clone();
    Ok((form, client))
}

fn no_store(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn store_error(e: super::store::StoreError) -> OAuthError {
    tracing::error!("{e}");
    OAuthError::server_error("the token store failed")
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
            let at = state
                .store
                .issue(access(grant, subject.clone(), scopes.clone()))
                .map_err(store_error)?;
            let rt = state
                .store
                .issue(refresh(grant, subject, scopes.clone()))
                .map_err(store_error)?;
            (at, Some(rt), scopes)
        }
        "refresh_token" => {
            let presented = form
                .non_empty("refresh_token")
                .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
            let record = state
                .store
                .get(presented)
                .filter(|r| {
                    r.kind == TokenKind::Refresh
                        && !r.is_expired(issued_at)
                        && r.client_id == client.id
                })
                .ok_or_else(|| {
                    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked")
                })?;
            // RFC 6749 6: a requested scope may only narrow the grant's scope.
            let scopes = match form.non_empty("scope") {
                None => record.scopes.clone(),
                Some(text) => {
                    let wanted = scope_list(text);
                    if wanted.iter().any(|s| !record.scopes.contains(s)) {
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
                records.push(refresh(
                    record.grant_id,
                    record.subject.clone(),
                    record.scopes.clone(),
                ));
            }
            // Atomic with the check that the refresh token is still there: a revocation that
            // wins the race must not leave a new token alive in its grant.
            let mut issued = state
                .store
                .issue_while_present(&super::store::hash_token(presented), &records, rotate)
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

/// `POST /introspection` (RFC 7662): any registered client may ask.
pub async fn introspect(
    State(state): State<Arc<AppState>>,
    req: Request<Body>,
) -> Result<Response, OAuthError> {
    let (parts, body) = req.into_parts();
    let (form, _client) = form_and_client(&state, &parts.headers, body, false).await?;
    let token = form
        .non_empty("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let now = now();
    let body = match state.store.get(token).filter(|r| !r.is_expired(now)) {
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
pub fn bearer_access_token(
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
        .filter(|r| r.kind == TokenKind::Access && !r.is_expired(now()))
        .ok_or_else(|| OAuthError::invalid_token("the access token is invalid, expired or revoked"))
}

/// `GET|POST /userinfo` with a bearer access token.
pub async fn userinfo(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, OAuthError> {
    let record = bearer_access_token(&state, &headers)?;
    let sub = record.subject.unwrap_or(record.client_id);
    Ok(no_store(Json(json!({ "sub": sub })).into_response()))
}

fn metadata(state: &AppState, for_oidc: bool) -> Value {
    let settings = state.settings();
    let methods = ["client_secret_basic", "client_secret_post", "none"];
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
        "introspection_endpoint": state.url(paths::INTROSPECTION),
        "userinfo_endpoint": state.url(paths::USERINFO),
        "token_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_methods_supported": methods,
        "introspection_endpoint_auth_methods_supported": methods,
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
    doc
}

/// `GET /.well-known/openid-configuration`.
pub async fn oidc_discovery(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(metadata(&state, true))
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
pub async fn as_metadata(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(metadata(&state, false))
}
