//! `revspec check` against broken and hostile targets (see `tests/hostile/mod.rs`): one test
//! per way of breaking, each asserting the exit code, that the output names the URL and the
//! cause, that no control byte reaches the output, that run.json stays small, that nothing the
//! mode makes unobservable is reported PASS, and that the run ends well within a few request
//! timeouts (a generous bound on measured time, not a timing assertion on the server).

mod hostile_server;
use hostile_server as hostile;

use hostile::{Behaviour, Hostile, Mode, DISCOVERY, INTROSPECTION, METADATA, REVOKE, TOKEN};
use serde_json::Value;
use std::time::{Duration, Instant};

/// The request timeout of the test profiles.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// What a run showed.
struct Seen {
    code: Option<i32>,
    out: String,
    raw: Vec<u8>,
    elapsed: Duration,
    run_json: Option<(u64, Value)>,
    /// Where the run wrote its reports (kept until the test ends).
    reports: std::path::PathBuf,
    _dir: Option<tempfile::TempDir>,
}

fn profile(issuer: &str, extra: &str) -> String {
    format!(
        r#"name = "hostile"
issuer = "{issuer}"
{extra}
[clients.primary]
id = "client-a"
auth = "client_secret_basic"
secret = "secret-a"
[clients.other]
id = "client-b"
auth = "client_secret_post"
secret = "secret-b"
[clients.introspector]
id = "resource-server"
auth = "client_secret_basic"
secret = "resource-secret"
[user]
username = "alice"
password = "alice-pass"
[probes]
introspection_client = "introspector"
[capabilities]
plain_http_loopback = true
[timeouts]
connect = "1s"
request = "2s"
revocation_patience = "1s"
stay_active_settle = "300ms"
"#
    )
}

async fn check_with(profile_text: String, args: &[&str]) -> Seen {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = check_in(dir.path(), profile_text, args).await;
    seen._dir = Some(dir);
    seen
}

/// Writes the profile into `dir` (beside any script a test put there) and runs `check` on it
/// from another working directory, with the rfc7009 rules.
async fn check_in(dir: &std::path::Path, profile_text: String, args: &[&str]) -> Seen {
    check_rules(dir, profile_text, "rfc7009", args).await
}

