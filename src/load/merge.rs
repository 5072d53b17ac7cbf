//! `revspec load merge DIR...`: the shards of one sharded run read back (`shard.json` and
//! histograms), checked to be exactly the N parts of one run (the same profile file, target,
//! N, users, times and start; no shard twice, none missing; each refusal names the folder and
//! what is wrong), and merged into the summary a single run would have written: histograms
//! added, counts summed, every correctness sample kept, thresholds and correctness judged once
//! on the whole. goose's own reports stay per shard: they cannot be merged.

use crate::record::load::{LoadSummary, MergedShard};
use crate::record::shard::{Measurements, ShardRecord, SummaryHead};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Shards that started further apart than this get a warning: their windows overlap only in
/// part.
pub const START_SPREAD_WARNING_MS: u64 = 1000;

/// What the merged summary says about goose's reports.
pub const GOOSE_NOTE: &str = "merged from shards: goose's own reports (report.html, report.json, report.md) cannot be merged and stay in each shard's folder; every figure here comes from the shards' histograms and counts";

/// Reads each folder's shard record; an error names the folder.
pub fn read(dirs: &[PathBuf]) -> Result<Vec<(String, ShardRecord)>, String> {
    dirs.iter()
        .map(|dir| {
            let name = dir.display().to_string();
            ShardRecord::read(dir)
                .map(|r| (name.clone(), r))
                .map_err(|e| format!("{name}: {e}"))
        })
        .collect()
}

