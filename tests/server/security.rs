//! Secure by default (issue 13), who may do what: one test per finding, each failing without
//! its fix (public clients, introspection and bearer checks that follow the registration as it
//! is now, indistinguishable authentication failures).

use crate::helpers::*;

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
            json!([
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
                "client_secret_jwt"
            ]),
            "{path}"
        );
    }
    for client in ["client-jwt", "client-secjwt"] {
        let own = s.mint(client).await;
        assert!(s.active_for(client, &own.access).await, "{client}");
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
        support::eventually(SETTLE, || async { !s.active(&p.access).await }).await,
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
        support::eventually(SETTLE, || async {
            !s.active(&p.access).await && !s.active(&p.refresh).await
        })
        .await,
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

/// An assertion's `jti` is kept until its `exp`: one that would live for an hour is refused,
/// so a client cannot grow the replay cache without bound; one that lives a minute is taken.
#[tokio::test]
async fn an_assertion_that_lives_too_long_is_refused() {
    let s = server();
    let now = revspec::server::clock::now();
    let signed = |exp: u64, jti: &str| {
        let claims = json!({
            "iss": "client-secjwt", "sub": "client-secjwt",
            "aud": format!("{ISSUER}{}", paths::TOKEN),
            "iat": now, "exp": exp, "jti": jti,
        });
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(
                revspec::server::config::demo_keys::CLIENT_SECJWT_SECRET.as_bytes(),
            )
            .expect("an HMAC key"),
        )
        .expect("signs")
    };
    let p = s.mint("client-secjwt").await;
    let far = signed(now + 3600, "far-future");
    s.revoke(Auth::Jwt(&far), &form(&[("token", &p.access)]))
        .await
        .assert_error(401, "invalid_client");
    assert!(
        s.active(&p.access).await,
        "revoked with a refused assertion"
    );
    let near = signed(now + 60, "a-minute");
    s.revoke(Auth::Jwt(&near), &form(&[("token", &p.access)]))
        .await
        .assert_revoke_ok();
    assert!(!s.active(&p.access).await);
}
