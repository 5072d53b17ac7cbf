//! Steps of hardened client authentication: requests of a JWT client with an assertion that
//! is wrong on purpose (or replayed), of an mTLS client with the wrong certificate (or its own
//! in a forwarded-certificate header), of a client authenticating with an access token as
//! bearer; the "each JWT / mTLS client" and "each signing algorithm" sweeps; and what the
//! metadata says of signing algorithms and mTLS aliases. Each request is one recorded request
//! to the revocation endpoint (`requests::send`), shaped from the client's ordinary one.

use super::metadata::revoke_fresh;
use super::params::Token;
use super::requests::{revocation, send, token_form, Shape};
use super::{guard, last, role, tokref};
use crate::conformance::world::RevWorld;
use crate::sut::client::{self, assertion::Defect};
use crate::sut::discovery::Document;
use crate::sut::http::RequestSpec;
use crate::sut::{ClientAuth, Role};
use cucumber::{then, when};
use serde_json::Value;

/// Replaces (or drops) form members of a built request.
fn set_member(spec: &mut RequestSpec, key: &str, value: Option<String>) {
    spec.form.retain(|(k, _)| k != key);
    if let Some(v) = value {
        spec.form.push((key.to_owned(), v));
    }
}

#[when(
    regex = r"^the (\S+) client revokes (the (?:\S+ client's )?(?:second |refreshed )?(?:access|refresh) token) with (an assertion for another audience|an assertion that expired five minutes ago|an unsigned assertion \(alg none\)|an assertion with a broken signature|an assertion signed with a key it did not register|an assertion naming the other client as its subject|its assertion but no client_assertion_type|its assertion and a wrong client_assertion_type|the assertion it sent before)$"
)]
async fn with_assertion(w: &mut RevWorld, client: String, token: Token, how: String) {
    guard!(w);
    let Some(role) = role(w, &client) else { return };
    let ctx = w.ctx();
    let Some(creds) = ctx.target.credentials(role).cloned() else {
        return;
    };
    if !creds.auth.is_jwt() {
        w.outcome.skip(format!(
            "the {client} client authenticates with {}, not an assertion",
            creds.auth.as_str()
        ));
        return;
    }
    let Some((r, value)) = tokref(w, token.0) else {
        return;
    };
    w.asked_to_revoke(r);
    let form = token_form(w, r, value);
    let Some(mut spec) = revocation(w, role, form, Shape::Normal) else {
        return;
    };
    let defect = match how.as_str() {
        "an assertion for another audience" => Some(Defect::ForeignAudience),
        "an assertion that expired five minutes ago" => Some(Defect::Expired),
        "an unsigned assertion (alg none)" => Some(Defect::AlgNone),
        "an assertion with a broken signature" => Some(Defect::BadSignature),
        "an assertion signed with a key it did not register" => Some(Defect::OtherKey),
        "an assertion naming the other client as its subject" => {
            let other = ctx.target.credentials(Role::Other).cloned();
            match other {
                Some(o) if o.id != creds.id => {
                    set_member(&mut spec, "client_id", Some(o.id.clone()));
                    Some(Defect::Subject(o.id))
                }
                _ => {
                    w.outcome.skip(
                        "the jwt client is the other client: no second client to name as subject",
                    );
                    return;
                }
            }
        }
        _ => None,
    };
    if let Some(defect) = defect {
        match client::assertion_of(&creds, &defect) {
            Ok(jwt) => set_member(&mut spec, "client_assertion", Some(jwt)),
            Err(e) => {
                w.outcome
                    .error(format!("cannot make {}: {e}", defect.describe()));
                return;
            }
        }
        w.outcome.observe(format!("sent {}", defect.describe()));
    }
    match how.as_str() {
        "its assertion but no client_assertion_type" => {
            set_member(&mut spec, "client_assertion_type", None)
        }
        "its assertion and a wrong client_assertion_type" => set_member(
            &mut spec,
            "client_assertion_type",
            Some("urn:ietf:params:oauth:client-assertion-type:saml2-bearer".into()),
        ),
        "the assertion it sent before" => match w.last_assertion.clone() {
            Some(previous) => set_member(&mut spec, "client_assertion", Some(previous)),
            None => {
                w.outcome
                    .error("no assertion was sent before in this scenario");
                return;
            }
        },
        _ => {}
    }
    send(w, spec).await;
}

