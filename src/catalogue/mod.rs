//! The rule catalogue as data, loaded once: the rules of `features/RULES.md` with typed IDs,
//! levels and rule sets (`rules`), the Gherkin scenarios with what each requires (`features`,
//! `requires`), what each rule means and which faults and quirks of the reference server touch
//! it (`explain`). Everything that needs rule knowledge reads it here; this module imports only
//! the fault tables.

pub mod explain;
pub mod features;
pub mod requires;
mod rules;

pub use features::{FeatureSource, Scenario, ScenarioKey};
pub use requires::{Capability, Requirement, Role, Setting, TokenType};
pub use rules::{parse_rules, rules, Level, Rule, RuleId, RuleSet};

/// The rule with this ID.
pub fn rule(id: &str) -> Option<&'static Rule> {
    rules().iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_with_levels_and_rule_sets() {
        let rules = rules();
        assert!(rules.len() >= 50, "{}", rules.len());
        let fallback = rule("rfc7009-2.1-hint-fallback").unwrap();
        assert_eq!(
            (fallback.level, fallback.rule_set),
            (Level::Must, RuleSet::Rfc7009)
        );
        let all = rule("jans-all-enabled").unwrap();
        assert_eq!(all.rule_set, RuleSet::Janssen);
        assert!(all
            .requires
            .as_deref()
            .unwrap()
            .contains("allowAllValueForRevokeEndpoint"));
        assert!(RuleId::known("nope").unwrap_err().contains("'nope'"));
        assert_eq!(
            "oidc".parse::<RuleSet>().unwrap_err(),
            "'oidc' is not rfc7009 or janssen"
        );
    }

    #[test]
    fn the_shared_form_of_a_rule_row_parses_too() {
        let md = "## Profile `janssen`\n\n| ID | Level | Rule |\n|---|---|---|\n| x-y | MAY, requires: cors | Text. |\n";
        let r = &parse_rules(md)[0];
        assert_eq!(
            (r.id.as_str(), r.level, r.rule_set),
            ("x-y", Level::May, RuleSet::Janssen)
        );
        assert_eq!(
            (r.requires.as_deref(), r.text.as_str()),
            (Some("cors"), "Text.")
        );
    }
}
