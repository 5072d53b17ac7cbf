//! Quirks: every quirk behaves as described (conformant but unusual), and the same check fails
//! on the same server without it.

use crate::helpers::*;

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
                support::eventually(SETTLE, || async {
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
                support::eventually(SETTLE, || async {
                    !s.active(&p.access).await && !s.active(&p.refresh).await
                })
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
        Quirk::AssertionAudTokenEndpointOnly => {
            use revspec::sut::client::assertion::{sign, Defect};
            use revspec::sut::client::keys::SigningKey;
            let key = SigningKey::from_text(&fixture("client-jwt.key.pem"), None, None).unwrap();
            let p = s.mint("client-jwt").await;
            let issuer_aud = sign(&key, None, "client-jwt", ISSUER, &Defect::None).unwrap();
            let r = s
                .revoke(Auth::Jwt(&issuer_aud), &form(&[("token", &p.access)]))
                .await;
            check!(r.status == 401, "aud = issuer answered {}", r.status);
            let r = s.revoke_as("client-jwt", &p.access).await;
            check!(
                r.status == 200,
                "aud = token endpoint answered {}",
                r.status
            );
        }
        Quirk::MalformedAssertion400 => {
            let p = s.mint("client-jwt").await;
            let body = form(&[
                ("token", &p.access),
                ("client_assertion", &assertion("client-jwt")),
            ]);
            let r = s.revoke(Auth::Nothing, &body).await;
            check!(
                r.status == 400 && r.json()["error"] == "invalid_request",
                "answered {}: {}",
                r.status,
                r.text()
            );
            check!(s.active(&p.access).await, "revoked");
        }
        Quirk::Es256OnlyPublished => {
            let doc = s.get(paths::AS_METADATA).await.json();
            let algs = &doc["revocation_endpoint_auth_signing_alg_values_supported"];
            check!(*algs == json!(["ES256"]), "lists {algs}");
            // The server still takes the other algorithms.
            let p = s.mint("client-secjwt").await;
            let r = s.revoke_as("client-secjwt", &p.access).await;
            check!(r.status == 200, "HS256 answered {}", r.status);
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
