//! A check run: from a validated [`RunPlan`] to a [`RunRecord`] (see [`run_plan`] for the
//! phases), with the expectations ledger applied. The command line, the reports on disk and
//! the exit code are `cli`'s.

use super::catalogue::{self, FeatureSource, Level, MemoryParser};
use super::expectations::Ledger;
use super::world::{GroupState, Progress, RevWorld, RunContext, ScenarioMeta};
use crate::exit;
use crate::report::{CaseRecord, RunInfo, RunRecord, Verdict};
use crate::sut::settings::{Setting, SettingsSession};
use crate::sut::{Role, Target, TargetError, TargetProfile};
use cucumber::tag::Ext as _;
use cucumber::World as _;
use futures::FutureExt as _;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The reference server's profile, built in.
pub const REFERENCE_PROFILE: &str = include_str!("../../targets/reference.toml");
/// The example revoke script, built in (the in-process reference server loads it).
pub const EXAMPLE_SCRIPT: &str = include_str!("../../scripts/revoke.rhai");

/// Which scenarios run.
#[derive(Debug, Clone)]
pub struct Selection {
    pub profile: String,
    pub rules: Vec<String>,
    pub tags: Option<cucumber::gherkin::tagexpr::TagOperation>,
}

impl Selection {
    pub fn matches(&self, tags: &[String]) -> bool {
        let in_profile = catalogue::profiles_covered(&self.profile)
            .iter()
            .any(|p| tags.iter().any(|t| t == p));
        let rule_ok = self.rules.is_empty()
            || tags
                .iter()
                .filter_map(|t| t.strip_prefix("rule:"))
                .any(|id| self.rules.iter().any(|r| r == id));
        let tags_ok = self.tags.as_ref().is_none_or(|op| op.eval(tags.iter()));
        in_profile && rule_ok && tags_ok
    }
}

/// Everything a check run needs, validated.
pub struct RunPlan {
    pub profile: TargetProfile,
    pub selection: Selection,
    pub strict: bool,
    pub ledger: Option<(PathBuf, Ledger)>,
    pub features: FeatureSource,
    /// Informational: the fault the in-process reference server runs with.
    pub fault: Option<String>,
    /// Informational: its quirks.
    pub quirks: Vec<String>,
    /// How many scenarios run at once (@serial ones always run alone).
    pub concurrency: usize,
    /// Print progress to stderr (scenarios done / total, the current rule).
    pub progress: bool,
}

/// Why a run could not produce a record.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// Something the user wrote (profile, selection, features).
    #[error("{0}")]
    Usage(String),
    /// The target cannot be used: unreachable, broken answers, minting failed, or a probe
    /// that cannot be believed.
    #[error("{0}")]
    Unusable(String),
}

impl CheckError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CheckError::Usage(_) => exit::USAGE,
            CheckError::Unusable(_) => exit::UNREACHABLE,
        }
    }
}

/// Drops every cucumber event but parse errors, which it keeps (they fail the run).
struct Sink(Arc<Mutex<Vec<String>>>);

impl<W> cucumber::Writer<W> for Sink {
    type Cli = cucumber::cli::Empty;

    async fn handle_event(
        &mut self,
        event: cucumber::parser::Result<cucumber::Event<cucumber::event::Cucumber<W>>>,
        _cli: &Self::Cli,
    ) {
        if let Err(e) = event {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(e.to_string());
        }
    }
}

impl cucumber::writer::Normalized for Sink {}

fn scenario_level(tags: &[String], rule: &str) -> Level {
    tags.iter()
        .find_map(|t| Level::parse(t))
        .or_else(|| {
            catalogue::rules()
                .into_iter()
                .find(|r| r.id == rule)
                .map(|r| r.level)
        })
        .unwrap_or(Level::Must)
}

/// A scenario's identity: its file, line and (for outline examples) expanded name.
type ScenarioKey = (String, usize, String);

/// The selected scenarios: those that run under the server's own settings, and the groups of
/// `@serial` scenarios keyed by the settings they need (each group's settings change once).
#[derive(Debug)]
struct Partition {
    free: HashSet<ScenarioKey>,
    groups: BTreeMap<Vec<Setting>, HashSet<ScenarioKey>>,
}

