//! TLS for the reference server (rustls with aws-lc-rs, the one crypto provider of the
//! binary): the server's certificate from files (`--tls-cert`/`--tls-key`) or made at start
//! (`--tls self-signed`: a throw-away CA and a certificate for `localhost` and 127.0.0.1,
//! written as PEM files so a client can trust the CA), the two listener configurations (the
//! main one never asks for a client certificate; the mTLS one published as
//! `mtls_endpoint_aliases` asks for one, accepts any at the TLS layer and leaves the decision
//! to client authentication), and what a client certificate says (its subject, whether it
//! chains to the client CA, the RFC 7638 thumbprint of its key).

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the server's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// PEM files: the certificate chain (leaf first) and its private key.
    Files { cert: PathBuf, key: PathBuf },
    /// Made at start: a throw-away CA and a server certificate, written into `dir` (kept and
    /// reused when they are already there), or into a new temporary folder.
    SelfSigned { dir: Option<PathBuf> },
}

/// The provider every TLS configuration of the server uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The server's certificate chain and key, and where the CA a client must trust is.
pub struct ServerIdentity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    /// `--tls self-signed`: the CA file written for clients.
    pub ca_file: Option<PathBuf>,
    /// `--tls self-signed`: the CA certificate (PEM).
    pub ca_pem: Option<String>,
}

fn pem_der_blocks(text: &str, label: &str) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let body_start = start + begin.len();
        let Some(stop) = rest[body_start..].find(&end) else {
            break;
        };
        let b64: String = rest[body_start..body_start + stop]
            .split_whitespace()
            .collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(b64) {
            out.push(der);
        }
        rest = &rest[body_start + stop + end.len()..];
    }
    out
}

/// Every certificate of a PEM text.
pub fn certificates(pem: &str) -> Vec<CertificateDer<'static>> {
    pem_der_blocks(pem, "CERTIFICATE")
        .into_iter()
        .map(CertificateDer::from)
        .collect()
}

fn private_key(pem: &str) -> Option<PrivateKeyDer<'static>> {
    use rustls::pki_types::{PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};
    if let Some(der) = pem_der_blocks(pem, "PRIVATE KEY").into_iter().next() {
        return Some(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der)));
    }
    if let Some(der) = pem_der_blocks(pem, "RSA PRIVATE KEY").into_iter().next() {
        return Some(PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der)));
    }
    pem_der_blocks(pem, "EC PRIVATE KEY")
        .into_iter()
        .next()
        .map(|der| PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der)))
}

/// Reads the server's certificate and key; errors name the flag and the file.
pub fn from_files(cert: &Path, key: &Path) -> Result<ServerIdentity, String> {
    let read = |flag: &str, p: &Path| {
        std::fs::read_to_string(p).map_err(|e| format!("{flag} {}: {e}", p.display()))
    };
    let chain = certificates(&read("--tls-cert", cert)?);
    if chain.is_empty() {
        return Err(format!(
            "--tls-cert {}: no CERTIFICATE block",
            cert.display()
        ));
    }
    let key_der = private_key(&read("--tls-key", key)?).ok_or_else(|| {
        format!(
            "--tls-key {}: no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block",
            key.display()
        )
    })?;
    Ok(ServerIdentity {
        chain,
        key: key_der,
        ca_file: None,
        ca_pem: None,
    })
}

/// The PEM files of `--tls self-signed`.
pub const CA_FILE: &str = "ca.pem";
const CERT_FILE: &str = "server.pem";
const KEY_FILE: &str = "server.key.pem";

/// Makes (or, when `dir` already holds them, reuses) a throw-away CA and a server
/// certificate for `localhost`, 127.0.0.1 and ::1, written as PEM files into `dir` (made 0700),
/// or into a new temporary folder.
pub fn self_signed(dir: Option<&Path>) -> Result<ServerIdentity, String> {
    let dir = match dir {
        Some(d) => d.to_owned(),
        None => std::env::temp_dir().join(format!(
            "revspec-tls-{}-{:x}",
            std::process::id(),
            rand::random::<u32>()
        )),
    };
    create_private_dir(&dir)?;
    let (ca_path, cert_path, key_path) =
        (dir.join(CA_FILE), dir.join(CERT_FILE), dir.join(KEY_FILE));
    if !(ca_path.exists() && cert_path.exists() && key_path.exists()) {
        let (ca_pem, cert_pem, key_pem) =
            generate().map_err(|e| format!("--tls self-signed: {e}"))?;
        write_private(&key_path, &key_pem)?;
        std::fs::write(&cert_path, format!("{cert_pem}{ca_pem}"))
            .map_err(|e| format!("{}: {e}", cert_path.display()))?;
        std::fs::write(&ca_path, &ca_pem).map_err(|e| format!("{}: {e}", ca_path.display()))?;
    }
    let mut identity = from_files(&cert_path, &key_path)?;
    identity.ca_pem =
        Some(std::fs::read_to_string(&ca_path).map_err(|e| format!("{}: {e}", ca_path.display()))?);
    identity.ca_file = Some(ca_path);
    Ok(identity)
}

fn create_private_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(())
}

/// (CA PEM, server certificate PEM, server key PEM), ECDSA P-256.
fn generate() -> Result<(String, String, String), rcgen::Error> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "revspec throw-away CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);
    let mut server = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])?;
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate()?;
    let cert = server.signed_by(&key, &issuer)?;
    Ok((ca_cert.pem(), cert.pem(), key.serialize_pem()))
}

