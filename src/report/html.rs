//! The HTML view of a run record (`report.html`), made from the record alone (what `run.json`
//! holds, deserialized) plus the built-in rule explanations (`explain`). One self-contained
//! file: styles and script inline, no network, works from `file://`, prints readably, and is
//! usable without its script (filters need it; everything else is plain HTML).
//!
//! Every text that came from a server goes through [`escape::visible`] first (control bytes
//! become visible escapes) and then through the template's HTML escaping, so no server byte is
//! ever interpreted as HTML. The templates (askama, `src/report/templates/`) are checked at
//! compile time.

use crate::catalogue::explain::{self, Explanation, Touch};
use crate::record::{CaseRecord, CheckRecord, RunRecord, Verdict};
use crate::text::{one_line, visible};
use askama::Template;

/// Every verdict, in the order the report lists them.
pub const VERDICTS: &[Verdict] = &[
    Verdict::Fail,
    Verdict::ExpectationUnmet,
    Verdict::Error,
    Verdict::Warn,
    Verdict::Partial,
    Verdict::Expected,
    Verdict::Info,
    Verdict::Skip,
    Verdict::Pass,
];

/// The CSS class of a verdict badge.
pub fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "v-pass",
        Verdict::Info => "v-info",
        Verdict::Partial => "v-partial",
        Verdict::Skip => "v-skip",
        Verdict::Warn => "v-warn",
        Verdict::Expected => "v-expected",
        Verdict::Fail => "v-fail",
        Verdict::ExpectationUnmet => "v-unmet",
        Verdict::Error => "v-error",
    }
}

/// A verdict as the templates show it.
#[derive(Debug, Clone)]
pub struct Badge {
    pub text: &'static str,
    pub class: &'static str,
}

impl From<Verdict> for Badge {
    fn from(v: Verdict) -> Self {
        Badge {
            text: v.as_str(),
            class: verdict_class(v),
        }
    }
}

/// One segment of the verdict bar.
#[derive(Debug, Clone)]
pub struct Count {
    pub badge: Badge,
    pub count: usize,
    /// Share of the rules, in percent (the segment's width).
    pub percent: f64,
}

/// Counts per verdict (only the verdicts present), with their share.
pub fn counts(verdicts: impl Iterator<Item = Verdict> + Clone) -> Vec<Count> {
    let total = verdicts.clone().count().max(1);
    VERDICTS
        .iter()
        .map(|v| (*v, verdicts.clone().filter(|x| x == v).count()))
        .filter(|(_, n)| *n > 0)
        .map(|(v, n)| Count {
            badge: v.into(),
            count: n,
            percent: n as f64 * 100.0 / total as f64,
        })
        .collect()
}

struct CheckView {
    passed: bool,
    should_only: bool,
    what: String,
    expected: String,
    actual: String,
}

impl From<&CheckRecord> for CheckView {
    fn from(c: &CheckRecord) -> Self {
        CheckView {
            passed: c.passed,
            should_only: c.should_only,
            what: visible(&c.what),
            expected: visible(&c.expected),
            actual: visible(&c.actual),
        }
    }
}

struct ScenarioView {
    name: String,
    location: String,
    badge: Badge,
    reason: Option<String>,
    /// The first run's verdict when the scenario was confirmed alone.
    first_verdict: Option<Badge>,
    confirmed_alone: bool,
    checks: Vec<CheckView>,
    controls: Vec<CheckView>,
    observations: Vec<String>,
    /// The tokens the scenario held, by label.
    tokens: Vec<String>,
    delays: Vec<String>,
    /// Each exchange rendered as text, control bytes made visible.
    exchanges: Vec<String>,
    duration: String,
}

impl From<&CaseRecord> for ScenarioView {
    fn from(c: &CaseRecord) -> Self {
        ScenarioView {
            name: visible(&c.scenario),
            location: visible(&c.location),
            badge: c.verdict.into(),
            reason: c.reason.as_deref().map(visible),
            first_verdict: c.first_verdict.map(Badge::from),
            confirmed_alone: c.confirmed_alone,
            checks: c.checks.iter().map(CheckView::from).collect(),
            controls: c.controls.iter().map(CheckView::from).collect(),
            observations: c.observations.iter().map(|o| visible(o)).collect(),
            tokens: c.tokens.iter().map(|t| one_line(t)).collect(),
            delays: c
                .delays
                .iter()
                .map(|d| {
                    let node = if d.node.is_empty() {
                        String::new()
                    } else {
                        format!(" on {}", visible(&d.node))
                    };
                    if d.first_look {
                        format!("{}: inactive{node} at the first look", visible(&d.token))
                    } else {
                        format!("{}: inactive{node} after {:.0} ms", visible(&d.token), d.ms)
                    }
                })
                .collect(),
            exchanges: c.exchanges.iter().map(|e| visible(&e.render())).collect(),
            duration: format!("{:.0} ms", c.duration_ms),
        }
    }
}

