//! Crash safety under load: `revspec serve --data-dir` is killed with SIGKILL again and again
//! while `revspec load` (mint-and-revoke, `--record-acks`) runs against it, and restarted.
//! After each restart, the record of what the server acknowledged is checked through
//! introspection (as `resource-server`, which holds `introspect_any`):
//! - no token whose revocation was answered 200 is active again;
//! - no token whose issue was answered 200 is unknown, unless a revocation of its grant was
//!   sent (the record says so before sending; its 200 may have been lost in the crash).
//!
//! The server checkpoints its journal every 50 changes here, so kills also land during
//! journal rotations and checkpoints.
//!
//! Real processes on 127.0.0.1. `REVSPEC_CRASH_KILLS` sets the number of kills (20 by default).
//! Every process started is killed when the test ends, whatever happens.

use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_revspec");

/// Kills its process when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(port: u16, data: &Path, log: &Path) -> Process {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Process(
        Command::new(BIN)
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(data)
            // A checkpoint every 50 changes: kills also land during journal rotations and
            // checkpoints, and restarts replay journals after checkpoints.
            .env("REVSPEC_JOURNAL_CHECKPOINT_OPS", "50")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("revspec serve starts"),
    )
}

/// Waits (bounded) until the server answers /health.
async fn ready(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{base}/health")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the server at {base} did not come back within 30 s");
}

/// The record so far: complete lines only (the load tester may be writing the last one).
fn record(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let complete = text.rfind('\n').map_or("", |i| &text[..i]);
    complete
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn tokens_with(lines: &[Value], op: &str) -> HashSet<String> {
    lines
        .iter()
        .filter(|l| l["op"] == op)
        .filter_map(|l| l["token"].as_str().map(str::to_owned))
        .collect()
}

/// Whether `token` is active, by introspection as the resource server.
async fn active(http: &reqwest::Client, base: &str, token: &str) -> bool {
    let r = http
        .post(format!("{base}/jans-auth/restv1/introspection"))
        .basic_auth("resource-server", Some("resource-secret"))
        .form(&[("token", token)])
        .send()
        .await
        .expect("introspection answers");
    assert_eq!(r.status(), 200, "introspection status");
    let v: Value = r.json().await.expect("introspection JSON");
    v["active"].as_bool().expect("active is a boolean")
}

/// Checks one restart against the state the restarted server shows: every revocation
/// acknowledged before the kill (`before`), and every issue acknowledged since the last check
/// (`before[new..]`; an older token may have been revoked since, which the load tester does).
async fn check(
    http: &reqwest::Client,
    base: &str,
    before: &[Value],
    new: usize,
    acks: &Path,
) -> (usize, usize) {
    use futures::StreamExt as _;
    let revoked = tokens_with(before, "revoked");
    let revoked_list: Vec<&String> = revoked.iter().collect();
    let states: Vec<(String, bool)> = futures::stream::iter(revoked_list)
        .map(|t| async move { (t.clone(), active(http, base, t).await) })
        .buffer_unordered(8)
        .collect()
        .await;
    for (t, is_active) in &states {
        assert!(
            !is_active,
            "an acknowledged revocation is active again: {t}"
        );
    }
    let issued: Vec<(String, String)> = before[new..]
        .iter()
        .filter(|l| l["op"] == "issued")
        .filter_map(|l| {
            let at = l["access_token"].as_str()?;
            Some((at.to_owned(), l["refresh_token"].as_str()?.to_owned()))
        })
        .collect();
    let inactive: Vec<(String, String)> = futures::stream::iter(issued.iter().cloned())
        .map(|(at, rt)| async move {
            let alive = active(http, base, &at).await;
            (at, rt, alive)
        })
        .buffer_unordered(8)
        .filter_map(|(at, rt, alive)| async move { (!alive).then_some((at, rt)) })
        .collect()
        .await;
    // Read the record again after looking: a revocation sent since is written before it is sent.
    let attempted = tokens_with(&record(acks), "revoking");
    for (at, rt) in &inactive {
        assert!(
            attempted.contains(rt) || attempted.contains(at),
            "an acknowledged issue is unknown after the restart (no revocation of its grant was sent)"
        );
    }
    (states.len(), issued.len())
}

fn target_profile(dir: &Path, base: &str) -> PathBuf {
    let text = std::fs::read_to_string("targets/reference.toml").unwrap();
    let text = text.replace(
        "issuer = \"http://127.0.0.1:8080\"",
        &format!("issuer = \"{base}\""),
    );
    let path = dir.join("target.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_change() {
    let kills: usize = std::env::var("REVSPEC_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("server.log");
    let acks = dir.path().join("acks.jsonl");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut server = serve(port, &data, &log);
    ready(&http, &base).await;
    let target = target_profile(dir.path(), &base);
    // Long enough to outlast every kill; killed at the end.
    let _load = Process(
        Command::new(BIN)
            .args([
                "load",
                "--profile",
                "loadtests/mint-and-revoke.toml",
                "--users",
                "4",
            ])
            .args(["--run-time", "600s", "--target"])
            .arg(&target)
            .arg("--report-dir")
            .arg(dir.path().join("load"))
            .arg("--record-acks")
            .arg(&acks)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("revspec load starts"),
    );
    let (mut revocations, mut issues) = (0, 0);
    let mut checked = 0;
    for kill in 0..kills {
        // Let the load run until it has made new acknowledged changes (bounded).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            tokio::time::sleep(Duration::from_millis(150 + 37 * (kill as u64 % 7))).await;
            let n = record(&acks).len();
            if n > checked + 20 || Instant::now() > deadline {
                break;
            }
        }
        drop(server); // SIGKILL, then reaped
        let before = record(&acks);
        assert!(
            before.len() > checked,
            "kill {kill}: no acknowledged operation since the last"
        );
        server = serve(port, &data, &log);
        ready(&http, &base).await;
        let (r, i) = check(&http, &base, &before, checked, &acks).await;
        revocations += r;
        issues += i;
        checked = before.len();
    }
    eprintln!(
        "{kills} kills: {revocations} checks of acknowledged revocations, {issues} of acknowledged issues"
    );
    assert!(revocations > 0 && issues > 0, "nothing was checked");
    drop(server);
    // Journal files are numbered by generation: many were started, so many checkpoints ran.
    let newest = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().ok()?;
            name.strip_prefix("journal-")?
                .strip_suffix(".log")?
                .parse::<u64>()
                .ok()
        })
        .max()
        .expect("a journal file");
    assert!(
        newest > kills as u64 * 2,
        "only {newest} journal generations"
    );
}
