//! The rules the `janssen` profile adds (grant cascade, `all`, other clients' tokens, the
//! `REVOKE_TOKEN` feature flag, the revoke script), one test each, named after the rule ID.

use crate::helpers::*;

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
