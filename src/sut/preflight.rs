//! The checks before any scenario or load, made once and shared by `check`, `load` and
//! `doctor`: the profile resolves and the target answers discovery (`connect`), the primary
//! client can get a token (`mint_primary`), and every probe can be believed (`calibrate`).
//! `prepare` is all three, as `check` runs them; `doctor` shows each step on its own.

use super::error::TargetError;
use super::probe::calibrate;
use super::target::Target;
use crate::catalogue::Role;
use crate::record::Calibration;

/// Why a target cannot be checked.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    /// The profile (a key, a secret's variable): the user's to fix.
    #[error("{0}")]
    Profile(String),
    /// The target: unreachable, broken answers, minting failed, a probe that cannot be believed.
    #[error("{0}")]
    Unusable(String),
    /// Discovery points where the profile does not trust with secrets; nothing was sent there.
    /// The profile's to settle (allow the origin, or name the endpoint), so it counts as usage.
    #[error("{0}")]
    Untrusted(String),
}

impl From<TargetError> for PreflightError {
    fn from(e: TargetError) -> Self {
        match e {
            TargetError::Profile(m) => PreflightError::Profile(m),
            TargetError::Untrusted(m) => PreflightError::Untrusted(m),
            TargetError::Unreachable(m) | TargetError::Minting(m) => PreflightError::Unusable(m),
        }
    }
}

/// A target that passed every check, with how its probes were calibrated.
pub struct Ready {
    pub target: Target,
    pub calibration: Calibration,
}

/// Resolves the profile and reads discovery.
pub async fn connect(profile: &super::profile::TargetProfile) -> Result<Target, PreflightError> {
    Ok(Target::connect(profile.clone()).await?)
}

/// A token for the primary client must be obtainable, or nothing can be checked.
pub async fn mint_primary(target: &Target) -> Result<(), PreflightError> {
    let (_, minted) = target.mint(Role::Primary).await;
    minted
        .map(|_| ())
        .map_err(|e| PreflightError::Unusable(e.to_string()))
}

/// Calibrates every probe; a probe that cannot be believed, or a target that stopped
/// answering meanwhile, is an error naming why.
/// What it learned about how the target revokes is kept on the target (`Target::learned`).
pub async fn calibrate(target: &Target) -> Result<Calibration, (Calibration, PreflightError)> {
    let (calibration, learned) = calibrate::calibrate(target).await;
    target.learn(learned);
    if let Some(why) = target.http.unusable() {
        return Err((
            calibration,
            PreflightError::Unusable(format!(
                "the target stopped answering while its probes were calibrated: {why}"
            )),
        ));
    }
    let refusals = calibration.refusals();
    if !refusals.is_empty() {
        return Err((
            calibration,
            PreflightError::Unusable(format!(
                "a probe cannot be believed on this target, so no scenario was run:\n  {}",
                refusals.join("\n  ")
            )),
        ));
    }
    Ok(calibration)
}

/// Everything `check` needs before its first scenario.
pub async fn prepare(profile: &super::profile::TargetProfile) -> Result<Ready, PreflightError> {
    let target = connect(profile).await?;
    mint_primary(&target).await?;
    let calibration = calibrate(&target).await.map_err(|(_, e)| e)?;
    Ok(Ready {
        target,
        calibration,
    })
}
