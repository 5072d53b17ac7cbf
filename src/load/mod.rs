//! The load tester (`revspec load`): builds a goose attack from a load profile (`profile`)
//! against any target, with the transactions in `transactions` making the requests of
//! `request`, writes goose's HTML, JSON and Markdown reports, measures every request itself
//! (an HDR latency histogram and the counts per request, `record::shard::Measurements`) and
//! makes the summary of that (`summary`, a `record::load::LoadSummary`), checks under load that
//! a sample of revocations really holds, and says what the run comes to (`verdict`). A run may
//! be one shard of a run spread over machines (`shard`: its slice of the users, a shared start
//! time, its measurements kept for the merge); `merge` puts the shards back together into the
//! summary a single run would have written. It never prints and knows no exit code: progress
//! goes to a [`LoadProgress`] the caller gives.

pub mod merge;
pub mod profile;
pub mod request;
pub mod shard;
pub mod summary;
pub mod transactions;
pub mod verdict;

use crate::catalogue::Setting;
use crate::record::load::LoadSummary;
use crate::record::shard::{ShardHeader, ShardRecord};
use crate::sut::preflight::{self, PreflightError};
use crate::sut::settings::SettingsSession;
use crate::sut::{Target, TargetProfile};
use profile::{LoadProfile, TransactionKind};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use transactions::LoadState;

/// How far a load run is, every few seconds.
#[derive(Debug, Clone)]
pub struct LoadTick {
    pub elapsed: Duration,
    pub run_time: Duration,
    pub revocations: u64,
    pub sampled: u64,
    pub not_held: u64,
    pub probe_errors: u64,
}

/// Receives a load run's progress.
pub trait LoadProgress: Send + Sync {
    fn tick(&self, tick: &LoadTick);
}

/// Why a load run could not run or did not pass.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Unreachable(String),
    #[error("load test failed: {0}")]
    Goose(String),
}

impl From<PreflightError> for LoadError {
    fn from(e: PreflightError) -> Self {
        match e {
            PreflightError::Profile(m) | PreflightError::Untrusted(m) => LoadError::Usage(m),
            PreflightError::Unusable(m) => LoadError::Unreachable(m),
        }
    }
}

/// A validated load run.
pub struct LoadPlan {
    pub target: TargetProfile,
    pub profile: LoadProfile,
    pub report_dir: PathBuf,
    pub baseline: Option<LoadSummary>,
    /// Where progress goes (none: silent).
    pub progress: Option<Arc<dyn LoadProgress>>,
    /// Write the record of acknowledged operations here (see [`transactions::AckRecord`]).
    pub record_acks: Option<PathBuf>,
}

/// Checks, before any traffic, that the target can serve every transaction of the profile,
/// and puts in place (confirmed) the settings it needs; the session restores them afterwards.
async fn preflight(target: &Target, profile: &LoadProfile) -> Result<SettingsSession, LoadError> {
    let kinds: Vec<TransactionKind> = profile.transactions.iter().map(|t| t.kind).collect();
    let usage = |m: String| LoadError::Usage(format!("{}: {m}", profile.name));
    if kinds.iter().any(|k| k.needs_refresh_tokens()) && !target.mints_refresh_tokens() {
        return Err(usage(
            "a transaction needs refresh tokens, and the target's token source gives none".into(),
        ));
    }
    if kinds.iter().any(|k| k.revokes()) {
        for kind in crate::catalogue::TokenType::ALL {
            if target.probe_kind(kind) == crate::sut::ProbeKind::None {
                return Err(usage(
                    "revocations are checked under load, and the target names no probe".into(),
                ));
            }
        }
    }
    preflight::mint_primary(target).await?;
    let mut session = SettingsSession::new(target);
    if kinds.contains(&TransactionKind::RevokeAll) {
        if let Err(why) = session
            .enter_one(target, Setting::AllowAllValueForRevokeEndpoint(true))
            .await
        {
            session.restore(target).await;
            return Err(usage(format!(
                "revoke-all needs allowAllValueForRevokeEndpoint=true: {why}"
            )));
        }
    }
    Ok(session)
}

/// What a run comes to: its summary, and for a shard its part of the whole.
pub struct LoadRun {
    pub summary: LoadSummary,
    /// For a shard (`--shard`): what `revspec load merge` reads back (`shard.json`).
    pub shard: Option<ShardRecord>,
}

/// Runs a plan: preflight, the goose attack, the correctness count and the summary.
pub async fn run_plan(plan: LoadPlan) -> Result<LoadSummary, LoadError> {
    run(plan, None).await.map(|r| r.summary)
}

