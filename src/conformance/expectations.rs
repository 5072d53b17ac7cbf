//! The expectations ledger: a target's known deviations (rule ID, expected verdict, reason).
//! A listed deviation that happens is reported as EXPECTED and does not fail the run; one that
//! does not happen as listed is reported as UNMET and fails the run.

use crate::report::{RunRecord, Verdict};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    pub rule: String,
    /// `fail`, `warn`, `skip`, `info` or `error`.
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
        let ids: Vec<String> = super::catalogue::rules()
            .into_iter()
            .map(|r| r.id)
            .collect();
        for (i, d) in ledger.deviations.iter().enumerate() {
            if !ids.contains(&d.rule) {
                return Err(format!(
                    "deviation[{i}].rule: '{}' is not a rule ID of the catalogue",
                    d.rule
                ));
            }
            match Verdict::parse(&d.verdict) {
                Some(Verdict::Pass) | None => {
                    return Err(format!(
                        "deviation[{i}].verdict: '{}' is not one of fail, warn, skip, info, error",
                        d.verdict
                    ))
                }
                _ => {}
            }
            if d.reason.trim().is_empty() {
                return Err(format!("deviation[{i}].reason: empty"));
            }
        }
        Ok(ledger)
    }

    /// Applies the ledger to a run: per rule, the worst verdict is compared with the listed one.
    pub fn apply(&self, record: &mut RunRecord) {
        for d in &self.deviations {
            let wanted = Verdict::parse(&d.verdict).expect("validated");
            let Some(worst) = record.rule_verdict(&d.rule) else {
                // The rule was not selected in this run: nothing to compare.
                continue;
            };
            let matched = worst == wanted;
            for case in record.cases.iter_mut().filter(|c| c.rule == d.rule) {
                if matched && case.verdict == wanted {
                    case.verdict = Verdict::Expected;
                    case.reason = Some(format!("known deviation: {}", d.reason));
                } else if !matched {
                    case.reason = Some(format!(
                        "the ledger expects {} ({}), the run saw {}",
                        d.verdict,
                        d.reason,
                        worst.as_str()
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
    use crate::report::fixtures::{case, record};

    const LEDGER: &str = "[[deviation]]\nrule = \"rfc7009-2.1-hint-fallback\"\nverdict = \"fail\"\nreason = \"Janssen looks only among access tokens\"\n";

    #[test]
    fn an_observed_deviation_is_expected_and_does_not_fail() {
        let ledger = Ledger::from_toml(LEDGER).unwrap();
        let mut r = record(vec![
            case("rfc7009-2.1-hint-fallback", Verdict::Fail),
            case("rfc7009-2.1-hint-fallback", Verdict::Pass),
        ]);
        ledger.apply(&mut r);
        assert_eq!(r.cases[0].verdict, Verdict::Expected);
        assert_eq!(r.cases[1].verdict, Verdict::Pass);
        assert!(!r.failed());
    }

    #[test]
    fn a_deviation_that_did_not_happen_fails_the_run() {
        let ledger = Ledger::from_toml(LEDGER).unwrap();
        let mut r = record(vec![case("rfc7009-2.1-hint-fallback", Verdict::Pass)]);
        ledger.apply(&mut r);
        assert_eq!(r.cases[0].verdict, Verdict::ExpectationUnmet);
        assert!(r.failed());
    }

    #[test]
    fn bad_ledgers_name_the_entry() {
        let e =
            Ledger::from_toml("[[deviation]]\nrule = \"nope\"\nverdict = \"fail\"\nreason = \"x\"")
                .unwrap_err();
        assert!(e.contains("deviation[0].rule"), "{e}");
        let e = Ledger::from_toml(&LEDGER.replace("\"fail\"", "\"pass\"")).unwrap_err();
        assert!(e.contains("deviation[0].verdict"), "{e}");
        let e = Ledger::from_toml("[[deviation]]\nrule = \"x\"\nverdikt = 1").unwrap_err();
        assert!(e.contains("verdikt"), "{e}");
    }
}
