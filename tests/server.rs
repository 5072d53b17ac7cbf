//! Integration tests of the reference server (`revspec serve`).
//!
//! Most tests drive the axum app in process (`router(..).oneshot(request)`); one test uses a
//! real loopback socket and one restarts a server on the same `--data-dir`. There is one test
//! per rule of `features/RULES.md` that the server implements (named after the rule ID), a few
//! for the server's own surfaces (Config API, userinfo, limits, malformed input), and one
//! table-driven test that runs every fault of `Fault::ALL` and checks that it misbehaves
//! exactly as described (and that the same check passes on a server without the fault).
//!
//! "Inactive" is always observed through RFC 7662 introspection (by `resource-server`, which
//! holds `introspect_any`), as the catalogue does, and sometimes additionally through userinfo
//! or a refresh grant.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::Router;
use base64::Engine as _;
use http_body_util::BodyExt as _;
use revspec::faults::quirks::Quirk;
use revspec::faults::Fault;
use revspec::server::config::{
    ServerConfig, CLIENTS_WRITE_SCOPE, PROPERTIES_READ_SCOPE, PROPERTIES_WRITE_SCOPE,
};
use revspec::server::limits::Limits;
use revspec::server::script::ScriptFailure;
use revspec::server::{paths, router, AppState, ServeOptions};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt as _;

const ISSUER: &str = "http://127.0.0.1:8080";
const FORM: &str = "application/x-www-form-urlencoded";
const BASIC_CHALLENGE: &str = "Basic realm=\"revspec\"";
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/revoke.rhai");

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// How a request authenticates its client.
#[derive(Debug, Clone, Copy)]
enum Auth<'a> {
    /// `Authorization: Basic base64(id:secret)`.
    Basic(&'a str, &'a str),
    /// `client_id` and `client_secret` in the body.
    Post(&'a str, &'a str),
    /// `client_id` alone in the body (a public client).
    Public(&'a str),
    /// No credentials at all.
    Nothing,
}

/// The demo client's registered authentication method and secret.
fn registered(client: &str) -> Auth<'static> {
    match client {
        "client-a" => Auth::Basic("client-a", "secret-a"),
        "client-b" => Auth::Post("client-b", "secret-b"),
        "client-c" => Auth::Basic("client-c", "secret-c"),
        "public-client" => Auth::Public("public-client"),
        "config-admin" => Auth::Basic("config-admin", "config-secret"),
        "resource-server" => Auth::Basic("resource-server", "resource-secret"),
        other => panic!("no demo client {other}"),
    }
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// `a=b&c=d`, form-urlencoded.
fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn append(body: &mut String, pairs: &[(&str, &str)]) {
    if !body.is_empty() && !body.ends_with('&') {
        body.push('&');
    }
    body.push_str(&form(pairs));
}

