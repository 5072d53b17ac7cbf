//! What a load run measured, kept whole so that parts add up exactly ([`Measurements`]: per
//! request its latency histogram and its request and error counts, the revocations and every
//! correctness sample with its outcome), how a summary is made of it (the one way a single run
//! and a merge of shards come to their figures), and one shard's part of a sharded run on disk
//! ([`ShardRecord`]: `shard.json` and the histograms beside it in `histograms/`).

use super::latency::Latency;
use super::load::{CorrectnessCount, LoadSummary, RequestStats, ThresholdsView};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The manifest a shard writes into its report folder.
pub const SHARD_FILE: &str = "shard.json";
/// The folder beside it holding one histogram per request.
pub const HISTOGRAM_DIR: &str = "histograms";
/// The version of shard.json this build writes (and the only one it merges).
pub const SHARD_SCHEMA_VERSION: u32 = 1;
/// How many examples of revocations that did not hold a summary keeps.
pub const EXAMPLES: usize = 5;

/// Which part of a sharded run: shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ShardId {
    pub index: usize,
    pub count: usize,
}

impl std::fmt::Display for ShardId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The largest N of `--shard I/N`.
pub const MAX_SHARDS: usize = 10_000;

impl std::str::FromStr for ShardId {
    type Err = String;

    /// `I/N`, 1 <= I <= N; each error says what is wrong with the value.
    fn from_str(text: &str) -> Result<Self, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("expected I/N (shard I of N, e.g. 2/3), got '{text}'"))?;
        let number = |part: &str, what: &str| {
            part.trim().parse::<usize>().map_err(|_| {
                format!("{what} in I/N must be a whole number, got '{part}' in '{text}'")
            })
        };
        let index = number(i, "I")?;
        let count = number(n, "N")?;
        if count == 0 || count > MAX_SHARDS {
            return Err(format!(
                "N (the number of shards) must be 1 to {MAX_SHARDS}, got {count}"
            ));
        }
        if index == 0 || index > count {
            return Err(format!(
                "I is 1-based and at most N: 1 to {count}, got {index}"
            ));
        }
        Ok(Self { index, count })
    }
}

/// How a sampled revocation came out, observed through the probe after its 200.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SampleOutcome {
    /// The token read inactive (within the propagation window).
    Held,
    /// The token was still active at the end of the window.
    NotHeld,
    /// The probe could not tell.
    ProbeError,
}

/// One revocation checked after its 200 (tokens are never kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Which revocation of its run (0-based, in the order they were answered).
    pub revocation: u64,
    /// The type of the token observed (`access_token`, `refresh_token`).
    pub token_type: String,
    pub outcome: SampleOutcome,
    /// For a revocation that held: how long until the probe saw it, in ms.
    #[serde(default)]
    pub delay_ms: Option<f64>,
    /// For one that did not hold: what was seen, in words.
    #[serde(default)]
    pub detail: Option<String>,
}

/// One kind of request: its errors and the latency of every one (the count is the
/// histogram's).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMeasure {
    pub name: String,
    pub revocation: bool,
    pub revokes_issued_tokens: bool,
    pub fails: u64,
    pub latency: Latency,
}

impl RequestMeasure {
    pub fn count(&self) -> u64 {
        self.latency.len()
    }
}

/// Everything a run measured that its summary is made of, in a form that adds up exactly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measurements {
    /// By name.
    pub requests: Vec<RequestMeasure>,
    /// Revocations of issued tokens answered with a 200.
    pub revocations: u64,
    /// The correctness sample.
    pub samples: Vec<Sample>,
    /// Samples were observed on another node than the revoking one.
    pub cross_node: bool,
    /// Revocation requests that failed at the transport level, and those with a whole answer.
    pub transport_failures: u64,
    pub complete_answers: u64,
    /// The last transport failure, in words.
    pub last_failure: Option<String>,
}

/// What a summary says besides the measurements.
#[derive(Debug, Clone)]
pub struct SummaryHead {
    pub profile: String,
    pub users: usize,
    /// The measured window, in seconds.
    pub duration_s: f64,
    pub thresholds: ThresholdsView,
    pub report_dir: String,
}

