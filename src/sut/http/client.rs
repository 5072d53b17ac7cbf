//! The client itself: one reqwest client per target with its timeouts, no redirects and the
//! user agent, each request recorded as a redacted [`Exchange`], and transport failures named.
//! The load tester builds its own reqwest client with [`builder`] and names its failures with
//! [`describe`], so both speak the same way.

use super::breaker::Health;
use super::redact::Redactor;
use super::{excerpt, Exchange, HttpResponse, RequestSpec, Transport, BODY_CAP};
use crate::sut::client::tls::Trust;
use crate::sut::error::TargetError;
use crate::sut::profile::Timeouts;
use crate::text as escape;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

/// The reqwest request for a spec: its headers, Basic credentials (form-urlencoded first, as
/// RFC 6749 2.3.1 says), and its body (raw with its content type, or the form of a POST).
pub fn request(client: &reqwest::Client, spec: &RequestSpec) -> reqwest::RequestBuilder {
    let mut builder = client.request(spec.method.clone(), spec.url.clone());
    for (name, value) in &spec.headers {
        builder = builder.header(name, value);
    }
    if let Some((id, secret)) = &spec.basic {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        builder = builder.basic_auth(enc(id), Some(enc(secret)));
    }
    if let Some((content_type, body)) = &spec.raw_body {
        builder = builder
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body.clone());
    } else if spec.method == reqwest::Method::POST {
        builder = builder
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(spec.encoded_form());
    }
    builder
}

/// The most bytes of one header value an exchange keeps.
pub const HEADER_VALUE_CAP: usize = 1024;
/// The most bytes of headers (names and values) an exchange keeps.
pub const HEADERS_CAP: usize = 8 * 1024;

/// Headers as an exchange keeps them: each value cut at [`HEADER_VALUE_CAP`], all of them at
/// [`HEADERS_CAP`], each cut marked, so a server padding its headers cannot bloat the record.
fn capped_headers(headers: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut used = 0;
    let mut left_out = 0;
    for (name, value) in headers {
        if left_out > 0 || used + name.len() > HEADERS_CAP {
            left_out += 1;
            continue;
        }
        let value = if value.len() > HEADER_VALUE_CAP {
            let mut cut = HEADER_VALUE_CAP;
            while !value.is_char_boundary(cut) {
                cut -= 1;
            }
            format!(
                "{} [... {} more bytes not kept]",
                &value[..cut],
                value.len() - cut
            )
        } else {
            value
        };
        used += name.len() + value.len();
        out.push((name, value));
    }
    if left_out > 0 {
        out.push((
            "x-revspec-note".into(),
            format!(
                "{left_out} more headers not kept (over the {} KiB kept per exchange)",
                HEADERS_CAP / 1024
            ),
        ));
    }
    out
}

/// A reqwest client builder bounded by the profile's timeouts, following no redirect.
pub fn builder(timeouts: &Timeouts, user_agent: &str) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.request)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent)
}

/// The client, with the secrets it must never show.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    /// One client per certificate presented (mutual TLS), built on first use.
    with_identity: Arc<Mutex<std::collections::HashMap<String, reqwest::Client>>>,
    trust: Trust,
    redactor: Redactor,
    timeouts: Timeouts,
    health: Arc<Mutex<Health>>,
}

/// What the client must never show: secret values, and the `(client id, secret)` pairs that
/// make Basic credentials.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    pub values: Vec<String>,
    pub pairs: Vec<(String, String)>,
}

const USER_AGENT: &str = concat!("revspec/", env!("CARGO_PKG_VERSION"));

impl HttpClient {
    /// A client bounded by `timeouts`, never showing `secrets`, trusting the target's
    /// certificates as `trust` says.
    pub fn new(timeouts: &Timeouts, secrets: &Secrets, trust: Trust) -> Result<Self, TargetError> {
        let client = trust
            .apply(builder(timeouts, USER_AGENT))
            .build()
            .map_err(|e| TargetError::Profile(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            client,
            with_identity: Arc::default(),
            trust,
            redactor: Redactor::new(&secrets.values, &secrets.pairs),
            timeouts: timeouts.clone(),
            health: Arc::default(),
        })
    }

