//! Verdicts on servers unlike the reference server (issue 19): each test puts an oddity in
//! front of the reference server (`odd_server`) that some real server has, and checks that
//! the harness neither refuses a probe on the word of one that was never calibrated, nor
//! believes a probe in a state it was not calibrated for, nor turns a rule it can observe
//! into an ERROR because a control asked in a way the server does not honour; at concurrency
//! 8 and 1, with the same verdicts.

mod odd_server;
mod support;

use odd_server::Oddities;
use revspec::catalogue::{FeatureSource, RuleSet};
use revspec::conformance::progress::Silent;
use revspec::conformance::{run_plan, CheckError, RunPlan, Selection};
use revspec::record::{RunRecord, Verdict};
use revspec::sut::{ProbeKind, TargetProfile};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

type Tweak = fn(&mut TargetProfile);

async fn run(
    odd: Oddities,
    tweak: Tweak,
    rule_set: RuleSet,
    concurrency: usize,
) -> Result<RunRecord, CheckError> {
    let server = odd_server::start(odd).await;
    let mut profile = revspec::reference::profile(&server.base_url);
    profile.timeouts.stay_active_settle = Duration::from_millis(600);
    profile.timeouts.revocation_patience = Duration::from_secs(2);
    profile.settings.settle = Some(Duration::from_secs(3));
    tweak(&mut profile);
    let plan = RunPlan {
        profile,
        selection: Selection::new(rule_set, &[], None).unwrap(),
        strict: false,
        ledger: None,
        features: FeatureSource::Embedded,
        fault: None,
        quirks: vec![],
        concurrency,
        progress: Arc::new(Silent),
    };
    let record = run_plan(plan).await;
    server.stop().await;
    record
}

fn verdicts(r: &RunRecord) -> BTreeMap<String, Verdict> {
    r.rule_verdicts().into_iter().collect()
}

/// Runs at concurrency 8 and 1; both must give the same verdicts, which are returned.
async fn both(
    odd: Oddities,
    tweak: Tweak,
    rule_set: RuleSet,
) -> (RunRecord, BTreeMap<String, Verdict>) {
    let eight = run(odd, tweak, rule_set, 8)
        .await
        .unwrap_or_else(|e| panic!("refused: {e}"));
    let one = run(odd, tweak, rule_set, 1)
        .await
        .unwrap_or_else(|e| panic!("refused: {e}"));
    let (v8, v1) = (verdicts(&eight), verdicts(&one));
    assert_eq!(v8, v1, "verdicts differ between concurrency 8 and 1");
    (eight, v8)
}

fn passive_refresh_probe(p: &mut TargetProfile) {
    p.probes.refresh_token = ProbeKind::Refresh;
    p.probes.refresh_probe_scope = Some("revspec-probe-scope-outside-every-grant".into());
}

/// Class 1: introspection calls every refresh token inactive unless hinted, and the server
/// revokes a refresh token only with the hint. The refresh probe (a passive refresh grant, the
/// server's own ground truth) is not refused on the word of that introspection, which fails
/// its own calibration for refresh tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn class1_a_probe_is_not_refused_on_the_word_of_an_uncalibrated_one() {
    let odd = Oddities {
        introspect_refresh_needs_hint: true,
        revoke_refresh_needs_hint: true,
        ..Default::default()
    };
    let (record, _) = both(odd, passive_refresh_probe, RuleSet::Rfc7009).await;
    let refresh = record
        .calibration
        .probes
        .iter()
        .find(|p| p.kind == revspec::catalogue::TokenType::Refresh)
        .unwrap();
    assert!(refresh.refused.is_none(), "{refresh:?}");
    assert!(
        refresh.steps.iter().any(|s| s
            .what
            .contains("revoked with token_type_hint=refresh_token")),
        "{refresh:?}"
    );
    // Only the rules whose subject is the hint fail (this server needs one).
    assert_eq!(
        broken(&record),
        HINT_RULES,
        "{}",
        revspec::report::console::render(&record, false)
    );
}

