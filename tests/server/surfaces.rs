//! The server's own surfaces, beyond the catalogue's rules: the Config API, the refresh grant,
//! userinfo, the body limit, malformed input and token type hints.

use crate::helpers::*;

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
