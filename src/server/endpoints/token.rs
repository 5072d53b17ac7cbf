//! `POST /token`: the client_credentials, password and refresh_token grants.
//!
//! A grant carries only scopes its client holds now: a refresh grant narrows to the scopes the
//! client still holds, and may narrow further on request (RFC 6749 6), never widen. A refresh
//! issues atomically with the check that its refresh token is still there, so a revocation
//! that wins the race leaves no live token in its grant.

use super::common::no_store;
use crate::faults::quirks::Quirk;
use crate::server::clock::now;
use crate::server::config::{AuthMethod, Client};
use crate::server::error::{sanitize_description, OAuthError};
use crate::server::extract::authenticated::{authenticated_form, Endpoint};
use crate::server::secret::secret_matches;
use crate::server::state::AppState;
use crate::server::store::{hash_token, new_grant_id, TokenKind, TokenRecord};
use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

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
                    sanitize_description(bad)
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
    let (form, client) = authenticated_form(
        &state,
        &parts.headers,
        parts.extensions.get::<crate::server::net::ConnInfo>(),
        body,
        false,
        Endpoint::Token,
    )
    .await?;
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
            let grant = new_grant_id();
            let at = state
                .store
                .issue(access(grant, None, scopes.clone()))
                .await?;
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
                .is_some_and(|expected| secret_matches(expected, password));
            if !ok {
                return Err(OAuthError::invalid_grant("wrong username or password"));
            }
            let scopes = granted_scopes(&client, form.get("scope"))?;
            let grant = new_grant_id();
            let subject = Some(username.to_owned());
            let mut issued = state
                .store
                .issue_all(&[
                    access(grant, subject.clone(), scopes.clone()),
                    refresh(grant, subject, scopes.clone()),
                ])
                .await?
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
                .await?
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
                .issue_while_present(&hash_token(presented), &records, rotate, max_access)
                .await?
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
