//! The load tester (`revspec load`): builds a goose attack from a load profile (`profile`)
//! against any target, with the transactions in `transactions` making the requests of
//! `request`, writes goose's HTML, JSON and Markdown reports plus a summary (`summary`, a
//! `record::load::LoadSummary`), checks under load that a sample of revocations really holds,
//! and says what the run comes to (`verdict`). It never prints and knows no exit code: progress
//! goes to a [`LoadProgress`] the caller gives.

pub mod profile;
pub mod request;
pub mod summary;
pub mod transactions;
pub mod verdict;

use crate::catalogue::Setting;
use crate::record::load::LoadSummary;
use crate::sut::preflight::{self, PreflightError};
use crate::sut::settings::SettingsSession;
use crate::sut::{Target, TargetProfile};
use profile::{LoadProfile, TransactionKind};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
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
            .enter(target, &[Setting::AllowAllValueForRevokeEndpoint(true)])
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

/// Runs a plan: preflight, the goose attack, the correctness count and the summary.
pub async fn run_plan(plan: LoadPlan) -> Result<LoadSummary, LoadError> {
    let target = preflight::connect(&plan.target).await?;
    let mut session = preflight(&target, &plan.profile).await?;
    let target = Arc::new(target);
    let acks = plan
        .record_acks
        .as_deref()
        .map(transactions::AckRecord::create)
        .transpose()
        .map_err(LoadError::Usage)?;
    let state =
        Arc::new(LoadState::new(target.clone(), &plan.profile, acks).map_err(LoadError::Usage)?);
    std::fs::create_dir_all(&plan.report_dir)
        .map_err(|e| LoadError::Usage(format!("{}: {e}", plan.report_dir.display())))?;
    let attack = transactions::build_attack(&state, &plan.profile, &plan.report_dir)
        .map_err(|e| LoadError::Usage(format!("goose: {e}")))?;
    let started = Instant::now();
    let progress = plan.progress.clone().map(|sink| {
        let state = state.clone();
        let run_time = plan.profile.run_time + plan.profile.ramp_up;
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
    if let Some(p) = progress {
        p.abort();
    }
    let warnings = session.restore(&target).await;
    let metrics = result.map_err(|e| LoadError::Goose(e.to_string()))?;
    let mut summary = summary::from_metrics(&plan.profile, &metrics, &state, &plan.report_dir);
    summary.warnings = warnings;
    Ok(summary)
}
