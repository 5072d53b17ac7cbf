//! The calling client of a form request, authenticated against the server's registry as it is
//! now: the form is read (`form`), the credentials taken from it and the headers
//! (`client_auth`), and checked with the client's registered method: a secret
//! (`client_auth`), a JWT assertion whose `jti` is then recorded as used (`assertion`), a
//! certificate (`certificate`), or, at the revocation endpoint only, the client's own access
//! token as `Authorization: Bearer` (Janssen). A failure is answered as the server's quirks
//! say (`post-auth-failure-400`).

use super::client_auth::{auth_failed, authenticate, presented_credentials, Presented};
use super::form::{read_body, Form};
use crate::faults::quirks::Quirk;
use crate::faults::Fault;
use crate::server::clock::now;
use crate::server::config::{AuthMethod, Client};
use crate::server::error::OAuthError;
use crate::server::net::ConnInfo;
use crate::server::state::AppState;
use crate::server::store::{hash_token, TokenKind};
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use std::sync::Arc;

/// Which endpoint authenticates (the revocation endpoint also takes a bearer access token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Token,
    Introspection,
    Revocation,
}

/// Reads the form body and authenticates the client with its registered method.
pub async fn authenticated_form(
    state: &AppState,
    headers: &HeaderMap,
    conn: Option<&ConnInfo>,
    body: Body,
    allow_repeats: bool,
    at: Endpoint,
) -> Result<(Form, Arc<Client>), OAuthError> {
    let bytes = read_body(body).await?;
    let form = Form::parse(headers, bytes, allow_repeats)?;
    let presented = presented_credentials(headers, &form)?;
    let client = authenticate_presented(state, headers, conn, &presented, at)
        .await
        .map_err(|e| auth_failure(state, &presented, e))?;
    Ok((form, client))
}

/// Authenticates what a request presents (see the module's doc).
pub async fn authenticate_presented(
    state: &AppState,
    headers: &HeaderMap,
    conn: Option<&ConnInfo>,
    presented: &Presented,
    at: Endpoint,
) -> Result<Arc<Client>, OAuthError> {
    let client = match presented {
        Presented::Bearer { token } if at == Endpoint::Revocation => {
            bearer_client(state, token).await?
        }
        Presented::Bearer { .. } => return Err(auth_failed()),
        Presented::Assertion {
            jwt,
            typed,
            client_id,
        } => {
            let verified = super::assertion::verify(state, jwt, *typed, client_id.as_deref())?;
            if let Some((key, until)) = &verified.once {
                if !state.first_use(key, *until).await? {
                    return Err(auth_failed());
                }
            }
            verified.client
        }
        Presented::PublicId { client_id } => {
            let client = state.client(client_id).ok_or_else(auth_failed)?;
            if client.auth_method.is_mtls() {
                super::certificate::check(state, &client, conn, headers)?;
                client
            } else {
                lookup_and_check(state, presented)?
            }
        }
        _ => lookup_and_check(state, presented)?,
    };
    if at == Endpoint::Revocation {
        let refused = match client.auth_method {
            AuthMethod::ClientSecretJwt => state.has_fault(Fault::ClientSecretJwtRefused),
            AuthMethod::SelfSignedTlsClientAuth => state.has_fault(Fault::SelfSignedCertRefused),
            _ => false,
        };
        if refused {
            return Err(auth_failed());
        }
    }
    Ok(client)
}

/// Secrets and public clients, against the registry as it is now.
fn lookup_and_check(state: &AppState, presented: &Presented) -> Result<Arc<Client>, OAuthError> {
    let clients = state.clients.read().unwrap_or_else(|p| p.into_inner());
    authenticate(presented, |id| clients.get(id).map(|c| &**c)).map(|c| {
        clients
            .get(&c.id)
            .cloned()
            .unwrap_or_else(|| Arc::new(c.clone()))
    })
}

/// The client of a live access token presented as `Authorization: Bearer` (Janssen #686):
/// an unknown, expired or revoked one authenticates nobody.
async fn bearer_client(state: &AppState, token: &str) -> Result<Arc<Client>, OAuthError> {
    let record = state
        .store
        .get(token)
        .await?
        .filter(|r| r.kind == TokenKind::Access && !r.is_expired(now()));
    let owner = match record {
        Some(r) => Some(r.client_id),
        None if state.has_fault(Fault::BearerRevokedAccepted) => state
            .revoked_access
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&hash_token(token))
            .cloned(),
        None => None,
    };
    owner
        .and_then(|id| state.client(&id))
        .ok_or_else(auth_failed)
}

/// A failed client authentication as the server answers it: 401 with the Basic challenge, or
/// with the `post-auth-failure-400` quirk a 400 without it for body credentials.
pub fn auth_failure(state: &AppState, presented: &Presented, error: OAuthError) -> OAuthError {
    if state.has_quirk(Quirk::PostAuthFailure400)
        && matches!(presented, Presented::Post { .. })
        && error.code == "invalid_client"
    {
        return OAuthError {
            status: StatusCode::BAD_REQUEST,
            challenge: false,
            ..error
        };
    }
    error
}
