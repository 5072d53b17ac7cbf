//! What each rule means, for a person who has never read RFC 7009: its source (the RFC
//! section or the Janssen documentation, quoted briefly, with the reference), what the harness
//! observes and through which probe, the deviations commonly seen on real servers with what a
//! server developer changes to fix them (`features/EXPLAIN.toml`, built in), the scenarios
//! that cover it (file:line, from the embedded catalogue) and the reference server's faults
//! and quirks that touch it. `revspec explain RULE` prints it; the HTML report shows the same
//! text under each rule.

use crate::conformance::catalogue::{self, FeatureSource, Rule};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const EXPLAIN_TOML: &str = include_str!("../../features/EXPLAIN.toml");

/// One rule's entry of `features/EXPLAIN.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Explanation {
    /// The reference, e.g. "RFC 7009, section 2.1".
    pub source: String,
    /// Where the source can be read.
    pub url: String,
    /// A brief quote of the source.
    pub quote: String,
    /// What the harness sends and observes, and through which probe.
    pub observes: String,
    /// Deviations seen on real servers, with their fixes.
    #[serde(default, rename = "deviation")]
    pub deviations: Vec<Deviation>,
}

/// A deviation commonly seen, and what a server developer changes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    pub seen: String,
    pub fix: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExplainFile {
    rule: BTreeMap<String, Explanation>,
}

fn parse(text: &str) -> Result<BTreeMap<String, Explanation>, String> {
    toml::from_str::<ExplainFile>(text)
        .map(|f| f.rule)
        .map_err(|e| format!("features/EXPLAIN.toml: {e}"))
}

/// Every explanation, by rule ID.
pub fn all() -> &'static BTreeMap<String, Explanation> {
    static ALL: OnceLock<BTreeMap<String, Explanation>> = OnceLock::new();
    ALL.get_or_init(|| parse(EXPLAIN_TOML).expect("the built-in EXPLAIN.toml parses (unit-tested)"))
}

/// The explanation of one rule.
pub fn of(rule: &str) -> Option<&'static Explanation> {
    all().get(rule)
}

/// A deliberate behaviour of the reference server that touches a rule: a fault breaks it, a
/// quirk exercises it without breaking it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    /// `fault` or `quirk`.
    pub kind: &'static str,
    pub name: &'static str,
    pub description: &'static str,
}

fn touching<T: Copy>(
    kind: &'static str,
    all: &[T],
    rule: &str,
    name: fn(T) -> &'static str,
    description: fn(T) -> &'static str,
    rules: fn(T) -> &'static [&'static str],
) -> Vec<Touch> {
    all.iter()
        .copied()
        .filter(|t| rules(*t).contains(&rule))
        .map(|t| Touch {
            kind,
            name: name(t),
            description: description(t),
        })
        .collect()
}

/// The reference server's faults and quirks that touch `rule`.
pub fn faults_and_quirks(rule: &str) -> Vec<Touch> {
    use crate::faults::Fault;
    let mut out = touching(
        "fault",
        Fault::ALL,
        rule,
        Fault::name,
        Fault::description,
        Fault::rules,
    );
    out.extend(touching(
        "quirk",
        crate::faults::quirks::Quirk::ALL,
        rule,
        crate::faults::quirks::Quirk::name,
        crate::faults::quirks::Quirk::description,
        crate::faults::quirks::Quirk::exercises,
    ));
    out.sort_by_key(|t| (t.kind, t.name));
    out
}

/// Everything `explain` says about one rule.
#[derive(Debug, Clone)]
pub struct RuleExplained {
    pub rule: Rule,
    /// `file:line scenario name` of each covering scenario.
    pub scenarios: Vec<String>,
    pub explanation: Option<&'static Explanation>,
    pub touches: Vec<Touch>,
}

