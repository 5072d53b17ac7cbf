//! `revspec load`: from arguments to a load plan, the run, the summary and the exit code.

use super::LoadArgs;
use crate::exit;
use crate::load::summary::LoadSummary;
use crate::load::{profile::LoadProfile, run_plan, LoadError, LoadPlan};
use std::path::PathBuf;

/// `revspec load`.
pub async fn run(args: LoadArgs) -> i32 {
    match load(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", crate::report::escape::visible(&e.to_string()));
            e.exit_code()
        }
    }
}

async fn load(args: LoadArgs) -> Result<i32, LoadError> {
    let usage = LoadError::Usage;
    let mut profile = LoadProfile::from_file(&args.profile).map_err(usage)?;
    if let Some(users) = args.users {
        profile.users = users;
    }
    if let Some(run_time) = &args.run_time {
        profile.run_time = humantime::parse_duration(run_time)
            .map_err(|e| LoadError::Usage(format!("--run-time '{run_time}': {e}")))?;
    }
    profile
        .validate()
        .map_err(|e| LoadError::Usage(format!("{}: {e}", args.profile.display())))?;
    let baseline = args
        .baseline
        .as_deref()
        .map(LoadSummary::read)
        .transpose()
        .map_err(usage)?;
    // Without --target the reference server runs in-process (see README for why).
    let (target, server) = super::resolve_target(args.target.as_deref(), args.fault.as_deref())
        .await
        .map_err(usage)?;
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace(':', "-");
    let report_dir = args.report_dir.clone().unwrap_or_else(|| {
        PathBuf::from("reports/load")
            .join(&profile.name)
            .join(stamp)
    });
    let plan = LoadPlan {
        target,
        profile,
        report_dir,
        baseline,
        progress: true,
        record_acks: args.record_acks.clone(),
    };
    let baseline = plan.baseline.clone();
    let result = run_plan(plan).await;
    if let Some(s) = server {
        s.shutdown().await;
    }
    let summary = result?;
    super::print_out(&summary.render(baseline.as_ref()));
    if let Some(why) = &summary.unusable {
        eprintln!(
            "error: target unusable: {}",
            crate::report::escape::visible(why)
        );
        return Ok(exit::UNREACHABLE);
    }
    let missed = summary.missed_thresholds();
    let c = &summary.correctness;
    let revokes = summary
        .requests
        .iter()
        .any(|r| r.name.contains("revoke (") && !r.name.contains("unknown"));
    let unobserved = if c.not_held > 0 {
        Some(format!(
            "{} sampled revocations did not hold (the token was still active after the 200)",
            c.not_held
        ))
    } else if c.probe_errors > 0 {
        Some(format!(
            "{} sampled revocations could not be observed (probe errors)",
            c.probe_errors
        ))
    } else if revokes && c.sampled == 0 {
        Some("the run revoked tokens but observed none of them".into())
    } else {
        None
    };
    if let Some(why) = unobserved {
        eprintln!("FAILED: {why}");
        return Ok(exit::FAILURES);
    }
    if !missed.is_empty() {
        for m in &missed {
            eprintln!("THRESHOLD MISSED: {m}");
        }
        return Ok(exit::FAILURES);
    }
    Ok(exit::OK)
}
