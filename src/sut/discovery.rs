//! Discovery, decided once: which metadata documents are read (the OpenID document at the
//! issuer, or the profile's `discovery` URL; the RFC 8414 metadata when the first has no
//! `revocation_endpoint`, or always for `init`), which document a member comes from (the one
//! that publishes `revocation_endpoint` first, the other filling gaps), and the endpoints the
//! harness uses (the profile's overrides first). Documents are read strictly: there (200 with
//! a JSON object within the body cap), not there (404/410), unusable or unreachable, and then
//! the reason names the URL and what came back. A member of the wrong type is named with the
//! document's URL and the type seen.

use super::http::{Exchange, HttpClient, HttpResponse, RequestSpec, BODY_CAP};
use crate::text as escape;
use serde_json::{Map, Value};
use url::Url;

/// The endpoints in use.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub revocation: Url,
    pub token: Option<Url>,
    pub introspection: Option<Url>,
    pub userinfo: Option<Url>,
    /// The OpenID discovery document.
    pub discovery: Url,
    /// The RFC 8414 authorization server metadata.
    pub metadata: Url,
}

/// The RFC 8414 metadata URL of an issuer (`/.well-known/oauth-authorization-server/PATH`).
pub fn metadata_url(issuer: &Url) -> Url {
    let mut u = issuer.clone();
    let path = format!(
        "/.well-known/oauth-authorization-server{}",
        issuer.path().trim_end_matches('/')
    );
    u.set_path(&path);
    u.set_query(None);
    u
}

/// The OpenID discovery URL of an issuer.
pub fn openid_url(issuer: &str) -> Result<Url, String> {
    let base = issuer.trim_end_matches('/');
    Url::parse(&format!("{base}/.well-known/openid-configuration")).map_err(|e| e.to_string())
}

/// When the RFC 8414 metadata is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataFallback {
    /// Only when the first document has no `revocation_endpoint`.
    WhenNeeded,
    /// Never (the profile names its discovery URL or its revocation endpoint).
    Never,
    /// Always (`init` shows both).
    Always,
}

/// What discovery read.
#[derive(Debug, Clone)]
pub struct Discovery {
    pub first_url: Url,
    pub first: Document,
    pub metadata_url: Url,
    /// `None` when it was not read.
    pub metadata: Option<Document>,
    pub exchanges: Vec<Exchange>,
}

impl Discovery {
    /// Reads the first document, then the RFC 8414 metadata as `fallback` says.
    pub async fn read(
        http: &HttpClient,
        first_url: &Url,
        metadata_url: &Url,
        fallback: MetadataFallback,
    ) -> Discovery {
        let (x, first) = fetch(http, first_url).await;
        let mut exchanges = vec![x];
        // A server that did not answer at all is not asked again on the same origin: that
        // would only double the wait for the same failure.
        let same_origin_down = matches!(first, Document::Unreachable(_))
            && first_url.origin() == metadata_url.origin();
        let needed = !same_origin_down
            && match fallback {
                MetadataFallback::Never => false,
                MetadataFallback::Always => true,
                MetadataFallback::WhenNeeded => first
                    .found()
                    .is_none_or(|d| !d.contains_key("revocation_endpoint")),
            };
        let metadata = if needed && metadata_url != first_url {
            let (x, doc) = fetch(http, metadata_url).await;
            exchanges.push(x);
            Some(doc)
        } else {
            None
        };
        Discovery {
            first_url: first_url.clone(),
            first,
            metadata_url: metadata_url.clone(),
            metadata,
            exchanges,
        }
    }

    fn documents(&self) -> [(Option<&Map<String, Value>>, &Url); 2] {
        let first = (self.first.found(), &self.first_url);
        let second = (
            self.metadata.as_ref().and_then(Document::found),
            &self.metadata_url,
        );
        if first
            .0
            .is_some_and(|d| d.contains_key("revocation_endpoint"))
        {
            [first, second]
        } else {
            [second, first]
        }
    }

