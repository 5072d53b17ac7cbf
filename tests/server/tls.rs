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

/// Issue 20: `doctor` checks each client's authentication on the live server and names the
/// fix: a JWT client whose `aud` the server refuses (here a server that takes only the token
/// endpoint's URL) is told which audience works; a JWT client signing with a key the server
/// did not register is told it is a key mismatch; a certificate client presenting a
/// certificate not registered for it is told so, by subject. The clients that are right pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_names_the_fix_of_each_refused_client() {
    use revspec::catalogue::Role;
    use revspec::sut::profile::AssertionAudience;
    let dir = tempfile::tempdir().unwrap();
    let options = ServeOptions {
        quirks: vec![Quirk::AssertionAudTokenEndpointOnly],
        tls: Some(TlsSource::SelfSigned {
            dir: Some(dir.path().to_owned()),
        }),
        ..Default::default()
    };
    let server = revspec::server::spawn("127.0.0.1:0".parse().unwrap(), &options)
        .await
        .expect("the server starts over TLS");
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let profile = || {
        let mut p =
            revspec::sut::TargetProfile::from_file(&manifest.join("targets/reference-tls.toml"))
                .unwrap();
        p.issuer = server.base_url.clone();
        p.tls.ca_file_env = None;
        p.tls.ca_file = server.ca_file.clone();
        p
    };
    let check = |p: revspec::sut::TargetProfile, role: Role| async move {
        let target = revspec::sut::target::Target::connect(p)
            .await
            .expect("the target connects");
        revspec::sut::auth_check::check(&target, role)
            .await
            .expect("the role is in the profile")
    };
    // As the profile ships: every client authenticates.
    for role in [
        Role::Primary,
        Role::Other,
        Role::RevokeAny,
        Role::Introspector,
    ] {
        let c = check(profile(), role).await;
        assert!(c.ok, "{role:?}: {c:?}");
    }
    // The wrong audience.
    let mut p = profile();
    p.clients.primary.audience = Some(AssertionAudience::Issuer);
    let c = check(p, Role::Primary).await;
    let fix = c.fix.clone().unwrap_or_default();
    assert!(
        !c.ok
            && fix.starts_with("wrong aud")
            && fix.contains("clients.primary.audience = \"token_endpoint\""),
        "{c:?}"
    );
    // A key the server did not register for client-jwt.
    let mut p = profile();
    p.clients.primary.key_file = Some("keys/client-rsa.key.pem".into());
    p.clients.primary.alg = Some("RS256".into());
    p.clients.primary.kid = None;
    let c = check(p, Role::Primary).await;
    let fix = c.fix.clone().unwrap_or_default();
    assert!(
        !c.ok && fix.starts_with("key mismatch") && fix.contains("thumbprint"),
        "{c:?}"
    );
    // Another client's certificate.
    let mut p = profile();
    let other = p.clients.other.as_mut().expect("an other client");
    other.cert_file = Some("keys/client-mtls-2.pem".into());
    other.key_file = Some("keys/client-mtls-2.key.pem".into());
    let c = check(p, Role::Other).await;
    let fix = c.fix.clone().unwrap_or_default();
    assert!(
        !c.ok && fix.starts_with("unregistered certificate") && fix.contains("client-mtls"),
        "{c:?}"
    );
    server.shutdown().await;
}

/// Issue 20: `--tls-cert`/`--tls-key` serve HTTPS with the operator's certificate and key (here
/// the ones a self-signed start wrote, served by a second server from the files).
#[tokio::test]
async fn https_from_certificate_and_key_files() {
    let dir = tempfile::tempdir().unwrap();
    let (first, ca) = start(None, dir.path()).await;
    first.shutdown().await;
    let (cert, key) = (
        dir.path().join("server.pem"),
        dir.path().join("server.key.pem"),
    );
    let options = ServeOptions {
        tls: Some(TlsSource::Files { cert, key }),
        ..Default::default()
    };
    let server = revspec::server::spawn("127.0.0.1:0".parse().unwrap(), &options)
        .await
        .expect("the server starts from the files");
    assert!(server.base_url.starts_with("https://127.0.0.1:"));
    let doc: Value = client(&ca, None)
        .get(format!("{}{}", server.base_url, paths::AS_METADATA))
        .send()
        .await
        .expect("the certificate from the file chains to the CA")
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["revocation_endpoint"],
        format!("{}{}", server.base_url, paths::REVOKE)
    );
    assert!(doc["mtls_endpoint_aliases"].is_object(), "{doc}");
    server.shutdown().await;
}
