//! JWT client assertions (RFC 7521, RFC 7523 section 3, OpenID Connect Core section 9): the
//! claims of a fresh one (`iss` = `sub` = the client, the chosen `aud`, a 128-bit random
//! `jti`, `iat` now, `exp` a minute on), and the broken ones the catalogue sends on purpose
//! (expired, another audience, `alg: none`, a bad signature, another key, another subject).

use super::keys::{alg_name, another_key_like, SigningKey};
use base64::Engine as _;
use serde_json::{json, Value};

/// `client_assertion_type` of a JWT assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How long a fresh assertion lives: short, as RFC 7523 3 asks ("a reasonably short" time).
pub const LIFETIME_SECS: u64 = 60;
/// How long ago an "expired" assertion expired: beyond a minute of clock skew.
pub const EXPIRED_AGO_SECS: u64 = 300;

/// What is wrong with an assertion on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Defect {
    /// Nothing: a valid assertion.
    None,
    /// `exp` five minutes in the past (`iat` before it).
    Expired,
    /// `aud` a URL that is not this server's.
    ForeignAudience,
    /// `alg: none` and no signature.
    AlgNone,
    /// The signature's bytes changed.
    BadSignature,
    /// Signed by a key the client never registered (a fresh one of the same kind).
    OtherKey,
    /// `sub` (and `client_id`) name another client; `iss` and the key stay the client's.
    Subject(String),
}

impl Defect {
    pub fn describe(&self) -> String {
        match self {
            Defect::None => "a valid assertion".into(),
            Defect::Expired => format!("an assertion that expired {EXPIRED_AGO_SECS} s ago"),
            Defect::ForeignAudience => "an assertion for another audience".into(),
            Defect::AlgNone => "an unsigned assertion (alg none)".into(),
            Defect::BadSignature => "an assertion with a broken signature".into(),
            Defect::OtherKey => "an assertion signed with a key the client did not register".into(),
            Defect::Subject(s) => format!("an assertion whose sub is another client ({s})"),
        }
    }
}

/// The audience a foreign-audience assertion names.
pub const FOREIGN_AUDIENCE: &str = "https://another-server.invalid/token";

/// 128 random bits, base64url: a fresh `jti`.
pub fn new_jti() -> String {
    let bytes: [u8; 16] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The claims of an assertion by `client_id` for `audience`, with its defect.
pub fn claims(client_id: &str, audience: &str, defect: &Defect) -> Value {
    let now = now();
    let (iat, exp) = match defect {
        Defect::Expired => (
            now - EXPIRED_AGO_SECS - LIFETIME_SECS,
            now - EXPIRED_AGO_SECS,
        ),
        _ => (now, now + LIFETIME_SECS),
    };
    let aud = match defect {
        Defect::ForeignAudience => FOREIGN_AUDIENCE,
        _ => audience,
    };
    let sub = match defect {
        Defect::Subject(other) => other.as_str(),
        _ => client_id,
    };
    json!({
        "iss": client_id,
        "sub": sub,
        "aud": aud,
        "jti": new_jti(),
        "iat": iat,
        "exp": exp,
    })
}

/// An assertion signed with `key` (its algorithm unless `alg` names another of its family).
pub fn sign(
    key: &SigningKey,
    alg: Option<jsonwebtoken::Algorithm>,
    client_id: &str,
    audience: &str,
    defect: &Defect,
) -> Result<String, String> {
    let alg = alg.unwrap_or(key.alg);
    let claims = claims(client_id, audience, defect);
    match defect {
        Defect::AlgNone => {
            let b64 =
                |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
            let mut header = json!({"alg": "none", "typ": "JWT"});
            if let Some(kid) = &key.kid {
                header["kid"] = json!(kid);
            }
            Ok(format!("{}.{}.", b64(&header), b64(&claims)))
        }
        Defect::OtherKey => another_key_like(key)?.sign(alg, None, &claims),
        Defect::BadSignature => {
            let jws = key.sign(alg, None, &claims)?;
            Ok(break_signature(&jws))
        }
        _ => key.sign(alg, None, &claims),
    }
}

/// The same JWS with its signature's first bytes changed (still base64url of the same length).
fn break_signature(jws: &str) -> String {
    let Some(dot) = jws.rfind('.') else {
        return jws.to_owned();
    };
    let (head, sig) = jws.split_at(dot + 1);
    let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .unwrap_or_default();
    for b in bytes.iter_mut().take(8) {
        *b ^= 0x5a;
    }
    format!(
        "{head}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The claims of an assertion, read without checking it (for `doctor` and messages): `None`
/// when it is not a JWS.
pub fn peek_claims(jws: &str) -> Option<Value> {
    let payload = jws.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The `alg` header of a JWS, in words.
pub fn header_alg(jws: &str) -> Option<String> {
    let head = jws.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(head)
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("alg").and_then(Value::as_str).map(str::to_owned)
}

/// The name of the algorithm a key signs with by default.
pub fn default_alg_name(key: &SigningKey) -> &'static str {
    alg_name(key.alg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_assertion_has_every_claim_and_a_new_jti_each_time() {
        let key = SigningKey::hmac("a-secret-of-enough-length-for-hs256").unwrap();
        let a = sign(&key, None, "c1", "https://as/token", &Defect::None).unwrap();
        let b = sign(&key, None, "c1", "https://as/token", &Defect::None).unwrap();
        let (ca, cb) = (peek_claims(&a).unwrap(), peek_claims(&b).unwrap());
        assert_eq!(ca["iss"], "c1");
        assert_eq!(ca["sub"], "c1");
        assert_eq!(ca["aud"], "https://as/token");
        assert_ne!(ca["jti"], cb["jti"]);
        let (iat, exp) = (ca["iat"].as_u64().unwrap(), ca["exp"].as_u64().unwrap());
        assert_eq!(exp - iat, LIFETIME_SECS);
        assert_eq!(header_alg(&a).as_deref(), Some("HS256"));
    }

    #[test]
    fn each_defect_is_what_it_says() {
        let key = SigningKey::hmac("a-secret-of-enough-length-for-hs256").unwrap();
        let at = |d: Defect| sign(&key, None, "c1", "https://as/token", &d).unwrap();
        let expired = peek_claims(&at(Defect::Expired)).unwrap();
        assert!(expired["exp"].as_u64().unwrap() + EXPIRED_AGO_SECS <= now() + 1);
        assert_eq!(
            peek_claims(&at(Defect::ForeignAudience)).unwrap()["aud"],
            FOREIGN_AUDIENCE
        );
        let none = at(Defect::AlgNone);
        assert!(none.ends_with('.') && header_alg(&none).as_deref() == Some("none"));
        let good = at(Defect::None);
        let bad = at(Defect::BadSignature);
        assert_eq!(good.len(), bad.len());
        assert_ne!(good.rsplit('.').next(), bad.rsplit('.').next());
        let other = peek_claims(&at(Defect::Subject("c2".into()))).unwrap();
        assert_eq!(
            (other["iss"].as_str(), other["sub"].as_str()),
            (Some("c1"), Some("c2"))
        );
    }
}
