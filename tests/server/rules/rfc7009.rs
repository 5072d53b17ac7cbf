//! The rules of the `rfc7009` profile (RFC 7009, with the RFC 6749 and RFC 8414 rules it
//! leans on), one test each, named after the rule ID.

use crate::helpers::*;

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

/// Every published method works at the revocation endpoint; the certificate methods are
/// published only while the mTLS listener runs.
#[tokio::test]
async fn rfc8414_auth_methods() {
    let plain = [
        ("client_secret_basic", "client-a"),
        ("client_secret_post", "client-b"),
        ("private_key_jwt", "client-jwt"),
        ("client_secret_jwt", "client-secjwt"),
    ];
    let certificates = [
        ("tls_client_auth", "client-mtls"),
        ("self_signed_tls_client_auth", "client-ss"),
    ];
    for (s, with_mtls) in [
        (server(), false),
        (Server::with_mtls(ServeOptions::default()), true),
    ] {
        let doc = s.discovery(paths::AS_METADATA).await;
        let methods: Vec<&str> = doc["revocation_endpoint_auth_methods_supported"]
            .as_array()
            .expect("published")
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        let mut expected: Vec<(&str, &str)> = plain.to_vec();
        if with_mtls {
            expected.extend(certificates);
        }
        expected.push(("none", "public-client"));
        assert_eq!(
            methods,
            expected.iter().map(|(m, _)| *m).collect::<Vec<_>>(),
            "with the mTLS listener: {with_mtls}"
        );
        for (method, client) in expected {
            let p = s.mint(client).await;
            s.revoke_as(client, &p.access).await.assert_revoke_ok();
            assert!(!s.active(&p.access).await, "{method} did not revoke");
        }
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
