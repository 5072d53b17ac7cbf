//! Secure by default over a real socket (issue 13): header and request timeouts, the
//! connection caps (global and per peer, issue 23), the first-byte timeout, the sweep of expired tokens, the data directory's settings and modes, and
//! the refusals of unusable limits and configurations.

use crate::helpers::*;

/// A generous bound for waiting on a socket, so a test that fails cannot hang.
const SOCKET_BOUND: Duration = Duration::from_secs(20);

/// Reads until the server closes the connection; `None` if it did not within the bound.
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt as _;
    let mut out = Vec::new();
    let read = tokio::time::timeout(SOCKET_BOUND, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| out)
}

/// Finding 4: a client that never finishes its headers is disconnected after the header-read
/// timeout (hyper's timer is on).
#[tokio::test]
async fn half_sent_headers_are_disconnected() {
    use tokio::io::AsyncWriteExt as _;
    let server = spawn_with(ServeOptions {
        limits: Limits {
            header_read_timeout: Duration::from_millis(300),
            ..Limits::default()
        },
        ..Default::default()
    })
    .await;
    let mut slow = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut slow).await;
    assert!(answer.is_some(), "the half-sent request was kept open");
    let answer = String::from_utf8_lossy(answer.as_deref().unwrap_or_default()).into_owned();
    assert!(!answer.contains("200 OK"), "{answer}");
    // The server still serves complete requests.
    let r = http_client()
        .get(format!("{}{}", server.base_url, paths::HEALTH))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.shutdown().await;
}

/// Finding 4: a request whose body never completes is answered 408 with an RFC 6749 error
/// after the request timeout.
#[tokio::test]
async fn a_request_that_never_completes_gets_408() {
    use tokio::io::AsyncWriteExt as _;
    let server = spawn_with(ServeOptions {
        limits: Limits {
            request_timeout: Duration::from_millis(300),
            ..Limits::default()
        },
        ..Default::default()
    })
    .await;
    let mut slow = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: {FORM}\r\nContent-Length: 100\r\nConnection: close\r\n\r\ntoken=",
        paths::REVOKE,
        basic("client-a", "secret-a")
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut slow)
        .await
        .expect("an answer within the bound");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"error\":\"invalid_request\""), "{answer}");
    server.shutdown().await;
}

/// Finding 4: at most `max_connections` connections are served; one more is closed at once,
/// and a slot is free again once a connection ends.
#[tokio::test]
async fn connections_beyond_the_cap_are_closed() {
    use tokio::io::AsyncWriteExt as _;
    let server = spawn_with(ServeOptions {
        limits: Limits {
            max_connections: 2,
            ..Limits::default()
        },
        ..Default::default()
    })
    .await;
    let health = format!("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", paths::HEALTH);
    // Two kept-alive connections, each proven served.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        c.write_all(health.as_bytes()).await.unwrap();
        let mut buf = [0u8; 512];
        let n = tokio::time::timeout(
            SOCKET_BOUND,
            tokio::io::AsyncReadExt::read(&mut c, &mut buf),
        )
        .await
        .expect("served")
        .unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        held.push(c);
    }
    // The third is closed without an answer.
    let mut third = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let _ = third.write_all(health.as_bytes()).await;
    let answer = read_until_closed(&mut third)
        .await
        .expect("closed within the bound");
    assert!(
        answer.is_empty(),
        "served beyond the cap: {}",
        String::from_utf8_lossy(&answer)
    );
    // Once one held connection goes, a new one is served (the slot is freed when the server
    // notices the close, so retry a bounded number of times).
    drop(held.pop());
    let mut served = false;
    for _ in 0..200 {
        let mut c = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let close = format!(
            "GET {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            paths::HEALTH
        );
        let _ = c.write_all(close.as_bytes()).await;
        let answer = read_until_closed(&mut c).await.unwrap_or_default();
        if String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200") {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(served, "the freed slot was never reused");
    drop(held);
    server.shutdown().await;
}

