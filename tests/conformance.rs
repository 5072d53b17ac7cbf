//! The harness tested end to end, one libtest trial per case (`cargo test --test conformance
//! -- fault_hint_strict` runs one; `-- --list` lists them):
//! 1. self-conformance: the whole catalogue, both profiles, against the reference server;
//! 2. test the tester: every fault of the reference server fails exactly the rule IDs it
//!    names, no more, no fewer; every quirk (conformant but unusual) fails none beyond those
//!    it names; and each gives the same rule verdicts at concurrency 1 and 8;
//! 3. verdict trust: probes that cannot be believed are refused before any scenario, settings
//!    that do not take effect make their scenarios errors, INFO rules record what changed.
//!
//! Trials go many at a time (each with its own server on its own port): they mostly wait.

mod support;

use libtest_mimic::{Arguments, Trial};
use revspec::catalogue::{FeatureSource, RuleSet};
use revspec::conformance::progress::Silent;
use revspec::conformance::{run_plan, CheckError, RunPlan, Selection};
use revspec::faults::quirks::Quirk;
use revspec::faults::Fault;
use revspec::record::{RunRecord, Verdict};
use revspec::reference::{options as reference_options, profile as reference_profile};
use revspec::server::ServeOptions;
use revspec::sut::TargetProfile;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use support::verdicts::{broken, describe};
/// Rules a single reference server cannot exercise (the cluster case does).
const SINGLE_SERVER_SKIPS: &[&str] = &["cluster-propagation"];
/// Rules the plain reference profile (`targets/reference.toml`: secrets only, plain http)
/// cannot exercise: the hardened cases (`targets/reference-tls.toml`) do.
const PLAIN_PROFILE_SKIPS: &[&str] = &[
    "rfc7523-assertion-revokes",
    "rfc7523-3-audience",
    "rfc7523-3-expired",
    "rfc7523-3-signature",
    "rfc7523-3-subject",
    "rfc7521-4.2-assertion-type",
    "oidc-9-assertion-once",
    "rfc8414-2-auth-signing-algs",
    "rfc8705-2-mtls-revokes",
    "rfc8705-2-wrong-certificate",
    "rfc8705-5-endpoint-alias",
    "jans-forwarded-cert-untrusted",
];
/// How many check runs go at once.
const PARALLEL_RUNS: usize = 32;

/// The reference profile with shorter waits: the faults' delayed effects come within 300 ms.
fn quick(profile: &mut TargetProfile) {
    profile.timeouts.stay_active_settle = Duration::from_millis(600);
    profile.timeouts.revocation_patience = Duration::from_secs(3);
    profile.settings.settle = Some(Duration::from_secs(3));
}

type Tweak = Arc<dyn Fn(&mut TargetProfile) + Send + Sync>;

/// The hardened setup: the reference server over TLS (a throw-away CA in `dir`) with its
/// mTLS listener, and `targets/reference-tls.toml` (private_key_jwt primary, tls_client_auth
/// other, client_secret_jwt revoke-any, self_signed_tls_client_auth introspector).
fn hardened(options: ServeOptions, dir: &std::path::Path) -> ServeOptions {
    ServeOptions {
        tls: Some(revspec::server::tls::TlsSource::SelfSigned {
            dir: Some(dir.to_owned()),
        }),
        ..options
    }
}

fn hardened_profile(server: &revspec::server::RunningServer) -> TargetProfile {
    let mut p = TargetProfile::from_file(std::path::Path::new("targets/reference-tls.toml"))
        .expect("the hardened profile parses");
    p.issuer = server.base_url.clone();
    p.tls.ca_file_env = None;
    p.tls.ca_file = server.ca_file.clone();
    p
}