    /// A member as revspec uses it, and the URL of the document it comes from: the document
    /// that publishes `revocation_endpoint` first (the OpenID one when both do), the other
    /// filling what it lacks.
    pub fn member(&self, key: &str) -> Option<(&Value, &Url)> {
        self.documents()
            .into_iter()
            .find_map(|(doc, url)| doc.and_then(|d| d.get(key)).map(|v| (v, url)))
    }

    /// Every member, merged by the same rule as [`Discovery::member`] (None: no document).
    pub fn merged(&self) -> Option<Map<String, Value>> {
        let [(a, _), (b, _)] = self.documents();
        if a.is_none() && b.is_none() {
            return None;
        }
        let mut merged = a.cloned().unwrap_or_default();
        for (k, v) in b.cloned().unwrap_or_default() {
            merged.entry(k).or_insert(v);
        }
        Some(merged)
    }

    /// What each URL tried answered, for error messages: documents without a revocation
    /// endpoint, missing ones, unusable ones.
    pub fn tried(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (url, doc) in [
            (&self.first_url, Some(&self.first)),
            (&self.metadata_url, self.metadata.as_ref()),
        ] {
            match doc {
                Some(Document::Found(d)) if !d.contains_key("revocation_endpoint") => {
                    out.push(format!("{url}: no revocation_endpoint"))
                }
                Some(Document::Found(_)) | None => {}
                Some(Document::Missing(w) | Document::Unusable(w) | Document::Unreachable(w)) => {
                    out.push(w.clone())
                }
            }
        }
        out
    }

    /// An http(s) URL member (see [`url_member`]), named with its document's URL.
    pub fn url(&self, key: &str) -> Result<Option<Url>, String> {
        match self.member(key) {
            None => Ok(None),
            Some((_, from)) => {
                let mut one = Map::new();
                if let Some((v, _)) = self.member(key) {
                    one.insert(key.to_owned(), v.clone());
                }
                url_member(&one, key, from.as_str())
            }
        }
    }
}

/// A metadata document as fetched.
#[derive(Debug, Clone)]
pub enum Document {
    Found(Map<String, Value>),
    /// Not there: what the URL answered (404 or 410).
    Missing(String),
    /// There, but unusable: the URL and what came back.
    Unusable(String),
    /// No answer at all (refused, reset, timed out): the URL and the transport failure.
    Unreachable(String),
}

impl Document {
    /// The document, when there is one.
    pub fn found(&self) -> Option<&Map<String, Value>> {
        match self {
            Document::Found(d) => Some(d),
            _ => None,
        }
    }
}

/// Fetches a document; the exchange is returned for the record.
pub async fn fetch(http: &HttpClient, url: &Url) -> (Exchange, Document) {
    let (exchange, answer) = http.send(RequestSpec::get(url.clone())).await;
    let document = match answer {
        Err(e) => Document::Unreachable(format!("{url}: {e}")),
        Ok(a) => classify(url, &a),
    };
    (exchange, document)
}

fn classify(url: &Url, answer: &HttpResponse) -> Document {
    match answer.status {
        200 if answer.truncated => Document::Unusable(format!(
            "{url}: the document is larger than the {} KiB the harness reads",
            BODY_CAP / 1024
        )),
        200 => match answer.json() {
            Some(Value::Object(map)) => Document::Found(map),
            Some(other) => Document::Unusable(format!(
                "{url}: answered 200 with JSON that is {}, not an object",
                type_name(&other)
            )),
            None => Document::Unusable(format!(
                "{url}: answered 200 with a body that is not JSON: {}",
                answer.text_snippet()
            )),
        },
        404 | 410 => Document::Missing(format!("{url}: HTTP {}", answer.status)),
        _ => Document::Unusable(format!("{url}: {}", answer.describe())),
    }
}

/// The JSON type of a value, in words.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An http(s) URL member of a document: `Ok(None)` when absent, `Err` naming the member, the
/// document and what it holds instead.
pub fn url_member(
    doc: &Map<String, Value>,
    key: &str,
    source: &str,
) -> Result<Option<Url>, String> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => match Url::parse(s) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(Some(u)),
            _ => Err(format!(
                "{source}: {key} is {:?}, not an absolute http(s) URL",
                escape::one_line(s)
            )),
        },
        Some(other) => Err(format!(
            "{source}: {key} is {} ({}), not a URL string",
            type_name(other),
            escape::one_line(&other.to_string().chars().take(80).collect::<String>())
        )),
    }
}