/// A `GET /health` over a new connection from `source` (a loopback address): the answer's
/// first line, or `None` when the server closed the connection without one.
async fn health_from(server: &revspec::server::RunningServer, source: &str) -> Option<String> {
    use tokio::io::AsyncWriteExt as _;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let mut c = socket.connect(server.addr).await.unwrap();
    let close = format!(
        "GET {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        paths::HEALTH
    );
    let _ = c.write_all(close.as_bytes()).await;
    let answer = read_until_closed(&mut c)
        .await
        .expect("closed within the bound");
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .map(str::to_owned)
}

/// Issue 23, S5: idle sockets from one address cannot lock everyone out. One peer
/// (127.0.0.1) opens as many idle connections as the global cap; the server keeps only its
/// per-peer share of them, and another peer (127.0.0.2) is still served.
#[tokio::test]
async fn idle_sockets_from_one_peer_cannot_lock_everyone_out() {
    let server = spawn_with(ServeOptions {
        limits: Limits {
            max_connections: 8,
            max_connections_per_peer: 4,
            // Long enough that only the caps decide here.
            first_byte_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(30),
            ..Limits::default()
        },
        ..Default::default()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(tokio::net::TcpStream::connect(server.addr).await.unwrap());
    }
    // The peer's fifth connection on is closed at once; the others stay open.
    let mut closed = 0;
    for c in &mut idle {
        use tokio::io::AsyncReadExt as _;
        let mut buf = [0u8; 16];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(300), c.read(&mut buf)).await
        {
            closed += 1;
        }
    }
    assert_eq!(
        closed, 4,
        "the server should keep 4 of the peer's 8 idle sockets"
    );
    let answer = health_from(&server, "127.0.0.2").await;
    assert_eq!(
        answer.as_deref(),
        Some("HTTP/1.1 200 OK"),
        "another peer was locked out"
    );
    // The peer that holds its share gets nothing more.
    assert_eq!(health_from(&server, "127.0.0.1").await, None);
    drop(idle);
    server.shutdown().await;
}

/// Issue 23, S5: a connection that sends nothing is closed at the first-byte timeout, long
/// before the header-read timeout; one that sends its request in time is served.
#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_at_the_first_byte_timeout() {
    use tokio::io::AsyncWriteExt as _;
    let server = spawn_with(ServeOptions {
        limits: Limits {
            first_byte_timeout: Duration::from_millis(300),
            header_read_timeout: Duration::from_secs(15),
            ..Limits::default()
        },
        ..Default::default()
    })
    .await;
    let started = std::time::Instant::now();
    let mut silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let answer = read_until_closed(&mut silent)
        .await
        .expect("closed within the bound");
    let took = started.elapsed();
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    assert!(
        took < Duration::from_secs(5),
        "closed only after {took:?} (header-read timeout 15 s)"
    );
    let mut prompt = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let close = format!(
        "GET {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        paths::HEALTH
    );
    prompt.write_all(close.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut prompt).await.expect("answered");
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    server.shutdown().await;
}

/// Finding 8: expired tokens are removed from the store while the server runs.
#[tokio::test]
async fn expired_tokens_are_swept_while_running() {
    let mut config = ServerConfig::demo();
    config.settings.access_token_lifetime = 1;
    config.settings.refresh_token_lifetime = 1;
    let server = spawn_with(ServeOptions {
        config: Some(config),
        limits: Limits {
            sweep_interval: Duration::from_millis(100),
            ..Limits::default()
        },
        ..Default::default()
    })
    .await;
    let http = http_client();
    for _ in 0..3 {
        socket_mint(&http, &server.base_url).await;
    }
    assert!(server.state.store.len() >= 6);
    assert!(
        support::eventually(SETTLE, || async { server.state.store.is_empty() }).await,
        "{} expired tokens still held",
        server.state.store.len()
    );
    server.shutdown().await;
}

