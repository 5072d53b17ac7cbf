//! The summary of a finished goose attack, made of what revspec measured itself (per request
//! an HDR latency histogram and its counts, and the correctness sample): the same making as a
//! merge of shards (`record::shard::Measurements::summary`), so a single run and a merged one
//! come to their percentiles in the same way. goose's own metrics feed only goose's reports.

use super::profile::LoadProfile;
use crate::record::load::LoadSummary;
use crate::record::shard::{Measurements, SummaryHead};
use std::path::Path;

/// The summary of a run of `profile` that measured `measured` over `duration_s` seconds.
pub fn of_run(
    profile: &LoadProfile,
    measured: &Measurements,
    duration_s: f64,
    dir: &Path,
) -> LoadSummary {
    measured.summary(SummaryHead {
        profile: profile.name.clone(),
        users: profile.users,
        duration_s,
        thresholds: (&profile.thresholds).into(),
        report_dir: dir.display().to_string(),
    })
}
