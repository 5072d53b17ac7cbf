//! A check run: from a validated [`RunPlan`] to a [`RunRecord`] (see [`run_plan`] for the
//! phases), with the expectations ledger applied. The command line, the reports on disk and
//! the exit code are `cli`'s.

use super::confirm::{confirm_alone, partition};
use super::cucumber::run_scenarios;
use super::plan::{CheckError, RunPlan};
use super::world::{GroupState, RunContext};
use crate::record::{RunInfo, RunRecord, SCHEMA_VERSION};
use crate::sut::preflight::{self, PreflightError};
use crate::sut::settings::SettingsSession;
use std::sync::{Arc, Mutex};
use std::time::Instant;

impl From<PreflightError> for CheckError {
    fn from(e: PreflightError) -> Self {
        match e {
            PreflightError::Profile(m) | PreflightError::Untrusted(m) => CheckError::Usage(m),
            PreflightError::Unusable(m) => CheckError::Unusable(m),
        }
    }
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
    let scenarios = crate::catalogue::features::scenarios(&features).map_err(CheckError::Usage)?;
    let parts = partition(&scenarios, &plan.selection);
    if parts.is_empty() {
        return Err(CheckError::Usage(
            "no scenario matches the selection (--rules, --rule, --tags)".into(),
        ));
    }
    let ready = preflight::prepare(&plan.profile).await?;
    let target = ready.target;
    let info = RunInfo {
        tool: "revspec".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        target: plan.profile.name.clone(),
        issuer: plan.profile.issuer.clone(),
        revocation_endpoint: target.endpoints.revocation.to_string(),
        profile: plan.selection.rule_set.as_str().into(),
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
    plan.progress.planned(parts.len());
    let ctx = Arc::new(RunContext {
        target,
        calibration: ready.calibration,
        group: Mutex::new(GroupState::Original),
        cases: Mutex::new(Vec::new()),
        progress: plan.progress.clone(),
    });
    let first = run_scenarios(&ctx, &features, parts.free, plan.concurrency)
        .await
        .map_err(CheckError::Usage)?;
    let mut cases = confirm_alone(&ctx, &features, first)
        .await
        .map_err(CheckError::Usage)?;
    tracing::info!(elapsed = ?started.elapsed(), "scenarios without setting changes done");
    let mut session = SettingsSession::new(&ctx.target);
    for (settings, keys) in parts.groups {
        // A group none of whose scenarios the profile can run changes nothing on the server:
        // its scenarios are skipped by their before-hook with the reason.
        let runnable = scenarios.iter().any(|s| {
            keys.contains(&s.key())
                && crate::sut::unmet::first_unmet(&ctx.target.profile, &s.requires).is_none()
        });
        let state = if settings.is_empty() || !runnable || ctx.target.http.unusable().is_some() {
            GroupState::Original
        } else {
            match session.enter(&ctx.target, &settings).await {
                Ok(()) => GroupState::Ready(settings.clone()),
                Err(e) => GroupState::Failed(e),
            }
        };
        *ctx.group.lock().unwrap_or_else(|p| p.into_inner()) = state;
        let group = run_scenarios(&ctx, &features, keys, 1)
            .await
            .map_err(CheckError::Usage)?;
        cases.extend(
            confirm_alone(&ctx, &features, group)
                .await
                .map_err(CheckError::Usage)?,
        );
        tracing::info!(elapsed = ?started.elapsed(), ?settings, "settings group done");
    }
    plan.progress.done();
    let warnings = if ctx.target.http.unusable().is_some() {
        vec![]
    } else {
        session.restore(&ctx.target).await
    };
    cases.sort_by(|a, b| {
        (
            a.profile != "rfc7009",
            &a.rule,
            &a.file,
            a.line,
            &a.scenario,
        )
            .cmp(&(
                b.profile != "rfc7009",
                &b.rule,
                &b.file,
                b.line,
                &b.scenario,
            ))
    });
    let mut record = RunRecord {
        schema_version: SCHEMA_VERSION,
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