fn partition(features: &[(String, String)], selection: &Selection) -> Result<Partition, String> {
    let mut free = HashSet::new();
    let mut groups: BTreeMap<Vec<Setting>, HashSet<ScenarioKey>> = BTreeMap::new();
    for (path, text) in features {
        let feature = catalogue::parse_feature(path, text)?;
        for scenario in &feature.scenarios {
            if !selection.matches(&scenario.tags) {
                continue;
            }
            let key = (path.clone(), scenario.position.line, scenario.name.clone());
            let mut settings = Vec::new();
            for tag in scenario
                .tags
                .iter()
                .filter_map(|t| t.strip_prefix("requires:setting:"))
            {
                settings.push(Setting::parse_tag(tag).ok_or_else(|| {
                    format!(
                        "{path}:{}: unknown setting tag @requires:setting:{tag}",
                        scenario.position.line
                    )
                })?);
            }
            settings.sort();
            let serial = scenario.tags.iter().any(|t| t == "serial");
            if settings.is_empty() && !serial {
                free.insert(key);
            } else {
                groups.entry(settings).or_default().insert(key);
            }
        }
    }
    Ok(Partition { free, groups })
}

/// Runs the scenarios named by `keys` with cucumber and returns their records.
async fn run_scenarios(
    ctx: &Arc<RunContext>,
    features: &[(String, String)],
    keys: HashSet<ScenarioKey>,
    concurrency: usize,
) -> Result<Vec<CaseRecord>, CheckError> {
    if keys.is_empty() {
        return Ok(vec![]);
    }
    let parse_errors = Arc::new(Mutex::new(Vec::new()));
    let before_ctx = ctx.clone();
    let after_ctx = ctx.clone();
    RevWorld::cucumber::<PathBuf>()
        .with_parser(MemoryParser)
        .with_writer(Sink(parse_errors.clone()))
        .max_concurrent_scenarios(concurrency.max(1))
        .before(move |feature, _rule, scenario, world| {
            let ctx = before_ctx.clone();
            async move {
                let rule = scenario
                    .tags
                    .iter()
                    .find_map(|t| t.strip_prefix("rule:"))
                    .unwrap_or("untagged")
                    .to_owned();
                let meta = ScenarioMeta {
                    level: Some(scenario_level(&scenario.tags, &rule)),
                    profile: if scenario.tags.iter().any(|t| t == "janssen") {
                        "janssen"
                    } else {
                        "rfc7009"
                    }
                    .into(),
                    rule,
                    scenario: scenario.name.clone(),
                    location: format!(
                        "{}:{}",
                        feature
                            .path
                            .as_ref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default(),
                        scenario.position.line
                    ),
                    requirement: scenario
                        .description
                        .as_deref()
                        .unwrap_or("")
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" "),
                };
                let profile = ctx.target.profile.clone();
                let unusable = ctx.target.http.unusable();
                world.start(ctx, meta);
                if let Some(why) = unusable {
                    world.outcome.error(format!("not attempted: {why}"));
                }
                for need in scenario
                    .tags
                    .iter()
                    .filter_map(|t| t.strip_prefix("requires:"))
                {
                    if let Some(false) = profile.capabilities.has(need, &profile) {
                        world
                            .outcome
                            .skip(format!("the target lacks the capability {need}"));
                    }
                }
            }
            .boxed_local()
        })
        .after(move |_feature, _rule, scenario, finished, world| {
            let ctx = after_ctx.clone();
            async move {
                use cucumber::event::ScenarioFinished as F;
                let harness = match finished {
                    F::StepFailed(_, _, e) => {
                        Some(format!("a step failed inside the harness: {e}"))
                    }
                    F::StepSkipped => {
                        Some("a step matches no step definition (see features/STEPS.md)".to_owned())
                    }
                    F::BeforeHookFailed(_) => Some("the before hook failed".to_owned()),
                    F::StepPassed => None,
                };
                let Some(world) = world else {
                    return;
                };
                world.settle_pending().await;
                let harness = harness.or_else(|| {
                    let total = scenario.steps.len();
                    (world.steps_run < total && !world.halted())
                        .then(|| format!("only {} of {total} steps ran", world.steps_run))
                });
                let record = world.finish(harness);
                ctx.progress.done.fetch_add(1, Ordering::Relaxed);
                *ctx.progress
                    .current
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = record.rule.clone();
                ctx.cases
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(record);
            }
            .boxed_local()
        })
        .with_cli(cucumber::cli::Opts::<_, _, _, cucumber::cli::Empty>::default())
        .filter_run(features.to_vec(), move |feature, _, scenario| {
            let path = feature
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            keys.contains(&(path, scenario.position.line, scenario.name.clone()))
        })
        .await;
    let errors = parse_errors
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    if !errors.is_empty() {
        return Err(CheckError::Usage(format!(
            "the scenarios do not parse: {}",
            errors.join("; ")
        )));
    }
    Ok(std::mem::take(
        &mut *ctx.cases.lock().unwrap_or_else(|p| p.into_inner()),
    ))
}

