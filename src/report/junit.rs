//! JUnit XML from the run record: one `<testcase>` per scenario, named by rule ID; failures
//! (and warnings under --strict, unmet expectations) are `<failure>`, scenarios that could not
//! run are `<error>`, skips carry their reason. Each rule's verdict (PARTIAL included, with
//! what was skipped) is a `<property>` of the suite.

use crate::record::{RunRecord, Verdict};

use crate::text::xml as esc;

pub fn render(record: &RunRecord) -> String {
    let s = record.summary();
    let failures = record
        .cases
        .iter()
        .filter(|c| {
            matches!(c.verdict, Verdict::Fail | Verdict::ExpectationUnmet)
                || (record.run.strict && c.verdict == Verdict::Warn)
        })
        .count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"revspec\">\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\" timestamp=\"{}\">\n",
        esc(&format!("{} ({})", record.run.target, record.run.profile)),
        record.cases.len(),
        s.error,
        s.skip,
        record.run.duration_ms / 1000.0,
        esc(&record.run.started)
    ));
    out.push_str("    <properties>\n");
    for (rule, verdict) in record.rule_verdicts() {
        let (_, note) = record.rule_note(&rule, verdict);
        let value = match note {
            Some(n) if verdict == Verdict::Partial => format!("{} ({n})", verdict.as_str()),
            _ => verdict.as_str().to_owned(),
        };
        out.push_str(&format!(
            "      <property name=\"rule:{}\" value=\"{}\"/>\n",
            esc(&rule),
            esc(&value)
        ));
    }
    out.push_str("    </properties>\n");
    for c in &record.cases {
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" time=\"{:.3}\">\n",
            esc(&c.rule),
            esc(&format!("[{}] {}", c.level.as_str(), c.scenario)),
            esc(&c.location),
            c.duration_ms / 1000.0
        ));
        let detail: String = c
            .failed_checks()
            .map(|k| format!("{}: expected {}; saw {}\n", k.what, k.expected, k.actual))
            .chain(c.reason.iter().cloned())
            .collect();
        let exchanges: String = c.exchanges.iter().map(|e| e.render()).collect();
        match c.verdict {
            Verdict::Fail | Verdict::ExpectationUnmet => out.push_str(&format!(
                "      <failure message=\"{}\">{}</failure>\n",
                esc(&format!("{} {}", c.verdict.as_str(), c.requirement)),
                esc(&format!("{detail}\n{exchanges}"))
            )),
            Verdict::Warn if record.run.strict => out.push_str(&format!(
                "      <failure message=\"{}\">{}</failure>\n",
                esc(&format!("WARN (strict) {}", c.requirement)),
                esc(&format!("{detail}\n{exchanges}"))
            )),
            Verdict::Error => out.push_str(&format!(
                "      <error message=\"{}\">{}</error>\n",
                esc(c.reason.as_deref().unwrap_or("error")),
                esc(&exchanges)
            )),
            Verdict::Skip => out.push_str(&format!(
                "      <skipped message=\"{}\"/>\n",
                esc(c.reason.as_deref().unwrap_or("skipped"))
            )),
            _ => {
                if !detail.is_empty() || !c.observations.is_empty() {
                    out.push_str(&format!(
                        "      <system-out>{}</system-out>\n",
                        esc(&format!(
                            "{} {}{}",
                            c.verdict.as_str(),
                            detail,
                            c.observations.join("; ")
                        ))
                    ));
                }
            }
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::fixtures::{case, record};

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("a<b>&\"c\""), "a&lt;b&gt;&amp;&quot;c&quot;");
    }

    #[test]
    fn rule_verdicts_are_suite_properties() {
        let mut skipped = case("a", Verdict::Skip);
        skipped.reason = Some("no refresh tokens".into());
        let xml = render(&record(vec![case("a", Verdict::Pass), skipped]));
        assert!(
            xml.contains(
                "<property name=\"rule:a\" value=\"PARTIAL (observed and passed 1 of 2 scenarios (s); not observed: s: no refresh tokens)\"/>"
            ),
            "{xml}"
        );
        assert!(
            xml.contains("<skipped message=\"no refresh tokens\"/>"),
            "{xml}"
        );
    }
}
