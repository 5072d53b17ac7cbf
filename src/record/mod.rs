//! The run record, the one canonical result of a check run (`run.json`), the load summary
//! (`summary.json`, `load`), what a load run measured and one shard's part of a sharded load
//! run (`shard.json`, `shard`) with its latency histograms (`latency`): their types, a schema
//! version, and pure aggregation (rule verdicts, PARTIAL, counts, delays, histogram merges).
//! Every view (`report`) is built from these types; nothing here prints, reads the environment
//! or knows a view. A failure is a rule the target broke; an error is a scenario that could not
//! be run to a verdict; a skip names why.

mod calibration;
mod exchange;
pub mod latency;
pub mod load;
mod setting;
pub mod shard;
pub mod stats;
mod verdict;

pub use crate::catalogue::Level;
pub use calibration::{Calibration, CalibrationStep, ProbeCalibration};
pub use exchange::Exchange;
use serde::{Deserialize, Serialize};
pub use setting::SettingRecord;
pub use verdict::Verdict;

/// One check made by a scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckRecord {
    pub what: String,
    pub expected: String,
    pub actual: String,
    pub passed: bool,
    /// A SHOULD inside the rule: a failure is a warning whatever the rule's level.
    pub should_only: bool,
}

/// How long a revocation took to be seen by the probe.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DelayRecord {
    /// The token, by its label in the scenario ("the refresh token").
    pub token: String,
    /// The node that saw it (its base URL; empty for a single server).
    #[serde(default)]
    pub node: String,
    /// From the end of the revocation request to the first observation that saw it inactive.
    pub ms: f64,
    /// Whether the very first observation already saw it inactive.
    pub first_look: bool,
}

/// One scenario's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseRecord {
    pub rule: String,
    pub level: Level,
    /// The rule set the scenario belongs to (`rfc7009` or `janssen`).
    pub profile: String,
    pub scenario: String,
    /// The feature file and line of the scenario.
    #[serde(default)]
    pub file: String,
    #[serde(default)]
    pub line: usize,
    /// `file:line` (kept for readers of older records; `file` and `line` say the same).
    pub location: String,
    pub requirement: String,
    pub verdict: Verdict,
    /// Why (skips, errors, INFO observations, ledger notes).
    pub reason: Option<String>,
    pub checks: Vec<CheckRecord>,
    /// The positive controls: what had to work for a "nothing happened" conclusion to mean
    /// anything.
    pub controls: Vec<CheckRecord>,
    pub observations: Vec<String>,
    /// Revocation delays measured in this scenario.
    pub delays: Vec<DelayRecord>,
    /// The tokens the scenario held, by label ("the other client's access token").
    #[serde(default)]
    pub tokens: Vec<String>,
    /// The scenario was run again alone, with no other scenario running, and this is that
    /// run's result (its first run, beside others, gave `first_verdict`).
    pub confirmed_alone: bool,
    pub first_verdict: Option<Verdict>,
    pub exchanges: Vec<Exchange>,
    pub duration_ms: f64,
    /// Of that, the time spent waiting for evidence: settles before a second look, polls for
    /// a token not yet inactive (no schedule makes these shorter).
    #[serde(default)]
    pub waited_ms: f64,
    /// An ERROR on an answer the harness could not read (over the body cap): the same request
    /// alone gets the same answer, so the scenario is not run again alone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unreadable_answer: bool,
}

impl CaseRecord {
    pub fn failed_checks(&self) -> impl Iterator<Item = &CheckRecord> {
        self.checks.iter().filter(|c| !c.passed)
    }
}

/// What was run, against what, when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    pub tool: String,
    pub version: String,
    pub target: String,
    pub issuer: String,
    pub revocation_endpoint: String,
    pub profile: String,
    pub strict: bool,
    pub expectations: Option<String>,
    pub started: String,
    pub duration_ms: f64,
    pub fault: Option<String>,
    /// The quirks of the in-process reference server, if any.
    pub quirks: Vec<String>,
    pub concurrency: usize,
    /// Problems that are not verdicts (e.g. a setting that could not be restored).
    pub warnings: Vec<String>,
    /// Set when the target stopped answering and the remaining scenarios were not attempted.
    #[serde(default)]
    pub unusable: Option<String>,
    /// Where the wall time went, and the floor under it.
    #[serde(default)]
    pub timing: Option<Timing>,
}