/// Runs a plan, whole or as one shard: preflight (of the whole profile, so every shard refuses
/// alike), then for a shard the wait for the shared start time and its slice of the users,
/// the goose attack, and the summary of what was measured.
pub async fn run(plan: LoadPlan, shard: Option<shard::ShardPlan>) -> Result<LoadRun, LoadError> {
    let profile = match &shard {
        Some(s) => shard::slice(&plan.profile, s.id).map_err(LoadError::Usage)?,
        None => plan.profile.clone(),
    };
    let target = preflight::connect(&plan.target).await?;
    let mut session = preflight(&target, &plan.profile).await?;
    let target = Arc::new(target);
    let acks = match plan
        .record_acks
        .as_deref()
        .map(transactions::AckRecord::create)
        .transpose()
    {
        Ok(acks) => acks,
        Err(e) => {
            session.restore(&target).await;
            return Err(LoadError::Usage(e));
        }
    };
    let mut state = LoadState::new(target.clone(), &profile, acks).map_err(LoadError::Usage)?;
    if let Some(s) = &shard {
        state = state.with_users(shard::users_of(&plan.profile, s.id));
    }
    let state = Arc::new(state);
    std::fs::create_dir_all(&plan.report_dir)
        .map_err(|e| LoadError::Usage(format!("{}: {e}", plan.report_dir.display())))?;
    let attack = transactions::build_attack(&state, &profile, &plan.report_dir)
        .map_err(|e| LoadError::Usage(format!("goose: {e}")))?;
    let mut shard_warnings = Vec::new();
    if let Some(at) = shard.as_ref().and_then(|s| s.start_at) {
        match at.duration_since(SystemTime::now()) {
            Ok(wait) => tokio::time::sleep(wait).await,
            Err(late) if late.duration() > shard::START_AT_GRACE => {
                shard_warnings.push(format!(
                    "started {:.1} s after --start-at (the preflight ended late): this shard's window is that much later than the others'",
                    late.duration().as_secs_f64()
                ));
            }
            Err(_) => {}
        }
    }
    let started_at = SystemTime::now();
    let started = Instant::now();
    // As goose resets its metrics once every user has started: what is measured is the run
    // time after the ramp-up (goose counts whole seconds).
    let run_time = Duration::from_secs(profile.run_time.as_secs().max(1));
    let from = started + profile.ramp_up;
    state.measure_between(from, from + run_time);
    let progress = plan.progress.clone().map(|sink| {
        let state = state.clone();
        let run_time = profile.run_time + profile.ramp_up;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                sink.tick(&LoadTick {
                    elapsed: started.elapsed(),
                    run_time,
                    revocations: state.revocations.load(Ordering::Relaxed),
                    sampled: state.sampled.load(Ordering::Relaxed),
                    not_held: state.not_held.load(Ordering::Relaxed),
                    probe_errors: state.probe_errors.load(Ordering::Relaxed),
                });
            }
        })
    });
    let result = attack.execute().await;
    let ended = Instant::now();
    if let Some(p) = progress {
        p.abort();
    }
    let warnings = session.restore(&target).await;
    result.map_err(|e| LoadError::Goose(e.to_string()))?;
    let measured_s = ended
        .min(from + run_time)
        .saturating_duration_since(from)
        .as_secs_f64();
    let measured = state.measurements();
    let mut summary = summary::of_run(&profile, &measured, measured_s, &plan.report_dir);
    summary.warnings = warnings.clone();
    let shard = shard.map(|s| {
        summary.shard = Some(s.id.to_string());
        summary.notes.push(format!(
            "shard {} of a sharded run: its thresholds and correctness are judged once, on all the shards, by `revspec load merge`",
            s.id
        ));
        summary.thresholds = Default::default();
        ShardRecord {
            header: ShardHeader {
                profile: s.profile,
                target: format!("{} ({})", plan.target.name, plan.target.issuer),
                shard: s.id,
                start_at_unix_ms: s.start_at.map(shard::unix_ms),
                started_unix_ms: shard::unix_ms(started_at),
                started: shard::rfc3339(started_at),
                users: profile.users,
                total_users: plan.profile.users,
                ramp_up_s: profile.ramp_up.as_secs_f64(),
                run_time_s: run_time.as_secs_f64(),
                measured_s,
                thresholds: (&plan.profile.thresholds).into(),
                warnings: shard_warnings.into_iter().chain(warnings).collect(),
            },
            measured,
        }
    });
    Ok(LoadRun { summary, shard })
}
