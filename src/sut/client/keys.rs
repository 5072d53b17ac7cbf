//! The keys a client signs its assertions with: a private key read from PEM (PKCS#8, PKCS#1
//! RSA or SEC1 EC) or from a private JWK, normalised to what the JWS library takes, with the
//! algorithms it can make; or the client secret as an HMAC key. A key never prints: its
//! `Debug` names only its family and `kid`.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::Value;

/// What kind of key it is, and so which algorithms it can sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Rsa,
    EcP256,
    Ed25519,
    Hmac,
}

impl Family {
    /// The algorithms of this family the harness can produce, the default first.
    pub fn algorithms(self) -> &'static [Algorithm] {
        match self {
            Family::Rsa => &[Algorithm::RS256, Algorithm::PS256],
            Family::EcP256 => &[Algorithm::ES256],
            Family::Ed25519 => &[Algorithm::EdDSA],
            Family::Hmac => &[Algorithm::HS256],
        }
    }
}

/// The JOSE name of an algorithm (`RS256`, `EdDSA`).
pub fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        _ => "unknown",
    }
}

/// An algorithm by its JOSE name.
pub fn parse_alg(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "PS256" => Algorithm::PS256,
        "ES256" => Algorithm::ES256,
        "EdDSA" => Algorithm::EdDSA,
        "HS256" => Algorithm::HS256,
        _ => return None,
    })
}

/// A key to sign assertions with.
#[derive(Clone)]
pub struct SigningKey {
    pub family: Family,
    /// The algorithm assertions use unless a step asks for another of the family.
    pub alg: Algorithm,
    pub kid: Option<String>,
    key: EncodingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SigningKey({:?}, {}, kid {:?})",
            self.family,
            alg_name(self.alg),
            self.kid
        )
    }
}

impl SigningKey {
    /// The client secret as the HMAC key of `client_secret_jwt` (HS256).
    pub fn hmac(secret: &str) -> Result<Self, String> {
        Ok(Self {
            family: Family::Hmac,
            alg: Algorithm::HS256,
            kid: None,
            key: EncodingKey::from_secret(secret.as_bytes())
                .map_err(|e| format!("the client secret is not an HMAC key: {e}"))?,
        })
    }

    /// A private key from PEM or JWK text; `alg` (default: the family's first) must be one
    /// the key can make; `kid` defaults to the JWK's.
    pub fn from_text(text: &str, alg: Option<&str>, kid: Option<&str>) -> Result<Self, String> {
        let trimmed = text.trim();
        let (family, key, jwk_kid) = if trimmed.starts_with('{') {
            from_jwk(trimmed)?
        } else {
            let (family, key) = from_pem(trimmed)?;
            (family, key, None)
        };
        let alg = match alg {
            None => family.algorithms()[0],
            Some(name) => {
                let alg =
                    parse_alg(name).ok_or_else(|| format!("alg '{name}' is not supported"))?;
                if !family.algorithms().contains(&alg) {
                    return Err(format!(
                        "alg {name} does not fit this {} key (it can sign {})",
                        family_name(family),
                        names(family.algorithms())
                    ));
                }
                alg
            }
        };
        Ok(Self {
            family,
            alg,
            kid: kid.map(str::to_owned).or(jwk_kid),
            key,
        })
    }

    /// The RFC 7638 thumbprint of the public key (None for an HMAC key).
    pub fn thumbprint(&self) -> Option<String> {
        if self.family == Family::Hmac {
            return None;
        }
        jsonwebtoken::jwk::Jwk::from_encoding_key(&self.key, self.alg)
            .ok()?
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .ok()
    }

    /// Signs a JWS with the key's algorithm, or another of its family.
    pub fn sign(
        &self,
        alg: Algorithm,
        header_extra: Option<&str>,
        claims: &Value,
    ) -> Result<String, String> {
        let mut header = jsonwebtoken::Header::new(alg);
        header.kid = header_extra.map(str::to_owned).or_else(|| self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|e| format!("cannot sign: {e}"))
    }
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::Rsa => "RSA",
        Family::EcP256 => "EC P-256",
        Family::Ed25519 => "Ed25519",
        Family::Hmac => "HMAC",
    }
}

fn names(algs: &[Algorithm]) -> String {
    algs.iter()
        .map(|a| alg_name(*a))
        .collect::<Vec<_>>()
        .join(", ")
}

