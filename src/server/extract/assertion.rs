//! JWT client assertions (RFC 7521 4.2, RFC 7523 3, OpenID Connect Core 9) checked as the
//! reference server requires: the JWT bearer `client_assertion_type`; a signature by a key
//! the client registered (`private_key_jwt`: its `jwks`, the `kid` choosing; RSA, EC or
//! Ed25519) or by its secret (`client_secret_jwt`: HMAC), never `alg: none`; `iss` = `sub` =
//! the client (and = `client_id` when sent); an `aud` that names this server (its issuer, its
//! token or revocation endpoint, on either listener); an `exp` not past (a minute of clock
//! skew) and at most five minutes ahead; and a `jti`, used once (the caller records it: see [`Verified::once`]).

use super::client_auth::auth_failed;
use crate::faults::quirks::Quirk;
use crate::faults::Fault;
use crate::server::config::{AuthMethod, Client};
use crate::server::error::OAuthError;
use crate::server::paths;
use crate::server::state::AppState;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use std::sync::Arc;

/// The clock skew allowed on `exp` (and `nbf`), in seconds.
pub const LEEWAY_SECS: u64 = 60;

/// The longest an assertion may still live when it arrives, in seconds (beyond the skew): its
/// `jti` is kept until `exp`, so a far-future `exp` would let a client grow the replay cache
/// without bound.
pub const MAX_LIFETIME_SECS: u64 = 300;

/// The algorithms the server takes (and publishes) for client assertions.
pub const SIGNING_ALGS: &[&str] = &["RS256", "PS256", "ES256", "EdDSA", "HS256"];

/// An assertion that checked out: its client, and the one-time key of its `jti` with when it
/// may be forgotten (Unix ms), unless replays are let through.
pub struct Verified {
    pub client: Arc<Client>,
    pub once: Option<(String, u64)>,
}

/// Why an assertion was refused: malformed (no JWS, a wrong type) or not authenticating.
fn malformed(state: &AppState, why: &'static str) -> OAuthError {
    if state.has_quirk(Quirk::MalformedAssertion400) {
        OAuthError::invalid_request(why)
    } else {
        auth_failed()
    }
}

fn segment(jwt: &str, i: usize) -> Option<Value> {
    let part = jwt.split('.').nth(i)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn claim<'a>(claims: &'a Value, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// The audiences that name this server.
fn audiences(state: &AppState) -> Vec<String> {
    let token_only = state.has_quirk(Quirk::AssertionAudTokenEndpointOnly);
    let mut out = vec![state.url(paths::TOKEN)];
    out.extend(state.mtls_url(paths::TOKEN));
    if !token_only {
        out.push(state.issuer.clone());
        out.push(state.url(paths::REVOKE));
        out.extend(state.mtls_url(paths::REVOKE));
    }
    out
}

fn family_fits(method: AuthMethod, alg: Algorithm) -> bool {
    use Algorithm::*;
    match method {
        AuthMethod::ClientSecretJwt => matches!(alg, HS256 | HS384 | HS512),
        AuthMethod::PrivateKeyJwt => {
            matches!(
                alg,
                RS256 | RS384 | RS512 | PS256 | PS384 | PS512 | ES256 | ES384 | EdDSA
            )
        }
        _ => false,
    }
}

/// The keys an assertion of this client may be signed with.
fn keys(client: &Client, kid: Option<&str>) -> Vec<DecodingKey> {
    match client.auth_method {
        AuthMethod::ClientSecretJwt => client
            .secret
            .as_deref()
            .and_then(|s| DecodingKey::from_secret(s.as_bytes()).ok())
            .into_iter()
            .collect(),
        _ => client
            .jwks
            .iter()
            .flat_map(|set| set.keys.iter())
            .filter(|k| kid.is_none() || k.common.key_id.as_deref() == kid)
            .filter_map(|k| DecodingKey::from_jwk(k).ok())
            .collect(),
    }
}

/// Checks an assertion (see the module's doc); every failure is `invalid_client` (or, with
/// the `malformed-assertion-400` quirk, 400 `invalid_request` for a malformed one).
pub fn verify(
    state: &AppState,
    jwt: &str,
    typed: bool,
    client_id: Option<&str>,
) -> Result<Verified, OAuthError> {
    if !typed && !state.has_fault(Fault::AssertionTypeIgnored) {
        return Err(malformed(
            state,
            "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ));
    }
    let (Some(header), Some(claims)) = (segment(jwt, 0), segment(jwt, 1)) else {
        return Err(malformed(state, "client_assertion is not a JWS"));
    };
    let Some(iss) = claim(&claims, "iss") else {
        return Err(auth_failed());
    };
    let subject_trusted = state.has_fault(Fault::AssertionSubjectTrusted);
    let signer = state
        .client(iss)
        .filter(|c| c.auth_method.is_jwt())
        .ok_or_else(auth_failed)?;
    let alg_name = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg_name.eq_ignore_ascii_case("none") {
        if state.has_fault(Fault::AssertionAlgNoneAccepted) {
            return Ok(Verified {
                client: signer,
                once: None,
            });
        }
        return Err(auth_failed());
    }
    let alg: Algorithm = alg_name.parse().map_err(|_| auth_failed())?;
    if !family_fits(signer.auth_method, alg) {
        return Err(auth_failed());
    }
    if let Some(pinned) = &signer.token_endpoint_auth_signing_alg {
        if pinned != alg_name {
            return Err(auth_failed());
        }
    }
    let mut validation = Validation::new(alg);
    validation.leeway = LEEWAY_SECS;
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    validation.set_issuer(&[&signer.id]);
    if !subject_trusted {
        validation.sub = Some(signer.id.clone());
    }
    if state.has_fault(Fault::AssertionAudienceIgnored) {
        validation.validate_aud = false;
    } else {
        validation.set_audience(&audiences(state));
    }
    if state.has_fault(Fault::AssertionExpiredAccepted) {
        validation.validate_exp = false;
        validation.required_spec_claims.remove("exp");
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let checked = keys(&signer, kid)
        .iter()
        .find_map(|key| jsonwebtoken::decode::<Value>(jwt, key, &validation).ok())
        .ok_or_else(auth_failed)?
        .claims;
    let client = if subject_trusted {
        // The fault's server takes whichever client `sub` names, whatever its method.
        claim(&checked, "sub")
            .and_then(|id| state.client(id))
            .ok_or_else(auth_failed)?
    } else {
        signer
    };
    if let Some(id) = client_id {
        if id != client.id {
            return Err(auth_failed());
        }
    }
    let Some(jti) = claim(&checked, "jti") else {
        return Err(auth_failed());
    };
    let exp = checked
        .get("exp")
        .and_then(Value::as_u64)
        .unwrap_or_default();
    let now = crate::server::clock::now();
    if exp > now + MAX_LIFETIME_SECS + LEEWAY_SECS
        && !state.has_fault(Fault::AssertionExpiredAccepted)
    {
        return Err(auth_failed());
    }
    let once = (!state.has_fault(Fault::AssertionReplayAccepted)).then(|| {
        (
            format!("{}:{jti}", client.id),
            (exp.max(now) + LEEWAY_SECS) * 1000,
        )
    });
    Ok(Verified { client, once })
}
