//! The text of `revspec explain RULE`: what a rule means (`catalogue::explain`), wrapped for
//! a terminal. The HTML report shows the same parts.

use crate::catalogue::explain::RuleExplained;

fn wrap(text: &str, indent: &str, width: usize) -> String {
    wrap_hanging(text, indent, indent, width)
}

/// Wraps words at `width`; the first line starts with `first`, the others with `rest`.
fn wrap_hanging(text: &str, first: &str, rest: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    let mut indent = first;
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.chars().count() + line.len() + 1 + word.len() > width {
            out.push_str(indent);
            out.push_str(&line);
            out.push('\n');
            line.clear();
            indent = rest;
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(indent);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

impl RuleExplained {
    /// The text `revspec explain` prints.
    pub fn render_text(&self) -> String {
        let r = &self.rule;
        let mut out = format!(
            "{}  [{} · profile {}{}]\n\n",
            r.id,
            r.level.as_str(),
            r.rule_set,
            r.requires
                .as_deref()
                .map(|q| format!(" · requires {q}"))
                .unwrap_or_default()
        );
        out.push_str(&wrap(&r.text, "  ", 96));
        if let Some(e) = self.explanation {
            out.push_str(&format!("\nSource: {} <{}>\n", e.source, e.url));
            out.push_str(&wrap(&format!("“{}”", e.quote), "  ", 96));
        }
        out.push_str("\nScenarios:\n");
        for s in &self.scenarios {
            out.push_str(&format!("  {s}\n"));
        }
        if let Some(e) = self.explanation {
            out.push_str("\nWhat the harness observes:\n");
            out.push_str(&wrap(&e.observes, "  ", 96));
        }
        out.push_str("\nReference server faults and quirks that touch it:\n");
        if self.touches.is_empty() {
            out.push_str("  none\n");
        }
        for t in &self.touches {
            out.push_str(&format!(
                "  {} {}: {}  (revspec check --{} {})\n",
                t.kind, t.name, t.description, t.kind, t.name
            ));
        }
        if let Some(e) = self.explanation {
            out.push_str("\nDeviations seen on real servers, and the fix:\n");
            if e.deviations.is_empty() {
                out.push_str("  none recorded\n");
            }
            for d in &e.deviations {
                out.push_str(&wrap_hanging(&d.seen, "  - ", "    ", 96));
                out.push_str(&wrap_hanging(&d.fix, "    fix: ", "         ", 96));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::catalogue::explain::explain;

    #[test]
    fn explain_names_scenarios_faults_and_the_source() {
        let text = explain("rfc7009-2.1-hint-fallback").unwrap().render_text();
        assert!(
            text.starts_with("rfc7009-2.1-hint-fallback  [MUST · profile rfc7009]"),
            "{text}"
        );
        assert!(
            text.contains("features/rfc7009_revocation.feature:"),
            "{text}"
        );
        assert!(text.contains("fault hint-strict"), "{text}");
        assert!(text.contains("RFC 7009"), "{text}");
        assert!(text.contains("fix: "), "{text}");
    }
}