/// A run's wall time against its floor: the waits that no schedule can avoid, phase by phase
/// (calibration's settles one after another; in a phase of scenarios, the longest waits of
/// one scenario; a group's confirmations, the longest of them, and the quiet after one that
/// revoked; each confirmation alone, its quiet pause and its waits).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Timing {
    pub wall_ms: f64,
    pub floor_ms: f64,
    pub phases: Vec<PhaseTiming>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PhaseTiming {
    /// "calibration", "scenarios without setting changes", "settings allowAllValueForRevokeEndpoint=true", ...
    pub phase: String,
    pub wall_ms: f64,
    pub floor_ms: f64,
}

impl Timing {
    pub fn add(
        &mut self,
        phase: impl Into<String>,
        wall: std::time::Duration,
        floor: std::time::Duration,
    ) {
        let (wall_ms, floor_ms) = (wall.as_secs_f64() * 1000.0, floor.as_secs_f64() * 1000.0);
        self.wall_ms += wall_ms;
        self.floor_ms += floor_ms;
        self.phases.push(PhaseTiming {
            phase: phase.into(),
            wall_ms,
            floor_ms,
        });
    }

    /// The most any case of `cases` waited: the floor of scenarios run side by side.
    pub fn longest_wait(cases: &[CaseRecord]) -> std::time::Duration {
        std::time::Duration::from_secs_f64(
            cases.iter().map(|c| c.waited_ms).fold(0.0, f64::max) / 1000.0,
        )
    }
}

/// The canonical record of a check run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    /// [`SCHEMA_VERSION`] when written; 1 for records written before the field existed.
    #[serde(default = "schema_v1")]
    pub schema_version: u32,
    pub run: RunInfo,
    /// How each probe was checked on the live target before the first scenario.
    pub calibration: Calibration,
    /// Every setting put in place (and restored), with how the server showed it.
    pub settings: Vec<SettingRecord>,
    pub cases: Vec<CaseRecord>,
}

/// The version of run.json this build writes. Fields are only ever added; a reader of an
/// older record fills what it lacks.
pub const SCHEMA_VERSION: u32 = 2;

fn schema_v1() -> u32 {
    1
}

/// Counts per verdict.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub partial: usize,
    pub fail: usize,
    pub warn: usize,
    pub info: usize,
    pub skip: usize,
    pub error: usize,
    pub expected: usize,
    pub unmet: usize,
}

