//! The Markdown view of a run record (`summary.md`): one row per rule with its level and
//! verdict (PARTIAL names what was skipped), the measured revocation delays, then the
//! failures with what was expected and what was seen. Text that may come from a server is
//! made visible (`crate::text`) and its `<`, `>` and `&` written as entities, so a Markdown renderer
//! (a GitHub job summary) never takes a server byte for HTML.

use super::RunRecord;
use crate::text::{markdown as text, markdown_cell as cell};

/// The Markdown text. Everything a server sent reaches it escaped (see [`crate::text`]).
pub fn render(record: &RunRecord) -> String {
    crate::text::visible(&render_raw(record))
}

fn render_raw(record: &RunRecord) -> String {
    let r = &record.run;
    let s = record.summary();
    let mut out = format!(
        "# revspec check: {}\n\nTarget {} ({}), profile `{}`{}, revspec {}, started {}.\n\n{} scenarios: {} passed, {} failed, {} warnings, {} info, {} skipped, {} errors, {} expected deviations, {} unmet expectations.\n\n| rule | level | verdict | note |\n|---|---|---|---|\n",
        text(&r.target),
        crate::text::markdown_code(&r.target),
        crate::text::markdown_code(&r.revocation_endpoint),
        r.profile,
        if r.strict { " (strict)" } else { "" },
        r.version,
        r.started,
        record.cases.len(),
        s.pass,
        s.fail,
        s.warn,
        s.info,
        s.skip,
        s.error,
        s.expected,
        s.unmet
    );
    for (rule, verdict) in record.rule_verdicts() {
        let (level, note) = record.rule_note(&rule, verdict);
        out.push_str(&format!(
            "| `{rule}` | {} | {} | {} |\n",
            level.as_str(),
            verdict.as_str(),
            cell(&note.unwrap_or_default())
        ));
    }
    if let Some(line) = super::console::delay_summary(record) {
        out.push_str(&format!("\n{line}\n"));
    }
    let nodes = record.node_delays();
    if !nodes.is_empty() {
        out.push_str("\n| node | observations | median | max |\n|---|---|---|---|\n");
        for (node, n, median, max) in nodes {
            out.push_str(&format!(
                "| {} | {n} | {:.2} s | {:.2} s |\n",
                cell(&node),
                median / 1000.0,
                max / 1000.0
            ));
        }
    }
    for w in &record.run.warnings {
        out.push_str(&format!("\nWarning: {}\n", cell(w)));
    }
    let failures: Vec<_> = record.problems().collect();
    if !failures.is_empty() {
        out.push_str("\n## Failures, warnings and errors\n");
    }
    for c in failures {
        out.push_str(&format!(
            "\n### {} `{}` ({})\n\n{}\n\nRule: {}\n\n",
            c.verdict.as_str(),
            c.rule,
            c.location,
            text(&c.scenario),
            text(&c.requirement)
        ));
        if let Some(reason) = &c.reason {
            out.push_str(&format!("Reason: {}\n\n", text(reason)));
        }
        for k in c.failed_checks() {
            out.push_str(&format!(
                "- {}: expected {}; saw {}\n",
                text(&k.what),
                text(&k.expected),
                text(&k.actual)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::fixtures::{case, record};
    use crate::record::Verdict;

    #[test]
    fn rules_are_rows_and_failures_are_sections() {
        let mut failing = case("b", Verdict::Fail);
        failing.reason = Some("a | b".into());
        let text = render(&record(vec![case("a", Verdict::Pass), failing]));
        assert!(text.contains("| `a` | MUST | PASS |  |"), "{text}");
        assert!(text.contains("| `b` | MUST | FAIL | a \\| b |"), "{text}");
        assert!(text.contains("### FAIL `b`"), "{text}");
    }

    #[test]
    fn server_text_is_neither_markup_nor_control_bytes() {
        let mut failing = case("b", Verdict::Fail);
        failing.reason = Some("<script>x</script>\u{1b}[2J".into());
        let text = render(&record(vec![failing]));
        assert!(
            // Rendered, `\\\\` shows a backslash and `\\[` a bracket: "\x1b[2J", no link.
            text.contains("Reason: &lt;script&gt;x&lt;/script&gt;\\\\x1b\\[2J"),
            "{text}"
        );
        assert!(
            text.contains("| `b` | MUST | FAIL | &lt;script&gt;"),
            "{text}"
        );
    }
}
