//! Golden tests of the views of a run record: the HTML report, summary.md and the cross-run
//! matrix, rendered from fixed run.json files (`tests/golden/runs/{a,b}/run.json`: every
//! verdict, a skip, a ledger entry, a hostile exchange body with `<script>` and control bytes)
//! and compared with `tests/golden/*` after stripping timestamps.
//!
//! To accept a deliberate change: `REVSPEC_UPDATE_GOLDEN=1 cargo test --test report`, then
//! review the diff of tests/golden/.

mod support;

use revspec::record::{RunRecord, Verdict};
use revspec::report::matrix::Matrix;
use revspec::report::{html, markdown};
use std::path::PathBuf;
use support::golden::assert_golden;

fn golden_dir() -> PathBuf {
    support::golden::dir()
}

/// The page with each stylesheet and script the templates include written once, as a marker:
/// the golden then holds the page's own structure, not a second copy of the assets, and the
/// assertion that each asset is embedded whole stays here.
fn assets_folded(page: &str, scripts: &[(&str, &str)]) -> String {
    let mut folded = page.to_owned();
    let assets = [(
        "style.css",
        include_str!("../src/report/templates/style.css"),
    )];
    for (name, text) in assets.iter().chain(scripts) {
        let text = text
            .trim()
            .trim_start_matches("{% raw %}")
            .trim_end_matches("{% endraw %}")
            .trim();
        assert!(folded.contains(text), "{name} is not embedded whole");
        folded = folded.replacen(text, &format!("/* {name}, embedded whole */"), 1);
    }
    folded
}

const REPORT_JS: (&str, &str) = (
    "report.js",
    include_str!("../src/report/templates/report.js"),
);
const MATRIX_JS: (&str, &str) = (
    "matrix.js",
    include_str!("../src/report/templates/matrix.js"),
);

fn run(name: &str) -> (PathBuf, RunRecord) {
    let path = golden_dir().join("runs").join(name).join("run.json");
    let record = RunRecord::read(&path).expect("the fixture is a run record");
    (path, record)
}

#[test]
fn the_fixture_covers_every_verdict_a_skip_a_ledger_entry_and_a_hostile_body() {
    let (_, r) = run("a");
    let rules: Vec<Verdict> = r.rule_verdicts().into_iter().map(|(_, v)| v).collect();
    for v in html::VERDICTS {
        assert!(
            rules.contains(v),
            "no rule of the fixture is {}",
            v.as_str()
        );
    }
    assert!(r
        .cases
        .iter()
        .any(|c| c.verdict == Verdict::Skip && c.reason.is_some()));
    assert!(r.cases.iter().any(|c| c
        .reason
        .as_deref()
        .is_some_and(|x| x.starts_with("known deviation"))));
    assert!(r.cases.iter().any(|c| c
        .exchanges
        .iter()
        .any(|e| e.response_body.contains("<script>") && e.response_body.contains('\u{1b}'))));
}

#[test]
fn html_report_matches_its_golden() {
    let (_, r) = run("a");
    assert_golden(
        "report.html",
        &assets_folded(&html::render(&r), &[REPORT_JS]),
    );
}

#[test]
fn summary_markdown_matches_its_golden() {
    let (_, r) = run("a");
    assert_golden("summary.md", &markdown::render(&r));
}

#[test]
fn matrix_matches_its_goldens() {
    let runs = vec![run("a"), run("b")];
    let m = Matrix::build(&runs, &golden_dir());
    assert_golden("matrix.md", &m.render_markdown(true));
    assert_golden(
        "matrix.html",
        &assets_folded(&m.render_html(), &[MATRIX_JS]),
    );
}

#[test]
fn no_server_byte_is_markup_in_the_report() {
    let (_, r) = run("a");
    let page = html::render(&r);
    // The page's own markup has exactly one script element; the server's never gets through.
    assert_eq!(
        page.matches("<script").count(),
        1,
        "a <script> came through"
    );
    assert!(!page.contains("<img"), "an <img> came through");
    assert!(!page.contains("</pre><img"), "the server closed a <pre>");
    assert!(
        !page
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "a control byte reached the page"
    );
    assert!(
        page.contains("\\x1b[2J"),
        "control bytes are shown as visible escapes"
    );
}

#[test]
fn the_report_is_self_contained() {
    let (_, r) = run("a");
    let page = html::render(&r);
    for loaded in ["<link", "src=\"http", "src='http", "@import", "url(http"] {
        assert!(!page.contains(loaded), "the page loads {loaded}...");
    }
    // Every rule ID is in the page with its verdict, for the filters.
    for (rule, verdict) in r.rule_verdicts() {
        let tag = format!(r#"id="rule-{rule}" data-verdict="{}""#, verdict.as_str());
        assert!(page.contains(&tag), "{tag}");
    }
}

#[test]
fn the_fixtures_rules_member_is_what_the_record_computes() {
    // The browser test reads each rule's expected verdict from run.json's `rules`.
    for name in ["a", "b"] {
        let (path, r) = run(name);
        let on_disk: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let key = |v: &serde_json::Value| -> Vec<(String, String, String)> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| {
                    let s = |k: &str| x[k].as_str().unwrap().to_owned();
                    (s("rule"), s("level"), s("verdict"))
                })
                .collect()
        };
        assert_eq!(
            key(&on_disk["rules"]),
            key(&r.to_json()["rules"]),
            "{}",
            path.display()
        );
    }
}

#[test]
fn timestamps_are_stripped_and_nothing_else() {
    use support::golden::strip_timestamps;
    assert_eq!(
        strip_timestamps("at 2026-11-29T12:00:00Z and 2026-11-29T18-31-10Z/x 2026-1"),
        "at <time> and <time>/x 2026-1"
    );
    assert_eq!(strip_timestamps("é 2026-11-29T12:00:00.123Z."), "é <time>.");
}
