//! Whether a client's authentication works at the revocation endpoint, and when it does not,
//! why and what to change: `doctor` asks here for every client. The check revokes a
//! never-issued value as the client (RFC 7009 2.2: an authenticated client gets 200). A
//! refused JWT client is tried again with each other audience (a wrong `aud`), its clock is
//! compared with the server's `Date` (skew), and otherwise its key is named by thumbprint
//! (a key the server did not register); a refused mTLS client's certificate is named by
//! subject (a certificate the server did not register), and so is an alias that is missing.

use super::client::{self, assertion, Credentials};
use super::http::RequestSpec;
use super::profile::AssertionAudience;
use super::target::Target;
use crate::catalogue::Role;

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCheck {
    pub ok: bool,
    /// What was sent and what came back.
    pub detail: String,
    /// What to change, when it failed (or when it works only another way).
    pub fix: Option<String>,
}

/// How far the server's clock may be from ours before it is named.
const SKEW_TOLERATED_SECS: i64 = 30;

async fn attempt(target: &Target, client: &Credentials) -> Result<(u16, Option<String>), String> {
    let mut spec = RequestSpec::post_form(
        target.endpoints.revocation.clone(),
        vec![("token".into(), super::probe::never_issued_value())],
    );
    client::authenticate(&mut spec, client);
    let url = spec.url.clone();
    let (_, answer) = target.http.send(spec).await;
    let answer = answer.map_err(|e| format!("{url}: {e}"))?;
    Ok((answer.status, answer.header("date").map(str::to_owned)))
}

/// Seconds the server's clock is ahead of ours (from an HTTP `Date`).
fn skew(date: &str) -> Option<i64> {
    let server = humantime::parse_rfc3339_weak(&httpdate_to_rfc3339(date)?).ok()?;
    let now = std::time::SystemTime::now();
    Some(match server.duration_since(now) {
        Ok(ahead) => ahead.as_secs() as i64,
        Err(behind) => -(behind.duration().as_secs() as i64),
    })
}

/// `Mon, 07 Dec 2026 13:16:03 GMT` as `2026-12-07 13:16:03`.
fn httpdate_to_rfc3339(date: &str) -> Option<String> {
    let parts: Vec<&str> = date.split_whitespace().collect();
    let [_, day, month, year, time, _] = parts.as_slice() else {
        return None;
    };
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = months.iter().position(|x| x == month)? + 1;
    Some(format!("{year}-{m:02}-{day:0>2} {time}"))
}

/// Checks one client's authentication at the revocation endpoint (see the module's doc).
pub async fn check(target: &Target, role: Role) -> Option<AuthCheck> {
    let client = target.credentials(role)?.clone();
    let key = format!("clients.{}", role.name());
    let (status, date) = match attempt(target, &client).await {
        Ok(a) => a,
        Err(e) => {
            return Some(AuthCheck {
                ok: false,
                detail: e,
                fix: Some(if client.auth.is_mtls() {
                    format!("the TLS handshake with the certificate of [{key}] failed: check cert_file/key_file (a certificate and its own key) and that the server asks for client certificates there")
                } else {
                    "check that the revocation endpoint is reachable".into()
                }),
            })
        }
    };
    let method = client.auth.as_str();
    if status == 200 {
        return Some(AuthCheck {
            ok: true,
            detail: format!("{method}: a revocation of a never-issued value answered 200"),
            fix: None,
        });
    }
    let detail = format!("{method}: a revocation of a never-issued value answered HTTP {status}");
    let fix = if client.auth.is_jwt() {
        let mut fix = None;
        for (choice, name) in [
            (AssertionAudience::TokenEndpoint, "token_endpoint"),
            (AssertionAudience::Issuer, "issuer"),
            (AssertionAudience::RevocationEndpoint, "revocation_endpoint"),
        ] {
            if choice == client.audience_choice {
                continue;
            }
            let mut other = client.clone();
            other.audience = match &choice {
                AssertionAudience::Issuer => target.profile.issuer.clone(),
                AssertionAudience::RevocationEndpoint => target.endpoints.revocation.to_string(),
                _ => target
                    .endpoints
                    .token
                    .as_ref()
                    .map_or_else(|| target.profile.issuer.clone(), |u| u.to_string()),
            };
            if matches!(attempt(target, &other).await, Ok((200, _))) {
                fix = Some(format!(
                    "wrong aud: the server refuses aud = {} but takes {}: set {key}.audience = \"{name}\"",
                    client.audience, other.audience
                ));
                break;
            }
        }
        let skewed = date
            .as_deref()
            .and_then(skew)
            .filter(|s| s.abs() > SKEW_TOLERATED_SECS);
        fix.or_else(|| skewed.map(|s| format!(
            "clock skew: the server's clock is {} s {} this machine's, and assertions live {} s: synchronise the clocks (NTP)",
            s.abs(),
            if s > 0 { "ahead of" } else { "behind" },
            assertion::LIFETIME_SECS
        )))
        .or_else(|| Some(match (client.auth, client.signer.as_ref()) {
            (super::profile::ClientAuth::PrivateKeyJwt, Some(k)) => format!(
                "key mismatch: the server takes no assertion signed with this key ({}, thumbprint {}{}): register its public key in the client's jwks, or point {key}.key_file at the key the server has (and {key}.kid at its kid)",
                assertion::default_alg_name(k),
                k.thumbprint().unwrap_or_else(|| "unknown".into()),
                k.kid.as_deref().map(|kid| format!(", kid {kid}")).unwrap_or_default()
            ),
            _ => format!("the server refuses this client's client_secret_jwt assertions: check {key}.secret_env (the HMAC key is the client secret) and that the client is registered for client_secret_jwt"),
        }))
    } else if client.auth.is_mtls() {
        let subject = client
            .identity
            .as_ref()
            .map(|i| i.subject.clone())
            .unwrap_or_default();
        let alias = target
            .mtls_aliases
            .iter()
            .any(|(plain, _)| *plain == target.endpoints.revocation);
        Some(if alias {
            format!(
                "unregistered certificate: the server does not take the certificate with subject \"{subject}\" for {}: register its subject DN (tls_client_auth) or its public key (self_signed_tls_client_auth) with the client, or point {key}.cert_file at the registered one",
                client.id
            )
        } else {
            format!(
                "the server publishes no mtls_endpoint_aliases.revocation_endpoint, and its revocation endpoint did not take the certificate with subject \"{subject}\": check that it asks for client certificates, and that the certificate is registered for {}",
                client.id
            )
        })
    } else if client.auth == super::profile::ClientAuth::None {
        Some(format!("the server does not take {} as a public client: check that it is registered with token_endpoint_auth_method = none", client.id))
    } else {
        Some(format!(
            "wrong secret or method: check {key}.secret_env and that the client is registered for {method}"
        ))
    };
    Some(AuthCheck {
        ok: false,
        detail,
        fix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_give_the_skew() {
        assert_eq!(
            httpdate_to_rfc3339("Mon, 07 Dec 2026 13:16:03 GMT").as_deref(),
            Some("2026-12-07 13:16:03")
        );
        assert!(skew("Mon, 07 Dec 1970 13:16:03 GMT").unwrap() < -1_000_000);
        assert_eq!(skew("garbage"), None);
    }
}
