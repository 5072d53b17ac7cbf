//! Client authentication as Janssen does it: what a request presents (Basic, body
//! credentials, a JWT client assertion, `Authorization: Bearer`, or a `client_id` alone for a
//! public or mutual-TLS client), and the check of secrets against the client's registered
//! method. Each client authenticates only with the method it is registered for, and every
//! failure reads the same ([`CLIENT_AUTH_FAILED`]), so an answer never tells an unknown client
//! from a known one. Every request that carries a secret costs one digest comparison, known
//! client or not (`secret`). Assertions are checked in `assertion`, certificates in
//! `certificate`; `authenticated` puts them together.

use super::form::{decode_component, Form};
use crate::server::config::{AuthMethod, Client};
use crate::server::error::OAuthError;
use crate::server::secret::{digests_match, secret_digest, SecretDigest};
use axum::http::{header, HeaderMap};
use base64::Engine as _;

/// Credentials as presented, before they are checked against the registry.
#[derive(Debug, PartialEq, Eq)]
pub enum Presented {
    Basic {
        client_id: String,
        secret: String,
    },
    Post {
        client_id: String,
        secret: String,
    },
    /// Only `client_id` (a public client, RFC 6749 2.1, or a mutual-TLS client, RFC 8705).
    PublicId {
        client_id: String,
    },
    /// A JWT client assertion (RFC 7521 4.2); `typed`: with the JWT bearer
    /// `client_assertion_type`.
    Assertion {
        jwt: String,
        typed: bool,
        client_id: Option<String>,
    },
    /// `Authorization: Bearer` (or Janssen's `AccessToken`): the client's own access token.
    Bearer {
        token: String,
    },
    Nothing,
}

/// `client_assertion_type` of a JWT client assertion (RFC 7523 2.2).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn one_method() -> OAuthError {
    OAuthError::invalid_request("use one client authentication method, not several together")
}

/// Extracts the credentials from the Authorization header and the form.
pub fn presented_credentials(headers: &HeaderMap, form: &Form) -> Result<Presented, OAuthError> {
    let authorization = headers.get(header::AUTHORIZATION);
    let basic = match authorization {
        Some(value) => parse_basic(value.as_bytes())?,
        None => None,
    };
    let bearer = authorization.and_then(|v| parse_bearer(v.as_bytes()));
    let body_secret = form.get("client_secret");
    if let Some(jwt) = form.get("client_assertion") {
        if basic.is_some() || body_secret.is_some() || bearer.is_some() {
            return Err(one_method());
        }
        return Ok(Presented::Assertion {
            jwt: jwt.to_owned(),
            typed: form.get("client_assertion_type") == Some(JWT_BEARER),
            client_id: form.non_empty("client_id").map(str::to_owned),
        });
    }
    if let Some(token) = bearer {
        if body_secret.is_some() {
            return Err(one_method());
        }
        return Ok(Presented::Bearer { token });
    }
    match (basic, body_secret) {
        (Some(_), Some(_)) => Err(one_method()),
        (Some((client_id, secret)), None) => Ok(Presented::Basic { client_id, secret }),
        (None, Some(secret)) => {
            let client_id = form.non_empty("client_id").ok_or_else(auth_failed)?;
            Ok(Presented::Post {
                client_id: client_id.to_owned(),
                secret: secret.to_owned(),
            })
        }
        (None, None) => Ok(match form.non_empty("client_id") {
            Some(id) => Presented::PublicId {
                client_id: id.to_owned(),
            },
            None => Presented::Nothing,
        }),
    }
}

/// Parses `Authorization: Basic ...`. Another scheme is ignored (`Ok(None)`); a broken Basic
/// header is a failed client authentication.
fn parse_basic(value: &[u8]) -> Result<Option<(String, String)>, OAuthError> {
    let text = std::str::from_utf8(value).map_err(|_| auth_failed())?;
    let (scheme, rest) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| auth_failed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| auth_failed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(auth_failed)?;
    // RFC 6749 2.3.1: id and secret are form-urlencoded before Basic encoding.
    let id = decode_component(id.as_bytes()).map_err(|_| auth_failed())?;
    let secret = decode_component(secret.as_bytes()).map_err(|_| auth_failed())?;
    Ok(Some((id, secret)))
}

