//! The summary of a load run (`summary.json`, `summary.md`, `summary.html`, the console):
//! requests/s and p50/p95/p99 per named request, errors, the correctness count, thresholds,
//! and deltas against a baseline summary. `summary.html` has the look of the check report and
//! links goose's own `report.html`.

use super::profile::LoadProfile;
use super::transactions::LoadState;
use crate::report::escape::one_line;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::atomic::Ordering;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestStats {
    pub name: String,
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
    pub profile: String,
    pub users: usize,
    pub duration_s: f64,
    pub requests: Vec<RequestStats>,
    pub total_requests: usize,
    pub total_fails: usize,
    pub error_rate_percent: f64,
    pub rps: f64,
    pub correctness: CorrectnessCount,
    pub thresholds: super::profile::ThresholdsView,
    pub report_dir: String,
    /// Revocation requests that failed at the transport level (timeout, reset, refused, cut off).
    #[serde(default)]
    pub transport_failures: u64,
    /// Set when no request got a complete answer: the target cannot be load-tested.
    #[serde(default)]
    pub unusable: Option<String>,
}

/// p50, p99 and max of a sample (None when empty).
fn percentiles(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    (!v.is_empty()).then(|| (at(0.5), at(0.99), v[v.len() - 1]))
}

impl LoadSummary {
    pub fn from_metrics(
        profile: &LoadProfile,
        metrics: &goose::metrics::GooseMetrics,
        state: &LoadState,
        dir: &Path,
    ) -> Self {
        let duration_s = (metrics.duration as f64).max(1.0);
        let mut requests: Vec<RequestStats> = metrics
            .requests
            .iter()
            .map(|(key, r)| {
                let t = &r.raw_data;
                RequestStats {
                    name: key.clone(),
                    count: r.success_count + r.fail_count,
                    fails: r.fail_count,
                    rps: (r.success_count + r.fail_count) as f64 / duration_s,
                    p50_ms: t.percentile_us(0.50) as f64 / 1000.0,
                    p95_ms: t.percentile_us(0.95) as f64 / 1000.0,
                    p99_ms: t.percentile_us(0.99) as f64 / 1000.0,
                }
            })
            .collect();
        requests.sort_by(|a, b| a.name.cmp(&b.name));
        let total_requests: usize = requests.iter().map(|r| r.count).sum();
        let total_fails: usize = requests.iter().map(|r| r.fails).sum();
        LoadSummary {
            profile: profile.name.clone(),
            users: profile.users,
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
            correctness: CorrectnessCount {
                revocations: state.revocations.load(Ordering::Relaxed),
                sampled: state.sampled.load(Ordering::Relaxed),
                not_held: state.not_held.load(Ordering::Relaxed),
                probe_errors: state.probe_errors.load(Ordering::Relaxed),
                examples: state
                    .examples
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone(),
                cross_node: state.target.nodes.len() > 1,
                propagation_ms: percentiles(
                    &state.delays_ms.lock().unwrap_or_else(|p| p.into_inner()),
                ),
            },
            thresholds: (&profile.thresholds).into(),
            report_dir: dir.display().to_string(),
            transport_failures: state.transport_failures.load(Ordering::Relaxed),
            unusable: state.unusable(),
        }
    }

    /// The worst p99 over the revocation requests.
    pub fn revoke_p99_ms(&self) -> Option<f64> {
        self.requests
            .iter()
            .filter(|r| r.name.contains("revoke"))
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

    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("summary.json"), json)?;
        std::fs::write(dir.join("summary.md"), self.render(None))?;
        std::fs::write(dir.join("summary.html"), self.render_html())
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

    /// `summary.html`: thresholds met or missed, the correctness sample, the latency of each
    /// request (revocations first), and a link to goose's report.
    pub fn render_html(&self) -> String {
        use askama::Template as _;
        let mut requests: Vec<&RequestStats> = self.requests.iter().collect();
        requests.sort_by_key(|r| !r.name.contains("revoke"));
        let c = &self.correctness;
        let passed = self.missed_thresholds().is_empty() && c.not_held == 0 && c.probe_errors == 0;
        LoadPage {
            profile: one_line(&self.profile),
            users: self.users,
            duration_s: self.duration_s,
            passed,
            thresholds: self.threshold_rows(),
            requests: requests
                .into_iter()
                .map(|r| {
                    (
                        one_line(&r.name),
                        r.name.contains("revoke"),
                        r.count,
                        r.fails,
                        format!("{:.1}", r.rps),
                        format!("{:.2}", r.p50_ms),
                        format!("{:.2}", r.p95_ms),
                        format!("{:.2}", r.p99_ms),
                    )
                })
                .collect(),
            total: format!(
                "{} requests, {:.1} requests/s, {} errors ({:.3}%)",
                self.total_requests, self.rps, self.total_fails, self.error_rate_percent
            ),
            correctness: c.clone(),
            examples: c.examples.iter().map(|e| one_line(e)).collect(),
        }
        .render()
        .expect("the load template renders")
    }

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

