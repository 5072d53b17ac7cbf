//! Reading OAuth requests by hand: the form body and client authentication.
//!
//! axum's stock `Form` extractor answers 415/422 where RFC 6749 wants 400 `invalid_request`,
//! so bodies are read here with a size limit, decoded strictly (bad percent-encoding and
//! non-UTF-8 are errors, a repeated parameter is an error) and every failure is an
//! [`OAuthError`]. Client authentication follows Janssen: each client authenticates only with
//! the method it is registered for; secrets are compared in constant time.

use super::config::{AuthMethod, Client};
use super::error::OAuthError;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use base64::Engine as _;
use std::collections::HashMap;
use subtle::ConstantTimeEq;

/// The largest request body the server reads (a larger one is answered 413).
pub const BODY_LIMIT: usize = 64 * 1024;

/// Reads a body of at most [`BODY_LIMIT`] bytes.
pub async fn read_body(body: Body) -> Result<Bytes, OAuthError> {
    axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| OAuthError::payload_too_large(BODY_LIMIT))
}

/// A decoded `application/x-www-form-urlencoded` body in which every parameter occurs once.
#[derive(Debug, Default, Clone)]
pub struct Form {
    params: HashMap<String, String>,
}

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// The parameter, treating an empty value as absent (RFC 6749 3.1).
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// Removes a parameter.
    pub fn remove(&mut self, name: &str) {
        self.params.remove(name);
    }

    /// This form, with the parameters of `other` that it lacks.
    pub fn merged_with(mut self, other: &Form) -> Form {
        for (k, v) in &other.params {
            self.params.entry(k.clone()).or_insert_with(|| v.clone());
        }
        self
    }

    /// Parses a form body. `allow_repeats` keeps the first value of a repeated parameter
    /// (only used by the `duplicate-param-accepted` fault).
    pub fn parse(
        headers: &HeaderMap,
        body: &[u8],
        allow_repeats: bool,
    ) -> Result<Self, OAuthError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = content_type.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        Self::parse_urlencoded(body, allow_repeats)
    }

    /// Parses `a=b&c=d` strictly.
    pub fn parse_urlencoded(body: &[u8], allow_repeats: bool) -> Result<Self, OAuthError> {
        let mut params = HashMap::new();
        for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            let mut parts = pair.splitn(2, |b| *b == b'=');
            let name = decode_component(parts.next().unwrap_or_default())?;
            let value = decode_component(parts.next().unwrap_or_default())?;
            if name.is_empty() {
                return Err(OAuthError::invalid_request("a form parameter has no name"));
            }
            if params.contains_key(&name) {
                if allow_repeats {
                    continue;
                }
                return Err(OAuthError::invalid_request(format!(
                    "parameter '{}' is repeated",
                    super::error::sanitize_description(&name)
                )));
            }
            params.insert(name, value);
        }
        Ok(Self { params })
    }
}

fn decode_component(raw: &[u8]) -> Result<String, OAuthError> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    // Reject '%' not followed by two hex digits: percent_decode would pass it through.
    let mut i = 0;
    while i < plus_as_space.len() {
        if plus_as_space[i] == b'%' {
            let ok = plus_as_space
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
            if !ok {
                return Err(OAuthError::invalid_request(
                    "malformed percent-encoding in the body",
                ));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    percent_encoding::percent_decode(&plus_as_space)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| OAuthError::invalid_request("the body is not UTF-8"))
}

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
    /// Only `client_id` (a public client, RFC 6749 2.1).
    PublicId {
        client_id: String,
    },
    Nothing,
}

