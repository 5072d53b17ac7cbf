//! The expectations ledger: a target's known deviations, each naming the rule, the scenario,
//! the verdict it is expected to get and why. A listed deviation that happens is reported as
//! EXPECTED and does not fail the run; one that does not happen as listed is reported as
//! UNMET and fails the run. Entries are per scenario, so a new failure in another scenario of
//! a listed rule is still a failure. An ERROR (the harness could not reach a verdict) is never
//! an expected outcome.

use crate::record::{RunRecord, Verdict};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    pub rule: String,
    /// The scenario's name, as in the feature file (outline examples expanded).
    pub scenario: String,
    /// `fail`, `warn`, `skip` or `info`.
    pub verdict: String,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    #[serde(default, rename = "deviation")]
    pub deviations: Vec<Deviation>,
}

impl Ledger {
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn from_toml(text: &str) -> Result<Self, String> {
        let ledger: Ledger = toml::from_str(text).map_err(|e| e.to_string())?;
        let scenarios: Vec<(&str, &str)> = crate::catalogue::features::embedded()
            .iter()
            .map(|s| (s.rule.as_str(), s.name.as_str()))
            .collect();
        for (i, d) in ledger.deviations.iter().enumerate() {
            if crate::catalogue::rule(&d.rule).is_none() {
                return Err(format!(
                    "deviation[{i}].rule: '{}' is not a rule ID of the catalogue",
                    d.rule
                ));
            }
            let of_rule: Vec<&str> = scenarios
                .iter()
                .filter(|(rule, _)| *rule == d.rule)
                .map(|(_, name)| *name)
                .collect();
            if !of_rule.contains(&d.scenario.as_str()) {
                return Err(format!(
                    "deviation[{i}].scenario: no scenario of {} is named '{}' (its scenarios: {})",
                    d.rule,
                    d.scenario,
                    of_rule
                        .iter()
                        .map(|n| format!("'{n}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            match Verdict::parse(&d.verdict) {
                Some(Verdict::Fail | Verdict::Warn | Verdict::Skip | Verdict::Info) => {}
                _ => {
                    return Err(format!(
                        "deviation[{i}].verdict: '{}' is not one of fail, warn, skip, info (an error is never expected: it means no verdict was reached)",
                        d.verdict
                    ))
                }
            }
            if d.reason.trim().is_empty() {
                return Err(format!("deviation[{i}].reason: empty"));
            }
        }
        Ok(ledger)
    }

    /// Applies the ledger to a run, scenario by scenario.
    pub fn apply(&self, record: &mut RunRecord) {
        for d in &self.deviations {
            let wanted = Verdict::parse(&d.verdict).expect("validated");
            for case in record
                .cases
                .iter_mut()
                .filter(|c| c.rule == d.rule && c.scenario == d.scenario)
            {
                if case.verdict == wanted {
                    case.verdict = Verdict::Expected;
                    case.reason = Some(format!("known deviation: {}", d.reason));
                } else {
                    case.reason = Some(format!(
                        "the ledger expects {} ({}), the run saw {}{}",
                        d.verdict,
                        d.reason,
                        case.verdict.as_str(),
                        case.reason
                            .as_deref()
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default()
                    ));
                    case.verdict = Verdict::ExpectationUnmet;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::fixtures::{case, record};

    const SCENARIO: &str = "A refresh token sent with the hint access_token is still revoked";

    fn ledger() -> Ledger {
        Ledger::from_toml(&format!(
            "[[deviation]]\nrule = \"rfc7009-2.1-hint-fallback\"\nscenario = \"{SCENARIO}\"\nverdict = \"fail\"\nreason = \"Janssen looks only among access tokens\"\n"
        ))
        .unwrap()
    }

    fn named(rule: &str, scenario: &str, verdict: Verdict) -> crate::record::CaseRecord {
        let mut c = case(rule, verdict);
        c.scenario = scenario.into();
        c
    }

    #[test]
    fn an_observed_deviation_is_expected_and_does_not_fail() {
        let mut r = record(vec![
            named("rfc7009-2.1-hint-fallback", SCENARIO, Verdict::Fail),
            named("rfc7009-2.1-hint-fallback", "another", Verdict::Pass),
        ]);
        ledger().apply(&mut r);
        assert_eq!(r.cases[0].verdict, Verdict::Expected);
        assert_eq!(r.cases[1].verdict, Verdict::Pass);
        assert!(!r.failed());
    }

    #[test]
    fn a_new_failure_in_another_scenario_of_a_listed_rule_still_fails() {
        let mut r = record(vec![
            named("rfc7009-2.1-hint-fallback", SCENARIO, Verdict::Fail),
            named("rfc7009-2.1-hint-fallback", "another", Verdict::Fail),
        ]);
        ledger().apply(&mut r);
        assert_eq!(r.cases[1].verdict, Verdict::Fail);
        assert!(r.failed());
    }

    #[test]
    fn a_deviation_that_did_not_happen_fails_the_run() {
        let mut r = record(vec![named(
            "rfc7009-2.1-hint-fallback",
            SCENARIO,
            Verdict::Pass,
        )]);
        ledger().apply(&mut r);
        assert_eq!(r.cases[0].verdict, Verdict::ExpectationUnmet);
        assert!(r.failed());
    }

    #[test]
    fn bad_ledgers_name_the_entry() {
        let entry = |rule: &str, scenario: &str, verdict: &str| {
            format!("[[deviation]]\nrule = \"{rule}\"\nscenario = \"{scenario}\"\nverdict = \"{verdict}\"\nreason = \"x\"")
        };
        let e = Ledger::from_toml(&entry("nope", SCENARIO, "fail")).unwrap_err();
        assert!(e.contains("deviation[0].rule"), "{e}");
        let e = Ledger::from_toml(&entry("rfc7009-2.1-hint-fallback", "nope", "fail")).unwrap_err();
        assert!(
            e.contains("deviation[0].scenario") && e.contains(SCENARIO),
            "{e}"
        );
        for verdict in ["pass", "error"] {
            let e = Ledger::from_toml(&entry("rfc7009-2.1-hint-fallback", SCENARIO, verdict))
                .unwrap_err();
            assert!(e.contains("deviation[0].verdict"), "{e}");
        }
        let e = Ledger::from_toml("[[deviation]]\nrule = \"x\"\nverdikt = 1").unwrap_err();
        assert!(e.contains("verdikt"), "{e}");
    }
}
