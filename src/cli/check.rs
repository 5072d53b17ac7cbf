//! `revspec check` and `revspec list`: from arguments to a run plan, the run, the console
//! output, the reports on disk and the exit code.

use super::{CheckArgs, ListArgs};
use crate::conformance::catalogue::{self, FeatureSource};
use crate::conformance::expectations::Ledger;
use crate::conformance::run::{selection, CheckError};
use crate::conformance::{run_plan, RunPlan};
use crate::exit;

/// `revspec check`.
pub async fn run(args: CheckArgs) -> i32 {
    match check(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", crate::report::escape::visible(&e.to_string()));
            e.exit_code()
        }
    }
}

async fn check(args: CheckArgs) -> Result<i32, CheckError> {
    let usage = CheckError::Usage;
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
    let (profile, mut server) =
        super::resolve_target(args.target.as_deref(), args.fault.as_deref())
            .await
            .map_err(usage)?;
    // A Janssen-like target (the built-in reference server, or any profile whose settings go
    // through the Janssen Config API) is checked with the Janssen rules by default.
    let janssen_like = server.is_some()
        || profile.settings.adapter == crate::sut::profile::AdapterKind::JanssenConfigApi;
    let default_profile = if janssen_like { "janssen" } else { "rfc7009" };
    let selection = selection(
        args.profile.as_deref().unwrap_or(default_profile),
        args.rules.clone(),
        args.tags.as_deref(),
    )
    .map_err(usage)?;
    let name = profile.name.clone();
    let plan = RunPlan {
        profile,
        selection,
        strict: args.strict,
        ledger,
        features,
        fault: args.fault.clone(),
        quirks: vec![],
        progress: match args.progress.as_str() {
            "always" => true,
            "never" => false,
            _ => std::io::IsTerminal::is_terminal(&std::io::stderr()),
        },
        concurrency: args.concurrency,
    };
    let record = run_plan(plan).await?;
    if let Some(server) = server.take() {
        server.shutdown().await;
    }
    super::print_out(&crate::report::console::render(&record, args.verbose));
    let stamp = record.run.started.replace(':', "-");
    let dir = args.report_dir.join(sanitize(&name)).join(stamp);
    match record.write(&dir) {
        Ok(()) => super::print_out(&format!(
            "reports: {}/{{run.json, junit.xml, summary.md, report.html}}\n",
            dir.display()
        )),
        Err(e) => eprintln!("warning: could not write reports to {}: {e}", dir.display()),
    }
    Ok(if let Some(why) = &record.run.unusable {
        eprintln!("error: target unusable, the remaining scenarios were not attempted: {why}");
        exit::UNREACHABLE
    } else if record.failed() {
        exit::FAILURES
    } else {
        exit::OK
    })
}

fn sanitize(name: &str) -> String {
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

/// `revspec list`.
pub fn list(args: ListArgs) -> i32 {
    let profile = args.profile.as_deref().unwrap_or("janssen");
    if !matches!(profile, "rfc7009" | "janssen") {
        eprintln!("error: --profile: '{profile}' is not rfc7009 or janssen");
        return exit::USAGE;
    }
    let features = FeatureSource::Embedded.load().expect("embedded features");
    let coverage = match catalogue::coverage(&features) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let covered = catalogue::profiles_covered(profile);
    let mut count = 0;
    let mut out = String::new();
    for (rule, scenarios) in coverage
        .iter()
        .filter(|(r, _)| covered.contains(&r.profile.as_str()))
    {
        count += 1;
        let requires = rule
            .requires
            .as_deref()
            .map(|r| format!(" (requires {r})"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{:<6} {:<8} {}{requires}\n",
            rule.level.as_str(),
            rule.profile,
            rule.id
        ));
        for s in scenarios {
            out.push_str(&format!("         - {s}\n"));
        }
    }
    out.push_str(&format!("{count} rules\n"));
    super::print_out(&out);
    exit::OK
}
