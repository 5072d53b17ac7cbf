//! The calling client of a form request, authenticated against the server's registry as it is
//! now: the form is read (`form`), the credentials taken from it and the headers, and checked
//! with the client's registered method (`client_auth`). A failure is answered as the server's
//! quirks say (`post-auth-failure-400`).

use super::client_auth::{authenticate, presented_credentials, Presented};
use super::form::{read_body, Form};
use crate::faults::quirks::Quirk;
use crate::server::config::Client;
use crate::server::error::OAuthError;
use crate::server::state::AppState;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use std::sync::Arc;

/// Reads the form body and authenticates the client with its registered method.
pub async fn authenticated_form(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    allow_repeats: bool,
) -> Result<(Form, Arc<Client>), OAuthError> {
    let bytes = read_body(body).await?;
    let form = Form::parse(headers, bytes, allow_repeats)?;
    let presented = presented_credentials(headers, &form)?;
    let clients = state.clients.read().unwrap_or_else(|p| p.into_inner());
    let client = authenticate(&presented, |id| clients.get(id).map(|c| &**c))
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
            status: StatusCode::BAD_REQUEST,
            challenge: false,
            ..error
        };
    }
    error
}
