//! Writes the reference server's demo client keys and certificates (public test fixtures,
//! never for anything real) into `targets/keys/`:
//! `cargo run --example demo_pki -- targets/keys`. They are committed; run this only to
//! replace them (then the demo configuration and the shipped profiles read the new ones).
//!
//! - `client-jwt` (private_key_jwt, ES256), `client-rsa` (RS256/PS256), `client-ed` (EdDSA):
//!   `NAME.key.pem` (PKCS#8) and `NAME.jwks.json` (the public JWKS the server registers);
//!   `client-jwt.jwk.json` is the same ES256 key as a private JWK.
//! - `client-ca.pem`: the demo client CA the server trusts for `tls_client_auth`;
//!   `client-mtls.pem`/`.key.pem` and `client-mtls-2.pem`/`.key.pem`: certificates it issued.
//! - `client-ss.pem`/`.key.pem`: a self-signed certificate (`self_signed_tls_client_auth`),
//!   with `client-ss.jwks.json` holding its public key.

use aws_lc_rs::encoding::AsBigEndian;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde_json::json;
use std::path::Path;

fn b64(v: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
    println!("wrote {}", dir.join(name).display());
}

fn jwks(key: &EncodingKey, alg: Algorithm, kid: &str) -> String {
    let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
    jwk.common.key_id = Some(kid.into());
    jwk.common.key_algorithm = None;
    serde_json::to_string_pretty(&json!({ "keys": [jwk] })).unwrap() + "\n"
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "targets/keys".into());
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir).unwrap();

    // ES256, also as a private JWK.
    let ec = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    write(dir, "client-jwt.key.pem", &ec.serialize_pem());
    let enc = EncodingKey::from_ec_der(ec.serialized_der());
    write(
        dir,
        "client-jwt.jwks.json",
        &jwks(&enc, Algorithm::ES256, "client-jwt-1"),
    );
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, ec.serialized_der()).unwrap();
    let d = pair.private_key().as_be_bytes().unwrap();
    let point = pair.public_key().as_ref().to_vec();
    let private = json!({"kty": "EC", "crv": "P-256", "kid": "client-jwt-1",
        "x": b64(&point[1..33]), "y": b64(&point[33..65]), "d": b64(d.as_ref())});
    write(
        dir,
        "client-jwt.jwk.json",
        &(serde_json::to_string_pretty(&private).unwrap() + "\n"),
    );

    // RS256 / PS256.
    let rsa = KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048).unwrap();
    write(dir, "client-rsa.key.pem", &rsa.serialize_pem());
    let enc = EncodingKey::from_rsa_pem(rsa.serialize_pem().as_bytes()).unwrap();
    write(
        dir,
        "client-rsa.jwks.json",
        &jwks(&enc, Algorithm::RS256, "client-rsa-1"),
    );

    // EdDSA (Ed25519), PKCS#8 v1 so the JWK can be derived.
    let ed = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let v1 = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(ed.serialized_der())
        .unwrap()
        .to_pkcs8v1()
        .unwrap();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(v1.as_ref())
    );
    write(dir, "client-ed.key.pem", &pem);
    let enc = EncodingKey::from_ed_der(v1.as_ref());
    write(
        dir,
        "client-ed.jwks.json",
        &jwks(&enc, Algorithm::EdDSA, "client-ed-1"),
    );

    // The demo client CA and two clients it issued (tls_client_auth: CN = client_id).
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "revspec demo client CA");
    ca.distinguished_name
        .push(DnType::OrganizationName, "revspec");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    write(dir, "client-ca.pem", &ca_cert.pem());
    let issuer = Issuer::new(ca, ca_key);
    for name in ["client-mtls", "client-mtls-2"] {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, name);
        p.distinguished_name
            .push(DnType::OrganizationName, "revspec");
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.use_authority_key_identifier_extension = true;
        let k = KeyPair::generate().unwrap();
        let c = p.signed_by(&k, &issuer).unwrap();
        write(dir, &format!("{name}.pem"), &c.pem());
        write(dir, &format!("{name}.key.pem"), &k.serialize_pem());
    }

    // A self-signed client certificate; its public key is what the client registers.
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, "client-ss");
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let k = KeyPair::generate().unwrap();
    let c = p.self_signed(&k).unwrap();
    write(dir, "client-ss.pem", &c.pem());
    write(dir, "client-ss.key.pem", &k.serialize_pem());
    let enc = EncodingKey::from_ec_der(k.serialized_der());
    let mut jwk = Jwk::from_encoding_key(&enc, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some("client-ss-1".into());
    jwk.common.key_algorithm = None;
    jwk.common.x509_chain = Some(vec![
        base64::engine::general_purpose::STANDARD.encode(c.der())
    ]);
    write(
        dir,
        "client-ss.jwks.json",
        &(serde_json::to_string_pretty(&json!({ "keys": [jwk] })).unwrap() + "\n"),
    );
}