/// `Authorization: Bearer TOKEN` or `AccessToken TOKEN` (Janssen's two spellings).
fn parse_bearer(value: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let (scheme, rest) = text.split_once(' ')?;
    let token = rest.trim();
    ((scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("accesstoken"))
        && !token.is_empty())
    .then(|| token.to_owned())
}

/// The one description of every failed client authentication, so that the answer never tells
/// an unknown client from a known one, a missing secret from a wrong one, or reveals the
/// method a client is registered for.
pub const CLIENT_AUTH_FAILED: &str = "client authentication failed";

/// The error of every failed client authentication (401 with the Basic challenge).
pub fn auth_failed() -> OAuthError {
    OAuthError::invalid_client(CLIENT_AUTH_FAILED)
}

/// The digest compared against when the client is unknown or has no secret, so that such a
/// request costs what a known client's does (computed when the server starts: see
/// [`prepare_dummy_digest`]).
fn dummy_digest() -> SecretDigest {
    static DUMMY: std::sync::LazyLock<SecretDigest> =
        std::sync::LazyLock::new(|| secret_digest("revspec: no such client"));
    *DUMMY
}

/// Computes the dummy digest now, so that no request pays for it.
pub fn prepare_dummy_digest() {
    dummy_digest();
}

/// Checks presented credentials against a client registered with its one method.
pub fn authenticate<'a>(
    presented: &Presented,
    lookup: impl Fn(&str) -> Option<&'a Client>,
) -> Result<&'a Client, OAuthError> {
    authenticate_with(presented, lookup, digests_match)
}

