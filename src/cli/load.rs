//! `revspec load`: from arguments to a load plan, the run, the summary and its reports, the
//! verdict on stderr and the exit code.

use super::exit::Exit;
use super::LoadArgs;
use crate::load::verdict::{verdict, LoadVerdict};
use crate::load::{profile::LoadProfile, run_plan, LoadError, LoadPlan};
use crate::record::load::LoadSummary;
use std::path::PathBuf;
use std::sync::Arc;

/// `revspec load`.
pub async fn run(args: LoadArgs) -> Exit {
    match load(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", crate::text::visible(&e.to_string()));
            Exit::from(&e)
        }
    }
}

/// `reports/load/<name>/<time>/`: the load profile's name made one safe path component, so a
/// shared profile's name cannot write elsewhere (`../..`).
fn default_report_dir(name: &str, at: std::time::SystemTime) -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(at)
        .to_string()
        .replace(':', "-");
    PathBuf::from("reports/load")
        .join(super::check::sanitize(name))
        .join(stamp)
}

async fn load(args: LoadArgs) -> Result<Exit, LoadError> {
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
    let (target, server) = super::resolve::target(args.target.as_deref(), args.fault.as_deref())
        .await
        .map_err(usage)?;
    let report_dir = args
        .report_dir
        .clone()
        .unwrap_or_else(|| default_report_dir(&profile.name, std::time::SystemTime::now()));
    std::fs::create_dir_all(&report_dir)
        .map_err(|e| LoadError::Usage(format!("{}: {e}", report_dir.display())))?;
    let plan = LoadPlan {
        target,
        profile,
        report_dir: report_dir.clone(),
        baseline: baseline.clone(),
        progress: Some(Arc::new(super::progress::LoadLine)),
        record_acks: args.record_acks.clone(),
    };
    let result = run_plan(plan).await;
    if let Some(s) = server {
        s.shutdown().await;
    }
    let summary = result?;
    crate::report::load::write(&summary, &report_dir)
        .map_err(|e| LoadError::Usage(format!("{}: {e}", report_dir.display())))?;
    for w in &summary.warnings {
        eprintln!("warning: {}", crate::text::visible(w));
    }
    super::print_out(&summary.render(baseline.as_ref()));
    Ok(match verdict(&summary) {
        LoadVerdict::Passed => Exit::Ok,
        LoadVerdict::Unusable(why) => {
            eprintln!("error: target unusable: {}", crate::text::visible(&why));
            Exit::TargetUnusable
        }
        LoadVerdict::Failed(reasons) => {
            for r in &reasons {
                eprintln!("FAILED: {}", crate::text::visible(r));
            }
            Exit::Failures
        }
    })
}

#[cfg(test)]
mod tests {
    /// Issue 23 H7: the load profile's name is sanitized into one path component, as `check` does.
    #[test]
    fn a_load_profile_name_cannot_leave_the_reports_folder() {
        let dir = super::default_report_dir(
            "../../../../tmp/escaped-load",
            std::time::SystemTime::UNIX_EPOCH,
        );
        assert_eq!(
            dir,
            std::path::PathBuf::from(
                "reports/load/____________tmp_escaped-load/1970-01-01T00-00-00Z"
            )
        );
        assert!(dir
            .components()
            .all(|c| c != std::path::Component::ParentDir));
    }
}
