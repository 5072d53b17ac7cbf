//! The console view of a run record: results grouped by rule, then each failure with the rule,
//! what was expected, what was seen and the redacted HTTP exchanges, then a summary line.

use super::{RunRecord, Verdict};

pub fn render(record: &RunRecord, verbose: bool) -> String {
    let mut out = format!(
        "revspec check: {} ({}) profile {}{}\n\n",
        record.run.target,
        record.run.revocation_endpoint,
        record.run.profile,
        if record.run.strict { ", strict" } else { "" }
    );
    for (rule, verdict) in record.rule_verdicts() {
        let (level, reason) = record.rule_note(&rule, verdict);
        let reason = reason.map(|r| format!("  ({r})")).unwrap_or_default();
        out.push_str(&format!(
            "{:<8} {:<6} {rule}{reason}\n",
            verdict.as_str(),
            level.as_str()
        ));
    }
    let details: Vec<_> = record.problems().collect();
    if !details.is_empty() {
        out.push_str("\nDetails:\n");
    }
    for c in details {
        out.push_str(&format!(
            "\n{} {} [{}] {}\n  {}\n  rule: {}\n",
            c.verdict.as_str(),
            c.rule,
            c.level.as_str(),
            c.location,
            c.scenario,
            c.requirement
        ));
        if let Some(r) = &c.reason {
            out.push_str(&format!("  reason: {r}\n"));
        }
        for k in c.failed_checks() {
            out.push_str(&format!(
                "  check: {}\n    expected: {}\n    seen:     {}\n",
                k.what, k.expected, k.actual
            ));
        }
        if verbose || c.verdict != Verdict::Warn {
            out.push_str("  exchanges:\n");
            for e in &c.exchanges {
                out.push_str(&e.render());
            }
        }
    }
    let s = record.summary();
    out.push_str(&format!(
        "\n{} scenarios: {} passed, {} failed, {} warnings, {} info, {} skipped, {} errors, {} expected deviations, {} unmet expectations ({:.1} s)\n",
        record.cases.len(),
        s.pass,
        s.fail,
        s.warn,
        s.info,
        s.skip,
        s.error,
        s.expected,
        s.unmet,
        record.run.duration_ms / 1000.0
    ));
    out
}