/// [`authenticate`] with the digest comparison passed in (tests count the comparisons).
/// Every request that carries a secret makes exactly one comparison: a known client's secret,
/// or the dummy for an unknown client, a client without a secret, or a client registered for
/// another method; only then is the outcome decided.
pub fn authenticate_with<'a>(
    presented: &Presented,
    lookup: impl Fn(&str) -> Option<&'a Client>,
    mut compare: impl FnMut(&SecretDigest, &SecretDigest) -> bool,
) -> Result<&'a Client, OAuthError> {
    match presented {
        Presented::Nothing | Presented::Assertion { .. } | Presented::Bearer { .. } => {
            Err(auth_failed())
        }
        Presented::Basic { client_id, secret } | Presented::Post { client_id, secret } => {
            let method = if matches!(presented, Presented::Basic { .. }) {
                AuthMethod::ClientSecretBasic
            } else {
                AuthMethod::ClientSecretPost
            };
            let client = lookup(client_id);
            // The registered digest (kept since registration) or the dummy: either way one
            // hash per request, of the presented secret.
            let expected = client
                .and_then(Client::expected_digest)
                .unwrap_or_else(dummy_digest);
            let secret_ok = compare(&expected, &secret_digest(secret));
            match client {
                Some(c) if c.auth_method == method && c.secret.is_some() && secret_ok => Ok(c),
                _ => Err(auth_failed()),
            }
        }
        Presented::PublicId { client_id } => match lookup(client_id) {
            Some(client) if client.auth_method == AuthMethod::None => Ok(client),
            _ => Err(auth_failed()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::ServerConfig;
    use axum::http::HeaderValue;

    #[test]
    fn broken_basic_headers_are_invalid_client() {
        for raw in ["Basic !!!", "Basic Y2xpZW50", "Basic /w=="] {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(raw).unwrap());
            let err = presented_credentials(&h, &Form::default()).unwrap_err();
            assert_eq!(err.code, "invalid_client", "{raw}");
        }
    }

    #[test]
    fn basic_and_body_secret_together_is_invalid_request() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic YTpi"),
        );
        let form = Form::parse_urlencoded(b"client_id=a&client_secret=b", false).unwrap();
        assert_eq!(
            presented_credentials(&h, &form).unwrap_err().code,
            "invalid_request"
        );
        let form = Form::parse_urlencoded(b"client_assertion=x.y.z", false).unwrap();
        assert_eq!(
            presented_credentials(&h, &form).unwrap_err().code,
            "invalid_request"
        );
    }

    #[test]
    fn assertions_and_bearer_tokens_are_presented_as_such() {
        let form = Form::parse_urlencoded(
            format!("client_assertion=a.b.c&client_assertion_type={JWT_BEARER}&client_id=x")
                .as_bytes(),
            false,
        )
        .unwrap();
        assert_eq!(
            presented_credentials(&HeaderMap::new(), &form).unwrap(),
            Presented::Assertion {
                jwt: "a.b.c".into(),
                typed: true,
                client_id: Some("x".into())
            }
        );
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer tok"),
        );
        assert_eq!(
            presented_credentials(&h, &Form::default()).unwrap(),
            Presented::Bearer {
                token: "tok".into()
            }
        );
    }

    fn demo_clients() -> Vec<Client> {
        ServerConfig::demo().clients
    }

    /// Runs `authenticate_with`, recording every comparison it makes.
    fn attempt(
        presented: &Presented,
    ) -> (
        Result<String, OAuthError>,
        Vec<(SecretDigest, SecretDigest)>,
    ) {
        let clients = demo_clients();
        let mut compared = Vec::new();
        let result = authenticate_with(
            presented,
            |id| clients.iter().find(|c| c.id == id),
            |a, b| {
                compared.push((*a, *b));
                digests_match(a, b)
            },
        )
        .map(|c| c.id.clone());
        (result, compared)
    }

    fn basic(id: &str, secret: &str) -> Presented {
        Presented::Basic {
            client_id: id.into(),
            secret: secret.into(),
        }
    }

    fn post(id: &str, secret: &str) -> Presented {
        Presented::Post {
            client_id: id.into(),
            secret: secret.into(),
        }
    }

    #[test]
    fn every_secret_is_compared_once_known_client_or_not() {
        let (ok, compared) = attempt(&basic("client-a", "secret-a"));
        assert_eq!(ok.unwrap(), "client-a");
        assert_eq!(
            compared,
            vec![(secret_digest("secret-a"), secret_digest("secret-a"))]
        );
        // Unknown client, wrong method, public client with a secret: one comparison each,
        // against the dummy digest or the real one, never skipped.
        for (presented, expected) in [
            (basic("nobody", "secret-a"), dummy_digest()),
            (post("client-a", "secret-a"), secret_digest("secret-a")),
            (basic("client-b", "secret-b"), secret_digest("secret-b")),
            (post("public-client", "x"), dummy_digest()),
            (basic("client-a", "wrong"), secret_digest("secret-a")),
        ] {
            let (result, compared) = attempt(&presented);
            let err = result.unwrap_err();
            assert_eq!(err.description, CLIENT_AUTH_FAILED, "{presented:?}");
            assert_eq!(compared.len(), 1, "{presented:?}");
            assert_eq!(compared[0].0, expected, "{presented:?}");
        }
    }

    #[test]
    fn every_failure_reads_the_same() {
        let attempts = [
            Presented::Nothing,
            Presented::PublicId {
                client_id: "client-a".into(),
            },
            Presented::PublicId {
                client_id: "nobody".into(),
            },
            basic("nobody", "x"),
            basic("client-a", "wrong"),
            basic("client-b", "secret-b"),
            post("client-a", "secret-a"),
        ];
        for presented in attempts {
            let err = attempt(&presented).0.unwrap_err();
            assert_eq!(
                (
                    err.status.as_u16(),
                    err.code,
                    err.description.as_ref(),
                    err.challenge
                ),
                (401, "invalid_client", CLIENT_AUTH_FAILED, true),
                "{presented:?}"
            );
        }
        for raw in ["Basic !!!", "Basic Y2xpZW50", "Basic /w=="] {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(raw).unwrap());
            let err = presented_credentials(&h, &Form::default()).unwrap_err();
            assert_eq!(err.description, CLIENT_AUTH_FAILED, "{raw}");
        }
    }
}