impl Measurements {
    /// The request named `name`, added if new.
    pub fn request_mut(
        &mut self,
        name: &str,
        revocation: bool,
        revokes_issued_tokens: bool,
    ) -> &mut RequestMeasure {
        let at = match self
            .requests
            .binary_search_by(|r| r.name.as_str().cmp(name))
        {
            Ok(i) => i,
            Err(i) => {
                self.requests.insert(
                    i,
                    RequestMeasure {
                        name: name.to_owned(),
                        revocation,
                        revokes_issued_tokens,
                        fails: 0,
                        latency: Latency::new(),
                    },
                );
                i
            }
        };
        &mut self.requests[at]
    }

    /// Adds `other` to these: histograms added, counts summed, samples appended.
    pub fn merge(&mut self, other: &Measurements) -> Result<(), String> {
        for r in &other.requests {
            let mine = self.request_mut(&r.name, r.revocation, r.revokes_issued_tokens);
            if mine.revocation != r.revocation
                || mine.revokes_issued_tokens != r.revokes_issued_tokens
            {
                return Err(format!(
                    "request '{}' is a revocation in one part and not in another",
                    r.name
                ));
            }
            mine.fails += r.fails;
            mine.latency
                .merge(&r.latency)
                .map_err(|e| format!("request '{}': {e}", r.name))?;
        }
        self.revocations += other.revocations;
        self.samples.extend(other.samples.iter().cloned());
        self.cross_node |= other.cross_node;
        self.transport_failures += other.transport_failures;
        self.complete_answers += other.complete_answers;
        if other.last_failure.is_some() {
            self.last_failure.clone_from(&other.last_failure);
        }
        Ok(())
    }

    /// Why the target looks unusable: revocations were sent and none got a complete answer.
    pub fn unusable(&self) -> Option<String> {
        (self.transport_failures > 0 && self.complete_answers == 0).then(|| {
            format!(
                "no revocation request got a complete answer ({} failed at the transport level; the last: {})",
                self.transport_failures,
                self.last_failure.clone().unwrap_or_default()
            )
        })
    }

    /// The correctness count of the sample.
    pub fn correctness(&self) -> CorrectnessCount {
        let count = |o: SampleOutcome| self.samples.iter().filter(|s| s.outcome == o).count();
        let delays: Vec<f64> = self
            .samples
            .iter()
            .filter(|s| s.outcome == SampleOutcome::Held)
            .filter_map(|s| s.delay_ms)
            .collect();
        CorrectnessCount {
            revocations: self.revocations,
            sampled: self.samples.len() as u64,
            not_held: count(SampleOutcome::NotHeld) as u64,
            probe_errors: count(SampleOutcome::ProbeError) as u64,
            examples: self
                .samples
                .iter()
                .filter(|s| s.outcome == SampleOutcome::NotHeld)
                .filter_map(|s| s.detail.clone())
                .take(EXAMPLES)
                .collect(),
            cross_node: self.cross_node,
            propagation_ms: super::stats::p50_p99_max(&delays),
        }
    }

    /// The summary: per request its count, errors, rate over the window and p50/p95/p99
    /// from its histogram.
    pub fn summary(&self, head: SummaryHead) -> LoadSummary {
        let duration_s = if head.duration_s > 0.0 {
            head.duration_s
        } else {
            1.0
        };
        let requests: Vec<RequestStats> = self
            .requests
            .iter()
            .map(|r| RequestStats {
                name: r.name.clone(),
                revocation: r.revocation,
                revokes_issued_tokens: r.revokes_issued_tokens,
                count: r.count() as usize,
                fails: r.fails as usize,
                rps: r.count() as f64 / duration_s,
                p50_ms: r.latency.quantile_ms(0.50),
                p95_ms: r.latency.quantile_ms(0.95),
                p99_ms: r.latency.quantile_ms(0.99),
            })
            .collect();
        // Signing an assertion is the client's own cost, its own row: it counts in no total.
        let http = |r: &&RequestStats| r.is_http();
        let total_requests: usize = requests.iter().filter(http).map(|r| r.count).sum();
        let total_fails: usize = requests.iter().filter(http).map(|r| r.fails).sum();
        LoadSummary {
            schema_version: super::load::SCHEMA_VERSION,
            profile: head.profile,
            users: head.users,
            duration_s,
            total_requests,
            total_fails,
            error_rate_percent: if total_requests == 0 {
                0.0
            } else {
                total_fails as f64 * 100.0 / total_requests as f64
            },
            rps: total_requests as f64 / duration_s,
            requests,
            correctness: self.correctness(),
            thresholds: head.thresholds,
            report_dir: head.report_dir,
            transport_failures: self.transport_failures,
            unusable: self.unusable(),
            warnings: vec![],
            shard: None,
            merged_from: vec![],
            notes: vec![],
        }
    }
}

