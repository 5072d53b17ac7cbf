//! The closed vocabulary of outcomes, for a scenario and for a rule.

use serde::{Deserialize, Serialize};

/// The closed vocabulary of outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Verdict {
    Pass,
    /// A MAY/INFO rule: recorded, never fails.
    Info,
    /// A rule (never a scenario) some of whose scenarios passed and some were skipped: not
    /// every scenario of the rule was observed.
    Partial,
    /// Skipped, with a reason (capability, setting or probe missing).
    Skip,
    /// A SHOULD rule not met (fails only with --strict).
    Warn,
    /// A deviation listed in the expectations ledger that happened as listed.
    Expected,
    /// A MUST rule not met.
    Fail,
    /// A deviation listed in the ledger that did not happen as listed.
    ExpectationUnmet,
    /// The scenario could not be run to a verdict (precondition, transport, undefined step).
    Error,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Info => "INFO",
            Verdict::Partial => "PARTIAL",
            Verdict::Skip => "SKIP",
            Verdict::Warn => "WARN",
            Verdict::Expected => "EXPECTED",
            Verdict::Fail => "FAIL",
            Verdict::ExpectationUnmet => "UNMET",
            Verdict::Error => "ERROR",
        }
    }

    pub fn parse(s: &str) -> Option<Verdict> {
        Some(match s.to_ascii_lowercase().as_str() {
            "pass" => Verdict::Pass,
            "info" => Verdict::Info,
            "skip" => Verdict::Skip,
            "warn" => Verdict::Warn,
            "fail" => Verdict::Fail,
            "error" => Verdict::Error,
            _ => return None,
        })
    }
}