/// [`check_in`] with a rule set.
async fn check_rules(
    dir: &std::path::Path,
    profile_text: String,
    rule_set: &str,
    args: &[&str],
) -> Seen {
    let path = dir.join("target.toml");
    std::fs::write(&path, profile_text).unwrap();
    let reports = dir.join("reports");
    let started = Instant::now();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_revspec"))
        .current_dir(std::env::temp_dir())
        .arg("check")
        .arg("--target")
        .arg(&path)
        .args(["--rules", rule_set, "--progress", "never", "--report-dir"])
        .arg(&reports)
        .args(args)
        .env_remove("REVSPEC_LOG")
        .env_remove("GITHUB_STEP_SUMMARY")
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let run_json = walk(&reports)
        .into_iter()
        .find(|p| p.ends_with("run.json"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (bytes.len() as u64, serde_json::from_slice(&bytes).unwrap())
        });
    let mut raw = output.stdout.clone();
    raw.extend_from_slice(&output.stderr);
    // For the record (`--nocapture`): how each mode ends and how long it took.
    eprintln!(
        "hostile run: exit {:?} after {:.1} s, run.json {} bytes",
        output.status.code(),
        elapsed.as_secs_f64(),
        run_json.as_ref().map_or(0, |(size, _)| *size)
    );
    Seen {
        code: output.status.code(),
        out: String::from_utf8_lossy(&raw).into_owned(),
        raw,
        elapsed,
        run_json,
        reports,
        _dir: None,
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

async fn run_mode(mode: Mode, args: &[&str]) -> (Hostile, Seen) {
    let server = hostile::start(mode).await;
    let seen = check_with(profile(&server.base_url, ""), args).await;
    (server, seen)
}

impl Seen {
    #[track_caller]
    fn exits(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "{}", self.out);
        self
    }

    #[track_caller]
    fn says(&self, parts: &[&str]) -> &Self {
        for p in parts {
            assert!(self.out.contains(p), "missing {p:?} in:\n{}", self.out);
        }
        self
    }

    /// No byte from a server drives the terminal: no control byte but newline and tab.
    #[track_caller]
    fn clean(&self) -> &Self {
        let bad = self
            .raw
            .iter()
            .position(|b| (b.is_ascii_control() && *b != b'\n' && *b != b'\t') || *b == 0x9b);
        assert!(bad.is_none(), "control byte at {bad:?} in:\n{}", self.out);
        // And no C1 control as UTF-8 (U+0080..U+009F).
        assert!(
            !self.out.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)),
            "{}",
            self.out
        );
        self
    }

    /// What was printed ends with a newline (no message is left hanging on the prompt line).
    #[track_caller]
    fn ends_its_lines(&self) -> &Self {
        assert!(
            self.out.ends_with('\n'),
            "the output does not end its line: {:?}",
            self.out
        );
        self
    }

    #[track_caller]
    fn within(&self, bound: Duration) -> &Self {
        assert!(
            self.elapsed < bound,
            "took {:?} (bound {bound:?})",
            self.elapsed
        );
        self
    }

    /// The run wrote its record, and the record stays small whatever the server sent.
    #[track_caller]
    fn small_record(&self) -> &Self {
        let Some((size, _)) = &self.run_json else {
            panic!("no run.json was written:\n{}", self.out);
        };
        assert!(*size < 1024 * 1024, "run.json is {size} bytes");
        self
    }

    fn rule_verdict(&self, rule: &str) -> Option<String> {
        let (_, json) = self.run_json.as_ref()?;
        json["rules"]
            .as_array()?
            .iter()
            .find(|r| r["rule"] == rule)
            .map(|r| r["verdict"].as_str().unwrap_or("").to_owned())
    }

    /// Each rule is in the record, with a verdict other than PASS.
    #[track_caller]
    fn not_passed(&self, rules: &[&str]) -> &Self {
        assert!(
            self.run_json.is_some(),
            "no run.json was written:\n{}",
            self.out
        );
        for rule in rules {
            let v = self.rule_verdict(rule);
            assert!(v.is_some(), "{rule} is not in the record:\n{}", self.out);
            assert!(v.as_deref() != Some("pass"), "{rule} passed:\n{}", self.out);
        }
        self
    }
}