impl RunRecord {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.cases {
            match c.verdict {
                Verdict::Pass => s.pass += 1,
                Verdict::Partial => s.partial += 1,
                Verdict::Fail => s.fail += 1,
                Verdict::Warn => s.warn += 1,
                Verdict::Info => s.info += 1,
                Verdict::Skip => s.skip += 1,
                Verdict::Error => s.error += 1,
                Verdict::Expected => s.expected += 1,
                Verdict::ExpectationUnmet => s.unmet += 1,
            }
        }
        s
    }

    /// Whether the run fails: any failure, error or unmet expectation (and warnings when strict).
    pub fn failed(&self) -> bool {
        self.cases.iter().any(|c| {
            matches!(
                c.verdict,
                Verdict::Fail | Verdict::Error | Verdict::ExpectationUnmet
            ) || (self.run.strict && c.verdict == Verdict::Warn)
        })
    }

    /// The verdict of each rule, in order of first appearance (see [`RunRecord::rule_verdict`]).
    pub fn rule_verdicts(&self) -> Vec<(String, Verdict)> {
        let mut rules: Vec<String> = Vec::new();
        for c in &self.cases {
            if !rules.contains(&c.rule) {
                rules.push(c.rule.clone());
            }
        }
        rules
            .into_iter()
            .filter_map(|r| self.rule_verdict(&r).map(|v| (r, v)))
            .collect()
    }

    /// A rule's verdict: the worst of its scenarios that ran; PARTIAL when the ones that ran
    /// passed (or are INFO) and some were skipped; SKIP only when every scenario was skipped.
    /// None when the rule did not run.
    pub fn rule_verdict(&self, rule: &str) -> Option<Verdict> {
        let verdicts: Vec<Verdict> = self
            .cases
            .iter()
            .filter(|c| c.rule == rule)
            .map(|c| c.verdict)
            .collect();
        let skipped = verdicts.contains(&Verdict::Skip);
        let ran = verdicts
            .iter()
            .copied()
            .filter(|v| *v != Verdict::Skip)
            .max();
        match ran {
            Some(Verdict::Pass | Verdict::Info) if skipped => Some(Verdict::Partial),
            Some(v) => Some(v),
            None => verdicts.first().copied(),
        }
    }

    /// The skipped scenarios of a rule, with their reasons (what a PARTIAL leaves out).
    pub fn skipped_scenarios(&self, rule: &str) -> Vec<String> {
        self.cases
            .iter()
            .filter(|c| c.rule == rule && c.verdict == Verdict::Skip)
            .map(|c| {
                format!(
                    "{}: {}",
                    c.scenario,
                    c.reason.as_deref().unwrap_or("skipped")
                )
            })
            .collect()
    }

    /// The scenarios a reader must look at: failures, warnings, errors and unmet expectations.
    pub fn problems(&self) -> impl Iterator<Item = &CaseRecord> {
        self.cases.iter().filter(|c| {
            matches!(
                c.verdict,
                Verdict::Fail | Verdict::Warn | Verdict::Error | Verdict::ExpectationUnmet
            )
        })
    }

    /// A rule's level and a note: for PARTIAL what was observed and passed and what could not
    /// be observed and why (so "passed with less evidence" reads apart from "not checked"),
    /// otherwise the reason of its first scenario with the rule's verdict.
    pub fn rule_note(&self, rule: &str, verdict: Verdict) -> (Level, Option<String>) {
        let cases: Vec<&CaseRecord> = self.cases.iter().filter(|c| c.rule == rule).collect();
        let level = cases.first().map_or(Level::Must, |c| c.level);
        if verdict == Verdict::Partial {
            let observed: Vec<&str> = cases
                .iter()
                .filter(|c| c.verdict != Verdict::Skip)
                .map(|c| c.scenario.as_str())
                .collect();
            return (
                level,
                Some(format!(
                    "observed and passed {} of {} scenarios ({}); not observed: {}",
                    observed.len(),
                    cases.len(),
                    observed.join("; "),
                    self.skipped_scenarios(rule).join("; ")
                )),
            );
        }
        let reason = cases
            .iter()
            .filter(|c| c.verdict == verdict)
            .find_map(|c| c.reason.clone());
        (level, reason)
    }

    /// Per node of a cluster: (node, observations, median ms, max ms) of the measured
    /// revocation delays. Empty for a single server.
    pub fn node_delays(&self) -> Vec<(String, usize, f64, f64)> {
        let mut by_node: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
        for d in self.cases.iter().flat_map(|c| &c.delays) {
            if !d.node.is_empty() {
                by_node.entry(&d.node).or_default().push(d.ms);
            }
        }
        by_node
            .into_iter()
            .map(|(node, mut ms)| {
                ms.sort_by(f64::total_cmp);
                let (median, max) = stats::median_max(&ms).unwrap_or_default();
                (node.to_owned(), ms.len(), median, max)
            })
            .collect()
    }

    /// Every measured revocation delay of the run, in milliseconds, sorted.
    pub fn delays_ms(&self) -> Vec<f64> {
        let mut all: Vec<f64> = self
            .cases
            .iter()
            .flat_map(|c| c.delays.iter().map(|d| d.ms))
            .collect();
        all.sort_by(f64::total_cmp);
        all
    }

    /// The JSON of `run.json`: the record, with each rule's verdict and note added.
    pub fn to_json(&self) -> serde_json::Value {
        let mut json = serde_json::to_value(self).unwrap_or_default();
        let rules: Vec<serde_json::Value> = self
            .rule_verdicts()
            .into_iter()
            .map(|(rule, verdict)| {
                let (level, note) = self.rule_note(&rule, verdict);
                serde_json::json!({ "rule": rule, "level": level, "verdict": verdict, "note": note })
            })
            .collect();
        json["rules"] = serde_json::Value::Array(rules);
        json
    }

    /// A record from the text of a `run.json` (the computed `rules` member is ignored).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let mut record: RunRecord = serde_json::from_str(text)
            .map_err(|e| format!("not a revspec run record (run.json): {e}"))?;
        for case in record.cases.iter_mut().filter(|c| c.file.is_empty()) {
            if let Some((file, line)) = case.location.rsplit_once(':') {
                case.file = file.to_owned();
                case.line = line.parse().unwrap_or(0);
            }
        }
        Ok(record)
    }

    /// Writes `run.json` into `dir` (created if needed).
    pub fn write_json(&self, dir: &std::path::Path) -> std::io::Result<String> {
        std::fs::create_dir_all(dir)?;
        let json = serde_json::to_string_pretty(&self.to_json()).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("run.json"), &json)?;
        Ok(json)
    }

    /// Reads a `run.json`; every error names the file.
    pub fn read(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Records for tests of the modules that consume run records.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    pub fn case(rule: &str, verdict: Verdict) -> CaseRecord {
        CaseRecord {
            rule: rule.into(),
            level: Level::Must,
            profile: "rfc7009".into(),
            scenario: "s".into(),
            file: "f".into(),
            line: 1,
            location: "f:1".into(),
            requirement: "r".into(),
            verdict,
            reason: None,
            checks: vec![],
            controls: vec![],
            observations: vec![],
            delays: vec![],
            tokens: vec![],
            confirmed_alone: false,
            first_verdict: None,
            exchanges: vec![],
            duration_ms: 0.0,
            waited_ms: 0.0,
            unreadable_answer: false,
        }
    }

    pub fn record(cases: Vec<CaseRecord>) -> RunRecord {
        RunRecord {
            schema_version: SCHEMA_VERSION,
            run: RunInfo {
                tool: "revspec".into(),
                version: "0".into(),
                target: "t".into(),
                issuer: "i".into(),
                revocation_endpoint: "r".into(),
                profile: "rfc7009".into(),
                strict: false,
                expectations: None,
                started: "now".into(),
                duration_ms: 0.0,
                fault: None,
                quirks: vec![],
                concurrency: 8,
                warnings: vec![],
                unusable: None,
                timing: None,
            },
            calibration: Default::default(),
            settings: vec![],
            cases,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{case, record};
    use super::*;

    #[test]
    fn a_skipped_scenario_does_not_hide_observed_ones() {
        let record = record(vec![
            case("a", Verdict::Pass),
            case("a", Verdict::Skip),
            case("b", Verdict::Skip),
            case("c", Verdict::Pass),
            case("c", Verdict::Fail),
        ]);
        assert_eq!(
            record.rule_verdicts(),
            vec![
                ("a".into(), Verdict::Partial),
                ("b".into(), Verdict::Skip),
                ("c".into(), Verdict::Fail)
            ]
        );
        assert!(record.failed());
    }

    #[test]
    fn partial_names_what_was_skipped_and_pass_means_all_observed() {
        let mut skipped = case("a", Verdict::Skip);
        skipped.scenario = "refresh token case".into();
        skipped.reason = Some("no refresh tokens".into());
        let r = record(vec![
            case("a", Verdict::Pass),
            skipped,
            case("b", Verdict::Pass),
        ]);
        let (_, note) = r.rule_note("a", Verdict::Partial);
        assert_eq!(
            note.as_deref(),
            Some("observed and passed 1 of 2 scenarios (s); not observed: refresh token case: no refresh tokens")
        );
        assert_eq!(r.rule_verdict("b"), Some(Verdict::Pass));
        assert!(!r.failed());
        let r = record(vec![case("a", Verdict::Fail), case("a", Verdict::Skip)]);
        assert_eq!(r.rule_verdict("a"), Some(Verdict::Fail));
    }

    #[test]
    fn an_older_record_without_schema_version_or_file_and_line_still_reads() {
        let mut json = serde_json::to_value(record(vec![case("a", Verdict::Pass)])).unwrap();
        json.as_object_mut().unwrap().remove("schema_version");
        let c = json["cases"][0].as_object_mut().unwrap();
        c.remove("file");
        c.remove("line");
        c.insert("location".into(), "features/x.feature:12".into());
        let back = RunRecord::from_json(&json.to_string()).unwrap();
        assert_eq!(back.schema_version, 1);
        assert_eq!(
            (back.cases[0].file.as_str(), back.cases[0].line),
            ("features/x.feature", 12)
        );
    }
}
