//! The cross-run matrix (`matrix.html`, `matrix.md`), as Autobahn|Testsuite lays out its
//! master report: rules as rows, one column per run (so two builds of one server compare like
//! two servers), each cell the rule's verdict in that run, linking to the rule in that run's
//! `report.html`. Made from `run.json` files alone; rows where the runs differ can be shown
//! alone. Every text from a record is made visible ([`crate::text`]) before it is escaped.

use super::html::{self, Badge, Count};
use crate::record::{RunRecord, Verdict};
use crate::text::one_line;
use askama::Template;
use std::path::{Component, Path, PathBuf};

/// One run: a column.
#[derive(Debug, Clone)]
pub struct Column {
    pub target: String,
    pub started: String,
    pub version: String,
    pub profile: String,
    pub fault: Option<String>,
    /// The run's `report.html`, relative to the matrix's directory.
    pub report: String,
    pub rule_verdicts: Vec<(String, Verdict)>,
    /// The column's heading: the target (and fault); when two runs would share a heading, the
    /// revspec version and start time too.
    pub label: String,
}

impl Column {
    fn base_label(&self) -> String {
        match &self.fault {
            Some(f) => format!("{} (fault {f})", self.target),
            None => self.target.clone(),
        }
    }
}

/// One rule: a row.
#[derive(Debug, Clone)]
pub struct Row {
    pub rule: String,
    pub level: String,
    /// The verdict in each run (None: the rule did not run there).
    pub cells: Vec<Option<Verdict>>,
}

impl Row {
    /// Whether the runs disagree on this rule (a rule run in one and not another differs).
    pub fn differs(&self) -> bool {
        self.cells.windows(2).any(|w| w[0] != w[1])
    }
}

/// The matrix of several runs.
#[derive(Debug, Clone)]
pub struct Matrix {
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
}

