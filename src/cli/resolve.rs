//! From raw arguments (with the profile file and the environment) to a validated plan, in one
//! step per command (ripgrep's "low args, then high args"): which target (a profile file, or
//! the built-in reference server with `--fault`), which rule set by default, and the check
//! plan. Every error names the flag or the file.

use super::CheckArgs;
use crate::catalogue::{FeatureSource, RuleSet};
use crate::conformance::expectations::Ledger;
use crate::conformance::progress::{Progress, Silent};
use crate::conformance::{CheckError, RunPlan, Selection};
use crate::server::RunningServer;
use crate::sut::profile::AdapterKind;
use crate::sut::TargetProfile;
use std::path::Path;
use std::sync::Arc;

/// The target of a `check` or `load`: a profile file, or (without `--target`) the reference
/// server started in-process on a free loopback port, with `--fault` if given. The server, if
/// any, is returned so the caller keeps it alive and shuts it down.
pub async fn target(
    target: Option<&Path>,
    fault: Option<&str>,
) -> Result<(TargetProfile, Option<RunningServer>), String> {
    let fault = fault
        .map(str::parse::<crate::faults::Fault>)
        .transpose()
        .map_err(|e| format!("--fault: {e}"))?;
    match (target, fault) {
        (Some(_), Some(_)) => {
            Err("--fault applies only to the built-in reference server (no --target)".into())
        }
        (Some(path), None) => Ok((
            TargetProfile::from_file(path).map_err(|e| e.to_string())?,
            None,
        )),
        (None, fault) => {
            let (profile, server) = crate::reference::start(fault).await?;
            Ok((profile, Some(server)))
        }
    }
}

/// The rule set a target is checked with by default: `janssen` for a Janssen-like target (the
/// built-in reference server, or any profile whose settings go through the Janssen Config
/// API), `rfc7009` otherwise.
pub fn default_rule_set(profile: &TargetProfile, built_in: bool) -> RuleSet {
    if built_in || profile.settings.adapter == AdapterKind::JanssenConfigApi {
        RuleSet::Janssen
    } else {
        RuleSet::Rfc7009
    }
}

/// Whether progress is shown: `auto` when stderr is a terminal.
pub fn progress_wanted(flag: &str) -> bool {
    match flag {
        "always" => true,
        "never" => false,
        _ => std::io::IsTerminal::is_terminal(&std::io::stderr()),
    }
}

/// The plan of a `check`, from its arguments and its resolved target.
pub fn check_plan(
    args: &CheckArgs,
    mut profile: TargetProfile,
    built_in: bool,
    progress: Option<Arc<dyn Progress>>,
) -> Result<RunPlan, CheckError> {
    let usage = CheckError::Usage;
    if let Some(limit) = args.max_run_time {
        if limit.is_zero() {
            return Err(usage(
                "--max-run-time: 0 would end the run before its first request".into(),
            ));
        }
        profile.timeouts.run = limit;
    }
    let ledger = args
        .expectations
        .as_ref()
        .map(|p| Ledger::from_file(p).map(|l| (p.clone(), l)))
        .transpose()
        .map_err(usage)?;
    let features = match &args.features {
        Some(dir) => FeatureSource::Dir(dir.clone()),
        None => FeatureSource::Embedded,
    };
    let rule_set = args
        .rule_set
        .unwrap_or_else(|| default_rule_set(&profile, built_in));
    let selection = Selection::new(rule_set, &args.rules, args.tags.as_deref()).map_err(usage)?;
    Ok(RunPlan {
        profile,
        selection,
        strict: args.strict,
        ledger,
        features,
        fault: args.fault.clone(),
        quirks: vec![],
        concurrency: args.concurrency,
        progress: progress.unwrap_or_else(|| Arc::new(Silent)),
    })
}
