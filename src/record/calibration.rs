//! How each probe was calibrated on the live target before the first scenario, as run.json
//! keeps it.

use crate::catalogue::TokenType;
use serde::{Deserialize, Serialize};

/// One step of a probe's calibration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CalibrationStep {
    /// What was checked, e.g. "a never-issued value reads inactive".
    pub what: String,
    pub passed: bool,
    /// What was seen.
    pub seen: String,
}

/// The calibration of the probe for one kind of token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeCalibration {
    pub probe: String,
    pub kind: TokenType,
    pub steps: Vec<CalibrationStep>,
    /// Why the probe cannot be believed (the run does not start).
    pub refused: Option<String>,
    /// Measured delay before the plainly revoked token read inactive.
    pub revocation_visible_ms: Option<f64>,
    /// How the server revokes this type of token, as learned: what positive controls send.
    #[serde(default)]
    pub revoked_with: Option<String>,
    /// States in which this probe could not be confirmed (what it says in them is marked).
    #[serde(default)]
    pub unconfirmed: Vec<String>,
    /// Time spent waiting for evidence (a settle before comparing two ways of looking).
    #[serde(default)]
    pub waited_ms: f64,
}

/// The calibration of every probe of a target.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Calibration {
    pub probes: Vec<ProbeCalibration>,
}

impl Calibration {
    /// The calibration's waits, one after another.
    pub fn waited(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(
            self.probes.iter().map(|p| p.waited_ms).sum::<f64>() / 1000.0,
        )
    }

    /// The reasons of every refused probe.
    pub fn refusals(&self) -> Vec<String> {
        self.probes
            .iter()
            .filter_map(|p| {
                p.refused
                    .as_ref()
                    .map(|why| format!("the {} probe for {} tokens: {why}", p.probe, p.kind))
            })
            .collect()
    }
}