/// DER as a PEM block.
pub fn to_pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The first PEM block of a text: its label and DER bytes.
pub fn pem_block(text: &str) -> Result<(String, Vec<u8>), String> {
    let start = text
        .find("-----BEGIN ")
        .ok_or("not PEM (no -----BEGIN line) and not a JWK (no {)")?;
    let rest = &text[start + 11..];
    let label_end = rest.find("-----").ok_or("a broken PEM BEGIN line")?;
    let label = rest[..label_end].to_owned();
    let body_start = label_end + 5;
    let end_marker = format!("-----END {label}-----");
    let body_end = rest
        .find(&end_marker)
        .ok_or_else(|| format!("no {end_marker} line"))?;
    let b64: String = rest[body_start..body_end]
        .lines()
        .filter(|l| !l.contains(':'))
        .collect::<String>()
        .split_whitespace()
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("the PEM {label} block is not base64: {e}"))?;
    Ok((label, der))
}

fn from_pem(text: &str) -> Result<(Family, EncodingKey), String> {
    let (label, der) = pem_block(text)?;
    match label.as_str() {
        "RSA PRIVATE KEY" => {
            RsaKeyPair::from_der(&der).map_err(|e| format!("a broken RSA PRIVATE KEY: {e}"))?;
            Ok((Family::Rsa, EncodingKey::from_rsa_der(&der)))
        }
        "EC PRIVATE KEY" => {
            let pair = EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                .map_err(|e| format!("an EC PRIVATE KEY that is not P-256: {e}"))?;
            let pkcs8 = pair.to_pkcs8v1().map_err(|e| e.to_string())?;
            Ok((Family::EcP256, EncodingKey::from_ec_der(pkcs8.as_ref())))
        }
        "PRIVATE KEY" => {
            if let Ok(pair) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der) {
                let pkcs8 = pair.to_pkcs8v1().map_err(|e| e.to_string())?;
                return Ok((Family::EcP256, EncodingKey::from_ec_der(pkcs8.as_ref())));
            }
            if let Ok(pair) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der) {
                let v1 = pair.to_pkcs8v1().map_err(|e| e.to_string())?;
                return Ok((Family::Ed25519, EncodingKey::from_ed_der(v1.as_ref())));
            }
            if RsaKeyPair::from_pkcs8(&der).is_ok() {
                let key = EncodingKey::from_rsa_pem(to_pem("PRIVATE KEY", &der).as_bytes())
                    .map_err(|e| format!("cannot read the RSA key: {e}"))?;
                return Ok((Family::Rsa, key));
            }
            Err("a PRIVATE KEY that is not RSA, EC P-256 or Ed25519".into())
        }
        other => Err(format!(
            "a PEM {other} block, not a private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)"
        )),
    }
}

fn from_jwk(text: &str) -> Result<(Family, EncodingKey, Option<String>), String> {
    let jwk: Value =
        serde_json::from_str(text).map_err(|e| format!("a JWK that is not JSON: {e}"))?;
    let get = |k: &str| -> Result<Vec<u8>, String> {
        let v = jwk
            .get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the JWK has no `{k}` (a private JWK is needed)"))?;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(v.trim_end_matches('='))
            .map_err(|e| format!("the JWK's `{k}` is not base64url: {e}"))
    };
    let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
    let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or("");
    let (family, key) = match kty {
        "EC" => {
            if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
                return Err("an EC JWK that is not on P-256".into());
            }
            let mut point = vec![4u8];
            point.extend(get("x")?);
            point.extend(get("y")?);
            let pair = EcdsaKeyPair::from_private_key_and_public_key(
                &ECDSA_P256_SHA256_FIXED_SIGNING,
                &get("d")?,
                &point,
            )
            .map_err(|e| format!("a broken EC JWK: {e}"))?;
            let pkcs8 = pair.to_pkcs8v1().map_err(|e| e.to_string())?;
            (Family::EcP256, EncodingKey::from_ec_der(pkcs8.as_ref()))
        }
        "OKP" => {
            let pair = Ed25519KeyPair::from_seed_and_public_key(&get("d")?, &get("x")?)
                .map_err(|e| format!("a broken OKP JWK: {e}"))?;
            let v1 = pair.to_pkcs8v1().map_err(|e| e.to_string())?;
            (Family::Ed25519, EncodingKey::from_ed_der(v1.as_ref()))
        }
        "RSA" => {
            let parts = ["n", "e", "d", "p", "q", "dp", "dq", "qi"]
                .iter()
                .map(|k| get(k))
                .collect::<Result<Vec<_>, _>>()?;
            let der = pkcs1_der(&parts);
            RsaKeyPair::from_der(&der).map_err(|e| format!("a broken RSA JWK: {e}"))?;
            (Family::Rsa, EncodingKey::from_rsa_der(&der))
        }
        other => return Err(format!("a JWK of kty '{other}', not RSA, EC or OKP")),
    };
    Ok((family, key, kid))
}