/// The load profile a shard ran: its name and the SHA-256 of its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileIdentity {
    pub name: String,
    pub sha256: String,
}

/// What a shard says about its run, besides what it measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardHeader {
    pub profile: ProfileIdentity,
    /// The target profile's name and issuer.
    pub target: String,
    pub shard: ShardId,
    /// The shared start time asked for (`--start-at`), in Unix milliseconds.
    pub start_at_unix_ms: Option<u64>,
    /// When this shard started its users, in Unix milliseconds, and in RFC 3339.
    pub started_unix_ms: u64,
    pub started: String,
    /// This shard's users and the whole run's.
    pub users: usize,
    pub total_users: usize,
    pub ramp_up_s: f64,
    /// The run time asked for (after the ramp-up), and the window measured.
    pub run_time_s: f64,
    pub measured_s: f64,
    /// The profile's thresholds, judged once on the merge.
    pub thresholds: ThresholdsView,
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// One shard's part of a sharded run.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardRecord {
    pub header: ShardHeader,
    pub measured: Measurements,
}

/// `shard.json` as written.
#[derive(Serialize, Deserialize)]
struct Manifest {
    schema_version: u32,
    #[serde(flatten)]
    header: ShardHeader,
    requests: Vec<ManifestRequest>,
    correctness: ManifestCorrectness,
    transport_failures: u64,
    complete_answers: u64,
    last_failure: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct ManifestRequest {
    name: String,
    revocation: bool,
    revokes_issued_tokens: bool,
    count: u64,
    fails: u64,
    /// The histogram's file, in `histograms/`.
    histogram: String,
}

#[derive(Serialize, Deserialize)]
struct ManifestCorrectness {
    revocations: u64,
    cross_node: bool,
    samples: Vec<Sample>,
}

/// The histogram file of a request: its name made of lowercase letters, digits and dashes.
fn histogram_file(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    format!("{}.hdr", slug.trim_end_matches('-'))
}

/// A histogram file name as `shard.json` may give it: one plain file name in `histograms/`.
fn plain_file_name(name: &str) -> bool {
    let stem = name.strip_suffix(".hdr").unwrap_or("");
    !stem.is_empty()
        && stem
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl ShardRecord {
    /// Writes `shard.json` and `histograms/*.hdr` into `dir`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let histograms = dir.join(HISTOGRAM_DIR);
        std::fs::create_dir_all(&histograms)?;
        let mut requests = Vec::new();
        for r in &self.measured.requests {
            let file = histogram_file(&r.name);
            std::fs::write(histograms.join(&file), r.latency.encode())?;
            requests.push(ManifestRequest {
                name: r.name.clone(),
                revocation: r.revocation,
                revokes_issued_tokens: r.revokes_issued_tokens,
                count: r.count(),
                fails: r.fails,
                histogram: file,
            });
        }
        let m = &self.measured;
        let manifest = Manifest {
            schema_version: SHARD_SCHEMA_VERSION,
            header: self.header.clone(),
            requests,
            correctness: ManifestCorrectness {
                revocations: m.revocations,
                cross_node: m.cross_node,
                samples: m.samples.clone(),
            },
            transport_failures: m.transport_failures,
            complete_answers: m.complete_answers,
            last_failure: m.last_failure.clone(),
        };
        let json = serde_json::to_string_pretty(&manifest).map_err(std::io::Error::other)?;
        std::fs::write(dir.join(SHARD_FILE), json)
    }

    /// Reads what [`ShardRecord::write`] wrote; an error says which file and what is wrong.
    pub fn read(dir: &Path) -> Result<Self, String> {
        let path = dir.join(SHARD_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "no readable {SHARD_FILE} ({e}): not the report folder of a `revspec load --shard` run"
            )
        })?;
        let version: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{SHARD_FILE} is not JSON: {e}"))?;
        match version.get("schema_version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(SHARD_SCHEMA_VERSION) => {}
            other => {
                return Err(format!(
                    "{SHARD_FILE} has schema_version {}, this revspec reads {SHARD_SCHEMA_VERSION}",
                    other.map_or("(none)".to_owned(), |v| v.to_string())
                ))
            }
        }
        let manifest: Manifest =
            serde_json::from_value(version).map_err(|e| format!("{SHARD_FILE}: {e}"))?;
        let mut measured = Measurements {
            revocations: manifest.correctness.revocations,
            samples: manifest.correctness.samples,
            cross_node: manifest.correctness.cross_node,
            transport_failures: manifest.transport_failures,
            complete_answers: manifest.complete_answers,
            last_failure: manifest.last_failure,
            requests: vec![],
        };
        for r in manifest.requests {
            if !plain_file_name(&r.histogram) {
                return Err(format!(
                    "{SHARD_FILE}: request '{}' names the histogram '{}', not a file name of {HISTOGRAM_DIR}/",
                    r.name, r.histogram
                ));
            }
            let file = dir.join(HISTOGRAM_DIR).join(&r.histogram);
            let bytes = std::fs::read(&file)
                .map_err(|e| format!("{HISTOGRAM_DIR}/{}: {e}", r.histogram))?;
            let latency = Latency::decode(&bytes)
                .map_err(|e| format!("{HISTOGRAM_DIR}/{}: {e}", r.histogram))?;
            if latency.len() != r.count {
                return Err(format!(
                    "{HISTOGRAM_DIR}/{} holds {} latencies, but {SHARD_FILE} counts {} requests '{}'",
                    r.histogram,
                    latency.len(),
                    r.count,
                    r.name
                ));
            }
            if r.fails > r.count {
                return Err(format!(
                    "{SHARD_FILE}: request '{}' has {} errors in {} requests",
                    r.name, r.fails, r.count
                ));
            }
            if measured.requests.iter().any(|m| m.name == r.name) {
                return Err(format!(
                    "{SHARD_FILE}: request '{}' is listed twice",
                    r.name
                ));
            }
            let m = measured.request_mut(&r.name, r.revocation, r.revokes_issued_tokens);
            m.fails = r.fails;
            m.latency = latency;
        }
        Ok(Self {
            header: manifest.header,
            measured,
        })
    }
}