/// Extracts the credentials from the Authorization header and the form.
pub fn presented_credentials(headers: &HeaderMap, form: &Form) -> Result<Presented, OAuthError> {
    let basic = match headers.get(header::AUTHORIZATION) {
        Some(value) => parse_basic(value.as_bytes())?,
        None => None,
    };
    let body_secret = form.get("client_secret");
    match (basic, body_secret) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "use one client authentication method, not Basic and client_secret together",
        )),
        (Some((client_id, secret)), None) => Ok(Presented::Basic { client_id, secret }),
        (None, Some(secret)) => {
            let client_id = form
                .non_empty("client_id")
                .ok_or_else(|| OAuthError::invalid_client("client_secret without client_id"))?;
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
    let text = std::str::from_utf8(value)
        .map_err(|_| OAuthError::invalid_client("the Authorization header is not UTF-8"))?;
    let (scheme, rest) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| OAuthError::invalid_client("the Basic credentials are not base64"))?;
    let decoded = String::from_utf8(decoded)
        .map_err(|_| OAuthError::invalid_client("the Basic credentials are not UTF-8"))?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| OAuthError::invalid_client("the Basic credentials have no colon"))?;
    // RFC 6749 2.3.1: id and secret are form-urlencoded before Basic encoding.
    let id = decode_component(id.as_bytes())
        .map_err(|_| OAuthError::invalid_client("bad client id encoding"))?;
    let secret = decode_component(secret.as_bytes())
        .map_err(|_| OAuthError::invalid_client("bad secret encoding"))?;
    Ok(Some((id, secret)))
}

/// Compares secrets in constant time (the length is not hidden).
pub fn secret_matches(expected: &str, presented: &str) -> bool {
    bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

/// Checks presented credentials against a client registered with its one method.
pub fn authenticate<'a>(
    presented: &Presented,
    lookup: impl Fn(&str) -> Option<&'a Client>,
) -> Result<&'a Client, OAuthError> {
    let unknown = || OAuthError::invalid_client("client authentication failed");
    match presented {
        Presented::Nothing => Err(OAuthError::invalid_client(
            "no client authentication included",
        )),
        Presented::Basic { client_id, secret } | Presented::Post { client_id, secret } => {
            let client = lookup(client_id).ok_or_else(unknown)?;
            let method = if matches!(presented, Presented::Basic { .. }) {
                AuthMethod::ClientSecretBasic
            } else {
                AuthMethod::ClientSecretPost
            };
            if client.auth_method != method {
                return Err(OAuthError::invalid_client(
                    "the client is not registered for this authentication method",
                ));
            }
            match &client.secret {
                Some(expected) if secret_matches(expected, secret) => Ok(client),
                _ => Err(unknown()),
            }
        }
        Presented::PublicId { client_id } => match lookup(client_id) {
            Some(client) if client.auth_method == AuthMethod::None => Ok(client),
            Some(_) => Err(OAuthError::invalid_client(
                "a confidential client must authenticate",
            )),
            None => Err(unknown()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn form_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        h
    }

    #[test]
    fn parses_plus_and_percent() {
        let f = Form::parse(&form_headers(), b"token=a+b%2Fc&x=", false).unwrap();
        assert_eq!(f.get("token"), Some("a b/c"));
        assert_eq!(f.get("x"), Some(""));
        assert_eq!(f.non_empty("x"), None);
    }

    #[test]
    fn rejects_repeats_bad_percent_non_utf8_and_wrong_type() {
        let h = form_headers();
        assert_eq!(
            Form::parse(&h, b"token=a&token=b", false).unwrap_err().code,
            "invalid_request"
        );
        assert_eq!(
            Form::parse(&h, b"token=a&token=b", true)
                .unwrap()
                .get("token"),
            Some("a")
        );
        assert!(Form::parse(&h, b"token=%zz", false).is_err());
        assert!(Form::parse(&h, b"token=%ff", false).is_err());
        let mut json = HeaderMap::new();
        json.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert_eq!(Form::parse(&json, b"{}", false).unwrap_err().status, 400);
        assert!(Form::parse(&HeaderMap::new(), b"token=a", false).is_err());
    }

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
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(secret_matches("secret-a", "secret-a"));
        assert!(!secret_matches("secret-a", "secret-b"));
        assert!(!secret_matches("secret-a", "secret-a "));
    }
}