    /// The console/Markdown view, with deltas when a baseline is given.
    pub fn render(&self, baseline: Option<&LoadSummary>) -> String {
        let mut out = format!(
            "\nrevspec load: {} ({} users, {:.0} s)\n\n| request | count | fails | req/s | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|---:|---:|\n",
            self.profile, self.users, self.duration_s
        );
        for r in &self.requests {
            let base = baseline.and_then(|b| b.requests.iter().find(|x| x.name == r.name));
            let delta = |now: f64, then: Option<f64>| match then {
                Some(t) if t > 0.0 => format!("{now:.2} ({:+.1}%)", (now - t) * 100.0 / t),
                _ => format!("{now:.2}"),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                r.name,
                r.count,
                r.fails,
                delta(r.rps, base.map(|b| b.rps)),
                delta(r.p50_ms, base.map(|b| b.p50_ms)),
                delta(r.p95_ms, base.map(|b| b.p95_ms)),
                delta(r.p99_ms, base.map(|b| b.p99_ms)),
            ));
        }
        let c = &self.correctness;
        out.push_str(&format!(
            "\ntotal: {} requests, {:.1} requests/s, {} errors ({:.3}%; {} revocations failed at the transport level)\ncorrectness: {} revocations, {} observed through the probe, {} did not hold, {} probe errors\n",
            self.total_requests, self.rps, self.total_fails, self.error_rate_percent, self.transport_failures, c.revocations, c.sampled, c.not_held, c.probe_errors
        ));
        if let Some((p50, p99, max)) = c.propagation_ms {
            out.push_str(&format!(
                "propagation{}: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms\n",
                if c.cross_node {
                    " (observed on a node other than the revoking one)"
                } else {
                    ""
                }
            ));
        }
        for e in &c.examples {
            out.push_str(&format!("  {e}\n"));
        }
        if let Some(b) = baseline {
            out.push_str(&format!(
                "baseline: {:.1} requests/s then, {:+.1}% now\n",
                b.rps,
                if b.rps > 0.0 {
                    (self.rps - b.rps) * 100.0 / b.rps
                } else {
                    0.0
                }
            ));
        }
        let missed = self.missed_thresholds();
        out.push_str(&if missed.is_empty() {
            "thresholds: all met\n".to_owned()
        } else {
            format!("thresholds missed: {}\n", missed.join("; "))
        });
        out.push_str(&format!(
            "reports: {}/summary.html, report.html (goose), report.json, report.md, summary.json\n",
            self.report_dir
        ));
        out
    }
}

/// A request's row: name, is a revocation, count, fails, req/s, p50, p95, p99.
type RequestRow = (String, bool, usize, usize, String, String, String, String);

#[derive(askama::Template)]
#[template(path = "load.html")]
struct LoadPage {
    profile: String,
    users: usize,
    duration_s: f64,
    passed: bool,
    thresholds: Vec<(String, String, String, bool)>,
    requests: Vec<RequestRow>,
    total: String,
    correctness: CorrectnessCount,
    examples: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn propagation_percentiles() {
        assert_eq!(percentiles(&[]), None);
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentiles(&v), Some((51.0, 99.0, 100.0)));
        assert_eq!(percentiles(&[5.0]), Some((5.0, 5.0, 5.0)));
    }

    fn summary() -> LoadSummary {
        LoadSummary {
            profile: "p".into(),
            users: 1,
            duration_s: 10.0,
            requests: vec![
                RequestStats {
                    name: "POST revoke (refresh token)".into(),
                    count: 100,
                    fails: 1,
                    rps: 10.0,
                    p50_ms: 1.0,
                    p95_ms: 2.0,
                    p99_ms: 30.0,
                },
                RequestStats {
                    name: "POST token (mint)".into(),
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
        }
    }

    #[test]
    fn the_html_page_shows_thresholds_correctness_and_links_goose() {
        let mut s = summary();
        s.thresholds.revoke_p99_ms = Some(20.0);
        s.thresholds.min_rps = Some(5.0);
        s.correctness.revocations = 100;
        s.correctness.sampled = 10;
        let html = s.render_html();
        assert!(html.contains("<td>revoke p99</td><td>at most 20 ms</td><td>30.00 ms</td><td><span class=\"badge v-fail\">MISSED</span>"), "{html}");
        assert!(html.contains("<td>throughput</td><td>at least 5 requests/s</td><td>20.0 requests/s</td><td><span class=\"badge v-pass\">MET</span>"), "{html}");
        assert!(html.contains("href=\"report.html\""), "{html}");
        assert!(
            html.contains("100 revocations, 10 observed through the probe"),
            "{html}"
        );
        // Revocations come first in the latency table.
        assert!(html.find("POST revoke").unwrap() < html.find("POST token").unwrap());
    }

    #[test]
    fn revoke_p99_ignores_minting() {
        assert_eq!(summary().revoke_p99_ms(), Some(30.0));
    }

    #[test]
    fn each_missed_threshold_names_its_figure() {
        let mut s = summary();
        assert!(s.missed_thresholds().is_empty());
        s.thresholds = super::super::profile::ThresholdsView {
            revoke_p99_ms: Some(20.0),
            error_rate_percent: Some(0.1),
            min_rps: Some(50.0),
        };
        let missed = s.missed_thresholds();
        assert_eq!(missed.len(), 3, "{missed:?}");
        assert!(
            missed[0].contains("revoke p99 30.00 ms > 20 ms"),
            "{missed:?}"
        );
        assert!(missed[1].contains("error rate"), "{missed:?}");
        assert!(missed[2].contains("throughput 20.0"), "{missed:?}");
        s.thresholds.revoke_p99_ms = Some(40.0);
        assert_eq!(s.missed_thresholds().len(), 2);
        s.requests.retain(|r| !r.name.contains("revoke"));
        assert!(s.missed_thresholds()[0].contains("no revocation request"));
    }

    #[test]
    fn baseline_deltas_are_rendered() {
        let mut then = summary();
        then.requests[0].rps = 5.0;
        then.rps = 10.0;
        let text = summary().render(Some(&then));
        assert!(text.contains("10.00 (+100.0%)"), "{text}");
        assert!(
            text.contains("baseline: 10.0 requests/s then, +100.0% now"),
            "{text}"
        );
    }
}
