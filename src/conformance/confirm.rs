//! What makes a verdict independent of `--concurrency`: the selected scenarios are split into
//! those that run under the server's own settings and groups that each need one set of
//! settings (`partition`); a scenario that did not come out clean, and that another scenario
//! running beside it could have disturbed, is run again alone after a quiet pause, and that
//! result is kept (`confirm_alone`).

use super::cucumber::run_scenarios;
use super::plan::Selection;
use super::schedule::Schedule;
use super::world::RunContext;
use crate::catalogue::{Requirement, Scenario, ScenarioKey, Setting};
use crate::record::{CaseRecord, Verdict};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// The selected scenarios: those that run under the server's own settings, and the groups of
/// `@serial` scenarios keyed by the settings they need (each group's settings change once).
#[derive(Debug)]
pub struct Partition {
    pub free: HashSet<ScenarioKey>,
    pub groups: BTreeMap<Vec<Setting>, HashSet<ScenarioKey>>,
}

impl Partition {
    pub fn len(&self) -> usize {
        self.free.len() + self.groups.values().map(HashSet::len).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub fn partition(scenarios: &[Scenario], selection: &Selection) -> Partition {
    let mut free = HashSet::new();
    let mut groups: BTreeMap<Vec<Setting>, HashSet<ScenarioKey>> = BTreeMap::new();
    for s in scenarios.iter().filter(|s| selection.matches(&s.tags)) {
        let mut settings: Vec<Setting> = s
            .requires
            .iter()
            .filter_map(|r| match r {
                Requirement::Setting(setting) => Some(*setting),
                _ => None,
            })
            .collect();
        settings.sort();
        if settings.is_empty() && !s.serial {
            free.insert(s.key());
        } else {
            groups.entry(settings).or_default().insert(s.key());
        }
    }
    Partition {
        free,
        groups: merge_groups(groups),
    }
}

/// Groups whose settings live in different properties and switch no feature are put in place
/// together: each scenario names every setting it relies on, so one it does not name may
/// hold any value (as on a server configured that way), and every group costs a confirmation
/// and a settle. Feature switches keep their own groups (they take an endpoint away).
fn merge_groups(
    groups: BTreeMap<Vec<Setting>, HashSet<ScenarioKey>>,
) -> BTreeMap<Vec<Setting>, HashSet<ScenarioKey>> {
    let mut merged: Vec<(Vec<Setting>, HashSet<ScenarioKey>)> = Vec::new();
    for (settings, keys) in groups {
        let composable = |g: &[Setting]| !g.is_empty() && !g.iter().any(|s| s.switches_a_feature());
        let into = merged.iter_mut().find(|(other, _)| {
            composable(&settings)
                && composable(other)
                && !other
                    .iter()
                    .any(|o| settings.iter().any(|s| s.property() == o.property()))
        });
        match into {
            Some((other, held)) => {
                other.extend(settings);
                other.sort();
                held.extend(keys);
            }
            None => merged.push((settings, keys)),
        }
    }
    merged.into_iter().collect()
}

/// Whether a scenario's result could have been caused by another scenario running beside it:
/// it holds tokens another scenario's requests could have touched (or it stopped with an
/// error), and it did not come out clean.
pub fn needs_confirming(case: &CaseRecord) -> bool {
    let clean = match case.verdict {
        Verdict::Pass | Verdict::Skip => true,
        Verdict::Info => case.failed_checks().next().is_none(),
        _ => false,
    };
    // The same request alone gets the same over-cap answer.
    let alone_changes_nothing = case.verdict == Verdict::Error && case.unreadable_answer;
    !clean && !alone_changes_nothing && (!case.tokens.is_empty() || case.verdict == Verdict::Error)
}

fn key_of(case: &CaseRecord) -> ScenarioKey {
    (case.file.clone(), case.line, case.scenario.clone())
}

/// Runs each scenario that did not come out clean again, alone, after a quiet pause (so no
/// other scenario runs beside it and no earlier request's delayed effect lands in it), and
/// keeps that result. At any concurrency, this is what makes a verdict independent of what
/// ran next to the scenario.
/// Returns the cases and the waits the confirmations could not avoid (each one's quiet pause
/// and its own waits).
pub async fn confirm_alone(
    ctx: &Arc<RunContext>,
    features: &[(String, String)],
    mut cases: Vec<CaseRecord>,
) -> Result<(Vec<CaseRecord>, std::time::Duration), String> {
    let mut waited = std::time::Duration::ZERO;
    let t = &ctx.target.profile.timeouts;
    let quiet = t.stay_active_settle.max(t.propagation_window);
    let suspects: Vec<ScenarioKey> = cases
        .iter()
        .filter(|c| needs_confirming(c))
        .map(key_of)
        .collect();
    for key in suspects {
        if ctx.target.http.unusable().is_some() {
            break;
        }
        // Only what is left of the pause since the last revocation anywhere in the run.
        let pause = ctx.pace.quiet_left(quiet);
        tokio::time::sleep(pause).await;
        let again = run_scenarios(ctx, features, HashSet::from([key]), Schedule::Alone).await?;
        waited += pause + crate::record::Timing::longest_wait(&again);
        for again in again {
            if let Some(first) = cases.iter_mut().find(|c| key_of(c) == key_of(&again)) {
                let first_verdict = first.verdict;
                *first = CaseRecord {
                    confirmed_alone: true,
                    first_verdict: Some(first_verdict),
                    ..again
                };
            }
        }
    }
    Ok((cases, waited))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::RuleSet;
    use crate::record::fixtures::case;

    #[test]
    fn only_unclean_scenarios_that_hold_tokens_or_errored_are_confirmed_alone() {
        let mut failing = case("r", Verdict::Fail);
        assert!(
            !needs_confirming(&failing),
            "no token: nothing another scenario could touch"
        );
        failing.tokens = vec!["the access token".into()];
        assert!(needs_confirming(&failing));
        assert!(needs_confirming(&case("r", Verdict::Error)));
        let mut passing = case("r", Verdict::Pass);
        passing.tokens = vec!["the access token".into()];
        assert!(!needs_confirming(&passing));
        let mut skipped = passing.clone();
        skipped.verdict = Verdict::Skip;
        assert!(!needs_confirming(&skipped));
        let mut unreadable = case("r", Verdict::Error);
        unreadable.unreadable_answer = true;
        assert!(
            !needs_confirming(&unreadable),
            "the same request alone gets the same over-cap answer"
        );
    }

    #[test]
    fn groups_on_different_properties_share_a_state_and_feature_switches_stay_alone() {
        let key = |n: usize| ("f".to_string(), n, format!("s{n}"));
        let one = |s: Vec<Setting>, n: usize| (s, HashSet::from([key(n)]));
        let groups = BTreeMap::from([
            one(vec![Setting::AllowRevokeForOtherClients(false)], 1),
            one(vec![Setting::AllowRevokeForOtherClients(true)], 2),
            one(vec![Setting::AllowAllValueForRevokeEndpoint(false)], 3),
            one(vec![Setting::AllowAllValueForRevokeEndpoint(true)], 4),
            one(vec![Setting::RevokeTokenFlagDisabled], 5),
            one(vec![Setting::FeatureFlagsEmpty], 6),
            one(vec![], 7),
        ]);
        let merged = merge_groups(groups);
        assert_eq!(merged.len(), 5, "{merged:?}");
        let both_false = vec![
            Setting::AllowRevokeForOtherClients(false),
            Setting::AllowAllValueForRevokeEndpoint(false),
        ];
        assert_eq!(merged[&both_false], HashSet::from([key(1), key(3)]));
        assert!(merged.contains_key(&vec![Setting::RevokeTokenFlagDisabled]));
        assert!(merged.contains_key(&vec![Setting::FeatureFlagsEmpty]));
        assert!(merged.contains_key(&vec![]), "@serial alone stays alone");
        assert_eq!(merged.values().map(HashSet::len).sum::<usize>(), 7);
    }

    #[test]
    fn settings_tags_make_groups_and_unknown_ones_are_refused() {
        let features = vec![(
            "f.feature".to_string(),
            "Feature: f\n\n  @rule:a @rfc7009\n  Scenario: free\n    Given x\n\n  @rule:b @rfc7009 @serial @requires:setting:allowAllValueForRevokeEndpoint=true\n  Scenario: grouped\n    Given x\n\n  @rule:c @rfc7009 @serial @requires:setting:allowAllValueForRevokeEndpoint=true\n  Scenario: grouped too\n    Given x\n".to_string(),
        )];
        let s = Selection::new(RuleSet::Rfc7009, &[], None).unwrap();
        let scenarios = crate::catalogue::features::scenarios(&features).unwrap();
        let p = partition(&scenarios, &s);
        assert_eq!(p.free.len(), 1);
        assert_eq!(p.groups.len(), 1);
        let group = p
            .groups
            .get(&vec![Setting::AllowAllValueForRevokeEndpoint(true)])
            .unwrap();
        assert_eq!(group.len(), 2);
        let bad = vec![(
            "g.feature".to_string(),
            features[0].1.replace("=true", "=maybe"),
        )];
        assert!(crate::catalogue::features::scenarios(&bad)
            .unwrap_err()
            .contains("unknown setting tag"));
    }
}
