//! The summary of a finished goose attack: goose's request metrics and the run's
//! correctness count turned into a [`LoadSummary`].

use super::profile::LoadProfile;
use super::request::Request;
use super::transactions::LoadState;
use crate::record::load::{CorrectnessCount, LoadSummary, RequestStats};
use std::path::Path;
use std::sync::atomic::Ordering;

/// The summary of a finished attack.
pub fn from_metrics(
    profile: &LoadProfile,
    metrics: &goose::metrics::GooseMetrics,
    state: &LoadState,
    dir: &Path,
) -> LoadSummary {
    let duration_s = (metrics.duration as f64).max(1.0);
    let mut requests: Vec<RequestStats> = metrics
        .requests
        .iter()
        .map(|(key, r)| {
            let t = &r.raw_data;
            let request = Request::from_key(key);
            RequestStats {
                name: key.clone(),
                revocation: request.is_some_and(Request::is_revocation),
                revokes_issued_tokens: request.is_some_and(Request::revokes_issued_tokens),
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
    // Signing an assertion is the client's own cost, reported as its own row: it is not an
    // HTTP request, so it counts in no total.
    let http = |r: &&RequestStats| Request::from_key(&r.name) != Some(Request::SignAssertion);
    let total_requests: usize = requests.iter().filter(http).map(|r| r.count).sum();
    let total_fails: usize = requests.iter().filter(http).map(|r| r.fails).sum();
    LoadSummary {
        schema_version: crate::record::load::SCHEMA_VERSION,
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
            propagation_ms: crate::record::stats::p50_p99_max(
                &state.delays_ms.lock().unwrap_or_else(|p| p.into_inner()),
            ),
        },
        thresholds: (&profile.thresholds).into(),
        report_dir: dir.display().to_string(),
        transport_failures: state.transport_failures.load(Ordering::Relaxed),
        unusable: state.unusable(),
        warnings: vec![],
    }
}
