//! What every section of the server tests uses: the requests a client sends, the answers read
//! back, and an in-process server ([`Server`]) driven with `oneshot`. The imports are re-exported
//! so that a section starts with `use crate::helpers::*;`.

pub(crate) use crate::support;
pub(crate) use axum::body::{Body, Bytes};
pub(crate) use axum::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
pub(crate) use axum::Router;
pub(crate) use base64::Engine as _;
pub(crate) use http_body_util::BodyExt as _;
pub(crate) use revspec::faults::quirks::Quirk;
pub(crate) use revspec::faults::Fault;
pub(crate) use revspec::server::config::{
    ServerConfig, CLIENTS_WRITE_SCOPE, PROPERTIES_READ_SCOPE, PROPERTIES_WRITE_SCOPE,
};
pub(crate) use revspec::server::limits::Limits;
pub(crate) use revspec::server::script::ScriptFailure;
pub(crate) use revspec::server::{paths, router, AppState, ServeOptions};
pub(crate) use serde_json::{json, Value};
pub(crate) use std::sync::Arc;
pub(crate) use std::time::Duration;
pub(crate) use tower::ServiceExt as _;

pub(crate) const ISSUER: &str = "http://127.0.0.1:8080";
/// Where [`Server::with_mtls`] says its mTLS listener is.
pub(crate) const MTLS_BASE: &str = "https://127.0.0.1:8444";
pub(crate) const FORM: &str = "application/x-www-form-urlencoded";
pub(crate) const BASIC_CHALLENGE: &str = "Basic realm=\"revspec\"";
pub(crate) const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/revoke.rhai");

/// How a request authenticates its client.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Auth<'a> {
    /// `Authorization: Basic base64(id:secret)`.
    Basic(&'a str, &'a str),
    /// `client_id` and `client_secret` in the body.
    Post(&'a str, &'a str),
    /// `client_id` alone in the body (a public client).
    Public(&'a str),
    /// No credentials at all.
    Nothing,
    /// A JWT client assertion (with the JWT bearer `client_assertion_type`).
    Jwt(&'a str),
    /// `client_id` and a client certificate (PEM) on the connection, as the mTLS listener
    /// hands it to the app.
    Mtls(&'a str, &'a str),
    /// `Authorization: Bearer` (Janssen's client authentication with an access token).
    Bearer(&'a str),
}

/// A demo fixture of `targets/keys/`.
pub(crate) fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("targets/keys")
            .join(name),
    )
    .expect("a demo fixture")
}

/// An assertion of a demo JWT client (`client-jwt`: ES256 private_key_jwt; `client-secjwt`:
/// HS256) for the token endpoint, with a defect on purpose or none.
pub(crate) fn assertion_with(
    client: &str,
    defect: &revspec::sut::client::assertion::Defect,
) -> String {
    use revspec::sut::client::keys::SigningKey;
    let key = match client {
        "client-jwt" => SigningKey::from_text(&fixture("client-jwt.key.pem"), None, None),
        "client-secjwt" => {
            SigningKey::hmac(revspec::server::config::demo_keys::CLIENT_SECJWT_SECRET)
        }
        other => panic!("no demo JWT client {other}"),
    }
    .expect("the demo key loads");
    let aud = format!("{ISSUER}{}", paths::TOKEN);
    revspec::sut::client::assertion::sign(&key, None, client, &aud, defect).expect("signs")
}

/// A valid, fresh assertion of a demo JWT client.
pub(crate) fn assertion(client: &str) -> String {
    assertion_with(client, &revspec::sut::client::assertion::Defect::None)
}

/// The demo client's registered authentication method and secret.
pub(crate) fn registered(client: &str) -> Auth<'static> {
    match client {
        "client-a" => Auth::Basic("client-a", "secret-a"),
        "client-b" => Auth::Post("client-b", "secret-b"),
        "client-c" => Auth::Basic("client-c", "secret-c"),
        "public-client" => Auth::Public("public-client"),
        "config-admin" => Auth::Basic("config-admin", "config-secret"),
        "resource-server" => Auth::Basic("resource-server", "resource-secret"),
        // A fresh assertion per request (leaked: a test's handful of short strings).
        "client-jwt" | "client-secjwt" => Auth::Jwt(Box::leak(assertion(client).into_boxed_str())),
        "client-mtls" | "client-mtls-2" | "client-ss" => Auth::Mtls(
            Box::leak(client.to_owned().into_boxed_str()),
            Box::leak(fixture(&format!("{client}.pem")).into_boxed_str()),
        ),
        other => panic!("no demo client {other}"),
    }
}