/// The summary of the shards together, written as to `report_dir`; refused (naming the folder
/// and the problem) unless they are exactly the N shards of one run.
pub fn merge(parts: &[(String, ShardRecord)], report_dir: &str) -> Result<LoadSummary, String> {
    let Some((dir0, first)) = parts.first() else {
        return Err("no shard folder given".into());
    };
    let h0 = &first.header;
    let mut by_index: BTreeMap<usize, (&String, &ShardRecord)> = BTreeMap::new();
    for (dir, part) in parts {
        let h = &part.header;
        if h.profile != h0.profile {
            return Err(format!(
                "{dir}: ran the load profile '{}' (sha256 {}), but {dir0} ran '{}' (sha256 {}): the shards of one run run the same profile file",
                h.profile.name, h.profile.sha256, h0.profile.name, h0.profile.sha256
            ));
        }
        if h.shard.count != h0.shard.count {
            return Err(format!(
                "{dir}: is shard {}, but {dir0} is shard {}: every shard of one run has the same N",
                h.shard, h0.shard
            ));
        }
        if h.target != h0.target {
            return Err(format!(
                "{dir}: ran against {}, but {dir0} against {}",
                h.target, h0.target
            ));
        }
        if h.total_users != h0.total_users {
            return Err(format!(
                "{dir}: counts {} users in the whole run, but {dir0} counts {} (was --users given to some shards only?)",
                h.total_users, h0.total_users
            ));
        }
        if h.run_time_s != h0.run_time_s || h.ramp_up_s != h0.ramp_up_s {
            return Err(format!(
                "{dir}: ran {} s after a {} s ramp-up, but {dir0} {} s after {} s (was --run-time given to some shards only?)",
                h.run_time_s, h.ramp_up_s, h0.run_time_s, h0.ramp_up_s
            ));
        }
        if h.start_at_unix_ms != h0.start_at_unix_ms {
            let at = |ms: Option<u64>| {
                ms.map_or("no --start-at".to_owned(), |ms| {
                    format!(
                        "--start-at {}",
                        super::shard::rfc3339(
                            std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms)
                        )
                    )
                })
            };
            return Err(format!(
                "{dir}: was started with {}, but {dir0} with {}: the shards of one run share one start time",
                at(h.start_at_unix_ms),
                at(h0.start_at_unix_ms)
            ));
        }
        let share = super::shard::share(h.total_users, h.shard);
        if h.users != share {
            return Err(format!(
                "{dir}: shard {} ran {} users, but its share of {} is {share}",
                h.shard, h.users, h.total_users
            ));
        }
        if let Some((other, _)) = by_index.insert(h.shard.index, (dir, part)) {
            return Err(format!(
                "{dir}: is shard {} again (already given as {other})",
                h.shard
            ));
        }
    }
    let count = h0.shard.count;
    let missing: Vec<String> = (1..=count)
        .filter(|i| !by_index.contains_key(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        let given: Vec<String> = by_index
            .values()
            .map(|(dir, p)| format!("{dir} ({})", p.header.shard))
            .collect();
        return Err(format!(
            "shard {} missing: the folders given hold only {}",
            missing.join(", "),
            given.join(", ")
        ));
    }
    let mut measured = Measurements::default();
    let mut merged_from = Vec::new();
    let mut warnings = Vec::new();
    for (dir, part) in by_index.values() {
        let h = &part.header;
        let mut m = part.measured.clone();
        for s in &mut m.samples {
            if let Some(d) = &mut s.detail {
                *d = format!("shard {}: {d}", h.shard);
            }
        }
        measured.merge(&m).map_err(|e| format!("{dir}: {e}"))?;
        merged_from.push(MergedShard {
            shard: h.shard.to_string(),
            dir: dir.to_string(),
            started: h.started.clone(),
            users: h.users,
            requests: m.requests.iter().map(|r| r.count() as usize).sum(),
        });
        warnings.extend(
            h.warnings
                .iter()
                .map(|w| format!("shard {} ({dir}): {w}", h.shard)),
        );
    }
    let starts = by_index.values().map(|(_, p)| p.header.started_unix_ms);
    let spread = starts.clone().max().unwrap_or(0) - starts.min().unwrap_or(0);
    if spread > START_SPREAD_WARNING_MS {
        warnings.push(format!(
            "the shards started up to {:.1} s apart: their measured windows overlap only in part",
            spread as f64 / 1000.0
        ));
    }
    let duration_s = by_index
        .values()
        .map(|(_, p)| p.header.measured_s)
        .fold(0.0, f64::max);
    let mut summary = measured.summary(SummaryHead {
        profile: h0.profile.name.clone(),
        users: h0.total_users,
        duration_s,
        thresholds: h0.thresholds.clone(),
        report_dir: report_dir.to_owned(),
    });
    summary.merged_from = merged_from;
    summary.warnings = warnings;
    summary.notes.push(GOOSE_NOTE.to_owned());
    if h0.start_at_unix_ms.is_none() {
        summary.notes.push(
            "the shards were started without --start-at: nothing says they ran at the same time"
                .to_owned(),
        );
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::shard::fixtures::shard;

    fn parts(shards: Vec<ShardRecord>) -> Vec<(String, ShardRecord)> {
        shards
            .into_iter()
            .map(|s| (format!("out/shard-{}", s.header.shard.index), s))
            .collect()
    }

    fn refused(shards: Vec<ShardRecord>) -> String {
        merge(&parts(shards), "merged").unwrap_err()
    }

    #[test]
    fn three_shards_merge_into_one_summary_whose_counts_are_the_sums() {
        let shards = vec![
            shard(2, 3, 200, 900),
            shard(1, 3, 100, 800),
            shard(3, 3, 300, 1000),
        ];
        let s = merge(&parts(shards.clone()), "merged").unwrap();
        let revoke = s
            .requests
            .iter()
            .find(|r| r.name == "POST revoke (refresh token)")
            .unwrap();
        assert_eq!((revoke.count, revoke.fails), (600, 3));
        assert_eq!(s.total_requests, 1200);
        assert_eq!(s.users, 9);
        assert_eq!(s.duration_s, 3.0);
        assert_eq!(s.correctness.sampled, 6);
        assert_eq!(s.correctness.revocations, 600);
        assert_eq!(s.thresholds.revoke_p99_ms, Some(100.0));
        // In shard order, whatever order the folders were given in.
        let order: Vec<&str> = s.merged_from.iter().map(|m| m.shard.as_str()).collect();
        assert_eq!(order, ["1/3", "2/3", "3/3"]);
        assert!(s.notes[0].contains("cannot be merged"), "{:?}", s.notes);
        // The percentiles are those of all the latencies together.
        let mut all = crate::record::latency::Latency::new();
        for p in &shards {
            all.merge(&p.measured.requests[0].latency).unwrap();
        }
        assert_eq!(revoke.p99_ms, all.quantile_ms(0.99));
        assert_eq!(revoke.p50_ms, all.quantile_ms(0.5));
    }

    #[test]
    fn a_shard_given_twice_is_refused_naming_both_folders() {
        let mut shards = vec![shard(1, 2, 10, 900), shard(2, 2, 10, 900)];
        shards[1].header.shard.index = 1;
        let mut p = parts(shards);
        p[1].0 = "out/again".into();
        let e = merge(&p, "m").unwrap_err();
        assert_eq!(
            e,
            "out/again: is shard 1/2 again (already given as out/shard-1)"
        );
    }

    #[test]
    fn a_missing_shard_is_refused_naming_the_folders_given() {
        let e = refused(vec![shard(1, 3, 10, 900), shard(3, 3, 10, 900)]);
        assert_eq!(
            e,
            "shard 2/3 missing: the folders given hold only out/shard-1 (1/3), out/shard-3 (3/3)"
        );
    }

    #[test]
    fn shards_of_different_n_profiles_or_runs_are_refused() {
        let e = refused(vec![shard(1, 2, 10, 900), shard(2, 3, 10, 900)]);
        assert!(
            e.starts_with("out/shard-2: is shard 2/3, but out/shard-1 is shard 1/2"),
            "{e}"
        );
        let mut other = shard(2, 2, 10, 900);
        other.header.profile.sha256 = "cd".repeat(32);
        let e = refused(vec![shard(1, 2, 10, 900), other]);
        assert!(
            e.starts_with("out/shard-2: ran the load profile 'mint-and-revoke' (sha256 cdcd"),
            "{e}"
        );
        let mut other = shard(2, 2, 10, 900);
        other.header.profile.name = "mixed".into();
        assert!(refused(vec![shard(1, 2, 10, 900), other]).contains("'mixed'"));
        let mut other = shard(2, 2, 10, 900);
        other.header.start_at_unix_ms = None;
        let e = refused(vec![shard(1, 2, 10, 900), other]);
        assert!(
            e.contains("no --start-at") && e.contains("share one start time"),
            "{e}"
        );
        let mut other = shard(2, 2, 10, 900);
        other.header.run_time_s = 9.0;
        assert!(refused(vec![shard(1, 2, 10, 900), other]).contains("--run-time"));
        let mut other = shard(2, 2, 10, 900);
        other.header.total_users = 7;
        assert!(refused(vec![shard(1, 2, 10, 900), other]).contains("--users"));
        let mut other = shard(2, 2, 10, 900);
        other.header.target = "elsewhere".into();
        assert!(refused(vec![shard(1, 2, 10, 900), other]).contains("ran against elsewhere"));
        let mut other = shard(2, 2, 10, 900);
        other.header.users = 5;
        assert!(refused(vec![shard(1, 2, 10, 900), other]).contains("its share of 6 is 3"));
    }

    #[test]
    fn a_folder_that_is_no_shard_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let e = read(&[dir.path().to_owned()]).unwrap_err();
        assert!(
            e.starts_with(&dir.path().display().to_string()) && e.contains("shard.json"),
            "{e}"
        );
    }

    #[test]
    fn examples_name_their_shard_and_spread_starts_are_warned_about() {
        let mut late = shard(2, 2, 10, 900);
        late.header.started_unix_ms += 5000;
        late.measured.samples[0].outcome = crate::record::shard::SampleOutcome::NotHeld;
        late.measured.samples[0].detail = Some("revocation #0: still active".into());
        let s = merge(&parts(vec![shard(1, 2, 10, 900), late]), "m").unwrap();
        assert_eq!(
            s.correctness.examples,
            ["shard 2/2: revocation #0: still active"]
        );
        assert_eq!(s.correctness.not_held, 1);
        assert!(s.warnings[0].contains("5.0 s apart"), "{:?}", s.warnings);
    }
}
