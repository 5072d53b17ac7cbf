//! The one HTTP client of the harness: bounded (connect and total timeouts, a cap on body
//! size, no redirects, so credentials never travel to another host), recording every exchange
//! with secrets and tokens redacted and bodies cut to a short excerpt, and naming each
//! transport failure precisely (refused, reset, closed, which timeout). After a few
//! consecutive transport failures of one endpoint it stops sending ("not attempted"), so a
//! target that hangs costs a few timeouts, not one per scenario.

use super::profile::Timeouts;
use super::TargetError;
use crate::report::escape;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
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

/// One recorded request and answer, redacted.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: String,
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: String,
    pub error: Option<String>,
    pub elapsed_ms: f64,
}

impl Exchange {
    pub fn not_sent(what: &str) -> Self {
        Self {
            method: "-".into(),
            url: "-".into(),
            error: Some(format!("{what}: not sent")),
            ..Default::default()
        }
    }

    /// Replaces every occurrence of a value by a label (used to name tokens in reports).
    pub fn relabel(&mut self, value: &str, label: &str) {
        if value.len() < 6 {
            return;
        }
        let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        for text in [
            &mut self.url,
            &mut self.request_body,
            &mut self.response_body,
        ] {
            *text = text.replace(value, label).replace(&encoded, label);
        }
        for (_, v) in self
            .request_headers
            .iter_mut()
            .chain(self.response_headers.iter_mut())
        {
            *v = v.replace(value, label);
        }
    }

    /// A short human rendering.
    pub fn render(&self) -> String {
        let mut out = format!(
            "    > {} {}\n",
            escape::one_line(&self.method),
            escape::one_line(&self.url)
        );
        for (n, v) in &self.request_headers {
            out.push_str(&format!(
                "    > {}: {}\n",
                escape::one_line(n),
                escape::one_line(v)
            ));
        }
        if !self.request_body.is_empty() {
            out.push_str(&format!("    > {}\n", escape::one_line(&self.request_body)));
        }
        match (self.status, &self.error) {
            (_, Some(e)) => out.push_str(&format!("    ! {}\n", escape::one_line(e))),
            (Some(s), None) => {
                out.push_str(&format!("    < {s} ({:.1} ms)\n", self.elapsed_ms));
                for (n, v) in &self.response_headers {
                    out.push_str(&format!(
                        "    < {}: {}\n",
                        escape::one_line(n),
                        escape::one_line(v)
                    ));
                }
                if !self.response_body.is_empty() {
                    let shown: String = self.response_body.chars().take(400).collect();
                    out.push_str(&format!("    < {}\n", escape::one_line(&shown)));
                }
            }
            (None, None) => {}
        }
        out
    }
}

const SENSITIVE_FORM_KEYS: &[&str] = &[
    "token",
    "client_secret",
    "password",
    "refresh_token",
    "client_assertion",
];
const SENSITIVE_JSON_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "token",
    "client_secret",
    "password",
];

fn redact_json_members(mut map: serde_json::Map<String, Value>) -> String {
    for key in SENSITIVE_JSON_KEYS {
        if let Some(v) = map.get_mut(*key) {
            if v.is_string() {
                *v = Value::String("<redacted>".into());
            }
        }
    }
    Value::Object(map).to_string()
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

/// Consecutive transport failures per endpoint, and the breaker's trip.
#[derive(Default)]
struct Health {
    consecutive: HashMap<String, u32>,
    tripped: Option<String>,
}

/// The client, with the secrets it must never show.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    secrets: Vec<String>,
    timeouts: Timeouts,
    health: Arc<Mutex<Health>>,
}