pub(crate) fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// What the accept loop hands the app about a loopback connection: the client certificate
/// (PEM) it presented on the mTLS listener, if any.
pub(crate) fn conn_info(cert_pem: Option<&str>) -> revspec::server::net::ConnInfo {
    revspec::server::net::ConnInfo {
        peer: "127.0.0.1:40000".parse().unwrap(),
        client_chain: cert_pem.map(|p| Arc::new(revspec::server::tls::certificates(p))),
        mtls_listener: cert_pem.is_some(),
    }
}

/// `a=b&c=d`, form-urlencoded.
pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

pub(crate) fn append(body: &mut String, pairs: &[(&str, &str)]) {
    if !body.is_empty() && !body.ends_with('&') {
        body.push('&');
    }
    body.push_str(&form(pairs));
}

/// Whether every character is one RFC 6749 5.2 allows in `error` / `error_description`.
pub(crate) fn rfc6749_chars(s: &str) -> bool {
    s.chars()
        .all(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e'))
}

pub(crate) const ERROR_CODES: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "unsupported_token_type",
    "access_denied",
    "temporarily_unavailable",
    "server_error",
];

/// An answer, fully read.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// A well-formed RFC 6749 5.2 error answer with this status and code.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text());
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/json"),
            "error content-type is {content_type:?}"
        );
        let v = self.json();
        assert_eq!(v["error"], code, "body: {v}");
        assert!(ERROR_CODES.contains(&code), "unregistered code {code}");
        let description = v["error_description"]
            .as_str()
            .unwrap_or_else(|| panic!("no error_description: {v}"));
        assert!(!description.is_empty());
        assert!(
            rfc6749_chars(code) && rfc6749_chars(description),
            "characters outside RFC 6749 5.2: {v}"
        );
    }

    /// An RFC 6750 error of a protected resource, with its Bearer challenge.
    #[track_caller]
    pub(crate) fn assert_error_6750(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text());
        assert_eq!(self.json()["error"], code, "body: {}", self.text());
        let challenge = self.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer realm=\"revspec\"")
                && challenge.contains(&format!("error=\"{code}\"")),
            "challenge {challenge:?}"
        );
    }

    /// The revocation endpoint's 200: empty body, `no-store` and `no-cache`.
    #[track_caller]
    pub(crate) fn assert_revoke_ok(&self) {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.text());
        assert!(self.body.is_empty(), "200 with a body: {}", self.text());
        assert_eq!(self.header("cache-control"), Some("no-store"));
        assert_eq!(self.header("pragma"), Some("no-cache"));
    }
}

/// A password-grant token pair (one grant).
#[derive(Debug, Clone)]
pub(crate) struct Pair {
    pub(crate) access: String,
    pub(crate) refresh: String,
}

/// The reference server, in process.
pub(crate) struct Server {
    pub(crate) app: Router,
    pub(crate) state: Arc<AppState>,
}

pub(crate) fn server() -> Server {
    Server::with(ServeOptions::default())
}

pub(crate) fn server_with_script() -> Server {
    Server::with(ServeOptions {
        revoke_script: Some(SCRIPT.into()),
        ..Default::default()
    })
}

impl Server {
    pub(crate) fn with(options: ServeOptions) -> Self {
        let state = Arc::new(AppState::new(&options, ISSUER.into()).expect("server state"));
        Self {
            app: router(state.clone()),
            state,
        }
    }

    /// The server as over `--tls`: its mTLS listener published at `MTLS_BASE`.
    pub(crate) fn with_mtls(options: ServeOptions) -> Self {
        let mut state = AppState::new(&options, ISSUER.into()).expect("server state");
        state.mtls_base = Some(MTLS_BASE.into());
        let state = Arc::new(state);
        Self {
            app: router(state.clone()),
            state,
        }
    }