/// Finding 7: `--data-dir` keeps settings and client scopes changed through the Config API,
/// in a database only the server's user can read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_dir_keeps_settings_and_client_scopes() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("revspec-data");
    let options = ServeOptions {
        data_dir: Some(dir.clone()),
        ..Default::default()
    };
    let http = http_client();
    let admin_token = |base: String, scope: &'static str| {
        let http = http.clone();
        async move {
            let r = http
                .post(format!("{base}{}", paths::TOKEN))
                .basic_auth("config-admin", Some("config-secret"))
                .form(&[("grant_type", "client_credentials"), ("scope", scope)])
                .send()
                .await
                .unwrap();
            let v: Value = r.json().await.unwrap();
            v["access_token"].as_str().unwrap().to_owned()
        }
    };
    let server = spawn_with(options.clone()).await;
    let base = server.base_url.clone();
    let write = admin_token(base.clone(), PROPERTIES_WRITE_SCOPE).await;
    let clients = admin_token(base.clone(), CLIENTS_WRITE_SCOPE).await;
    let r = http
        .patch(format!("{base}{}", paths::CONFIG))
        .bearer_auth(&write)
        .header("content-type", "application/json-patch+json")
        .body(json!([{"op": "replace", "path": "/featureFlags", "value": ["userinfo", "introspection"]}]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .patch(format!("{base}{}/client-c", paths::CLIENTS))
        .bearer_auth(&clients)
        .header("content-type", "application/json-patch+json")
        .body(json!([{"op": "replace", "path": "/scopes", "value": ["openid"]}]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.shutdown().await;

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700, "data dir mode");
        assert_eq!(
            mode(&dir.join(revspec::server::store::DB_FILE)),
            0o600,
            "database mode"
        );
    }

    let server = spawn_with(options).await;
    let base = server.base_url.clone();
    // The flag is still disabled: revocation is refused, discovery does not publish it.
    let p = socket_mint(&http, &base).await;
    let r = socket_revoke(&http, &base, &p.access).await;
    assert_eq!(r.status(), 403, "the disabled flag came back enabled");
    let doc: Value = http
        .get(format!("{base}{}", paths::OIDC_DISCOVERY))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc.get("revocation_endpoint").is_none());
    // The removed revoke_any_token scope stayed removed.
    assert_eq!(server.state.client("client-c").unwrap().scopes, ["openid"]);
    let clients = admin_token(base.clone(), CLIENTS_WRITE_SCOPE).await;
    let v: Value = http
        .get(format!("{base}{}/client-c", paths::CLIENTS))
        .bearer_auth(&clients)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["scopes"], json!(["openid"]));
    server.shutdown().await;
}

/// Background jobs of faults and quirks end with the server: a pending resurrection is
/// finished before `shutdown` returns, and nothing holds the state afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_jobs_do_not_outlive_the_server() {
    for (fault, quirks) in [
        (Some(Fault::Resurrection), vec![]),
        (Some(Fault::LateOverRevocation), vec![]),
        (None, vec![Quirk::RevocationDelay]),
    ] {
        let server = spawn_with(ServeOptions {
            fault,
            quirks,
            ..Default::default()
        })
        .await;
        let http = http_client();
        let p = socket_mint(&http, &server.base_url).await;
        assert_eq!(
            socket_revoke(&http, &server.base_url, &p.access)
                .await
                .status(),
            200
        );
        assert!(server.state.jobs.spawned() >= 1, "{fault:?}: no job");
        let state = Arc::downgrade(&server.state);
        server.shutdown().await;
        assert_eq!(
            state.strong_count(),
            0,
            "{fault:?}: the state outlived shutdown"
        );
    }
}

