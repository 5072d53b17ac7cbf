//! The summary of a load run (`summary.json`): requests/s and p50/p95/p99 per named request,
//! errors, the correctness count, the thresholds, and what they make of the run; for a sharded
//! run, which shard or which shards were merged. It is made from what the run measured
//! (`record::shard::Measurements`). Views are in `report::load`.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// The version of summary.json this build writes.
pub const SCHEMA_VERSION: u32 = 2;

fn schema_v1() -> u32 {
    1
}

/// The thresholds a load profile set, as the summary keeps them.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct ThresholdsView {
    pub revoke_p99_ms: Option<f64>,
    pub error_rate_percent: Option<f64>,
    pub min_rps: Option<f64>,
}

/// The method a row's key starts with when it is not an HTTP request but the client's own work
/// (signing a client assertion): such rows count in no total.
pub const CLIENT_SIDE_METHOD: &str = "JWT";

impl RequestStats {
    /// An HTTP request (not the client's own work, see [`CLIENT_SIDE_METHOD`]).
    pub fn is_http(&self) -> bool {
        self.name.split_once(' ').map(|(method, _)| method) != Some(CLIENT_SIDE_METHOD)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestStats {
    pub name: String,
    /// A request to the revocation endpoint (`revoke_p99_ms` bounds these).
    #[serde(default)]
    pub revocation: bool,
    /// A revocation of issued tokens (their effect is sampled for correctness).
    #[serde(default)]
    pub revokes_issued_tokens: bool,
    pub count: usize,
    pub fails: usize,
    pub rps: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct CorrectnessCount {
    pub revocations: u64,
    pub sampled: u64,
    /// Sampled revocations whose token was still active after the 200.
    pub not_held: u64,
    pub probe_errors: u64,
    pub examples: Vec<String>,
    /// Whether sampled revocations were observed on another node than the revoking one.
    #[serde(default)]
    pub cross_node: bool,
    /// Propagation of the sampled revocations that held: p50, p99 and max, in ms.
    #[serde(default)]
    pub propagation_ms: Option<(f64, f64, f64)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadSummary {
    /// [`SCHEMA_VERSION`] when written; 1 for summaries written before the field existed.
    #[serde(default = "schema_v1")]
    pub schema_version: u32,
    pub profile: String,
    pub users: usize,
    pub duration_s: f64,
    pub requests: Vec<RequestStats>,
    pub total_requests: usize,
    pub total_fails: usize,
    pub error_rate_percent: f64,
    pub rps: f64,
    pub correctness: CorrectnessCount,
    pub thresholds: ThresholdsView,
    pub report_dir: String,
    /// Revocation requests that failed at the transport level (timeout, reset, refused, cut off).
    #[serde(default)]
    pub transport_failures: u64,
    /// Set when no request got a complete answer: the target cannot be load-tested.
    #[serde(default)]
    pub unusable: Option<String>,
    /// Problems that are not the run's verdict (a setting that could not be restored).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// For one shard's own summary: which shard (`2/3`); its thresholds and correctness are
    /// judged by the merge.
    #[serde(default)]
    pub shard: Option<String>,
    /// For a merge of shards: the shards it was made of, in order.
    #[serde(default)]
    pub merged_from: Vec<MergedShard>,
    /// What a reader should know about how the summary was made.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// One shard of a merged summary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MergedShard {
    /// `I/N`.
    pub shard: String,
    /// Its report folder, as given to the merge.
    pub dir: String,
    /// When it started its users (RFC 3339).
    pub started: String,
    pub users: usize,
    pub requests: usize,
}

impl LoadSummary {
    /// The worst p99 over the revocation requests.
    pub fn revoke_p99_ms(&self) -> Option<f64> {
        self.requests
            .iter()
            .filter(|r| r.revocation)
            .map(|r| r.p99_ms)
            .reduce(f64::max)
    }

    /// Every threshold of the profile that the run missed, naming the figure.
    pub fn missed_thresholds(&self) -> Vec<String> {
        let t = &self.thresholds;
        let mut missed = Vec::new();
        match (t.revoke_p99_ms, self.revoke_p99_ms()) {
            (Some(limit), Some(p99)) if p99 > limit => {
                missed.push(format!("revoke p99 {p99:.2} ms > {limit} ms"))
            }
            (Some(limit), None) => missed.push(format!(
                "revoke p99 (limit {limit} ms): no revocation request was recorded"
            )),
            _ => {}
        }
        if let Some(limit) = t.error_rate_percent {
            if self.error_rate_percent > limit {
                missed.push(format!(
                    "error rate {:.3}% > {limit}%",
                    self.error_rate_percent
                ));
            }
        }
        if let Some(limit) = t.min_rps {
            if self.rps < limit {
                missed.push(format!(
                    "throughput {:.1} requests/s < {limit} requests/s",
                    self.rps
                ));
            }
        }
        missed
    }

    /// Each threshold of the profile: (what, limit, measured, met).
    pub fn threshold_rows(&self) -> Vec<(String, String, String, bool)> {
        let t = &self.thresholds;
        let mut rows = Vec::new();
        if let Some(limit) = t.revoke_p99_ms {
            let p99 = self.revoke_p99_ms();
            rows.push((
                "revoke p99".into(),
                format!("at most {limit} ms"),
                p99.map_or("no revocation request".into(), |v| format!("{v:.2} ms")),
                p99.is_some_and(|v| v <= limit),
            ));
        }
        if let Some(limit) = t.error_rate_percent {
            rows.push((
                "error rate".into(),
                format!("at most {limit}%"),
                format!("{:.3}%", self.error_rate_percent),
                self.error_rate_percent <= limit,
            ));
        }
        if let Some(limit) = t.min_rps {
            rows.push((
                "throughput".into(),
                format!("at least {limit} requests/s"),
                format!("{:.1} requests/s", self.rps),
                self.rps >= limit,
            ));
        }
        rows
    }

    /// Reads a `summary.json` (a baseline: only its figures are compared, by request name).
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--baseline {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "--baseline {}: not a revspec load summary.json: {e}",
                path.display()
            )
        })
    }

    /// Writes `summary.json` into `dir`.
    pub fn write_json(&self, dir: &Path) -> std::io::Result<()> {
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("summary.json"), json)
    }
}

/// A summary for tests of the modules that read summaries: a revocation request (p99 30 ms)
/// and a minting one (p99 90 ms), nothing sampled.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    pub fn summary() -> LoadSummary {
        LoadSummary {
            schema_version: SCHEMA_VERSION,
            profile: "p".into(),
            users: 1,
            duration_s: 10.0,
            requests: vec![
                RequestStats {
                    name: "POST revoke (refresh token)".into(),
                    revocation: true,
                    revokes_issued_tokens: true,
                    count: 100,
                    fails: 1,
                    rps: 10.0,
                    p50_ms: 1.0,
                    p95_ms: 2.0,
                    p99_ms: 30.0,
                },
                RequestStats {
                    name: "POST token (mint)".into(),
                    revocation: false,
                    revokes_issued_tokens: false,
                    count: 100,
                    fails: 0,
                    rps: 10.0,
                    p50_ms: 1.0,
                    p95_ms: 2.0,
                    p99_ms: 90.0,
                },
            ],
            total_requests: 200,
            total_fails: 1,
            error_rate_percent: 0.5,
            rps: 20.0,
            correctness: CorrectnessCount::default(),
            thresholds: Default::default(),
            report_dir: "d".into(),
            transport_failures: 0,
            unusable: None,
            warnings: vec![],
            shard: None,
            merged_from: vec![],
            notes: vec![],
        }
    }
}