/// Prints `[done/total] rule` to stderr once a second, from the second second on.
fn spawn_progress(progress: Arc<Progress>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        loop {
            let current = progress
                .current
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            eprint!(
                "\r[{}/{}] {current:<60}",
                progress.done.load(Ordering::Relaxed),
                progress.total.load(Ordering::Relaxed)
            );
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    })
}

/// Whether a scenario's result could have been caused by another scenario running beside it:
/// it holds tokens another scenario's requests could have touched (or it stopped with an
/// error), and it did not come out clean.
fn needs_confirming(case: &CaseRecord) -> bool {
    let clean = match case.verdict {
        Verdict::Pass | Verdict::Skip => true,
        Verdict::Info => case.failed_checks().next().is_none(),
        _ => false,
    };
    !clean && (!case.tokens.is_empty() || case.verdict == Verdict::Error)
}

/// Runs each scenario that did not come out clean again, alone, after a quiet pause (so no
/// other scenario runs beside it and no earlier request's delayed effect lands in it), and
/// keeps that result. At any concurrency, this is what makes a verdict independent of what
/// ran next to the scenario.
async fn confirm_alone(
    ctx: &Arc<RunContext>,
    features: &[(String, String)],
    mut cases: Vec<CaseRecord>,
) -> Result<Vec<CaseRecord>, CheckError> {
    let t = &ctx.target.profile.timeouts;
    let quiet = t.stay_active_settle.max(t.propagation_window);
    let suspects: Vec<ScenarioKey> = cases
        .iter()
        .filter(|c| needs_confirming(c))
        .filter_map(key_of)
        .collect();
    for key in suspects {
        if ctx.target.http.unusable().is_some() {
            break;
        }
        tokio::time::sleep(quiet).await;
        let again = run_scenarios(ctx, features, HashSet::from([key]), 1).await?;
        for again in again {
            if let Some(first) = cases
                .iter_mut()
                .find(|c| c.location == again.location && c.scenario == again.scenario)
            {
                let first_verdict = first.verdict;
                *first = CaseRecord {
                    confirmed_alone: true,
                    first_verdict: Some(first_verdict),
                    ..again
                };
            }
        }
    }
    Ok(cases)
}

fn key_of(case: &CaseRecord) -> Option<ScenarioKey> {
    let (path, line) = case.location.rsplit_once(':')?;
    Some((path.to_owned(), line.parse().ok()?, case.scenario.clone()))
}