/// `--list-faults` and `--list-quirks` print one line per fault (name, rules, description) and
/// per quirk (name, profile note or "-", description).
#[test]
fn listings_name_every_fault_and_quirk() {
    let faults = revspec::faults::listing();
    assert_eq!(
        faults.lines().count(),
        Fault::ALL.len() + Fault::CLUSTER.len()
    );
    for fault in Fault::ALL {
        let line = format!(
            "{}\t{}\t{}",
            fault.name(),
            fault.rules().join(","),
            fault.description()
        );
        assert!(faults.lines().any(|l| l == line), "{line}");
    }
    let quirks = revspec::faults::quirks::listing();
    assert_eq!(
        quirks.lines().count(),
        Quirk::ALL.len() + revspec::faults::quirks::ClusterQuirk::ALL.len()
    );
    for quirk in Quirk::ALL {
        let note = match quirk.profile_note() {
            "" => "-",
            note => note,
        };
        let line = format!("{}\t{note}\t{}", quirk.name(), quirk.description());
        assert!(quirks.lines().any(|l| l == line), "{line}");
    }
}

/// Limits that would make the server unusable are refused at start, naming the flag; the
/// smallest usable values are accepted.
#[test]
fn unusable_limits_are_refused_naming_the_flag() {
    let with = |limits: Limits| {
        AppState::new(
            &ServeOptions {
                limits,
                ..Default::default()
            },
            ISSUER.into(),
        )
        .map(|_| ())
    };
    let defaults = Limits::default();
    for (limits, flag) in [
        (
            Limits {
                max_tokens_per_grant: 1,
                ..defaults.clone()
            },
            "--max-tokens-per-grant",
        ),
        (
            Limits {
                max_connections: 0,
                ..defaults.clone()
            },
            "--max-connections",
        ),
        (
            Limits {
                header_read_timeout: Duration::ZERO,
                ..defaults.clone()
            },
            "--header-read-timeout",
        ),
        (
            Limits {
                max_patch_document_bytes: 1023,
                ..defaults.clone()
            },
            "--max-patch-bytes",
        ),
        (
            Limits {
                max_connections_per_peer: 0,
                ..defaults.clone()
            },
            "--max-connections-per-peer",
        ),
        (
            Limits {
                first_byte_timeout: Duration::ZERO,
                ..defaults.clone()
            },
            "--first-byte-timeout",
        ),
        (
            Limits {
                max_grants_per_client: 0,
                ..defaults.clone()
            },
            "--max-grants-per-client",
        ),
        (
            Limits {
                script_timeout: Duration::ZERO,
                ..defaults.clone()
            },
            "--script-timeout",
        ),
    ] {
        let err = with(limits).unwrap_err();
        assert!(err.contains(flag), "{flag}: {err}");
    }
    assert_eq!(
        with(Limits {
            max_tokens_per_grant: 2,
            max_connections: 1,
            max_patch_document_bytes: 1024,
            max_tokens_per_request: 1,
            max_connections_per_peer: 1,
            max_grants_per_client: 1,
            ..defaults
        }),
        Ok(())
    );
}

/// A configuration file that would make a client unusable or ambiguous is refused at start,
/// naming the key.
#[test]
fn bad_configuration_files_are_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[[clients]]\nid='a'\nauth_method='none'\n[[clients]]\nid='a'\nauth_method='none'\n",
            "clients[1].id",
        ),
        (
            "[[clients]]\nid='p'\nauth_method='none'\nsecret='s'\n",
            "clients[0].secret",
        ),
        (
            "[[clients]]\nid='c'\nauth_method='client_secret_post'\n",
            "clients[0].secret",
        ),
        (
            "[settings]\naccessTokenLifetime = 0\n",
            "accessTokenLifetime",
        ),
    ];
    for (i, (text, key)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let err = ServerConfig::from_file(&path).unwrap_err();
        assert!(err.contains(key), "{text}: {err}");
    }
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[[clients]]\nid='p'\nauth_method='none'\n[[clients]]\nid='c'\nauth_method='client_secret_basic'\nsecret='s'\n",
    )
    .unwrap();
    assert_eq!(ServerConfig::from_file(&good).unwrap().clients.len(), 2);
}
