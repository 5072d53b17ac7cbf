//! Server settings: the adapters that read and change a target's revocation settings
//! (`adapter`), [`SettingsSession`], which puts a group of settings in place, confirms that the server acts
//! on them, and in the end restores exactly what was there.
//!
//! `static` only knows what the profile declares (a scenario needing another value is skipped);
//! `janssen-config-api` patches the live server through the Janssen Config API (RFC 6902 JSON
//! Patch with a bearer token of the admin client). A write is read back, then confirmed by
//! behaviour within the profile's `settings.settle` bound, because a real Janssen applies its
//! configuration on a periodic reload: the revocation endpoint's answers (and discovery, for
//! the feature flag) must show the new value before a scenario relies on it. A setting that is
//! not confirmed is never a verdict on the server: its scenarios are errors naming what was seen.

pub mod adapter;
mod confirm;

use crate::catalogue::Setting;
pub use crate::record::SettingRecord;
use crate::sut::http::Exchange;
use crate::sut::target::Target;
use adapter::{reads_back_as, Adapter};
pub use adapter::{SettingError, CONFIG_PATH};
use confirm::{confirm, Behaviour};
use serde_json::Value;
use std::time::Instant;

/// Puts groups of settings in place, one group at a time, and restores the originals.
pub struct SettingsSession {
    adapter: Adapter,
    /// Every property changed, with its value before the first change (`None`: absent).
    originals: Vec<(String, Option<Value>)>,
    pub records: Vec<SettingRecord>,
    pub log: Vec<Exchange>,
    /// Restores that did not take effect (warnings of the run).
    problems: Vec<String>,
}

impl SettingsSession {
    pub fn new(target: &Target) -> Self {
        Self {
            adapter: Adapter::for_target(target),
            originals: Vec::new(),
            records: Vec::new(),
            log: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Puts every setting of a group in place and confirms that the server acts on each. A
    /// property an earlier group changed and this one does not name goes back to its
    /// original value first, so every group starts from the server's own settings.
    pub async fn enter(&mut self, target: &Target, group: &[Setting]) -> Result<(), SettingError> {
        let others: Vec<(String, Option<Value>)> = self
            .originals
            .iter()
            .filter(|(p, _)| !group.iter().any(|s| s.property() == p))
            .cloned()
            .collect();
        for (property, value) in others {
            self.write_read_back(target, &property, value.as_ref())
                .await?;
            // The group does not rely on this property, so a restore the server does not act
            // on is recorded (and warned about at the end), not a reason to stop the group.
            if let Err(e) = self
                .confirm_and_record(target, &property, value, "restored")
                .await
            {
                self.problems.push(format!(
                    "restored {property} before the next group, but {e}"
                ));
            }
            self.originals.retain(|(p, _)| *p != property);
        }
        let current = self.adapter.read(target, &mut self.log).await?;
        for setting in group {
            let property = setting.property();
            let value = current.get(property);
            if matches!(self.adapter, Adapter::Static) {
                if !setting.holds(value) || !current.contains_key(property) {
                    return Err(SettingError::Unchangeable(format!(
                        "needs {}; the static settings adapter cannot change it and the profile does not declare it",
                        setting.describe()
                    )));
                }
                self.confirm_and_record(target, property, value.cloned(), "declared")
                    .await?;
                continue;
            }
            if *setting == Setting::FeatureFlagsEmpty {
                // An empty list and a list holding revoke_token both enable the endpoint, so
                // confirming "enabled" proves nothing unless the endpoint was disabled just
                // before: go through a confirmed disabled list first.
                if !self.originals.iter().any(|(p, _)| p == property) {
                    self.originals.push((property.into(), value.cloned()));
                }
                let detour = Setting::RevokeTokenFlagDisabled.wanted(value);
                self.write_read_back(target, property, Some(&detour))
                    .await?;
                self.confirm_and_record(target, property, Some(detour), "set (on the way to [])")
                    .await?;
            } else if setting.holds(value) {
                self.confirm_and_record(target, property, value.cloned(), "already")
                    .await?;
                continue;
            }
            if !self.originals.iter().any(|(p, _)| p == property) {
                self.originals.push((property.into(), value.cloned()));
            }
            let wanted = setting.wanted(value);
            self.write_read_back(target, property, Some(&wanted))
                .await?;
            self.confirm_and_record(target, property, Some(wanted), "set")
                .await?;
        }
        // A confirmation revokes tokens; let its delayed side effects (a background job, a
        // replica) land before the group's scenarios mint theirs.
        tokio::time::sleep(target.profile.timeouts.stay_active_settle).await;
        Ok(())
    }

    async fn write_read_back(
        &mut self,
        target: &Target,
        property: &str,
        value: Option<&Value>,
    ) -> Result<(), SettingError> {
        self.adapter
            .write(target, property, value, &mut self.log)
            .await?;
        let read = self.adapter.read(target, &mut self.log).await?;
        let seen = read.get(property);
        if reads_back_as(value, seen) {
            Ok(())
        } else {
            Err(SettingError::Failed(format!(
                "wrote {property} = {}, but the configuration reads back {}",
                value.map_or("(absent)".into(), Value::to_string),
                seen.map_or("(absent)".into(), Value::to_string)
            )))
        }
    }

    async fn confirm_and_record(
        &mut self,
        target: &Target,
        property: &str,
        value: Option<Value>,
        action: &str,
    ) -> Result<(), SettingError> {
        let behaviour = Behaviour::of_property(property, value.as_ref()).expect("known property");
        let started = Instant::now();
        let changed = !matches!(action, "already" | "declared");
        let result = confirm(
            target,
            behaviour,
            target.profile.settings.settle(),
            changed,
            &mut self.log,
        )
        .await;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        let (confirmed, error) = match &result {
            Ok(how) => (Some(how.clone()), None),
            Err(seen) => (None, Some(seen.clone())),
        };
        self.records.push(SettingRecord {
            setting: behaviour.describe(),
            action: action.into(),
            confirmed,
            confirmed_after_ms: result.is_ok().then_some(elapsed),
            error,
        });
        result.map(|_| ()).map_err(|seen| {
            SettingError::Failed(format!("{} is not in effect: {seen}", behaviour.describe()))
        })
    }

    /// Restores every changed property to its value before the run (absent stays absent)
    /// and confirms the server acts on it again. Returns the problems, if any.
    pub async fn restore(&mut self, target: &Target) -> Vec<String> {
        let mut problems = std::mem::take(&mut self.problems);
        for (property, value) in std::mem::take(&mut self.originals).into_iter().rev() {
            if let Err(e) = self
                .write_read_back(target, &property, value.as_ref())
                .await
            {
                problems.push(format!("could not restore {property}: {e}"));
                continue;
            }
            if let Err(e) = self
                .confirm_and_record(target, &property, value, "restored")
                .await
            {
                problems.push(format!("restored {property}, but {e}"));
            }
        }
        problems
    }
}