/// Runs a plan against its target; the record is returned even when rules fail.
///
/// The phases: connect and mint once (the target is usable); calibrate every probe (a probe
/// that cannot be believed stops the run); run the scenarios that need no setting change,
/// `concurrency` at a time; run again alone, after a quiet pause, each of them whose result
/// another could have caused; then, one group at a time, put a group's settings in place,
/// confirm them, run its scenarios one by one and confirm alone what did not come out clean;
/// finally restore every changed setting.
pub async fn run_plan(plan: RunPlan) -> Result<RunRecord, CheckError> {
    let started_wall = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let started = Instant::now();
    let features = plan.features.load().map_err(CheckError::Usage)?;
    let parts = partition(&features, &plan.selection).map_err(CheckError::Usage)?;
    if parts.free.is_empty() && parts.groups.is_empty() {
        return Err(CheckError::Usage(
            "no scenario matches the selection (--profile, --rule, --tags)".into(),
        ));
    }
    let target = Target::connect(plan.profile.clone())
        .await
        .map_err(|e| match e {
            TargetError::Profile(m) => CheckError::Usage(m),
            TargetError::Unreachable(m) | TargetError::Minting(m) => CheckError::Unusable(m),
        })?;
    // A token for the primary client must be obtainable, or nothing can be checked.
    let (_, minted) = target.mint(Role::Primary).await;
    if let Err(e) = minted {
        return Err(CheckError::Unusable(e.to_string()));
    }
    let calibration = crate::sut::probe::calibrate(&target).await;
    if let Some(why) = target.http.unusable() {
        return Err(CheckError::Unusable(format!(
            "the target stopped answering while its probes were calibrated: {why}"
        )));
    }
    let refusals = calibration.refusals();
    if !refusals.is_empty() {
        return Err(CheckError::Unusable(format!(
            "a probe cannot be believed on this target, so no scenario was run:\n  {}",
            refusals.join("\n  ")
        )));
    }
    let info = RunInfo {
        tool: "revspec".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        target: plan.profile.name.clone(),
        issuer: plan.profile.issuer.clone(),
        revocation_endpoint: target.endpoints.revocation.to_string(),
        profile: plan.selection.profile.clone(),
        strict: plan.strict,
        expectations: plan.ledger.as_ref().map(|(p, _)| p.display().to_string()),
        started: started_wall,
        duration_ms: 0.0,
        fault: plan.fault.clone(),
        quirks: plan.quirks.clone(),
        concurrency: plan.concurrency,
        warnings: vec![],
        unusable: None,
    };
    let progress = Arc::new(Progress::default());
    progress.total.store(
        parts.free.len() + parts.groups.values().map(HashSet::len).sum::<usize>(),
        Ordering::Relaxed,
    );
    let ticker = plan.progress.then(|| spawn_progress(progress.clone()));
    let ctx = Arc::new(RunContext {
        target,
        calibration,
        group: Mutex::new(GroupState::Original),
        cases: Mutex::new(Vec::new()),
        progress,
    });
    let first = run_scenarios(&ctx, &features, parts.free, plan.concurrency).await?;
    let mut cases = confirm_alone(&ctx, &features, first).await?;
    tracing::info!(elapsed = ?started.elapsed(), "scenarios without setting changes done");
    let mut session = SettingsSession::new(&ctx.target);
    for (settings, keys) in parts.groups {
        let state = if settings.is_empty() || ctx.target.http.unusable().is_some() {
            GroupState::Original
        } else {
            match session.enter(&ctx.target, &settings).await {
                Ok(()) => GroupState::Ready(settings.clone()),
                Err(e) => GroupState::Failed(e),
            }
        };
        *ctx.group.lock().unwrap_or_else(|p| p.into_inner()) = state;
        let group = run_scenarios(&ctx, &features, keys, 1).await?;
        cases.extend(confirm_alone(&ctx, &features, group).await?);
        tracing::info!(elapsed = ?started.elapsed(), ?settings, "settings group done");
    }
    if let Some(ticker) = ticker {
        ticker.abort();
        eprintln!();
    }
    let warnings = if ctx.target.http.unusable().is_some() {
        vec![]
    } else {
        session.restore(&ctx.target).await
    };
    cases.sort_by(|a, b| {
        (a.profile != "rfc7009", &a.rule, &a.location, &a.scenario).cmp(&(
            b.profile != "rfc7009",
            &b.rule,
            &b.location,
            &b.scenario,
        ))
    });
    let mut record = RunRecord {
        run: RunInfo {
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            warnings,
            unusable: ctx.target.http.unusable(),
            ..info
        },
        calibration: ctx.calibration.clone(),
        settings: session.records,
        cases,
    };
    if let Some((_, ledger)) = &plan.ledger {
        ledger.apply(&mut record);
    }
    Ok(record)
}

/// The reference server's options for an in-process run.
pub fn reference_options(fault: Option<crate::faults::Fault>) -> crate::server::ServeOptions {
    crate::server::ServeOptions {
        fault,
        script_source: Some(EXAMPLE_SCRIPT.to_owned()),
        ..Default::default()
    }
}

