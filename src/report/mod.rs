//! Views of the records (`record`), and nothing else: the console summary (`console`), JUnit
//! XML (`junit`), Markdown (`markdown`), the HTML report (`html`), the cross-run matrix
//! (`matrix`), the load summary's views (`load`) and the text of `revspec explain`
//! (`explain`). A view never decides a verdict, reads the environment or talks to a target.

pub mod console;
pub mod explain;
pub mod html;
pub mod junit;
pub mod load;
pub mod markdown;
pub mod matrix;

use crate::record::RunRecord;

/// Writes `run.json`, `junit.xml`, `summary.md` and `report.html` into `dir`; returns the
/// Markdown summary (for a CI job summary). The HTML report is made from `run.json` read back,
/// so it shows exactly what the record holds.
pub fn write_run(record: &RunRecord, dir: &std::path::Path) -> std::io::Result<String> {
    let json = record.write_json(dir)?;
    std::fs::write(dir.join("junit.xml"), junit::render(record))?;
    let summary = markdown::render(record);
    std::fs::write(dir.join("summary.md"), &summary)?;
    let from_json = RunRecord::from_json(&json).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("report.html"), html::render(&from_json))?;
    Ok(summary)
}