fn bound(timeouts: u32) -> Duration {
    // Start-up, discovery and calibration, plus the request timeouts the mode costs.
    Duration::from_secs(15) + REQUEST_TIMEOUT * timeouts
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_that_is_not_json_is_named_with_both_urls() {
    let mode = Mode {
        paths: &[DISCOVERY, METADATA],
        behaviour: Behaviour::NotJson,
        after: 0,
    };
    let (s, seen) = run_mode(mode, &[]).await;
    let base = &s.base_url;
    seen.exits(3)
        .says(&[
            &format!("{base}{DISCOVERY}"),
            &format!("{base}{METADATA}"),
            "not JSON",
            "endpoints.revocation",
        ])
        .clean()
        .within(bound(0));
    s.stop().await;
}

/// A server with no metadata document at all (both 404), its endpoints given in the profile:
/// the rule about the auth methods metadata lists is not applicable (SKIP, saying so), never a
/// PASS as if an empty document had been read; the other rules still run.
#[tokio::test(flavor = "multi_thread")]
async fn no_metadata_document_at_all_skips_the_listed_methods_rule() {
    let server = hostile::start(Mode {
        paths: &[DISCOVERY, METADATA],
        behaviour: Behaviour::NotFound,
        after: 0,
    })
    .await;
    let base = server.base_url.clone();
    let endpoints = format!(
        "[endpoints]\nrevocation = \"{base}{REVOKE}\"\ntoken = \"{base}{TOKEN}\"\nintrospection = \"{base}{INTROSPECTION}\"\n"
    );
    let seen = check_with(profile(&base, &endpoints), &[]).await;
    let verdict = |rule: &str| seen.rule_verdict(rule).unwrap_or_default().to_uppercase();
    assert_eq!(verdict("rfc8414-auth-methods"), "SKIP", "{}", seen.out);
    assert!(seen.out.contains("publishes no metadata"), "{}", seen.out);
    // Not a run that stopped early: a rule that needs no metadata was observed.
    assert_eq!(verdict("rfc7009-2.2-idempotent"), "PASS", "{}", seen.out);
    seen.clean();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_with_wrong_types_names_the_field_and_type() {
    let mode = Mode {
        paths: &[DISCOVERY],
        behaviour: Behaviour::WrongTypes,
        after: 0,
    };
    let (s, seen) = run_mode(mode, &[]).await;
    // Issue 19, class 6: the message names the document it came from and ends its line.
    seen.exits(3)
        .says(&[&format!(
            "{}{DISCOVERY}: revocation_endpoint is a number (42), not a URL string",
            s.base_url
        )])
        .clean()
        .ends_its_lines()
        .within(bound(0));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_too_large_names_the_cap() {
    let mode = Mode {
        paths: &[DISCOVERY, METADATA],
        behaviour: Behaviour::Huge,
        after: 0,
    };
    let (s, seen) = run_mode(mode, &[]).await;
    seen.exits(3)
        .says(&[
            &format!("{}{DISCOVERY}", s.base_url),
            "larger than the 256 KiB",
        ])
        .clean()
        .within(bound(0));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_redirect_loop_is_named_and_not_followed() {
    let mode = Mode {
        paths: &[DISCOVERY, METADATA],
        behaviour: Behaviour::RedirectLoop,
        after: 0,
    };
    let (s, seen) = run_mode(mode, &[]).await;
    seen.exits(3)
        .says(&[&format!("redirecting to {DISCOVERY} (not followed)")])
        .clean()
        .within(bound(0));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_redirect_to_another_host_is_never_followed() {
    let mode = Mode {
        paths: &[DISCOVERY, METADATA],
        behaviour: Behaviour::RedirectOffHost,
        after: 0,
    };
    let (s, seen) = run_mode(mode, &[]).await;
    seen.exits(3)
        .says(&["redirecting to http://127.0.0.2:", "(not followed)"])
        .clean()
        .within(bound(0));
    assert_eq!(
        s.off_host_connections
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_endpoint_that_never_answers_ends_the_run_in_bounded_time() {
    let mode = Mode {
        paths: &[REVOKE],
        behaviour: Behaviour::Hang,
        after: 0,
    };
    let (s, seen) = run_mode(mode, &[]).await;
    seen.exits(3)
        .says(&[
            &format!("{}{REVOKE}", s.base_url),
            "no complete answer within 2 s",
        ])
        .clean()
        .within(bound(3));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_endpoint_that_stops_answering_mid_run_is_not_attempted_further() {
    // Calibration's revocations and a few scenarios get through, then it hangs.
    let mode = Mode {
        paths: &[REVOKE],
        behaviour: Behaviour::Hang,
        after: 12,
    };
    let (s, seen) = run_mode(mode, &[]).await;
    seen.exits(3)
        .says(&[
            "TARGET UNUSABLE",
            &format!(
                "{}{REVOKE} unusable (no complete answer within 2 s",
                s.base_url
            ),
            "not attempted",
        ])
        .clean()
        .small_record()
        .within(bound(6));
    let (_, json) = seen.run_json.as_ref().expect("a run record");
    let not_attempted = json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["verdict"] == "error" && c["reason"].as_str().unwrap_or("").contains("not attempted")
        })
        .count();
    assert!(
        not_attempted > 10,
        "{not_attempted} scenarios not attempted:\n{}",
        seen.out
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_endpoint_that_resets_is_named() {
    let mode = Mode {
        paths: &[REVOKE],
        behaviour: Behaviour::Reset,
        after: 0,
    };
    let (s, seen) = run_mode(mode, &[]).await;
    seen.exits(3)
        .says(&[&format!("{}{REVOKE}", s.base_url), "reset"])
        .clean()
        .within(bound(0));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_endpoint_that_closes_is_named() {
    let mode = Mode {
        paths: &[REVOKE],
        behaviour: Behaviour::Close,
        after: 0,
    };
    let (s, seen) = run_mode(mode, &[]).await;
    seen.exits(3)
        .says(&[&format!("{}{REVOKE}", s.base_url), "closed the connection"])
        .clean()
        .within(bound(0));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_revocation_endpoint_is_named() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let server = hostile::start(Mode {
        paths: &[],
        behaviour: Behaviour::Hang,
        after: 0,
    })
    .await;
    let url = format!("http://127.0.0.1:{port}/revoke");
    let seen = check_with(
        profile(
            &server.base_url,
            &format!("[endpoints]\nrevocation = \"{url}\"\n"),
        ),
        &[],
    )
    .await;
    seen.exits(3)
        .says(&[&url, "connection refused"])
        .clean()
        .within(bound(0));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn escape_sequences_from_the_server_never_reach_the_terminal() {
    let mode = Mode {
        paths: &[REVOKE],
        behaviour: Behaviour::Escapes,
        after: 0,
    };
    let (s, seen) = run_mode(mode, &["-v"]).await;
    seen.exits(1)
        .clean()
        .says(&["\\x1b[2J", "\\x00", "\\u{202e}reversed"])
        .small_record();
    // The fake verdict line is shown as part of the body, never on a line of its own.
    assert!(
        !seen
            .out
            .lines()
            .any(|l| l.starts_with("PASS     MUST   every rule")),
        "{}",
        seen.out
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_body_over_the_cap_is_an_error_naming_the_cap_not_a_failure() {
    let mode = Mode {
        paths: &[REVOKE],
        behaviour: Behaviour::HugeError,
        after: 0,
    };
    let (s, seen) = run_mode(mode, &[]).await;
    seen.exits(1)
        .clean()
        .small_record()
        .says(&["larger than the 256 KiB"]);
    assert_eq!(
        seen.rule_verdict("rfc7009-2.2.1-error-format").as_deref(),
        Some("error"),
        "{}",
        seen.out
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_body_is_cut_at_the_cap_and_judged_by_nothing() {
    let mode = Mode {
        paths: &[REVOKE],
        behaviour: Behaviour::Endless,
        after: 0,
    };
    let (s, seen) = run_mode(mode, &[]).await;
    seen.exits(1)
        .clean()
        .small_record()
        .says(&["larger than the 256 KiB"])
        .within(bound(2));
    seen.not_passed(&[
        "rfc7009-2-refresh-revocable",
        "rfc7009-2.2.1-error-format",
        "rfc7009-2.2-invalid-token-200",
    ]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_endpoint_that_answers_500_passes_no_rule_that_names_a_status() {
    let mode = Mode {
        paths: &[REVOKE],
        behaviour: Behaviour::ServerError,
        after: 0,
    };
    let (s, seen) = run_mode(mode, &[]).await;
    seen.exits(1).clean().says(&["HTTP 500"]);
    seen.not_passed(&[
        "rfc7009-2.1-own-tokens-only",
        "rfc7009-2.1-post-only",
        "rfc6749-2.3.1-no-query-credentials",
        "rfc7009-2.2-invalid-token-200",
    ]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_from_introspection_refuses_the_probe_naming_the_url() {
    let mode = Mode {
        paths: &[INTROSPECTION],
        behaviour: Behaviour::Garbage,
        after: 0,
    };
    let (s, seen) = run_mode(mode, &["-v"]).await;
    seen.exits(3)
        .says(&[&format!("{}{INTROSPECTION}", s.base_url), "not JSON"])
        .clean()
        .within(bound(0));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn introspection_without_active_refuses_the_probe_naming_the_url() {
    let mode = Mode {
        paths: &[INTROSPECTION],
        behaviour: Behaviour::MissingMember,
        after: 0,
    };
    let (s, seen) = run_mode(mode, &[]).await;
    seen.exits(3)
        .says(&[
            &format!("{}{INTROSPECTION}", s.base_url),
            "no `active` member",
        ])
        .clean();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_answer_without_access_token_names_the_url() {
    let mode = Mode {
        paths: &[TOKEN],
        behaviour: Behaviour::MissingMember,
        after: 0,
    };
    let (s, seen) = run_mode(mode, &[]).await;
    seen.exits(3)
        .says(&[&format!("{}{TOKEN}", s.base_url), "has no access_token"])
        .clean();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_endpoint_that_hangs_ends_the_run_in_bounded_time() {
    let mode = Mode {
        paths: &[TOKEN],
        behaviour: Behaviour::Hang,
        after: 0,
    };
    let (s, seen) = run_mode(mode, &[]).await;
    seen.exits(3)
        .says(&[
            &format!("{}{TOKEN}", s.base_url),
            "no complete answer within 2 s",
        ])
        .clean()
        .within(bound(2));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn issuers_without_an_http_scheme_are_profile_errors() {
    for (issuer, shown) in [
        ("localhost:8080", "its scheme reads as \\\"localhost\\\""),
        ("ftp://127.0.0.1/", "its scheme reads as \\\"ftp\\\""),
    ] {
        let seen = check_with(profile(issuer, ""), &[]).await;
        seen.exits(2).says(&["key `issuer`", "http://HOST"]).clean();
        assert!(
            seen.out.contains(shown.replace('\\', "").as_str()),
            "{}",
            seen.out
        );
    }
}

/// The token command is found beside the profile, runs there, gets the issuer, the client,
/// its role and the name of its secret's variable, and its stderr is part of any error.
#[tokio::test(flavor = "multi_thread")]
async fn the_token_command_is_resolved_beside_the_profile_and_its_stderr_is_shown() {
    let server = hostile::start(Mode {
        paths: &[],
        behaviour: Behaviour::Hang,
        after: 0,
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("failing.sh"),
        "#!/bin/sh\necho \"no token for $REVSPEC_CLIENT_ID ($REVSPEC_CLIENT_ROLE) at $REVSPEC_ISSUER, secret in $REVSPEC_CLIENT_SECRET_ENV\" >&2\nprintf '\\033[2J' >&2\nexit 7\n",
    )
    .unwrap();
    make_executable(&dir.path().join("failing.sh"));
    let text = profile(&server.base_url, "")
        .replace(
            "secret = \"secret-a\"",
            "secret_env = \"REVSPEC_TEST_A\"\nsecret = \"secret-a\"",
        )
        .replace(
            "[probes]",
            "[tokens]\nsource = \"command\"\ncommand = [\"./failing.sh\"]\n[probes]",
        );
    let seen = check_in(dir.path(), text, &[]).await;
    seen.exits(3)
        .says(&[
            &format!(
                "no token for client-a (primary) at {}, secret in REVSPEC_TEST_A",
                server.base_url
            ),
            "exited with exit status: 7",
            "\\x1b[2J",
        ])
        .clean();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_command_timeout_comes_from_the_profile() {
    let server = hostile::start(Mode {
        paths: &[],
        behaviour: Behaviour::Hang,
        after: 0,
    })
    .await;
    let text = profile(&server.base_url, "")
        .replace(
            "[probes]",
            "[tokens]\nsource = \"command\"\ncommand = [\"./slow.sh\"]\n[probes]",
        )
        .replace(
            "stay_active_settle = \"300ms\"",
            "stay_active_settle = \"300ms\"\ntoken_command = \"1s\"",
        );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("slow.sh"), "#!/bin/sh\nsleep 30\n").unwrap();
    make_executable(&dir.path().join("slow.sh"));
    let seen = check_in(dir.path(), text, &[]).await;
    seen.exits(3)
        .says(&["took over 1 s (timeouts.token_command)"])
        .within(bound(0));
    server.stop().await;
}

fn make_executable(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `revspec load` against a revocation endpoint that resets or hangs: the run fails (exit 3,
/// the target is unusable) and ends near its run time plus one request timeout.
async fn load_against(behaviour: Behaviour) -> (Hostile, std::process::Output, Duration) {
    let server = hostile::start(Mode {
        paths: &[REVOKE],
        behaviour,
        after: 0,
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("target.toml");
    std::fs::write(&path, profile(&server.base_url, "")).unwrap();
    let started = Instant::now();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_revspec"))
        .args([
            "load",
            "--profile",
            "loadtests/revoke-unknown.toml",
            "--users",
            "2",
            "--run-time",
            "3s",
            "--target",
        ])
        .arg(&path)
        .arg("--report-dir")
        .arg(dir.path().join("reports"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    (server, out, started.elapsed())
}

#[tokio::test(flavor = "multi_thread")]
async fn load_against_a_resetting_endpoint_fails() {
    let (server, out, _) = load_against(Behaviour::Reset).await;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("target unusable") && text.contains(REVOKE),
        "{text}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn load_against_a_hanging_endpoint_fails_near_its_run_time() {
    let (server, out, elapsed) = load_against(Behaviour::Hang).await;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("timed out"), "{text}");
    // Run time 3 s plus one 2 s request timeout, with room for start-up and the reports.
    assert!(elapsed < Duration::from_secs(15), "took {elapsed:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn load_counts_a_200_cut_off_by_a_reset_as_an_error() {
    let (server, out, _) = load_against(Behaviour::Truncated).await;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("revocations failed at the transport level"),
        "{text}"
    );
    assert!(!text.contains(" 0 errors"), "{text}");
    server.stop().await;
}

/// Issue 19, class 4: a confirmation whose observations are server errors, or answers over
/// the body cap, stops at once. A revocation endpoint that answers so to everything, checked
/// with the Janssen rules through the Config API: every settings group is an ERROR naming the
/// cause, and the run ends long before one `settings.settle` (here 60 s) per group would
/// (over 180 s: it took 346 s and 194 s before).
async fn janssen_settings_through_a_broken_endpoint(behaviour: Behaviour, named: &str) {
    let s = hostile::start(Mode {
        paths: &[REVOKE],
        behaviour,
        after: 0,
    })
    .await;
    // With a revoke-any client every setting has a behaviour to observe, so nothing but the
    // broken answers decides how long the confirmations take.
    let janssen = "[settings]\nadapter = \"janssen-config-api\"\nsettle = \"60s\"\n\n[clients.admin]\nid = \"config-admin\"\nauth = \"client_secret_basic\"\nsecret = \"config-secret\"\n\n[clients.revoke-any]\nid = \"client-c\"\nauth = \"client_secret_basic\"\nsecret = \"secret-c\"\n";
    let dir = tempfile::tempdir().unwrap();
    let seen = check_rules(
        dir.path(),
        profile(&s.base_url, "").replace("[capabilities]", &format!("{janssen}\n[capabilities]")),
        "janssen",
        &[],
    )
    .await;
    seen.exits(1)
        .clean()
        .small_record()
        .within(Duration::from_secs(90));
    let (_, json) = seen.run_json.as_ref().expect("a run record");
    let settings = json["settings"].as_array().unwrap();
    assert!(
        settings
            .iter()
            .any(|r| r["error"].as_str().unwrap_or("").contains(named)),
        "{named}: {settings:?}"
    );
    assert_eq!(
        seen.rule_verdict("jans-all-enabled").as_deref(),
        Some("error"),
        "{}",
        seen.out
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_confirmed_through_a_500_endpoint_stop_at_once() {
    janssen_settings_through_a_broken_endpoint(
        Behaviour::ServerError,
        "a server error, not a setting still being applied",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_confirmed_through_oversized_answers_stop_at_once() {
    janssen_settings_through_a_broken_endpoint(Behaviour::HugeError, "larger than the 256 KiB")
        .await;
}

/// A discovery document like the reference server's, with `{base}`/`{off}` placeholders the
/// hostile server fills, and `EXTRA` members spliced in.
macro_rules! discovery_json {
    ($($extra:literal),*) => {
        concat!(
            r#"{"issuer":"{base}","revocation_endpoint":"{base}/jans-auth/restv1/revoke","introspection_endpoint":"{base}/jans-auth/restv1/introspection","userinfo_endpoint":"{base}/jans-auth/restv1/userinfo","grant_types_supported":["password","client_credentials","refresh_token"]"#,
            $(",", $extra,)*
            "}"
        )
    };
}

/// Issue 23 H2: discovery points the token endpoint at another origin. Without the profile allowing it,
/// no credential goes there: the run stops before any request to it, naming the key that
/// would allow it; the other origin sees no connection.
#[tokio::test(flavor = "multi_thread")]
async fn credentials_never_go_to_an_origin_the_profile_did_not_name() {
    let s = hostile::start(Mode {
        paths: &[DISCOVERY],
        behaviour: Behaviour::Json(discovery_json!(r#""token_endpoint":"{off}/steal""#)),
        after: 0,
    })
    .await;
    let seen = check_with(profile(&s.base_url, ""), &[]).await;
    seen.exits(2)
        .says(&[
            "publishes token_endpoint on another origin",
            "trust.allowed_origins",
        ])
        .clean()
        .within(bound(0));
    assert_eq!(
        s.off_host_connections
            .load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the other origin was contacted"
    );
    s.stop().await;
}

/// Issue 23 H2: a document that names another issuer is not this server's metadata.
#[tokio::test(flavor = "multi_thread")]
async fn a_document_naming_another_issuer_is_refused() {
    let s = hostile::start(Mode {
        paths: &[DISCOVERY],
        behaviour: Behaviour::Json(
            r#"{"issuer":"https://login.evil.example","revocation_endpoint":"{base}/jans-auth/restv1/revoke","token_endpoint":"{base}/jans-auth/restv1/token","introspection_endpoint":"{base}/jans-auth/restv1/introspection"}"#,
        ),
        after: 0,
    })
    .await;
    let seen = check_with(profile(&s.base_url, ""), &[]).await;
    seen.exits(2)
        .says(&[
            "names the issuer \"https://login.evil.example\"",
            "RFC 8414 3.3",
        ])
        .clean();
    s.stop().await;
}

/// Issue 23 H3: a server that echoes the Authorization header (in another header, in its error
/// description and in nested JSON) gets no credential into run.json, report.html, junit.xml
/// or the verbose console, in any encoding.
#[tokio::test(flavor = "multi_thread")]
async fn echoed_credentials_never_reach_a_report() {
    use base64::Engine as _;
    let (s, seen) = run_mode(
        Mode {
            paths: &[REVOKE],
            behaviour: Behaviour::EchoAuthorization,
            after: 0,
        },
        &["-v"],
    )
    .await;
    seen.clean();
    let basic = base64::engine::general_purpose::STANDARD.encode("client-a:secret-a");
    for line in seen.out.lines() {
        assert!(
            !line.contains(&basic) && !line.contains("secret-a\"") && !line.contains(":secret-a"),
            "the console shows a credential: {line}"
        );
    }
    let reports = walk(&seen.reports);
    assert!(
        reports.iter().any(|p| p.ends_with("report.html")),
        "{reports:?}"
    );
    for file in reports {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        for secret in [basic.as_str(), "secret-a", "secret-b"] {
            // The secret itself, not a word it begins ("wrong-secret-accepted").
            let found = text.match_indices(secret).map(|(i, _)| i).find(|i| {
                !text[i + secret.len()..]
                    .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-')
            });
            if let Some(i) = found {
                panic!(
                    "{} holds {secret}: ...{:?}...",
                    file.display(),
                    &text[i.saturating_sub(200)..(i + 60).min(text.len())]
                );
            }
        }
    }
    s.stop().await;
}

/// Issue 23 H4: a 100 KB header on every answer does not bloat the record: header values are cut and
/// marked.
#[tokio::test(flavor = "multi_thread")]
async fn huge_headers_are_cut_in_the_record() {
    let (s, seen) = run_mode(
        Mode {
            paths: &[REVOKE],
            behaviour: Behaviour::HugeHeader,
            after: 0,
        },
        &[],
    )
    .await;
    seen.exits(0).clean().small_record();
    let (_, json) = seen.run_json.as_ref().unwrap();
    let longest = json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["exchanges"].as_array().unwrap().iter())
        .flat_map(|x| x["response_headers"].as_array().unwrap().iter())
        .map(|h| h[1].as_str().unwrap_or("").len())
        .max()
        .unwrap_or(0);
    assert!(longest < 1200, "a header value of {longest} bytes was kept");
    assert!(
        longest > 1000,
        "the padding header was not seen at all ({longest})"
    );
    s.stop().await;
}

/// Issue 23 H5: a target that answers every request slowly cannot stretch a run past its deadline: the
/// rest is ERROR ("not attempted"), exit 3, naming the deadline.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_ends_at_its_deadline() {
    let (s, seen) = run_mode(
        Mode {
            paths: &[REVOKE],
            behaviour: Behaviour::Slow(700),
            after: 0,
        },
        &["--max-run-time", "6s"],
    )
    .await;
    seen.exits(3)
        .says(&["the run's deadline passed (6s allowed"])
        .clean()
        .small_record()
        .within(Duration::from_secs(40));
    s.stop().await;
}

/// Issue 23 H6: what discovery publishes cannot inject a link, an image or emphasis into summary.md,
/// and a character XML forbids cannot make junit.xml ill-formed.
#[tokio::test(flavor = "multi_thread")]
async fn reports_stay_well_formed_whatever_the_server_sends() {
    // The same document answers discovery and every revocation (200, nothing revoked).
    let s = hostile::start(Mode {
        paths: &[DISCOVERY, REVOKE],
        behaviour: Behaviour::Json(
            r#"{"issuer":"{base}","active":false,"note":"\uffff\ufffe","revocation_endpoint":"{base}/jans-auth/restv1/revoke?)**Action_needed:**_[re-run](https://evil.example/login)_![](https://evil.example/p.png)_(","token_endpoint":"{base}/jans-auth/restv1/token","introspection_endpoint":"{base}/jans-auth/restv1/introspection"}"#,
        ),
        after: 0,
    })
    .await;
    let seen = check_with(
        profile(&s.base_url, ""),
        &[
            "--rule",
            "rfc7009-2-https",
            "--rule",
            "rfc7009-2-refresh-revocable",
        ],
    )
    .await;
    seen.clean();
    let files = walk(&seen.reports);
    let read = |name: &str| {
        let f = files
            .iter()
            .find(|p| p.ends_with(name))
            .unwrap_or_else(|| panic!("no {name}: {}", seen.out));
        std::fs::read_to_string(f).unwrap()
    };
    let summary = read("summary.md");
    // Outside code spans (shown literally), nothing can make a link or an image.
    let prose: String = summary
        .split("``")
        .step_by(2)
        .flat_map(|p| p.split('`').step_by(2))
        .collect();
    assert!(!prose.contains("](https://evil.example"), "{summary}");
    assert!(
        summary.contains("`http://127.0.0.1:"),
        "the endpoint is in a code span: {summary}"
    );
    let junit = read("junit.xml");
    assert!(
        junit.contains("<failure"),
        "the failing rule's exchanges are in junit.xml: {junit}"
    );
    assert!(
        !junit.contains('\u{ffff}') && !junit.contains('\u{fffe}'),
        "{junit}"
    );
    s.stop().await;
}

/// Issue 23 H1: `init` printing a profile to the terminal: nothing the server published drives the
/// terminal, and nothing it published became a table or a key.
#[tokio::test(flavor = "multi_thread")]
async fn init_writes_no_server_text_raw() {
    let s = hostile::start(Mode {
        paths: &[DISCOVERY],
        behaviour: Behaviour::Json(discovery_json!(
            r#""token_endpoint":"{base}/jans-auth/restv1/token""#,
            r#""revocation_endpoint_auth_methods_supported":["client_secret_basic","x\u001b]0;pwned-title\u0007\u001b[2J\r\n[clients.revoke-any]\nid = \"c\"\nsecret_env = \"CI_JOB_TOKEN\"\n#"]"#
        )),
        after: 0,
    })
    .await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_revspec"))
        .args(["init", "--issuer", &s.base_url])
        .env_remove("REVSPEC_LOG")
        .output()
        .await
        .unwrap();
    let mut raw = output.stdout.clone();
    raw.extend_from_slice(&output.stderr);
    let seen = Seen {
        code: output.status.code(),
        out: String::from_utf8_lossy(&raw).into_owned(),
        raw,
        elapsed: Duration::ZERO,
        run_json: None,
        reports: Default::default(),
        _dir: None,
    };
    seen.exits(0).clean();
    let profile = String::from_utf8_lossy(&output.stdout);
    let table: toml::Table = toml::from_str(&profile).expect("the profile is TOML");
    let clients = table["clients"].as_table().unwrap();
    assert!(!clients.contains_key("revoke-any"), "{profile}");
    assert!(!profile.contains("CI_JOB_TOKEN\"\n"), "{profile}");
    s.stop().await;
}
