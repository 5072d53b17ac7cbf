//! The one HTTP client of the harness: bounded (connect and total timeouts, a cap on body
//! size, no redirects, so credentials never travel to another host), recording every exchange
//! with secrets and tokens redacted (`redact`) and bodies cut to a short excerpt, and naming
//! each transport failure precisely (refused, reset, closed, which timeout). After a few
//! consecutive transport failures of one endpoint it stops sending ("not attempted",
//! `breaker`), so a target that hangs costs a few timeouts, not one per scenario.

mod breaker;
mod client;
mod redact;

pub use crate::record::Exchange;
use crate::text as escape;
pub use client::{builder, describe, request, HttpClient, Secrets, HEADERS_CAP, HEADER_VALUE_CAP};
use redact::redact_json_members;
use serde_json::Value;
use url::Url;

/// The most bytes read of any response body.
pub const BODY_CAP: usize = 256 * 1024;
/// The most characters of a body an exchange keeps (run.json stays small).
pub const EXCERPT_CAP: usize = 4 * 1024;
/// Consecutive transport failures of one endpoint after which no more requests are sent.
pub const BREAKER_THRESHOLD: u32 = 3;

/// A request to send.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    pub method: reqwest::Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    /// Form parameters (sent as `application/x-www-form-urlencoded` when `raw_body` is None).
    pub form: Vec<(String, String)>,
    /// A body sent as is, with its content type.
    pub raw_body: Option<(String, Vec<u8>)>,
    pub basic: Option<(String, String)>,
    /// The client certificate presented on the connection (mutual TLS), if any.
    pub identity: Option<crate::sut::client::tls::TlsIdentity>,
}

impl RequestSpec {
    pub fn get(url: Url) -> Self {
        Self {
            method: reqwest::Method::GET,
            url,
            headers: vec![],
            form: vec![],
            raw_body: None,
            basic: None,
            identity: None,
        }
    }

    pub fn post_form(url: Url, form: Vec<(String, String)>) -> Self {
        Self {
            method: reqwest::Method::POST,
            form,
            ..Self::get(url)
        }
    }

    /// The encoded form body.
    pub fn encoded_form(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&self.form)
            .finish()
    }
}

/// An answer, with the body capped at [`BODY_CAP`].
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body was longer than [`BODY_CAP`] and `body` holds only its start.
    pub truncated: bool,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header (a header may be sent several times).
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The `error` member of an OAuth error answer, whatever the content type claims.
    pub fn error_code(&self) -> Option<String> {
        self.json()?.get("error")?.as_str().map(str::to_owned)
    }

    /// The start of the body for messages, on one line, escaped, with token and secret
    /// members of a JSON body redacted.
    pub fn text_snippet(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text = match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => redact_json_members(map),
            _ => text.into_owned(),
        };
        let short: String = text.chars().take(300).collect();
        let more = if short.len() < text.len() { "..." } else { "" };
        format!("{}{more}", escape::one_line(&short))
    }

    /// The answer in words for an error message: the status and an excerpt, or where a
    /// redirect points (redirects are never followed).
    pub fn describe(&self) -> String {
        if (300..400).contains(&self.status) {
            return format!(
                "HTTP {} redirecting to {} (not followed)",
                self.status,
                self.header("location")
                    .map(escape::one_line)
                    .unwrap_or_else(|| "(no Location)".into())
            );
        }
        let snippet = self.text_snippet();
        if snippet.is_empty() {
            format!("HTTP {} with an empty body", self.status)
        } else {
            format!("HTTP {}: {snippet}", self.status)
        }
    }
}

/// How the transport failed (for messages and the breaker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    ConnectTimeout,
    Timeout,
    Refused,
    Reset,
    Closed,
    Other,
}

