//! The `revspec` binary as a user meets it: exit codes, and errors that name what was wrong.

mod support;

use std::process::{Command, Output};
use support::cli::text;

/// `revspec ARGS`; a check writes its reports into a temporary folder.
fn revspec(args: &[&str]) -> Output {
    let reports = tempfile::tempdir().unwrap();
    let mut all: Vec<&str> = args.to_vec();
    if args[0] == "check" {
        all.extend(["--report-dir", reports.path().to_str().unwrap()]);
    }
    support::cli::run(&all, &[])
}

#[test]
fn check_against_the_built_in_server_is_conformant() {
    let o = revspec(&["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("0 failed"), "{}", text(&o));
}

#[test]
fn a_fault_fails_the_run_with_its_rule() {
    let o = revspec(&["check", "--fault", "hint-strict"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("FAIL     MUST   rfc7009-2.1-hint-fallback"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_profile_error_names_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "name = \"x\"\nissuer = \"http://127.0.0.1:9\"\ncolour = \"red\"\n",
    )
    .unwrap();
    let o = revspec(&["check", "--target", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("bad.toml") && text(&o).contains("colour"),
        "{}",
        text(&o)
    );
    let o = revspec(&["check", "--target", "/nonexistent/profile.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("/nonexistent/profile.toml"),
        "{}",
        text(&o)
    );
}

#[test]
fn an_unreachable_target_names_the_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    let profile = std::fs::read_to_string("targets/reference.toml")
        .unwrap()
        .replace("http://127.0.0.1:8080", &format!("http://127.0.0.1:{port}"));
    std::fs::write(&path, profile).unwrap();
    let o = revspec(&["check", "--target", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("127.0.0.1:{port}")),
        "{}",
        text(&o)
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["check", "--rule", "no-such-rule"][..],
        &["check", "--profile", "oidc"][..],
        &["check", "--fault", "no-such-fault"][..],
        &["load", "--profile", "loadtests/none.toml"][..],
    ] {
        let o = revspec(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    }
}

#[test]
fn list_faults_prints_every_fault_with_its_rules() {
    let o = revspec(&["serve", "--list-faults"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    for fault in revspec::faults::Fault::ALL {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{}\t", fault.name())))
            .unwrap();
        assert!(line.contains(fault.rules()[0]), "{line}");
    }
}

#[test]
fn list_prints_every_rule() {
    let o = revspec(&["list"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    for rule in revspec::catalogue::rules() {
        assert!(out.contains(rule.id.as_str()), "{} missing", rule.id);
    }
    // The rfc7009 profile lists its own rules (Janssen's bearer client authentication and
    // forwarded certificates among them), never the janssen profile's.
    let o = revspec(&["list", "--profile", "rfc7009"]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let listed: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    for rule in revspec::catalogue::rules() {
        let rfc7009 = rule.rule_set == revspec::catalogue::RuleSet::Rfc7009;
        assert_eq!(
            listed.contains(&rule.id.as_str()),
            rfc7009,
            "{} ({:?})",
            rule.id,
            rule.rule_set
        );
    }
}

/// SIGTERM (what systemd, Docker and Kubernetes send) stops `revspec serve` cleanly, as Ctrl-C
/// does: exit 0 with its data directory closed, not killed by the signal.
#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_cleanly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Command::new(env!("CARGO_BIN_EXE_revspec"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    // The banner is printed once the socket is bound; the last line says how to stop it.
    let stop_line = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.starts_with("Press Ctrl-C"));
    assert!(stop_line.is_some(), "the server never finished starting");
    let kill = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = server.kill();
            panic!("the server did not stop within 20 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{status:?}");
}

/// Issue 20: `revspec serve --tls self-signed` needs nothing installed: it writes a throw-away
/// CA and the server's key beside --data-dir (keys 0600 in a 0700 folder) and prints the CA's
/// path; a profile trusting only that CA (`[tls] ca_file`) with a private_key_jwt primary and a
/// tls_client_auth other client (targets/reference-tls.toml) checks the https, assertion and
/// mTLS rules through the binary, and they pass.
#[cfg(unix)]
#[test]
fn serve_tls_self_signed_is_checked_over_https_with_its_ca() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::fs::PermissionsExt;
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Command::new(env!("CARGO_BIN_EXE_revspec"))
        .args(["serve", "--tls", "self-signed", "--bind", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut printed = Vec::new();
    for line in BufReader::new(server.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        let done = line.starts_with("Press Ctrl-C");
        printed.push(line);
        if done {
            break;
        }
    }
    let printed = printed.join("\n");
    let ca = data.join("tls").join("ca.pem");
    let issuer = printed
        .split_whitespace()
        .find(|w| w.starts_with("https://127.0.0.1:"))
        .map(|w| w.trim_end_matches('/').to_owned());
    let outcome = std::panic::catch_unwind(|| {
        assert!(
            printed.contains(&format!("throw-away CA {}", ca.display())),
            "{printed}"
        );
        assert!(printed.contains("mtls listener  https://"), "{printed}");
        let folder = std::fs::metadata(data.join("tls")).unwrap().permissions();
        assert_eq!(folder.mode() & 0o777, 0o700);
        for entry in std::fs::read_dir(data.join("tls")).unwrap() {
            let path = entry.unwrap().path();
            if path.to_string_lossy().contains("key") {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{}", path.display());
            }
        }
        let issuer = issuer.clone().expect("the banner names the https URL");
        let keys = concat!(env!("CARGO_MANIFEST_DIR"), "/targets/keys/");
        let profile = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/targets/reference-tls.toml"
        ))
        .unwrap()
        .replace("https://127.0.0.1:8443", &issuer)
        .replace("ca_file_env = \"REVSPEC_CA_FILE\"\n", "")
        .replace("../target/revspec-tls/tls/ca.pem", ca.to_str().unwrap())
        .replace("\"keys/", &format!("\"{keys}"));
        let path = dir.path().join("tls.toml");
        std::fs::write(&path, profile).unwrap();
        let o = revspec(&[
            "check",
            "--target",
            path.to_str().unwrap(),
            "--rule",
            "rfc7009-2-https",
            "--rule",
            "rfc7523-assertion-revokes",
            "--rule",
            "rfc8705-2-mtls-revokes",
        ]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(0), "{out}");
        for rule in [
            "rfc7009-2-https",
            "rfc7523-assertion-revokes",
            "rfc8705-2-mtls-revokes",
        ] {
            assert!(
                out.lines()
                    .any(|l| l.starts_with("PASS") && l.contains(rule)),
                "{rule} did not pass:\n{out}"
            );
        }
    });
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e);
    }
}