/// The TLS configuration of a listener: the main one never asks for a client certificate;
/// the mTLS one asks, accepts any (the handshake still proves the client holds its key), and
/// client authentication decides.
pub fn server_config(
    identity: &ServerIdentity,
    ask_client_certificate: bool,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = provider();
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = if ask_client_certificate {
        builder.with_client_cert_verifier(Arc::new(AnyClientCert { provider }))
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())
        .map_err(|e| format!("the server certificate and key do not fit: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Asks every client for a certificate and takes any at the TLS layer (the handshake
/// signature is still verified); client authentication decides what it is worth.
#[derive(Debug)]
struct AnyClientCert {
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Checks client certificates against the client CA (`tls_client_auth`).
pub struct ClientCa {
    verifier: Arc<dyn ClientCertVerifier>,
}

impl ClientCa {
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in certificates(pem) {
            roots
                .add(cert)
                .map_err(|e| format!("a client CA certificate is unusable: {e}"))?;
        }
        if roots.is_empty() {
            return Err("the client CA bundle holds no certificate".into());
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider(),
        )
        .allow_unauthenticated()
        .build()
        .map_err(|e| e.to_string())?;
        Ok(Self { verifier })
    }

    /// Whether the chain (leaf first) was issued by the client CA and is valid now.
    pub fn issued(&self, chain: &[CertificateDer<'static>]) -> bool {
        match chain.split_first() {
            Some((leaf, rest)) => self
                .verifier
                .verify_client_cert(leaf, rest, UnixTime::now())
                .is_ok(),
            None => false,
        }
    }
}

impl std::fmt::Debug for ClientCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientCa")
    }
}

/// The subject DN of a certificate as a set of (attribute, value) pairs, in any order.
pub fn subject_attributes(cert: &CertificateDer<'_>) -> Option<Vec<(String, String)>> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    Some(dn_attributes(&parsed.subject().to_string()))
}

/// `CN=a, O=b` (or `CN=a,O=b`) as sorted (attribute, value) pairs.
pub fn dn_attributes(dn: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = dn
        .split(',')
        .filter_map(|part| {
            let (k, v) = part.split_once('=')?;
            Some((k.trim().to_ascii_uppercase(), v.trim().to_owned()))
        })
        .collect();
    out.sort();
    out
}

/// The RFC 7638 thumbprint (SHA-256) of a certificate's public key (RSA, P-256, Ed25519).
pub fn key_thumbprint(cert: &CertificateDer<'_>) -> Option<String> {
    use base64::Engine as _;
    use x509_parser::public_key::PublicKey;
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let strip = |v: &[u8]| {
        let i = v.iter().position(|&x| x != 0).unwrap_or(v.len());
        v[i..].to_vec()
    };
    let spki = &parsed.tbs_certificate.subject_pki;
    let jwk = match spki.parsed().ok()? {
        PublicKey::RSA(k) => {
            serde_json::json!({"kty": "RSA", "n": b64(&strip(k.modulus)), "e": b64(&strip(k.exponent))})
        }
        PublicKey::EC(p) if p.data().len() == 65 => {
            serde_json::json!({"kty": "EC", "crv": "P-256", "x": b64(&p.data()[1..33]), "y": b64(&p.data()[33..])})
        }
        PublicKey::Unknown(raw) if spki.algorithm.algorithm.to_id_string() == "1.3.101.112" => {
            serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": b64(raw)})
        }
        _ => return None,
    };
    serde_json::from_value::<jsonwebtoken::jwk::Jwk>(jwk)
        .ok()?
        .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
        .ok()
}

/// The RFC 7638 thumbprint of a registered public JWK.
pub fn jwk_thumbprint(jwk: &jsonwebtoken::jwk::Jwk) -> Option<String> {
    jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_makes_files_once_and_reuses_them() {
        let dir = tempfile::tempdir().unwrap();
        let first = self_signed(Some(dir.path())).unwrap();
        let ca = std::fs::read_to_string(dir.path().join(CA_FILE)).unwrap();
        assert!(ca.contains("BEGIN CERTIFICATE"));
        assert_eq!(first.ca_pem.as_deref(), Some(ca.as_str()));
        let again = self_signed(Some(dir.path())).unwrap();
        assert_eq!(first.chain, again.chain);
        server_config(&again, true).unwrap();
        server_config(&again, false).unwrap();
    }

    #[test]
    fn demo_client_certificates_are_told_apart() {
        let ca = ClientCa::from_pem(super::super::config::demo_keys::CLIENT_CA).unwrap();
        let keys = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("targets/keys");
        let cert = |n: &str| certificates(&std::fs::read_to_string(keys.join(n)).unwrap());
        assert!(ca.issued(&cert("client-mtls.pem")));
        assert!(!ca.issued(&cert("client-ss.pem")));
        assert_eq!(
            subject_attributes(&cert("client-mtls.pem")[0]).unwrap(),
            dn_attributes("O=revspec,CN=client-mtls")
        );
        let jwks: jsonwebtoken::jwk::JwkSet =
            serde_json::from_str(super::super::config::demo_keys::CLIENT_SS_JWKS).unwrap();
        assert_eq!(
            key_thumbprint(&cert("client-ss.pem")[0]),
            jwk_thumbprint(&jwks.keys[0])
        );
    }
}