/// The built-in reference profile, pointed at `base_url`.
pub fn reference_profile(base_url: &str) -> TargetProfile {
    let mut profile = TargetProfile::from_toml(REFERENCE_PROFILE, "targets/reference.toml")
        .expect("the built-in profile parses");
    profile.issuer = base_url.to_owned();
    profile.source = PathBuf::from("targets/reference.toml (built in)");
    profile
}

pub fn selection(
    profile: &str,
    rules: Vec<String>,
    tags: Option<&str>,
) -> Result<Selection, String> {
    if !matches!(profile, "rfc7009" | "janssen") {
        return Err(format!("--profile: '{profile}' is not rfc7009 or janssen"));
    }
    let known: Vec<String> = catalogue::rules().into_iter().map(|r| r.id).collect();
    if let Some(bad) = rules.iter().find(|r| !known.contains(r)) {
        return Err(format!(
            "--rule: '{bad}' is not a rule ID (see `revspec list`)"
        ));
    }
    let tags = tags
        .map(|t| {
            t.parse()
                .map_err(|e| format!("--tags: '{t}' is not a tag expression: {e}"))
        })
        .transpose()?;
    Ok(Selection {
        profile: profile.to_owned(),
        rules,
        tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_by_profile_rule_and_tags() {
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let s = selection("rfc7009", vec![], None).unwrap();
        assert!(s.matches(&tags(&["rfc7009", "MUST"])));
        assert!(!s.matches(&tags(&["janssen", "MUST"])));
        let s = selection("janssen", vec!["jans-all-enabled".into()], None).unwrap();
        assert!(s.matches(&tags(&["janssen", "rule:jans-all-enabled"])));
        assert!(!s.matches(&tags(&["janssen", "rule:jans-all-disabled"])));
        let s = selection("janssen", vec![], Some("@MUST and not @serial")).unwrap();
        assert!(s.matches(&tags(&["rfc7009", "MUST"])));
        assert!(!s.matches(&tags(&["rfc7009", "MUST", "serial"])));
        assert!(selection("oidc", vec![], None)
            .unwrap_err()
            .contains("--profile"));
        assert!(selection("janssen", vec!["nope".into()], None)
            .unwrap_err()
            .contains("nope"));
    }

    #[test]
    fn only_unclean_scenarios_that_hold_tokens_or_errored_are_confirmed_alone() {
        use crate::report::fixtures::case;
        let mut failing = case("r", Verdict::Fail);
        assert!(
            !needs_confirming(&failing),
            "no token: nothing another scenario could touch"
        );
        failing.tokens = vec!["the access token".into()];
        assert!(needs_confirming(&failing));
        assert!(needs_confirming(&case("r", Verdict::Error)));
        let mut passing = case("r", Verdict::Pass);
        passing.tokens = vec!["the access token".into()];
        assert!(!needs_confirming(&passing));
        let mut skipped = passing.clone();
        skipped.verdict = Verdict::Skip;
        assert!(!needs_confirming(&skipped));
    }

    #[test]
    fn settings_tags_make_groups_and_unknown_ones_are_refused() {
        let features = vec![(
            "f.feature".to_string(),
            "Feature: f\n\n  @rule:a @rfc7009\n  Scenario: free\n    Given x\n\n  @rule:b @rfc7009 @serial @requires:setting:allowAllValueForRevokeEndpoint=true\n  Scenario: grouped\n    Given x\n\n  @rule:c @rfc7009 @serial @requires:setting:allowAllValueForRevokeEndpoint=true\n  Scenario: grouped too\n    Given x\n".to_string(),
        )];
        let s = selection("rfc7009", vec![], None).unwrap();
        let p = partition(&features, &s).unwrap();
        assert_eq!(p.free.len(), 1);
        assert_eq!(p.groups.len(), 1);
        let group = p
            .groups
            .get(&vec![Setting::AllowAllValueForRevokeEndpoint(true)])
            .unwrap();
        assert_eq!(group.len(), 2);
        let bad = vec![(
            "g.feature".to_string(),
            features[0].1.replace("=true", "=maybe"),
        )];
        assert!(partition(&bad, &s)
            .unwrap_err()
            .contains("unknown setting tag"));
    }

    #[test]
    fn the_built_in_profile_parses() {
        let p = reference_profile("http://127.0.0.1:1");
        assert_eq!(p.issuer, "http://127.0.0.1:1");
        assert!(p.capabilities.public_client);
    }
}
