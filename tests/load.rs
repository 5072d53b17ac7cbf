//! Load smoke tests: every shipped profile runs for a few seconds against the in-process
//! reference server on loopback, with real traffic, no errors and no revocation that did not
//! hold; and the `lazy-revocation` fault makes the correctness count non-zero.

use revspec::faults::Fault;
use revspec::load::profile::LoadProfile;
use revspec::load::{run_plan, LoadPlan};
use revspec::reference::{options as reference_options, profile as reference_profile};
use std::path::Path;
use std::time::Duration;

/// goose attacks run one at a time in this process.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn smoke(name: &str, fault: Option<Fault>) -> revspec::record::load::LoadSummary {
    let _guard = ONE_AT_A_TIME.lock().await;
    let mut profile =
        LoadProfile::from_file(&Path::new("loadtests").join(format!("{name}.toml"))).unwrap();
    profile.users = profile.users.min(4);
    profile.ramp_up = Duration::from_millis(500);
    profile.run_time = Duration::from_secs(3);
    profile.thresholds = Default::default();
    let server = revspec::server::spawn("127.0.0.1:0".parse().unwrap(), &reference_options(fault))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plan = LoadPlan {
        target: reference_profile(&server.base_url),
        profile,
        report_dir: dir.path().to_owned(),
        baseline: None,
        progress: None,
        record_acks: None,
    };
    let summary = run_plan(plan).await.expect("the load run completes");
    revspec::report::load::write(&summary, dir.path()).expect("the summary's reports are written");
    server.shutdown().await;
    for report in [
        "report.html",
        "report.json",
        "report.md",
        "summary.json",
        "summary.html",
    ] {
        assert!(dir.path().join(report).is_file(), "{report} missing");
    }
    summary
}

fn assert_clean(s: &revspec::record::load::LoadSummary, revokes: bool) {
    assert!(s.total_requests > 0, "no traffic: {s:?}");
    assert_eq!(s.total_fails, 0, "errors: {s:?}");
    assert_eq!(s.correctness.not_held, 0, "revocations did not hold: {s:?}");
    assert_eq!(s.correctness.probe_errors, 0, "probe errors: {s:?}");
    if revokes {
        assert!(s.correctness.sampled > 0, "no revocation observed: {s:?}");
    }
    assert!(
        s.requests
            .iter()
            .any(|r| r.name.contains("revoke") && r.count > 0),
        "no revocation request: {s:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_unknown_smoke() {
    assert_clean(&smoke("revoke-unknown", None).await, false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mint_and_revoke_smoke() {
    let s = smoke("mint-and-revoke", None).await;
    assert_clean(&s, true);
    // Minting is its own named request, never part of the revoke figures.
    assert!(s.requests.iter().any(|r| r.name.contains("token (mint)")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_cascade_smoke() {
    assert_clean(&smoke("grant-cascade", None).await, true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_all_smoke() {
    assert_clean(&smoke("revoke-all", None).await, true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_smoke() {
    let s = smoke("mixed", None).await;
    assert_clean(&s, true);
    assert!(s
        .requests
        .iter()
        .any(|r| r.name.contains("introspect") && r.count > 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lazy_revocation_is_caught_under_load() {
    let s = smoke("mint-and-revoke", Some(Fault::LazyRevocation)).await;
    assert!(s.correctness.sampled > 0);
    assert!(
        s.correctness.not_held > 0,
        "the lazy fault went unnoticed: {s:?}"
    );
}

#[tokio::test]
async fn a_target_without_refresh_tokens_is_refused_before_traffic() {
    let _guard = ONE_AT_A_TIME.lock().await;
    let server = revspec::server::spawn("127.0.0.1:0".parse().unwrap(), &reference_options(None))
        .await
        .unwrap();
    let mut target = reference_profile(&server.base_url);
    target.tokens.source = revspec::sut::TokenSourceKind::ClientCredentials;
    let dir = tempfile::tempdir().unwrap();
    let plan = LoadPlan {
        target,
        profile: LoadProfile::from_file(Path::new("loadtests/grant-cascade.toml")).unwrap(),
        report_dir: dir.path().to_owned(),
        baseline: None,
        progress: None,
        record_acks: None,
    };
    let err = run_plan(plan).await.unwrap_err().to_string();
    assert!(err.contains("refresh tokens"), "{err}");
    assert!(!dir.path().join("report.json").exists());
    server.shutdown().await;
}

/// Issue 20: the load tester reaches an HTTPS server through the profile's CA with a
/// `private_key_jwt` primary client (targets/reference-tls.toml): real traffic, no error, every
/// revocation held; signing each request's assertion is its own row, counted in no total.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwt_client_over_https_signs_per_request_in_its_own_row() {
    let _guard = ONE_AT_A_TIME.lock().await;
    let pki = tempfile::tempdir().unwrap();
    let options = revspec::server::ServeOptions {
        tls: Some(revspec::server::tls::TlsSource::SelfSigned {
            dir: Some(pki.path().to_owned()),
        }),
        ..reference_options(None)
    };
    let server = revspec::server::spawn("127.0.0.1:0".parse().unwrap(), &options)
        .await
        .unwrap();
    assert!(
        server.base_url.starts_with("https://"),
        "{}",
        server.base_url
    );
    let mut target =
        revspec::sut::TargetProfile::from_file(Path::new("targets/reference-tls.toml")).unwrap();
    target.issuer = server.base_url.clone();
    target.tls.ca_file_env = None;
    target.tls.ca_file = server.ca_file.clone();
    let mut profile = LoadProfile::from_file(Path::new("loadtests/mint-and-revoke.toml")).unwrap();
    profile.users = profile.users.min(4);
    profile.ramp_up = Duration::from_millis(500);
    profile.run_time = Duration::from_secs(3);
    profile.thresholds = Default::default();
    let dir = tempfile::tempdir().unwrap();
    let plan = LoadPlan {
        target,
        profile,
        report_dir: dir.path().to_owned(),
        baseline: None,
        progress: None,
        record_acks: None,
    };
    let s = run_plan(plan).await.expect("the load run completes");
    server.shutdown().await;
    assert_clean(&s, true);
    let signed = s
        .requests
        .iter()
        .find(|r| r.name == "JWT client assertion (sign)")
        .unwrap_or_else(|| panic!("no signing row: {s:?}"));
    assert!(signed.count > 0 && signed.fails == 0, "{signed:?}");
    let http: usize = s
        .requests
        .iter()
        .filter(|r| r.name != "JWT client assertion (sign)")
        .map(|r| r.count)
        .sum();
    assert_eq!(
        s.total_requests, http,
        "signing counted as a request: {s:?}"
    );
}
