//! Routing, in one place: where each request goes ([`route`]), the table of every endpoint
//! ([`routes`]), and the one service around them ([`Gate`]).
//!
//! Two hot paths, `POST` revocation and `POST` token (what clients and load tests send most),
//! call their handler directly instead of through axum's router: the handler is the one the
//! table names for them, so the answer is the same, without the router's lookup and its
//! per-request extensions (`docs/performance.md`). CORS applies only to the revocation
//! endpoint, and only to a cross-origin request or its preflight; the other revocation answers
//! get the layer's `Vary` by hand. The [`Gate`] wraps every request once: with a shared store,
//! a node that may not know the latest Config API changes answers 503 (see
//! `store::redis::STALE_AFTER`); then the request timeout, then the answer-reshaping faults and
//! quirks (only when one is configured), so a request pays for one wrapper, not one per layer.

use super::endpoints::{config_api, discovery, health, introspect, revoke, token, userinfo};
use super::error::OAuthError;
use super::paths;
use super::state::AppState;
use crate::faults::quirks::Quirk;
use crate::faults::Fault;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

/// Where a request goes: the whole routing decision, read from its method, path and `Origin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `POST` revocation, same origin (the hot path): [`revoke::revoke`], called directly.
    Revoke,
    /// `POST` token (the hot path): [`token::token`], called directly.
    Token,
    /// The revocation endpoint with `Origin`, or `OPTIONS` there: the CORS policy around
    /// [`routes`].
    CrossOrigin,
    /// Everything else: [`routes`].
    Table,
}

fn route(method: &Method, path: &str, has_origin: bool) -> Route {
    match path {
        paths::REVOKE if method == Method::OPTIONS || has_origin => Route::CrossOrigin,
        paths::REVOKE if method == Method::POST => Route::Revoke,
        paths::TOKEN if method == Method::POST => Route::Token,
        _ => Route::Table,
    }
}

/// Every endpoint, by path and method (the hot paths too: [`route`] calls the same handlers).
fn routes(state: Arc<AppState>) -> Router {
    Router::new()
        .route(paths::TOKEN, post(token::token))
        .route(paths::INTROSPECTION, post(introspect::introspect))
        .route(
            paths::USERINFO,
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route(paths::OIDC_DISCOVERY, get(discovery::oidc_discovery))
        .route(paths::AS_METADATA, get(discovery::as_metadata))
        .route(
            paths::CONFIG,
            get(config_api::get_config).patch(config_api::patch_config),
        )
        .route(
            &format!("{}/{{client_id}}", paths::CLIENTS),
            get(config_api::get_client).patch(config_api::patch_client),
        )
        .route(paths::HEALTH, get(health::health))
        .route(paths::REVOKE, post(revoke::revoke).get(revoke::revoke_get))
        .with_state(state)
}

fn cors_layer(origins: &[String], no_post: bool) -> tower_http::cors::CorsLayer {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    // The `cors-preflight-no-post` fault announces only GET.
    let method = if no_post { Method::GET } else { Method::POST };
    tower_http::cors::CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([method])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
}

/// What `tower_http`'s CORS layer adds to every answer it passes; added by hand to the
/// revocation answers that skip the layer (no `Origin`, not a preflight).
const CORS_VARY: HeaderValue = HeaderValue::from_static(
    "origin, access-control-request-method, access-control-request-headers",
);

/// The whole app as an axum `Router` (what tests drive with `oneshot`); [`spawn`] serves the
/// same [`Gate`] without the router around it.
///
/// [`spawn`]: super::lifecycle::spawn
pub fn router(state: Arc<AppState>) -> Router {
    Router::new().fallback_service(Gate::new(state))
}

/// The one service around every route (see the module's doc). Cloned for every request and
/// connection: one reference count.
#[derive(Clone)]
pub struct Gate(Arc<GateInner>);

struct GateInner {
    state: Arc<AppState>,
    routes: Router,
    cross_origin: tower_http::cors::Cors<Router>,
    /// A fault or quirk reshapes answers.
    reshape: bool,
}

impl Gate {
    pub fn new(state: Arc<AppState>) -> Self {
        let routes = routes(state.clone());
        let cross_origin = tower::Layer::layer(
            &cors_layer(
                &state.cors_allowed_origins,
                state.has_fault(Fault::CorsPreflightNoPost),
            ),
            routes.clone(),
        );
        Self(Arc::new(GateInner {
            reshape: state.fault.is_some() || state.has_quirk(Quirk::TwoChallenges),
            state,
            routes,
            cross_origin,
        }))
    }
}

impl GateInner {
    /// The answer of the route the request takes.
    async fn answer(&self, route: Route, req: Request<Body>) -> Response {
        let state = || State(self.state.clone());
        match route {
            Route::Revoke => revoke::revoke(state(), req).await.into_response(),
            Route::Token => token::token(state(), req).await.into_response(),
            Route::CrossOrigin => {
                let Ok(response) = tower::ServiceExt::oneshot(self.cross_origin.clone(), req).await;
                response
            }
            Route::Table => {
                let Ok(response) = tower::ServiceExt::oneshot(self.routes.clone(), req).await;
                response
            }
        }
    }
}

impl<B> tower::Service<Request<B>> for Gate
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response, Self::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let req = req.map(Body::new);
        let gate = self.0.clone();
        let revocation = req.uri().path() == paths::REVOKE;
        let is_revoke = revocation && req.method() != Method::OPTIONS;
        let route = route(
            req.method(),
            req.uri().path(),
            req.headers().contains_key(header::ORIGIN),
        );
        Box::pin(async move {
            let state = &gate.state;
            // A node that may not know of a removed scope or a disabled flag acts on nothing.
            if state.store.shared().is_some_and(|s| !s.config_fresh()) {
                return Ok(OAuthError::temporarily_unavailable(1).into_response());
            }
            let answer = gate.answer(route, req);
            let mut response =
                match tokio::time::timeout(state.limits.request_timeout, answer).await {
                    Ok(response) => response,
                    // The timeout's own answer is never reshaped.
                    Err(_) => return Ok(OAuthError::request_timeout().into_response()),
                };
            if revocation && route != Route::CrossOrigin {
                response.headers_mut().append(header::VARY, CORS_VARY);
            }
            if gate.reshape {
                revoke::reshape_fault(state, is_revoke, &mut response);
                reshape_quirk(state, &mut response);
            }
            Ok(response)
        })
    }
}

