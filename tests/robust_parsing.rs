//! Robust parsing, property-based: generated requests (methods, paths, headers, content
//! types, bodies, percent- and plus-encodings, Basic values) sent to the router in process
//! (`router(state)` with tower's `oneshot`), against the demo server and against every fault.
//! Each must be answered, never panic, and never be a 5xx, except the 503 that a request asks
//! for with `X-Revspec-Simulate: unavailable` (the demo server's simulation switch).
//!
//! `REVSPEC_PROPTEST_CASES` sets the total number of requests (1,000,000 by default), split
//! over four tests that cargo runs in parallel. Each test draws from a seed printed on failure;
//! `REVSPEC_PROPTEST_SEED=<hex>` replays it.

use axum::body::Body;
use axum::http::Request;
use base64::Engine as _;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use revspec::faults::Fault;
use revspec::server::{paths, router, AppState, ServeOptions};
use std::sync::Arc;
use tower::ServiceExt as _;

fn cases() -> u32 {
    std::env::var("REVSPEC_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// A request as generated.
#[derive(Debug, Clone)]
struct Generated {
    server: usize,
    method: String,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

fn text_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("token".to_owned()),
        Just("token_type_hint".to_owned()),
        Just("client_id".to_owned()),
        Just("client_secret".to_owned()),
        Just("grant_type".to_owned()),
        Just("refresh_token".to_owned()),
        Just("client-a".to_owned()),
        Just("secret-a".to_owned()),
        Just("all".to_owned()),
        Just("access_token".to_owned()),
        Just("password".to_owned()),
        Just("client_credentials".to_owned()),
        "[a-z_]{0,12}",
        "%[0-9a-fA-F]{0,2}",
        "[+%=&]{1,3}",
        ".{0,16}",
    ]
}

/// A form-like body: pieces joined with `=`, `&`, `+` and percent signs, or raw bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(text_piece(), 0..10).prop_map(|p| p.join("").into_bytes()),
        4 => prop::collection::vec((text_piece(), text_piece()), 0..6).prop_map(|pairs| pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes()),
        2 => prop::collection::vec(any::<u8>(), 0..64),
        1 => Just(b"{\"token\":\"x\"}".to_vec()),
    ]
}

fn basic_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (text_piece(), text_piece()).prop_map(|(id, secret)| format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        )
        .into_bytes()),
        Just(b"Basic Y2xpZW50LWE6c2VjcmV0LWE=".to_vec()),
        prop::collection::vec(any::<u8>(), 0..24).prop_map(|b| format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(b)
        )
        .into_bytes()),
        "(Basic|basic|Bearer|BASIC)? ?[ -~]{0,24}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..24),
    ]
}

fn header() -> impl Strategy<Value = (String, Vec<u8>)> {
    prop_oneof![
        4 => prop_oneof![
            Just(b"application/x-www-form-urlencoded".to_vec()),
            Just(b"application/x-www-form-urlencoded; charset=UTF-8".to_vec()),
            Just(b"APPLICATION/X-WWW-FORM-URLENCODED".to_vec()),
            Just(b"application/json".to_vec()),
            Just(b"application/json-patch+json".to_vec()),
            Just(b"text/plain".to_vec()),
            "[ -~]{0,30}".prop_map(String::into_bytes),
            prop::collection::vec(any::<u8>(), 0..16),
        ].prop_map(|v| ("content-type".to_owned(), v)),
        4 => basic_value().prop_map(|v| ("authorization".to_owned(), v)),
        1 => prop_oneof![Just("gzip"), Just("identity"), Just("br, deflate")]
            .prop_map(|v| ("content-encoding".to_owned(), v.as_bytes().to_vec())),
        1 => prop_oneof![Just("https://app.example"), Just("https://evil.example"), Just("null")]
            .prop_map(|v| ("origin".to_owned(), v.as_bytes().to_vec())),
        1 => Just(("x-revspec-simulate".to_owned(), b"unavailable".to_vec())),
        1 => Just(("x-revoke-veto".to_owned(), b"true".to_vec())),
        1 => ("x-[a-z]{1,8}", prop::collection::vec(any::<u8>(), 0..12)),
    ]
}

