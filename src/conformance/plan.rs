//! What a check run needs, validated: the target profile, which scenarios run (`Selection`),
//! the ledger, where the scenarios come from, concurrency and a progress sink; and why a run
//! could not produce a record (`CheckError`). The command line builds the plan; the engine
//! only reads it.

use super::expectations::Ledger;
use super::progress::Progress;
use crate::catalogue::{FeatureSource, RuleId, RuleSet};
use crate::sut::TargetProfile;
use cucumber::tag::Ext as _;
use std::path::PathBuf;
use std::sync::Arc;

/// Which scenarios run: those of the rule set, narrowed to some rules and a tag expression.
#[derive(Debug, Clone)]
pub struct Selection {
    pub rule_set: RuleSet,
    pub rules: Vec<RuleId>,
    pub tags: Option<cucumber::gherkin::tagexpr::TagOperation>,
}

impl Selection {
    /// A selection from what the user wrote; each error names the flag.
    pub fn new(rule_set: RuleSet, rules: &[String], tags: Option<&str>) -> Result<Self, String> {
        let rules = rules
            .iter()
            .map(|r| RuleId::known(r).map_err(|e| format!("--rule: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let tags = tags
            .map(|t| {
                t.parse()
                    .map_err(|e| format!("--tags: '{t}' is not a tag expression: {e}"))
            })
            .transpose()?;
        Ok(Selection {
            rule_set,
            rules,
            tags,
        })
    }

    pub fn matches(&self, tags: &[String]) -> bool {
        let rule_ok = self.rules.is_empty()
            || tags
                .iter()
                .filter_map(|t| t.strip_prefix("rule:"))
                .any(|id| self.rules.iter().any(|r| r == id));
        let tags_ok = self.tags.as_ref().is_none_or(|op| op.eval(tags.iter()));
        self.rule_set.selects(tags) && rule_ok && tags_ok
    }
}

/// Everything a check run needs, validated.
pub struct RunPlan {
    pub profile: TargetProfile,
    pub selection: Selection,
    pub strict: bool,
    pub ledger: Option<(PathBuf, Ledger)>,
    pub features: FeatureSource,
    /// Informational: the fault the in-process reference server runs with.
    pub fault: Option<String>,
    /// Informational: its quirks.
    pub quirks: Vec<String>,
    /// How many scenarios run at once (@serial ones always run alone).
    pub concurrency: usize,
    /// Where progress goes (scenarios done of the total, the rule running last).
    pub progress: Arc<dyn Progress>,
}

/// Why a run could not produce a record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// Something the user wrote (profile, selection, features).
    #[error("{0}")]
    Usage(String),
    /// The target cannot be used: unreachable, broken answers, minting failed, or a probe
    /// that cannot be believed.
    #[error("{0}")]
    Unusable(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_by_rule_set_rule_and_tags() {
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let s = Selection::new(RuleSet::Rfc7009, &[], None).unwrap();
        assert!(s.matches(&tags(&["rfc7009", "MUST"])));
        assert!(!s.matches(&tags(&["janssen", "MUST"])));
        let s = Selection::new(RuleSet::Janssen, &["jans-all-enabled".into()], None).unwrap();
        assert!(s.matches(&tags(&["janssen", "rule:jans-all-enabled"])));
        assert!(!s.matches(&tags(&["janssen", "rule:jans-all-disabled"])));
        let s = Selection::new(RuleSet::Janssen, &[], Some("@MUST and not @serial")).unwrap();
        assert!(s.matches(&tags(&["rfc7009", "MUST"])));
        assert!(!s.matches(&tags(&["rfc7009", "MUST", "serial"])));
        let e = Selection::new(RuleSet::Janssen, &["nope".into()], None).unwrap_err();
        assert!(e.contains("--rule") && e.contains("nope"), "{e}");
        let e = Selection::new(RuleSet::Janssen, &[], Some("@a and (")).unwrap_err();
        assert!(e.contains("--tags"), "{e}");
    }
}