impl HttpClient {
    pub fn new(
        _origin: &Url,
        timeouts: &Timeouts,
        secrets: Vec<String>,
    ) -> Result<Self, TargetError> {
        let client = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("revspec/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TargetError::Profile(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            client,
            secrets: secrets.into_iter().filter(|s| s.len() >= 3).collect(),
            timeouts: timeouts.clone(),
            health: Arc::default(),
        })
    }

    /// Why the client stopped sending, once an endpoint failed at the transport level
    /// [`BREAKER_THRESHOLD`] times in a row: "URL unusable (cause)".
    pub fn unusable(&self) -> Option<String> {
        self.health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .tripped
            .clone()
    }

    fn note_outcome(&self, url: &Url, failure: Option<&str>) {
        let mut endpoint = url.clone();
        endpoint.set_query(None);
        let key = endpoint.to_string();
        let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        match failure {
            None => {
                health.consecutive.remove(&key);
            }
            Some(cause) => {
                let n = health.consecutive.entry(key.clone()).or_insert(0);
                *n += 1;
                if *n >= BREAKER_THRESHOLD && health.tripped.is_none() {
                    health.tripped = Some(format!("{key} unusable ({cause})"));
                }
            }
        }
    }

    /// Replaces every secret, raw or URL-encoded, with `<secret>`.
    fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            let encoded: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
            out = out
                .replace(s.as_str(), "<secret>")
                .replace(&encoded, "<secret>");
            out = out.replace(&encoded.replace('+', "%20"), "<secret>");
        }
        out
    }

    /// The URL with secret query parameters redacted (tokens stay, for relabelling).
    fn redact_url(&self, url: &Url) -> String {
        let mut url = url.clone();
        if url.query().is_some() {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let sensitive = SENSITIVE_FORM_KEYS.contains(&k.as_ref()) && k != "token";
                    (
                        k.into_owned(),
                        if sensitive {
                            "<redacted>".into()
                        } else {
                            v.into_owned()
                        },
                    )
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(&pairs);
        }
        self.scrub(url.as_str())
    }

    fn redact_form(&self, body: &str) -> String {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        if pairs.is_empty() {
            return self.scrub(body);
        }
        let redacted: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(k, v)| {
                if SENSITIVE_FORM_KEYS.contains(&k.as_str()) && !v.is_empty() && k != "token" {
                    (k, "<redacted>".to_owned())
                } else {
                    (k, v)
                }
            })
            .collect();
        // `token` values stay for relabelling by the caller; unknown ones are scrubbed below.
        self.scrub(
            &url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&redacted)
                .finish(),
        )
    }

    fn redact_json(&self, body: &str) -> String {
        match serde_json::from_str::<Value>(body) {
            Ok(Value::Object(map)) => self.scrub(&redact_json_members(map)),
            _ => self.scrub(body),
        }
    }

    fn redact_header(&self, name: &str, value: &str) -> String {
        if name.eq_ignore_ascii_case("authorization") {
            let scheme = value.split(' ').next().unwrap_or("");
            format!("{scheme} <redacted>")
        } else {
            self.scrub(value)
        }
    }

    /// Sends a request; the exchange is recorded whatever happens.
    pub async fn send(&self, spec: RequestSpec) -> (Exchange, Result<HttpResponse, String>) {
        let mut exchange = Exchange {
            method: spec.method.to_string(),
            url: self.redact_url(&spec.url),
            ..Default::default()
        };
        let mut builder = self.client.request(spec.method.clone(), spec.url.clone());
        for (name, value) in &spec.headers {
            builder = builder.header(name, value);
            exchange
                .request_headers
                .push((name.clone(), self.redact_header(name, value)));
        }
        if let Some((id, secret)) = &spec.basic {
            // RFC 6749 2.3.1: form-urlencode id and secret before Basic encoding.
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            builder = builder.basic_auth(enc(id), Some(enc(secret)));
            exchange
                .request_headers
                .push(("Authorization".into(), "Basic <redacted>".into()));
        }
        if let Some((content_type, body)) = &spec.raw_body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body.clone());
            exchange
                .request_headers
                .push(("Content-Type".into(), content_type.clone()));
            let text = String::from_utf8_lossy(body);
            exchange.request_body = if content_type.contains("json") {
                self.redact_json(&text)
            } else {
                self.redact_form(&text)
            };
        } else if spec.method == reqwest::Method::POST {
            let body = spec.encoded_form();
            builder = builder
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body.clone());
            exchange.request_headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
            exchange.request_body = self.redact_form(&body);
        }
        if let Some(why) = self.unusable() {
            let message = format!("not attempted: {why}");
            exchange.error = Some(message.clone());
            return (exchange, Err(message));
        }
        let started = Instant::now();
        let timeouts = self.timeouts.clone();
        let result = async {
            let mut response = builder
                .send()
                .await
                .map_err(|e| describe(&e, &timeouts, started))?;
            let status = response.status().as_u16();
            let headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let mut body = Vec::new();
            let mut truncated = false;
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| describe(&e, &timeouts, started))?
            {
                let room = BODY_CAP.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if chunk.len() > room {
                    truncated = true;
                    break;
                }
            }
            Ok::<_, (Transport, String)>(HttpResponse {
                status,
                headers,
                body,
                truncated,
            })
        }
        .await;
        exchange.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let result = match result {
            Ok(r) => {
                self.note_outcome(&spec.url, None);
                exchange.status = Some(r.status);
                exchange.response_headers = r
                    .headers
                    .iter()
                    .map(|(n, v)| (n.clone(), self.redact_header(n, v)))
                    .collect();
                exchange.response_body = excerpt(
                    &self.redact_json(&String::from_utf8_lossy(&r.body)),
                    r.truncated,
                );
                Ok(r)
            }
            Err((kind, message)) => {
                if kind != Transport::Other {
                    self.note_outcome(&spec.url, Some(&message));
                }
                exchange.error = Some(message.clone());
                Err(message)
            }
        };
        exchange.request_body = excerpt(&exchange.request_body, false);
        (exchange, result)
    }
}

