//! The views of a load summary (`record::load`): the console/Markdown text with deltas against
//! a baseline (`summary.md`), and `summary.html` with the look of the check report, linking
//! goose's own `report.html` (for a merge of shards, which has none, naming the shards whose
//! folders keep theirs).

use crate::record::load::{CorrectnessCount, LoadSummary, RequestStats};
use crate::text::one_line;

/// Writes `summary.json`, `summary.md` and `summary.html` into `dir`.
pub fn write(summary: &LoadSummary, dir: &std::path::Path) -> std::io::Result<()> {
    summary.write_json(dir)?;
    std::fs::write(dir.join("summary.md"), summary.render(None))?;
    std::fs::write(dir.join("summary.html"), summary.render_html())
}

impl LoadSummary {
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
            shard: self.shard.as_deref().map(one_line),
            merged_from: self
                .merged_from
                .iter()
                .map(|m| {
                    (
                        one_line(&m.shard),
                        one_line(&m.dir),
                        one_line(&m.started),
                        m.users,
                        m.requests,
                    )
                })
                .collect(),
            notes: self.notes.iter().map(|n| one_line(n)).collect(),
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

    /// The console/Markdown view, with deltas when a baseline is given.
    pub fn render(&self, baseline: Option<&LoadSummary>) -> String {
        let part = match (&self.shard, self.merged_from.len()) {
            (Some(shard), _) => format!(", shard {shard}"),
            (None, 0) => String::new(),
            (None, n) => format!(", merged from {n} shards"),
        };
        let mut out = format!(
            "\nrevspec load: {}{part} ({} users, {:.0} s)\n\n| request | count | fails | req/s | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|---:|---:|\n",
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
        out.push_str(&if let Some(shard) = &self.shard {
            format!("thresholds and correctness: judged once, on all the shards, by `revspec load merge` (this is shard {shard})\n")
        } else if missed.is_empty() {
            "thresholds: all met\n".to_owned()
        } else {
            format!("thresholds missed: {}\n", missed.join("; "))
        });
        for m in &self.merged_from {
            out.push_str(&format!(
                "shard {}: {} ({} users, {} requests, started {})\n",
                m.shard, m.dir, m.users, m.requests, m.started
            ));
        }
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        out.push_str(&if self.shard.is_some() {
            format!(
                "reports: {}/shard.json and histograms/ (for the merge), summary.html, report.html (goose), report.json, report.md, summary.json\n",
                self.report_dir
            )
        } else if self.merged_from.is_empty() {
            format!(
                "reports: {}/summary.html, report.html (goose), report.json, report.md, summary.json\n",
                self.report_dir
            )
        } else {
            format!(
                "reports: {}/summary.html, summary.md, summary.json (goose's reports stay in each shard's folder)\n",
                self.report_dir
            )
        });
        out
    }
}

/// A request's row: name, is a revocation, count, fails, req/s, p50, p95, p99.
type RequestRow = (String, bool, usize, usize, String, String, String, String);

/// A merged shard's row: shard, folder, started, users, requests.
type ShardRow = (String, String, String, usize, usize);

#[derive(askama::Template)]
#[template(path = "load.html")]
struct LoadPage {
    profile: String,
    shard: Option<String>,
    merged_from: Vec<ShardRow>,
    notes: Vec<String>,
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

    fn summary() -> LoadSummary {
        crate::record::load::fixtures::summary()
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
        s.thresholds = crate::record::load::ThresholdsView {
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
        s.requests.retain(|r| !r.revocation);
        assert!(s.missed_thresholds()[0].contains("no revocation request"));
    }

    #[test]
    fn a_merged_summary_names_its_shards_and_says_goose_reports_stay_with_them() {
        let mut s = summary();
        s.merged_from = vec![crate::record::load::MergedShard {
            shard: "1/2".into(),
            dir: "out/s1".into(),
            started: "2026-05-01T12:00:00.000Z".into(),
            users: 3,
            requests: 100,
        }];
        s.notes = vec!["goose's own reports cannot be merged".into()];
        let text = s.render(None);
        assert!(
            text.contains("revspec load: p, merged from 1 shards (1 users"),
            "{text}"
        );
        assert!(
            text.contains("shard 1/2: out/s1 (3 users, 100 requests"),
            "{text}"
        );
        assert!(
            text.contains("note: goose's own reports cannot be merged"),
            "{text}"
        );
        assert!(
            text.contains("goose's reports stay in each shard's folder"),
            "{text}"
        );
        let html = s.render_html();
        assert!(!html.contains("href=\"report.html\""), "{html}");
        assert!(html.contains("<td>1/2</td><td>out/s1</td>"), "{html}");
        assert!(html.contains("cannot be merged"), "{html}");
        let mut s = summary();
        s.shard = Some("2/3".into());
        assert!(s
            .render(None)
            .contains("revspec load: p, shard 2/3 (1 users"));
        let html = s.render_html();
        assert!(
            html.contains("<dt>Shard</dt><dd>2/3: thresholds and correctness are judged once"),
            "{html}"
        );
        assert!(!html.contains("badge v-fail\">FAIL"), "{html}");
        // A shard's thresholds are left to the merge: not "the profile sets none".
        s.thresholds = Default::default();
        let html = s.render_html();
        assert!(
            html.contains(
                "thresholds are judged once, on all the shards, by <code>revspec load merge</code>"
            ),
            "{html}"
        );
        assert!(!html.contains("sets no threshold"), "{html}");
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
