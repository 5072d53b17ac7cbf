//! Real sockets: a mint, revoke and introspect over loopback, a restart on the same data
//! directory, shutdown releasing it, and a refresh racing a revocation.

use crate::helpers::*;

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
