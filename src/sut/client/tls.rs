//! What the harness presents and trusts over TLS: a client's certificate and key as a
//! `reqwest::Identity` (mutual TLS), a throw-away certificate for "a certificate the client
//! did not register", and the target's CA bundle (`[tls] ca_file`). Key material is read here
//! and never shown: a [`TlsIdentity`]'s `Debug` names only its label.

use std::sync::Arc;

/// A client certificate with its key, ready for a TLS handshake.
#[derive(Clone)]
pub struct TlsIdentity {
    /// Which certificate this is, for messages and for the HTTP client's cache
    /// (`client-mtls`, `unregistered certificate for client-mtls`).
    pub label: String,
    pub identity: reqwest::Identity,
    /// The certificate's subject DN as written in it.
    pub subject: String,
    /// The leaf certificate (PEM), for the forwarded-certificate headers.
    pub cert_pem: Arc<String>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TlsIdentity({})", self.label)
    }
}

impl TlsIdentity {
    /// A certificate chain (PEM, leaf first) and its private key (PEM: PKCS#8, PKCS#1 RSA or
    /// SEC1 EC).
    pub fn from_pem(label: &str, cert_pem: &str, key_pem: &str) -> Result<Self, String> {
        let certs: String = pem_blocks(cert_pem, "CERTIFICATE");
        if certs.is_empty() {
            return Err("the certificate file holds no CERTIFICATE block".into());
        }
        let key = private_key_block(key_pem)
            .ok_or("the key holds no PRIVATE KEY block (a client certificate's key must be PEM)")?;
        let identity = reqwest::Identity::from_pem(format!("{certs}{key}").as_bytes())
            .map_err(|e| format!("the certificate and key do not make a TLS identity: {e}"))?;
        let leaf = first_block(&certs);
        Ok(Self {
            label: label.to_owned(),
            identity,
            subject: subject_of(&leaf).unwrap_or_default(),
            cert_pem: Arc::new(leaf),
        })
    }

    /// A fresh self-signed certificate with `subject_cn` as its common name (and `O=revspec`),
    /// which no server has registered: what "a certificate the client did not register" is.
    pub fn throwaway(label: &str, subject_cn: &str) -> Result<Self, String> {
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, subject_cn);
        params
            .extended_key_usages
            .push(rcgen::ExtendedKeyUsagePurpose::ClientAuth);
        let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
        let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
        Self::from_pem(label, &cert.pem(), &key.serialize_pem())
    }
}

/// Every PEM block of a label, concatenated.
fn pem_blocks(text: &str, label: &str) -> String {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let Some(stop) = rest[start..].find(&end) else {
            break;
        };
        out.push_str(&rest[start..start + stop + end.len()]);
        out.push('\n');
        rest = &rest[start + stop + end.len()..];
    }
    out
}

fn first_block(text: &str) -> String {
    match text.find("-----END CERTIFICATE-----") {
        Some(i) => format!("{}\n", &text[..i + 25]),
        None => text.to_owned(),
    }
}

/// The private-key block of a PEM text (PKCS#8, RSA or EC).
fn private_key_block(text: &str) -> Option<String> {
    ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"]
        .iter()
        .map(|l| pem_blocks(text, l))
        .find(|b| !b.is_empty())
}

/// The subject DN of a PEM certificate (`CN=client-mtls, O=revspec`).
pub fn subject_of(cert_pem: &str) -> Option<String> {
    let (_, der) = super::keys::pem_block(cert_pem).ok()?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).ok()?;
    Some(cert.subject().to_string())
}

/// The CA certificates of a PEM bundle, for `reqwest`'s `tls_certs_only` / `tls_certs_merge`.
pub fn ca_bundle(pem: &[u8]) -> Result<Vec<reqwest::Certificate>, String> {
    let certs = reqwest::Certificate::from_pem_bundle(pem)
        .map_err(|e| format!("not a PEM bundle of certificates: {e}"))?;
    if certs.is_empty() {
        return Err("holds no CERTIFICATE block".into());
    }
    Ok(certs)
}

/// How the HTTP client trusts the target's certificates.
#[derive(Clone, Default)]
pub struct Trust {
    /// Roots to trust (a private CA); empty: the system's roots.
    pub roots: Vec<reqwest::Certificate>,
    /// Also trust the system's roots beside `roots`.
    pub with_system: bool,
    /// Accept any certificate (loopback targets only; the profile refuses it elsewhere).
    pub accept_invalid: bool,
}

impl Trust {
    /// Applies the trust to a reqwest client builder.
    pub fn apply(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        let builder = match (self.roots.is_empty(), self.with_system) {
            (true, _) => builder,
            (false, false) => builder.tls_certs_only(self.roots.clone()),
            (false, true) => builder.tls_certs_merge(self.roots.clone()),
        };
        if self.accept_invalid {
            builder.tls_danger_accept_invalid_certs(true)
        } else {
            builder
        }
    }
}
