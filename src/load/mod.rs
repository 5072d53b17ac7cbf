//! The load tester (`revspec load`): builds a goose attack from a load profile (`profile`)
//! against any target, with the transactions in `transactions`, writes goose's HTML, JSON and
//! Markdown reports plus a summary (`summary`), checks under load that a sample of revocations
//! really holds, and gates on the profile's thresholds.

pub mod profile;
pub mod summary;
pub mod transactions;

use crate::exit;
use crate::sut::settings::{Setting, SettingsSession};
use crate::sut::{Target, TargetError, TargetProfile};
use profile::{LoadProfile, TransactionKind};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use summary::LoadSummary;
use transactions::LoadState;

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

impl LoadError {
    pub fn exit_code(&self) -> i32 {
        match self {
            LoadError::Usage(_) => exit::USAGE,
            LoadError::Unreachable(_) => exit::UNREACHABLE,
            LoadError::Goose(_) => exit::FAILURES,
        }
    }
}

/// A validated load run.
pub struct LoadPlan {
    pub target: TargetProfile,
    pub profile: LoadProfile,
    pub report_dir: PathBuf,
    pub baseline: Option<LoadSummary>,
    /// Print a progress line every few seconds.
    pub progress: bool,
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
        for kind in [crate::sut::Kind::Access, crate::sut::Kind::Refresh] {
            if target.probe_kind(kind) == crate::sut::ProbeKind::None {
                return Err(usage(
                    "revocations are checked under load, and the target names no probe".into(),
                ));
            }
        }
    }
    let (_, minted) = target.mint(crate::sut::Role::Primary).await;
    if let Err(e) = minted {
        return Err(LoadError::Unreachable(e.to_string()));
    }
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
    let target = Target::connect(plan.target.clone())
        .await
        .map_err(|e| match e {
            TargetError::Profile(m) => LoadError::Usage(m),
            TargetError::Unreachable(m) | TargetError::Minting(m) => LoadError::Unreachable(m),
        })?;
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
    let progress = plan.progress.then(|| {
        let state = state.clone();
        let run_time = plan.profile.run_time + plan.profile.ramp_up;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                eprintln!(
                    "[{:>4.0}s / {:.0}s] revocations {}, sampled {}, not held {}, probe errors {}",
                    started.elapsed().as_secs_f64(),
                    run_time.as_secs_f64(),
                    state.revocations.load(Ordering::Relaxed),
                    state.sampled.load(Ordering::Relaxed),
                    state.not_held.load(Ordering::Relaxed),
                    state.probe_errors.load(Ordering::Relaxed),
                );
            }
        })
    });
    let result = attack.execute().await;
    if let Some(p) = progress {
        p.abort();
    }
    for problem in session.restore(&target).await {
        eprintln!("warning: {problem}");
    }
    let metrics = result.map_err(|e| LoadError::Goose(e.to_string()))?;
    let summary = LoadSummary::from_metrics(&plan.profile, &metrics, &state, &plan.report_dir);
    summary
        .write(&plan.report_dir)
        .map_err(|e| LoadError::Usage(format!("{}: {e}", plan.report_dir.display())))?;
    Ok(summary)
}