fn path() -> impl Strategy<Value = String> {
    let known = prop_oneof![
        Just(paths::REVOKE.to_owned()),
        Just(paths::TOKEN.to_owned()),
        Just(paths::INTROSPECTION.to_owned()),
        Just(paths::USERINFO.to_owned()),
        Just(paths::CONFIG.to_owned()),
        Just(format!("{}/client-a", paths::CLIENTS)),
        Just(paths::OIDC_DISCOVERY.to_owned()),
        Just(paths::HEALTH.to_owned()),
    ];
    prop_oneof![
        6 => known.clone(),
        2 => (known, "[a-z=&%+]{0,16}").prop_map(|(p, q)| format!("{p}?{q}")),
        1 => "/[a-z/%.]{0,20}",
    ]
}

fn request(servers: usize) -> impl Strategy<Value = Generated> {
    (
        0..servers,
        prop_oneof![
            6 => Just("POST".to_owned()),
            2 => Just("GET".to_owned()),
            1 => prop_oneof![Just("PUT"), Just("PATCH"), Just("DELETE"), Just("OPTIONS"), Just("HEAD")]
                .prop_map(str::to_owned),
            1 => "[A-Z]{1,8}",
        ],
        path(),
        prop::collection::vec(header(), 0..5),
        body(),
    )
        .prop_map(|(server, method, path, headers, body)| Generated {
            server,
            method,
            path,
            headers,
            body,
        })
}

/// The demo server, and the demo server with each fault.
fn servers() -> Vec<Arc<AppState>> {
    std::iter::once(None)
        .chain(Fault::ALL.iter().copied().map(Some))
        .map(|fault| {
            let options = ServeOptions {
                fault,
                ..Default::default()
            };
            Arc::new(AppState::new(&options, "http://127.0.0.1:9".into()).expect("state"))
        })
        .collect()
}

fn seed() -> [u8; 32] {
    match std::env::var("REVSPEC_PROPTEST_SEED") {
        Ok(hex_seed) => {
            let bytes = hex::decode(hex_seed.trim()).expect("REVSPEC_PROPTEST_SEED is hex");
            bytes.try_into().expect("REVSPEC_PROPTEST_SEED is 32 bytes")
        }
        Err(_) => rand::random(),
    }
}

/// Sends `cases` generated requests; fails with the seed and the smallest failing request.
fn run(name: &str, cases: u32) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _inside = runtime.enter();
    let states = servers();
    let apps: Vec<_> = states.iter().map(|s| router(s.clone())).collect();
    let seed = seed();
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let result = runner.run(&request(apps.len()), |g| {
        let mut builder = Request::builder()
            .method(g.method.as_str())
            .uri(g.path.as_str());
        for (name, value) in &g.headers {
            builder = builder.header(name.as_str(), value.as_slice());
        }
        // Values the HTTP layer itself refuses (a newline in a header...) never reach a server.
        let Ok(req) = builder.body(Body::from(g.body.clone())) else {
            return Ok(());
        };
        let response = runtime
            .block_on(apps[g.server].clone().oneshot(req))
            .expect("infallible");
        let status = response.status().as_u16();
        let simulated = g
            .headers
            .iter()
            .any(|(n, v)| n == "x-revspec-simulate" && v == b"unavailable");
        if status >= 500 && !(status == 503 && simulated) {
            return Err(TestCaseError::fail(format!("answered {status}")));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!(
            "{name}: {e}\nseed: {} (replay with REVSPEC_PROPTEST_SEED={})",
            hex::encode(seed),
            hex::encode(seed)
        );
    }
}

#[test]
fn generated_requests_part_1() {
    run("part 1", cases() / 4);
}

#[test]
fn generated_requests_part_2() {
    run("part 2", cases() / 4);
}

#[test]
fn generated_requests_part_3() {
    run("part 3", cases() / 4);
}

#[test]
fn generated_requests_part_4() {
    run("part 4", cases() - 3 * (cases() / 4));
}