/// `to` relative to the directory `from`, with `/` separators (both made absolute first).
pub fn relative(from: &Path, to: &Path) -> String {
    let abs = |p: &Path| -> PathBuf {
        let p = std::fs::canonicalize(p).unwrap_or_else(|_| {
            std::env::current_dir()
                .map(|d| d.join(p))
                .unwrap_or(p.to_owned())
        });
        p.components().fold(PathBuf::new(), |mut acc, c| {
            match c {
                Component::ParentDir => {
                    acc.pop();
                }
                Component::CurDir => {}
                other => acc.push(other),
            }
            acc
        })
    };
    let (from, to) = (abs(from), abs(to));
    let a: Vec<_> = from.components().collect();
    let b: Vec<_> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".into(); a.len() - common];
    parts.extend(
        b[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// Percent-encodes what a path may hold that would break a URL (spaces, `#`, `?`, `%`).
fn href(path: &str) -> String {
    percent_encoding::utf8_percent_encode(path, URL_PATH).to_string()
}

const URL_PATH: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'?')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'|');

impl Matrix {
    /// Builds the matrix of `runs` (each `run.json`'s path and record) for a matrix written
    /// into `out_dir`. Rows follow the catalogue's order, then any rule it does not know.
    pub fn build(runs: &[(PathBuf, RunRecord)], out_dir: &Path) -> Matrix {
        let columns: Vec<Column> = runs
            .iter()
            .map(|(path, record)| {
                let dir = path.parent().unwrap_or(Path::new("."));
                let r = &record.run;
                Column {
                    target: one_line(&r.target),
                    started: one_line(&r.started),
                    version: one_line(&r.version),
                    profile: one_line(&r.profile),
                    fault: r.fault.as_deref().map(one_line),
                    report: relative(out_dir, &dir.join("report.html")),
                    rule_verdicts: record.rule_verdicts(),
                    label: String::new(),
                }
            })
            .collect();
        let mut columns = columns;
        let bases: Vec<String> = columns.iter().map(Column::base_label).collect();
        for (i, c) in columns.iter_mut().enumerate() {
            c.label = if bases.iter().filter(|b| **b == bases[i]).count() > 1 {
                format!("{} @ {} {}", bases[i], c.version, c.started)
            } else {
                bases[i].clone()
            };
        }
        let mut order: Vec<(String, String)> = crate::catalogue::rules()
            .iter()
            .map(|r| (r.id.to_string(), r.level.as_str().to_owned()))
            .collect();
        for (_, record) in runs {
            for (rule, verdict) in record.rule_verdicts() {
                if !order.iter().any(|(id, _)| *id == rule) {
                    let (level, _) = record.rule_note(&rule, verdict);
                    order.push((rule, level.as_str().to_owned()));
                }
            }
        }
        let rows = order
            .into_iter()
            .map(|(rule, level)| Row {
                cells: columns
                    .iter()
                    .map(|c| {
                        c.rule_verdicts
                            .iter()
                            .find(|(r, _)| *r == rule)
                            .map(|(_, v)| *v)
                    })
                    .collect(),
                rule: one_line(&rule),
                level,
            })
            .filter(|row| row.cells.iter().any(Option::is_some))
            .collect();
        Matrix { columns, rows }
    }

    /// Only the rows where the runs differ.
    pub fn differences_only(mut self) -> Matrix {
        self.rows.retain(Row::differs);
        self
    }

    /// The Markdown table (`matrix.md`); with `links`, each cell links to the run's report.
    pub fn render_markdown(&self, links: bool) -> String {
        let cell = |t: &str| t.replace('|', "\\|");
        let mut out = String::from("| rule | level |");
        for c in &self.columns {
            out.push_str(&format!(" {} |", cell(&c.label)));
        }
        out.push_str("\n|---|---|");
        out.push_str(&"---|".repeat(self.columns.len()));
        out.push('\n');
        for row in &self.rows {
            out.push_str(&format!("| `{}` | {} |", row.rule, row.level));
            for (c, v) in self.columns.iter().zip(&row.cells) {
                let text = match (v, links) {
                    (None, _) => "–".to_owned(),
                    (Some(v), false) => v.as_str().to_owned(),
                    (Some(v), true) => {
                        format!("[{}]({}#rule-{})", v.as_str(), href(&c.report), row.rule)
                    }
                };
                out.push_str(&format!(" {text} |"));
            }
            out.push('\n');
        }
        out.push_str("\nRuns: ");
        let runs: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                format!(
                    "{} = revspec {}, profile {}, started {}",
                    cell(&c.label),
                    c.version,
                    c.profile,
                    c.started
                )
            })
            .collect();
        out.push_str(&runs.join("; "));
        out.push_str(". \"–\": the rule was not run.\n");
        out
    }

    /// The HTML page (`matrix.html`).
    pub fn render_html(&self) -> String {
        let page = MatrixPage {
            columns: self
                .columns
                .iter()
                .map(|c| ColumnView {
                    label: c.label.clone(),
                    started: c.started.clone(),
                    version: c.version.clone(),
                    profile: c.profile.clone(),
                    report: href(&c.report),
                    counts: html::counts(c.rule_verdicts.iter().map(|(_, v)| *v)),
                })
                .collect(),
            rows: self
                .rows
                .iter()
                .map(|r| RowView {
                    rule: r.rule.clone(),
                    level: r.level.clone(),
                    differs: r.differs(),
                    verdicts: r
                        .cells
                        .iter()
                        .flatten()
                        .map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    cells: r.cells.iter().map(|v| v.map(Badge::from)).collect(),
                })
                .collect(),
            verdicts: html::VERDICTS
                .iter()
                .filter(|v| self.rows.iter().any(|r| r.cells.contains(&Some(**v))))
                .map(|v| v.as_str())
                .collect(),
            differing: self.rows.iter().filter(|r| r.differs()).count(),
        };
        page.render().expect("the matrix template renders")
    }
}