#[when(
    regex = r"^the (\S+) client revokes (the (?:\S+ client's )?(?:second |refreshed )?(?:access|refresh) token) presenting (a certificate it did not register|another client's certificate|no certificate)$"
)]
async fn presenting(w: &mut RevWorld, client: String, token: Token, certificate: String) {
    guard!(w);
    let Some(role) = role(w, &client) else { return };
    let ctx = w.ctx();
    let Some(creds) = ctx.target.credentials(role).cloned() else {
        return;
    };
    if !creds.auth.is_mtls() {
        w.outcome.skip(format!(
            "the {client} client authenticates with {}, not a certificate",
            creds.auth.as_str()
        ));
        return;
    }
    let identity = match certificate.as_str() {
        "a certificate it did not register" => match client::unregistered_certificate(&creds) {
            Ok(i) => Some(i),
            Err(e) => {
                w.outcome
                    .error(format!("cannot make a throw-away certificate: {e}"));
                return;
            }
        },
        "another client's certificate" => {
            // One of the same method first: for tls_client_auth, a certificate of the same CA
            // that only its subject tells apart.
            let candidates: Vec<_> = [
                Role::Primary,
                Role::Other,
                Role::RevokeAny,
                Role::Introspector,
                Role::Admin,
            ]
            .into_iter()
            .filter_map(|r| ctx.target.credentials(r))
            .filter(|c| c.id != creds.id && c.identity.is_some())
            .collect();
            let another = candidates
                .iter()
                .find(|c| c.auth == creds.auth)
                .or(candidates.first())
                .copied();
            match another {
                Some(c) => {
                    w.outcome
                        .observe(format!("presented the certificate of {}", c.id));
                    c.identity.clone()
                }
                None => {
                    w.outcome
                        .skip("the profile has no second client with a certificate to present");
                    return;
                }
            }
        }
        _ => None,
    };
    let Some((r, value)) = tokref(w, token.0) else {
        return;
    };
    w.asked_to_revoke(r);
    let form = token_form(w, r, value);
    let Some(mut spec) = revocation(w, role, form, Shape::Normal) else {
        return;
    };
    spec.identity = identity;
    send(w, spec).await;
}

#[when(
    regex = r"^the (\S+) client revokes (the (?:\S+ client's )?(?:second |refreshed )?(?:access|refresh) token) with its certificate in the forwarded-certificate header$"
)]
async fn forwarded_certificate(w: &mut RevWorld, client: String, token: Token) {
    guard!(w);
    let Some(role) = role(w, &client) else { return };
    let ctx = w.ctx();
    let Some(header) = ctx
        .target
        .profile
        .capabilities
        .forwarded_cert_header
        .clone()
    else {
        w.outcome
            .skip("the target profile names no capabilities.forwarded_cert_header");
        return;
    };
    let Some(identity) = ctx
        .target
        .credentials(role)
        .and_then(|c| c.identity.clone())
    else {
        w.outcome
            .skip(format!("the {client} client has no certificate"));
        return;
    };
    let Some((r, value)) = tokref(w, token.0) else {
        return;
    };
    w.asked_to_revoke(r);
    let mut form = token_form(w, r, value);
    form.push((
        "client_id".into(),
        ctx.target
            .credentials(role)
            .map(|c| c.id.clone())
            .unwrap_or_default(),
    ));
    // Straight to the revocation endpoint, as if through the terminator, which it is not.
    let mut spec = RequestSpec::post_form(ctx.target.endpoints.revocation.clone(), form);
    let pem = identity.cert_pem.as_str();
    let value = match header.to_ascii_lowercase().as_str() {
        "x-forwarded-client-cert" => {
            let encoded: String = url::form_urlencoded::byte_serialize(pem.as_bytes())
                .collect::<String>()
                .replace('+', "%20");
            format!("Cert=\"{encoded}\"")
        }
        "x-forwarded-tls-client-cert" => pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>(),
        _ => pem.trim().replace('\n', "\\n"),
    };
    w.outcome.observe(format!(
        "sent the {client} client's certificate in {header}, without a TLS client certificate"
    ));
    spec.headers.push((header, value));
    send(w, spec).await;
}

