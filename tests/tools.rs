//! The tools around a check, as a user meets them through the binary: `init` then `check` on
//! the reference server, `doctor` on a good and a deliberately wrong profile, `explain`,
//! `report matrix` / `report html` and their errors, and what `check` writes beside run.json
//! (report.html, the GitHub job summary). Each test starts its own reference server on
//! 127.0.0.1 port 0 and stops it.

mod support;

use revspec::server::{spawn, RunningServer};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};
use support::cli::text;

async fn server() -> RunningServer {
    spawn(
        "127.0.0.1:0".parse().unwrap(),
        &revspec::reference::options(None),
    )
    .await
    .expect("the reference server starts")
}

async fn revspec(args: &[&str], env: &[(&str, &str)]) -> Output {
    support::cli::run_async(args, env).await
}

/// The reference server's demo secrets, under the variables `init --name reference-init` names.
const INIT_ENV: &[(&str, &str)] = &[
    ("REFERENCE_INIT_PRIMARY_SECRET", "secret-a"),
    ("REFERENCE_INIT_OTHER_SECRET", "secret-b"),
    ("REFERENCE_INIT_USER_PASSWORD", "alice-pass"),
    ("REFERENCE_INIT_CONFIG_API_SECRET", "config-secret"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_writes_a_profile_that_doctor_passes_and_check_runs() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("reference-init.toml");
    let o = revspec(
        &[
            "init",
            "--issuer",
            &server.base_url,
            "--name",
            "reference-init",
            "--out",
            file.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("could not determine") && text(&o).contains("client ids"),
        "{}",
        text(&o)
    );
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(
        written.contains("adapter = \"janssen-config-api\""),
        "{written}"
    );
    for secret in ["secret-a", "secret-b", "alice-pass", "config-secret"] {
        assert!(!written.contains(secret), "a secret was written: {secret}");
    }
    // What a user does next: fill in the ids the server's discovery cannot tell.
    let filled = written
        .replace("REPLACE-primary-client-id", "client-a")
        .replace("REPLACE-other-client-id", "client-b")
        .replace("REPLACE-test-user", "alice")
        .replace("REPLACE-config-api-client-id", "config-admin");
    std::fs::write(&file, filled).unwrap();
    let profile = file.to_str().unwrap();

    let o = revspec(&["doctor", "--target", profile], INIT_ENV).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("problems\n  none"), "{}", text(&o));
    assert!(
        text(&o).contains("read and change: read allowAllValueForRevokeEndpoint=false"),
        "{}",
        text(&o)
    );
    // No revoke-any client: doctor says which rules that skips.
    assert!(
        text(&o).contains("jans-cross-client-allowed") && text(&o).contains("[clients.revoke-any]"),
        "{}",
        text(&o)
    );

    let reports = dir.path().join("reports");
    let o = revspec(
        &[
            "check",
            "--target",
            profile,
            "--rule",
            "rfc7009-2-refresh-revocable",
            "--rule",
            "jans-all-enabled",
            "--report-dir",
            reports.to_str().unwrap(),
        ],
        INIT_ENV,
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("PASS     MUST   jans-all-enabled"),
        "{}",
        text(&o)
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_names_each_problem_of_a_wrong_profile() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let reference = std::fs::read_to_string("targets/reference.toml")
        .unwrap()
        .replace("http://127.0.0.1:8080", &server.base_url);
    let good = dir.path().join("good.toml");
    std::fs::write(&good, &reference).unwrap();
    let o = revspec(&["doctor", "--target", good.to_str().unwrap()], &[]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("problems\n  none"), "{}", text(&o));

    // Two mistakes: the other client's secret, and the Config API admin's secret.
    let wrong = dir.path().join("wrong.toml");
    std::fs::write(
        &wrong,
        reference
            .replace("secret = \"secret-b\"", "secret = \"not-b\"")
            .replace("secret = \"config-secret\"", "secret = \"not-config\""),
    )
    .unwrap();
    let o = revspec(&["doctor", "--target", wrong.to_str().unwrap()], &[]).await;
    let out = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(
        out.contains("1. minting for the other client (client-b) failed"),
        "{out}"
    );
    assert!(out.contains("fix: check [clients.other]"), "{out}");
    // Each wrong secret also fails that client's authentication at the revocation endpoint.
    assert!(
        out.contains(
            "2. the other client (client-b) cannot authenticate at the revocation endpoint"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "3. the admin client (config-admin) cannot authenticate at the revocation endpoint"
        ),
        "{out}"
    );
    assert!(
        out.contains("4. the settings adapter cannot read or change settings"),
        "{out}"
    );
    assert!(out.contains("fix: check [clients.admin]"), "{out}");

    // A secret's variable that is not set is the profile's problem, named by key.
    let unset = dir.path().join("unset.toml");
    std::fs::write(
        &unset,
        reference.replace(
            "secret_env = \"REVSPEC_CLIENT_B_SECRET\"\nsecret = \"secret-b\"",
            "secret_env = \"REVSPEC_TEST_UNSET_SECRET\"",
        ),
    )
    .unwrap();
    let o = revspec(&["doctor", "--target", unset.to_str().unwrap()], &[]).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("clients.other.secret_env")
            && text(&o).contains("REVSPEC_TEST_UNSET_SECRET"),
        "{}",
        text(&o)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn init_names_an_unreachable_issuer_within_a_bounded_time() {
    // A port nothing listens on: refused at once.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let o = revspec(&["init", "--issuer", &url], &[]).await;
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains(&url), "{}", text(&o));
    // A listener that never answers: the request timeout bounds the wait.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let started = Instant::now();
    let o = revspec(&["init", "--issuer", &url], &[]).await;
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains(&url), "{}", text(&o));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    drop(silent);
    let o = revspec(&["init", "--issuer", "not a url"], &[]).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[tokio::test]
async fn explain_prints_the_rule_and_refuses_unknown_ids() {
    let o = revspec(&["explain", "rfc7009-2.2-unknown-hint-ignored"], &[]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    for part in [
        "rfc7009-2.2-unknown-hint-ignored  [MUST · profile rfc7009]",
        "Source: RFC 7009, section 2.2",
        "An invalid token type hint value is ignored",
        "features/rfc7009_revocation.feature:",
        "fault unknown-hint-rejected",
        "fix: ",
    ] {
        assert!(out.contains(part), "{part}: {out}");
    }
    let o = revspec(&["explain", "unknown-hint"], &[]).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("did you mean rfc7009-2.2-unknown-hint-ignored"),
        "{}",
        text(&o)
    );
}

#[tokio::test]
async fn report_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope/run.json");
    let o = revspec(
        &[
            "report",
            "matrix",
            "tests/golden/runs/a/run.json",
            missing.to_str().unwrap(),
            "--out",
            dir.path().to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains(missing.to_str().unwrap()), "{}", text(&o));
    let not_a_run = dir.path().join("other.json");
    std::fs::write(&not_a_run, r#"{"profile": "x"}"#).unwrap();
    let o = revspec(&["report", "html", not_a_run.to_str().unwrap()], &[]).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("other.json") && text(&o).contains("not a revspec run record"),
        "{}",
        text(&o)
    );
    let o = revspec(
        &[
            "report",
            "matrix",
            "tests/golden/runs/a",
            "tests/golden/runs/b",
            "--out",
            dir.path().to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(dir.path().join("matrix.html").exists() && dir.path().join("matrix.md").exists());
    assert!(
        text(&o).contains("the runs differ on 3 of them"),
        "{}",
        text(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_writes_report_html_and_the_github_job_summary() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("step-summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let reports = dir.path().join("reports");
    let o = revspec(
        &[
            "check",
            "--rule",
            "rfc7009-2.2-idempotent",
            "--report-dir",
            reports.to_str().unwrap(),
        ],
        &[("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let run_dir = std::fs::read_dir(reports.join("reference"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let html = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(html.contains(r#"id="rule-rfc7009-2.2-idempotent" data-verdict="PASS""#));
    // report.html is made from run.json alone: rebuilding it from the file gives the same page.
    let again = dir.path().join("again.html");
    let o = revspec(
        &[
            "report",
            "html",
            run_dir.join("run.json").to_str().unwrap(),
            "--out",
            again.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(again).unwrap(), html);
    let appended = std::fs::read_to_string(&summary).unwrap();
    assert!(
        appended.starts_with("earlier step\n# revspec check: reference"),
        "{appended}"
    );
    assert!(
        appended.contains("| `rfc7009-2.2-idempotent` | MUST | PASS |"),
        "{appended}"
    );
    assert!(Path::new(&run_dir.join("summary.md")).exists());
}
