//! Secure by default (issue 13), what a request may cost: one test per finding, each failing
//! without its fix (JSON Patch bombs, capped grants and multi-token requests, bounded scripts,
//! token lifetimes, the settings reload timer).

use crate::helpers::*;

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
        support::eventually(SETTLE, || async {
            tokio::net::TcpStream::connect(addr).await.is_err()
        })
        .await,
        "still accepting connections after the handle was dropped"
    );
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
        support::eventually(SETTLE, || async {
            let p = quick.mint("client-a").await;
            quick.revoke_as("client-a", &p.access).await.status == StatusCode::FORBIDDEN
        })
        .await,
        "the stored change was never applied"
    );
}

/// Issue 23, S4: a client holds at most `max_grants_per_client` live grants. A new grant beyond
/// it is refused with 503 `temporarily_unavailable` and `Retry-After` (whatever its grant type),
/// the client's existing grants keep working (a refresh adds to its grant, it is not a new
/// one), other clients are not affected, and a revoked grant frees its place.
#[tokio::test]
async fn a_client_holds_at_most_its_cap_of_live_grants() {
    let s = Server::with(ServeOptions {
        limits: Limits {
            max_grants_per_client: 2,
            ..Limits::default()
        },
        ..Default::default()
    });
    let pair = s.mint("client-a").await;
    let cc = s
        .token("client-a", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(cc.status, StatusCode::OK, "{}", cc.text());
    for grant in [
        vec![("grant_type", "client_credentials")],
        vec![
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-pass"),
        ],
    ] {
        let refused = s.token("client-a", &grant).await;
        refused.assert_error(503, "temporarily_unavailable");
        assert_eq!(refused.header("retry-after"), Some("1"));
    }
    assert_eq!(
        s.refresh("client-a", &pair.refresh).await.status,
        StatusCode::OK
    );
    assert!(s.active(&pair.access).await);
    s.mint("client-b").await;
    s.revoke_as("client-a", &pair.refresh)
        .await
        .assert_revoke_ok();
    s.mint("client-a").await;
}