#[when(
    regex = r"^the (\S+) client revokes (the (?:\S+ client's )?(?:second |refreshed )?(?:access|refresh) token) authenticating with (the (?:\S+ client's )?(?:second |refreshed )?access token) as a bearer token$"
)]
async fn with_own_bearer(w: &mut RevWorld, client: String, token: Token, bearer: Token) {
    guard!(w);
    let Some((_, credential)) = tokref(w, bearer.0) else {
        return;
    };
    revoke_as_bearer(w, &client, token, credential).await;
}

#[when(
    regex = r#"^the (\S+) client revokes (the (?:\S+ client's )?(?:second |refreshed )?(?:access|refresh) token) authenticating with the bearer token "([^"]*)"$"#
)]
async fn with_value_bearer(w: &mut RevWorld, client: String, token: Token, value: String) {
    guard!(w);
    revoke_as_bearer(w, &client, token, value).await;
}

/// A revocation authenticated only by `Authorization: Bearer`.
async fn revoke_as_bearer(w: &mut RevWorld, client: &str, token: Token, credential: String) {
    if role(w, client).is_none() {
        return;
    }
    let Some((r, value)) = tokref(w, token.0) else {
        return;
    };
    w.asked_to_revoke(r);
    let form = token_form(w, r, value);
    let ctx = w.ctx();
    let mut spec = RequestSpec::post_form(ctx.target.endpoints.revocation.clone(), form);
    spec.headers
        .push(("Authorization".into(), format!("Bearer {credential}")));
    send(w, spec).await;
}

#[when(regex = r"^each (JWT|mTLS) client of the profile revokes a fresh token of its own$")]
async fn each_client(w: &mut RevWorld, kind: String) {
    guard!(w);
    let ctx = w.ctx();
    let fits = |a: ClientAuth| {
        if kind == "JWT" {
            a.is_jwt()
        } else {
            a.is_mtls()
        }
    };
    let roles: Vec<(Role, String, ClientAuth)> = [
        Role::Primary,
        Role::Other,
        Role::RevokeAny,
        Role::Introspector,
        Role::Admin,
    ]
    .into_iter()
    .filter_map(|r| ctx.target.credentials(r).map(|c| (r, c.id.clone(), c.auth)))
    .filter(|(_, _, a)| fits(*a))
    .collect();
    for (role, id, auth) in roles {
        let what = format!("the {} client ({id}, {})", role.name(), auth.as_str());
        let Some(result) = revoke_fresh(w, role, &what, None).await else {
            return;
        };
        w.method_results.push((what, result));
    }
}

#[when(regex = r"^each published signing algorithm the harness can produce revokes a fresh token$")]
async fn each_alg(w: &mut RevWorld) {
    guard!(w);
    let ctx = w.ctx();
    let Some(Document::Found(doc)) = w.metadata.clone() else {
        w.outcome.skip("the server publishes no metadata");
        return;
    };
    let listed: Vec<String> = doc
        .get("revocation_endpoint_auth_signing_alg_values_supported")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for name in listed {
        let Some(alg) = client::keys::parse_alg(&name) else {
            w.outcome
                .observe(format!("{name}: the harness cannot make it, not performed"));
            continue;
        };
        let holder = [
            Role::Primary,
            Role::Other,
            Role::RevokeAny,
            Role::Introspector,
            Role::Admin,
        ]
        .into_iter()
        .find(|r| {
            ctx.target
                .credentials(*r)
                .and_then(|c| c.signer.as_ref())
                .is_some_and(|k| k.family.algorithms().contains(&alg))
        });
        let Some(role) = holder else {
            w.outcome.observe(format!(
                "{name}: no client of the profile has a key for it, not performed"
            ));
            continue;
        };
        let what = format!("{name} (the {} client)", role.name());
        let Some(result) = revoke_fresh(w, role, &what, Some(alg)).await else {
            return;
        };
        w.method_results.push((what, result));
    }
}

