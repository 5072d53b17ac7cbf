//! The form body of an OAuth request, read by hand.
//!
//! axum's stock `Form` extractor answers 415/422 where RFC 6749 wants 400 `invalid_request`,
//! and `form_urlencoded` passes a malformed `%` through. So a body is read here with a size
//! limit and decoded strictly: bad percent-encoding, non-UTF-8 and a repeated parameter are
//! errors, and every failure is an [`OAuthError`].

use crate::server::error::{sanitize_description, OAuthError};
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};

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
                    sanitize_description(w[0].0.in_source(&source))
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

/// Decodes one percent-encoded component strictly (`+` is a space; a `%` not followed by two
/// hex digits and a result that is not UTF-8 are errors).
pub(super) fn decode_component(raw: &[u8]) -> Result<String, OAuthError> {
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
}
