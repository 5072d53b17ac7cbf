//! `revspec check`: from arguments to a run plan, the run, the console output, the reports on
//! disk (and the CI job summary) and the exit code.

use super::exit::Exit;
use super::CheckArgs;
use crate::conformance::progress::Progress;
use crate::conformance::{run_plan, CheckError};
use std::sync::Arc;

/// `revspec check`.
pub async fn run(args: CheckArgs) -> Exit {
    match check(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", crate::text::visible(&e.to_string()));
            Exit::from(&e)
        }
    }
}

async fn check(args: CheckArgs) -> Result<Exit, CheckError> {
    let (profile, mut server) =
        super::resolve::target(args.target.as_deref(), args.fault.as_deref())
            .await
            .map_err(CheckError::Usage)?;
    let progress = super::resolve::progress_wanted(&args.progress)
        .then(|| super::progress::Ticker::start() as Arc<dyn Progress>);
    let name = profile.name.clone();
    let plan = super::resolve::check_plan(&args, profile, server.is_some(), progress.clone());
    let record = match plan {
        Ok(plan) => run_plan(plan).await,
        Err(e) => Err(e),
    };
    if let Some(p) = &progress {
        p.done();
    }
    if let Some(server) = server.take() {
        server.shutdown().await;
    }
    let record = record?;
    super::print_out(&crate::report::console::render(&record, args.verbose));
    let stamp = record.run.started.replace(':', "-");
    let dir = args.report_dir.join(sanitize(&name)).join(stamp);
    match crate::report::write_run(&record, &dir) {
        Ok(summary) => {
            super::print_out(&format!(
                "reports: {}/{{run.json, junit.xml, summary.md, report.html}}\n",
                dir.display()
            ));
            if let Err(e) = super::ci::append_step_summary(&summary) {
                eprintln!("warning: {e}");
            }
        }
        Err(e) => eprintln!("warning: could not write reports to {}: {e}", dir.display()),
    }
    Ok(if let Some(why) = &record.run.unusable {
        eprintln!("error: target unusable, the remaining scenarios were not attempted: {why}");
        Exit::TargetUnusable
    } else if record.failed() {
        Exit::Failures
    } else {
        Exit::Ok
    })
}

/// A name safe as one path component (no separator, no `..`).
pub fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