/// Looks a rule up in the built-in catalogue; the error lists near matches.
pub fn explain(rule_id: &str) -> Result<RuleExplained, String> {
    let features = FeatureSource::Embedded.load()?;
    let coverage = catalogue::coverage(&features)?;
    let Some((rule, scenarios)) = coverage.iter().find(|(r, _)| r.id == rule_id) else {
        // IDs holding the whole input first; failing that, IDs sharing a word with it.
        let ids: Vec<&str> = coverage.iter().map(|(r, _)| r.id.as_str()).collect();
        let mut near: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| id.contains(rule_id))
            .collect();
        if near.is_empty() {
            near = ids
                .into_iter()
                .filter(|id| rule_id.split('-').any(|w| w.len() > 3 && id.contains(w)))
                .collect();
        }
        return Err(if near.is_empty() {
            format!("'{rule_id}' is not a rule ID (see `revspec list`)")
        } else {
            format!(
                "'{rule_id}' is not a rule ID; did you mean {}? (see `revspec list`)",
                near.join(", ")
            )
        });
    };
    Ok(RuleExplained {
        rule: rule.clone(),
        scenarios: scenarios.clone(),
        explanation: of(rule_id),
        touches: faults_and_quirks(rule_id),
    })
}

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
            r.profile,
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
    use super::*;

    #[test]
    fn every_quirk_exercises_rules_of_the_catalogue() {
        let ids: Vec<String> = crate::conformance::catalogue::rules()
            .into_iter()
            .map(|r| r.id)
            .collect();
        for q in crate::faults::quirks::Quirk::ALL {
            let touched = q.exercises();
            assert!(!touched.is_empty(), "{} exercises no rule", q.name());
            for r in touched {
                assert!(
                    ids.iter().any(|id| id == r),
                    "{}: {r} is not a rule",
                    q.name()
                );
            }
        }
        assert!(faults_and_quirks("jans-success-headers")
            .iter()
            .any(|t| t.name == "cache-control-extra"));
    }

    #[test]
    fn every_rule_of_the_catalogue_has_an_explanation_and_no_other() {
        let explained = parse(EXPLAIN_TOML).unwrap();
        let ids: Vec<String> = catalogue::rules().into_iter().map(|r| r.id).collect();
        let missing: Vec<&String> = ids
            .iter()
            .filter(|id| !explained.contains_key(*id))
            .collect();
        assert!(
            missing.is_empty(),
            "rules without an EXPLAIN.toml entry: {missing:?}"
        );
        let stray: Vec<&String> = explained.keys().filter(|k| !ids.contains(k)).collect();
        assert!(
            stray.is_empty(),
            "EXPLAIN.toml entries for no rule: {stray:?}"
        );
        for (id, e) in &explained {
            for (field, value) in [
                ("source", &e.source),
                ("quote", &e.quote),
                ("observes", &e.observes),
            ] {
                assert!(!value.trim().is_empty(), "{id}: empty {field}");
            }
            assert!(e.url.starts_with("https://"), "{id}: url {}", e.url);
        }
    }

    #[test]
    fn an_unknown_key_in_the_file_is_named() {
        let e = parse(
            "[rule.x]\nsource = \"s\"\nurl = \"u\"\nquote = \"q\"\nobserves = \"o\"\ncolour = 1\n",
        )
        .unwrap_err();
        assert!(e.contains("colour"), "{e}");
    }

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

    #[test]
    fn an_unknown_rule_suggests_near_ids() {
        let e = explain("hint-fallback").unwrap_err();
        assert!(e.contains("rfc7009-2.1-hint-fallback"), "{e}");
        assert!(explain("zzz").unwrap_err().contains("revspec list"));
    }

    #[test]
    fn faults_are_found_by_the_rules_they_break() {
        let touches = faults_and_quirks("jans-invalid-client-realm");
        let names: Vec<&str> = touches.iter().map(|t| t.name).collect();
        assert!(
            names.contains(&"no-realm") && names.contains(&"no-www-authenticate"),
            "{names:?}"
        );
        assert!(touches
            .iter()
            .any(|t| t.kind == "quirk" && t.name == "two-challenges"));
    }
}
