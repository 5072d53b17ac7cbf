//! The cucumber wiring: the in-memory feature parser, a writer that keeps only parse errors,
//! and one cucumber run over a set of scenarios with the hooks that start each scenario's
//! world (injecting the run's context, skipping what the target cannot offer) and turn it
//! into a case record when it ends.

use super::schedule::Schedule;
use super::world::{RevWorld, RunContext, ScenarioMeta};
use crate::catalogue::{Requirement, Scenario, ScenarioKey};
use crate::record::CaseRecord;
use cucumber::World as _;
use futures::FutureExt as _;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A cucumber parser over in-memory feature texts.
pub struct MemoryParser;

impl cucumber::Parser<Vec<(String, String)>> for MemoryParser {
    type Cli = cucumber::cli::Empty;
    type Output = futures::stream::Iter<
        std::vec::IntoIter<cucumber::parser::Result<cucumber::gherkin::Feature>>,
    >;

    fn parse(self, input: Vec<(String, String)>, _cli: Self::Cli) -> Self::Output {
        use cucumber::feature::Ext as _;
        let features: Vec<_> = input
            .into_iter()
            .map(|(path, text)| {
                let parsed = cucumber::gherkin::Feature::parse(
                    &text,
                    cucumber::gherkin::GherkinEnv::default(),
                )
                .map_err(|source| cucumber::gherkin::ParseFileError::Parsing {
                    path: PathBuf::from(&path),
                    error: None,
                    source,
                })
                .map(|mut f| {
                    f.path = Some(PathBuf::from(&path));
                    f
                });
                match parsed {
                    Ok(f) => f.expand_examples().map_err(cucumber::parser::Error::from),
                    Err(e) => Err(e.into()),
                }
            })
            .collect();
        futures::stream::iter(features)
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

fn path_of(feature: &cucumber::gherkin::Feature) -> String {
    feature
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// Starts a scenario's world: its identity, the run's context, and a SKIP (or ERROR) before
/// any step when the target cannot offer what the scenario requires.
fn start(ctx: Arc<RunContext>, world: &mut RevWorld, path: &str, sc: &cucumber::gherkin::Scenario) {
    let scenario = Scenario::from_gherkin(path, sc);
    let unusable = ctx.target.http.unusable();
    let requires: Vec<Requirement> = scenario
        .as_ref()
        .map(|s| s.requires.clone())
        .unwrap_or_default();
    let skip = crate::sut::unmet::first_unmet(&ctx.target.profile, &requires);
    let meta = match scenario {
        Ok(s) => ScenarioMeta {
            level: Some(s.level),
            profile: s.rule_set.as_str().into(),
            file: s.path.clone(),
            line: s.line,
            rule: s.rule,
            any_token: s.tags.iter().any(|t| t == "any-token"),
            request_shape: s.tags.iter().any(|t| t == "request-shape"),
            scenario: s.name,
            requirement: s.requirement,
        },
        Err(e) => {
            world.outcome.error(e);
            ScenarioMeta::default()
        }
    };
    world.start(ctx, meta);
    if let Some(why) = unusable {
        world.outcome.error(format!("not attempted: {why}"));
    }
    if let Some(why) = skip {
        world.outcome.skip(why);
    }
}

/// Runs the scenarios named by `keys` with cucumber, on this schedule, and returns their
/// records.
pub async fn run_scenarios(
    ctx: &Arc<RunContext>,
    features: &[(String, String)],
    keys: HashSet<ScenarioKey>,
    schedule: Schedule,
) -> Result<Vec<CaseRecord>, String> {
    if keys.is_empty() {
        return Ok(vec![]);
    }
    ctx.pace.begin(schedule);
    let parse_errors = Arc::new(Mutex::new(Vec::new()));
    let before_ctx = ctx.clone();
    let after_ctx = ctx.clone();
    RevWorld::cucumber::<PathBuf>()
        .with_parser(MemoryParser)
        .with_writer(Sink(parse_errors.clone()))
        .max_concurrent_scenarios(schedule.started())
        // `@serial` is the run's business (its groups and schedules), not cucumber's.
        .which_scenario(|_, _, _| cucumber::runner::ScenarioType::Concurrent)
        .before(move |feature, _rule, scenario, world| {
            let ctx = before_ctx.clone();
            async move {
                start(ctx, world, &path_of(feature), scenario);
                world.act().await;
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
                world.settle_at_end().await;
                let harness = harness.or_else(|| {
                    let total = scenario.steps.len();
                    (world.steps_run < total && !world.halted())
                        .then(|| format!("only {} of {total} steps ran", world.steps_run))
                });
                let record = world.finish(harness);
                ctx.progress.finished(&record.rule);
                ctx.cases
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(record);
            }
            .boxed_local()
        })
        .with_cli(cucumber::cli::Opts::<_, _, _, cucumber::cli::Empty>::default())
        .filter_run(features.to_vec(), move |feature, _, scenario| {
            keys.contains(&(
                path_of(feature),
                scenario.position.line,
                scenario.name.clone(),
            ))
        })
        .await;
    let errors = parse_errors
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    if !errors.is_empty() {
        return Err(format!("the scenarios do not parse: {}", errors.join("; ")));
    }
    Ok(std::mem::take(
        &mut *ctx.cases.lock().unwrap_or_else(|p| p.into_inner()),
    ))
}