/// Class 1, the other way round: two calibrated probes disagree. Introspection (the profile's
/// refresh probe) reads revoked refresh tokens active; the refresh grant, calibrated and the
/// server's own ground truth, reads them inactive. Calibration refuses introspection and says
/// what each observed, at concurrency 8 and 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn class1_a_probe_contradicted_by_the_ground_truth_is_refused() {
    let odd = Oddities {
        introspect_refresh_stale: true,
        ..Default::default()
    };
    let introspection = |p: &mut TargetProfile| p.probes.refresh_token = ProbeKind::Introspection;
    for concurrency in [8, 1] {
        match run(odd, introspection, RuleSet::Rfc7009, concurrency).await {
            Err(CheckError::Unusable(m)) => {
                for said in [
                    "the refresh probe (calibrated: a never-issued value inactive, a fresh token active) reads",
                    "while the introspection probe read them active",
                    "the refresh grant is the server's own ground truth",
                ] {
                    assert!(m.contains(said), "{said:?} not in {m}");
                }
            }
            other => panic!(
                "expected a refusal of the introspection probe, got {:?}",
                other.map(|r| verdicts(&r))
            ),
        }
    }
}

/// The rules the run holds against the server (see `support::verdicts::broken`).
fn broken(r: &RunRecord) -> Vec<String> {
    support::verdicts::broken(r).into_iter().collect()
}

const HINT_RULES: [&str; 3] = [
    "rfc7009-2.1-hint-fallback",
    "rfc7009-2.1-hint-optional",
    "rfc7009-2.2-unknown-hint-ignored",
];

/// Class 3: the server revokes a refresh token only with `token_type_hint=refresh_token`
/// (and answers 200, revoking nothing, without it). Calibration learns the shape; controls and
/// the plain requests of rules whose subject is not the hint use it; the rules about hints
/// still judge the unhinted and wrongly hinted shapes, and fail exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn class3_controls_use_the_shape_the_server_honours() {
    let odd = Oddities {
        revoke_refresh_needs_hint: true,
        ..Default::default()
    };
    let (record, _) = both(odd, |_| {}, RuleSet::Janssen).await;
    assert_eq!(
        broken(&record),
        HINT_RULES,
        "{}",
        revspec::report::console::render(&record, false)
    );
    let refresh = record
        .calibration
        .probes
        .iter()
        .find(|p| p.kind == revspec::catalogue::TokenType::Refresh)
        .unwrap();
    assert_eq!(
        refresh.revoked_with.as_deref(),
        Some("token with token_type_hint=refresh_token")
    );
}

/// Class 3, token types: the server refuses to revoke access tokens (400
/// `unsupported_token_type`, which RFC 7009 allows). Rules whose subject is an access token's
/// revocation say so (INFO, never FAIL); rules where the token type is incidental are observed
/// with the grant's refresh token, which the server does revoke, instead of turning into
/// ERRORs through their controls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn class3_a_token_type_the_server_does_not_revoke_is_replaced_where_it_is_incidental() {
    let odd = Oddities {
        refuse_access_revocation: true,
        ..Default::default()
    };
    let (record, v) = both(odd, |_| {}, RuleSet::Rfc7009).await;
    let shown = revspec::report::console::render(&record, false);
    assert_eq!(broken(&record), Vec::<String>::new(), "{shown}");
    assert_eq!(
        v.get("rfc7009-2-access-revocable"),
        Some(&Verdict::Info),
        "{shown}"
    );
    let errors: Vec<&String> = v
        .iter()
        .filter(|(_, v)| **v == Verdict::Error)
        .map(|(r, _)| r)
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{shown}");
    // The substitution is said where it happened.
    assert!(
        record.cases.iter().any(|c| c
            .observations
            .iter()
            .any(|o| o.contains("stands in for the access token"))),
        "{shown}"
    );
}

