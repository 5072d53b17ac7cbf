//! An odd server: the reference server behind a proxy that makes it behave the way some real
//! servers do, one oddity at a time, so the harness can be tested on servers it was not written
//! against. The proxy learns which value is an access or a refresh token, of which grant and
//! client, from the token endpoint's answers, then bends the answers the oddities name. Each
//! test starts its own on 127.0.0.1 port 0 and stops it.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// How the server differs from the reference server (all off: the same).
#[derive(Debug, Clone, Copy, Default)]
pub struct Oddities {
    /// Introspection calls a refresh token inactive unless `token_type_hint=refresh_token`
    /// is sent (access tokens are read correctly).
    pub introspect_refresh_needs_hint: bool,
    /// Once a grant's access token was revoked, introspection calls its refresh token
    /// inactive, while the refresh grant with it still works.
    pub introspect_refresh_dies_with_access: bool,
    /// A refresh token is revoked only with `token_type_hint=refresh_token`; without it the
    /// answer is 200 and nothing is revoked.
    pub revoke_refresh_needs_hint: bool,
    /// Access tokens are never revoked: 400 `unsupported_token_type` (RFC 7009 2.2.1).
    pub refuse_access_revocation: bool,
    /// The public client gets no refresh token (RFC 6749 lets a server decide so).
    pub public_client_no_refresh: bool,
    /// Revoking an access token leaves its grant's refresh token alive (RFC 7009 2.1 lets a
    /// server decide so; the reference server runs with its `no-cascade-at` fault, which breaks
    /// only Janssen rules).
    pub no_cascade_from_access: bool,
    /// Every refresh rotates the refresh token (so a plain refresh grant is destructive).
    pub rotate_refresh: bool,
    /// Introspection calls every refresh token it issued active, revoked or not (a stale
    /// cache in front of it); never-issued values still read inactive.
    pub introspect_refresh_stale: bool,
}

#[derive(Debug, Clone)]
struct Known {
    refresh: bool,
    grant: u64,
}

#[derive(Default)]
struct State {
    tokens: HashMap<String, Known>,
    access_revoked_grants: HashSet<u64>,
    next_grant: u64,
}

/// A running odd server.
pub struct Odd {
    pub base_url: String,
    upstream: Option<revspec::server::RunningServer>,
    task: tokio::task::JoinHandle<()>,
}

impl Odd {
    pub async fn stop(mut self) {
        self.task.abort();
        if let Some(up) = self.upstream.take() {
            up.shutdown().await;
        }
    }
}

pub async fn start(odd: Oddities) -> Odd {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let mut config = revspec::server::config::ServerConfig::demo();
    config.issuer = Some(base_url.clone());
    config.settings.refresh_token_rotation = odd.rotate_refresh;
    let fault = odd
        .no_cascade_from_access
        .then_some(revspec::faults::Fault::NoCascadeAt);
    let options = revspec::server::ServeOptions {
        config: Some(config),
        ..revspec::reference::options(fault)
    };
    let upstream = revspec::server::spawn("127.0.0.1:0".parse().unwrap(), &options)
        .await
        .unwrap();
    let shared = Arc::new(Proxy {
        odd,
        upstream: upstream.base_url.clone(),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        state: Mutex::new(State::default()),
    });
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let proxy = shared.clone();
            async move { proxy.handle(method, uri, headers, body).await }
        },
    );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Odd {
        base_url,
        upstream: Some(upstream),
        task,
    }
}

struct Proxy {
    odd: Oddities,
    upstream: String,
    client: reqwest::Client,
    state: Mutex<State>,
}

fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// The client of a request: its Basic user, else its `client_id` member.
fn client_of(headers: &HeaderMap, form: &HashMap<String, String>) -> Option<String> {
    use base64::Engine as _;
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|d| String::from_utf8(d).ok())
        .and_then(|s| s.split_once(':').map(|(id, _)| id.to_owned()));
    basic.or_else(|| form.get("client_id").cloned())
}

fn json(status: StatusCode, value: serde_json::Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        value.to_string(),
    )
        .into_response()
}

