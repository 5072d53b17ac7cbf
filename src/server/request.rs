//! Reading OAuth requests by hand: the form body and client authentication.
//!
//! axum's stock `Form` extractor answers 415/422 where RFC 6749 wants 400 `invalid_request`,
//! so bodies are read here with a size limit, decoded strictly (bad percent-encoding and
//! non-UTF-8 are errors, a repeated parameter is an error) and every failure is an
//! [`OAuthError`]. Client authentication follows Janssen: each client authenticates only with
//! the method it is registered for; secrets are compared as fixed-length digests in constant
//! time, and every failure reads the same ([`CLIENT_AUTH_FAILED`]).

use super::config::{AuthMethod, Client};
use super::error::OAuthError;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
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
///
/// Kept as a list sorted by name (a request holds a handful of parameters: a list costs fewer
/// allocations than a map, and sorting finds repeats in O(n log n) however many are sent).
/// The body is checked as UTF-8 once and kept; a name or value that needs no decoding (no `%`,
/// no `+`: nearly all of them) is a span of it, so parsing a form costs two allocations
/// whatever it holds.
#[derive(Debug, Default, Clone)]
pub struct Form {
    source: String,
    params: Vec<(Text, Text)>,
}

/// A name or value of a form: a span of its source, or decoded.
#[derive(Debug, Clone)]
enum Text {
    Span(usize, usize),
    Decoded(String),
}

impl Text {
    fn in_source<'a>(&'a self, source: &'a str) -> &'a str {
        match self {
            // Spans end at ASCII separators: always character boundaries.
            Text::Span(start, end) => source.get(*start..*end).unwrap_or_default(),
            Text::Decoded(s) => s,
        }
    }
}

impl Form {
    fn name(&self, i: usize) -> &str {
        self.params[i].0.in_source(&self.source)
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.params
            .binary_search_by(|(k, _)| k.in_source(&self.source).cmp(name))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name)
            .ok()
            .map(|i| self.params[i].1.in_source(&self.source))
    }

    /// The parameter, treating an empty value as absent (RFC 6749 3.1).
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// Removes a parameter.
    pub fn remove(&mut self, name: &str) {
        if let Ok(i) = self.position(name) {
            self.params.remove(i);
        }
    }

    /// Keeps only the named parameters.
    pub fn retain(&mut self, names: &[&str]) {
        let source = &self.source;
        self.params
            .retain(|(k, _)| names.contains(&k.in_source(source)));
    }

    /// This form, with the parameters of `other` that it lacks.
    pub fn merged_with(mut self, other: &Form) -> Form {
        for i in 0..other.params.len() {
            let name = other.name(i);
            if let Err(at) = self.position(name) {
                let value = other.params[i].1.in_source(&other.source).to_owned();
                self.params
                    .insert(at, (Text::Decoded(name.to_owned()), Text::Decoded(value)));
            }
        }
        self
    }

    /// Parses a form body. `allow_repeats` keeps the first value of a repeated parameter
    /// (only used by the `duplicate-param-accepted` fault).
    pub fn parse(
        headers: &HeaderMap,
        body: Bytes,
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
        // Takes the body's buffer without a copy when it is not shared.
        Self::parse_owned(Vec::from(body), allow_repeats)
    }

    /// Parses `a=b&c=d` strictly.
    pub fn parse_urlencoded(body: &[u8], allow_repeats: bool) -> Result<Self, OAuthError> {
        Self::parse_owned(body.to_vec(), allow_repeats)
    }

    fn parse_owned(body: Vec<u8>, allow_repeats: bool) -> Result<Self, OAuthError> {
        // A raw byte that is not UTF-8 stays in whatever component holds it: the body is
        // refused either way.
        let source = String::from_utf8(body).map_err(|_| not_utf8())?;
        let mut params = Vec::new();
        let mut start = 0;
        for pair in source.as_bytes().split(|b| *b == b'&') {
            let end = start + pair.len();
            if !pair.is_empty() {
                let eq = pair.iter().position(|b| *b == b'=');
                let (name, value) = match eq {
                    Some(eq) => ((start, start + eq), (start + eq + 1, end)),
                    None => ((start, end), (end, end)),
                };
                let name = text(&source, name)?;
                if name.in_source(&source).is_empty() {
                    return Err(OAuthError::invalid_request("a form parameter has no name"));
                }
                params.push((name, text(&source, value)?));
            }
            start = end + 1;
        }
        // A stable sort keeps a repeated parameter's first value first.
        params.sort_by(|a: &(Text, Text), b| a.0.in_source(&source).cmp(b.0.in_source(&source)));
        let repeated = params
            .windows(2)
            .find(|w| w[0].0.in_source(&source) == w[1].0.in_source(&source));
        if let Some(w) = repeated {
            if !allow_repeats {
                return Err(OAuthError::invalid_request(format!(
                    "parameter '{}' is repeated",
                    super::error::sanitize_description(w[0].0.in_source(&source))
                )));
            }
            params
                .dedup_by(|later, first| later.0.in_source(&source) == first.0.in_source(&source));
        }
        Ok(Self { source, params })
    }
}

/// One component of a form, `start..end` of `source`: the span itself, or decoded.
fn text(source: &str, (start, end): (usize, usize)) -> Result<Text, OAuthError> {
    let raw = &source.as_bytes()[start..end];
    if raw.iter().any(|b| *b == b'%' || *b == b'+') {
        decode_component(raw).map(Text::Decoded)
    } else {
        Ok(Text::Span(start, end))
    }
}

