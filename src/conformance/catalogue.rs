//! The rule catalogue the binary carries: the rules (`features/RULES.md`: ID, level, profile,
//! requirement) and the Gherkin scenarios (`features/*.feature`), embedded at build time so a
//! built `revspec` checks servers without anything beside it.

use std::path::{Path, PathBuf};

/// A requirement level.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Must,
    Should,
    May,
    Info,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s {
            "MUST" => Level::Must,
            "SHOULD" => Level::Should,
            "MAY" => Level::May,
            "INFO" => Level::Info,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
            Level::Info => "INFO",
        }
    }
}

/// One rule of the catalogue.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rule {
    pub id: String,
    pub level: Level,
    /// `rfc7009` or `janssen`.
    pub profile: String,
    pub requires: Option<String>,
    pub text: String,
}

const RULES_MD: &str = include_str!("../../features/RULES.md");

/// The feature files built into the binary: (file name, text).
pub const FEATURES: &[(&str, &str)] = &[
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
        "rfc7009_requests.feature",
        include_str!("../../features/rfc7009_requests.feature"),
    ),
    (
        "rfc7009_revocation.feature",
        include_str!("../../features/rfc7009_revocation.feature"),
    ),
];

/// Parses the rule tables of a RULES.md (`| id | LEVEL | requires | text |` rows under
/// `## Profile \`name\`` headings).
pub fn parse_rules(markdown: &str) -> Vec<Rule> {
    let mut profile = String::new();
    let mut rules = Vec::new();
    for line in markdown.lines() {
        if let Some(rest) = line.strip_prefix("## Profile `") {
            profile = rest.split('`').next().unwrap_or("").to_owned();
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 5 || !line.starts_with("| ") {
            continue;
        }
        let id = cells[1];
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        {
            continue;
        }
        let Some(level) = Level::parse(cells[2].split([',', ' ']).next().unwrap_or("")) else {
            continue;
        };
        let (requires, text) = if cells.len() >= 6 {
            (
                Some(cells[3])
                    .filter(|r| *r != "-" && !r.is_empty())
                    .map(str::to_owned),
                cells[4],
            )
        } else {
            (None, cells[3])
        };
        rules.push(Rule {
            id: id.to_owned(),
            level,
            profile: profile.clone(),
            requires,
            text: text.to_owned(),
        });
    }
    rules
}

/// The catalogue's rules.
pub fn rules() -> Vec<Rule> {
    parse_rules(RULES_MD)
}

/// The profiles a run of `profile` covers (`janssen` includes `rfc7009`).
pub fn profiles_covered(profile: &str) -> &'static [&'static str] {
    match profile {
        "janssen" => &["rfc7009", "janssen"],
        _ => &["rfc7009"],
    }
}

/// Where the scenarios come from.
#[derive(Debug, Clone)]
pub enum FeatureSource {
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

/// A cucumber parser over in-memory feature texts.
pub struct MemoryParser;

impl cucumber::Parser<Vec<(String, String)>> for MemoryParser {
    type Cli = cucumber::cli::Empty;
    type Output = futures::stream::Iter<
        std::vec::IntoIter<cucumber::parser::Result<cucumber::gherkin::Feature>>,
    >;

    fn parse(self, input: Vec<(String, String)>, _cli: Self::Cli) -> Self::Output {
        use cucumber::feature::Ext as _;
        let features: Vec<_> = input
            .into_iter()
            .map(|(path, text)| {
                let parsed = cucumber::gherkin::Feature::parse(
                    &text,
                    cucumber::gherkin::GherkinEnv::default(),
                )
                .map_err(|source| cucumber::gherkin::ParseFileError::Parsing {
                    path: PathBuf::from(&path),
                    error: None,
                    source,
                })
                .map(|mut f| {
                    f.path = Some(PathBuf::from(&path));
                    f
                });
                match parsed {
                    Ok(f) => f.expand_examples().map_err(cucumber::parser::Error::from),
                    Err(e) => Err(e.into()),
                }
            })
            .collect();
        futures::stream::iter(features)
    }
}

/// What `revspec list` and the coverage test need: each rule with the scenarios tagged with it.
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
        .into_iter()
        .map(|r| {
            let covering = scenarios
                .iter()
                .filter(|(id, _)| *id == r.id)
                .map(|(_, s)| s.clone())
                .collect();
            (r, covering)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_with_levels_and_profiles() {
        let rules = rules();
        assert!(rules.len() >= 50, "{}", rules.len());
        let fallback = rules
            .iter()
            .find(|r| r.id == "rfc7009-2.1-hint-fallback")
            .unwrap();
        assert_eq!(
            (fallback.level, fallback.profile.as_str()),
            (Level::Must, "rfc7009")
        );
        let all = rules.iter().find(|r| r.id == "jans-all-enabled").unwrap();
        assert_eq!(all.profile, "janssen");
        assert!(all
            .requires
            .as_deref()
            .unwrap()
            .contains("allowAllValueForRevokeEndpoint"));
    }

    #[test]
    fn every_rule_has_a_scenario_and_every_tag_names_a_rule() {
        let features = FeatureSource::Embedded.load().unwrap();
        let coverage = coverage(&features).unwrap();
        let uncovered: Vec<_> = coverage
            .iter()
            .filter(|(_, s)| s.is_empty())
            .map(|(r, _)| r.id.clone())
            .collect();
        assert!(
            uncovered.is_empty(),
            "rules without a scenario: {uncovered:?}"
        );
        let ids: Vec<String> = rules().into_iter().map(|r| r.id).collect();
        for (path, text) in &features {
            for tag in text
                .split_whitespace()
                .filter_map(|w| w.strip_prefix("@rule:"))
            {
                assert!(
                    ids.iter().any(|id| id == tag),
                    "{path}: @rule:{tag} is not in RULES.md"
                );
            }
        }
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
