//! Golden tests of what a person reads on the console: `check`, `doctor` and `explain`, run
//! through the binary against the reference server on 127.0.0.1, compared with
//! `tests/golden/cli/*.txt` after the normalisation the report goldens use (timestamps), plus
//! loopback ports, measured durations and the report directory (`support::golden`).
//!
//! To accept a deliberate change: `REVSPEC_UPDATE_GOLDEN=1 cargo test --test console`, then
//! review the diff of tests/golden/cli/.

mod support;

use support::cli::{run_async, text};
use support::golden::{assert_golden, normalize_console};

async fn server() -> revspec::server::RunningServer {
    revspec::server::spawn(
        "127.0.0.1:0".parse().unwrap(),
        &revspec::reference::options(None),
    )
    .await
    .expect("the reference server starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_reads_as_before() {
    let o = run_async(&["explain", "rfc7009-2.1-hint-fallback"], &[]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_golden("cli/explain.txt", &normalize_console(&text(&o)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reads_as_before() {
    let reports = tempfile::tempdir().unwrap();
    let o = run_async(
        &[
            "check",
            "--rule",
            "rfc7009-2.1-token-required",
            "--rule",
            "rfc7009-2-https",
            "--rule",
            "jans-all-disabled",
            "--concurrency",
            "1",
            "--progress",
            "never",
            "--report-dir",
            reports.path().to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let shown = text(&o).replace(reports.path().to_str().unwrap(), "<reports>");
    assert_golden("cli/check.txt", &normalize_console(&shown));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reads_as_before() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("reference.toml");
    std::fs::write(
        &profile,
        std::fs::read_to_string("targets/reference.toml")
            .unwrap()
            .replace("http://127.0.0.1:8080", &server.base_url),
    )
    .unwrap();
    let o = run_async(&["doctor", "--target", profile.to_str().unwrap()], &[]).await;
    server.shutdown().await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let shown = text(&o).replace(dir.path().to_str().unwrap(), "<dir>");
    assert_golden("cli/doctor.txt", &normalize_console(&shown));
}

#[test]
fn the_console_normalisation_keeps_everything_but_times_ports_and_stamps() {
    assert_eq!(
        normalize_console(
            "http://127.0.0.1:40123/revoke after 12 ms; (34.6 s) at 2026-11-29T12:00:00Z, 3 scenarios, rfc7009-2.1"
        ),
        "http://127.0.0.1:<port>/revoke after <n> ms; (<n> s) at <time>, 3 scenarios, rfc7009-2.1"
    );
}