impl Proxy {
    fn known(&self, token: Option<&String>) -> Option<Known> {
        let state = self.state.lock().unwrap();
        token.and_then(|t| state.tokens.get(t).cloned())
    }

    async fn handle(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let path = uri.path().to_owned();
        let f = form(&body);
        let token = f.get("token");
        let hint = f.get("token_type_hint").map(String::as_str);
        let known = self.known(token);
        if path.ends_with("/introspection") {
            if let Some(k) = known.as_ref().filter(|k| k.refresh) {
                let dead_by_hint =
                    self.odd.introspect_refresh_needs_hint && hint != Some("refresh_token");
                let dead_with_access = self.odd.introspect_refresh_dies_with_access
                    && self
                        .state
                        .lock()
                        .unwrap()
                        .access_revoked_grants
                        .contains(&k.grant);
                if dead_by_hint || dead_with_access {
                    return json(StatusCode::OK, serde_json::json!({"active": false}));
                }
                if self.odd.introspect_refresh_stale {
                    return json(
                        StatusCode::OK,
                        serde_json::json!({"active": true, "token_type": "refresh_token"}),
                    );
                }
            }
        }
        if path.ends_with("/revoke") && method == Method::POST {
            match &known {
                Some(k)
                    if k.refresh
                        && self.odd.revoke_refresh_needs_hint
                        && hint != Some("refresh_token") =>
                {
                    return (
                        StatusCode::OK,
                        [("cache-control", "no-store"), ("pragma", "no-cache")],
                        "",
                    )
                        .into_response();
                }
                Some(k) if !k.refresh && self.odd.refuse_access_revocation => {
                    return json(
                        StatusCode::BAD_REQUEST,
                        serde_json::json!({"error": "unsupported_token_type", "error_description": "access tokens are not revoked"}),
                    );
                }
                _ => {}
            }
        }
        let url = format!(
            "{}{}",
            self.upstream,
            uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
        );
        let mut request = self.client.request(method.clone(), &url);
        for (name, value) in &headers {
            if !matches!(name.as_str(), "host" | "connection" | "content-length") {
                request = request.header(name, value);
            }
        }
        let answer = match request.body(body.clone()).send().await {
            Ok(a) => a,
            Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
        };
        let status = answer.status();
        let mut out_headers = HeaderMap::new();
        for (name, value) in answer.headers() {
            if !matches!(
                name.as_str(),
                "connection" | "content-length" | "transfer-encoding"
            ) {
                out_headers.append(name, value.clone());
            }
        }
        let mut bytes = answer.bytes().await.unwrap_or_default();
        if path.ends_with("/token") && status == StatusCode::OK {
            bytes = self.learn(&headers, &f, bytes);
        }
        if path.ends_with("/revoke") && status == StatusCode::OK {
            if let Some(k) = known.filter(|k| !k.refresh) {
                self.state
                    .lock()
                    .unwrap()
                    .access_revoked_grants
                    .insert(k.grant);
            }
        }
        (status, out_headers, bytes).into_response()
    }

    /// Learns the tokens of a token answer (a refresh keeps its grant) and applies what the
    /// oddities say of the answer itself.
    fn learn(&self, headers: &HeaderMap, f: &HashMap<String, String>, bytes: Bytes) -> Bytes {
        let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            return bytes;
        };
        let client = client_of(headers, f).unwrap_or_default();
        if self.odd.public_client_no_refresh && client == "public-client" {
            if let Some(obj) = v.as_object_mut() {
                obj.remove("refresh_token");
            }
        }
        let mut state = self.state.lock().unwrap();
        let grant = match f.get("refresh_token").and_then(|rt| state.tokens.get(rt)) {
            Some(k) => k.grant,
            None => {
                state.next_grant += 1;
                state.next_grant
            }
        };
        for (member, refresh) in [("access_token", false), ("refresh_token", true)] {
            if let Some(t) = v.get(member).and_then(|t| t.as_str()) {
                state.tokens.insert(t.to_owned(), Known { refresh, grant });
            }
        }
        Bytes::from(v.to_string())
    }
}