#[then(regex = r"^every one of them revoked its token$")]
fn every_one(w: &mut RevWorld) {
    guard!(w);
    if w.method_results.is_empty() {
        w.outcome
            .skip("none of the profile's clients could perform it");
        return;
    }
    for (what, result) in w.method_results.clone() {
        w.outcome.check(
            format!("revocation by {what}"),
            "200 and the token inactive",
            result,
        );
    }
}

fn found_metadata(w: &mut RevWorld) -> Option<serde_json::Map<String, Value>> {
    match w.metadata.clone() {
        Some(Document::Found(doc)) => Some(doc),
        Some(Document::Missing(why) | Document::Unusable(why) | Document::Unreachable(why)) => {
            w.outcome
                .not_applicable(format!("the server publishes no metadata ({why})"));
            None
        }
        None => {
            w.outcome.error("no metadata was fetched");
            None
        }
    }
}

#[then(
    regex = r"^the metadata publishes revocation signing algorithms for its JWT methods, without none$"
)]
fn signing_algs(w: &mut RevWorld) {
    guard!(w);
    let Some(doc) = found_metadata(w) else { return };
    let methods: Vec<&str> = doc
        .get("revocation_endpoint_auth_methods_supported")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let jwt: Vec<&str> = methods
        .iter()
        .copied()
        .filter(|m| ClientAuth::parse(m).is_some_and(|a| a.is_jwt()))
        .collect();
    if jwt.is_empty() {
        w.outcome
            .not_applicable("revocation_endpoint_auth_methods_supported lists no JWT method");
        return;
    }
    let result = match doc.get("revocation_endpoint_auth_signing_alg_values_supported") {
        None => Err(format!(
            "revocation_endpoint_auth_signing_alg_values_supported is not published though {} is listed",
            jwt.join(" and ")
        )),
        Some(Value::Array(algs)) if algs.is_empty() => Err("the list is empty".into()),
        Some(Value::Array(algs)) => {
            if algs.iter().any(|a| a.as_str().is_some_and(|a| a.eq_ignore_ascii_case("none"))) {
                Err(format!("it lists none: {}", Value::Array(algs.clone())))
            } else {
                Ok(())
            }
        }
        Some(other) => Err(format!(
            "it is {}, not a list",
            crate::sut::discovery::type_name(other)
        )),
    };
    w.outcome.check(
        "revocation_endpoint_auth_signing_alg_values_supported",
        "published, without none",
        result,
    );
}

#[then(
    regex = r"^the metadata publishes mtls_endpoint_aliases.revocation_endpoint as an https URL$"
)]
fn alias_https(w: &mut RevWorld) {
    guard!(w);
    let Some(doc) = found_metadata(w) else { return };
    let alias = doc
        .get("mtls_endpoint_aliases")
        .and_then(|a| a.get("revocation_endpoint"))
        .cloned();
    let Some(alias) = alias else {
        w.outcome.not_applicable(
            "the server publishes no mtls_endpoint_aliases.revocation_endpoint (RFC 8705 5 makes it optional)",
        );
        return;
    };
    let result = match alias.as_str().map(url::Url::parse) {
        Some(Ok(u)) if u.scheme() == "https" => Ok(()),
        _ => Err(format!("it is {alias}")),
    };
    w.outcome.check(
        "mtls_endpoint_aliases.revocation_endpoint",
        "an https URL",
        result,
    );
}

#[then(regex = r#"^the response is a 400 "invalid_request" or a 401 "invalid_client"$"#)]
fn request_or_client(w: &mut RevWorld) {
    guard!(w);
    let Some(r) = last(w) else { return };
    let ok = crate::conformance::checks::oauth_error(&r, "invalid_request", 400).is_ok()
        || crate::conformance::checks::oauth_error(&r, "invalid_client", 401).is_ok();
    let result = if ok {
        Ok(())
    } else {
        Err(format!("HTTP {}: {}", r.status, r.text_snippet()))
    };
    w.outcome.check(
        "OAuth error",
        "HTTP 400 invalid_request or HTTP 401 invalid_client",
        result,
    );
}
