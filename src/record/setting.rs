//! What happened to each server setting a run put in place, as run.json keeps it.

use serde::{Deserialize, Serialize};

/// What happened to one setting, for the run record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SettingRecord {
    pub setting: String,
    /// `declared`, `set`, `already` or `restored`.
    pub action: String,
    /// How the server's behaviour showed it, and after how long.
    pub confirmed: Option<String>,
    pub confirmed_after_ms: Option<f64>,
    pub error: Option<String>,
}
