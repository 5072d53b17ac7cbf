//! A check run: from a validated [`RunPlan`] to a [`RunRecord`] (see [`run_plan`] for the
//! phases), with the expectations ledger applied. The command line, the reports on disk and
//! the exit code are `cli`'s.

use super::confirm::{confirm_alone, partition};
use super::cucumber::run_scenarios;
use super::plan::{CheckError, RunPlan};
use super::schedule::Schedule;
use super::world::{GroupState, RunContext};
use crate::record::{RunInfo, RunRecord, Timing, SCHEMA_VERSION};
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
    tracing::info!(elapsed = ?started.elapsed(), "target connected and probes calibrated");
    let mut timing = Timing::default();
    timing.add(
        "connect and calibrate",
        started.elapsed(),
        ready.calibration.waited(),
    );
    let mut phase = Instant::now();
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
        timing: None,
    };
    plan.progress.planned(parts.len());
    let ctx = Arc::new(RunContext {
        target,
        calibration: ready.calibration,
        group: Mutex::new(GroupState::Original),
        cases: Mutex::new(Vec::new()),
        progress: plan.progress.clone(),
        pace: Default::default(),
    });
    let (free, grouped) = if plan.concurrency > 1 {
        (
            Schedule::Together(plan.concurrency),
            Schedule::OneAtATime {
                waiting: plan.concurrency,
            },
        )
    } else {
        (Schedule::Alone, Schedule::Alone)
    };
    let first = run_scenarios(&ctx, &features, parts.free, free)
        .await
        .map_err(CheckError::Usage)?;
    let floor = Timing::longest_wait(&first);
    let (mut cases, alone) = confirm_alone(&ctx, &features, first)
        .await
        .map_err(CheckError::Usage)?;
    timing.add(
        "scenarios without setting changes",
        phase.elapsed(),
        floor + alone,
    );
    tracing::info!(elapsed = ?started.elapsed(), "scenarios without setting changes done");
    let mut session = SettingsSession::new(&ctx.target);
    let groups = session
        .order(&ctx.target, parts.groups.into_iter().collect())
        .await;
    for (settings, keys) in groups {
        phase = Instant::now();
        let entered = session.waited;
        // A group none of whose scenarios the profile can run changes nothing on the server:
        // its scenarios are skipped by their before-hook with the reason.
        let runnable = scenarios.iter().any(|s| {
            keys.contains(&s.key())
                && crate::sut::unmet::first_unmet(&ctx.target.profile, &s.requires).is_none()
        });
        let state = if settings.is_empty() || !runnable || ctx.target.http.unusable().is_some() {
            GroupState::Original
        } else {
            GroupState::Entered(session.enter(&ctx.target, &settings).await)
        };
        *ctx.group.lock().unwrap_or_else(|p| p.into_inner()) = state;
        let group = run_scenarios(&ctx, &features, keys, grouped)
            .await
            .map_err(CheckError::Usage)?;
        let floor = session.waited - entered + Timing::longest_wait(&group);
        let (group, alone) = confirm_alone(&ctx, &features, group)
            .await
            .map_err(CheckError::Usage)?;
        cases.extend(group);
        let named: Vec<String> = settings.iter().map(|s| s.describe()).collect();
        timing.add(
            format!("settings {}", named.join(", ")),
            phase.elapsed(),
            floor + alone,
        );
        tracing::info!(elapsed = ?started.elapsed(), ?settings, "settings group done");
    }
    plan.progress.done();
    phase = Instant::now();
    let restoring = session.waited;
    let warnings = if ctx.target.http.unusable().is_some() {
        vec![]
    } else {
        session.restore(&ctx.target).await
    };
    timing.add("restore", phase.elapsed(), session.waited - restoring);
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
            timing: Some(timing),
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