struct ExplainView {
    explanation: &'static Explanation,
    touches: Vec<Touch>,
}

struct RuleView {
    id: String,
    badge: Badge,
    level: &'static str,
    sentence: String,
    note: Option<String>,
    scenarios: Vec<ScenarioView>,
    explain: Option<ExplainView>,
}

struct FamilyView {
    id: String,
    title: String,
    rules: Vec<RuleView>,
}

struct ProbeView {
    probe: String,
    kind: &'static str,
    refused: Option<String>,
    visible_after: Option<String>,
    steps: Vec<CheckView>,
}

struct SettingView {
    setting: String,
    action: String,
    outcome: String,
    confirmed: bool,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    title: String,
    target: String,
    issuer: String,
    endpoint: String,
    profile: String,
    strict: bool,
    started: String,
    version: String,
    duration: String,
    concurrency: usize,
    fault: Option<String>,
    quirks: Vec<String>,
    expectations: Option<String>,
    counts: Vec<Count>,
    rule_count: usize,
    scenario_count: usize,
    levels: Vec<&'static str>,
    probes: Vec<ProbeView>,
    settings: Vec<SettingView>,
    delay_line: Option<String>,
    /// Per node of a cluster: the measured revocation delays.
    node_delays: Vec<String>,
    /// Why the run stopped early, if it did.
    unusable: Option<String>,
    warnings: Vec<String>,
    families: Vec<FamilyView>,
}

/// The family of a scenario: its feature file's stem (`rfc7009_revocation`).
pub fn family_of(location: &str) -> String {
    let file = location.rsplit_once(':').map_or(location, |(f, _)| f);
    let name = file.rsplit('/').next().unwrap_or(file);
    name.trim_end_matches(".feature").to_owned()
}

/// A family's title: the `Feature:` line of the built-in feature file of that name, or the
/// name itself.
pub fn family_title(family: &str) -> String {
    crate::catalogue::features::FEATURES
        .iter()
        .find(|(file, _)| file.trim_end_matches(".feature") == family)
        .and_then(|(_, text)| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix("Feature:"))
                .map(|t| t.trim().to_owned())
        })
        .unwrap_or_else(|| family.to_owned())
}

fn kind_name(kind: crate::catalogue::TokenType) -> &'static str {
    match kind {
        crate::catalogue::TokenType::Access => "access",
        crate::catalogue::TokenType::Refresh => "refresh",
    }
}

fn families(record: &RunRecord) -> Vec<FamilyView> {
    let mut families: Vec<FamilyView> = Vec::new();
    for (rule, verdict) in record.rule_verdicts() {
        let cases: Vec<&CaseRecord> = record.cases.iter().filter(|c| c.rule == rule).collect();
        let first = cases[0];
        let (level, note) = record.rule_note(&rule, verdict);
        let family = family_of(&first.location);
        let view = RuleView {
            explain: explain::of(&rule).map(|e| ExplainView {
                explanation: e,
                touches: explain::faults_and_quirks(&rule),
            }),
            id: one_line(&rule),
            badge: verdict.into(),
            level: level.as_str(),
            sentence: visible(&first.requirement),
            note: note.as_deref().map(visible),
            scenarios: cases.iter().map(|c| ScenarioView::from(*c)).collect(),
        };
        match families.iter_mut().find(|f| f.id == family) {
            Some(f) => f.rules.push(view),
            None => families.push(FamilyView {
                title: family_title(&family),
                id: family,
                rules: vec![view],
            }),
        }
    }
    families
}

