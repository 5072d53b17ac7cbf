//! The Gherkin scenarios (`features/*.feature`), embedded at build time so a built `revspec`
//! checks servers with nothing beside it (or read from a folder with `--features`): parsed,
//! outlines expanded as cucumber runs them, each scenario with its rule, level, rule set and
//! declared needs.

use super::requires::Requirement;
use super::rules::{rules, Level, Rule, RuleId, RuleSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// The feature files built into the binary: (file name, text).
pub const FEATURES: &[(&str, &str)] = &[
    (
        "bearer_client_auth.feature",
        include_str!("../../features/bearer_client_auth.feature"),
    ),
    (
        "client_assertion.feature",
        include_str!("../../features/client_assertion.feature"),
    ),
    (
        "client_auth.feature",
        include_str!("../../features/client_auth.feature"),
    ),
    (
        "cluster.feature",
        include_str!("../../features/cluster.feature"),
    ),
    ("cors.feature", include_str!("../../features/cors.feature")),
    (
        "discovery.feature",
        include_str!("../../features/discovery.feature"),
    ),
    (
        "errors.feature",
        include_str!("../../features/errors.feature"),
    ),
    (
        "janssen_all.feature",
        include_str!("../../features/janssen_all.feature"),
    ),
    (
        "janssen_cascade.feature",
        include_str!("../../features/janssen_cascade.feature"),
    ),
    (
        "janssen_cross_client.feature",
        include_str!("../../features/janssen_cross_client.feature"),
    ),
    (
        "janssen_feature_flag.feature",
        include_str!("../../features/janssen_feature_flag.feature"),
    ),
    (
        "janssen_responses.feature",
        include_str!("../../features/janssen_responses.feature"),
    ),
    (
        "janssen_script.feature",
        include_str!("../../features/janssen_script.feature"),
    ),
    (
        "mutual_tls.feature",
        include_str!("../../features/mutual_tls.feature"),
    ),
    (
        "rfc7009_requests.feature",
        include_str!("../../features/rfc7009_requests.feature"),
    ),
    (
        "rfc7009_revocation.feature",
        include_str!("../../features/rfc7009_revocation.feature"),
    ),
];

/// Where the scenarios come from.
#[derive(Debug, Clone, Default)]
pub enum FeatureSource {
    #[default]
    Embedded,
    Dir(PathBuf),
}

impl FeatureSource {
    /// (display path, text) of every feature file.
    pub fn load(&self) -> Result<Vec<(String, String)>, String> {
        match self {
            FeatureSource::Embedded => Ok(FEATURES
                .iter()
                .map(|(n, t)| (format!("features/{n}"), t.to_string()))
                .collect()),
            FeatureSource::Dir(dir) => read_dir_features(dir),
        }
    }
}

fn read_dir_features(dir: &Path) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "feature") {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            out.push((path.display().to_string(), text));
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(format!("{}: no .feature files", dir.display()));
    }
    Ok(out)
}

/// Parses one feature file, with its scenario outlines expanded into one scenario per example
/// (as cucumber runs them).
pub fn parse_feature(path: &str, text: &str) -> Result<cucumber::gherkin::Feature, String> {
    use cucumber::feature::Ext as _;
    let mut feature =
        cucumber::gherkin::Feature::parse(text, cucumber::gherkin::GherkinEnv::default())
            .map_err(|e| format!("{path}: {e}"))?;
    feature.path = Some(PathBuf::from(path));
    feature
        .expand_examples()
        .map_err(|e| format!("{path}: {e}"))
}

/// A scenario's identity: its file, line and (for outline examples) expanded name.
pub type ScenarioKey = (String, usize, String);

