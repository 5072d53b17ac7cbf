//! The CI environment: GitHub Actions' job summary (`$GITHUB_STEP_SUMMARY`) gets each check's
//! Markdown summary appended. The only place that reads the environment for it.

use std::io::Write as _;
use std::path::Path;

/// Appends a Markdown summary to the job summary file, when the environment names one.
pub fn append_step_summary(markdown: &str) -> std::io::Result<()> {
    match std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        Some(path) => append(Path::new(&path), markdown),
        None => Ok(()),
    }
}

fn append(path: &Path, markdown: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| {
            std::io::Error::other(format!("GITHUB_STEP_SUMMARY {}: {e}", path.display()))
        })?;
    writeln!(file, "{markdown}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn appends_each_summary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.md");
        super::append(&path, "# one").unwrap();
        super::append(&path, "# two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# one\n# two\n");
    }
}