    pub(crate) async fn send(&self, request: Request<Body>) -> Reply {
        // Bounded: a request that never answers fails the test instead of hanging it.
        let response =
            tokio::time::timeout(Duration::from_secs(20), self.app.clone().oneshot(request))
                .await
                .expect("an answer within 20 s")
                .expect("infallible");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// POSTs a form body (raw, as given) with the credentials of `auth` and extra headers.
    pub(crate) async fn post(
        &self,
        path: &str,
        auth: Auth<'_>,
        body: &str,
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut body = body.to_owned();
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, FORM);
        match auth {
            Auth::Basic(id, secret) => {
                builder = builder.header(header::AUTHORIZATION, basic(id, secret));
            }
            Auth::Post(id, secret) => {
                append(&mut body, &[("client_id", id), ("client_secret", secret)]);
            }
            Auth::Public(id) => append(&mut body, &[("client_id", id)]),
            Auth::Nothing => {}
            Auth::Jwt(jwt) => append(
                &mut body,
                &[
                    (
                        "client_assertion_type",
                        revspec::sut::client::assertion::JWT_BEARER,
                    ),
                    ("client_assertion", jwt),
                ],
            ),
            Auth::Mtls(id, pem) => {
                append(&mut body, &[("client_id", id)]);
                builder = builder.extension(conn_info(Some(pem)));
            }
            Auth::Bearer(token) => {
                builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
        }
        if !matches!(auth, Auth::Mtls(..)) {
            builder = builder.extension(conn_info(None));
        }
        for (name, value) in extra {
            builder = builder.header(*name, *value);
        }
        self.send(builder.body(Body::from(body)).unwrap()).await
    }

    /// POSTs raw bytes to a path with raw headers (nothing added but what is given).
    pub(crate) async fn raw(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &[u8])],
        body: Vec<u8>,
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, HeaderValue::from_bytes(value).unwrap());
        }
        self.send(builder.body(Body::from(body)).unwrap()).await
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.raw(Method::GET, path, &[], vec![]).await
    }

    /// The token endpoint, as `client` with its registered method.
    pub(crate) async fn token(&self, client: &str, params: &[(&str, &str)]) -> Reply {
        self.post(paths::TOKEN, registered(client), &form(params), &[])
            .await
    }

    /// A password grant for alice: an access and a refresh token of one new grant, observed
    /// active.
    pub(crate) async fn mint(&self, client: &str) -> Pair {
        let pair = self.mint_unobserved(client).await;
        assert!(self.active(&pair.access).await && self.active(&pair.refresh).await);
        pair
    }

    /// A password grant for alice, not observed.
    pub(crate) async fn mint_unobserved(&self, client: &str) -> Pair {
        let r = self
            .token(
                client,
                &[
                    ("grant_type", "password"),
                    ("username", "alice"),
                    ("password", "alice-pass"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "mint for {client}: {}", r.text());
        let v = r.json();
        Pair {
            access: v["access_token"].as_str().expect("access_token").into(),
            refresh: v["refresh_token"].as_str().expect("refresh_token").into(),
        }
    }

    /// A refresh grant as `client`.
    pub(crate) async fn refresh(&self, client: &str, refresh_token: &str) -> Reply {
        self.token(
            client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    /// The revocation endpoint with a raw form body.
    pub(crate) async fn revoke(&self, auth: Auth<'_>, body: &str) -> Reply {
        self.post(paths::REVOKE, auth, body, &[]).await
    }

    pub(crate) async fn revoke_with(
        &self,
        auth: Auth<'_>,
        body: &str,
        extra: &[(&str, &str)],
    ) -> Reply {
        self.post(paths::REVOKE, auth, body, extra).await
    }

    /// Revokes `token` as `client` (registered method, no hint).
    pub(crate) async fn revoke_as(&self, client: &str, token: &str) -> Reply {
        self.revoke(registered(client), &form(&[("token", token)]))
            .await
    }

    /// RFC 7662 introspection by the resource server (it holds `introspect_any`): is the
    /// token active?
    pub(crate) async fn active(&self, token: &str) -> bool {
        self.active_for("resource-server", token).await
    }

    /// RFC 7662 introspection by `client`: is the token active as far as it may tell?
    pub(crate) async fn active_for(&self, client: &str, token: &str) -> bool {
        let r = self
            .post(
                paths::INTROSPECTION,
                registered(client),
                &form(&[("token", token)]),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "introspection: {}", r.text());
        r.json()["active"].as_bool().expect("active is a boolean")
    }

    pub(crate) async fn userinfo(&self, access_token: &str) -> Reply {
        let bearer = format!("Bearer {access_token}");
        self.raw(
            Method::GET,
            paths::USERINFO,
            &[("authorization", bearer.as_bytes())],
            vec![],
        )
        .await
    }

    /// A client_credentials token of config-admin with `scope`.
    pub(crate) async fn admin_token(&self, scope: &str) -> String {
        let r = self
            .token(
                "config-admin",
                &[("grant_type", "client_credentials"), ("scope", scope)],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "admin token: {}", r.text());
        r.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// A JSON Patch to the Config API, with an optional bearer token.
    pub(crate) async fn patch(&self, path: &str, bearer: Option<&str>, body: &str) -> Reply {
        let mut builder = Request::builder()
            .method(Method::PATCH)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json-patch+json");
        if let Some(token) = bearer {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(builder.body(Body::from(body.to_owned())).unwrap())
            .await
    }

    /// Changes one auth server property through the Config API (and checks it took).
    pub(crate) async fn set(&self, property: &str, value: Value) {
        let token = self.admin_token(PROPERTIES_WRITE_SCOPE).await;
        let patch = json!([{"op": "replace", "path": format!("/{property}"), "value": value}]);
        let r = self
            .patch(paths::CONFIG, Some(&token), &patch.to_string())
            .await;
        assert_eq!(r.status, StatusCode::OK, "config patch: {}", r.text());
        assert_eq!(r.json()[property], value, "the patch did not take");
    }

    /// Adds a scope to a client through the Config API.
    pub(crate) async fn add_client_scope(&self, client: &str, scope: &str) -> Reply {
        let token = self.admin_token(CLIENTS_WRITE_SCOPE).await;
        let patch = json!([{"op": "add", "path": "/scopes/-", "value": scope}]);
        self.patch(
            &format!("{}/{client}", paths::CLIENTS),
            Some(&token),
            &patch.to_string(),
        )
        .await
    }

    pub(crate) async fn discovery(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
        r.json()
    }
}

/// A CORS preflight of a POST to the revocation endpoint from `origin`.
pub(crate) fn preflight(origin: &'static str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri(paths::REVOKE)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .body(Body::empty())
        .unwrap()
}

/// How long a background effect (a delayed job, a sweep) may take to show (polled).
pub(crate) const SETTLE: Duration = Duration::from_secs(5);

pub(crate) fn revoke_url() -> String {
    format!("{ISSUER}{}", paths::REVOKE)
}

/// Fails a fault's or a quirk's check with a message (the check returns `Err`).
macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}
pub(crate) use check;

pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

pub(crate) async fn socket_mint(http: &reqwest::Client, base: &str) -> Pair {
    let r = http
        .post(format!("{base}{}", paths::TOKEN))
        .basic_auth("client-a", Some("secret-a"))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-pass"),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    Pair {
        access: v["access_token"].as_str().unwrap().into(),
        refresh: v["refresh_token"].as_str().unwrap().into(),
    }
}

pub(crate) async fn socket_active(http: &reqwest::Client, base: &str, token: &str) -> bool {
    let r = http
        .post(format!("{base}{}", paths::INTROSPECTION))
        .basic_auth("client-a", Some("secret-a"))
        .form(&[("token", token)])
        .send()
        .await
        .expect("introspection request");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["active"].as_bool().unwrap()
}

pub(crate) async fn socket_revoke(
    http: &reqwest::Client,
    base: &str,
    token: &str,
) -> reqwest::Response {
    http.post(format!("{base}{}", paths::REVOKE))
        .basic_auth("client-a", Some("secret-a"))
        .form(&[("token", token)])
        .send()
        .await
        .expect("revoke request")
}

pub(crate) async fn spawn_with(options: ServeOptions) -> revspec::server::RunningServer {
    revspec::server::spawn("127.0.0.1:0".parse().unwrap(), &options)
        .await
        .expect("spawn")
}

pub(crate) const NO_CASE: &str = "NO CASE";