/// Reshapes answers for the quirks that touch every endpoint.
fn reshape_quirk(state: &AppState, response: &mut Response) {
    if state.has_quirk(Quirk::TwoChallenges) && response.status() == StatusCode::UNAUTHORIZED {
        let headers = response.headers_mut();
        let bearer = headers
            .get(header::WWW_AUTHENTICATE)
            .filter(|v| v.as_bytes().starts_with(b"Bearer"))
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static("Bearer realm=\"revspec\""));
        headers.remove(header::WWW_AUTHENTICATE);
        headers.append(header::WWW_AUTHENTICATE, bearer);
        headers.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"revspec\""),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::options::ServeOptions;

    /// A hot path must answer exactly as the table's route to the same handler would.
    #[tokio::test]
    async fn the_hot_paths_answer_as_the_table_does() {
        let state = AppState::new(&ServeOptions::default(), "http://127.0.0.1:9".into()).unwrap();
        let gate = Gate::new(Arc::new(state));
        let client_a = "Basic Y2xpZW50LWE6c2VjcmV0LWE="; // client-a:secret-a (demo fixture)
        let wrong = "Basic Y2xpZW50LWE6d3Jvbmc="; // client-a:wrong
        for (hot, path, authorization, body) in [
            (Route::Revoke, paths::REVOKE, client_a, "token=never-issued"),
            (Route::Revoke, paths::REVOKE, client_a, "token=a&token=b"),
            (Route::Revoke, paths::REVOKE, wrong, "token=never-issued"),
            (
                Route::Token,
                paths::TOKEN,
                wrong,
                "grant_type=client_credentials",
            ),
            (Route::Token, paths::TOKEN, client_a, "grant_type=implicit"),
        ] {
            let request = || {
                Request::post(path)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::AUTHORIZATION, authorization)
                    .body(Body::from(body))
                    .unwrap()
            };
            let mut answers = Vec::new();
            for way in [hot, Route::Table] {
                let (mut parts, body) = gate.0.answer(way, request()).await.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                // The router sets Content-Length from the body's exact size; hyper does the
                // same on the wire for the direct answer.
                if let Some(length) = parts.headers.remove(header::CONTENT_LENGTH) {
                    assert_eq!(length, body.len().to_string().as_str());
                }
                answers.push((parts.status, parts.headers, body));
            }
            assert_eq!(answers[0], answers[1], "{path} {body}");
            assert_ne!(answers[0].0, StatusCode::NOT_FOUND, "{path} {body}");
        }
    }

    #[test]
    fn only_revocation_and_token_posts_skip_the_table_and_only_revocation_meets_cors() {
        let o = true;
        for (method, path, origin, expected) in [
            (Method::POST, paths::REVOKE, !o, Route::Revoke),
            (Method::POST, paths::REVOKE, o, Route::CrossOrigin),
            (Method::OPTIONS, paths::REVOKE, !o, Route::CrossOrigin),
            (Method::GET, paths::REVOKE, o, Route::CrossOrigin),
            (Method::GET, paths::REVOKE, !o, Route::Table),
            (Method::POST, paths::TOKEN, o, Route::Token),
            (Method::POST, paths::TOKEN, !o, Route::Token),
            (Method::GET, paths::TOKEN, !o, Route::Table),
            (Method::OPTIONS, paths::TOKEN, o, Route::Table),
            (Method::POST, paths::INTROSPECTION, o, Route::Table),
            (Method::POST, "/jans-auth/restv1/revoke/", !o, Route::Table),
        ] {
            assert_eq!(
                route(&method, path, origin),
                expected,
                "{method} {path} {origin}"
            );
        }
    }
}
