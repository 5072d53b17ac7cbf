//! Faults: every fault of `Fault::ALL` misbehaves exactly as described, and the same check
//! passes on the same server without it (table-driven, one case per fault).

use crate::helpers::*;

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
        Fault::GetRevokesBasicOnly => {
            // Query credentials are refused and nothing is revoked; Basic revokes.
            let p = s.mint("client-a").await;
            let uri = format!(
                "{}?{}",
                paths::REVOKE,
                form(&[
                    ("token", &p.access),
                    ("client_id", "client-a"),
                    ("client_secret", "secret-a")
                ])
            );
            let r = s.raw(Method::GET, &uri, &[], vec![]).await;
            check!(r.status == 401, "GET with query credentials: {}", r.status);
            check!(s.active(&p.access).await, "query credentials revoked");
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
            check!(r.status == 200, "GET with Basic answered {}", r.status);
            check!(!s.active(&p.access).await, "GET with Basic did not revoke");
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
                support::eventually(SETTLE, || async {
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
                support::eventually(SETTLE, || async {
                    s.active(&p.access).await && s.active(&p.refresh).await
                })
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
        Fault::ClientSecretJwtRefused => {
            let p = s.mint("client-secjwt").await;
            let r = s.revoke_as("client-secjwt", &p.access).await;
            check!(r.status == 401, "status {}", r.status);
            check!(s.active(&p.access).await, "revoked");
            // The token endpoint still takes client_secret_jwt.
            let r = s.refresh("client-secjwt", &p.refresh).await;
            check!(r.status == 200, "token endpoint {}", r.status);
        }
        Fault::AssertionAudienceIgnored
        | Fault::AssertionExpiredAccepted
        | Fault::AssertionAlgNoneAccepted => {
            use revspec::sut::client::assertion::Defect;
            let defect = match fault {
                Fault::AssertionAudienceIgnored => Defect::ForeignAudience,
                Fault::AssertionExpiredAccepted => Defect::Expired,
                _ => Defect::AlgNone,
            };
            let p = s.mint("client-jwt").await;
            let jwt = assertion_with("client-jwt", &defect);
            let r = s
                .revoke(Auth::Jwt(&jwt), &form(&[("token", &p.access)]))
                .await;
            check!(
                r.status == 200,
                "{} answered {}",
                defect.describe(),
                r.status
            );
            check!(!s.active(&p.access).await, "not revoked");
        }
        Fault::AssertionSubjectTrusted => {
            use revspec::sut::client::assertion::Defect;
            let victim = s.mint("client-a").await;
            let jwt = assertion_with("client-jwt", &Defect::Subject("client-a".into()));
            let body = form(&[("token", &victim.access), ("client_id", "client-a")]);
            let r = s.revoke(Auth::Jwt(&jwt), &body).await;
            check!(r.status == 200, "status {}", r.status);
            check!(
                !s.active(&victim.access).await,
                "client-a's token not revoked"
            );
        }
        Fault::AssertionTypeIgnored => {
            let p = s.mint("client-jwt").await;
            let jwt = assertion("client-jwt");
            let body = form(&[("token", &p.access), ("client_assertion", &jwt)]);
            let r = s.revoke(Auth::Nothing, &body).await;
            check!(r.status == 200, "status {}", r.status);
            check!(!s.active(&p.access).await, "not revoked");
        }
        Fault::AssertionReplayAccepted => {
            let (p, q) = (s.mint("client-jwt").await, s.mint("client-jwt").await);
            let jwt = assertion("client-jwt");
            let first = s
                .revoke(Auth::Jwt(&jwt), &form(&[("token", &p.access)]))
                .await;
            check!(first.status == 200, "first use {}", first.status);
            let again = s
                .revoke(Auth::Jwt(&jwt), &form(&[("token", &q.access)]))
                .await;
            check!(again.status == 200, "replay {}", again.status);
            check!(!s.active(&q.access).await, "the replay revoked nothing");
        }
        Fault::SigningAlgsListNone => {
            let doc = s.get(paths::AS_METADATA).await.json();
            let algs = &doc["revocation_endpoint_auth_signing_alg_values_supported"];
            check!(
                algs.as_array()
                    .is_some_and(|a| a.iter().any(|x| x == "none")),
                "lists {algs}"
            );
        }
        Fault::SelfSignedCertRefused => {
            let p = s.mint("client-ss").await;
            let r = s.revoke_as("client-ss", &p.access).await;
            check!(r.status == 401, "status {}", r.status);
            check!(s.active(&p.access).await, "revoked");
        }
        Fault::AnyClientCertAccepted => {
            let p = s.mint("client-mtls").await;
            let other = fixture("client-mtls-2.pem");
            let r = s
                .revoke(
                    Auth::Mtls("client-mtls", &other),
                    &form(&[("token", &p.access)]),
                )
                .await;
            check!(r.status == 200, "status {}", r.status);
            check!(!s.active(&p.access).await, "not revoked");
        }
        Fault::MtlsAliasWithoutClientAuth => {
            let doc = s.get(paths::AS_METADATA).await.json();
            let alias = &doc["mtls_endpoint_aliases"]["revocation_endpoint"];
            check!(
                *alias == doc["revocation_endpoint"],
                "the alias is {alias}, the endpoint {}",
                doc["revocation_endpoint"]
            );
        }
        Fault::BearerRevokedAccepted => {
            let (p, q) = (s.mint("client-a").await, s.mint("client-a").await);
            let r = s.revoke_as("client-a", &q.access).await;
            check!(r.status == 200, "revoking the bearer token {}", r.status);
            let r = s
                .revoke(Auth::Bearer(&q.access), &form(&[("token", &p.refresh)]))
                .await;
            check!(r.status == 200, "a revoked bearer token got {}", r.status);
            check!(!s.active(&p.refresh).await, "not revoked");
        }
        Fault::ForwardedCertTrusted => {
            let p = s.mint("client-mtls").await;
            let pem = fixture("client-mtls.pem").replace('\n', "\\n");
            let body = form(&[("token", &p.access), ("client_id", "client-mtls")]);
            let r = s
                .revoke_with(Auth::Nothing, &body, &[("X-ClientCert", &pem)])
                .await;
            check!(r.status == 200, "status {}", r.status);
            check!(!s.active(&p.access).await, "not revoked");
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
        let faulty = Server::with_mtls(fault_options(fault, true));
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
        let clean = Server::with_mtls(fault_options(fault, false));
        if exhibits(fault, &clean).await.is_ok() {
            failures.push(format!("{fault}: the check also passes without the fault"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