/// The start of a body for an exchange record, marked when it was cut.
fn excerpt(text: &str, over_cap: bool) -> String {
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

fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// A transport error in words: which timeout, refused, reset or closed, with the underlying
/// cause (reqwest hides the useful part in the source chain).
fn describe(e: &reqwest::Error, timeouts: &Timeouts, started: Instant) -> (Transport, String) {
    let mut chain = Vec::new();
    let mut io_kind = None;
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            io_kind.get_or_insert(io.kind());
        }
        chain.push(s.to_string());
        source = s.source();
    }
    let text = chain.join(": ").to_ascii_lowercase();
    use std::io::ErrorKind as K;
    let (kind, what) = if e.is_timeout() && e.is_connect() {
        (
            Transport::ConnectTimeout,
            format!(
                "could not connect within {} (the connect timeout)",
                seconds(timeouts.connect)
            ),
        )
    } else if e.is_timeout() {
        (
            Transport::Timeout,
            format!(
                "no complete answer within {} (the request timeout; {} elapsed)",
                seconds(timeouts.request),
                seconds(Duration::from_millis(started.elapsed().as_millis() as u64))
            ),
        )
    } else if io_kind == Some(K::ConnectionRefused) || text.contains("connection refused") {
        (Transport::Refused, "connection refused".to_owned())
    } else if io_kind == Some(K::ConnectionReset) || text.contains("reset") {
        (
            Transport::Reset,
            "connection reset by the server".to_owned(),
        )
    } else if text.contains("incomplete")
        || text.contains("closed")
        || io_kind == Some(K::UnexpectedEof)
    {
        (
            Transport::Closed,
            "the server closed the connection before the answer was complete".to_owned(),
        )
    } else if e.is_connect() {
        (Transport::Refused, "could not connect".to_owned())
    } else if text.contains("invalid http") || text.contains("parse") {
        (Transport::Other, "the answer is not valid HTTP".to_owned())
    } else {
        (Transport::Other, "the request failed".to_owned())
    };
    let detail = if chain.is_empty() {
        String::new()
    } else {
        format!(" ({})", escape::one_line(&chain.join(": ")))
    };
    (kind, format!("{what}{detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> HttpClient {
        HttpClient::new(
            &Url::parse("http://127.0.0.1").unwrap(),
            &Timeouts::default(),
            vec!["s3cret-value".into()],
        )
        .unwrap()
    }

    #[test]
    fn secrets_and_token_fields_are_redacted() {
        let c = client();
        assert_eq!(
            c.redact_form("client_id=a&client_secret=s3cret-value&password=pw"),
            "client_id=a&client_secret=%3Credacted%3E&password=%3Credacted%3E"
        );
        let json =
            c.redact_json(r#"{"access_token":"abc","refresh_token":"def","x":"s3cret-value"}"#);
        assert!(
            !json.contains("abc") && !json.contains("def") && !json.contains("s3cret"),
            "{json}"
        );
        assert_eq!(
            c.redact_header("Authorization", "Bearer abc"),
            "Bearer <redacted>"
        );
    }

    #[test]
    fn secrets_in_urls_are_redacted_raw_or_encoded() {
        let c = HttpClient::new(
            &Url::parse("http://127.0.0.1").unwrap(),
            &Timeouts::default(),
            vec!["s3cr/et+A==".into()],
        )
        .unwrap();
        let url =
            Url::parse("http://x/r?client_id=a&client_secret=s3cr%2Fet%2BA%3D%3D&token=t").unwrap();
        let shown = c.redact_url(&url);
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(
            shown.contains("client_id=a") && shown.contains("token=t"),
            "{shown}"
        );
        assert_eq!(c.scrub("x=s3cr%2Fet%2BA%3D%3D"), "x=<secret>");
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
