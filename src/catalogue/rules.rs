//! The rules of `features/RULES.md`, parsed once: typed IDs, levels, the rule set each belongs
//! to, what it requires and its sentence.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

const RULES_MD: &str = include_str!("../../features/RULES.md");

/// A requirement level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum Level {
    /// A failure fails the run.
    Must,
    /// A failure is a warning (fails only with `--strict`).
    Should,
    /// Recorded, never fails.
    May,
    /// Recorded, never fails: the observed policy.
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

/// A set of rules a run checks: `rfc7009`, or `janssen` (which includes `rfc7009`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum RuleSet {
    #[default]
    Rfc7009,
    Janssen,
}

impl RuleSet {
    pub const ALL: [RuleSet; 2] = [RuleSet::Rfc7009, RuleSet::Janssen];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleSet::Rfc7009 => "rfc7009",
            RuleSet::Janssen => "janssen",
        }
    }

    /// The rule sets whose rules a run of this one checks (each is also a scenario tag).
    pub fn covers(self) -> &'static [RuleSet] {
        match self {
            RuleSet::Rfc7009 => &[RuleSet::Rfc7009],
            RuleSet::Janssen => &[RuleSet::Rfc7009, RuleSet::Janssen],
        }
    }

    /// Whether a scenario with these tags belongs to a run of this rule set.
    pub fn selects(self, tags: &[String]) -> bool {
        self.covers()
            .iter()
            .any(|s| tags.iter().any(|t| t == s.as_str()))
    }

    /// The rule set a scenario's tags put it in (`janssen` when tagged so).
    pub fn of_tags(tags: &[String]) -> RuleSet {
        if tags.iter().any(|t| t == "janssen") {
            RuleSet::Janssen
        } else {
            RuleSet::Rfc7009
        }
    }
}

impl Serialize for RuleSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RuleSet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RuleSet::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("'{s}' is not rfc7009 or janssen"))
    }
}

/// A rule ID of the catalogue (`rfc7009-2.1-hint-fallback`): stable, never renumbered.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RuleId(String);

impl RuleId {
    /// The ID if the catalogue has such a rule; otherwise an error naming it.
    pub fn known(id: &str) -> Result<RuleId, String> {
        match super::rule(id) {
            Some(r) => Ok(r.id.clone()),
            None => Err(format!("'{id}' is not a rule ID (see `revspec list`)")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for RuleId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for RuleId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for RuleId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

/// One rule of the catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub id: RuleId,
    pub level: Level,
    pub rule_set: RuleSet,
    /// What the target must have or allow (`requires:` in RULES.md), as written there.
    pub requires: Option<String>,
    pub text: String,
}

/// Parses the rule tables of a RULES.md (`| id | LEVEL | requires | text |` rows under
/// `## Profile \`name\`` headings).
pub fn parse_rules(markdown: &str) -> Vec<Rule> {
    let mut rule_set = RuleSet::Rfc7009;
    let mut rules = Vec::new();
    for line in markdown.lines() {
        if let Some(rest) = line.strip_prefix("## Profile `") {
            rule_set = rest
                .split('`')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or_default();
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
        // `| id | LEVEL | requires | text |`, or the shared form `| id | LEVEL, requires: x | text |`.
        let (requires, text) = if cells.len() >= 6 {
            let r = cells[3];
            ((r != "-" && !r.is_empty()).then(|| r.to_owned()), cells[4])
        } else {
            let r = cells[2]
                .split_once("requires:")
                .map(|(_, r)| r.trim().to_owned());
            (r.filter(|r| !r.is_empty()), cells[3])
        };
        rules.push(Rule {
            id: RuleId(id.to_owned()),
            level,
            rule_set,
            requires,
            text: text.to_owned(),
        });
    }
    rules
}

/// The catalogue's rules, parsed once.
pub fn rules() -> &'static [Rule] {
    static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| parse_rules(RULES_MD));
    &RULES
}
