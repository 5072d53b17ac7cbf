//! `revspec report`: views rebuilt from `run.json` files: `report matrix` (the cross-run
//! matrix, `matrix.html` + `matrix.md`) and `report html` (a run's `report.html` again).

use super::exit::Exit;
use super::{ReportArgs, ReportCommand};
use crate::record::RunRecord;
use crate::report::matrix::Matrix;
use std::path::{Path, PathBuf};

/// `revspec report ...`.
pub fn run(args: ReportArgs) -> Exit {
    let result = match args.command {
        ReportCommand::Matrix {
            runs,
            out,
            only_differences,
            no_links,
        } => matrix(&runs, &out, only_differences, !no_links),
        ReportCommand::Html { run, out } => html(&run, out.as_deref()),
    };
    match result {
        Ok(message) => {
            super::print_out(&message);
            Exit::Ok
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Usage
        }
    }
}

fn read_all(paths: &[PathBuf]) -> Result<Vec<(PathBuf, RunRecord)>, String> {
    paths
        .iter()
        .map(|p| {
            // A run directory stands for the run.json inside it.
            let file = if p.is_dir() {
                p.join("run.json")
            } else {
                p.clone()
            };
            RunRecord::read(&file).map(|r| (file, r))
        })
        .collect()
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn matrix(
    runs: &[PathBuf],
    out: &Path,
    only_differences: bool,
    links: bool,
) -> Result<String, String> {
    if runs.is_empty() {
        return Err("report matrix: name at least one run.json".into());
    }
    let records = read_all(runs)?;
    std::fs::create_dir_all(out).map_err(|e| format!("--out {}: {e}", out.display()))?;
    let mut matrix = Matrix::build(&records, out);
    if only_differences {
        matrix = matrix.differences_only();
    }
    write(&out.join("matrix.html"), &matrix.render_html())?;
    write(&out.join("matrix.md"), &matrix.render_markdown(links))?;
    let differing = matrix.rows.iter().filter(|r| r.differs()).count();
    Ok(format!(
        "matrix: {} rules × {} runs; the runs differ on {differing} of them\nreports: {}/{{matrix.html, matrix.md}}\n",
        matrix.rows.len(),
        matrix.columns.len(),
        out.display()
    ))
}

fn html(run: &Path, out: Option<&Path>) -> Result<String, String> {
    let file = if run.is_dir() {
        run.join("run.json")
    } else {
        run.to_owned()
    };
    let record = RunRecord::read(&file)?;
    let out = match out {
        Some(o) => o.to_owned(),
        None => file.with_file_name("report.html"),
    };
    write(&out, &crate::report::html::render(&record))?;
    Ok(format!("report: {}\n", out.display()))
}