/// Class 2: introspection calls a refresh token inactive once its grant's access token was
/// revoked, while the refresh grant still accepts it. Calibration checks that state with the
/// (non-destructive, on the reference server) refresh grant and refuses the probe, naming both
/// observations and the fix, instead of letting rfc7009-2.1-at-cascade record a wrong INFO.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn class2_a_probe_wrong_in_between_is_caught_by_calibration() {
    let odd = Oddities {
        introspect_refresh_dies_with_access: true,
        no_cascade_from_access: true,
        ..Default::default()
    };
    // Without the oddity, the same server passes calibration: the check can come out either way.
    let plain = Oddities {
        no_cascade_from_access: true,
        ..Default::default()
    };
    let record = run(plain, |_| {}, RuleSet::Rfc7009, 8)
        .await
        .expect("a plain server is not refused");
    assert!(
        support::verdicts::broken(&record).is_empty(),
        "{:?}",
        support::verdicts::broken(&record)
    );
    let e = run(odd, |_| {}, RuleSet::Rfc7009, 8)
        .await
        .map(|_| ())
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("whose access token was revoked") && text.contains("refresh_probe_scope"),
        "{text}"
    );
}

/// Class 2, where it cannot be checked: the same wrong introspection on a server whose refresh
/// grant rotates (no ground truth that leaves the grant alone, and no passive scope in the
/// profile). The run goes on, and what the probe says of such a refresh token is marked as
/// resting on an unconfirmed probe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn class2_an_unconfirmable_state_is_said_where_it_is_observed() {
    let odd = Oddities {
        introspect_refresh_dies_with_access: true,
        no_cascade_from_access: true,
        rotate_refresh: true,
        ..Default::default()
    };
    let (record, _) = both(odd, |_| {}, RuleSet::Rfc7009).await;
    let refresh = record
        .calibration
        .probes
        .iter()
        .find(|p| p.kind == revspec::catalogue::TokenType::Refresh)
        .unwrap();
    assert_eq!(
        refresh.unconfirmed,
        ["a refresh token whose access token was revoked"],
        "{refresh:?}"
    );
    let at_cascade = record
        .cases
        .iter()
        .find(|c| c.rule == "rfc7009-2.1-at-cascade")
        .unwrap();
    assert!(
        at_cascade
            .observations
            .iter()
            .any(|o| o.contains("rests on an unconfirmed probe")),
        "{:?}",
        at_cascade.observations
    );
}

/// Class 5: a public client the server gives no refresh token (RFC 6749 lets it): the rule
/// about public clients is decided with the access token, not SKIPPED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn class5_a_rule_is_decided_with_the_token_the_target_offers() {
    let odd = Oddities {
        public_client_no_refresh: true,
        ..Default::default()
    };
    let (record, v) = both(odd, |_| {}, RuleSet::Rfc7009).await;
    assert_eq!(
        v.get("rfc7009-2.1-public-client"),
        Some(&Verdict::Pass),
        "{}",
        revspec::report::console::render(&record, false)
    );
    assert_eq!(broken(&record), Vec::<String>::new());
}

/// Class 5: a profile asking a narrower scope for its revoke-any client's tokens. The
/// scope-only control observes the client's registration (what Janssen checks), not the scope
/// revspec happened to ask for, so the rule is observed instead of turning into an ERROR.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn class5_a_control_observes_the_server_not_how_revspec_asked() {
    let (record, v) = both(
        Oddities::default(),
        |p| {
            if let Some(c) = p.clients.revoke_any.as_mut() {
                c.scope = Some("openid".into());
            }
        },
        RuleSet::Janssen,
    )
    .await;
    assert_eq!(
        v.get("jans-cross-client-scope-only"),
        Some(&Verdict::Pass),
        "{}",
        revspec::report::console::render(&record, false)
    );
    assert_eq!(broken(&record), Vec::<String>::new());
}
