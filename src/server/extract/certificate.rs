//! Mutual-TLS client authentication (RFC 8705 2): the client's certificate, from the TLS
//! connection (the mTLS listener asks for one), or, in the opt-in trusted-proxy mode, from a
//! forwarded-certificate header as Janssen reads it (`X-ClientCert`: PEM;
//! `X-Forwarded-Tls-Client-Cert`: base64 DER; `X-Forwarded-Client-Cert`: Envoy's
//! `Cert="<URL-encoded PEM>"`), honoured only from the configured proxies' addresses. Then
//! `tls_client_auth`: issued by the client CA, with the registered subject DN (attributes in
//! any order); `self_signed_tls_client_auth`: its public key is one of the client's `jwks`.

use super::client_auth::auth_failed;
use crate::faults::Fault;
use crate::server::config::{AuthMethod, Client};
use crate::server::error::OAuthError;
use crate::server::net::ConnInfo;
use crate::server::state::AppState;
use crate::server::tls;
use axum::http::HeaderMap;
use base64::Engine as _;
use rustls::pki_types::CertificateDer;

/// The forwarded-certificate headers, in the order Janssen reads them.
pub const FORWARDED_HEADERS: [&str; 3] = [
    "x-forwarded-client-cert",
    "x-forwarded-tls-client-cert",
    "x-clientcert",
];

fn percent_decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The certificate a forwarded header carries, in its header's format.
fn forwarded(name: &str, value: &str) -> Option<CertificateDer<'static>> {
    let pem = match name {
        "x-forwarded-client-cert" => {
            let start = value.find("Cert=\"")? + 6;
            let end = value[start..].find('"')? + start;
            percent_decoded(&value[start..end])
        }
        "x-forwarded-tls-client-cert" => {
            let raw = percent_decoded(value);
            if raw.contains("BEGIN CERTIFICATE") {
                raw
            } else {
                let der = base64::engine::general_purpose::STANDARD
                    .decode(raw.split_whitespace().collect::<String>())
                    .ok()?;
                return Some(CertificateDer::from(der));
            }
        }
        _ => {
            if value.contains("%2D") || value.contains("%20") {
                percent_decoded(value)
            } else {
                value.to_owned()
            }
        }
    };
    tls::certificates(&pem.replace("\\n", "\n"))
        .into_iter()
        .next()
}

/// The client's certificate chain: from the connection, or from a forwarded header when the
/// peer is a configured proxy (or anyone, with the `forwarded-cert-trusted` fault).
fn chain(
    state: &AppState,
    conn: Option<&ConnInfo>,
    headers: &HeaderMap,
) -> Option<Vec<CertificateDer<'static>>> {
    if let Some(chain) = conn.and_then(|c| c.client_chain.as_ref()) {
        return Some(chain.as_ref().clone());
    }
    let trusted = state.has_fault(Fault::ForwardedCertTrusted)
        || conn.is_some_and(|c| state.trusted_proxies.contains(&c.peer.ip()));
    if !trusted {
        return None;
    }
    FORWARDED_HEADERS.iter().find_map(|name| {
        let value = headers.get(*name)?.to_str().ok()?;
        forwarded(name, value).map(|c| vec![c])
    })
}

/// Whether the client's certificate authenticates it (see the module's doc).
pub fn check(
    state: &AppState,
    client: &Client,
    conn: Option<&ConnInfo>,
    headers: &HeaderMap,
) -> Result<(), OAuthError> {
    let chain = chain(state, conn, headers).ok_or_else(auth_failed)?;
    let leaf = chain.first().ok_or_else(auth_failed)?;
    let ok = match client.auth_method {
        AuthMethod::TlsClientAuth => {
            let issued = state.client_ca.as_ref().is_some_and(|ca| ca.issued(&chain));
            let subject_ok = state.has_fault(Fault::AnyClientCertAccepted)
                || match (
                    &client.tls_client_auth_subject_dn,
                    tls::subject_attributes(leaf),
                ) {
                    (Some(dn), Some(seen)) => tls::dn_attributes(dn) == seen,
                    _ => false,
                };
            issued && subject_ok
        }
        AuthMethod::SelfSignedTlsClientAuth => match tls::key_thumbprint(leaf) {
            Some(seen) => client
                .jwks
                .iter()
                .flat_map(|s| s.keys.iter())
                .any(|k| tls::jwk_thumbprint(k).as_deref() == Some(seen.as_str())),
            None => false,
        },
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(auth_failed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_forwarded_format_is_read() {
        let pem = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("targets/keys/client-mtls.pem"),
        )
        .unwrap();
        let der = tls::certificates(&pem).remove(0);
        let encoded: String = url::form_urlencoded::byte_serialize(pem.as_bytes()).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        for (name, value) in [
            ("x-clientcert", pem.replace('\n', "\\n")),
            ("x-forwarded-tls-client-cert", b64),
            (
                "x-forwarded-client-cert",
                format!(
                    "Hash=abc;Cert=\"{}\";Subject=\"CN=x\"",
                    encoded.replace('+', "%20")
                ),
            ),
        ] {
            assert_eq!(forwarded(name, &value).as_ref(), Some(&der), "{name}");
        }
    }
}
