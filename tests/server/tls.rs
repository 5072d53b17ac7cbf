//! The server over TLS on real loopback sockets (`--tls self-signed`): HTTPS with a throw-away
//! CA that a client trusts through `[tls] ca_file`; a second listener that asks for client
//! certificates, published as `mtls_endpoint_aliases`, where a certificate client
//! authenticates and the main listener never asks for one; plain http refused; and the
//! trusted-proxy mode, which honours a forwarded client certificate from a configured peer only.

use crate::helpers::*;
use revspec::server::tls::TlsSource;

async fn start(
    config: Option<ServerConfig>,
    dir: &std::path::Path,
) -> (revspec::server::RunningServer, reqwest::Certificate) {
    let options = ServeOptions {
        config,
        tls: Some(TlsSource::SelfSigned {
            dir: Some(dir.to_owned()),
        }),
        ..Default::default()
    };
    let server = revspec::server::spawn("127.0.0.1:0".parse().unwrap(), &options)
        .await
        .expect("the server starts over TLS");
    let ca = std::fs::read(server.ca_file.as_ref().expect("a CA file")).unwrap();
    (server, reqwest::Certificate::from_pem(&ca).unwrap())
}

fn client(ca: &reqwest::Certificate, cert: Option<&str>) -> reqwest::Client {
    let mut b = reqwest::Client::builder().tls_certs_only([ca.clone()]);
    if let Some(name) = cert {
        let pem = format!(
            "{}{}",
            fixture(&format!("{name}.pem")),
            fixture(&format!("{name}.key.pem"))
        );
        b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    b.build().unwrap()
}

async fn password_grant(c: &reqwest::Client, url: &str, client_id: &str) -> reqwest::StatusCode {
    c.post(url)
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-pass"),
            ("client_id", client_id),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn https_with_an_mtls_listener_published_as_aliases() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ca) = start(None, dir.path()).await;
    assert!(server.base_url.starts_with("https://127.0.0.1:"));
    let plain = client(&ca, None);
    let doc: Value = plain
        .get(format!("{}{}", server.base_url, paths::AS_METADATA))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mtls = server.mtls_base_url.clone().unwrap();
    assert_eq!(
        doc["mtls_endpoint_aliases"]["revocation_endpoint"],
        format!("{mtls}{}", paths::REVOKE)
    );
    let methods = doc["revocation_endpoint_auth_methods_supported"].to_string();
    assert!(
        methods.contains("tls_client_auth") && methods.contains("private_key_jwt"),
        "{methods}"
    );
    // A certificate client authenticates on the mTLS listener with its certificate...
    let with_cert = client(&ca, Some("client-mtls"));
    let alias_token = format!("{mtls}{}", paths::TOKEN);
    assert_eq!(
        password_grant(&with_cert, &alias_token, "client-mtls").await,
        200
    );
    // ...not on the main listener, which never asks for one.
    let main_token = format!("{}{}", server.base_url, paths::TOKEN);
    assert_eq!(
        password_grant(&with_cert, &main_token, "client-mtls").await,
        401
    );
    // Another client's certificate, or none, authenticates nobody.
    let wrong = client(&ca, Some("client-mtls-2"));
    assert_eq!(
        password_grant(&wrong, &alias_token, "client-mtls").await,
        401
    );
    assert_eq!(
        password_grant(&plain, &alias_token, "client-mtls").await,
        401
    );
    // Without the CA the certificate is not trusted; plain http is not answered.
    let untrusting = reqwest::Client::builder()
        .tls_certs_only([])
        .build()
        .unwrap();
    assert!(untrusting.get(&server.base_url).send().await.is_err());
    let http = server.base_url.replacen("https", "http", 1);
    assert!(reqwest::get(format!("{http}/health")).await.is_err());
    let first_ca = std::fs::read_to_string(server.ca_file.as_ref().unwrap()).unwrap();
    server.shutdown().await;
    // The same folder keeps the same CA across restarts: a profile's ca_file stays valid.
    let (again, _) = start(None, dir.path()).await;
    let second_ca = std::fs::read_to_string(again.ca_file.as_ref().unwrap()).unwrap();
    assert_eq!(first_ca, second_ca);
    assert!(client(&ca, None)
        .get(format!("{}/health", again.base_url))
        .send()
        .await
        .is_ok());
    again.shutdown().await;
}

#[tokio::test]
async fn a_forwarded_certificate_counts_only_from_a_trusted_proxy() {
    let pem = fixture("client-mtls.pem").replace('\n', "\\n");
    for (proxies, expected) in [(vec![], 401), (vec!["127.0.0.1".parse().unwrap()], 200)] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::demo();
        config.trusted_proxies = proxies;
        let (server, ca) = start(Some(config), dir.path()).await;
        let status = client(&ca, None)
            .post(format!("{}{}", server.base_url, paths::TOKEN))
            .header("X-ClientCert", &pem)
            .form(&[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice-pass"),
                ("client_id", "client-mtls"),
            ])
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(
            status, expected,
            "trusted proxies {:?}",
            server.state.trusted_proxies
        );
        server.shutdown().await;
    }
}
