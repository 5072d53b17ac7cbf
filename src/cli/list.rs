//! `revspec list`: every rule of a rule set with its level and the scenarios covering it.

use super::exit::Exit;
use super::ListArgs;
use crate::catalogue::{features, FeatureSource, RuleSet};

/// `revspec list`.
pub fn run(args: ListArgs) -> Exit {
    let rule_set = args.rules.unwrap_or(RuleSet::Janssen);
    let loaded = FeatureSource::Embedded.load().expect("embedded features");
    let coverage = match features::coverage(&loaded) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    let covered = rule_set.covers();
    let mut count = 0;
    let mut out = String::new();
    for (rule, scenarios) in coverage
        .iter()
        .filter(|(r, _)| covered.contains(&r.rule_set))
    {
        count += 1;
        let requires = rule
            .requires
            .as_deref()
            .map(|r| format!(" (requires {r})"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{:<6} {:<8} {}{requires}\n",
            rule.level.as_str(),
            rule.rule_set,
            rule.id
        ));
        for s in scenarios {
            out.push_str(&format!("         - {s}\n"));
        }
    }
    out.push_str(&format!("{count} rules\n"));
    super::print_out(&out);
    Exit::Ok
}