fn not_utf8() -> OAuthError {
    OAuthError::invalid_request("the body is not UTF-8")
}

fn decode_component(raw: &[u8]) -> Result<String, OAuthError> {
    // Most values need no decoding: one check and one copy.
    if !raw.iter().any(|b| *b == b'%' || *b == b'+') {
        return std::str::from_utf8(raw)
            .map(str::to_owned)
            .map_err(|_| not_utf8());
    }
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
        .map_err(|_| not_utf8())
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

/// The one description of every failed client authentication, so that the answer never tells
/// an unknown client from a known one, a missing secret from a wrong one, or reveals the
/// method a client is registered for.
pub const CLIENT_AUTH_FAILED: &str = "client authentication failed";

/// The error of every failed client authentication (401 with the Basic challenge).
pub fn auth_failed() -> OAuthError {
    OAuthError::invalid_client(CLIENT_AUTH_FAILED)
}

/// A secret reduced to a fixed-length digest, so that comparing two takes the same time
/// whatever their lengths and wherever they differ.
pub type SecretDigest = [u8; 32];

pub fn secret_digest(secret: &str) -> SecretDigest {
    Sha256::digest(secret.as_bytes()).into()
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

/// Compares two digests in constant time (`subtle`; never `==`, which returns at the first
/// differing byte).
pub fn digests_match(expected: &SecretDigest, presented: &SecretDigest) -> bool {
    bool::from(expected.ct_eq(presented))
}

/// Compares secrets over their digests, in constant time.
pub fn secret_matches(expected: &str, presented: &str) -> bool {
    digests_match(&secret_digest(expected), &secret_digest(presented))
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
        Presented::Nothing => Err(auth_failed()),
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
        let f = Form::parse(
            &form_headers(),
            Bytes::from_static(b"token=a+b%2Fc&x="),
            false,
        )
        .unwrap();
        assert_eq!(f.get("token"), Some("a b/c"));
        assert_eq!(f.get("x"), Some(""));
        assert_eq!(f.non_empty("x"), None);
    }

    #[test]
    fn spans_and_decoded_values_sort_and_merge_alike() {
        let f = Form::parse_urlencoded(b"z=1&&a%62=two+words&m&c=%C3%A9", false).unwrap();
        assert_eq!(f.get("ab"), Some("two words"));
        assert_eq!(
            (f.get("z"), f.get("m"), f.get("c")),
            (Some("1"), Some(""), Some("é"))
        );
        assert_eq!(f.get("a"), None);
        let names: Vec<&str> = (0..f.params.len()).map(|i| f.name(i)).collect();
        assert_eq!(names, ["ab", "c", "m", "z"]);
        let mut merged = f.merged_with(&Form::parse_urlencoded(b"b=x&z=ignored", true).unwrap());
        assert_eq!((merged.get("b"), merged.get("z")), (Some("x"), Some("1")));
        merged.retain(&["b", "c"]);
        merged.remove("c");
        assert_eq!((merged.get("b"), merged.get("c")), (Some("x"), None));
        for bad in [
            &b"=x"[..],
            b"a=1&a%3D=2&a=3",
            b"a=\xff",
            b"a=%e9",
            b"token=a&tok%65n=b",
        ] {
            assert_eq!(
                Form::parse_urlencoded(bad, false).unwrap_err().code,
                "invalid_request",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rejects_repeats_bad_percent_non_utf8_and_wrong_type() {
        let h = form_headers();
        assert_eq!(
            Form::parse(&h, Bytes::from_static(b"token=a&token=b"), false)
                .unwrap_err()
                .code,
            "invalid_request"
        );
        assert_eq!(
            Form::parse(&h, Bytes::from_static(b"token=a&token=b"), true)
                .unwrap()
                .get("token"),
            Some("a")
        );
        assert!(Form::parse(&h, Bytes::from_static(b"token=%zz"), false).is_err());
        assert!(Form::parse(&h, Bytes::from_static(b"token=%ff"), false).is_err());
        let mut json = HeaderMap::new();
        json.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert_eq!(
            Form::parse(&json, Bytes::from_static(b"{}"), false)
                .unwrap_err()
                .status,
            400
        );
        assert!(Form::parse(&HeaderMap::new(), Bytes::from_static(b"token=a"), false).is_err());
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

    fn demo_clients() -> Vec<Client> {
        crate::server::config::ServerConfig::demo().clients
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

    /// Guards the one property no behaviour shows: secrets are compared with `subtle` over
    /// digests, not with `==` over the strings.
    #[test]
    fn secret_comparison_is_constant_time_over_digests() {
        let source = include_str!("request.rs");
        let body = |name: &str| {
            let start = source
                .find(&format!("pub fn {name}("))
                .unwrap_or_else(|| panic!("fn {name} not found"));
            let end = start + source[start..].find("\n}\n").expect("end of fn");
            &source[start..end]
        };
        let digests = body("digests_match");
        assert!(digests.contains(".ct_eq("), "{digests}");
        assert!(!digests.contains("=="), "{digests}");
        let secrets = body("secret_matches");
        assert!(
            secrets.contains("digests_match(&secret_digest(expected), &secret_digest(presented))"),
            "{secrets}"
        );
        assert!(digests_match(&secret_digest("a"), &secret_digest("a")));
        assert!(!digests_match(&secret_digest("a"), &secret_digest("b")));
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(secret_matches("secret-a", "secret-a"));
        assert!(!secret_matches("secret-a", "secret-b"));
        assert!(!secret_matches("secret-a", "secret-a "));
    }
}