    /// The reqwest client a request goes through: the plain one, or the one presenting its
    /// certificate (built once per certificate).
    pub fn reqwest_for(&self, spec: &RequestSpec) -> Result<reqwest::Client, String> {
        let Some(identity) = &spec.identity else {
            return Ok(self.client.clone());
        };
        let mut cache = self.with_identity.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.get(&identity.label) {
            return Ok(c.clone());
        }
        let client = self
            .trust
            .apply(builder(&self.timeouts, USER_AGENT))
            .identity(identity.identity.clone())
            .build()
            .map_err(|e| format!("cannot present the certificate {}: {e}", identity.label))?;
        cache.insert(identity.label.clone(), client.clone());
        Ok(client)
    }

    /// Why the client stopped sending: an endpoint failed at the transport level
    /// [`BREAKER_THRESHOLD`] times in a row ("URL unusable (cause)"), or the run's deadline
    /// passed.
    pub fn unusable(&self) -> Option<String> {
        self.health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unusable()
    }

    /// From now on, no request is sent after `allowed` has passed (the run's deadline).
    pub fn set_deadline(&self, allowed: std::time::Duration) {
        self.health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .set_deadline(allowed);
    }

    fn note_outcome(&self, url: &Url, failure: Option<&str>) {
        self.health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .note(url, failure);
    }

    /// Sends a request; the exchange is recorded whatever happens.
    pub async fn send(&self, spec: RequestSpec) -> (Exchange, Result<HttpResponse, String>) {
        let mut exchange = Exchange {
            method: spec.method.to_string(),
            url: self.redactor.redact_url(&spec.url),
            ..Default::default()
        };
        let client = match self.reqwest_for(&spec) {
            Ok(c) => c,
            Err(e) => {
                exchange.error = Some(e.clone());
                return (exchange, Err(e));
            }
        };
        let builder = request(&client, &spec);
        if let Some(identity) = &spec.identity {
            exchange
                .request_headers
                .push(("(TLS client certificate)".into(), identity.label.clone()));
        }
        for (name, value) in &spec.headers {
            exchange
                .request_headers
                .push((name.clone(), self.redactor.redact_header(name, value)));
        }
        if spec.basic.is_some() {
            exchange
                .request_headers
                .push(("Authorization".into(), "Basic <redacted>".into()));
        }
        if let Some((content_type, body)) = &spec.raw_body {
            exchange
                .request_headers
                .push(("Content-Type".into(), content_type.clone()));
            let text = String::from_utf8_lossy(body);
            exchange.request_body = if content_type.contains("json") {
                self.redactor.redact_json(&text)
            } else {
                self.redactor.redact_form(&text)
            };
        } else if spec.method == reqwest::Method::POST {
            let body = spec.encoded_form();
            exchange.request_headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
            exchange.request_body = self.redactor.redact_form(&body);
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
            Ok(mut r) => {
                self.note_outcome(&spec.url, None);
                // What the harness reads back never holds its own secrets: a server that
                // echoes them cannot get them into a message, a check or a record.
                if let Ok(text) = std::str::from_utf8(&r.body) {
                    let scrubbed = self.redactor.scrub(text);
                    if scrubbed != text {
                        r.body = scrubbed.into_bytes();
                    }
                }
                for (_, v) in r.headers.iter_mut() {
                    *v = self.redactor.scrub(v);
                }
                exchange.status = Some(r.status);
                exchange.response_headers = capped_headers(
                    r.headers
                        .iter()
                        .map(|(n, v)| (n.clone(), self.redactor.redact_header(n, v))),
                );
                exchange.response_body = excerpt(
                    &self.redactor.redact_json(&String::from_utf8_lossy(&r.body)),
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

fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// A transport error in words: which timeout, refused, reset or closed, with the underlying
/// cause (reqwest hides the useful part in the source chain).
pub fn describe(e: &reqwest::Error, timeouts: &Timeouts, started: Instant) -> (Transport, String) {
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
    } else if text.contains("unknownissuer")
        || text.contains("invalid peer certificate")
        || text.contains("certificate not valid")
        || text.contains("notvalidforname")
    {
        (
            Transport::Other,
            "the TLS handshake failed: the server's certificate is not trusted for this URL (give the CA that issued it in [tls] ca_file)".to_owned(),
        )
    } else if text.contains("certificate required") || text.contains("handshake") {
        (Transport::Other, "the TLS handshake failed".to_owned())
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
