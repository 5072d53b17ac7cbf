//! Load beyond one machine, on one machine (issue 22): three `revspec load --shard I/3` processes
//! with one `--start-at`, against a three-node reference cluster on Redis, merged by `revspec
//! load merge`:
//! - the merged summary's request and error counts are exactly the sums of the shards' (each
//!   request, the totals, the revocations and the correctness sample), and its percentiles are
//!   exactly those of the shards' histograms added up;
//! - one process doing the same total work (`--shard 1/1`: the same users, the same run time)
//!   merged on its own gives exactly its own summary's figures (a single run and a merge make
//!   their percentiles in the same way), and its figures agree with the three shards' within a
//!   loose bound for run-to-run noise (two real runs on a shared machine, printed).
//!
//! Every process is on loopback, bounded in time and killed if the test fails; the nodes and
//! the Redis the test started are stopped. Without a `redis-server` the test is skipped with
//! the reason printed, unless `REVSPEC_REQUIRE_REDIS` is set (CI), which makes that a failure.

mod support;

use revspec::record::latency::Latency;
use revspec::record::load::{LoadSummary, RequestStats};
use revspec::record::shard::ShardRecord;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use support::cluster::Cluster;
use support::redis::TestRedis;

/// mint-and-revoke, small: 6 users, 1 s ramp-up, 3 s measured; thresholds no healthy run
/// misses on a busy machine, so the exit code says what the correctness sample says.
const PROFILE: &str = r#"
name = "mint-and-revoke-sharded"
users = 6
ramp_up = "1s"
run_time = "3s"

[[transaction]]
kind = "mint-and-revoke"
weight = 1

[correctness]
sample_percent = 5
min_samples = 30

[thresholds]
revoke_p99_ms = 60000
"#;

/// How long one load process may take before it is killed and the test fails.
const PROCESS_BOUND: Duration = Duration::from_secs(90);

async fn revspec(args: &[&str]) -> std::process::Output {
    let mut cmd = tokio::process::Command::from(support::cli::command(args, &[]));
    cmd.kill_on_drop(true);
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    tokio::time::timeout(PROCESS_BOUND, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("revspec {args:?} ran longer than {PROCESS_BOUND:?}"))
        .expect("the binary runs")
}

fn summary(dir: &Path) -> LoadSummary {
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("a load summary")
}

fn request<'a>(s: &'a LoadSummary, name: &str) -> &'a RequestStats {
    s.requests
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no request '{name}' in {s:?}"))
}