async fn run(
    rule_set: RuleSet,
    options: ServeOptions,
    tweak: Tweak,
    concurrency: usize,
) -> Result<RunRecord, CheckError> {
    let pki = tempfile::tempdir().expect("a temporary folder");
    let tls = options.tls.is_some();
    let options = if tls {
        hardened(options, pki.path())
    } else {
        options
    };
    let server = revspec::server::spawn("127.0.0.1:0".parse().unwrap(), &options)
        .await
        .expect("reference server starts");
    let mut target = if tls {
        hardened_profile(&server)
    } else {
        reference_profile(&server.base_url)
    };
    quick(&mut target);
    tweak(&mut target);
    let plan = RunPlan {
        profile: target,
        selection: Selection::new(rule_set, &[], None).expect("a valid selection"),
        strict: false,
        ledger: None,
        features: FeatureSource::Embedded,
        fault: options.fault.map(|f| f.name().to_owned()),
        quirks: vec![],
        concurrency,
        progress: Arc::new(Silent),
    };
    let record = run_plan(plan).await;
    server.shutdown().await;
    record
}

/// Rules a case must give one verdict in particular (not just "broken"), each with a text its
/// reason or a failed check or control must hold: where the harness must say "I could not
/// observe this" (ERROR) rather than blame the server (FAIL), or the other way round.
fn exact_verdicts(case: &str) -> Vec<(String, Verdict, &'static str)> {
    let all = |rules: &[&str], verdict: Verdict, text: &'static str| {
        rules
            .iter()
            .map(|r| (r.to_string(), verdict, text))
            .collect::<Vec<_>>()
    };
    if let Some(quirk) = Quirk::ALL
        .iter()
        .find(|q| case == format!("quirk_{}", q.name().replace('-', "_")))
    {
        return quirk
            .named_rules()
            .iter()
            .map(|(rule, verdict)| {
                let verdict = Verdict::parse(verdict).expect("a quirk names a verdict");
                (rule.to_string(), verdict, "")
            })
            .collect();
    }
    match case {
        // Issue 20: over TLS the https rule passes outright (a loopback warning would hide).
        "self_conformance_hardened" => all(&["rfc7009-2-https"], Verdict::Pass, ""),
        // A setting that cannot be confirmed is never a verdict on the server.
        "fault_setting_never_applied" => all(
            Fault::SettingNeverApplied.rules(),
            Verdict::Error,
            "in place",
        ),
        "a_declared_setting_the_server_lacks_is_an_error" => all(
            &[
                "jans-all-enabled",
                "jans-all-own-client",
                "jans-all-public-client",
                "jans-all-variants",
            ],
            Verdict::Error,
            "allowAllValueForRevokeEndpoint",
        ),
        // The scope-only scenario's control: the revoke-any client must hold revoke_any_token.
        "a_revoke_any_client_without_the_scope_fails_its_control" => {
            let mut exact = all(
                &["jans-cross-client-scope-only"],
                Verdict::Error,
                "positive control failed",
            );
            exact.extend(all(
                &["jans-cross-client-allowed", "jans-cross-client-no-scope"],
                Verdict::Error,
                "allowRevokeForOtherClients=true is not in effect",
            ));
            exact
        }
        _ => vec![],
    }
}

/// Where a record differs from [`exact_verdicts`].
fn verdict_problems(record: &RunRecord, exact: &[(String, Verdict, &str)]) -> String {
    let verdicts = verdicts(record);
    let mut problems = String::new();
    for (rule, want, text) in exact {
        let seen = verdicts.get(rule);
        let explained = record.cases.iter().filter(|c| &c.rule == rule).any(|c| {
            c.reason.as_deref().unwrap_or("").contains(text)
                || c.failed_checks().any(|k| k.actual.contains(text))
                || c.controls
                    .iter()
                    .any(|k| !k.passed && k.actual.contains(text))
        });
        if seen != Some(want) || !explained {
            problems.push_str(&format!(
                "  {rule}: expected {} saying {text:?}, got {:?}\n{}",
                want.as_str(),
                seen.map(|v| v.as_str()),
                describe(record, &BTreeSet::from([rule.clone()]))
            ));
        }
    }
    problems
}