/// One scenario of the catalogue, as a run sees it.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub path: String,
    pub line: usize,
    /// The name, outline examples expanded.
    pub name: String,
    /// The `@rule:` tag's ID (`untagged` when it has none).
    pub rule: String,
    pub level: Level,
    pub rule_set: RuleSet,
    pub tags: Vec<String>,
    /// Every `@requires:` need.
    pub requires: Vec<Requirement>,
    /// `@serial`: runs alone.
    pub serial: bool,
    /// The scenario's description: the requirement sentence, on one line.
    pub requirement: String,
    /// The steps' text.
    pub steps: Vec<String>,
}

impl Scenario {
    pub fn key(&self) -> ScenarioKey {
        (self.path.clone(), self.line, self.name.clone())
    }

    /// `file:line`.
    pub fn location(&self) -> String {
        format!("{}:{}", self.path, self.line)
    }

    /// The scenario as cucumber parsed it (outline examples already expanded).
    pub fn from_gherkin(path: &str, sc: &cucumber::gherkin::Scenario) -> Result<Scenario, String> {
        let rule = sc
            .tags
            .iter()
            .find_map(|t| t.strip_prefix("rule:"))
            .unwrap_or("untagged")
            .to_owned();
        let level = sc
            .tags
            .iter()
            .find_map(|t| Level::parse(t))
            .or_else(|| super::rule(&rule).map(|r| r.level))
            .unwrap_or(Level::Must);
        let requires = Requirement::of_tags(&sc.tags)
            .map_err(|e| format!("{path}:{}: {e}", sc.position.line))?;
        Ok(Scenario {
            path: path.to_owned(),
            line: sc.position.line,
            name: sc.name.clone(),
            level,
            rule_set: RuleSet::of_tags(&sc.tags),
            serial: sc.tags.iter().any(|t| t == "serial"),
            requires,
            requirement: sc
                .description
                .as_deref()
                .unwrap_or("")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            steps: sc.steps.iter().map(|s| s.value.clone()).collect(),
            tags: sc.tags.clone(),
            rule,
        })
    }
}

/// Every scenario of some feature files (outlines expanded), in file order.
pub fn scenarios(features: &[(String, String)]) -> Result<Vec<Scenario>, String> {
    let mut out = Vec::new();
    for (path, text) in features {
        let feature = parse_feature(path, text)?;
        for sc in &feature.scenarios {
            out.push(Scenario::from_gherkin(path, sc)?);
        }
    }
    Ok(out)
}

/// The scenarios built into the binary, parsed once.
pub fn embedded() -> &'static [Scenario] {
    static ALL: LazyLock<Vec<Scenario>> = LazyLock::new(|| {
        scenarios(&FeatureSource::Embedded.load().expect("embedded"))
            .expect("the built-in features parse (unit-tested)")
    });
    &ALL
}

/// What `revspec list` and `explain` show: each rule with its scenarios (`file:line name`,
/// one line per outline).
pub fn coverage(features: &[(String, String)]) -> Result<Vec<(Rule, Vec<String>)>, String> {
    let mut scenarios: Vec<(String, String)> = Vec::new(); // (rule id, "file:line name")
    for (path, text) in features {
        let feature =
            cucumber::gherkin::Feature::parse(text, cucumber::gherkin::GherkinEnv::default())
                .map_err(|e| format!("{path}: {e}"))?;
        for sc in &feature.scenarios {
            for tag in &sc.tags {
                if let Some(id) = tag.strip_prefix("rule:") {
                    scenarios.push((
                        id.to_owned(),
                        format!("{path}:{} {}", sc.position.line, sc.name),
                    ));
                }
            }
        }
    }
    Ok(rules()
        .iter()
        .map(|r| {
            let covering = scenarios
                .iter()
                .filter(|(id, _)| r.id == *id)
                .map(|(_, s)| s.clone())
                .collect();
            (r.clone(), covering)
        })
        .collect())
}