/// Renders `report.html`.
pub fn render(record: &RunRecord) -> String {
    let r = &record.run;
    let verdicts: Vec<Verdict> = record.rule_verdicts().into_iter().map(|(_, v)| v).collect();
    let mut levels: Vec<_> = record.cases.iter().map(|c| c.level).collect();
    levels.sort();
    levels.dedup();
    let page = ReportPage {
        title: format!("revspec check: {}", one_line(&r.target)),
        target: one_line(&r.target),
        issuer: one_line(&r.issuer),
        endpoint: one_line(&r.revocation_endpoint),
        profile: one_line(&r.profile),
        strict: r.strict,
        started: one_line(&r.started),
        version: one_line(&r.version),
        duration: format!("{:.1} s", r.duration_ms / 1000.0),
        concurrency: r.concurrency,
        fault: r.fault.as_deref().map(one_line),
        quirks: r.quirks.iter().map(|q| one_line(q)).collect(),
        expectations: r.expectations.as_deref().map(one_line),
        counts: counts(verdicts.iter().copied()),
        rule_count: verdicts.len(),
        scenario_count: record.cases.len(),
        levels: levels.into_iter().map(|l| l.as_str()).collect(),
        probes: record
            .calibration
            .probes
            .iter()
            .map(|p| ProbeView {
                probe: visible(&p.probe),
                kind: kind_name(p.kind),
                refused: p.refused.as_deref().map(visible),
                visible_after: p.revocation_visible_ms.map(|ms| format!("{ms:.0} ms")),
                steps: p
                    .steps
                    .iter()
                    .map(|s| CheckView {
                        passed: s.passed,
                        should_only: false,
                        what: visible(&s.what),
                        expected: String::new(),
                        actual: visible(&s.seen),
                    })
                    .collect(),
            })
            .collect(),
        settings: record
            .settings
            .iter()
            .map(|s| SettingView {
                setting: visible(&s.setting),
                action: visible(&s.action),
                confirmed: s.confirmed.is_some(),
                outcome: match (&s.confirmed, &s.error) {
                    (Some(how), _) => format!(
                        "confirmed after {:.2} s: {}",
                        s.confirmed_after_ms.unwrap_or_default() / 1000.0,
                        visible(how)
                    ),
                    (None, Some(e)) => format!("not confirmed: {}", visible(e)),
                    (None, None) => "not confirmed".into(),
                },
            })
            .collect(),
        delay_line: super::console::delay_summary(record),
        node_delays: record
            .node_delays()
            .into_iter()
            .map(|(node, n, median, max)| {
                format!(
                    "{}: {n} observations, median {:.0} ms, max {:.0} ms",
                    visible(&node),
                    median,
                    max
                )
            })
            .collect(),
        unusable: r.unusable.as_deref().map(visible),
        warnings: r.warnings.iter().map(|w| visible(w)).collect(),
        families: families(record),
    };
    page.render().expect("the report template renders")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::fixtures::{case, record};
    use crate::sut::http::Exchange;

    #[test]
    fn a_hostile_body_is_text_never_markup() {
        let mut c = case("rfc7009-2.1-token-required", Verdict::Fail);
        c.exchanges.push(Exchange {
            method: "POST".into(),
            url: "http://x/revoke".into(),
            status: Some(400),
            response_body: "<script>alert(1)</script>\u{1b}[2J<img src=x onerror=alert(2)>".into(),
            ..Default::default()
        });
        c.reason = Some("</details><b>bold</b>".into());
        let html = render(&record(vec![c]));
        assert!(
            !html.contains("<script>alert"),
            "a server <script> survived"
        );
        assert!(!html.contains("<img src=x"), "a server <img> survived");
        assert!(
            !html.contains("<b>bold"),
            "a server tag in a reason survived"
        );
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62;\\x1b[2J"),
            "{html}"
        );
        assert!(!html.contains('\u{1b}'));
    }

    #[test]
    fn rules_carry_their_verdict_and_level_for_the_filters() {
        let html = render(&record(vec![
            case("rfc7009-2.1-hint-fallback", Verdict::Fail),
            case("rfc7009-2.2-idempotent", Verdict::Pass),
        ]));
        assert!(
            html.contains(
                r#"id="rule-rfc7009-2.1-hint-fallback" data-verdict="FAIL" data-level="MUST""#
            ),
            "{html}"
        );
        assert!(html.contains(r#"data-verdict="PASS""#));
        // The explanation is there, with the fault that breaks the rule.
        assert!(html.contains("hint-strict"), "{html}");
    }

    #[test]
    fn families_come_from_the_feature_file() {
        assert_eq!(family_of("features/errors.feature:12"), "errors");
        assert!(family_title("rfc7009_revocation").starts_with("Revoking tokens"));
        assert_eq!(family_title("mine"), "mine");
    }

    #[test]
    fn counts_list_present_verdicts_with_their_share() {
        let c = counts([Verdict::Pass, Verdict::Pass, Verdict::Fail, Verdict::Pass].into_iter());
        let shown: Vec<(&str, usize)> = c.iter().map(|c| (c.badge.text, c.count)).collect();
        assert_eq!(shown, vec![("FAIL", 1), ("PASS", 3)]);
        assert_eq!(c[1].percent, 75.0);
    }
}
