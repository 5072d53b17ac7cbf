//! `revspec load` and `revspec load merge`: from arguments to a load plan (whole or one shard),
//! the run, the summary and its reports (plus, for a shard, `shard.json` and its histograms),
//! or the shards' folders merged into one summary; the verdict on stderr and the exit code.

use super::exit::Exit;
use super::{LoadArgs, LoadCommand, LoadMergeArgs};
use crate::load::shard::{self, ShardPlan};
use crate::load::verdict::{verdict, LoadVerdict};
use crate::load::{profile::LoadProfile, LoadError, LoadPlan};
use crate::record::load::LoadSummary;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `revspec load` (or `revspec load merge`).
pub async fn run(mut args: LoadArgs) -> Exit {
    let result = match args.command.take() {
        Some(LoadCommand::Merge(merge_args)) => merge(merge_args),
        None => load(args).await,
    };
    match result {
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

fn create(dir: &Path) -> Result<(), LoadError> {
    std::fs::create_dir_all(dir).map_err(|e| LoadError::Usage(format!("{}: {e}", dir.display())))
}

async fn load(args: LoadArgs) -> Result<Exit, LoadError> {
    let usage = LoadError::Usage;
    let path = args
        .profile
        .clone()
        .ok_or_else(|| usage("--profile is required".into()))?;
    let mut profile = LoadProfile::from_file(&path).map_err(usage)?;
    if let Some(users) = args.users {
        profile.users = users;
    }
    if let Some(run_time) = &args.run_time {
        profile.run_time = humantime::parse_duration(run_time)
            .map_err(|e| LoadError::Usage(format!("--run-time '{run_time}': {e}")))?;
    }
    profile
        .validate()
        .map_err(|e| LoadError::Usage(format!("{}: {e}", path.display())))?;
    let shard = match args.shard {
        Some(id) => {
            if args.baseline.is_some() {
                return Err(usage(
                    "--baseline compares a whole run: give it to `revspec load merge`, not to one shard".into(),
                ));
            }
            if let Some(at) = args.start_at {
                shard::check_start_at(at, std::time::SystemTime::now()).map_err(usage)?;
            }
            // A shard without users is refused before anything starts.
            shard::slice(&profile, id).map_err(usage)?;
            if args.target.is_none() {
                return Err(usage(format!(
                    "--shard {id} needs --target: without it each shard would start a reference server of its own, and the shards would not load one target"
                )));
            }
            Some(ShardPlan {
                id,
                start_at: args.start_at,
                profile: shard::profile_identity(&path, &profile).map_err(usage)?,
            })
        }
        None => None,
    };
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
    create(&report_dir)?;
    let plan = LoadPlan {
        target,
        profile,
        report_dir: report_dir.clone(),
        baseline: baseline.clone(),
        progress: Some(Arc::new(super::progress::LoadLine)),
        record_acks: args.record_acks.clone(),
    };
    let result = crate::load::run(plan, shard).await;
    if let Some(s) = server {
        s.shutdown().await;
    }
    let run = result?;
    let written = |e: std::io::Error| LoadError::Usage(format!("{}: {e}", report_dir.display()));
    crate::report::load::write(&run.summary, &report_dir).map_err(written)?;
    let Some(part) = run.shard else {
        return Ok(finish(&run.summary, baseline.as_ref()));
    };
    part.write(&report_dir).map_err(written)?;
    for w in &run.summary.warnings {
        eprintln!("warning: {}", crate::text::visible(w));
    }
    super::print_out(&run.summary.render(None));
    if let LoadVerdict::Unusable(why) = verdict(&run.summary) {
        eprintln!("error: target unusable: {}", crate::text::visible(&why));
        return Ok(Exit::TargetUnusable);
    }
    eprintln!(
        "shard {} written to {}; merge all {} shards with `revspec load merge DIR...`",
        part.header.shard,
        crate::text::visible(&report_dir.display().to_string()),
        part.header.shard.count
    );
    Ok(Exit::Ok)
}

/// `revspec load merge DIR...`.
fn merge(args: LoadMergeArgs) -> Result<Exit, LoadError> {
    let usage = LoadError::Usage;
    let baseline = args
        .baseline
        .as_deref()
        .map(LoadSummary::read)
        .transpose()
        .map_err(usage)?;
    let parts = crate::load::merge::read(&args.dirs).map_err(usage)?;
    let name = parts
        .first()
        .map(|(_, p)| p.header.profile.name.clone())
        .unwrap_or_default();
    let report_dir = args
        .report_dir
        .clone()
        .unwrap_or_else(|| default_report_dir(&name, std::time::SystemTime::now()));
    let summary =
        crate::load::merge::merge(&parts, &report_dir.display().to_string()).map_err(usage)?;
    create(&report_dir)?;
    crate::report::load::write(&summary, &report_dir)
        .map_err(|e| LoadError::Usage(format!("{}: {e}", report_dir.display())))?;
    Ok(finish(&summary, baseline.as_ref()))
}

/// Prints the summary and the verdict of a whole run (single or merged); its exit code.
fn finish(summary: &LoadSummary, baseline: Option<&LoadSummary>) -> Exit {
    for w in &summary.warnings {
        eprintln!("warning: {}", crate::text::visible(w));
    }
    super::print_out(&summary.render(baseline));
    match verdict(summary) {
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
    }
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