/// The rule IDs tagged on a scenario that are not in the catalogue.
pub fn unknown_rules(scenarios: &[Scenario]) -> Vec<String> {
    scenarios
        .iter()
        .filter(|s| RuleId::known(&s.rule).is_err())
        .map(|s| format!("{}: @rule:{}", s.location(), s.rule))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::requires::Role;

    #[test]
    fn every_rule_has_a_scenario_and_every_tag_names_a_rule() {
        let features = FeatureSource::Embedded.load().unwrap();
        let coverage = coverage(&features).unwrap();
        let uncovered: Vec<_> = coverage
            .iter()
            .filter(|(_, s)| s.is_empty())
            .map(|(r, _)| r.id.to_string())
            .collect();
        assert!(
            uncovered.is_empty(),
            "rules without a scenario: {uncovered:?}"
        );
        assert_eq!(unknown_rules(embedded()), Vec::<String>::new());
    }

    /// What `.ci/check-rules-copy.sh` checked with awk: one @rule tag, the rule's level tag and
    /// its rule-set tag on every scenario; a settings step only in a @serial scenario that
    /// declares the setting.
    #[test]
    fn every_scenario_carries_its_rule_level_and_rule_set_tags() {
        let mut problems = Vec::new();
        for s in embedded() {
            let rule_tags = s.tags.iter().filter(|t| t.starts_with("rule:")).count();
            if rule_tags != 1 {
                problems.push(format!("{}: {rule_tags} @rule tags", s.location()));
                continue;
            }
            let rule = crate::catalogue::rule(&s.rule).expect("known (tested above)");
            let levels: Vec<&String> = s
                .tags
                .iter()
                .filter(|t| Level::parse(t).is_some())
                .collect();
            if levels != [rule.level.as_str()] {
                problems.push(format!(
                    "{}: level tags {levels:?}, rule is {}",
                    s.location(),
                    rule.level.as_str()
                ));
            }
            let sets: Vec<&String> = s
                .tags
                .iter()
                .filter(|t| t.parse::<RuleSet>().is_ok())
                .collect();
            if sets != [rule.rule_set.as_str()] {
                problems.push(format!(
                    "{}: rule-set tags {sets:?}, rule is in {}",
                    s.location(),
                    rule.rule_set
                ));
            }
            let settings_step = s.steps.iter().any(|st| {
                [
                    "the setting ",
                    "the REVOKE_TOKEN feature flag ",
                    "the featureFlags list ",
                ]
                .iter()
                .any(|p| st.starts_with(p))
            });
            let declares = s
                .requires
                .iter()
                .any(|r| matches!(r, Requirement::Setting(_)));
            if settings_step && !(s.serial && declares) {
                problems.push(format!(
                    "{}: a settings step without @serial and @requires:setting:",
                    s.location()
                ));
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }

    /// Needs are declared, not guessed: a scenario whose steps name a client role, use refresh
    /// tokens or observe a token type declares the matching `@requires:` tag. (This reads the
    /// steps only to check the tags; nothing at run time does.)
    #[test]
    fn every_implicit_need_is_declared_by_a_tag() {
        let mut problems = Vec::new();
        for s in embedded() {
            let text = s.steps.join("\n");
            let has = |r: Requirement| s.requires.contains(&r);
            for role in [Role::Other, Role::RevokeAny, Role::Public] {
                let named = text.contains(&format!("the {} client", role.name()));
                if named
                    && !has(Requirement::Client(role))
                    && !(role == Role::Public
                        && has(Requirement::Capability(
                            super::super::requires::Capability::PublicClient,
                        )))
                {
                    problems.push(format!(
                        "{}: names the {role} client without @requires:client:{role}",
                        s.location()
                    ));
                }
            }
            if (text.contains("refresh token from") || text.contains("refresh token is used"))
                && !has(Requirement::RefreshTokens)
            {
                problems.push(format!(
                    "{}: uses refresh tokens without @requires:refresh-tokens",
                    s.location()
                ));
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn every_feature_file_is_embedded() {
        let on_disk =
            read_dir_features(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/features"))).unwrap();
        assert_eq!(
            on_disk.len(),
            FEATURES.len(),
            "add new feature files to FEATURES"
        );
    }
}