fn ok(o: &std::process::Output, what: &str) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{what}:\n{}",
        support::cli::text(o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_on_a_cluster_merge_into_exact_counts_and_the_percentiles_of_one_process() {
    let Some(redis) = TestRedis::get() else {
        return;
    };
    let cluster = Cluster::start(&redis.url(), "load-shard").await;
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("target.toml");
    cluster.write_profile(&target);
    let profile = tmp.path().join("profile.toml");
    std::fs::write(&profile, PROFILE).unwrap();
    let (target, profile) = (target.to_str().unwrap(), profile.to_str().unwrap());
    let dir = |name: &str| -> PathBuf { tmp.path().join(name) };

    // Three shards, one start time a few seconds ahead (time to start and preflight).
    let start_at = revspec::load::shard::rfc3339(SystemTime::now() + Duration::from_secs(5));
    let shard_dirs: Vec<PathBuf> = (1..=3).map(|i| dir(&format!("shard-{i}"))).collect();
    let runs = futures::future::join_all(shard_dirs.iter().enumerate().map(|(i, d)| {
        let shard = format!("{}/3", i + 1);
        let d = d.to_str().unwrap().to_owned();
        let start_at = start_at.clone();
        async move {
            revspec(&[
                "load",
                "--target",
                target,
                "--profile",
                profile,
                "--shard",
                &shard,
                "--start-at",
                &start_at,
                "--report-dir",
                &d,
            ])
            .await
        }
    }))
    .await;
    for (i, o) in runs.iter().enumerate() {
        ok(o, &format!("shard {}/3", i + 1));
    }

    // One process doing the same total work, after them (as the only shard of its run).
    let single_dir = dir("single");
    let single = revspec(&[
        "load",
        "--target",
        target,
        "--profile",
        profile,
        "--shard",
        "1/1",
        "--report-dir",
        single_dir.to_str().unwrap(),
    ])
    .await;
    cluster.stop().await;
    drop(redis);
    ok(&single, "the single process");

    let merged_dir = dir("merged");
    let mut merge_args = vec![
        "load",
        "merge",
        "--report-dir",
        merged_dir.to_str().unwrap(),
    ];
    merge_args.extend(shard_dirs.iter().map(|d| d.to_str().unwrap()));
    let merge = revspec(&merge_args).await;
    ok(&merge, "the merge");
    print!("{}", String::from_utf8_lossy(&merge.stdout));
    for file in ["summary.json", "summary.md", "summary.html"] {
        assert!(merged_dir.join(file).is_file(), "{file} missing");
    }
    assert!(
        !merged_dir.join("report.html").exists(),
        "goose's report cannot be merged"
    );
    let merged = summary(&merged_dir);
    let shards: Vec<ShardRecord> = shard_dirs
        .iter()
        .map(|d| ShardRecord::read(d).expect("shard.json and histograms"))
        .collect();
    let shard_summaries: Vec<LoadSummary> = shard_dirs.iter().map(|d| summary(d)).collect();

    // Users: 6 over 3 shards is 2 each.
    assert_eq!(
        shards.iter().map(|s| s.header.users).collect::<Vec<_>>(),
        [2, 2, 2]
    );
    assert_eq!(merged.users, 6);
    assert_eq!(merged.merged_from.len(), 3);
    assert!(
        merged.notes.iter().any(|n| n.contains("cannot be merged")),
        "{:?}",
        merged.notes
    );

    // Counts: exactly the sums, request by request.
    assert!(!merged.requests.is_empty());
    for r in &merged.requests {
        let from_shards: Vec<_> = shards
            .iter()
            .filter_map(|s| s.measured.requests.iter().find(|m| m.name == r.name))
            .collect();
        let count: u64 = from_shards.iter().map(|m| m.count()).sum();
        let fails: u64 = from_shards.iter().map(|m| m.fails).sum();
        assert_eq!(r.count as u64, count, "{}", r.name);
        assert_eq!(r.fails as u64, fails, "{}", r.name);
        let in_summaries: usize = shard_summaries
            .iter()
            .filter_map(|s| s.requests.iter().find(|x| x.name == r.name))
            .map(|x| x.count)
            .sum();
        assert_eq!(r.count, in_summaries, "{}", r.name);
        // Percentiles: exactly those of the shards' histograms added up.
        let mut union = Latency::new();
        for m in &from_shards {
            union.merge(&m.latency).unwrap();
        }
        assert_eq!(
            (r.p50_ms, r.p95_ms, r.p99_ms),
            (
                union.quantile_ms(0.5),
                union.quantile_ms(0.95),
                union.quantile_ms(0.99)
            ),
            "{}",
            r.name
        );
    }
    let sum = |f: fn(&LoadSummary) -> u64| shard_summaries.iter().map(f).sum::<u64>();
    assert_eq!(
        merged.total_requests as u64,
        sum(|s| s.total_requests as u64)
    );
    assert_eq!(
        merged.correctness.revocations,
        sum(|s| s.correctness.revocations)
    );
    assert_eq!(merged.correctness.sampled, sum(|s| s.correctness.sampled));
    assert!(merged.correctness.sampled > 0, "nothing sampled");
    assert!(merged.correctness.cross_node);
    assert_eq!(merged.correctness.not_held, 0, "{merged:?}");
    let revoke = request(&merged, "POST revoke (refresh token)");
    assert!(revoke.count > 0, "no revocation: {merged:?}");

    // The single process, merged on its own: exactly its own summary's figures.
    let single_summary = summary(&single_dir);
    let alone_dir = dir("single-merged");
    let alone = revspec(&[
        "load",
        "merge",
        "--report-dir",
        alone_dir.to_str().unwrap(),
        single_dir.to_str().unwrap(),
    ])
    .await;
    ok(&alone, "the merge of the single process");
    let alone = summary(&alone_dir);
    assert_eq!(alone.requests.len(), single_summary.requests.len());
    for (a, s) in alone.requests.iter().zip(&single_summary.requests) {
        assert_eq!(
            (&a.name, a.count, a.fails, a.p50_ms, a.p95_ms, a.p99_ms),
            (&s.name, s.count, s.fails, s.p50_ms, s.p95_ms, s.p99_ms)
        );
    }
    assert_eq!(
        alone.correctness.sampled,
        single_summary.correctness.sampled
    );

    // Against the real single run: the same work, so the same order of figures. Two real runs
    // on a shared two-core machine (three processes against one) differ by more than the
    // histograms' 0.1%: the bound is for noise, and the figures are printed.
    let one = request(&single_summary, "POST revoke (refresh token)");
    println!(
        "revoke (refresh token): merged of 3 shards: {} requests, p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms; \
         one process: {} requests, p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms",
        revoke.count, revoke.p50_ms, revoke.p95_ms, revoke.p99_ms,
        one.count, one.p50_ms, one.p95_ms, one.p99_ms
    );
    let within = |a: f64, b: f64, factor: f64| a <= b * factor && b <= a * factor;
    assert!(
        within(revoke.count as f64, one.count as f64, 3.0),
        "counts {} (merged) vs {} (one process)",
        revoke.count,
        one.count
    );
    assert!(
        within(revoke.p50_ms, one.p50_ms, 4.0),
        "p50 {} ms (merged) vs {} ms (one process)",
        revoke.p50_ms,
        one.p50_ms
    );
    assert_eq!(merged.users, single_summary.users);
    assert_eq!(merged.duration_s, single_summary.duration_s);
}

/// A shard's part written as `revspec load --shard` writes it: `n` revocations of `us` µs each
/// (`not_held` of the sampled ones did not hold), a revoke p99 threshold of 50 ms.
fn part(index: usize, count: usize, n: u64, us: u64, not_held: usize) -> ShardRecord {
    use revspec::record::shard::*;
    let mut measured = Measurements::default();
    let r = measured.request_mut("POST revoke (refresh token)", true, true);
    for _ in 0..n {
        r.latency.record_us(us);
    }
    measured.revocations = n;
    measured.complete_answers = n;
    measured.samples = (0..3)
        .map(|k| Sample {
            revocation: k,
            token_type: "refresh_token".into(),
            outcome: if (k as usize) < not_held {
                SampleOutcome::NotHeld
            } else {
                SampleOutcome::Held
            },
            delay_ms: Some(1.0),
            detail: Some(format!("revocation #{k}: still active")),
        })
        .collect();
    ShardRecord {
        header: ShardHeader {
            profile: ProfileIdentity {
                name: "p".into(),
                sha256: "00".repeat(32),
            },
            target: "t (http://127.0.0.1:1)".into(),
            shard: ShardId { index, count },
            start_at_unix_ms: Some(1_800_000_000_000),
            started_unix_ms: 1_800_000_000_000,
            started: "2027-01-15T08:00:00.000Z".into(),
            users: 1,
            total_users: count,
            ramp_up_s: 1.0,
            run_time_s: 3.0,
            measured_s: 3.0,
            thresholds: revspec::record::load::ThresholdsView {
                revoke_p99_ms: Some(50.0),
                error_rate_percent: None,
                min_rps: None,
            },
            warnings: vec![],
        },
        measured,
    }
}

fn written(root: &Path, parts: &[ShardRecord]) -> Vec<String> {
    parts
        .iter()
        .map(|p| {
            let dir = root.join(format!(
                "s{}of{}",
                p.header.shard.index, p.header.shard.count
            ));
            p.write(&dir).unwrap();
            dir.to_str().unwrap().to_owned()
        })
        .collect()
}

fn merge_of(root: &Path, dirs: &[String]) -> std::process::Output {
    let out = root.join("merged");
    let mut args = vec!["load", "merge", "--report-dir", out.to_str().unwrap()];
    args.extend(dirs.iter().map(String::as_str));
    support::cli::run(&args, &[])
}

#[test]
fn a_merge_exits_as_a_single_run_would_and_refuses_what_is_not_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // Met: 0.
    let dirs = written(
        root,
        &[part(1, 2, 100, 2_000, 0), part(2, 2, 100, 3_000, 0)],
    );
    let o = merge_of(root, &dirs);
    assert_eq!(o.status.code(), Some(0), "{}", support::cli::text(&o));
    let s = summary(&root.join("merged"));
    assert_eq!(request(&s, "POST revoke (refresh token)").count, 200);
    // A revoke p99 over the threshold in one shard only: 1, naming the figure.
    let dirs = written(
        root,
        &[part(1, 2, 100, 2_000, 0), part(2, 2, 100, 90_000, 0)],
    );
    let o = merge_of(root, &dirs);
    assert_eq!(o.status.code(), Some(1), "{}", support::cli::text(&o));
    assert!(
        support::cli::text(&o).contains("FAILED: threshold missed: revoke p99"),
        "{}",
        support::cli::text(&o)
    );
    // A revocation that did not hold in one shard: 1, and the example names the shard.
    let dirs = written(
        root,
        &[part(1, 2, 100, 2_000, 0), part(2, 2, 100, 2_000, 1)],
    );
    let o = merge_of(root, &dirs);
    assert_eq!(o.status.code(), Some(1), "{}", support::cli::text(&o));
    assert!(
        support::cli::text(&o).contains("shard 2/2: revocation #0: still active"),
        "{}",
        support::cli::text(&o)
    );
    // --baseline on a merged summary: deltas.
    let baseline = root.join("baseline.json");
    std::fs::copy(root.join("merged/summary.json"), &baseline).unwrap();
    let dirs = written(
        root,
        &[part(1, 2, 100, 2_000, 0), part(2, 2, 100, 3_000, 0)],
    );
    let out = root.join("merged");
    let mut args = vec![
        "load",
        "merge",
        "--baseline",
        baseline.to_str().unwrap(),
        "--report-dir",
        out.to_str().unwrap(),
    ];
    args.extend(dirs.iter().map(String::as_str));
    let o = support::cli::run(&args, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", support::cli::text(&o));
    assert!(
        support::cli::text(&o).contains("baseline: "),
        "{}",
        support::cli::text(&o)
    );
    // Refusals: 2, naming the folder and the problem.
    let mut other = part(2, 2, 10, 2_000, 0);
    other.header.profile.sha256 = "ff".repeat(32);
    let dirs = written(root, &[part(1, 2, 10, 2_000, 0), other]);
    let o = merge_of(root, &dirs);
    assert_eq!(o.status.code(), Some(2), "{}", support::cli::text(&o));
    assert!(
        support::cli::text(&o).contains(&format!("error: {}: ran the load profile", dirs[1])),
        "{}",
        support::cli::text(&o)
    );
    let dirs = written(root, &[part(1, 3, 10, 2_000, 0), part(3, 3, 10, 2_000, 0)]);
    let o = merge_of(root, &dirs);
    assert_eq!(o.status.code(), Some(2), "{}", support::cli::text(&o));
    assert!(
        support::cli::text(&o).contains("shard 2/3 missing"),
        "{}",
        support::cli::text(&o)
    );
    let dirs = written(root, &[part(1, 2, 10, 2_000, 0), part(2, 3, 10, 2_000, 0)]);
    let o = merge_of(root, &dirs);
    assert_eq!(o.status.code(), Some(2), "{}", support::cli::text(&o));
    assert!(
        support::cli::text(&o).contains("every shard of one run has the same N"),
        "{}",
        support::cli::text(&o)
    );
    let o = merge_of(root, &[dirs[0].clone(), dirs[0].clone()]);
    assert_eq!(o.status.code(), Some(2), "{}", support::cli::text(&o));
    assert!(
        support::cli::text(&o).contains("is shard 1/2 again"),
        "{}",
        support::cli::text(&o)
    );
}

#[test]
fn bad_shard_and_start_values_exit_2_naming_the_flag() {
    for (args, says) in [
        (&["--shard", "4/3"][..], "--shard"),
        (&["--shard", "x"][..], "expected I/N"),
        (
            &["--shard", "1/3", "--start-at", "2001-01-01T00:00:00Z"][..],
            "--start-at 2001-01-01T00:00:00.000Z: that is",
        ),
        (&["--shard", "1/3", "--start-at", "soon"][..], "--start-at"),
        (
            &["--shard", "3/3", "--users", "2"][..],
            "--shard 3/3: the profile has 2 users",
        ),
        (&["--shard", "2/3"][..], "--shard 2/3 needs --target"),
    ] {
        let mut all = vec!["load", "--profile", "loadtests/mint-and-revoke.toml"];
        all.extend(args);
        let o = support::cli::run(&all, &[]);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            support::cli::text(&o)
        );
        assert!(
            support::cli::text(&o).contains(says),
            "{args:?}: {}",
            support::cli::text(&o)
        );
    }
}