/// A string member of a JSON answer: `Err` names the member and the type seen.
pub fn string_member(doc: &Value, key: &str, source: &str) -> Result<Option<String>, String> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!(
            "{source}: `{key}` is {}, not a string",
            type_name(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn found(v: serde_json::Value) -> Document {
        Document::Found(v.as_object().unwrap().clone())
    }

    #[test]
    fn the_document_that_publishes_the_revocation_endpoint_wins_and_the_other_fills_gaps() {
        let first = Url::parse("http://a/.well-known/openid-configuration").unwrap();
        let meta = Url::parse("http://a/.well-known/oauth-authorization-server").unwrap();
        let d = Discovery {
            first_url: first.clone(),
            first: found(
                json!({"userinfo_endpoint": "http://a/u", "token_endpoint": "http://a/t1"}),
            ),
            metadata_url: meta.clone(),
            metadata: Some(found(
                json!({"revocation_endpoint": "http://a/r", "token_endpoint": "http://a/t2"}),
            )),
            exchanges: vec![],
        };
        assert_eq!(
            d.member("token_endpoint").unwrap(),
            (&json!("http://a/t2"), &meta)
        );
        assert_eq!(d.member("userinfo_endpoint").unwrap().1, &first);
        let merged = d.merged().unwrap();
        assert_eq!(merged["token_endpoint"], "http://a/t2");
        assert_eq!(merged["userinfo_endpoint"], "http://a/u");
        let e = Discovery {
            metadata: Some(found(json!({"revocation_endpoint": 7}))),
            ..d
        }
        .url("revocation_endpoint")
        .unwrap_err();
        assert!(
            e.starts_with(meta.as_str()) && e.contains("a number (7)"),
            "{e}"
        );
    }

    fn answer(status: u16, body: &str, truncated: bool) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("location".into(), "https://other.example/x".into())],
            body: body.as_bytes().to_vec(),
            truncated,
        }
    }

    #[test]
    fn documents_are_found_missing_or_unusable_with_the_reason() {
        let url = Url::parse("http://127.0.0.1:1/.well-known/openid-configuration").unwrap();
        assert!(matches!(
            classify(&url, &answer(200, r#"{"a":1}"#, false)),
            Document::Found(_)
        ));
        assert!(matches!(
            classify(&url, &answer(404, "", false)),
            Document::Missing(_)
        ));
        let why = |a| match classify(&url, &a) {
            Document::Unusable(w) => w,
            other => panic!("{other:?}"),
        };
        assert!(why(answer(200, "<html>", false)).contains("not JSON"));
        assert!(why(answer(200, "[1]", false)).contains("an array, not an object"));
        assert!(why(answer(200, "{}", true)).contains("larger than the 256 KiB"));
        assert!(why(answer(302, "", false))
            .contains("redirecting to https://other.example/x (not followed)"));
        assert!(why(answer(503, "down", false)).contains("HTTP 503: down"));
        assert!(why(answer(200, "<html>", false)).starts_with(url.as_str()));
    }

    #[test]
    fn members_of_the_wrong_type_are_named() {
        let doc = json!({"revocation_endpoint": 42, "token_endpoint": "not a url", "userinfo_endpoint": "ftp://x/y", "ok": "https://a.example/r"});
        let doc = doc.as_object().unwrap();
        assert!(url_member(doc, "revocation_endpoint", "d")
            .unwrap_err()
            .contains("revocation_endpoint is a number (42)"));
        assert!(url_member(doc, "token_endpoint", "d")
            .unwrap_err()
            .contains("not an absolute http(s) URL"));
        assert!(url_member(doc, "userinfo_endpoint", "d").is_err());
        assert!(url_member(doc, "absent", "d").unwrap().is_none());
        assert_eq!(
            url_member(doc, "ok", "d").unwrap().unwrap().as_str(),
            "https://a.example/r"
        );
        let answer = json!({"access_token": 7});
        assert!(string_member(&answer, "access_token", "u")
            .unwrap_err()
            .contains("`access_token` is a number"));
    }
}