struct ColumnView {
    label: String,
    started: String,
    version: String,
    profile: String,
    report: String,
    counts: Vec<Count>,
}

struct RowView {
    rule: String,
    level: String,
    differs: bool,
    /// The verdicts of the row, space-separated (for the verdict filter).
    verdicts: String,
    cells: Vec<Option<Badge>>,
}

#[derive(Template)]
#[template(path = "matrix.html")]
struct MatrixPage {
    columns: Vec<ColumnView>,
    rows: Vec<RowView>,
    verdicts: Vec<&'static str>,
    differing: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::fixtures::{case, record};

    fn runs() -> Vec<(PathBuf, RunRecord)> {
        let mut a = record(vec![
            case("rfc7009-2.1-hint-fallback", Verdict::Pass),
            case("rfc7009-2.2-idempotent", Verdict::Pass),
        ]);
        a.run.target = "one".into();
        let mut b = record(vec![
            case("rfc7009-2.1-hint-fallback", Verdict::Fail),
            case("rfc7009-2.2-idempotent", Verdict::Pass),
            case("jans-all-enabled", Verdict::Pass),
        ]);
        b.run.target = "two".into();
        vec![
            (PathBuf::from("/r/one/t1/run.json"), a),
            (PathBuf::from("/r/two/t2/run.json"), b),
        ]
    }

    #[test]
    fn rows_are_rules_columns_are_runs_and_cells_link_to_reports() {
        let m = Matrix::build(&runs(), Path::new("/r/matrix"));
        assert_eq!(m.columns.len(), 2);
        assert_eq!(m.columns[0].report, "../one/t1/report.html");
        let fallback = m
            .rows
            .iter()
            .find(|r| r.rule == "rfc7009-2.1-hint-fallback")
            .unwrap();
        assert_eq!(
            fallback.cells,
            vec![Some(Verdict::Pass), Some(Verdict::Fail)]
        );
        assert!(fallback.differs());
        let all = m
            .rows
            .iter()
            .find(|r| r.rule == "jans-all-enabled")
            .unwrap();
        assert_eq!(all.cells, vec![None, Some(Verdict::Pass)]);
        let md = m.render_markdown(true);
        assert!(
            md.contains("| `rfc7009-2.1-hint-fallback` | MUST | [PASS](../one/t1/report.html#rule-rfc7009-2.1-hint-fallback) | [FAIL](../two/t2/report.html#rule-rfc7009-2.1-hint-fallback) |"),
            "{md}"
        );
        assert!(md.contains("| `jans-all-enabled` | MUST | – |"), "{md}");
    }

    #[test]
    fn differences_only_keeps_the_rows_that_differ() {
        let m = Matrix::build(&runs(), Path::new("/r/matrix")).differences_only();
        let rules: Vec<&str> = m.rows.iter().map(|r| r.rule.as_str()).collect();
        assert_eq!(rules, vec!["rfc7009-2.1-hint-fallback", "jans-all-enabled"]);
        let html = m.render_html();
        assert!(html.contains(r#"data-differs="yes""#), "{html}");
        assert!(!html.contains(r#"data-differs="no""#), "{html}");
    }

    #[test]
    fn two_runs_of_one_target_get_telling_headings() {
        let mut r = runs();
        r[1].1.run.target = "one".into();
        r[1].1.run.started = "later".into();
        let m = Matrix::build(&r, Path::new("/r/matrix"));
        assert_eq!(m.columns[0].label, "one @ 0 now");
        assert_eq!(m.columns[1].label, "one @ 0 later");
    }

    #[test]
    fn relative_paths_climb_and_descend() {
        assert_eq!(
            relative(Path::new("/a/b"), Path::new("/a/c/d.html")),
            "../c/d.html"
        );
        assert_eq!(relative(Path::new("/a"), Path::new("/a/x.html")), "x.html");
        assert_eq!(href("my dir/#1/report.html"), "my%20dir/%231/report.html");
    }
}