/// The shell's and the launchers' expressions in the documented commands, with values.
const PLACEHOLDERS: [(&str, &str); 11] = [
    ("I/N", "2/3"),
    ("TIME", "2999-01-01T00:00:00Z"),
    ("$((JOB_COMPLETION_INDEX + 1))", "2"),
    ("${{ matrix.shard }}", "2"),
    (
        "${{ needs.build.outputs.start_at }}",
        "2999-01-01T00:00:00Z",
    ),
    ("\"$START_AT\"", "2999-01-01T00:00:00Z"),
    ("$SHARDS", "3"),
    ("${RUN}", "run-1"),
    ("$RUN", "run-1"),
    ("[", ""),
    ("]", ""),
];

/// Each `revspec load` command of a Markdown text's code blocks, whole: lines continued with `\` and YAML
/// folded scalars (`>-`) joined.
fn documented_commands(doc: &str) -> Vec<String> {
    // Only the code blocks.
    let mut in_code = false;
    let lines: Vec<&str> = doc
        .lines()
        .filter(|l| {
            let fence = l.trim_start().starts_with("```");
            in_code ^= fence;
            in_code && !fence
        })
        .collect();
    let mut logical = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let mut line = lines[i].trim_end().to_owned();
        if line.ends_with(">-") {
            let indent = |l: &str| l.len() - l.trim_start().len();
            let first = lines.get(i + 1).map_or(0, |l| indent(l));
            let mut joined = Vec::new();
            while i + 1 < lines.len()
                && indent(lines[i + 1]) >= first
                && !lines[i + 1].trim().is_empty()
            {
                i += 1;
                joined.push(lines[i].trim());
            }
            line = joined.join(" ");
        }
        while line.ends_with('\\') && i + 1 < lines.len() {
            line.pop();
            i += 1;
            line.push(' ');
            line.push_str(lines[i].trim());
        }
        logical.push(line);
        i += 1;
    }
    logical
        .into_iter()
        .filter_map(|l| l.find("revspec load").map(|at| l[at..].to_owned()))
        .filter(|l| l.contains("--shard") || l.contains("merge"))
        .collect()
}

#[test]
fn the_documented_shard_and_merge_commands_parse() {
    use clap::Parser as _;
    let mut n = 0;
    for file in ["docs/distributed-load.md", "README.md"] {
        let doc = std::fs::read_to_string(file).unwrap();
        for command in documented_commands(&doc) {
            let mut text = command.clone();
            for (expression, value) in PLACEHOLDERS {
                text = text.replace(expression, value);
            }
            let args: Vec<String> = text
                .split_whitespace()
                .take_while(|t| !t.starts_with('#') && *t != "&&" && *t != ";")
                .map(|t| t.trim_matches('`').trim_matches('"').to_owned())
                .collect();
            if let Err(e) = revspec::cli::Cli::try_parse_from(&args) {
                panic!("{file}: `{command}` does not parse:\n{e}");
            }
            n += 1;
        }
    }
    assert!(n >= 6, "only {n} commands found");
}