/// RSAPrivateKey (RFC 8017 A.1.2): SEQUENCE { 0, n, e, d, p, q, dp, dq, qi } in DER.
fn pkcs1_der(parts: &[Vec<u8>]) -> Vec<u8> {
    fn len(out: &mut Vec<u8>, n: usize) {
        if n < 0x80 {
            out.push(n as u8);
        } else {
            let b = n.to_be_bytes();
            let b = &b[b.iter().position(|&x| x != 0).unwrap_or(b.len() - 1)..];
            out.push(0x80 | b.len() as u8);
            out.extend_from_slice(b);
        }
    }
    fn int(out: &mut Vec<u8>, v: &[u8]) {
        let v = &v[v
            .iter()
            .position(|&x| x != 0)
            .unwrap_or(v.len().saturating_sub(1))..];
        let pad = v.first().is_none_or(|&b| b & 0x80 != 0);
        out.push(0x02);
        len(out, v.len() + usize::from(pad));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(v);
    }
    let mut body = vec![];
    int(&mut body, &[0]);
    for p in parts {
        int(&mut body, p);
    }
    let mut out = vec![0x30];
    len(&mut out, body.len());
    out.extend(body);
    out
}

/// A fresh key of the same family (an "another key" assertion is signed with it).
pub fn another_key_like(key: &SigningKey) -> Result<SigningKey, String> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let (family, enc) = match key.family {
        Family::EcP256 => {
            let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|e| e.to_string())?;
            (Family::EcP256, EncodingKey::from_ec_der(doc.as_ref()))
        }
        Family::Ed25519 => {
            let pair = Ed25519KeyPair::generate().map_err(|e| e.to_string())?;
            let v1 = pair.to_pkcs8v1().map_err(|e| e.to_string())?;
            (Family::Ed25519, EncodingKey::from_ed_der(v1.as_ref()))
        }
        Family::Rsa => {
            let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(|e| e.to_string())?;
            let pkcs8: aws_lc_rs::encoding::Pkcs8V1Der<'static> =
                pair.as_der().map_err(|e| e.to_string())?;
            let pem = to_pem("PRIVATE KEY", pkcs8.as_ref());
            (
                Family::Rsa,
                EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| e.to_string())?,
            )
        }
        Family::Hmac => {
            let mut bytes = [0u8; 32];
            aws_lc_rs::rand::SecureRandom::fill(&rng, &mut bytes).map_err(|e| e.to_string())?;
            (
                Family::Hmac,
                EncodingKey::from_secret(&bytes).map_err(|e| e.to_string())?,
            )
        }
    };
    Ok(SigningKey {
        family,
        alg: key.alg,
        kid: key.kid.clone(),
        key: enc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("targets/keys")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn every_fixture_key_loads_with_its_family_and_signs() {
        for (file, family, alg) in [
            ("client-jwt.key.pem", Family::EcP256, Algorithm::ES256),
            ("client-rsa.key.pem", Family::Rsa, Algorithm::RS256),
            ("client-ed.key.pem", Family::Ed25519, Algorithm::EdDSA),
            ("client-jwt.jwk.json", Family::EcP256, Algorithm::ES256),
        ] {
            let k = SigningKey::from_text(&fixture(file), None, None).unwrap();
            assert_eq!((k.family, k.alg), (family, alg), "{file}");
            let jws = k.sign(k.alg, None, &serde_json::json!({"a": 1})).unwrap();
            assert_eq!(jws.split('.').count(), 3, "{file}");
            assert!(!format!("{k:?}").contains("PRIVATE"), "{file}");
        }
        let rsa = SigningKey::from_text(&fixture("client-rsa.key.pem"), Some("PS256"), Some("k1"))
            .unwrap();
        assert_eq!(
            (rsa.alg, rsa.kid.as_deref()),
            (Algorithm::PS256, Some("k1"))
        );
    }

    #[test]
    fn a_wrong_alg_or_a_broken_key_is_named() {
        let e =
            SigningKey::from_text(&fixture("client-jwt.key.pem"), Some("RS256"), None).unwrap_err();
        assert!(
            e.contains("RS256") && e.contains("EC P-256") && e.contains("ES256"),
            "{e}"
        );
        let e = SigningKey::from_text(
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
            None,
            None,
        )
        .unwrap_err();
        assert!(e.contains("PUBLIC KEY"), "{e}");
        let e = SigningKey::from_text(
            "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}",
            None,
            None,
        )
        .unwrap_err();
        assert!(e.contains("`d`"), "{e}");
        assert!(SigningKey::from_text("hello", None, None)
            .unwrap_err()
            .contains("not PEM"));
    }
}
