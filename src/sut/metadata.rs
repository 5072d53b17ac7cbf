//! Reading a server's metadata documents (OpenID discovery, RFC 8414) and its JSON answers
//! strictly: a document is there (200 with a JSON object within the body cap), not there
//! (404/410), or unusable, and then the reason names the URL and what came back (a transport
//! failure, a status, a redirect, a body that is not JSON or is too large). A member of the
//! wrong type is named with the type seen.

use super::http::{HttpClient, HttpResponse, RequestSpec, BODY_CAP};
use crate::report::escape;
use serde_json::{Map, Value};
use url::Url;

/// A metadata document as fetched.
#[derive(Debug, Clone)]
pub enum Document {
    Found(Map<String, Value>),
    /// Not there: what the URL answered (404 or 410).
    Missing(String),
    /// There, but unusable: the URL and what came back.
    Unusable(String),
}

/// Fetches a document; the exchange is returned for the record.
pub async fn fetch(http: &HttpClient, url: &Url) -> (super::http::Exchange, Document) {
    let (exchange, answer) = http.send(RequestSpec::get(url.clone())).await;
    let document = match answer {
        Err(e) => Document::Unusable(format!("{url}: {e}")),
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
