//! The one error type of the reference server: RFC 6749 section 5.2 error answers.
//!
//! Every refusal the server makes is an [`OAuthError`]; rendering it is the only place that
//! writes an error body, so internals never reach a client and every error is JSON with a
//! registered `error` code and an `error_description` made of the characters 5.2 allows.
//! Store failures become answers here too ([`OAuthError::store_failed`]): the store reports
//! what failed, the server decides what a client is told.

use super::store::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;

/// The realm announced in `WWW-Authenticate` when client authentication fails.
pub const REALM: &str = "revspec";

/// An RFC 6749 5.2 / RFC 7009 2.2.1 error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: StatusCode,
    pub code: &'static str,
    pub description: Cow<'static, str>,
    /// Failed client authentication: the answer carries `WWW-Authenticate: Basic realm=...`.
    pub challenge: bool,
    /// Seconds to announce in `Retry-After` (only for 503).
    pub retry_after: Option<u32>,
}

impl OAuthError {
    fn new(
        status: StatusCode,
        code: &'static str,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            description: description.into(),
            challenge: false,
            retry_after: None,
        }
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn invalid_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            challenge: true,
            ..Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
        }
    }

    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    pub fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }

    pub fn unauthorized_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", description)
    }

    pub fn unsupported_grant_type(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            description,
        )
    }

    pub fn unsupported_token_type(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_token_type",
            description,
        )
    }

    pub fn access_denied(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "access_denied", description)
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            format!("request body exceeds {limit} bytes"),
        )
    }

    pub fn temporarily_unavailable(retry_after: u32) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the server is temporarily unavailable",
            )
        }
    }

    /// The request (headers to answer) took longer than the server's request timeout.
    pub fn request_timeout() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "invalid_request",
            "the request was not completed in time",
        )
    }

    pub fn server_error(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            description,
        )
    }

    /// An RFC 6750 error for a protected resource (userinfo, the config API).
    pub fn invalid_token(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_token", description)
    }

    pub fn insufficient_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "insufficient_scope", description)
    }

    /// A failed token-store unit, as the request that met it is answered: 503
    /// `temporarily_unavailable` (with `Retry-After: 1`) while the shared store cannot be
    /// reached, otherwise 500 `server_error` saying what failed (`description`). The internals
    /// never reach the client: they are logged here, so no answer to a store failure goes
    /// unlogged. Endpoints write `?` on a store unit ([`From<StoreError>`]); the Config API names
    /// what it could not save.
    pub fn store_failed(e: StoreError, description: &'static str) -> Self {
        tracing::error!("{e}");
        if e.is_unavailable() {
            Self::temporarily_unavailable(1)
        } else {
            Self::server_error(description)
        }
    }
}

/// Any endpoint's store failure (`?` on a store unit): see [`OAuthError::store_failed`].
impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        Self::store_failed(e, "the token store failed")
    }
}

/// Keeps only the characters RFC 6749 5.2 allows in `error_description` (%x20-21 / %x23-5B / %x5D-7E).
pub fn sanitize_description(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '?',
        })
        .collect()
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.code,
            "error_description": sanitize_description(&self.description),
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"revspec\""),
            );
        }
        // RFC 6750 3: a protected resource's refusals name the Bearer scheme and the error.
        if self.status == StatusCode::UNAUTHORIZED && self.code == "invalid_token" {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"revspec\", error=\"invalid_token\""),
            );
        }
        if self.status == StatusCode::FORBIDDEN && self.code == "insufficient_scope" {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"revspec\", error=\"insufficient_scope\""),
            );
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_drops_quotes_backslashes_and_non_ascii() {
        assert_eq!(sanitize_description("a\"b\\c\u{e9}d\n"), "a?b?c?d?");
        assert_eq!(sanitize_description("plain text!"), "plain text!");
    }

    #[test]
    fn invalid_client_carries_basic_challenge() {
        let response = OAuthError::invalid_client("bad").into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert_eq!(challenge, format!("Basic realm=\"{REALM}\""));
    }

    #[test]
    fn insufficient_scope_carries_the_rfc6750_challenge() {
        let response = OAuthError::insufficient_scope("more").into_response();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"revspec\", error=\"insufficient_scope\""
        );
        let timeout = OAuthError::request_timeout().into_response();
        assert_eq!(timeout.status(), StatusCode::REQUEST_TIMEOUT);
        assert!(timeout.headers().get(header::WWW_AUTHENTICATE).is_none());
    }
}