/// A shard record for the tests of the modules that read them.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// Shard `index` of `count`: `revoke (refresh token)` with `n` latencies of
    /// `base_us + k` µs (one error), two samples (one held).
    pub fn shard(index: usize, count: usize, n: u64, base_us: u64) -> ShardRecord {
        let mut measured = Measurements::default();
        let r = measured.request_mut("POST revoke (refresh token)", true, true);
        for k in 0..n {
            r.latency.record_us(base_us + k);
        }
        r.fails = 1;
        let mint = measured.request_mut("POST token (mint)", false, false);
        for k in 0..n {
            mint.latency.record_us(2 * base_us + k);
        }
        measured.revocations = n;
        measured.complete_answers = n;
        measured.samples = vec![
            Sample {
                revocation: 0,
                token_type: "refresh_token".into(),
                outcome: SampleOutcome::Held,
                delay_ms: Some(index as f64),
                detail: None,
            },
            Sample {
                revocation: 1,
                token_type: "refresh_token".into(),
                outcome: SampleOutcome::Held,
                delay_ms: Some(10.0 * index as f64),
                detail: None,
            },
        ];
        ShardRecord {
            header: ShardHeader {
                profile: ProfileIdentity {
                    name: "mint-and-revoke".into(),
                    sha256: "ab".repeat(32),
                },
                target: "reference (http://127.0.0.1:8080)".into(),
                shard: ShardId { index, count },
                start_at_unix_ms: Some(1_700_000_000_000),
                started_unix_ms: 1_700_000_000_000 + index as u64,
                started: "2023-11-14T22:13:20.001Z".into(),
                users: 3,
                total_users: 3 * count,
                ramp_up_s: 1.0,
                run_time_s: 3.0,
                measured_s: 3.0,
                thresholds: ThresholdsView {
                    revoke_p99_ms: Some(100.0),
                    error_rate_percent: None,
                    min_rps: None,
                },
                warnings: vec![],
            },
            measured,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_ids_parse_and_each_bad_value_says_what_is_wrong() {
        assert_eq!("2/3".parse::<ShardId>(), Ok(ShardId { index: 2, count: 3 }));
        assert_eq!("1/1".parse::<ShardId>().unwrap().to_string(), "1/1");
        for (bad, says) in [
            ("3", "expected I/N"),
            ("0/3", "1-based"),
            ("4/3", "1 to 3, got 4"),
            ("1/0", "N (the number of shards) must be 1"),
            ("a/3", "I in I/N must be a whole number"),
            ("1/b", "N in I/N must be a whole number"),
            ("-1/3", "whole number"),
            ("1/3/4", "whole number"),
            ("1/99999", "1 to 10000"),
        ] {
            let e = bad.parse::<ShardId>().unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn a_shard_record_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut record = fixtures::shard(2, 3, 500, 900);
        record.measured.samples[1].outcome = SampleOutcome::NotHeld;
        record.measured.samples[1].detail = Some("still active".into());
        record.write(dir.path()).unwrap();
        assert!(dir
            .path()
            .join("histograms/post-revoke-refresh-token.hdr")
            .is_file());
        assert_eq!(ShardRecord::read(dir.path()).unwrap(), record);
    }

    #[test]
    fn a_histogram_that_does_not_match_its_count_or_leaves_the_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fixtures::shard(1, 2, 10, 900).write(dir.path()).unwrap();
        let path = dir.path().join(SHARD_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("\"count\": 10", "\"count\": 11", 1)).unwrap();
        let e = ShardRecord::read(dir.path()).unwrap_err();
        assert!(
            e.contains("holds 10 latencies") && e.contains("counts 11"),
            "{e}"
        );
        std::fs::write(
            &path,
            text.replace("post-revoke-refresh-token.hdr", "../../etc.hdr"),
        )
        .unwrap();
        let e = ShardRecord::read(dir.path()).unwrap_err();
        assert!(e.contains("not a file name"), "{e}");
        std::fs::write(
            &path,
            text.replace("\"schema_version\": 1", "\"schema_version\": 9"),
        )
        .unwrap();
        let e = ShardRecord::read(dir.path()).unwrap_err();
        assert!(e.contains("schema_version 9"), "{e}");
        let e = ShardRecord::read(&dir.path().join("nothing")).unwrap_err();
        assert!(e.contains("no readable shard.json"), "{e}");
    }

    #[test]
    fn merged_measurements_sum_counts_and_keep_every_sample() {
        let mut all = Measurements::default();
        for i in 1..=3 {
            all.merge(&fixtures::shard(i, 3, 100 * i as u64, 1000).measured)
                .unwrap();
        }
        let s = all.summary(SummaryHead {
            profile: "p".into(),
            users: 9,
            duration_s: 3.0,
            thresholds: Default::default(),
            report_dir: "d".into(),
        });
        let revoke = &s.requests[0];
        assert_eq!(revoke.name, "POST revoke (refresh token)");
        assert_eq!((revoke.count, revoke.fails), (600, 3));
        assert_eq!(s.total_requests, 1200);
        assert_eq!(s.rps, 400.0);
        assert_eq!(s.correctness.sampled, 6);
        assert_eq!(s.correctness.revocations, 600);
        // Propagation over the six delays 1, 10, 2, 20, 3, 30.
        assert_eq!(s.correctness.propagation_ms, Some((10.0, 30.0, 30.0)));
    }

    #[test]
    fn histogram_files_are_named_after_the_request() {
        assert_eq!(
            histogram_file("POST revoke (all tokens of the client)"),
            "post-revoke-all-tokens-of-the-client.hdr"
        );
        assert!(plain_file_name("post-token-mint.hdr"));
        assert!(!plain_file_name("../x.hdr") && !plain_file_name(".hdr"));
    }
}