/// The rules a fault or quirk leaves without a full verdict, each with why: every other rule
/// is judged with as much evidence as in self-conformance.
fn unjudged_as_expected(case: &str) -> BTreeMap<&'static str, Verdict> {
    let rules = |rules: &[&'static str], verdict: Verdict| {
        rules
            .iter()
            .map(|r| (*r, verdict))
            .collect::<BTreeMap<_, _>>()
    };
    match case {
        // Its profile has no public client: nobody may introspect a public client's tokens.
        "quirk_introspection_owner_only" => rules(
            &["rfc7009-2.1-public-client", "jans-all-public-client"],
            Verdict::Skip,
        ),
        // A refresh kills the grant's earlier access token, so the cascade scenarios that
        // refresh first cannot hold both tokens; the others decide the rules.
        "quirk_refresh_replaces_access" => rules(
            &["jans-grant-cascade-at", "jans-grant-cascade-rt"],
            Verdict::Partial,
        ),
        // The fault answers 200 where one error-format scenario needs an error to read.
        "fault_no_client_auth"
        | "fault_token_optional"
        | "fault_wrong_secret_accepted"
        | "fault_duplicate_param_accepted" => {
            rules(&["rfc7009-2.2.1-error-format"], Verdict::Partial)
        }
        _ => BTreeMap::new(),
    }
}