/// Whether every character is one RFC 6749 5.2 allows in `error` / `error_description`.
fn rfc6749_chars(s: &str) -> bool {
    s.chars()
        .all(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e'))
}

const ERROR_CODES: &[&str] = &[
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
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// A well-formed RFC 6749 5.2 error answer with this status and code.
    #[track_caller]
    fn assert_error(&self, status: u16, code: &str) {
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
    fn assert_error_6750(&self, status: u16, code: &str) {
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
    fn assert_revoke_ok(&self) {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.text());
        assert!(self.body.is_empty(), "200 with a body: {}", self.text());
        assert_eq!(self.header("cache-control"), Some("no-store"));
        assert_eq!(self.header("pragma"), Some("no-cache"));
    }
}

/// A password-grant token pair (one grant).
#[derive(Debug, Clone)]
struct Pair {
    access: String,
    refresh: String,
}

/// The reference server, in process.
struct Server {
    app: Router,
    state: Arc<AppState>,
}

fn server() -> Server {
    Server::with(ServeOptions::default())
}

fn server_with_script() -> Server {
    Server::with(ServeOptions {
        revoke_script: Some(SCRIPT.into()),
        ..Default::default()
    })
}

impl Server {
    fn with(options: ServeOptions) -> Self {
        let state = Arc::new(AppState::new(&options, ISSUER.into()).expect("server state"));
        Self {
            app: router(state.clone()),
            state,
        }
    }

    async fn send(&self, request: Request<Body>) -> Reply {
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
    async fn post(&self, path: &str, auth: Auth<'_>, body: &str, extra: &[(&str, &str)]) -> Reply {
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
        }
        for (name, value) in extra {
            builder = builder.header(*name, *value);
        }
        self.send(builder.body(Body::from(body)).unwrap()).await
    }

    /// POSTs raw bytes to a path with raw headers (nothing added but what is given).
    async fn raw(
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

    async fn get(&self, path: &str) -> Reply {
        self.raw(Method::GET, path, &[], vec![]).await
    }

    /// The token endpoint, as `client` with its registered method.
    async fn token(&self, client: &str, params: &[(&str, &str)]) -> Reply {
        self.post(paths::TOKEN, registered(client), &form(params), &[])
            .await
    }

    /// A password grant for alice: an access and a refresh token of one new grant, observed
    /// active.
    async fn mint(&self, client: &str) -> Pair {
        let pair = self.mint_unobserved(client).await;
        assert!(self.active(&pair.access).await && self.active(&pair.refresh).await);
        pair
    }

    /// A password grant for alice, not observed.
    async fn mint_unobserved(&self, client: &str) -> Pair {
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
    async fn refresh(&self, client: &str, refresh_token: &str) -> Reply {
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
    async fn revoke(&self, auth: Auth<'_>, body: &str) -> Reply {
        self.post(paths::REVOKE, auth, body, &[]).await
    }

    async fn revoke_with(&self, auth: Auth<'_>, body: &str, extra: &[(&str, &str)]) -> Reply {
        self.post(paths::REVOKE, auth, body, extra).await
    }

    /// Revokes `token` as `client` (registered method, no hint).
    async fn revoke_as(&self, client: &str, token: &str) -> Reply {
        self.revoke(registered(client), &form(&[("token", token)]))
            .await
    }

    /// RFC 7662 introspection by the resource server (it holds `introspect_any`): is the
    /// token active?
    async fn active(&self, token: &str) -> bool {
        self.active_for("resource-server", token).await
    }

    /// RFC 7662 introspection by `client`: is the token active as far as it may tell?
    async fn active_for(&self, client: &str, token: &str) -> bool {
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

    async fn userinfo(&self, access_token: &str) -> Reply {
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
    async fn admin_token(&self, scope: &str) -> String {
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
    async fn patch(&self, path: &str, bearer: Option<&str>, body: &str) -> Reply {
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
    async fn set(&self, property: &str, value: Value) {
        let token = self.admin_token(PROPERTIES_WRITE_SCOPE).await;
        let patch = json!([{"op": "replace", "path": format!("/{property}"), "value": value}]);
        let r = self
            .patch(paths::CONFIG, Some(&token), &patch.to_string())
            .await;
        assert_eq!(r.status, StatusCode::OK, "config patch: {}", r.text());
        assert_eq!(r.json()[property], value, "the patch did not take");
    }

    /// Adds a scope to a client through the Config API.
    async fn add_client_scope(&self, client: &str, scope: &str) -> Reply {
        let token = self.admin_token(CLIENTS_WRITE_SCOPE).await;
        let patch = json!([{"op": "add", "path": "/scopes/-", "value": scope}]);
        self.patch(
            &format!("{}/{client}", paths::CLIENTS),
            Some(&token),
            &patch.to_string(),
        )
        .await
    }

    async fn discovery(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
        r.json()
    }
}

/// A CORS preflight of a POST to the revocation endpoint from `origin`.
fn preflight(origin: &'static str) -> Request<Body> {
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

/// Whether `condition` holds within a generous bound (polled; for background effects that
/// come some time after the answer). Never a timing assertion: only the outcome is checked.
async fn eventually<F, Fut>(condition: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if condition().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn revoke_url() -> String {
    format!("{ISSUER}{}", paths::REVOKE)
}

// ---------------------------------------------------------------------------------------------
// Profile rfc7009
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn rfc7009_2_refresh_revocable() {
    let s = server();
    let p = s.mint("client-a").await;
    s.revoke(
        registered("client-a"),
        &form(&[("token", &p.refresh), ("token_type_hint", "refresh_token")]),
    )
    .await
    .assert_revoke_ok();
    assert!(!s.active(&p.refresh).await);
    s.refresh("client-a", &p.refresh)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn rfc7009_2_access_revocable() {
    let s = server();
    let p = s.mint("client-a").await;
    assert_eq!(s.userinfo(&p.access).await.status, StatusCode::OK);
    s.revoke(
        registered("client-a"),
        &form(&[("token", &p.access), ("token_type_hint", "access_token")]),
    )
    .await
    .assert_revoke_ok();
    assert!(!s.active(&p.access).await);
    assert_eq!(s.userinfo(&p.access).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rfc7009_2_1_immediate() {
    let s = server();
    for client in ["client-a", "client-b", "public-client"] {
        let p = s.mint(client).await;
        s.revoke_as(client, &p.access).await.assert_revoke_ok();
        // The very next request, with no wait.
        assert!(!s.active(&p.access).await, "{client}: not revoked at once");
        assert!(
            !s.active(&p.refresh).await,
            "{client}: grant not revoked at once"
        );
    }
}

#[tokio::test]
async fn rfc7009_2_1_token_required() {
    let s = server();
    let p = s.mint("client-a").await;
    for body in ["", "token_type_hint=access_token", "tokens=x"] {
        s.revoke(registered("client-a"), body)
            .await
            .assert_error(400, "invalid_request");
    }
    // client_secret_post too: the credentials alone are not a token.
    s.revoke(registered("client-b"), "")
        .await
        .assert_error(400, "invalid_request");
    assert!(s.active(&p.access).await && s.active(&p.refresh).await);
}

#[tokio::test]
async fn rfc7009_2_1_empty_token() {
    let s = server();
    let p = s.mint("client-a").await;
    for body in ["token=", "token=&token_type_hint=access_token"] {
        let r = s.revoke(registered("client-a"), body).await;
        r.assert_error(400, "invalid_request");
    }
    assert!(s.active(&p.access).await && s.active(&p.refresh).await);
}

#[tokio::test]
async fn rfc7009_2_1_hint_optional() {
    let s = server();
    let p1 = s.mint("client-a").await;
    let p2 = s.mint("client-a").await;
    s.revoke_as("client-a", &p1.access).await.assert_revoke_ok();
    assert!(!s.active(&p1.access).await);
    s.revoke_as("client-a", &p2.refresh)
        .await
        .assert_revoke_ok();
    assert!(!s.active(&p2.refresh).await);
}

#[tokio::test]
async fn rfc7009_2_1_hint_fallback() {
    let s = server();
    // A refresh token sent as an access token.
    let p1 = s.mint("client-a").await;
    s.revoke(
        registered("client-a"),
        &form(&[("token", &p1.refresh), ("token_type_hint", "access_token")]),
    )
    .await
    .assert_revoke_ok();
    assert!(!s.active(&p1.refresh).await);
    // An access token sent as a refresh token.
    let p2 = s.mint("client-a").await;
    s.revoke(
        registered("client-a"),
        &form(&[("token", &p2.access), ("token_type_hint", "refresh_token")]),
    )
    .await
    .assert_revoke_ok();
    assert!(!s.active(&p2.access).await);
}

#[tokio::test]
async fn rfc7009_2_2_unknown_hint_ignored() {
    let s = server();
    for hint in ["foo", "id_token", "ALL_TOKENS"] {
        let p = s.mint("client-a").await;
        s.revoke(
            registered("client-a"),
            &form(&[("token", &p.access), ("token_type_hint", hint)]),
        )
        .await
        .assert_revoke_ok();
        assert!(
            !s.active(&p.access).await,
            "hint {hint} stopped the revocation"
        );
    }
}

#[tokio::test]
async fn rfc7009_2_1_client_auth_required() {
    let s = server();
    let p = s.mint("client-a").await;
    // No credentials of any kind.
    let r = s
        .revoke(Auth::Nothing, &form(&[("token", &p.access)]))
        .await;
    r.assert_error(401, "invalid_client");
    // A confidential client's id without its secret.
    let r = s
        .revoke(Auth::Public("client-a"), &form(&[("token", &p.access)]))
        .await;
    r.assert_error(401, "invalid_client");
    let r = s
        .revoke(Auth::Public("client-b"), &form(&[("token", &p.refresh)]))
        .await;
    r.assert_error(401, "invalid_client");
    assert!(s.active(&p.access).await && s.active(&p.refresh).await);
}

#[tokio::test]
async fn rfc7009_2_1_wrong_secret() {
    let s = server();
    let p = s.mint("client-a").await;
    let b = s.mint("client-b").await;
    let attempts = [
        (Auth::Basic("client-a", "wrong"), &p.access),
        (Auth::Basic("client-a", "secret-a "), &p.access),
        (Auth::Basic("client-a", ""), &p.refresh),
        (Auth::Basic("nobody", "secret-a"), &p.access),
        (Auth::Post("client-b", "wrong"), &b.access),
        // Right secret, wrong method: each client authenticates only as registered.
        (Auth::Post("client-a", "secret-a"), &p.access),
        (Auth::Basic("client-b", "secret-b"), &b.access),
    ];
    for (auth, token) in attempts {
        let r = s.revoke(auth, &form(&[("token", token)])).await;
        r.assert_error(401, "invalid_client");
        assert_eq!(
            r.header("www-authenticate"),
            Some(BASIC_CHALLENGE),
            "{auth:?}"
        );
    }
    for t in [&p.access, &p.refresh, &b.access, &b.refresh] {
        assert!(s.active(t).await);
    }
}

#[tokio::test]
async fn rfc7009_2_1_own_tokens_only() {
    let s = server();
    let a = s.mint("client-a").await;
    for (caller, token) in [
        ("client-b", &a.access),
        ("client-b", &a.refresh),
        ("public-client", &a.access),
    ] {
        let r = s.revoke_as(caller, token).await;
        assert_ne!(
            r.status,
            StatusCode::OK,
            "{caller} revoked client-a's token"
        );
        r.assert_error(400, "invalid_request");
    }
    assert!(s.active(&a.access).await && s.active(&a.refresh).await);
}

#[tokio::test]
async fn rfc7009_2_1_rt_cascade() {
    let s = server();
    let p = s.mint("client-a").await;
    assert_eq!(s.userinfo(&p.access).await.status, StatusCode::OK);
    s.revoke(
        registered("client-a"),
        &form(&[("token", &p.refresh), ("token_type_hint", "refresh_token")]),
    )
    .await
    .assert_revoke_ok();
    assert!(!s.active(&p.access).await);
    assert_eq!(s.userinfo(&p.access).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rfc7009_2_1_at_cascade() {
    // Policy recorded: this server cascades from the access token to the refresh token.
    let s = server();
    let p = s.mint("client-a").await;
    s.revoke(
        registered("client-a"),
        &form(&[("token", &p.access), ("token_type_hint", "access_token")]),
    )
    .await
    .assert_revoke_ok();
    assert!(!s.active(&p.refresh).await);
    s.refresh("client-a", &p.refresh)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn rfc7009_2_2_invalid_token_200() {
    let s = server();
    let a = s.mint("client-a").await;
    let b = s.mint("client-b").await;
    for token in [
        "not-a-real-token",
        "x",
        "%00%01 ~!*'()",
        "eyJhbGciOiJub25lIn0.e30.",
        &"z".repeat(4000),
    ] {
        s.revoke(registered("client-a"), &form(&[("token", token)]))
            .await
            .assert_revoke_ok();
        s.revoke(
            registered("client-b"),
            &form(&[("token", token), ("token_type_hint", "refresh_token")]),
        )
        .await
        .assert_revoke_ok();
    }
    for t in [&a.access, &a.refresh, &b.access, &b.refresh] {
        assert!(s.active(t).await, "a bystander changed state");
    }
}

#[tokio::test]
async fn rfc7009_2_2_idempotent() {
    let s = server();
    let p = s.mint("client-a").await;
    for _ in 0..3 {
        s.revoke_as("client-a", &p.access).await.assert_revoke_ok();
    }
    // The refresh token went with the grant; revoking it afterwards is still a 200.
    s.revoke_as("client-a", &p.refresh).await.assert_revoke_ok();
    assert!(!s.active(&p.access).await && !s.active(&p.refresh).await);
}

#[tokio::test]
async fn rfc7009_2_2_grant_isolation() {
    let s = server();
    let p1 = s.mint("client-a").await;
    let p2 = s.mint("client-a").await;
    s.revoke_as("client-a", &p1.refresh)
        .await
        .assert_revoke_ok();
    assert!(!s.active(&p1.access).await && !s.active(&p1.refresh).await);
    assert!(s.active(&p2.access).await && s.active(&p2.refresh).await);
    assert_eq!(
        s.refresh("client-a", &p2.refresh).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn rfc7009_2_2_1_error_format() {
    let s = server();
    let p = s.mint("client-a").await;
    let a = registered("client-a");
    let tok = form(&[("token", &p.access)]);
    // 400s
    s.revoke(a, "").await.assert_error(400, "invalid_request");
    s.revoke(a, "token=")
        .await
        .assert_error(400, "invalid_request");
    s.revoke(a, &format!("{tok}&{tok}"))
        .await
        .assert_error(400, "invalid_request");
    s.revoke(a, "token=%zz")
        .await
        .assert_error(400, "invalid_request");
    // A description built from user input keeps to the 5.2 characters.
    s.revoke(a, "%22%5C%C3%A9%0A=1&%22%5C%C3%A9%0A=2")
        .await
        .assert_error(400, "invalid_request");
    // 401s
    s.revoke(Auth::Basic("client-a", "nope"), &tok)
        .await
        .assert_error(401, "invalid_client");
    s.revoke(Auth::Nothing, &tok)
        .await
        .assert_error(401, "invalid_client");
    // 503
    s.revoke_with(a, &tok, &[("x-revspec-simulate", "unavailable")])
        .await
        .assert_error(503, "temporarily_unavailable");
    // 403
    s.set("featureFlags", json!(["userinfo", "introspection"]))
        .await;
    s.revoke(a, &tok).await.assert_error(403, "access_denied");
    assert!(s.active(&p.access).await);
}

#[tokio::test]
async fn rfc6749_5_2_invalid_client_scheme() {
    let s = server();
    let p = s.mint("client-a").await;
    let tok = form(&[("token", &p.access)]);
    for r in [
        s.revoke(Auth::Basic("client-a", "nope"), &tok).await,
        s.revoke(Auth::Basic("ghost", "x"), &tok).await,
        s.revoke(Auth::Nothing, &tok).await,
        s.revoke_with(Auth::Nothing, &tok, &[("authorization", "Basic !!!")])
            .await,
    ] {
        r.assert_error(401, "invalid_client");
        let challenge = r.header("www-authenticate").expect("WWW-Authenticate");
        assert!(
            challenge.to_ascii_lowercase().starts_with("basic"),
            "challenge {challenge}"
        );
    }
    assert!(s.active(&p.access).await);
}

#[tokio::test]
async fn rfc6749_3_2_duplicate_param() {
    let s = server();
    let p1 = s.mint("client-a").await;
    let p2 = s.mint("client-a").await;
    let a = registered("client-a");
    let bodies = [
        form(&[("token", &p1.access), ("token", &p1.access)]),
        form(&[("token", &p1.access), ("token", &p2.access)]),
        form(&[
            ("token", &p1.access),
            ("token_type_hint", "access_token"),
            ("token_type_hint", "refresh_token"),
        ]),
    ];
    for body in &bodies {
        s.revoke(a, body).await.assert_error(400, "invalid_request");
    }
    // A repeated client_id (client_secret_post) is refused too.
    let body = format!("{}&client_id=client-b", form(&[("token", &p1.access)]));
    s.revoke(registered("client-b"), &body)
        .await
        .assert_error(400, "invalid_request");
    for t in [&p1.access, &p1.refresh, &p2.access, &p2.refresh] {
        assert!(s.active(t).await);
    }
}

#[tokio::test]
async fn rfc6749_2_3_one_auth_method() {
    let s = server();
    let p = s.mint("client-a").await;
    for secret in ["secret-a", "wrong", ""] {
        let body = form(&[
            ("token", &p.access),
            ("client_id", "client-a"),
            ("client_secret", secret),
        ]);
        s.revoke(registered("client-a"), &body)
            .await
            .assert_error(400, "invalid_request");
    }
    assert!(s.active(&p.access).await);
}

#[tokio::test]
async fn rfc6749_2_3_1_no_query_credentials() {
    let s = server();
    let a = s.mint("client-a").await;
    let b = s.mint("client-b").await;
    // The token in the query, authenticated properly: no token in the body.
    let uri = format!("{}?{}", paths::REVOKE, form(&[("token", &a.access)]));
    let r = s
        .post(
            &uri,
            registered("client-a"),
            "token_type_hint=access_token",
            &[],
        )
        .await;
    r.assert_error(400, "invalid_request");
    // The credentials in the query, the token in the body.
    let uri = format!(
        "{}?{}",
        paths::REVOKE,
        form(&[("client_id", "client-b"), ("client_secret", "secret-b")])
    );
    let r = s
        .post(&uri, Auth::Nothing, &form(&[("token", &b.access)]), &[])
        .await;
    r.assert_error(401, "invalid_client");
    // Everything in the query, an empty body.
    let uri = format!(
        "{}?{}",
        paths::REVOKE,
        form(&[
            ("token", &b.refresh),
            ("client_id", "client-b"),
            ("client_secret", "secret-b"),
        ])
    );
    assert_ne!(
        s.post(&uri, Auth::Nothing, "", &[]).await.status,
        StatusCode::OK
    );
    for t in [&a.access, &a.refresh, &b.access, &b.refresh] {
        assert!(s.active(t).await, "revoked through the query");
    }
}

#[tokio::test]
async fn rfc7009_2_1_post_only() {
    let s = server();
    let p = s.mint("client-a").await;
    let auth = basic("client-a", "secret-a");
    let query = format!("{}?{}", paths::REVOKE, form(&[("token", &p.access)]));
    let r = s
        .raw(
            Method::GET,
            &query,
            &[("authorization", auth.as_bytes())],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("allow"), Some("POST"));
    for method in [Method::PUT, Method::DELETE, Method::PATCH] {
        let r = s
            .raw(
                method.clone(),
                &query,
                &[
                    ("authorization", auth.as_bytes()),
                    ("content-type", FORM.as_bytes()),
                ],
                form(&[("token", &p.access)]).into_bytes(),
            )
            .await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
    }
    assert!(s.active(&p.access).await && s.active(&p.refresh).await);
}

#[tokio::test]
async fn rfc7009_2_1_form_only() {
    let s = server();
    let p = s.mint("client-a").await;
    let auth = basic("client-a", "secret-a");
    let json_body = json!({"token": p.access, "token_type_hint": "access_token"}).to_string();
    for (content_type, body) in [
        ("application/json", json_body.clone().into_bytes()),
        ("application/json; charset=utf-8", json_body.into_bytes()),
        ("text/plain", form(&[("token", &p.access)]).into_bytes()),
        (
            "multipart/form-data; boundary=x",
            form(&[("token", &p.access)]).into_bytes(),
        ),
    ] {
        let r = s
            .raw(
                Method::POST,
                paths::REVOKE,
                &[
                    ("authorization", auth.as_bytes()),
                    ("content-type", content_type.as_bytes()),
                ],
                body,
            )
            .await;
        r.assert_error(400, "invalid_request");
    }
    // No Content-Type at all.
    let r = s
        .raw(
            Method::POST,
            paths::REVOKE,
            &[("authorization", auth.as_bytes())],
            form(&[("token", &p.access)]).into_bytes(),
        )
        .await;
    r.assert_error(400, "invalid_request");
    assert!(s.active(&p.access).await);
}

#[tokio::test]
async fn rfc7009_2_https() {
    // The server speaks plain HTTP behind a TLS terminator; what it publishes follows the
    // configured issuer, so an https issuer gives an https revocation endpoint.
    let s = Server::with(ServeOptions {
        config: Some(ServerConfig {
            issuer: Some("https://auth.example/".into()),
            ..ServerConfig::demo()
        }),
        ..Default::default()
    });
    for path in [paths::OIDC_DISCOVERY, paths::AS_METADATA] {
        let doc = s.discovery(path).await;
        assert_eq!(doc["issuer"], "https://auth.example");
        assert_eq!(
            doc["revocation_endpoint"],
            format!("https://auth.example{}", paths::REVOKE)
        );
    }
}

#[tokio::test]
async fn rfc8414_revocation_endpoint() {
    let s = server();
    let doc = s.discovery(paths::AS_METADATA).await;
    assert_eq!(doc["issuer"], ISSUER);
    let endpoint = doc["revocation_endpoint"]
        .as_str()
        .expect("revocation_endpoint");
    assert_eq!(endpoint, revoke_url());
    let parsed = url::Url::parse(endpoint).expect("absolute URL");
    assert_eq!(parsed.path(), paths::REVOKE);
}

#[tokio::test]
async fn rfc8414_auth_methods() {
    let s = server();
    let doc = s.discovery(paths::AS_METADATA).await;
    let methods: Vec<&str> = doc["revocation_endpoint_auth_methods_supported"]
        .as_array()
        .expect("published")
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(
        methods,
        ["client_secret_basic", "client_secret_post", "none"]
    );
    for (method, client) in [
        ("client_secret_basic", "client-a"),
        ("client_secret_post", "client-b"),
        ("none", "public-client"),
    ] {
        assert!(methods.contains(&method));
        let p = s.mint(client).await;
        s.revoke_as(client, &p.access).await.assert_revoke_ok();
        assert!(!s.active(&p.access).await, "{method} did not revoke");
    }
}

#[tokio::test]
async fn rfc7009_2_2_1_retry_after() {
    let s = server();
    let p = s.mint("client-a").await;
    let r = s
        .revoke_with(
            registered("client-a"),
            &form(&[("token", &p.access)]),
            &[("X-Revspec-Simulate", "unavailable")],
        )
        .await;
    r.assert_error(503, "temporarily_unavailable");
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("delay-seconds");
    assert!(retry > 0);
    assert!(s.active(&p.access).await);

    // Without the setting the header means nothing.
    let quiet = Server::with(ServeOptions {
        config: Some(ServerConfig {
            simulate_unavailable_header: false,
            ..ServerConfig::demo()
        }),
        ..Default::default()
    });
    let p = quiet.mint("client-a").await;
    quiet
        .revoke_with(
            registered("client-a"),
            &form(&[("token", &p.access)]),
            &[("X-Revspec-Simulate", "unavailable")],
        )
        .await
        .assert_revoke_ok();
    assert!(!quiet.active(&p.access).await);
}

#[tokio::test]
async fn rfc7009_2_3_cors() {
    let s = server();
    let r = s.send(preflight("https://app.example")).await;
    assert!(r.status.is_success(), "preflight {}", r.status);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    let methods = r.header("access-control-allow-methods").unwrap_or_default();
    assert!(methods.contains("POST"), "allow-methods {methods}");
    let headers = r
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(headers.contains("authorization") && headers.contains("content-type"));

    let r = s.send(preflight("https://evil.example")).await;
    assert_eq!(r.header("access-control-allow-origin"), None);

    // The cross-origin POST itself.
    let p = s.mint("client-a").await;
    let r = s
        .revoke_with(
            registered("client-a"),
            &form(&[("token", &p.access)]),
            &[("origin", "https://app.example")],
        )
        .await;
    r.assert_revoke_ok();
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert!(!s.active(&p.access).await);
}

#[tokio::test]
async fn rfc7009_5_scanning_oracle() {
    // Recorded behaviour: an unknown token gets 200, another client's token 400 (Janssen's
    // answer), so the two can be told apart by status.
    let s = server();
    let b = s.mint("client-b").await;
    let unknown = s.revoke_as("client-a", "no-such-token").await;
    let foreign = s.revoke_as("client-a", &b.access).await;
    unknown.assert_revoke_ok();
    foreign.assert_error(400, "invalid_request");
    assert_ne!(unknown.status, foreign.status);
    assert!(s.active(&b.access).await);
}

#[tokio::test]
async fn rfc7009_2_1_public_client() {
    let s = server();
    let p = s.mint("public-client").await;
    let r = s
        .revoke(
            Auth::Public("public-client"),
            &form(&[("token", &p.access)]),
        )
        .await;
    r.assert_revoke_ok();
    assert!(!s.active(&p.access).await && !s.active(&p.refresh).await);
    // Its id alone does not let it revoke another client's token.
    let a = s.mint("client-a").await;
    s.revoke(
        Auth::Public("public-client"),
        &form(&[("token", &a.access)]),
    )
    .await
    .assert_error(400, "invalid_request");
    // Nor may it present a secret.
    s.revoke(
        Auth::Post("public-client", "anything"),
        &form(&[("token", &a.access)]),
    )
    .await
    .assert_error(401, "invalid_client");
    assert!(s.active(&a.access).await);
}

// ---------------------------------------------------------------------------------------------
// Profile janssen
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn jans_grant_cascade_rt() {
    let s = server();
    let p = s.mint("client-a").await;
    let r = s.refresh("client-a", &p.refresh).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let refreshed = r.json()["access_token"].as_str().unwrap().to_owned();
    assert!(s.active(&refreshed).await);
    s.revoke(
        registered("client-a"),
        &form(&[("token", &p.refresh), ("token_type_hint", "refresh_token")]),
    )
    .await
    .assert_revoke_ok();
    for t in [&p.access, &refreshed, &p.refresh] {
        assert!(!s.active(t).await);
    }
    assert_eq!(
        s.userinfo(&refreshed).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn jans_grant_cascade_at() {
    let s = server();
    let p = s.mint("client-a").await;
    let r = s.refresh("client-a", &p.refresh).await;
    let refreshed = r.json()["access_token"].as_str().unwrap().to_owned();
    s.revoke(
        registered("client-a"),
        &form(&[("token", &p.access), ("token_type_hint", "access_token")]),
    )
    .await
    .assert_revoke_ok();
    for t in [&p.access, &refreshed, &p.refresh] {
        assert!(!s.active(t).await);
    }
    s.refresh("client-a", &p.refresh)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn jans_grant_cascade_isolation() {
    let s = server();
    let a1 = s.mint("client-a").await;
    let a2 = s.mint("client-a").await;
    let b = s.mint("client-b").await;
    let c = s.mint("client-c").await;
    s.revoke_as("client-a", &a1.access).await.assert_revoke_ok();
    assert!(!s.active(&a1.refresh).await);
    for t in [
        &a2.access,
        &a2.refresh,
        &b.access,
        &b.refresh,
        &c.access,
        &c.refresh,
    ] {
        assert!(s.active(t).await, "a token of another grant was revoked");
    }
}

#[tokio::test]
async fn jans_all_enabled() {
    let s = server();
    s.set("allowAllValueForRevokeEndpoint", json!(true)).await;
    let spellings = [
        "token=all&token_type_hint=all".to_owned(),
        "token=all".to_owned(),
    ];
    for body in &spellings {
        let a1 = s.mint("client-a").await;
        let a2 = s.mint("client-a").await;
        let b = s.mint("client-b").await;
        s.revoke(registered("client-a"), body)
            .await
            .assert_revoke_ok();
        for t in [&a1.access, &a1.refresh, &a2.access, &a2.refresh] {
            assert!(!s.active(t).await, "{body}: a token of the client survived");
        }
        assert!(s.active(&b.access).await && s.active(&b.refresh).await);
    }
    // A real token with the hint `all` revokes every token of the client too.
    let a1 = s.mint("client-a").await;
    let a2 = s.mint("client-a").await;
    s.revoke(
        registered("client-a"),
        &form(&[("token", &a1.access), ("token_type_hint", "all")]),
    )
    .await
    .assert_revoke_ok();
    assert!(!s.active(&a2.access).await && !s.active(&a2.refresh).await);
    // client_secret_post clients can do it as well.
    let b1 = s.mint("client-b").await;
    s.revoke(registered("client-b"), "token=all&token_type_hint=all")
        .await
        .assert_revoke_ok();
    assert!(!s.active(&b1.access).await && !s.active(&b1.refresh).await);
}

#[tokio::test]
async fn jans_all_own_client() {
    let s = server();
    s.set("allowAllValueForRevokeEndpoint", json!(true)).await;
    let a = s.mint("client-a").await;
    let others = [
        s.mint("client-b").await,
        s.mint("client-c").await,
        s.mint("public-client").await,
    ];
    s.revoke(registered("client-a"), "token=all&token_type_hint=all")
        .await
        .assert_revoke_ok();
    assert!(!s.active(&a.access).await);
    for p in &others {
        assert!(s.active(&p.access).await && s.active(&p.refresh).await);
    }
}

#[tokio::test]
async fn jans_all_disabled() {
    let s = server();
    s.set("allowAllValueForRevokeEndpoint", json!(false)).await;
    let a1 = s.mint("client-a").await;
    let a2 = s.mint("client-a").await;
    for body in ["token=all&token_type_hint=all", "token=all", "token=ALL"] {
        s.revoke(registered("client-a"), body)
            .await
            .assert_revoke_ok();
        for t in [&a1.access, &a1.refresh, &a2.access, &a2.refresh] {
            assert!(s.active(t).await, "{body} revoked with the setting off");
        }
    }
    // A token literally named is revoked (its grant), nothing else.
    s.revoke(
        registered("client-a"),
        &form(&[("token", &a1.access), ("token_type_hint", "all")]),
    )
    .await
    .assert_revoke_ok();
    assert!(!s.active(&a1.access).await && !s.active(&a1.refresh).await);
    assert!(s.active(&a2.access).await && s.active(&a2.refresh).await);
}

#[tokio::test]
async fn jans_all_variants() {
    // Recorded: both spellings are honoured; an access/refresh hint narrows the sweep.
    let s = server();
    s.set("allowAllValueForRevokeEndpoint", json!(true)).await;
    let a = s.mint("client-a").await;
    let other = s.mint("client-a").await;
    s.revoke(
        registered("client-a"),
        &form(&[("token", &a.refresh), ("token_type_hint", "all")]),
    )
    .await
    .assert_revoke_ok();
    assert!(
        !s.active(&other.access).await,
        "token_type_hint=all ignored"
    );
    let a = s.mint("client-a").await;
    s.revoke(registered("client-a"), "token=all")
        .await
        .assert_revoke_ok();
    assert!(!s.active(&a.access).await, "token=all ignored");

    let p1 = s.mint("client-a").await;
    let p2 = s.mint("client-a").await;
    s.revoke(
        registered("client-a"),
        "token=all&token_type_hint=refresh_token",
    )
    .await
    .assert_revoke_ok();
    assert!(!s.active(&p1.refresh).await && !s.active(&p2.refresh).await);
    assert!(s.active(&p1.access).await && s.active(&p2.access).await);
    s.revoke(
        registered("client-a"),
        "token=all&token_type_hint=access_token",
    )
    .await
    .assert_revoke_ok();
    assert!(!s.active(&p1.access).await && !s.active(&p2.access).await);
}

#[tokio::test]
async fn jans_cross_client_default() {
    let s = server();
    let a = s.mint("client-a").await;
    for caller in ["client-b", "client-c"] {
        for token in [&a.access, &a.refresh] {
            s.revoke_as(caller, token)
                .await
                .assert_error(400, "invalid_request");
        }
    }
    assert!(s.active(&a.access).await && s.active(&a.refresh).await);
}

#[tokio::test]
async fn jans_cross_client_no_scope() {
    let s = server();
    s.set("allowRevokeForOtherClients", json!(true)).await;
    let a = s.mint("client-a").await;
    let b = s.mint("client-b").await;
    s.revoke_as("client-b", &a.access)
        .await
        .assert_error(400, "invalid_request");
    s.revoke_as("client-a", &b.refresh)
        .await
        .assert_error(400, "invalid_request");
    s.revoke_as("public-client", &a.refresh)
        .await
        .assert_error(400, "invalid_request");
    for t in [&a.access, &a.refresh, &b.access, &b.refresh] {
        assert!(s.active(t).await);
    }
}

#[tokio::test]
async fn jans_cross_client_scope_only() {
    let s = server();
    s.set("allowRevokeForOtherClients", json!(false)).await;
    let a = s.mint("client-a").await;
    s.revoke_as("client-c", &a.access)
        .await
        .assert_error(400, "invalid_request");
    // A mix of its own and a foreign token is refused as a whole: nothing is revoked.
    let c = s.mint("client-c").await;
    s.revoke(
        registered("client-c"),
        &form(&[("token", &format!("{} {}", c.access, a.access))]),
    )
    .await
    .assert_error(400, "invalid_request");
    assert!(s.active(&a.access).await && s.active(&a.refresh).await);
    assert!(s.active(&c.access).await);
}

#[tokio::test]
async fn jans_cross_client_allowed() {
    let s = server();
    s.set("allowRevokeForOtherClients", json!(true)).await;
    let a = s.mint("client-a").await;
    let b = s.mint("client-b").await;
    s.revoke_as("client-c", &a.access).await.assert_revoke_ok();
    assert!(!s.active(&a.access).await && !s.active(&a.refresh).await);
    assert!(s.active(&b.access).await && s.active(&b.refresh).await);
    s.revoke_as("client-c", &b.refresh).await.assert_revoke_ok();
    assert!(!s.active(&b.access).await);
}

#[tokio::test]
async fn client_scope_patch_enables_cross_client_revocation() {
    let s = server();
    s.set("allowRevokeForOtherClients", json!(true)).await;
    let b = s.mint("client-b").await;
    s.revoke_as("client-a", &b.access)
        .await
        .assert_error(400, "invalid_request");
    assert!(s.active(&b.access).await);
    let r = s.add_client_scope("client-a", "revoke_any_token").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.json()["scopes"]
        .as_array()
        .unwrap()
        .contains(&json!("revoke_any_token")));
    s.revoke_as("client-a", &b.access).await.assert_revoke_ok();
    assert!(!s.active(&b.access).await && !s.active(&b.refresh).await);
    // The scope alone is not enough once the setting is off again.
    s.set("allowRevokeForOtherClients", json!(false)).await;
    let b = s.mint("client-b").await;
    s.revoke_as("client-a", &b.access)
        .await
        .assert_error(400, "invalid_request");
    assert!(s.active(&b.access).await);
}

#[tokio::test]
async fn jans_flag_disabled() {
    let s = server();
    let p = s.mint("client-a").await;
    s.set("featureFlags", json!(["userinfo", "introspection"]))
        .await;
    for body in [
        form(&[("token", &p.access)]),
        form(&[("token", &p.refresh), ("token_type_hint", "refresh_token")]),
        "token=unknown".to_owned(),
    ] {
        let r = s.revoke(registered("client-a"), &body).await;
        r.assert_error(403, "access_denied");
        // access_denied is not an RFC 6750 refusal: no challenge.
        assert_eq!(r.header("www-authenticate"), None);
    }
    s.revoke(registered("client-b"), "token=x")
        .await
        .assert_error(403, "access_denied");
    assert!(s.active(&p.access).await && s.active(&p.refresh).await);
}

#[tokio::test]
async fn jans_flag_disabled_discovery() {
    let s = server();
    for path in [paths::OIDC_DISCOVERY, paths::AS_METADATA] {
        assert_eq!(s.discovery(path).await["revocation_endpoint"], revoke_url());
    }
    s.set("featureFlags", json!(["userinfo", "introspection"]))
        .await;
    for path in [paths::OIDC_DISCOVERY, paths::AS_METADATA] {
        let doc = s.discovery(path).await;
        assert!(doc.get("revocation_endpoint").is_none(), "{path}: {doc}");
        assert!(doc.get("token_endpoint").is_some());
    }
    s.set("featureFlags", json!(["userinfo", "revoke_token"]))
        .await;
    assert_eq!(
        s.discovery(paths::OIDC_DISCOVERY).await["revocation_endpoint"],
        revoke_url()
    );
}

#[tokio::test]
async fn jans_flag_auth_first() {
    let s = server();
    let p = s.mint("client-a").await;
    s.set("featureFlags", json!(["userinfo", "introspection"]))
        .await;
    let tok = form(&[("token", &p.access)]);
    for auth in [
        Auth::Basic("client-a", "wrong"),
        Auth::Post("client-b", "wrong"),
        Auth::Nothing,
    ] {
        let r = s.revoke(auth, &tok).await;
        r.assert_error(401, "invalid_client");
        assert_eq!(r.header("www-authenticate"), Some(BASIC_CHALLENGE));
    }
    assert!(s.active(&p.access).await);
}

#[tokio::test]
async fn jans_flag_empty_means_enabled() {
    let s = server();
    s.set("featureFlags", json!([])).await;
    let p = s.mint("client-a").await;
    s.revoke_as("client-a", &p.access).await.assert_revoke_ok();
    assert!(!s.active(&p.access).await);
    s.set("featureFlags", json!(["userinfo", "introspection"]))
        .await;
    let p = s.mint("client-a").await;
    s.revoke_as("client-a", &p.access)
        .await
        .assert_error(403, "access_denied");
    s.set("featureFlags", json!([])).await;
    s.revoke_as("client-a", &p.access).await.assert_revoke_ok();
    assert!(!s.active(&p.access).await);
    // The flag's name is case-insensitive.
    s.set("featureFlags", json!(["REVOKE_TOKEN", "introspection"]))
        .await;
    let p = s.mint("client-a").await;
    s.revoke_as("client-a", &p.access).await.assert_revoke_ok();
    assert!(!s.active(&p.access).await);
}

#[tokio::test]
async fn jans_discovery_endpoint() {
    let s = server();
    let doc = s.discovery(paths::OIDC_DISCOVERY).await;
    assert_eq!(doc["issuer"], ISSUER);
    assert_eq!(doc["revocation_endpoint"], revoke_url());
    assert_eq!(doc["token_endpoint"], format!("{ISSUER}{}", paths::TOKEN));
}

#[tokio::test]
async fn jans_success_headers() {
    let s = server();
    let p = s.mint("client-a").await;
    // A real revocation, an unknown token and an idempotent repeat all look the same.
    for _ in 0..2 {
        s.revoke_as("client-a", &p.access).await.assert_revoke_ok();
    }
    s.revoke_as("client-a", "unknown").await.assert_revoke_ok();
    s.revoke_as("client-b", "unknown").await.assert_revoke_ok();
}

#[tokio::test]
async fn jans_invalid_client_realm() {
    let s = server();
    for auth in [
        Auth::Basic("client-a", "wrong"),
        Auth::Post("client-b", "wrong"),
        Auth::Nothing,
    ] {
        let r = s.revoke(auth, "token=x").await;
        r.assert_error(401, "invalid_client");
        assert_eq!(r.header("www-authenticate"), Some(BASIC_CHALLENGE));
    }
}

#[tokio::test]
async fn jans_multi_token() {
    let s = server();
    let p1 = s.mint("client-a").await;
    let p2 = s.mint("client-a").await;
    let keep = s.mint("client-a").await;
    let both = format!("{} {} unknown-token", p1.access, p2.refresh);
    s.revoke(registered("client-a"), &form(&[("token", &both)]))
        .await
        .assert_revoke_ok();
    for t in [&p1.access, &p1.refresh, &p2.access, &p2.refresh] {
        assert!(!s.active(t).await);
    }
    assert!(s.active(&keep.access).await && s.active(&keep.refresh).await);
}

#[tokio::test]
async fn jans_script_veto() {
    let s = server_with_script();
    let p = s.mint("client-a").await;
    let tok = form(&[("token", &p.access)]);
    let r = s
        .revoke_with(registered("client-a"), &tok, &[("X-Revoke-Veto", "true")])
        .await;
    r.assert_revoke_ok();
    assert_eq!(r.header("x-revoke-script"), Some("vetoed"));
    assert!(s.active(&p.access).await && s.active(&p.refresh).await);

    for extra in [&[][..], &[("X-Revoke-Veto", "false")][..]] {
        let p = s.mint("client-a").await;
        let r = s
            .revoke_with(
                registered("client-a"),
                &form(&[("token", &p.access)]),
                extra,
            )
            .await;
        r.assert_revoke_ok();
        assert_eq!(r.header("x-revoke-script"), Some("allowed"));
        assert!(!s.active(&p.access).await && !s.active(&p.refresh).await);
    }
    // The veto does not bypass authentication (the script runs after it).
    s.revoke_with(
        Auth::Basic("client-a", "wrong"),
        &tok,
        &[("X-Revoke-Veto", "true")],
    )
    .await
    .assert_error(401, "invalid_client");
    // Without a script there is no such header.
    let plain = server();
    let p = plain.mint("client-a").await;
    let r = plain
        .revoke_with(
            registered("client-a"),
            &form(&[("token", &p.access)]),
            &[("X-Revoke-Veto", "true")],
        )
        .await;
    r.assert_revoke_ok();
    assert_eq!(r.header("x-revoke-script"), None);
    assert!(!plain.active(&p.access).await);
}

// ---------------------------------------------------------------------------------------------
// The server's own surfaces
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn config_api_requires_bearer_scope_and_valid_patch() {
    let s = server();
    let patch = json!([{"op": "replace", "path": "/allowRevokeForOtherClients", "value": true}])
        .to_string();
    // No bearer token.
    let r = s.patch(paths::CONFIG, None, &patch).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"], "invalid_token");
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    // A revoked or made-up bearer token.
    let r = s.patch(paths::CONFIG, Some("made-up"), &patch).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // A token without the scope: client-a's, and config-admin's read-only one.
    let a = s.mint("client-a").await;
    let r = s.patch(paths::CONFIG, Some(&a.access), &patch).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error"], "insufficient_scope");
    let read_only = s.admin_token(PROPERTIES_READ_SCOPE).await;
    let r = s.patch(paths::CONFIG, Some(&read_only), &patch).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // ... which can read, though.
    let r = s
        .raw(
            Method::GET,
            paths::CONFIG,
            &[("authorization", format!("Bearer {read_only}").as_bytes())],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["allowRevokeForOtherClients"], false);
    // A properties token cannot patch clients.
    let write = s.admin_token(PROPERTIES_WRITE_SCOPE).await;
    let client_patch =
        json!([{"op": "add", "path": "/scopes/-", "value": "revoke_any_token"}]).to_string();
    let r = s
        .patch(
            &format!("{}/client-a", paths::CLIENTS),
            Some(&write),
            &client_patch,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Malformed patches.
    for bad in [
        "not json",
        r#"{"op":"replace","path":"/allowRevokeForOtherClients","value":true}"#,
        r#"[{"op":"frobnicate","path":"/allowRevokeForOtherClients"}]"#,
        r#"[{"op":"replace","path":"/noSuchProperty","value":1}]"#,
        r#"[{"op":"add","path":"/noSuchProperty","value":1}]"#,
        r#"[{"op":"replace","path":"/allowRevokeForOtherClients","value":"yes"}]"#,
        r#"[{"op":"test","path":"/allowRevokeForOtherClients","value":true},{"op":"replace","path":"/allowAllValueForRevokeEndpoint","value":true}]"#,
        // Lifetimes that would overflow expiry arithmetic or make every token born expired.
        r#"[{"op":"replace","path":"/accessTokenLifetime","value":18446744073709551615}]"#,
        r#"[{"op":"replace","path":"/refreshTokenLifetime","value":0}]"#,
    ] {
        let r = s.patch(paths::CONFIG, Some(&write), bad).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text());
        assert_eq!(r.json()["error"], "invalid_request");
    }
    // Nothing of that was applied: tokens are still issued, and live.
    let after = s.mint("client-a").await;
    assert!(s.active(&after.access).await);
    // A client patch may only touch the scopes.
    let clients_token = s.admin_token(CLIENTS_WRITE_SCOPE).await;
    let r = s
        .patch(
            &format!("{}/client-a", paths::CLIENTS),
            Some(&clients_token),
            r#"[{"op":"add","path":"/secret","value":"x"}]"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Nothing changed.
    let r = s
        .raw(
            Method::GET,
            paths::CONFIG,
            &[("authorization", format!("Bearer {write}").as_bytes())],
            vec![],
        )
        .await;
    let config = r.json();
    assert_eq!(config["allowRevokeForOtherClients"], false);
    assert_eq!(config["allowAllValueForRevokeEndpoint"], false);
    // And the valid patch works.
    let r = s.patch(paths::CONFIG, Some(&write), &patch).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["allowRevokeForOtherClients"], true);
}

#[tokio::test]
async fn refresh_grant_issues_access_token_in_same_grant() {
    let s = server();
    let p = s.mint("client-a").await;
    let r = s.refresh("client-a", &p.refresh).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let v = r.json();
    let fresh = v["access_token"].as_str().unwrap().to_owned();
    assert_ne!(fresh, p.access);
    assert_eq!(v["token_type"], "Bearer");
    assert!(v.get("refresh_token").is_none(), "no rotation by default");
    assert!(s.active(&fresh).await && s.active(&p.access).await);
    // Another client cannot use the refresh token.
    s.refresh("client-c", &p.refresh)
        .await
        .assert_error(400, "invalid_grant");
    // Same grant: revoking the refresh token revokes the new access token.
    s.revoke_as("client-a", &p.refresh).await.assert_revoke_ok();
    assert!(!s.active(&fresh).await);
    s.refresh("client-a", &p.refresh)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn userinfo_live_token_then_401_after_revocation() {
    let s = server();
    let p = s.mint("client-a").await;
    let r = s.userinfo(&p.access).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["sub"], "alice");
    // A refresh token is not an access token.
    assert_eq!(
        s.userinfo(&p.refresh).await.status,
        StatusCode::UNAUTHORIZED
    );
    s.revoke_as("client-a", &p.access).await.assert_revoke_ok();
    let r = s.userinfo(&p.access).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"], "invalid_token");
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
}

#[tokio::test]
async fn bodies_over_64_kib_get_413() {
    let s = server();
    let p = s.mint("client-a").await;
    let limit = revspec::server::extract::form::BODY_LIMIT;
    assert_eq!(limit, 64 * 1024);
    // Exactly at the limit: read, and an unknown token is a 200.
    let at_limit = format!("token={}", "a".repeat(limit - "token=".len()));
    assert_eq!(at_limit.len(), limit);
    s.revoke(registered("client-a"), &at_limit)
        .await
        .assert_revoke_ok();
    // One byte more (with a real token in it): 413 with a JSON error, nothing revoked.
    let prefix = format!("token={}&x=", p.access);
    let over = format!("{prefix}{}", "a".repeat(limit + 1 - prefix.len()));
    assert_eq!(over.len(), limit + 1);
    s.revoke(registered("client-a"), &over)
        .await
        .assert_error(413, "invalid_request");
    for path in [paths::TOKEN, paths::INTROSPECTION] {
        let r = s.post(path, registered("client-a"), &over, &[]).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert_eq!(r.json()["error"], "invalid_request");
    }
    assert!(s.active(&p.access).await);
}

#[tokio::test]
async fn malformed_input_gets_4xx_json_never_500() {
    let s = server();
    let p = s.mint("client-a").await;
    let good = basic("client-a", "secret-a");
    let b64 = |raw: &[u8]| {
        let mut v = b"Basic ".to_vec();
        v.extend(
            base64::engine::general_purpose::STANDARD
                .encode(raw)
                .bytes(),
        );
        v
    };
    let token_body = form(&[("token", &p.access)]).into_bytes();
    // (Authorization header, body, expected status, expected code)
    let cases: Vec<(Vec<u8>, Vec<u8>, u16, &str)> = vec![
        (
            good.clone().into_bytes(),
            b"token=%zz".to_vec(),
            400,
            "invalid_request",
        ),
        (
            good.clone().into_bytes(),
            b"token=%".to_vec(),
            400,
            "invalid_request",
        ),
        (
            good.clone().into_bytes(),
            b"token=%4".to_vec(),
            400,
            "invalid_request",
        ),
        (
            good.clone().into_bytes(),
            b"%zz=1".to_vec(),
            400,
            "invalid_request",
        ),
        (
            good.clone().into_bytes(),
            b"token=%ff%fe".to_vec(),
            400,
            "invalid_request",
        ),
        (
            good.clone().into_bytes(),
            b"token=\xff\xfe".to_vec(),
            400,
            "invalid_request",
        ),
        (
            good.clone().into_bytes(),
            b"\xc3=1".to_vec(),
            400,
            "invalid_request",
        ),
        (
            good.clone().into_bytes(),
            b"=1".to_vec(),
            400,
            "invalid_request",
        ),
        (
            b"Basic !!!".to_vec(),
            token_body.clone(),
            401,
            "invalid_client",
        ),
        (b"Basic".to_vec(), token_body.clone(), 401, "invalid_client"),
        (b64(b"client-a"), token_body.clone(), 401, "invalid_client"),
        (
            b64(b"\xff\xfe:secret"),
            token_body.clone(),
            401,
            "invalid_client",
        ),
        (
            b64(b"client-a:%zz"),
            token_body.clone(),
            401,
            "invalid_client",
        ),
        (
            b"Basic \xff\xfe".to_vec(),
            token_body.clone(),
            401,
            "invalid_client",
        ),
        (
            b"\xff\xfe".to_vec(),
            token_body.clone(),
            401,
            "invalid_client",
        ),
    ];
    for path in [paths::REVOKE, paths::TOKEN, paths::INTROSPECTION] {
        for (auth, body, status, code) in &cases {
            let r = s
                .raw(
                    Method::POST,
                    path,
                    &[
                        ("authorization", auth.as_slice()),
                        ("content-type", FORM.as_bytes()),
                    ],
                    body.clone(),
                )
                .await;
            assert!(r.status.as_u16() < 500, "{path} answered {}", r.status);
            let what = format!(
                "{path} auth={:?} body={:?}",
                String::from_utf8_lossy(auth),
                String::from_utf8_lossy(body)
            );
            assert_eq!(r.status.as_u16(), *status, "{what}: {}", r.text());
            assert_eq!(r.json()["error"], *code, "{what}");
            if *status == 401 {
                assert_eq!(
                    r.header("www-authenticate"),
                    Some(BASIC_CHALLENGE),
                    "{what}"
                );
            }
        }
    }
    // Basic with an id and secret that are form-urlencoded is understood.
    let r = s
        .raw(
            Method::POST,
            paths::REVOKE,
            &[
                ("authorization", b64(b"client%2Da:secret%2Da").as_slice()),
                ("content-type", FORM.as_bytes()),
            ],
            b"token=unknown".to_vec(),
        )
        .await;
    r.assert_revoke_ok();
    assert!(s.active(&p.access).await);
}

#[tokio::test]
async fn token_type_hint_foo_and_wrong_hints() {
    // Complements rfc7009_2_2_unknown_hint_ignored / rfc7009_2_1_hint_fallback with the
    // refresh side: hint=foo on a refresh token, and both hints on both kinds.
    let s = server();
    for (which, hint) in [
        ("refresh", "foo"),
        ("refresh", "access_token"),
        ("access", "refresh_token"),
        ("access", ""),
    ] {
        let p = s.mint("client-b").await;
        let token = if which == "refresh" {
            &p.refresh
        } else {
            &p.access
        };
        s.revoke(
            registered("client-b"),
            &form(&[("token", token), ("token_type_hint", hint)]),
        )
        .await
        .assert_revoke_ok();
        assert!(
            !s.active(&p.access).await && !s.active(&p.refresh).await,
            "{which} with hint {hint:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

const NO_CASE: &str = "NO CASE";

macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// The options to run `fault`'s case with; `injected: false` gives the same server without it.
fn fault_options(fault: Fault, injected: bool) -> ServeOptions {
    let script = fault == Fault::ScriptIgnored;
    ServeOptions {
        fault: injected.then_some(fault),
        revoke_script: script.then(|| SCRIPT.into()),
        ..Default::default()
    }
}

/// Runs the check of what `fault` does wrong; `Ok` means the misbehaviour was observed.
async fn exhibits(fault: Fault, s: &Server) -> Result<(), String> {
    let a = registered("client-a");
    match fault {
        Fault::UnknownToken400 => {
            let r = s.revoke(a, "token=no-such-token").await;
            check!(r.status == 400, "unknown token answered {}", r.status);
        }
        Fault::RevokedToken400 => {
            let p = s.mint("client-a").await;
            let first = s.revoke_as("client-a", &p.access).await;
            check!(first.status == 200, "first revocation {}", first.status);
            let again = s.revoke_as("client-a", &p.access).await;
            check!(again.status == 400, "second revocation {}", again.status);
            // Only a token it revoked: an unknown one is still a 200.
            let unknown = s.revoke_as("client-a", "never-issued").await;
            check!(unknown.status == 200, "unknown token {}", unknown.status);
        }
        Fault::RefreshIgnored => {
            let p = s.mint("client-a").await;
            let body = form(&[("token", &p.refresh), ("token_type_hint", "refresh_token")]);
            let r = s.revoke(a, &body).await;
            check!(r.status == 200, "status {}", r.status);
            check!(s.active(&p.refresh).await, "refresh token revoked");
        }
        Fault::AccessIgnored => {
            let p = s.mint("client-a").await;
            let body = form(&[("token", &p.access), ("token_type_hint", "access_token")]);
            let r = s.revoke(a, &body).await;
            check!(r.status == 200, "status {}", r.status);
            check!(s.active(&p.access).await, "access token revoked");
        }
        Fault::NoCascadeRt => {
            let p = s.mint("client-a").await;
            let r = s.revoke_as("client-a", &p.refresh).await;
            check!(r.status == 200, "status {}", r.status);
            check!(!s.active(&p.refresh).await, "refresh token itself kept");
            check!(s.active(&p.access).await, "access token cascaded");
        }
        Fault::NoCascadeAt => {
            let p = s.mint("client-a").await;
            let r = s.revoke_as("client-a", &p.access).await;
            check!(r.status == 200, "status {}", r.status);
            check!(!s.active(&p.access).await, "access token itself kept");
            check!(s.active(&p.refresh).await, "refresh token cascaded");
        }
        Fault::CascadeTooWide => {
            let p1 = s.mint("client-a").await;
            let p2 = s.mint("client-a").await;
            let b = s.mint("client-b").await;
            let r = s.revoke_as("client-a", &p1.access).await;
            check!(r.status == 200, "status {}", r.status);
            check!(!s.active(&p2.access).await, "other grant kept");
            check!(!s.active(&p2.refresh).await, "other grant's refresh kept");
            check!(s.active(&b.access).await, "another client's grant revoked");
        }
        Fault::LazyRevocation => {
            let p = s.mint("client-a").await;
            let r = s.revoke_as("client-a", &p.access).await;
            check!(r.status == 200, "status {}", r.status);
            check!(s.active(&p.access).await, "revoked at once");
            tokio::time::sleep(Duration::from_millis(2000)).await;
            check!(!s.active(&p.access).await, "still active after 2 s");
            check!(!s.active(&p.refresh).await, "grant still active after 2 s");
        }
        Fault::HintStrict => {
            let p = s.mint("client-a").await;
            let body = form(&[("token", &p.refresh), ("token_type_hint", "access_token")]);
            let r = s.revoke(a, &body).await;
            check!(r.status == 200, "status {}", r.status);
            check!(s.active(&p.refresh).await, "revoked despite the wrong hint");
            // The right hint still works.
            let body = form(&[("token", &p.refresh), ("token_type_hint", "refresh_token")]);
            s.revoke(a, &body).await;
            check!(!s.active(&p.refresh).await, "the right hint did not revoke");
        }
        Fault::UnknownHintRejected => {
            let p = s.mint("client-a").await;
            let body = form(&[("token", &p.access), ("token_type_hint", "foo")]);
            let r = s.revoke(a, &body).await;
            check!(
                r.status == 400 && r.json()["error"] == "unsupported_token_type",
                "answered {} {}",
                r.status,
                r.text()
            );
            check!(s.active(&p.access).await, "revoked");
        }
        Fault::TokenOptional => {
            let r = s.revoke(a, "token_type_hint=access_token").await;
            check!(r.status == 200, "no token answered {}", r.status);
        }
        Fault::EmptyTokenAccepted => {
            let r = s.revoke(a, "token=").await;
            check!(r.status == 200, "empty token answered {}", r.status);
        }
        Fault::NoClientAuth => {
            let p = s.mint("client-a").await;
            let r = s
                .revoke(Auth::Nothing, &form(&[("token", &p.access)]))
                .await;
            check!(r.status == 200, "status {}", r.status);
            check!(!s.active(&p.access).await, "not revoked");
            // Still refused when the token names no client.
            let r = s.revoke(Auth::Nothing, "token=unknown").await;
            check!(r.status == 401, "unknown token without auth {}", r.status);
        }
        Fault::WrongSecretAccepted => {
            let p = s.mint("client-a").await;
            let r = s
                .revoke(
                    Auth::Basic("client-a", "wrong"),
                    &form(&[("token", &p.access)]),
                )
                .await;
            check!(r.status == 200, "status {}", r.status);
            check!(!s.active(&p.access).await, "not revoked");
        }
        Fault::CrossClientAllowed => {
            let p = s.mint("client-a").await;
            let r = s.revoke_as("client-b", &p.access).await;
            check!(r.status == 200, "status {}", r.status);
            check!(!s.active(&p.access).await, "not revoked");
        }
        Fault::ScopeIgnored => {
            s.set("allowRevokeForOtherClients", json!(true)).await;
            let p = s.mint("client-a").await;
            let r = s.revoke_as("client-b", &p.access).await;
            check!(r.status == 200, "status {}", r.status);
            check!(!s.active(&p.access).await, "not revoked");
        }
        Fault::OtherClientsSettingIgnored => {
            s.set("allowRevokeForOtherClients", json!(false)).await;
            let p = s.mint("client-a").await;
            let r = s.revoke_as("client-c", &p.access).await;
            check!(r.status == 200, "status {}", r.status);
            check!(!s.active(&p.access).await, "not revoked");
            // Without the scope it is still refused.
            let p = s.mint("client-a").await;
            let r = s.revoke_as("client-b", &p.access).await;
            check!(r.status == 400, "client-b without the scope {}", r.status);
        }
        Fault::CrossClientRefused => {
            s.set("allowRevokeForOtherClients", json!(true)).await;
            let p = s.mint("client-a").await;
            let r = s.revoke_as("client-c", &p.access).await;
            check!(r.status == 400, "status {}", r.status);
            check!(s.active(&p.access).await, "revoked");
        }
        Fault::FlagIgnored => {
            s.set("featureFlags", json!(["userinfo", "introspection"]))
                .await;
            let p = s.mint("client-a").await;
            let r = s.revoke_as("client-a", &p.access).await;
            check!(r.status == 200, "status {}", r.status);
            check!(!s.active(&p.access).await, "not revoked");
        }
        Fault::FlagBeforeAuth => {
            s.set("featureFlags", json!(["userinfo", "introspection"]))
                .await;
            let r = s.revoke(Auth::Basic("client-a", "wrong"), "token=x").await;
            check!(
                r.status == 403 && r.json()["error"] == "access_denied",
                "wrong secret answered {} {}",
                r.status,
                r.text()
            );
        }
        Fault::EmptyFlagsDisable => {
            s.set("featureFlags", json!([])).await;
            let p = s.mint("client-a").await;
            let r = s.revoke_as("client-a", &p.access).await;
            check!(r.status == 403, "status {}", r.status);
            check!(s.active(&p.access).await, "revoked");
            // Listing the flag enables it.
            s.set("featureFlags", json!(["revoke_token"])).await;
            let r = s.revoke_as("client-a", &p.access).await;
            check!(r.status == 200, "with the flag listed {}", r.status);
        }
        Fault::DiscoveryIgnoresFlag => {
            s.set("featureFlags", json!(["userinfo", "introspection"]))
                .await;
            let doc = s.discovery(paths::OIDC_DISCOVERY).await;
            check!(
                doc.get("revocation_endpoint").is_some(),
                "revocation_endpoint dropped"
            );
        }
        Fault::OidcDiscoveryOmitsRevocation => {
            let oidc = s.discovery(paths::OIDC_DISCOVERY).await;
            check!(
                oidc.get("revocation_endpoint").is_none(),
                "openid-configuration publishes it"
            );
            let meta = s.discovery(paths::AS_METADATA).await;
            check!(
                meta.get("revocation_endpoint").is_some(),
                "RFC 8414 metadata lost it too"
            );
        }
        Fault::MetadataOmitsRevocation => {
            let meta = s.discovery(paths::AS_METADATA).await;
            check!(
                meta.get("revocation_endpoint").is_none(),
                "RFC 8414 metadata publishes it"
            );
            let oidc = s.discovery(paths::OIDC_DISCOVERY).await;
            check!(
                oidc.get("revocation_endpoint").is_some(),
                "openid-configuration lost it too"
            );
        }
        Fault::AllTooWide => {
            s.set("allowAllValueForRevokeEndpoint", json!(true)).await;
            let own = s.mint("client-a").await;
            let other = s.mint("client-b").await;
            let r = s.revoke(a, "token=all&token_type_hint=all").await;
            check!(r.status == 200, "status {}", r.status);
            check!(!s.active(&own.access).await, "own tokens kept");
            check!(!s.active(&other.access).await, "other client's tokens kept");
        }
        Fault::AllAlways => {
            s.set("allowAllValueForRevokeEndpoint", json!(false)).await;
            let p1 = s.mint("client-a").await;
            let p2 = s.mint("client-a").await;
            let r = s.revoke(a, "token=all&token_type_hint=all").await;
            check!(r.status == 200, "status {}", r.status);
            check!(
                !s.active(&p1.access).await && !s.active(&p2.refresh).await,
                "nothing revoked with the setting off"
            );
        }
        Fault::PublicClientAll => {
            s.set("allowAllValueForRevokeEndpoint", json!(true)).await;
            let p = s.mint("public-client").await;
            let r = s
                .revoke(
                    Auth::Public("public-client"),
                    "token=all&token_type_hint=all",
                )
                .await;
            check!(r.status == 200, "status {}", r.status);
            check!(
                !s.active(&p.access).await && !s.active(&p.refresh).await,
                "a public client's token=all revoked nothing"
            );
        }
        Fault::AllIgnored => {
            s.set("allowAllValueForRevokeEndpoint", json!(true)).await;
            let p = s.mint("client-a").await;
            let r = s.revoke(a, "token=all&token_type_hint=all").await;
            check!(r.status == 200, "status {}", r.status);
            check!(
                s.active(&p.access).await && s.active(&p.refresh).await,
                "the all-revocation happened"
            );
        }
        Fault::NoWwwAuthenticate => {
            let r = s.revoke(Auth::Basic("client-a", "wrong"), "token=x").await;
            check!(r.status == 401, "status {}", r.status);
            check!(
                r.header("www-authenticate").is_none(),
                "challenge present: {:?}",
                r.header("www-authenticate")
            );
        }
        Fault::NoRealm => {
            let r = s.revoke(Auth::Basic("client-a", "wrong"), "token=x").await;
            check!(r.status == 401, "status {}", r.status);
            let challenge = r.header("www-authenticate").unwrap_or("<none>");
            check!(
                challenge.starts_with("Basic") && !challenge.contains("realm"),
                "challenge {challenge}"
            );
        }
        Fault::ErrorNotJson => {
            for (auth, body, status) in [
                (a, "token=", 400),
                (Auth::Basic("client-a", "wrong"), "token=x", 401),
            ] {
                let r = s.revoke(auth, body).await;
                check!(r.status == status, "status {}", r.status);
                let content_type = r.header("content-type").unwrap_or("");
                check!(
                    content_type.starts_with("text/plain"),
                    "content-type {content_type}"
                );
            }
        }
        Fault::NoCacheHeaders => {
            let p = s.mint("client-a").await;
            let r = s.revoke_as("client-a", &p.access).await;
            check!(r.status == 200, "status {}", r.status);
            check!(
                r.header("cache-control").is_none() && r.header("pragma").is_none(),
                "cache headers present"
            );
            check!(!s.active(&p.access).await, "not revoked");
        }
        Fault::DuplicateParamAccepted => {
            let p1 = s.mint("client-a").await;
            let p2 = s.mint("client-a").await;
            let body = form(&[("token", &p1.access), ("token", &p2.access)]);
            let r = s.revoke(a, &body).await;
            check!(r.status == 200, "status {}", r.status);
            check!(!s.active(&p1.access).await, "first value not used");
            check!(s.active(&p2.access).await, "second value used");
        }
        Fault::TwoAuthMethodsAccepted => {
            let p = s.mint("client-a").await;
            let body = form(&[
                ("token", &p.access),
                ("client_id", "client-a"),
                ("client_secret", "secret-a"),
            ]);
            let r = s.revoke(a, &body).await;
            check!(r.status == 200, "status {}", r.status);
            check!(!s.active(&p.access).await, "not revoked");
        }
        Fault::QueryHonoured => {
            let p = s.mint("client-a").await;
            let uri = format!("{}?{}", paths::REVOKE, form(&[("token", &p.access)]));
            let r = s.post(&uri, a, "", &[]).await;
            check!(r.status == 200, "token in the query: {}", r.status);
            check!(!s.active(&p.access).await, "not revoked through the query");
            let b = s.mint("client-b").await;
            let uri = format!(
                "{}?{}",
                paths::REVOKE,
                form(&[("client_id", "client-b"), ("client_secret", "secret-b")])
            );
            let r = s
                .post(&uri, Auth::Nothing, &form(&[("token", &b.access)]), &[])
                .await;
            check!(r.status == 200, "credentials in the query: {}", r.status);
            check!(
                !s.active(&b.access).await,
                "not revoked with query credentials"
            );
        }
        Fault::GetRevokes => {
            let p = s.mint("client-a").await;
            let uri = format!("{}?{}", paths::REVOKE, form(&[("token", &p.access)]));
            let auth = basic("client-a", "secret-a");
            let r = s
                .raw(
                    Method::GET,
                    &uri,
                    &[("authorization", auth.as_bytes())],
                    vec![],
                )
                .await;
            check!(r.status == 200, "GET answered {}", r.status);
            check!(!s.active(&p.access).await, "GET did not revoke");
            // Credentials in the query work as well, whatever the client is registered for.
            for (client, secret) in [("client-a", "secret-a"), ("client-b", "secret-b")] {
                let p = s.mint(client).await;
                let uri = format!(
                    "{}?{}",
                    paths::REVOKE,
                    form(&[
                        ("token", &p.access),
                        ("client_id", client),
                        ("client_secret", secret)
                    ])
                );
                let r = s.raw(Method::GET, &uri, &[], vec![]).await;
                check!(
                    r.status == 200,
                    "GET with query credentials of {client}: {}",
                    r.status
                );
                check!(
                    !s.active(&p.access).await,
                    "GET with query credentials of {client} did not revoke"
                );
            }
        }
        Fault::QueryCredentialsHonoured => {
            let p = s.mint("client-a").await;
            let uri = format!(
                "{}?{}",
                paths::REVOKE,
                form(&[("client_id", "client-a"), ("client_secret", "secret-a")])
            );
            let r = s
                .post(&uri, Auth::Nothing, &form(&[("token", &p.access)]), &[])
                .await;
            check!(r.status == 200, "credentials in the query: {}", r.status);
            check!(
                !s.active(&p.access).await,
                "not revoked with query credentials"
            );
            // A token in the query is still not honoured.
            let q = s.mint("client-a").await;
            let uri = format!("{}?{}", paths::REVOKE, form(&[("token", &q.access)]));
            let r = s.post(&uri, a, "", &[]).await;
            check!(r.status == 400, "token in the query: {}", r.status);
            check!(s.active(&q.access).await, "revoked through a query token");
        }
        Fault::SettingNeverApplied => {
            s.set("allowAllValueForRevokeEndpoint", json!(true)).await;
            let token = s.admin_token(PROPERTIES_READ_SCOPE).await;
            let bearer = format!("Bearer {token}");
            let r = s
                .raw(
                    Method::GET,
                    paths::CONFIG,
                    &[("authorization", bearer.as_bytes())],
                    vec![],
                )
                .await;
            check!(
                r.json()["allowAllValueForRevokeEndpoint"] == true,
                "not read back: {}",
                r.text()
            );
            let p = s.mint("client-a").await;
            let r = s.revoke(a, "token=all&token_type_hint=all").await;
            check!(r.status == 200, "status {}", r.status);
            check!(s.active(&p.access).await, "the stored setting was applied");
        }
        Fault::RevocationNoop => {
            let p = s.mint("client-a").await;
            for token in [&p.access, &p.refresh] {
                let r = s.revoke_as("client-a", token).await;
                check!(r.status == 200, "status {}", r.status);
            }
            check!(
                s.active(&p.access).await && s.active(&p.refresh).await,
                "revoked"
            );
        }
        Fault::LateOverRevocation => {
            let p1 = s.mint("client-a").await;
            let p2 = s.mint("client-a").await;
            let b = s.mint("client-b").await;
            let r = s.revoke_as("client-a", &p1.access).await;
            check!(r.status == 200, "status {}", r.status);
            check!(!s.active(&p1.refresh).await, "the grant was not revoked");
            check!(
                eventually(|| async {
                    !s.active(&p2.access).await && !s.active(&p2.refresh).await
                })
                .await,
                "the client's other grant stayed active"
            );
            check!(
                s.active(&b.access).await,
                "another client's grant was revoked"
            );
        }
        Fault::Resurrection => {
            let p = s.mint("client-a").await;
            let r = s.revoke_as("client-a", &p.access).await;
            check!(r.status == 200, "status {}", r.status);
            check!(!s.active(&p.access).await, "not revoked at first");
            check!(
                eventually(|| async { s.active(&p.access).await && s.active(&p.refresh).await })
                    .await,
                "the grant did not come back"
            );
        }
        Fault::NoHintAccessOnly => {
            let p = s.mint("client-a").await;
            let r = s.revoke_as("client-a", &p.refresh).await;
            check!(r.status == 200, "status {}", r.status);
            check!(
                s.active(&p.refresh).await,
                "a refresh token without a hint was revoked"
            );
            // An access token without a hint and a refresh token with its hint still go.
            let r = s
                .revoke(
                    a,
                    &form(&[("token", &p.refresh), ("token_type_hint", "refresh_token")]),
                )
                .await;
            check!(
                r.status == 200 && !s.active(&p.refresh).await,
                "the hinted refresh token stayed"
            );
            let q = s.mint("client-a").await;
            s.revoke_as("client-a", &q.access).await;
            check!(
                !s.active(&q.access).await,
                "an access token without a hint stayed"
            );
        }
        Fault::MultiTokenFirstOnly => {
            let p1 = s.mint("client-a").await;
            let p2 = s.mint("client-a").await;
            let both = format!("{} {}", p1.access, p2.access);
            let r = s.revoke(a, &form(&[("token", &both)])).await;
            check!(r.status == 200, "status {}", r.status);
            check!(!s.active(&p1.access).await, "the first token stayed");
            check!(s.active(&p2.access).await, "the second token was revoked");
        }
        Fault::UnavailableRevokes => {
            let p = s.mint("client-a").await;
            let r = s
                .revoke_with(
                    a,
                    &form(&[("token", &p.access)]),
                    &[("x-revspec-simulate", "unavailable")],
                )
                .await;
            check!(r.status == 503, "status {}", r.status);
            check!(!s.active(&p.access).await, "the 503 did not revoke");
        }
        Fault::CorsPreflightNoPost => {
            let r = s.send(preflight("https://app.example")).await;
            let methods = r.header("access-control-allow-methods").unwrap_or_default();
            check!(r.status.is_success(), "preflight {}", r.status);
            check!(
                !methods.contains("POST"),
                "the preflight allows POST: {methods}"
            );
        }
        Fault::ForeignToken200 => {
            let p = s.mint("client-a").await;
            let r = s.revoke_as("client-b", &p.access).await;
            check!(r.status == 200, "status {}", r.status);
            check!(s.active(&p.access).await, "the foreign token was revoked");
            // With the setting on and without the scope it is still a 400.
            s.set("allowRevokeForOtherClients", json!(true)).await;
            let r = s.revoke_as("client-b", &p.access).await;
            check!(r.status == 400, "with the setting on: {}", r.status);
        }
        Fault::JsonAccepted => {
            let p = s.mint("client-a").await;
            let auth = basic("client-a", "secret-a");
            let body = json!({"token": p.access}).to_string().into_bytes();
            let r = s
                .raw(
                    Method::POST,
                    paths::REVOKE,
                    &[
                        ("authorization", auth.as_bytes()),
                        ("content-type", b"application/json".as_slice()),
                    ],
                    body,
                )
                .await;
            check!(r.status == 200, "JSON answered {}", r.status);
            check!(!s.active(&p.access).await, "JSON did not revoke");
        }
        Fault::PublicClientRejected => {
            let p = s.mint("public-client").await;
            let r = s.revoke_as("public-client", &p.access).await;
            check!(r.status == 401, "status {}", r.status);
            check!(s.active(&p.access).await, "revoked");
        }
        Fault::PostAuthBroken => {
            let p = s.mint("client-b").await;
            let r = s.revoke_as("client-b", &p.access).await;
            check!(r.status == 401, "status {}", r.status);
            check!(s.active(&p.access).await, "revoked");
            // The token endpoint still takes client_secret_post.
            let r = s.refresh("client-b", &p.refresh).await;
            check!(r.status == 200, "token endpoint {}", r.status);
        }
        Fault::ScriptIgnored => {
            let p = s.mint("client-a").await;
            let r = s
                .revoke_with(
                    a,
                    &form(&[("token", &p.access)]),
                    &[("X-Revoke-Veto", "true")],
                )
                .await;
            check!(r.status == 200, "status {}", r.status);
            check!(r.header("x-revoke-script").is_none(), "the script ran");
            check!(!s.active(&p.access).await, "the veto was honoured");
        }
        _ => return Err(NO_CASE.into()),
    }
    Ok(())
}

#[tokio::test]
async fn every_fault_misbehaves_as_described() {
    let mut failures = Vec::new();
    for &fault in Fault::ALL {
        assert!(!fault.rules().is_empty(), "{fault} breaks no rule");
        assert_eq!(fault.to_string(), fault.name());
        assert_eq!(fault.name().parse::<Fault>(), Ok(fault));
        let faulty = Server::with(fault_options(fault, true));
        match exhibits(fault, &faulty).await {
            Ok(()) => {}
            Err(e) if e == NO_CASE => failures.push(format!(
                "{fault}: no case in `exhibits`; every fault needs one"
            )),
            Err(e) => failures.push(format!(
                "{fault} ({}): misbehaviour not observed: {e}",
                fault.description()
            )),
        }
        // The same check must fail on a server without the fault, or it checks nothing.
        let clean = Server::with(fault_options(fault, false));
        if exhibits(fault, &clean).await.is_ok() {
            failures.push(format!("{fault}: the check also passes without the fault"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Real sockets
// ---------------------------------------------------------------------------------------------

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

async fn socket_mint(http: &reqwest::Client, base: &str) -> Pair {
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

async fn socket_active(http: &reqwest::Client, base: &str, token: &str) -> bool {
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

async fn socket_revoke(http: &reqwest::Client, base: &str, token: &str) -> reqwest::Response {
    http.post(format!("{base}{}", paths::REVOKE))
        .basic_auth("client-a", Some("secret-a"))
        .form(&[("token", token)])
        .send()
        .await
        .expect("revoke request")
}

#[tokio::test]
async fn real_socket_mint_revoke_introspect() {
    let options = ServeOptions::default();
    let server = revspec::server::spawn("127.0.0.1:0".parse().unwrap(), &options)
        .await
        .expect("spawn");
    assert!(server.addr.ip().is_loopback());
    let base = server.base_url.clone();
    let http = http_client();

    let health = http
        .get(format!("{base}{}", paths::HEALTH))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let doc: Value = http
        .get(format!("{base}{}", paths::OIDC_DISCOVERY))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["revocation_endpoint"],
        format!("{base}{}", paths::REVOKE)
    );

    let p = socket_mint(&http, &base).await;
    assert!(socket_active(&http, &base, &p.access).await);
    let r = socket_revoke(&http, &base, &p.refresh).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    assert!(r.bytes().await.unwrap().is_empty());
    assert!(!socket_active(&http, &base, &p.access).await);
    assert!(!socket_active(&http, &base, &p.refresh).await);

    let r = http
        .post(format!("{base}{}", paths::REVOKE))
        .basic_auth("client-a", Some("wrong"))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], BASIC_CHALLENGE);

    server.shutdown().await;
    // Stopped: nothing answers any more.
    assert!(http_client()
        .get(format!("{base}{}", paths::HEALTH))
        .send()
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_dir_restart_keeps_tokens_without_resurrection() {
    let dir = tempfile::tempdir().unwrap();
    let options = ServeOptions {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let addr = "127.0.0.1:0".parse().unwrap();

    let server = revspec::server::spawn(addr, &options).await.expect("spawn");
    let base = server.base_url.clone();
    let http = http_client();
    let kept = socket_mint(&http, &base).await;
    let revoked = socket_mint(&http, &base).await;
    assert_eq!(
        socket_revoke(&http, &base, &revoked.access).await.status(),
        200
    );
    assert!(!socket_active(&http, &base, &revoked.refresh).await);
    drop(http);
    server.shutdown().await;

    let server = revspec::server::spawn(addr, &options)
        .await
        .expect("restart on the same data dir");
    let base = server.base_url.clone();
    let http = http_client();
    assert!(
        socket_active(&http, &base, &kept.access).await,
        "kept access token lost"
    );
    assert!(
        socket_active(&http, &base, &kept.refresh).await,
        "kept refresh token lost"
    );
    assert!(
        !socket_active(&http, &base, &revoked.access).await,
        "resurrected"
    );
    assert!(
        !socket_active(&http, &base, &revoked.refresh).await,
        "resurrected"
    );
    let r = http
        .post(format!("{base}{}", paths::TOKEN))
        .basic_auth("client-a", Some("secret-a"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &kept.refresh),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let fresh = v["access_token"].as_str().unwrap().to_owned();
    assert!(socket_active(&http, &base, &fresh).await);
    // The revoked refresh token cannot be used after the restart either.
    let r = http
        .post(format!("{base}{}", paths::TOKEN))
        .basic_auth("client-a", Some("secret-a"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &revoked.refresh),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    server.shutdown().await;
}

/// `shutdown` returns only once nothing holds the app state any more, so the data directory
/// can be opened again at once: here a pending `lazy-revocation` task holds it for 1.5 s after
/// the 200 (as a connection task can for a moment on a multi-threaded runtime).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_releases_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let options = ServeOptions {
        data_dir: Some(dir.path().to_path_buf()),
        fault: Some(Fault::LazyRevocation),
        ..Default::default()
    };
    let addr = "127.0.0.1:0".parse().unwrap();
    let server = revspec::server::spawn(addr, &options).await.expect("spawn");
    let http = http_client();
    let p = socket_mint(&http, &server.base_url).await;
    assert_eq!(
        socket_revoke(&http, &server.base_url, &p.access)
            .await
            .status(),
        200
    );
    server.shutdown().await;

    let options = ServeOptions {
        fault: None,
        ..options
    };
    let server = revspec::server::spawn(addr, &options)
        .await
        .expect("the data dir is still locked after shutdown");
    // The pending revocation was completed (and persisted) before shutdown returned.
    assert!(!socket_active(&http, &server.base_url, &p.access).await);
    assert!(!socket_active(&http, &server.base_url, &p.refresh).await);
    server.shutdown().await;
}

/// Waits (bounded) until a refresh grant stops at the pause point.
async fn reached(pause: &revspec::server::jobs::PausePoint) {
    tokio::time::timeout(Duration::from_secs(20), pause.reached())
        .await
        .expect("the refresh grant never reached its pause point");
}

/// A refresh racing with the revocation of its refresh token must not leave a live token in
/// the revoked grant (jans-grant-cascade-rt under concurrency). The race is made deterministic
/// with the test-only pause point: the refresh grant has looked its refresh token up and stops;
/// the revocation runs to completion; then the refresh goes on and must find the grant gone
/// (400 `invalid_grant`, nothing issued), with and without refresh token rotation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_racing_revocation_leaves_no_live_token() {
    for rotation in [false, true] {
        let pause = revspec::server::jobs::PausePoint::default();
        let s = Arc::new(Server::with(ServeOptions {
            refresh_pause: Some(pause.clone()),
            ..Default::default()
        }));
        if rotation {
            s.set("refreshTokenRotation", json!(true)).await;
        }
        let p = s.mint("client-a").await;
        let before = s.state.store.len();
        let refresh = {
            let (s, rt) = (s.clone(), p.refresh.clone());
            tokio::spawn(async move { s.refresh("client-a", &rt).await })
        };
        // The refresh has found its token and waits between lookup and issue.
        reached(&pause).await;
        s.revoke_as("client-a", &p.refresh).await.assert_revoke_ok();
        pause.release();
        let refresh = refresh.await.unwrap();
        refresh.assert_error(400, "invalid_grant");
        // It failed at the issue, after a successful lookup: it did stop at the pause point.
        assert_eq!(pause.times_paused(), 1, "rotation {rotation}");
        for token in [&p.access, &p.refresh] {
            assert!(
                !s.active(token).await,
                "rotation {rotation}: grant token alive"
            );
        }
        assert_eq!(
            s.state.store.len(),
            before - 2,
            "rotation {rotation}: a token was issued into the revoked grant"
        );
        // Without a racing revocation the paused refresh succeeds (the pause alone changes nothing).
        let q = s.mint("client-a").await;
        let refresh = {
            let (s, rt) = (s.clone(), q.refresh.clone());
            tokio::spawn(async move { s.refresh("client-a", &rt).await })
        };
        reached(&pause).await;
        pause.release();
        assert_eq!(refresh.await.unwrap().status, StatusCode::OK);
        assert_eq!(pause.times_paused(), 2);
    }
}

// ---------------------------------------------------------------------------------------------
// Quirks
// ---------------------------------------------------------------------------------------------

/// The server to run `quirk`'s case with; `injected: false` gives the same server without it.
fn quirk_server(quirk: Quirk, injected: bool) -> Server {
    Server::with(ServeOptions {
        quirks: if injected { vec![quirk] } else { vec![] },
        ..Default::default()
    })
}

/// All values of one header, in order.
fn all_headers(r: &Reply, name: &str) -> Vec<String> {
    r.headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// Runs the check of what `quirk` does; `Ok` means the behaviour was observed.
async fn quirk_exhibits(quirk: Quirk, s: &Server) -> Result<(), String> {
    match quirk {
        Quirk::ConfigReloadDelay => {
            check!(
                s.state.settings.reload_delay() == revspec::faults::quirks::QUIRK_RELOAD_DELAY,
                "reload every {:?}",
                s.state.settings.reload_delay()
            );
            // Stored (and read back) at once, in force after the next reload.
            s.set("featureFlags", json!(["userinfo", "introspection"]))
                .await;
            check!(
                eventually(|| async {
                    s.discovery(paths::OIDC_DISCOVERY)
                        .await
                        .get("revocation_endpoint")
                        .is_none()
                })
                .await,
                "the change never took effect"
            );
        }
        Quirk::RefreshReplacesAccess => {
            let p = s.mint("client-a").await;
            let r = s.refresh("client-a", &p.refresh).await;
            check!(r.status == 200, "refresh {}", r.status);
            let fresh = r.json()["access_token"].as_str().unwrap().to_owned();
            check!(
                !s.active(&p.access).await,
                "the earlier access token survived"
            );
            check!(
                s.active(&fresh).await && s.active(&p.refresh).await,
                "the grant was lost"
            );
        }
        Quirk::IntrospectionOwnerOnly => {
            let p = s.mint_unobserved("client-a").await;
            check!(
                s.active_for("client-a", &p.access).await,
                "the owner cannot see it"
            );
            check!(
                !s.active_for("resource-server", &p.access).await,
                "introspect_any still sees another client's token"
            );
        }
        Quirk::PostAuthFailure400 => {
            let r = s.revoke(Auth::Post("client-b", "wrong"), "token=x").await;
            check!(
                r.status == 400 && r.json()["error"] == "invalid_client",
                "post: {} {}",
                r.status,
                r.text()
            );
            check!(
                r.header("www-authenticate").is_none(),
                "post failure challenged"
            );
            let r = s
                .post(
                    paths::TOKEN,
                    Auth::Post("client-b", "wrong"),
                    "grant_type=client_credentials",
                    &[],
                )
                .await;
            check!(r.status == 400, "token endpoint post failure {}", r.status);
            let r = s.revoke(Auth::Basic("client-a", "wrong"), "token=x").await;
            check!(r.status == 401, "basic failure {}", r.status);
            check!(
                r.header("www-authenticate") == Some(BASIC_CHALLENGE),
                "basic failure unchallenged"
            );
        }
        Quirk::TwoChallenges => {
            let r = s.revoke(Auth::Basic("client-a", "wrong"), "token=x").await;
            check!(r.status == 401, "status {}", r.status);
            let challenges = all_headers(&r, "www-authenticate");
            check!(
                challenges == ["Bearer realm=\"revspec\"", BASIC_CHALLENGE],
                "challenges {challenges:?}"
            );
            let r = s.userinfo("made-up").await;
            let challenges = all_headers(&r, "www-authenticate");
            check!(
                challenges
                    == [
                        "Bearer realm=\"revspec\", error=\"invalid_token\"",
                        BASIC_CHALLENGE
                    ],
                "userinfo challenges {challenges:?}"
            );
        }
        Quirk::RevocationDelay => {
            let p = s.mint("client-a").await;
            let jobs_before = s.state.jobs.spawned();
            let sent = std::time::Instant::now();
            let r = s.revoke_as("client-a", &p.access).await;
            check!(r.status == 200, "status {}", r.status);
            let seen_active = s.active(&p.access).await;
            // Only an observation made within the delay can tell (never a flaky failure).
            if sent.elapsed() < Duration::from_millis(250) {
                check!(seen_active, "revoked at once");
            }
            check!(
                s.state.jobs.spawned() == jobs_before + 1,
                "the revocation was not deferred to a job"
            );
            check!(
                eventually(|| async { !s.active(&p.access).await && !s.active(&p.refresh).await })
                    .await,
                "never revoked"
            );
        }
        Quirk::Discovery503WhenDisabled => {
            s.set("featureFlags", json!(["userinfo", "introspection"]))
                .await;
            for path in [paths::OIDC_DISCOVERY, paths::AS_METADATA] {
                let r = s.get(path).await;
                check!(r.status == 503, "{path}: {}", r.status);
                check!(
                    r.json()["error"] == "temporarily_unavailable",
                    "{path}: {}",
                    r.text()
                );
            }
            s.set(
                "featureFlags",
                json!(["revoke_token", "userinfo", "introspection"]),
            )
            .await;
            check!(
                s.get(paths::OIDC_DISCOVERY).await.status == 200,
                "still 503 once enabled"
            );
        }
        Quirk::CacheControlExtra => {
            let p = s.mint("client-a").await;
            let r = s.revoke_as("client-a", &p.access).await;
            check!(r.status == 200, "status {}", r.status);
            check!(
                r.header("cache-control") == Some("no-cache, no-store, max-age=0, must-revalidate"),
                "cache-control {:?}",
                r.header("cache-control")
            );
            check!(
                r.header("pragma") == Some("no-cache"),
                "pragma {:?}",
                r.header("pragma")
            );
        }
        Quirk::RefreshScopeFirst => {
            let p = s.mint("client-a").await;
            s.revoke_as("client-a", &p.refresh).await.assert_revoke_ok();
            for token in [p.refresh.as_str(), "never-issued"] {
                let r = s
                    .token(
                        "client-a",
                        &[
                            ("grant_type", "refresh_token"),
                            ("refresh_token", token),
                            ("scope", "revoke_any_token"),
                        ],
                    )
                    .await;
                check!(
                    r.status == 400 && r.json()["error"] == "invalid_scope",
                    "dead refresh token with a foreign scope: {} {}",
                    r.status,
                    r.text()
                );
            }
        }
        Quirk::Userinfo403 => {
            let r = s
                .token(
                    "client-a",
                    &[("grant_type", "client_credentials"), ("scope", "profile")],
                )
                .await;
            let no_openid = r.json()["access_token"].as_str().unwrap().to_owned();
            let r = s.userinfo(&no_openid).await;
            check!(r.status == 403, "status {}", r.status);
            check!(r.json()["error"] == "insufficient_scope", "{}", r.text());
            check!(
                r.header("www-authenticate")
                    == Some("Bearer realm=\"revspec\", error=\"insufficient_scope\""),
                "challenge {:?}",
                r.header("www-authenticate")
            );
            let p = s.mint("client-a").await;
            check!(
                s.userinfo(&p.access).await.status == 200,
                "a token with openid refused"
            );
        }
        _ => return Err(NO_CASE.into()),
    }
    Ok(())
}

#[tokio::test]
async fn every_quirk_behaves_as_described() {
    let mut failures = Vec::new();
    for &quirk in Quirk::ALL {
        assert_eq!(quirk.to_string(), quirk.name());
        assert_eq!(quirk.name().parse::<Quirk>(), Ok(quirk));
        match quirk_exhibits(quirk, &quirk_server(quirk, true)).await {
            Ok(()) => {}
            Err(e) if e == NO_CASE => failures.push(format!(
                "{quirk}: no case in `quirk_exhibits`; every quirk needs one"
            )),
            Err(e) => failures.push(format!(
                "{quirk} ({}): behaviour not observed: {e}",
                quirk.description()
            )),
        }
        if quirk_exhibits(quirk, &quirk_server(quirk, false))
            .await
            .is_ok()
        {
            failures.push(format!("{quirk}: the check also passes without the quirk"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Secure by default (issue 13): one test per finding, each failing without its fix
// ---------------------------------------------------------------------------------------------

/// Finding 1: `client_id=public-client&token=all` must not log out every user of the client.
#[tokio::test]
async fn public_client_cannot_revoke_all_its_tokens() {
    let s = server();
    s.set("allowAllValueForRevokeEndpoint", json!(true)).await;
    let p1 = s.mint("public-client").await;
    let p2 = s.mint("public-client").await;
    let pub_ = Auth::Public("public-client");
    for body in [
        "token=all".to_owned(),
        "token=all&token_type_hint=all".to_owned(),
        "token=ALL&token_type_hint=refresh_token".to_owned(),
        form(&[("token", &p1.access), ("token_type_hint", "all")]),
    ] {
        s.revoke(pub_, &body)
            .await
            .assert_error(400, "invalid_request");
    }
    for t in [&p1.access, &p1.refresh, &p2.access, &p2.refresh] {
        assert!(
            s.active(t).await,
            "a public client's all-revocation revoked something"
        );
    }
    // It still revokes a token of its own that it presents ...
    s.revoke(pub_, &form(&[("token", &p1.access)]))
        .await
        .assert_revoke_ok();
    assert!(!s.active(&p1.refresh).await);
    assert!(s.active(&p2.access).await);
    // ... and a confidential client still revokes all of its own.
    let a = s.mint("client-a").await;
    s.revoke(registered("client-a"), "token=all")
        .await
        .assert_revoke_ok();
    assert!(!s.active(&a.access).await);
}

/// Finding 1 (cross-client): a public client never revokes another client's token, even with
/// the setting on and `revoke_any_token` in its registration.
#[tokio::test]
async fn public_client_cannot_revoke_foreign_tokens_even_when_allowed() {
    let s = server();
    s.set("allowRevokeForOtherClients", json!(true)).await;
    let r = s
        .add_client_scope("public-client", "revoke_any_token")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let a = s.mint("client-a").await;
    s.revoke_as("public-client", &a.access)
        .await
        .assert_error(400, "invalid_request");
    assert!(s.active(&a.access).await && s.active(&a.refresh).await);
    // The same registration on a confidential client does revoke (the guard is the client type).
    s.add_client_scope("client-b", "revoke_any_token").await;
    s.revoke_as("client-b", &a.access).await.assert_revoke_ok();
    assert!(!s.active(&a.access).await);
}

/// Finding 2: a public client proves nothing, so it cannot introspect, not even its own token.
#[tokio::test]
async fn public_client_cannot_introspect() {
    let s = server();
    let own = s.mint("public-client").await;
    let a = s.mint("client-a").await;
    for token in [&own.access, &a.access] {
        let r = s
            .post(
                paths::INTROSPECTION,
                Auth::Public("public-client"),
                &form(&[("token", token)]),
                &[],
            )
            .await;
        r.assert_error(401, "invalid_client");
        assert_eq!(r.header("www-authenticate"), Some(BASIC_CHALLENGE));
        assert!(!r.text().contains("alice"), "leaked: {}", r.text());
    }
}

/// Finding 2: a caller learns only about its own tokens unless it holds `introspect_any`,
/// as registered now.
#[tokio::test]
async fn introspection_tells_a_caller_only_about_its_own_tokens() {
    let s = server();
    let a = s.mint("client-a").await;
    for token in [&a.access, &a.refresh] {
        let r = s
            .post(
                paths::INTROSPECTION,
                registered("client-b"),
                &form(&[("token", token)]),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.json(),
            json!({"active": false}),
            "client-b learned about it"
        );
        // The owner and the resource server see it.
        assert!(s.active_for("client-a", token).await);
        assert!(s.active_for("resource-server", token).await);
    }
    let r = s
        .post(
            paths::INTROSPECTION,
            registered("resource-server"),
            &form(&[("token", &a.access)]),
            &[],
        )
        .await;
    let v = r.json();
    assert_eq!(
        (v["client_id"].as_str(), v["sub"].as_str()),
        (Some("client-a"), Some("alice"))
    );
    // Removing the scope takes effect at once.
    let token = s.admin_token(CLIENTS_WRITE_SCOPE).await;
    let r = s
        .patch(
            &format!("{}/resource-server", paths::CLIENTS),
            Some(&token),
            &json!([{"op": "replace", "path": "/scopes", "value": []}]).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(!s.active_for("resource-server", &a.access).await);
}

/// Finding 2: discovery publishes only introspection methods that work, and each does.
#[tokio::test]
async fn discovery_publishes_only_working_introspection_methods() {
    let s = server();
    let a = s.mint("client-a").await;
    let b = s.mint("client-b").await;
    for path in [paths::OIDC_DISCOVERY, paths::AS_METADATA] {
        let doc = s.discovery(path).await;
        let methods = doc["introspection_endpoint_auth_methods_supported"].clone();
        assert_eq!(
            methods,
            json!(["client_secret_basic", "client_secret_post"]),
            "{path}"
        );
    }
    assert!(
        s.active_for("client-a", &a.access).await,
        "client_secret_basic"
    );
    assert!(
        s.active_for("client-b", &b.access).await,
        "client_secret_post"
    );
}

/// Finding 3: JSON Patch bombs are refused before they grow, and nothing is applied. Each
/// refusal names its guard (a guard missing would still end in some 400 further on). The
/// doublings stop at 2^12: enough to pass the size limit, small if the guard is missing.
#[tokio::test]
async fn json_patch_bombs_are_refused() {
    let s = server();
    let write = s.admin_token(PROPERTIES_WRITE_SCOPE).await;
    let root_copies: Vec<Value> = (0..20)
        .map(|i| json!({"op": "copy", "from": "", "path": format!("/c{i}")}))
        .collect();
    let doubling: Vec<Value> = (0..12)
        .map(|_| json!({"op": "copy", "from": "/featureFlags", "path": "/featureFlags/-"}))
        .collect();
    let long: Vec<Value> = (0..33)
        .map(|_| json!({"op": "test", "path": "/allowRevokeForOtherClients", "value": false}))
        .collect();
    let root_move = vec![json!({"op": "move", "from": "", "path": "/m"})];
    for (bomb, guard) in [
        (
            root_copies,
            "copy and move from the document root are not allowed",
        ),
        (
            root_move,
            "copy and move from the document root are not allowed",
        ),
        (doubling, "the patched document exceeds 16384 bytes"),
        (long, "a patch may hold at most 32 operations"),
    ] {
        let r = s
            .patch(paths::CONFIG, Some(&write), &Value::Array(bomb).to_string())
            .await;
        r.assert_error(400, "invalid_request");
        assert_eq!(r.json()["error_description"], guard);
    }
    // Exactly at the limits is fine: 32 operations, a document of exactly 16384 bytes (a
    // flag padded to it); one byte more is refused.
    let at_ops: Vec<Value> = (0..32)
        .map(|_| json!({"op": "test", "path": "/allowRevokeForOtherClients", "value": false}))
        .collect();
    let r = s
        .patch(
            paths::CONFIG,
            Some(&write),
            &Value::Array(at_ops).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let stored = serde_json::to_value(s.state.settings.stored()).unwrap();
    let padded = |extra: usize| {
        let mut doc = stored.clone();
        doc["featureFlags"].as_array_mut().unwrap().push(json!(""));
        let base = serde_json::to_vec(&doc).unwrap().len();
        let flag = "x".repeat(16384 - base + extra);
        json!([{"op": "add", "path": "/featureFlags/-", "value": flag}]).to_string()
    };
    let r = s.patch(paths::CONFIG, Some(&write), &padded(1)).await;
    r.assert_error(400, "invalid_request");
    assert_eq!(
        r.json()["error_description"],
        "the patched document exceeds 16384 bytes"
    );
    let r = s.patch(paths::CONFIG, Some(&write), &padded(0)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = s
        .patch(
            paths::CONFIG,
            Some(&write),
            &json!([{"op": "replace", "path": "/featureFlags", "value": ServerConfig::demo().settings.feature_flags}]).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Client patches are bounded the same way.
    let clients = s.admin_token(CLIENTS_WRITE_SCOPE).await;
    let doubling: Vec<Value> = (0..12)
        .map(|_| json!({"op": "copy", "from": "/scopes", "path": "/scopes/-"}))
        .collect();
    let r = s
        .patch(
            &format!("{}/client-a", paths::CLIENTS),
            Some(&clients),
            &Value::Array(doubling).to_string(),
        )
        .await;
    r.assert_error(400, "invalid_request");
    assert_eq!(
        r.json()["error_description"],
        "the patched document exceeds 16384 bytes"
    );
    assert_eq!(s.state.settings.stored(), s.state.settings.effective());
    assert_eq!(
        s.state.settings.stored().feature_flags,
        ServerConfig::demo().settings.feature_flags
    );
    assert_eq!(
        s.state.client("client-a").unwrap().scopes,
        ["openid", "profile"]
    );
    assert_eq!(s.get(paths::HEALTH).await.status, StatusCode::OK);
}

/// Finding 5: a grant never holds more than the cap (a refresh beyond it drops the oldest
/// access tokens), and revoking it drops every token.
#[tokio::test]
async fn grants_are_capped_and_dropped_whole() {
    let s = Server::with(ServeOptions {
        limits: Limits {
            max_tokens_per_grant: 5,
            ..Limits::default()
        },
        ..Default::default()
    });
    let p = s.mint("client-a").await;
    let base = s.state.store.len();
    let mut access = vec![p.access.clone()];
    for _ in 0..12 {
        let r = s.refresh("client-a", &p.refresh).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        access.push(r.json()["access_token"].as_str().unwrap().to_owned());
    }
    // One refresh token and the four newest access tokens.
    assert_eq!(s.state.store.len(), base - 2 + 5);
    for (i, t) in access.iter().enumerate() {
        assert_eq!(s.active(t).await, i >= access.len() - 4, "access token {i}");
    }
    assert!(s.active(&p.refresh).await, "the refresh token was dropped");
    s.revoke_as("client-a", &p.refresh).await.assert_revoke_ok();
    assert_eq!(s.state.store.len(), base - 2);
    for t in &access {
        assert!(!s.active(t).await);
    }
}

/// Finding 6: a refresh carries only the scopes the client holds now.
#[tokio::test]
async fn refresh_follows_the_current_registration() {
    let s = server();
    let p = s.mint("client-a").await;
    let token = s.admin_token(CLIENTS_WRITE_SCOPE).await;
    let r = s
        .patch(
            &format!("{}/client-a", paths::CLIENTS),
            Some(&token),
            &json!([{"op": "replace", "path": "/scopes", "value": ["openid"]}]).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = s.refresh("client-a", &p.refresh).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["scope"], "openid", "the removed scope came back");
    let r = s
        .token(
            "client-a",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &p.refresh),
                ("scope", "profile"),
            ],
        )
        .await;
    r.assert_error(400, "invalid_scope");
    // The introspected scope of the new token says the same.
    let fresh = s.refresh("client-a", &p.refresh).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .post(
            paths::INTROSPECTION,
            registered("resource-server"),
            &form(&[("token", &fresh)]),
            &[],
        )
        .await;
    assert_eq!(r.json()["scope"], "openid");
}

/// Finding 6: a bearer token loses what its client lost: config-admin cannot use an old token
/// to give itself its scopes back.
#[tokio::test]
async fn bearer_checks_follow_the_current_registration() {
    let s = server();
    let clients = s.admin_token(CLIENTS_WRITE_SCOPE).await;
    let write = s.admin_token(PROPERTIES_WRITE_SCOPE).await;
    let r = s
        .patch(
            &format!("{}/config-admin", paths::CLIENTS),
            Some(&clients),
            &json!([{"op": "replace", "path": "/scopes", "value": []}]).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let give_back = json!([{"op": "replace", "path": "/scopes", "value": [CLIENTS_WRITE_SCOPE]}]);
    let r = s
        .patch(
            &format!("{}/config-admin", paths::CLIENTS),
            Some(&clients),
            &give_back.to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = s
        .patch(
            paths::CONFIG,
            Some(&write),
            &json!([{"op": "replace", "path": "/allowRevokeForOtherClients", "value": true}])
                .to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(s.state.client("config-admin").unwrap().scopes.is_empty());
    assert!(!s.state.settings.stored().allow_revoke_for_other_clients);
}

/// The Config API takes only JSON Patch bodies (`application/json-patch+json`, or
/// `application/json`); anything else is 400 and changes nothing.
#[tokio::test]
async fn config_api_takes_only_json_patch_bodies() {
    let s = server();
    let write = s.admin_token(PROPERTIES_WRITE_SCOPE).await;
    let bearer = format!("Bearer {write}");
    let patch = json!([{"op": "replace", "path": "/allowRevokeForOtherClients", "value": true}])
        .to_string();
    for content_type in ["text/plain", "application/x-www-form-urlencoded", ""] {
        let mut headers: Vec<(&str, &[u8])> = vec![("authorization", bearer.as_bytes())];
        if !content_type.is_empty() {
            headers.push(("content-type", content_type.as_bytes()));
        }
        let r = s
            .raw(
                Method::PATCH,
                paths::CONFIG,
                &headers,
                patch.clone().into_bytes(),
            )
            .await;
        r.assert_error(400, "invalid_request");
        assert_eq!(
            r.json()["error_description"],
            "the body must be application/json-patch+json",
            "{content_type}"
        );
    }
    assert!(!s.state.settings.stored().allow_revoke_for_other_clients);
    for content_type in [
        "application/json-patch+json",
        "application/json; charset=utf-8",
    ] {
        let r = s
            .raw(
                Method::PATCH,
                paths::CONFIG,
                &[
                    ("authorization", bearer.as_bytes()),
                    ("content-type", content_type.as_bytes()),
                ],
                patch.clone().into_bytes(),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{content_type}: {}", r.text());
    }
}

/// A protected resource takes an access token only under the Bearer scheme (any case).
#[tokio::test]
async fn access_tokens_only_count_as_bearer() {
    let s = server();
    let p = s.mint("client-a").await;
    let admin = s.admin_token(PROPERTIES_READ_SCOPE).await;
    for scheme in ["Basic", "Token", "MAC", ""] {
        let value = format!("{scheme} {}", p.access);
        let r = s
            .raw(
                Method::GET,
                paths::USERINFO,
                &[("authorization", value.trim().as_bytes())],
                vec![],
            )
            .await;
        r.assert_error_6750(401, "invalid_token");
        let value = format!("{scheme} {admin}");
        let r = s
            .raw(
                Method::GET,
                paths::CONFIG,
                &[("authorization", value.trim().as_bytes())],
                vec![],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{scheme}");
    }
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let value = format!("{scheme} {}", p.access);
        let r = s
            .raw(
                Method::GET,
                paths::USERINFO,
                &[("authorization", value.as_bytes())],
                vec![],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{scheme}");
    }
    let r = s
        .raw(
            Method::GET,
            paths::USERINFO,
            &[("authorization", b"Bearer ".as_slice())],
            vec![],
        )
        .await;
    r.assert_error_6750(401, "invalid_token");
}

/// Default lifetimes: an hour for access tokens, 14 days for refresh tokens; a configured
/// lifetime may be up to ten years and no more.
#[tokio::test]
async fn token_lifetimes_default_and_bounds() {
    let s = server();
    let p = s.mint("client-a").await;
    for (token, lifetime) in [(&p.access, 3600), (&p.refresh, 14 * 24 * 3600)] {
        let r = s
            .post(
                paths::INTROSPECTION,
                registered("resource-server"),
                &form(&[("token", token)]),
                &[],
            )
            .await;
        let v = r.json();
        assert_eq!(
            v["exp"].as_u64().unwrap() - v["iat"].as_u64().unwrap(),
            lifetime
        );
    }
    let write = s.admin_token(PROPERTIES_WRITE_SCOPE).await;
    let ten_years = 10 * 365 * 24 * 3600;
    for (value, status) in [
        (ten_years, StatusCode::OK),
        (ten_years + 1, StatusCode::BAD_REQUEST),
    ] {
        let r = s
            .patch(
                paths::CONFIG,
                Some(&write),
                &json!([{"op": "replace", "path": "/refreshTokenLifetime", "value": value}])
                    .to_string(),
            )
            .await;
        assert_eq!(r.status, status, "{value}: {}", r.text());
    }
}

/// Dropping the handle of a running server stops it (no shutdown call needed).
#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let server = spawn_with(ServeOptions::default()).await;
    let addr = server.addr;
    assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    drop(server);
    assert!(
        eventually(|| async { tokio::net::TcpStream::connect(addr).await.is_err() }).await,
        "still accepting connections after the handle was dropped"
    );
}

/// A refresh token lives as long as `refreshTokenLifetime`, not as long as the access token.
#[tokio::test]
async fn refresh_tokens_outlive_access_tokens() {
    let mut config = ServerConfig::demo();
    config.settings.access_token_lifetime = 1;
    config.settings.refresh_token_lifetime = 3600;
    let s = Server::with(ServeOptions {
        config: Some(config),
        ..Default::default()
    });
    let p = s.mint("client-a").await;
    assert!(
        eventually(|| async { !s.active(&p.access).await }).await,
        "the access token never expired"
    );
    assert!(
        s.active(&p.refresh).await,
        "the refresh token expired with it"
    );
    let r = s.refresh("client-a", &p.refresh).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["expires_in"], 1);
}

/// Mutation "GET client without authorization": reading a client needs the clients scope.
#[tokio::test]
async fn reading_a_client_needs_the_clients_scope() {
    let s = server();
    let path = format!("{}/client-c", paths::CLIENTS);
    let r = s.get(&path).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    assert!(!r.text().contains("revoke_any_token"));
    let a = s.mint("client-a").await;
    let bearer = format!("Bearer {}", a.access);
    let r = s
        .raw(
            Method::GET,
            &path,
            &[("authorization", bearer.as_bytes())],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Finding 11: a 403 insufficient_scope carries the RFC 6750 challenge.
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"revspec\", error=\"insufficient_scope\"")
    );
    let token = s.admin_token(CLIENTS_WRITE_SCOPE).await;
    let bearer = format!("Bearer {token}");
    let r = s
        .raw(
            Method::GET,
            &path,
            &[("authorization", bearer.as_bytes())],
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({
            "clientId": "client-c",
            "inum": "client-c",
            "tokenEndpointAuthMethod": "client_secret_basic",
            "scopes": ["openid", "profile", "revoke_any_token"],
        })
    );
    for (client, method) in [
        ("client-b", "client_secret_post"),
        ("public-client", "none"),
    ] {
        let r = s
            .raw(
                Method::GET,
                &format!("{}/{client}", paths::CLIENTS),
                &[("authorization", bearer.as_bytes())],
                vec![],
            )
            .await;
        assert_eq!(r.json()["tokenEndpointAuthMethod"], method);
    }
}

/// The password grant checks the user's password (compared like a client secret).
#[tokio::test]
async fn password_grant_needs_the_right_password() {
    let s = server();
    for (username, password) in [
        ("alice", "wrong"),
        ("alice", "alice-pass "),
        ("alice", ""),
        ("bob", "alice-pass"),
    ] {
        let r = s
            .token(
                "client-a",
                &[
                    ("grant_type", "password"),
                    ("username", username),
                    ("password", password),
                ],
            )
            .await;
        r.assert_error(400, "invalid_grant");
    }
    s.mint("client-a").await;
}

/// Mutation "scope check disabled": a client obtains only scopes it is registered for.
#[tokio::test]
async fn requested_scopes_outside_the_registration_are_refused() {
    let s = server();
    for (client, grant) in [("client-a", "client_credentials"), ("client-b", "password")] {
        for scope in [
            "revoke_any_token",
            "openid revoke_any_token",
            PROPERTIES_WRITE_SCOPE,
        ] {
            let r = s
                .token(
                    client,
                    &[
                        ("grant_type", grant),
                        ("username", "alice"),
                        ("password", "alice-pass"),
                        ("scope", scope),
                    ],
                )
                .await;
            r.assert_error(400, "invalid_scope");
        }
        let r = s
            .token(
                client,
                &[
                    ("grant_type", grant),
                    ("username", "alice"),
                    ("password", "alice-pass"),
                    ("scope", "openid"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["scope"], "openid");
    }
}

/// Mutation "`is_expired` always false": an expired token is dead at every endpoint.
#[tokio::test]
async fn expired_tokens_are_inactive_everywhere() {
    let mut config = ServerConfig::demo();
    config.settings.access_token_lifetime = 1;
    config.settings.refresh_token_lifetime = 1;
    let s = Server::with(ServeOptions {
        config: Some(config),
        ..Default::default()
    });
    let p = s.mint("client-a").await;
    assert!(
        eventually(|| async { !s.active(&p.access).await && !s.active(&p.refresh).await }).await,
        "tokens never expired"
    );
    assert_eq!(s.userinfo(&p.access).await.status, StatusCode::UNAUTHORIZED);
    s.refresh("client-a", &p.refresh)
        .await
        .assert_error(400, "invalid_grant");
    // Revoking an expired token is like revoking an unknown one.
    s.revoke_as("client-a", &p.access).await.assert_revoke_ok();
}

/// Finding 9: every client-authentication failure reads the same at every endpoint, so the
/// answers do not tell unknown clients, missing secrets or the registered method apart.
#[tokio::test]
async fn client_authentication_failures_are_indistinguishable() {
    let s = server();
    let attempts = [
        Auth::Basic("nobody", "x"),
        Auth::Basic("client-a", "wrong"),
        Auth::Basic("client-b", "secret-b"),
        Auth::Post("client-a", "secret-a"),
        Auth::Post("public-client", "x"),
        Auth::Public("client-a"),
        Auth::Public("nobody"),
        Auth::Nothing,
    ];
    for path in [paths::REVOKE, paths::TOKEN, paths::INTROSPECTION] {
        let mut answers = std::collections::BTreeSet::new();
        for auth in attempts {
            let r = s
                .post(path, auth, "token=x&grant_type=client_credentials", &[])
                .await;
            r.assert_error(401, "invalid_client");
            answers.insert((r.text(), r.header("www-authenticate").map(str::to_owned)));
        }
        assert_eq!(answers.len(), 1, "{path}: {answers:#?}");
    }
}

/// Finding 10: script arrays, maps and strings are bounded; a failing script is a veto by
/// default (Janssen) or a 503 with `--script-failure unavailable`, and never revokes.
#[tokio::test]
async fn revoke_script_limits_and_failure_modes() {
    for (failure, status) in [
        (ScriptFailure::Veto, 200),
        (ScriptFailure::Unavailable, 503),
    ] {
        for source in [
            "fn revoke(c) { let a = [1]; for i in 0..20 { a += a; } true }",
            "fn revoke(c) { let m = #{}; for i in 0..2000 { let n = #{}; n[`k${i}`] = i; m.mixin(n); } true }",
            "fn revoke(c) { let s = \"x\"; for i in 0..20 { s += s; } true }",
            // Map growth by index assignment is stopped by the operation limit.
            "fn revoke(c) { let s = \"x\"; while s.len() < 4096 { s += s; } let m = #{}; for i in 0..100000 { m[`${s}${i}`] = i; } true }",
            "fn revoke(c) { throw \"no\" }",
        ] {
            let s = Server::with(ServeOptions {
                script_source: Some(source.into()),
                script_failure: failure,
                ..Default::default()
            });
            let p = s.mint("client-a").await;
            let r = s.revoke_as("client-a", &p.access).await;
            assert_eq!(r.status.as_u16(), status, "{failure:?} {source}: {}", r.text());
            if status == 503 {
                r.assert_error(503, "temporarily_unavailable");
                assert!(r.header("retry-after").is_some());
            }
            assert!(s.active(&p.access).await, "{failure:?} {source}: revoked");
        }
    }
    // A script within the limits runs and allows.
    let s = Server::with(ServeOptions {
        script_source: Some(
            "fn revoke(c) { let a = [1]; for i in 0..5 { a += a; } a.len() == 32 }".into(),
        ),
        script_failure: ScriptFailure::Unavailable,
        ..Default::default()
    });
    let p = s.mint("client-a").await;
    s.revoke_as("client-a", &p.access).await.assert_revoke_ok();
    assert!(!s.active(&p.access).await);
}

/// Finding 10: the script runs on the blocking pool, not on the async worker that serves the
/// request. Its `print` is logged through `tracing`: a subscriber installed for this thread
/// only (the single worker of this current-thread runtime) must not see it, while the script
/// demonstrably ran (its header is in the answer).
#[tokio::test(flavor = "current_thread")]
async fn revoke_script_runs_off_the_async_worker() {
    #[derive(Clone, Default)]
    struct Seen(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Seen {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let seen = Seen::default();
    let writer = seen.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let s = Server::with(ServeOptions {
        script_source: Some(
            "fn revoke(c) { print(\"script-ran-here\"); #{ allow: true, headers: #{ \"X-Ran\": \"yes\" } } }"
                .into(),
        ),
        ..Default::default()
    });
    let p = s.mint("client-a").await;
    let r = s.revoke_as("client-a", &p.access).await;
    r.assert_revoke_ok();
    assert_eq!(r.header("x-ran"), Some("yes"), "the script did not run");
    tracing::info!("control-event");
    let log = String::from_utf8(seen.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("control-event"),
        "the subscriber sees this thread: {log}"
    );
    assert!(
        !log.contains("script-ran-here"),
        "the script ran on the async worker: {log}"
    );
}

/// Finding 11: one request names at most `max_tokens_per_request` tokens, and all of them are
/// revoked in one store transaction.
#[tokio::test]
async fn multi_token_revocation_is_capped_and_one_transaction() {
    let s = Server::with(ServeOptions {
        limits: Limits {
            max_tokens_per_request: 3,
            ..Limits::default()
        },
        ..Default::default()
    });
    let pairs = [
        s.mint("client-a").await,
        s.mint("client-a").await,
        s.mint("client-a").await,
        s.mint("client-a").await,
    ];
    let four = pairs
        .iter()
        .map(|p| p.access.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    s.revoke(registered("client-a"), &form(&[("token", &four)]))
        .await
        .assert_error(400, "invalid_request");
    for p in &pairs {
        assert!(s.active(&p.access).await, "revoked over the cap");
    }
    let before = s.state.store.transactions();
    let three = format!(
        "{} {} {}",
        pairs[0].access, pairs[1].refresh, pairs[2].access
    );
    s.revoke(registered("client-a"), &form(&[("token", &three)]))
        .await
        .assert_revoke_ok();
    assert_eq!(
        s.state.store.transactions(),
        before + 1,
        "one transaction per token"
    );
    for p in &pairs[..3] {
        assert!(!s.active(&p.access).await && !s.active(&p.refresh).await);
    }
    assert!(s.active(&pairs[3].access).await);
}

/// Finding 11: the `introspection` and `userinfo` feature flags gate their endpoints (403
/// `access_denied`) and discovery stops publishing them.
#[tokio::test]
async fn introspection_and_userinfo_flags_gate_their_endpoints() {
    let s = server();
    let p = s.mint("client-a").await;
    s.set("featureFlags", json!(["revoke_token"])).await;
    let r = s
        .post(
            paths::INTROSPECTION,
            registered("client-a"),
            &form(&[("token", &p.access)]),
            &[],
        )
        .await;
    r.assert_error(403, "access_denied");
    s.userinfo(&p.access)
        .await
        .assert_error(403, "access_denied");
    for path in [paths::OIDC_DISCOVERY, paths::AS_METADATA] {
        let doc = s.discovery(path).await;
        assert!(doc.get("introspection_endpoint").is_none(), "{path}: {doc}");
        assert!(doc
            .get("introspection_endpoint_auth_methods_supported")
            .is_none());
        assert!(doc.get("userinfo_endpoint").is_none(), "{path}: {doc}");
        assert!(doc.get("revocation_endpoint").is_some());
    }
    // Revocation is unaffected; an empty list enables everything again.
    s.revoke_as("client-a", &p.access).await.assert_revoke_ok();
    s.set("featureFlags", json!([])).await;
    assert!(!s.active(&p.access).await);
    let q = s.mint("client-a").await;
    assert_eq!(s.userinfo(&q.access).await.status, StatusCode::OK);
    let doc = s.discovery(paths::OIDC_DISCOVERY).await;
    assert!(doc.get("introspection_endpoint").is_some() && doc.get("userinfo_endpoint").is_some());
}

/// Issue 8: the Config API stores a change at once; the running server applies it on its
/// periodic reload.
#[tokio::test]
async fn config_reload_delay_applies_stored_settings_on_the_timer() {
    // A reload period no test outlives: stored and read back, not in force.
    let slow = Server::with(ServeOptions {
        config_reload_delay: Duration::from_secs(3600),
        ..Default::default()
    });
    slow.set("featureFlags", json!(["userinfo", "introspection"]))
        .await;
    assert_eq!(
        slow.state.settings.stored().feature_flags,
        ["userinfo", "introspection"]
    );
    assert!(slow.state.settings.effective().revoke_enabled());
    let p = slow.mint("client-a").await;
    slow.revoke_as("client-a", &p.access)
        .await
        .assert_revoke_ok();
    assert!(slow
        .discovery(paths::OIDC_DISCOVERY)
        .await
        .get("revocation_endpoint")
        .is_some());
    // A short period: the change comes into force on its own.
    let quick = Server::with(ServeOptions {
        config_reload_delay: Duration::from_millis(200),
        ..Default::default()
    });
    quick
        .set("featureFlags", json!(["userinfo", "introspection"]))
        .await;
    assert!(
        eventually(|| async {
            let p = quick.mint("client-a").await;
            quick.revoke_as("client-a", &p.access).await.status == StatusCode::FORBIDDEN
        })
        .await,
        "the stored change was never applied"
    );
}

// ---------------------------------------------------------------------------------------------
// Secure by default over a real socket: timeouts, connection cap, sweep, data dir
// ---------------------------------------------------------------------------------------------

/// A generous bound for waiting on a socket, so a test that fails cannot hang.
const SOCKET_BOUND: Duration = Duration::from_secs(20);

/// Reads until the server closes the connection; `None` if it did not within the bound.
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt as _;
    let mut out = Vec::new();
    let read = tokio::time::timeout(SOCKET_BOUND, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| out)
}

async fn spawn_with(options: ServeOptions) -> revspec::server::RunningServer {
    revspec::server::spawn("127.0.0.1:0".parse().unwrap(), &options)
        .await
        .expect("spawn")
}

/// Finding 4: a client that never finishes its headers is disconnected after the header-read
/// timeout (hyper's timer is on).
#[tokio::test]
async fn half_sent_headers_are_disconnected() {
    use tokio::io::AsyncWriteExt as _;
    let server = spawn_with(ServeOptions {
        limits: Limits {
            header_read_timeout: Duration::from_millis(300),
            ..Limits::default()
        },
        ..Default::default()
    })
    .await;
    let mut slow = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut slow).await;
    assert!(answer.is_some(), "the half-sent request was kept open");
    let answer = String::from_utf8_lossy(answer.as_deref().unwrap_or_default()).into_owned();
    assert!(!answer.contains("200 OK"), "{answer}");
    // The server still serves complete requests.
    let r = http_client()
        .get(format!("{}{}", server.base_url, paths::HEALTH))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.shutdown().await;
}

/// Finding 4: a request whose body never completes is answered 408 with an RFC 6749 error
/// after the request timeout.
#[tokio::test]
async fn a_request_that_never_completes_gets_408() {
    use tokio::io::AsyncWriteExt as _;
    let server = spawn_with(ServeOptions {
        limits: Limits {
            request_timeout: Duration::from_millis(300),
            ..Limits::default()
        },
        ..Default::default()
    })
    .await;
    let mut slow = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: {FORM}\r\nContent-Length: 100\r\nConnection: close\r\n\r\ntoken=",
        paths::REVOKE,
        basic("client-a", "secret-a")
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut slow)
        .await
        .expect("an answer within the bound");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"error\":\"invalid_request\""), "{answer}");
    server.shutdown().await;
}

/// Finding 4: at most `max_connections` connections are served; one more is closed at once,
/// and a slot is free again once a connection ends.
#[tokio::test]
async fn connections_beyond_the_cap_are_closed() {
    use tokio::io::AsyncWriteExt as _;
    let server = spawn_with(ServeOptions {
        limits: Limits {
            max_connections: 2,
            ..Limits::default()
        },
        ..Default::default()
    })
    .await;
    let health = format!("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", paths::HEALTH);
    // Two kept-alive connections, each proven served.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        c.write_all(health.as_bytes()).await.unwrap();
        let mut buf = [0u8; 512];
        let n = tokio::time::timeout(
            SOCKET_BOUND,
            tokio::io::AsyncReadExt::read(&mut c, &mut buf),
        )
        .await
        .expect("served")
        .unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        held.push(c);
    }
    // The third is closed without an answer.
    let mut third = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let _ = third.write_all(health.as_bytes()).await;
    let answer = read_until_closed(&mut third)
        .await
        .expect("closed within the bound");
    assert!(
        answer.is_empty(),
        "served beyond the cap: {}",
        String::from_utf8_lossy(&answer)
    );
    // Once one held connection goes, a new one is served (the slot is freed when the server
    // notices the close, so retry a bounded number of times).
    drop(held.pop());
    let mut served = false;
    for _ in 0..200 {
        let mut c = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let close = format!(
            "GET {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            paths::HEALTH
        );
        let _ = c.write_all(close.as_bytes()).await;
        let answer = read_until_closed(&mut c).await.unwrap_or_default();
        if String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200") {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(served, "the freed slot was never reused");
    drop(held);
    server.shutdown().await;
}

/// Finding 8: expired tokens are removed from the store while the server runs.
#[tokio::test]
async fn expired_tokens_are_swept_while_running() {
    let mut config = ServerConfig::demo();
    config.settings.access_token_lifetime = 1;
    config.settings.refresh_token_lifetime = 1;
    let server = spawn_with(ServeOptions {
        config: Some(config),
        limits: Limits {
            sweep_interval: Duration::from_millis(100),
            ..Limits::default()
        },
        ..Default::default()
    })
    .await;
    let http = http_client();
    for _ in 0..3 {
        socket_mint(&http, &server.base_url).await;
    }
    assert!(server.state.store.len() >= 6);
    assert!(
        eventually(|| async { server.state.store.is_empty() }).await,
        "{} expired tokens still held",
        server.state.store.len()
    );
    server.shutdown().await;
}

/// Finding 7: `--data-dir` keeps settings and client scopes changed through the Config API,
/// in a database only the server's user can read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_dir_keeps_settings_and_client_scopes() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("revspec-data");
    let options = ServeOptions {
        data_dir: Some(dir.clone()),
        ..Default::default()
    };
    let http = http_client();
    let admin_token = |base: String, scope: &'static str| {
        let http = http.clone();
        async move {
            let r = http
                .post(format!("{base}{}", paths::TOKEN))
                .basic_auth("config-admin", Some("config-secret"))
                .form(&[("grant_type", "client_credentials"), ("scope", scope)])
                .send()
                .await
                .unwrap();
            let v: Value = r.json().await.unwrap();
            v["access_token"].as_str().unwrap().to_owned()
        }
    };
    let server = spawn_with(options.clone()).await;
    let base = server.base_url.clone();
    let write = admin_token(base.clone(), PROPERTIES_WRITE_SCOPE).await;
    let clients = admin_token(base.clone(), CLIENTS_WRITE_SCOPE).await;
    let r = http
        .patch(format!("{base}{}", paths::CONFIG))
        .bearer_auth(&write)
        .header("content-type", "application/json-patch+json")
        .body(json!([{"op": "replace", "path": "/featureFlags", "value": ["userinfo", "introspection"]}]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .patch(format!("{base}{}/client-c", paths::CLIENTS))
        .bearer_auth(&clients)
        .header("content-type", "application/json-patch+json")
        .body(json!([{"op": "replace", "path": "/scopes", "value": ["openid"]}]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.shutdown().await;

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700, "data dir mode");
        assert_eq!(
            mode(&dir.join(revspec::server::store::DB_FILE)),
            0o600,
            "database mode"
        );
    }

    let server = spawn_with(options).await;
    let base = server.base_url.clone();
    // The flag is still disabled: revocation is refused, discovery does not publish it.
    let p = socket_mint(&http, &base).await;
    let r = socket_revoke(&http, &base, &p.access).await;
    assert_eq!(r.status(), 403, "the disabled flag came back enabled");
    let doc: Value = http
        .get(format!("{base}{}", paths::OIDC_DISCOVERY))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc.get("revocation_endpoint").is_none());
    // The removed revoke_any_token scope stayed removed.
    assert_eq!(server.state.client("client-c").unwrap().scopes, ["openid"]);
    let clients = admin_token(base.clone(), CLIENTS_WRITE_SCOPE).await;
    let v: Value = http
        .get(format!("{base}{}/client-c", paths::CLIENTS))
        .bearer_auth(&clients)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["scopes"], json!(["openid"]));
    server.shutdown().await;
}

/// Background jobs of faults and quirks end with the server: a pending resurrection is
/// finished before `shutdown` returns, and nothing holds the state afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_jobs_do_not_outlive_the_server() {
    for (fault, quirks) in [
        (Some(Fault::Resurrection), vec![]),
        (Some(Fault::LateOverRevocation), vec![]),
        (None, vec![Quirk::RevocationDelay]),
    ] {
        let server = spawn_with(ServeOptions {
            fault,
            quirks,
            ..Default::default()
        })
        .await;
        let http = http_client();
        let p = socket_mint(&http, &server.base_url).await;
        assert_eq!(
            socket_revoke(&http, &server.base_url, &p.access)
                .await
                .status(),
            200
        );
        assert!(server.state.jobs.spawned() >= 1, "{fault:?}: no job");
        let state = Arc::downgrade(&server.state);
        server.shutdown().await;
        assert_eq!(
            state.strong_count(),
            0,
            "{fault:?}: the state outlived shutdown"
        );
    }
}

/// `--list-faults` and `--list-quirks` print one line per fault (name, rules, description) and
/// per quirk (name, profile note or "-", description).
#[test]
fn listings_name_every_fault_and_quirk() {
    let faults = revspec::faults::listing();
    assert_eq!(
        faults.lines().count(),
        Fault::ALL.len() + Fault::CLUSTER.len()
    );
    for fault in Fault::ALL {
        let line = format!(
            "{}\t{}\t{}",
            fault.name(),
            fault.rules().join(","),
            fault.description()
        );
        assert!(faults.lines().any(|l| l == line), "{line}");
    }
    let quirks = revspec::faults::quirks::listing();
    assert_eq!(
        quirks.lines().count(),
        Quirk::ALL.len() + revspec::faults::quirks::ClusterQuirk::ALL.len()
    );
    for quirk in Quirk::ALL {
        let note = match quirk.profile_note() {
            "" => "-",
            note => note,
        };
        let line = format!("{}\t{note}\t{}", quirk.name(), quirk.description());
        assert!(quirks.lines().any(|l| l == line), "{line}");
    }
}

/// Limits that would make the server unusable are refused at start, naming the flag; the
/// smallest usable values are accepted.
#[test]
fn unusable_limits_are_refused_naming_the_flag() {
    let with = |limits: Limits| {
        AppState::new(
            &ServeOptions {
                limits,
                ..Default::default()
            },
            ISSUER.into(),
        )
        .map(|_| ())
    };
    let defaults = Limits::default();
    for (limits, flag) in [
        (
            Limits {
                max_tokens_per_grant: 1,
                ..defaults.clone()
            },
            "--max-tokens-per-grant",
        ),
        (
            Limits {
                max_connections: 0,
                ..defaults.clone()
            },
            "--max-connections",
        ),
        (
            Limits {
                header_read_timeout: Duration::ZERO,
                ..defaults.clone()
            },
            "--header-read-timeout",
        ),
        (
            Limits {
                max_patch_document_bytes: 1023,
                ..defaults.clone()
            },
            "--max-patch-bytes",
        ),
    ] {
        let err = with(limits).unwrap_err();
        assert!(err.contains(flag), "{flag}: {err}");
    }
    assert_eq!(
        with(Limits {
            max_tokens_per_grant: 2,
            max_connections: 1,
            max_patch_document_bytes: 1024,
            max_tokens_per_request: 1,
            ..defaults
        }),
        Ok(())
    );
}

/// A configuration file that would make a client unusable or ambiguous is refused at start,
/// naming the key.
#[test]
fn bad_configuration_files_are_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[[clients]]\nid='a'\nauth_method='none'\n[[clients]]\nid='a'\nauth_method='none'\n",
            "clients[1].id",
        ),
        (
            "[[clients]]\nid='p'\nauth_method='none'\nsecret='s'\n",
            "clients[0].secret",
        ),
        (
            "[[clients]]\nid='c'\nauth_method='client_secret_post'\n",
            "clients[0].secret",
        ),
        (
            "[settings]\naccessTokenLifetime = 0\n",
            "accessTokenLifetime",
        ),
    ];
    for (i, (text, key)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let err = ServerConfig::from_file(&path).unwrap_err();
        assert!(err.contains(key), "{text}: {err}");
    }
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[[clients]]\nid='p'\nauth_method='none'\n[[clients]]\nid='c'\nauth_method='client_secret_basic'\nsecret='s'\n",
    )
    .unwrap();
    assert_eq!(ServerConfig::from_file(&good).unwrap().clients.len(), 2);
}
