//! What each rule means, for a person who has never read RFC 7009: its source (the RFC
//! section or the Janssen documentation, quoted briefly, with the reference), what the harness
//! observes and through which probe, the deviations commonly seen on real servers with what a
//! server developer changes to fix them (`features/EXPLAIN.toml`, built in), the scenarios
//! that cover it (file:line) and the reference server's faults and quirks that touch it.
//! `revspec explain RULE` and the HTML report show it (`report::explain` renders the text).

use super::features::{coverage, FeatureSource};
use super::rules::Rule;
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
        |f| f.rules(),
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
    let coverage = coverage(&features)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_quirk_exercises_rules_of_the_catalogue() {
        for q in crate::faults::quirks::Quirk::ALL {
            let touched = q.exercises();
            assert!(!touched.is_empty(), "{} exercises no rule", q.name());
            for r in touched {
                assert!(
                    super::super::rule(r).is_some(),
                    "{}: {r} is not a rule",
                    q.name()
                );
            }
        }
        for f in crate::faults::Fault::ALL
            .iter()
            .chain(crate::faults::Fault::CLUSTER)
        {
            for r in f.rules() {
                assert!(
                    super::super::rule(r).is_some(),
                    "{}: {r} is not a rule",
                    f.name()
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
        let ids: Vec<String> = super::super::rules()
            .iter()
            .map(|r| r.id.to_string())
            .collect();
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