/// A fault or a quirk may not hide rules: the rules it leaves SKIP (beyond what a single
/// server, or the plain profile, cannot exercise) or PARTIAL are exactly [`unjudged_as_expected`], and the rules a
/// quirk exercises pass.
fn judged_as_much_as_self(case: &str, plain: bool, record: &RunRecord) -> Result<(), String> {
    if !(case.starts_with("fault_") || case.starts_with("quirk_")) {
        return Ok(());
    }
    let expected: BTreeMap<String, Verdict> = unjudged_as_expected(case)
        .into_iter()
        .map(|(rule, verdict)| (rule.to_owned(), verdict))
        .collect();
    let unjudged: BTreeMap<String, Verdict> = record
        .rule_verdicts()
        .into_iter()
        .filter(|(rule, verdict)| match verdict {
            Verdict::Skip => {
                let cannot_be_exercised = SINGLE_SERVER_SKIPS.contains(&rule.as_str())
                    || (plain && PLAIN_PROFILE_SKIPS.contains(&rule.as_str()));
                !cannot_be_exercised
            }
            Verdict::Partial => true,
            _ => false,
        })
        .collect();
    let mut problems = String::new();
    if unjudged != expected {
        problems.push_str(&format!(
            "rules without a full verdict {unjudged:?}, expected {expected:?}; "
        ));
    }
    if let Some(quirk) = Quirk::ALL
        .iter()
        .find(|q| case == format!("quirk_{}", q.name().replace('-', "_")))
    {
        let verdicts = verdicts(record);
        for rule in quirk.exercises() {
            let verdict = verdicts.get(*rule);
            let passed = matches!(verdict, Some(Verdict::Pass | Verdict::Info));
            let named = quirk.named_rules().iter().any(|(r, _)| r == rule);
            if !passed && !named && !expected.contains_key(*rule) {
                problems.push_str(&format!(
                    "{rule} (exercised) is {:?}; ",
                    verdict.map(|v| v.as_str())
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{problems}\n"))
    }
}

fn verdicts(record: &RunRecord) -> BTreeMap<String, Verdict> {
    record.rule_verdicts().into_iter().collect()
}

/// The run record holds no demo secret and nothing shaped like a token of the reference server
/// (43 base64url characters), though its exchanges carry every minted token.
fn redacted(record: &RunRecord) -> Result<(), String> {
    let json = serde_json::to_string(&record.to_json()).unwrap();
    for secret in [
        "secret-a",
        "secret-b",
        "secret-c",
        "config-secret",
        "alice-pass",
        "resource-secret",
        "secret-secjwt-of-32-bytes-or-more",
        "PRIVATE KEY",
    ] {
        if json.contains(secret) {
            return Err(format!("  run.json contains the secret {secret}"));
        }
    }
    // A JWS (a client assertion) starts with the base64url of `{"`: none may be recorded.
    if let Some(at) = json.find("eyJ") {
        return Err(format!(
            "  run.json contains a JWS-shaped value near {:?}",
            &json[at.saturating_sub(40)..(at + 20).min(json.len())]
        ));
    }
    let exchanges: usize = record.cases.iter().map(|c| c.exchanges.len()).sum();
    if exchanges == 0 {
        return Err("  no exchange was recorded".into());
    }
    let token_shaped = json
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .find(|w| w.len() == 43);
    match token_shaped {
        Some(w) => Err(format!(
            "  run.json contains a token-shaped value {}...",
            &w[..6]
        )),
        None => Ok(()),
    }
}

/// What a run must show.
enum Expect {
    /// Exactly these rules are broken, with the same verdicts at concurrency 1 and 8.
    Broken(BTreeSet<String>),
    /// The run is refused before any scenario, with a message holding this text.
    Refused(&'static str),
}

struct Case {
    name: String,
    rule_set: RuleSet,
    options: ServeOptions,
    tweak: Tweak,
    expect: Expect,
    /// Also run at concurrency 1 and compare the verdicts.
    both_concurrencies: bool,
}

/// Marks options for the hardened setup (see [`hardened`]; the folder is made per run).
fn with_tls(options: ServeOptions) -> ServeOptions {
    ServeOptions {
        tls: Some(revspec::server::tls::TlsSource::SelfSigned { dir: None }),
        ..options
    }
}

fn rules(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn no_tweak() -> Tweak {
    Arc::new(|_| {})
}

fn quirky(quirk: Quirk) -> ServeOptions {
    ServeOptions {
        quirks: vec![quirk],
        ..reference_options(None)
    }
}

/// What the profile must say for a quirk (its `profile_note`).
fn tweak_for(quirk: Quirk) -> Tweak {
    match quirk {
        Quirk::ConfigReloadDelay => Arc::new(|p| {
            p.settings.settle = Some(Duration::from_secs(6));
            // A bound on the run: past this deadline its remaining scenarios are ERRORs.
            p.timeouts.run = Duration::from_secs(150);
        }),
        Quirk::IntrospectionOwnerOnly => Arc::new(|p| {
            p.probes.introspection_client = "owner".into();
            // Nobody may introspect a public client's tokens on such a server.
            p.capabilities.public_client = false;
        }),
        Quirk::RevocationDelay => {
            Arc::new(|p| p.timeouts.propagation_window = Duration::from_secs(1))
        }
        Quirk::Discovery503WhenDisabled => Arc::new(|p| {
            let at = |path: &str| Some(format!("{}{path}", p.issuer));
            p.endpoints = Some(revspec::sut::profile::EndpointOverrides {
                revocation: at(revspec::server::paths::REVOKE),
                token: at(revspec::server::paths::TOKEN),
                introspection: at(revspec::server::paths::INTROSPECTION),
                userinfo: at(revspec::server::paths::USERINFO),
            });
        }),
        _ => no_tweak(),
    }
}

fn rotating_server() -> ServeOptions {
    let mut config = revspec::server::config::ServerConfig::demo();
    config.settings.refresh_token_rotation = true;
    ServeOptions {
        config: Some(config),
        ..reference_options(None)
    }
}

/// The demo configuration with the revoke-any client (client-c) registered without
/// `revoke_any_token`.
fn without_revoke_any_scope() -> ServeOptions {
    let mut config = revspec::server::config::ServerConfig::demo();
    for client in config.clients.iter_mut().filter(|c| c.id == "client-c") {
        client.scopes.retain(|s| s != "revoke_any_token");
    }
    ServeOptions {
        config: Some(config),
        ..reference_options(None)
    }
}

fn cases() -> Vec<Case> {
    let mut cases = vec![
        Case {
            name: "self_conformance_rfc7009".into(),
            rule_set: RuleSet::Rfc7009,
            options: reference_options(None),
            tweak: no_tweak(),
            expect: Expect::Broken(BTreeSet::new()),
            both_concurrencies: false,
        },
        Case {
            name: "self_conformance_janssen".into(),
            rule_set: RuleSet::Janssen,
            options: reference_options(None),
            tweak: no_tweak(),
            expect: Expect::Broken(BTreeSet::new()),
            both_concurrencies: true,
        },
        // Issue 20's "done": the whole catalogue over TLS, with a private_key_jwt primary, a
        // tls_client_auth other, a client_secret_jwt revoke-any client and a
        // self_signed_tls_client_auth introspector.
        Case {
            name: "self_conformance_hardened".into(),
            rule_set: RuleSet::Janssen,
            options: with_tls(reference_options(None)),
            tweak: no_tweak(),
            expect: Expect::Broken(BTreeSet::new()),
            both_concurrencies: true,
        },
        // A server that rotates refresh tokens, observed through a passive refresh probe (a
        // refresh grant asking for a scope outside every grant): conformant, nothing consumed.
        Case {
            name: "passive_refresh_probe_on_a_rotating_server".into(),
            rule_set: RuleSet::Janssen,
            options: rotating_server(),
            tweak: Arc::new(|p| {
                p.probes.refresh_token = revspec::sut::ProbeKind::Refresh;
                p.probes.refresh_probe_scope =
                    Some("revspec-probe-scope-outside-every-grant".into());
            }),
            expect: Expect::Broken(BTreeSet::new()),
            both_concurrencies: false,
        },
        // The same server with a plain refresh probe: it would consume what it observes.
        Case {
            name: "calibration_refuses_a_refresh_probe_that_rotates".into(),
            rule_set: RuleSet::Rfc7009,
            options: rotating_server(),
            tweak: Arc::new(|p| p.probes.refresh_token = revspec::sut::ProbeKind::Refresh),
            expect: Expect::Refused("rotated the refresh token"),
            both_concurrencies: false,
        },
        // A "passive" probe scope that one client holds: the server issues tokens for it.
        Case {
            name: "calibration_refuses_a_passive_probe_that_issues".into(),
            rule_set: RuleSet::Rfc7009,
            options: reference_options(None),
            tweak: Arc::new(|p| {
                p.probes.refresh_token = revspec::sut::ProbeKind::Refresh;
                p.probes.refresh_probe_scope = Some("revoke_any_token".into());
            }),
            expect: Expect::Refused("not passive on this server"),
            both_concurrencies: false,
        },
        // A static profile that declares a setting the server does not have: the setting is
        // never confirmed, so its scenarios are errors, not verdicts.
        Case {
            name: "a_declared_setting_the_server_lacks_is_an_error".into(),
            rule_set: RuleSet::Janssen,
            options: reference_options(None),
            tweak: Arc::new(|p| {
                p.settings.adapter = revspec::sut::profile::AdapterKind::Static;
                p.settings.allow_all_value_for_revoke_endpoint = Some(true);
                p.settings.allow_revoke_for_other_clients = Some(false);
            }),
            expect: Expect::Broken(rules(&[
                "jans-all-enabled",
                "jans-all-own-client",
                "jans-all-public-client",
                "jans-all-variants",
            ])),
            both_concurrencies: false,
        },
    ];
    // A revoke-any client the server registered without revoke_any_token: the scope-only
    // scenario's negative conclusion has no ground, so its control makes it an ERROR; and
    // allowRevokeForOtherClients=true cannot be confirmed through that client, so the
    // scenarios that need it are errors too, never verdicts on the server.
    cases.push(Case {
        name: "a_revoke_any_client_without_the_scope_fails_its_control".into(),
        rule_set: RuleSet::Janssen,
        options: without_revoke_any_scope(),
        tweak: no_tweak(),
        expect: Expect::Broken(rules(&[
            "jans-cross-client-allowed",
            "jans-cross-client-no-scope",
            "jans-cross-client-scope-only",
        ])),
        both_concurrencies: false,
    });
    // Calibration refuses a probe that cannot be believed on an unusual server.
    cases.extend([
        Case {
            name: "calibration_refuses_introspection_by_one_client_on_an_owner_only_server".into(),
            rule_set: RuleSet::Rfc7009,
            options: quirky(Quirk::IntrospectionOwnerOnly),
            tweak: no_tweak(),
            expect: Expect::Refused("probes.introspection_client = \"owner\""),
            both_concurrencies: false,
        },
        Case {
            name: "calibration_refuses_a_passive_probe_when_the_scope_is_checked_first".into(),
            rule_set: RuleSet::Rfc7009,
            options: quirky(Quirk::RefreshScopeFirst),
            tweak: Arc::new(|p| {
                p.probes.refresh_token = revspec::sut::ProbeKind::Refresh;
                p.probes.refresh_probe_scope =
                    Some("revspec-probe-scope-outside-every-grant".into());
            }),
            expect: Expect::Refused("a never-issued value reads inactive: it reads active"),
            both_concurrencies: false,
        },
        Case {
            name: "calibration_refuses_a_refresh_probe_that_replaces_the_access_token".into(),
            rule_set: RuleSet::Rfc7009,
            options: quirky(Quirk::RefreshReplacesAccess),
            tweak: Arc::new(|p| p.probes.refresh_token = revspec::sut::ProbeKind::Refresh),
            expect: Expect::Refused("made the earlier access token inactive"),
            both_concurrencies: false,
        },
        Case {
            name: "calibration_refuses_userinfo_answering_403_for_live_tokens".into(),
            rule_set: RuleSet::Rfc7009,
            options: quirky(Quirk::Userinfo403),
            tweak: Arc::new(|p| {
                p.probes.access_token = revspec::sut::ProbeKind::Userinfo;
                p.clients.primary.scope = Some("profile".into());
            }),
            expect: Expect::Refused("userinfo cannot observe this token"),
            both_concurrencies: false,
        },
    ]);
    for quirk in Quirk::ALL {
        let options = quirky(*quirk);
        cases.push(Case {
            name: format!("quirk_{}", quirk.name().replace('-', "_")),
            rule_set: RuleSet::Janssen,
            options: if quirk.needs_hardened_clients() {
                with_tls(options)
            } else {
                options
            },
            tweak: tweak_for(*quirk),
            expect: Expect::Broken(
                quirk
                    .named_rules()
                    .iter()
                    .map(|(r, _)| r.to_string())
                    .collect(),
            ),
            both_concurrencies: true,
        });
    }
    for fault in Fault::ALL {
        let options = reference_options(Some(*fault));
        cases.push(Case {
            name: format!("fault_{}", fault.name().replace('-', "_")),
            rule_set: RuleSet::Janssen,
            options: if fault.needs_hardened_clients() {
                with_tls(options)
            } else {
                options
            },
            tweak: no_tweak(),
            expect: Expect::Broken(fault.rules().iter().map(|s| s.to_string()).collect()),
            both_concurrencies: true,
        });
    }
    cases
}

async fn check_case(case: Case) -> Result<(), String> {
    let concurrencies: &[usize] = if case.both_concurrencies {
        &[8, 1]
    } else {
        &[8]
    };
    let mut records = Vec::new();
    for &concurrency in concurrencies {
        let result = run(
            case.rule_set,
            case.options.clone(),
            case.tweak.clone(),
            concurrency,
        )
        .await;
        match (&case.expect, result) {
            (Expect::Refused(text), Err(CheckError::Unusable(m))) if m.contains(text) => {
                return Ok(());
            }
            (Expect::Refused(text), other) => {
                return Err(format!(
                    "  expected a refusal mentioning {text:?}, got {:?}",
                    other.map(|r| verdicts(&r))
                ));
            }
            (Expect::Broken(_), Err(e)) => {
                return Err(format!("  the run was refused: {e}"));
            }
            (Expect::Broken(_), Ok(record)) => records.push((concurrency, record)),
        }
    }
    let Expect::Broken(named) = &case.expect else {
        unreachable!()
    };
    let mut problems = String::new();
    let exact = exact_verdicts(&case.name);
    for (concurrency, record) in &records {
        let wrong = verdict_problems(record, &exact);
        if !wrong.is_empty() {
            problems.push_str(&format!("  concurrency {concurrency}:\n{wrong}"));
        }
        if let Err(e) = judged_as_much_as_self(&case.name, case.options.tls.is_none(), record) {
            problems.push_str(&format!("  concurrency {concurrency}: {e}"));
        }
        let seen = broken(record);
        if seen != *named {
            let extra: BTreeSet<_> = seen.difference(named).cloned().collect();
            let missing: BTreeSet<_> = named.difference(&seen).cloned().collect();
            problems.push_str(&format!(
                "  concurrency {concurrency}: extra {extra:?}, missing {missing:?}\n{}",
                describe(record, &extra.union(&missing).cloned().collect())
            ));
        }
        if case.name.starts_with("self_conformance") {
            // Every rule of the profile was judged (a run of zero scenarios is not a pass).
            let expected = revspec::catalogue::rules()
                .iter()
                .filter(|r| case.rule_set.covers().contains(&r.rule_set))
                .count();
            let judged = record.rule_verdicts().len();
            if judged != expected || record.cases.len() < expected {
                problems.push_str(&format!(
                    "  {judged} rules judged in {} scenarios; the {} profile has {expected} rules\n",
                    record.cases.len(),
                    case.rule_set
                ));
            }
            let s = record.summary();
            let skipped: BTreeSet<&str> = record
                .cases
                .iter()
                .filter(|c| c.verdict == Verdict::Skip)
                .map(|c| c.rule.as_str())
                .collect();
            let mut allowed: BTreeSet<&str> = SINGLE_SERVER_SKIPS.iter().copied().collect();
            if case.options.tls.is_none() {
                allowed.extend(PLAIN_PROFILE_SKIPS.iter().copied());
            }
            if s.error > 0 || skipped != allowed {
                problems.push_str(&format!(
                    "  {} errors; skipped {skipped:?}, expected only {allowed:?}\n",
                    s.error
                ));
            }
            if let Err(e) = redacted(record) {
                problems.push_str(&format!("{e}\n"));
            }
        }
    }
    if let [(_, a), (_, b)] = records.as_slice() {
        let (va, vb) = (verdicts(a), verdicts(b));
        let differ: Vec<String> = va
            .iter()
            .filter(|(rule, v)| vb.get(*rule) != Some(v))
            .map(|(rule, v)| {
                format!(
                    "{rule}: {} at 8, {:?} at 1",
                    v.as_str(),
                    vb.get(rule).map(|v| v.as_str())
                )
            })
            .collect();
        if !differ.is_empty() {
            problems.push_str(&format!(
                "  verdicts differ between concurrency 8 and 1: {differ:?}\n"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// INFO rules cannot fail; what proves the harness sees them is that a fault changes what
/// they record.
async fn info_rules_record_what_changed() -> Result<(), String> {
    let observed = |record: &RunRecord, rule: &str| -> Vec<String> {
        record
            .cases
            .iter()
            .filter(|c| c.rule == rule)
            .flat_map(|c| c.observations.clone())
            .collect()
    };
    let clean = run(RuleSet::Janssen, reference_options(None), no_tweak(), 8)
        .await
        .map_err(|e| e.to_string())?;
    let mut problems = String::new();
    for (fault, rule) in [
        (Fault::NoCascadeAt, "rfc7009-2.1-at-cascade"),
        (Fault::ForeignToken200, "rfc7009-5-scanning-oracle"),
    ] {
        let faulty = run(
            RuleSet::Janssen,
            reference_options(Some(fault)),
            no_tweak(),
            8,
        )
        .await
        .map_err(|e| e.to_string())?;
        let (a, b) = (observed(&clean, rule), observed(&faulty, rule));
        if a.is_empty() || a == b {
            problems.push_str(&format!(
                "  {rule}: recorded {a:?} without and {b:?} with the fault {}\n",
                fault.name()
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// INFO rules: a fault changes what they record (checked in `info_rules_record_what_changed`).
const INFO_PROOFS: &[&str] = &["rfc7009-2.1-at-cascade", "rfc7009-5-scanning-oracle"];
/// Rules no fault of the single reference server can break, and why.
const NO_FAULT: &[(&str, &str)] = &[
    (
        "rfc7009-2-https",
        "the in-process reference server is plain http on loopback, where the rule is a warning by design; every run shows that warning",
    ),
    (
        "cluster-propagation",
        "it needs a cluster; a single server has no nodes (the rule is SKIPPED, see SINGLE_SERVER_SKIPS)",
    ),
];

/// Every rule of the catalogue is proven failable: some fault names it, a fault changes what
/// an INFO rule records, or a written reason says why not.
fn every_rule_can_be_failed() -> Result<(), String> {
    let named: BTreeSet<&str> = Fault::ALL
        .iter()
        .flat_map(|f| f.rules().iter().copied())
        .collect();
    let unproven: Vec<String> = revspec::catalogue::rules()
        .iter()
        .map(|r| r.id.to_string())
        .filter(|id| {
            !named.contains(id.as_str())
                && !INFO_PROOFS.contains(&id.as_str())
                && !NO_FAULT.iter().any(|(r, _)| r == id)
        })
        .collect();
    if unproven.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "  rules no fault can fail and no reason covers: {unproven:?}\n"
        ))
    }
}

/// `doctor`'s prediction is the run's decision: on a shipped profile (django-oauth-toolkit's,
/// pointed at the reference server with the reference server's clients, everything that
/// decides a skip kept: its roles, token source, static settings and capabilities), the
/// scenarios the run SKIPs, with their reasons, are exactly the ones `sut::unmet::skips`
/// predicts; and there are some.
async fn doctor_predicts_the_runs_skips() -> Result<(), String> {
    let server = revspec::server::spawn("127.0.0.1:0".parse().unwrap(), &reference_options(None))
        .await
        .map_err(|e| e.to_string())?;
    let mut profile =
        TargetProfile::from_file(std::path::Path::new("targets/django-oauth-toolkit.toml"))
            .map_err(|e| e.to_string())?;
    let reference = reference_profile(&server.base_url);
    profile.issuer = server.base_url.clone();
    profile.clients.primary = reference.clients.primary.clone();
    profile.clients.other = reference.clients.other.clone();
    profile.user = reference.user.clone();
    profile.probes = reference.probes.clone();
    profile.probes.introspection_client = "owner".into();
    quick(&mut profile);
    let predicted: BTreeSet<(String, String, String)> = revspec::sut::unmet::skips(
        &profile,
        revspec::catalogue::features::embedded(),
        RuleSet::Janssen,
    )
    .into_iter()
    .map(|(s, why)| (s.rule.clone(), s.name.clone(), why))
    .collect();
    let plan = RunPlan {
        profile,
        selection: Selection::new(RuleSet::Janssen, &[], None).expect("a valid selection"),
        strict: false,
        ledger: None,
        features: FeatureSource::Embedded,
        fault: None,
        quirks: vec![],
        concurrency: 8,
        progress: Arc::new(Silent),
    };
    let record = run_plan(plan).await;
    server.shutdown().await;
    let record = record.map_err(|e| e.to_string())?;
    let skipped: BTreeSet<(String, String, String)> = record
        .cases
        .iter()
        .filter(|c| c.verdict == Verdict::Skip)
        .map(|c| {
            (
                c.rule.clone(),
                c.scenario.clone(),
                c.reason.clone().unwrap_or_default(),
            )
        })
        .collect();
    if predicted.len() < 10 {
        return Err(format!(
            "  the profile predicts only {} skips: not a test of the policy\n",
            predicted.len()
        ));
    }
    if predicted != skipped {
        return Err(format!(
            "  doctor predicts but the run did not skip: {:#?}\n  the run skipped but doctor did not predict: {:#?}\n",
            predicted.difference(&skipped).collect::<Vec<_>>(),
            skipped.difference(&predicted).collect::<Vec<_>>()
        ));
    }
    Ok(())
}

/// Runs a case's future on a runtime of its own (the cucumber runs are not Send; the servers
/// they talk to run on the runtime's workers).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}

fn main() {
    let mut args = Arguments::from_args();
    // The runs mostly wait on their servers: many go at once unless told otherwise.
    if args.test_threads.is_none() {
        args.test_threads = Some(PARALLEL_RUNS);
    }
    let mut trials: Vec<Trial> = cases()
        .into_iter()
        .map(|case| {
            Trial::test(case.name.clone(), move || {
                block_on(check_case(case)).map_err(Into::into)
            })
        })
        .collect();
    trials.push(Trial::test("info_rules_record_what_changed", || {
        block_on(info_rules_record_what_changed()).map_err(Into::into)
    }));
    trials.push(Trial::test("doctor_predicts_the_runs_skips", || {
        block_on(doctor_predicts_the_runs_skips()).map_err(Into::into)
    }));
    trials.push(Trial::test("every_rule_can_be_failed", || {
        every_rule_can_be_failed().map_err(Into::into)
    }));
    libtest_mimic::run(&args, trials).exit();
}