/// The start of a body for an exchange record, marked when it was cut.
pub(crate) fn excerpt(text: &str, over_cap: bool) -> String {
    let kept: String = text.chars().take(EXCERPT_CAP).collect();
    let cut = kept.len() < text.len();
    match (cut, over_cap) {
        (false, false) => kept,
        (true, false) => format!(
            "{kept} [... {} more bytes not kept]",
            text.len() - kept.len()
        ),
        (_, true) => format!(
            "{kept} [... the body is longer than the {} KiB the harness reads]",
            BODY_CAP / 1024
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sut::profile::Timeouts;

    fn client() -> HttpClient {
        HttpClient::new(
            &Timeouts::default(),
            &Secrets {
                values: vec!["s3cret-value".into()],
                pairs: vec![],
            },
            Default::default(),
        )
        .unwrap()
    }

    #[test]
    fn snippets_hide_tokens() {
        let r = HttpResponse {
            status: 200,
            headers: vec![],
            body: br#"{"access_token":"abcdef","refresh_token":"ghijkl"}"#.to_vec(),
            truncated: false,
        };
        let s = r.text_snippet();
        assert!(!s.contains("abcdef") && !s.contains("ghijkl"), "{s}");
    }

    #[test]
    fn relabel_replaces_raw_and_encoded_values() {
        let mut e = Exchange {
            request_body: "token=a%2Fb%2Fc%2Fd".into(),
            url: "http://x/?token=a/b/c/d".into(),
            ..Default::default()
        };
        e.relabel("a/b/c/d", "<the access token>");
        assert_eq!(e.request_body, "token=<the access token>");
        assert!(e.url.ends_with("<the access token>"));
    }

    #[tokio::test]
    async fn the_breaker_stops_sending_after_consecutive_transport_failures() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let c = client();
        let url = Url::parse(&format!("http://{addr}/revoke?token=x")).unwrap();
        for _ in 0..BREAKER_THRESHOLD {
            let (_, result) = c.send(RequestSpec::get(url.clone())).await;
            assert!(result.unwrap_err().contains("connection refused"));
        }
        let why = c.unusable().expect("tripped");
        assert!(
            why.contains(&format!(
                "http://{addr}/revoke unusable (connection refused"
            )),
            "{why}"
        );
        let (exchange, result) = c.send(RequestSpec::get(url)).await;
        assert!(result.unwrap_err().starts_with("not attempted:"));
        assert_eq!(exchange.status, None);
    }

    #[test]
    fn excerpts_are_bounded_and_marked() {
        let long = "x".repeat(EXCERPT_CAP * 3);
        let kept = excerpt(&long, false);
        assert!(
            kept.len() < EXCERPT_CAP + 100 && kept.ends_with("more bytes not kept]"),
            "{}",
            &kept[EXCERPT_CAP..]
        );
        assert!(excerpt("short", true).contains("longer than the 256 KiB"));
        assert_eq!(excerpt("short", false), "short");
    }

    #[test]
    fn answers_are_described_on_one_escaped_line() {
        let mut r = HttpResponse {
            status: 302,
            headers: vec![(
                "Location".into(),
                "https://elsewhere.example/\u{1b}[2J".into(),
            )],
            body: vec![],
            truncated: false,
        };
        assert_eq!(
            r.describe(),
            "HTTP 302 redirecting to https://elsewhere.example/\\x1b[2J (not followed)"
        );
        r.status = 500;
        r.body = b"<h1>oops</h1>\n\x1b]0;title\x07".to_vec();
        let d = r.describe();
        assert!(
            d.starts_with("HTTP 500: <h1>oops</h1>\\n\\x1b]0;title\\x07"),
            "{d}"
        );
        r.body.clear();
        assert_eq!(r.describe(), "HTTP 500 with an empty body");
    }

    #[tokio::test]
    async fn unreachable_target_names_the_failure_quickly() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let url = Url::parse(&format!("http://{addr}/x")).unwrap();
        let (exchange, result) = client().send(RequestSpec::get(url)).await;
        assert!(result.unwrap_err().contains("connection refused"));
        assert!(exchange.error.is_some());
    }
}
