//! Reading a run's verdicts the way the harness's own tests judge them.

use revspec::record::{RunRecord, Verdict};
use std::collections::BTreeSet;

/// On loopback the reference server is plain http: rfc7009-2-https is a warning by design.
pub const LOOPBACK_WARNINGS: &[&str] = &["rfc7009-2-https"];

/// Rule IDs the run holds against the server: failures, errors, unmet expectations, warnings
/// (beyond the loopback https warning), and MAY/INFO rules whose checks failed.
pub fn broken(record: &RunRecord) -> BTreeSet<String> {
    record
        .rule_verdicts()
        .into_iter()
        .filter(|(rule, v)| match v {
            Verdict::Fail | Verdict::Error | Verdict::ExpectationUnmet => true,
            Verdict::Warn => !LOOPBACK_WARNINGS.contains(&rule.as_str()),
            Verdict::Info => record
                .cases
                .iter()
                .any(|c| c.rule == *rule && c.failed_checks().next().is_some()),
            _ => false,
        })
        .map(|(rule, _)| rule)
        .collect()
}

/// The scenarios of these rules, one line each: verdict, rule, scenario, reason, and the
/// checks and controls that failed.
pub fn describe(record: &RunRecord, rules: &BTreeSet<String>) -> String {
    record
        .cases
        .iter()
        .filter(|c| rules.contains(&c.rule))
        .map(|c| {
            let checks: Vec<String> = c
                .failed_checks()
                .chain(c.controls.iter().filter(|k| !k.passed))
                .map(|k| format!("{}: {}", k.what, k.actual))
                .collect();
            format!(
                "    {} {} [{}] {} {}\n",
                c.verdict.as_str(),
                c.rule,
                c.scenario,
                c.reason.clone().unwrap_or_default(),
                checks.join("; ")
            )
        })
        .collect()
}
