//! The console view of a run record: how each probe was calibrated and each setting
//! confirmed, one line per rule (PARTIAL names what was skipped), then each failure with the
//! rule, what was expected, what was seen and the redacted HTTP exchanges, the measured
//! revocation delays, and a summary line.

use crate::record::{RunRecord, Verdict};

use crate::record::stats::median_max;

/// One line on the measured revocation delays, if any was measured.
pub fn delay_summary(record: &RunRecord) -> Option<String> {
    let all: Vec<f64> = record.delays_ms();
    if all.is_empty() {
        return None;
    }
    let late: Vec<f64> = all.iter().copied().filter(|d| *d > 0.0).collect();
    Some(match median_max(&late) {
        None => format!(
            "revocations: all {} observed revocations were visible at the first look",
            all.len()
        ),
        Some((median, max)) => format!(
            "revocations: {} of {} visible at the first look; the others after median {:.2} s, max {:.2} s",
            all.len() - late.len(),
            all.len(),
            median / 1000.0,
            max / 1000.0
        ),
    })
}

/// The console text. Everything a server sent reaches it escaped (see [`crate::text`]).
pub fn render(record: &RunRecord, verbose: bool) -> String {
    crate::text::visible(&render_raw(record, verbose))
}

fn render_raw(record: &RunRecord, verbose: bool) -> String {
    let mut out = format!(
        "revspec check: {} ({}) profile {}{}\n\n",
        record.run.target,
        record.run.revocation_endpoint,
        record.run.profile,
        if record.run.strict { ", strict" } else { "" }
    );
    for p in &record.calibration.probes {
        let passed = p.steps.iter().filter(|s| s.passed).count();
        out.push_str(&format!(
            "probe    {} for {} tokens: calibrated ({passed}/{} checks){}\n",
            p.probe,
            p.kind,
            p.steps.len(),
            match (&p.revoked_with, p.revocation_visible_ms) {
                (Some(how), Some(ms)) if how != "token alone" =>
                    format!(", revoked with {how} (visible after {ms:.0} ms): controls ask so"),
                (Some(how), None) if how != "token alone" => format!(", {how}"),
                (_, Some(ms)) => format!(", a plain revocation was visible after {ms:.0} ms"),
                _ => String::new(),
            }
        ));
        for s in p.steps.iter().filter(|s| {
            s.seen.starts_with("still active")
                || s.seen.starts_with("not checked")
                || s.seen.starts_with("not used")
                || s.what.contains(" disagrees")
        }) {
            out.push_str(&format!("         note: {}: {}\n", s.what, s.seen));
        }
        for state in &p.unconfirmed {
            out.push_str(&format!(
                "         unconfirmed: what this probe says of {state} is not confirmed\n"
            ));
        }
    }
    for s in &record.settings {
        out.push_str(&format!(
            "setting  {} ({}): {}\n",
            s.setting,
            s.action,
            match (&s.confirmed, &s.error) {
                (Some(how), _) => format!(
                    "confirmed after {:.2} s: {how}",
                    s.confirmed_after_ms.unwrap_or_default() / 1000.0
                ),
                (None, Some(e)) => format!("NOT CONFIRMED: {e}"),
                (None, None) => "not confirmed".into(),
            }
        ));
    }
    if !record.calibration.probes.is_empty() || !record.settings.is_empty() {
        out.push('\n');
    }
    for (rule, verdict) in record.rule_verdicts() {
        let (level, reason) = record.rule_note(&rule, verdict);
        let alone = record
            .cases
            .iter()
            .any(|c| c.rule == rule && c.confirmed_alone);
        let reason = match (reason, alone) {
            (Some(r), true) => format!("  ({r}; confirmed alone)"),
            (Some(r), false) => format!("  ({r})"),
            (None, true) => "  (confirmed alone)".into(),
            (None, false) => String::new(),
        };
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
        if let Some(first) = c.first_verdict {
            out.push_str(&format!(
                "  run beside other scenarios it was {}; this is its result run alone\n",
                first.as_str()
            ));
        }
        for k in c
            .failed_checks()
            .chain(c.controls.iter().filter(|k| !k.passed))
        {
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
    out.push('\n');
    if let Some(line) = delay_summary(record) {
        out.push_str(&line);
        out.push('\n');
    }
    let nodes = record.node_delays();
    if !nodes.is_empty() {
        out.push_str(
            "propagation per node (from the revoking node's 200 to this node seeing it):\n",
        );
        for (node, n, median, max) in nodes {
            out.push_str(&format!(
                "  {node:<40} {n:>4} observations, median {:.2} s, max {:.2} s\n",
                median / 1000.0,
                max / 1000.0
            ));
        }
    }
    for w in &record.run.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    if let Some(why) = &record.run.unusable {
        out.push_str(&format!(
            "TARGET UNUSABLE: {why}; the scenarios after that were not attempted\n"
        ));
    }
    let rules = record.rule_verdicts();
    let count = |v: Verdict| rules.iter().filter(|(_, x)| *x == v).count();
    let s = record.summary();
    out.push_str(&format!(
        "{} rules: {} passed, {} partial, {} failed, {} warnings, {} info, {} skipped, {} errors, {} expected, {} unmet\n",
        rules.len(),
        count(Verdict::Pass),
        count(Verdict::Partial),
        count(Verdict::Fail),
        count(Verdict::Warn),
        count(Verdict::Info),
        count(Verdict::Skip),
        count(Verdict::Error),
        count(Verdict::Expected),
        count(Verdict::ExpectationUnmet),
    ));
    out.push_str(&format!(
        "{} scenarios: {} passed, {} failed, {} warnings, {} info, {} skipped, {} errors, {} expected deviations, {} unmet expectations ({:.1} s)\n",
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
    if let Some(t) = &record.run.timing {
        out.push_str(&timing_line(t));
    }
    out
}

/// "time: 8.7 s for a floor of 6.3 s (1.38x), the waits no schedule avoids; most beyond its
/// floor: ..." (see `record::Timing`).
fn timing_line(t: &crate::record::Timing) -> String {
    let ratio = if t.floor_ms > 0.0 {
        format!(" ({:.2}x)", t.wall_ms / t.floor_ms)
    } else {
        String::new()
    };
    let slowest = t
        .phases
        .iter()
        .max_by(|a, b| (a.wall_ms - a.floor_ms).total_cmp(&(b.wall_ms - b.floor_ms)));
    let beyond = slowest
        .filter(|p| p.wall_ms - p.floor_ms >= 500.0)
        .map(|p| {
            format!(
                "; most beyond its floor: {} ({:.1} s for {:.1} s)",
                p.phase,
                p.wall_ms / 1000.0,
                p.floor_ms / 1000.0
            )
        })
        .unwrap_or_default();
    format!(
        "time: {:.1} s for a floor of {:.1} s{ratio}, the waits no schedule avoids{beyond}\n",
        t.wall_ms / 1000.0,
        t.floor_ms / 1000.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::fixtures::{case, record};
    use crate::record::DelayRecord;

    #[test]
    fn partial_rules_and_delays_are_shown() {
        let mut skipped = case("a", Verdict::Skip);
        skipped.scenario = "refresh case".into();
        skipped.reason = Some("no refresh tokens".into());
        let mut late = case("b", Verdict::Pass);
        for (ms, first) in [(0.0, true), (1480.0, false), (500.0, false)] {
            late.delays.push(DelayRecord {
                token: "t".into(),
                node: String::new(),
                ms,
                first_look: first,
            });
        }
        let text = render(
            &record(vec![case("a", Verdict::Pass), skipped, late]),
            false,
        );
        assert!(
            text.contains("PARTIAL  MUST   a  (observed and passed 1 of 2 scenarios (s); not observed: refresh case: no refresh tokens)"),
            "{text}"
        );
        assert!(
            text.contains(
                "1 of 3 visible at the first look; the others after median 0.99 s, max 1.48 s"
            ),
            "{text}"
        );
        assert!(text.contains("2 rules: 1 passed, 1 partial"), "{text}");
    }
}

#[cfg(test)]
mod node_tests {
    use super::*;
    use crate::record::fixtures::{case, record};
    use crate::record::DelayRecord;

    #[test]
    fn each_node_gets_its_median_and_max() {
        let mut c = case("cluster-propagation", Verdict::Pass);
        for (node, ms) in [
            ("http://n1", 0.0),
            ("http://n2", 120.0),
            ("http://n2", 300.0),
            ("http://n2", 200.0),
        ] {
            c.delays.push(DelayRecord {
                token: "t".into(),
                node: node.into(),
                ms,
                first_look: ms == 0.0,
            });
        }
        let r = record(vec![c]);
        assert_eq!(
            r.node_delays(),
            vec![
                ("http://n1".to_string(), 1, 0.0, 0.0),
                ("http://n2".to_string(), 3, 200.0, 300.0)
            ]
        );
        let text = render(&r, false);
        assert!(
            text.contains("http://n2")
                && text.contains("3 observations, median 0.20 s, max 0.30 s"),
            "{text}"
        );
    }
}
