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
    /// Time the confirmations had to take: per batch (run at once) the longest, and the quiet
    /// after a confirmation that revoked.
    pub waited: std::time::Duration,
}

impl SettingsSession {
    pub fn new(target: &Target) -> Self {
        Self {
            adapter: Adapter::for_target(target),
            originals: Vec::new(),
            records: Vec::new(),
            log: Vec::new(),
            problems: Vec::new(),
            waited: std::time::Duration::ZERO,
        }
    }

    /// The order to put groups in place: feature switches first (their restore is a quick
    /// positive confirmation), groups that already hold on the server last (entering them is
    /// the restore, so nothing is left to restore at the end), the others in between.
    pub async fn order<T>(
        &mut self,
        target: &Target,
        mut groups: Vec<(Vec<Setting>, T)>,
    ) -> Vec<(Vec<Setting>, T)> {
        let current = match self.adapter.read(target, &mut self.log).await {
            Ok(c) => c,
            // The first group's entry reads again and names the problem.
            Err(_) => return groups,
        };
        groups.sort_by_key(|(settings, _)| {
            let holds = !settings.is_empty()
                && settings.iter().all(|s| {
                    *s != Setting::FeatureFlagsEmpty && s.holds(current.get(s.property()))
                });
            let switches = settings.iter().any(|s| s.switches_a_feature());
            (holds, !switches)
        });
        groups
    }

    /// Puts every setting of a group in place and confirms that the server acts on each (the
    /// confirmations at once); says for each setting whether it is in place, or why not (a
    /// scenario relying on one that is not stops; the others run). A property an earlier
    /// group changed and this one does not name goes back to its original value first, so
    /// every group starts from the server's own settings.
    pub async fn enter(
        &mut self,
        target: &Target,
        group: &[Setting],
    ) -> Vec<(Setting, Result<(), SettingError>)> {
        match self.enter_each(target, group).await {
            Ok(each) => each,
            Err(e) => group.iter().map(|s| (*s, Err(e.clone()))).collect(),
        }
    }

    /// [`Self::enter`] for a group of one setting.
    pub async fn enter_one(
        &mut self,
        target: &Target,
        setting: Setting,
    ) -> Result<(), SettingError> {
        self.enter(target, &[setting])
            .await
            .pop()
            .map_or(Ok(()), |(_, result)| result)
    }

    /// [`Self::enter`], with `Err` for what stops the whole group (the adapter cannot read or
    /// write).
    async fn enter_each(
        &mut self,
        target: &Target,
        group: &[Setting],
    ) -> Result<Vec<(Setting, Result<(), SettingError>)>, SettingError> {
        let others: Vec<(String, Option<Value>)> = self
            .originals
            .iter()
            .filter(|(p, _)| !group.iter().any(|s| s.property() == p))
            .cloned()
            .collect();
        let mut restores = Vec::new();
        for (property, value) in others {
            self.write_read_back(target, &property, value.as_ref())
                .await?;
            self.originals.retain(|(p, _)| *p != property);
            restores.push((property, value, "restored"));
        }
        let current = self.adapter.read(target, &mut self.log).await?;
        let mut entered: Vec<(Setting, Result<(), SettingError>)> = Vec::new();
        let mut wanted = Vec::new();
        for setting in group {
            let property = setting.property();
            let value = current.get(property);
            if matches!(self.adapter, Adapter::Static) {
                if !setting.holds(value) || !current.contains_key(property) {
                    entered.push((*setting, Err(SettingError::Unchangeable(format!(
                        "needs {}; the static settings adapter cannot change it and the profile does not declare it",
                        setting.describe()
                    )))));
                    continue;
                }
                wanted.push((*setting, (property.to_owned(), value.cloned(), "declared")));
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
                let detour = vec![(property.to_owned(), Some(detour), "set (on the way to [])")];
                if let Err(e) = self.confirm_all(target, detour).await.0.remove(0) {
                    entered.push((*setting, Err(e)));
                    continue;
                }
            } else if setting.holds(value) {
                wanted.push((*setting, (property.to_owned(), value.cloned(), "already")));
                continue;
            }
            let before_run = self.originals.iter().position(|(p, _)| p == property);
            let wanted_value = setting.wanted(value);
            let action = match before_run {
                // Back to what it was before the run: nothing left to restore at the end.
                Some(i) if self.originals[i].1.as_ref() == Some(&wanted_value) => {
                    self.originals.remove(i);
                    "restored"
                }
                Some(_) => "set",
                None => {
                    self.originals.push((property.into(), value.cloned()));
                    "set"
                }
            };
            self.write_read_back(target, property, Some(&wanted_value))
                .await?;
            wanted.push((*setting, (property.to_owned(), Some(wanted_value), action)));
        }
        let restored: Vec<String> = restores.iter().map(|(p, _, _)| p.clone()).collect();
        let settings: Vec<Setting> = wanted.iter().map(|(s, _)| *s).collect();
        let items = restores
            .into_iter()
            .chain(wanted.into_iter().map(|(_, item)| item))
            .collect();
        let (mut results, revoked_at) = self.confirm_all(target, items).await;
        for (result, property) in results.drain(..restored.len()).zip(restored) {
            // The group does not rely on this property, so a restore the server does not act
            // on is recorded (and warned about at the end), not a reason to stop the group.
            if let Err(e) = result {
                self.problems.push(format!(
                    "restored {property} before the next group, but {e}"
                ));
            }
        }
        entered.extend(settings.into_iter().zip(results));
        // A confirmation that revoked a token: let its delayed side effects (a background
        // job, a replica) land before the group's scenarios mint theirs.
        if let Some(at) = revoked_at {
            let t = &target.profile.timeouts;
            let quiet = t.stay_active_settle.max(t.propagation_window);
            let left = quiet.saturating_sub(at.elapsed());
            tokio::time::sleep(left).await;
            self.waited += left;
        }
        Ok(entered)
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

    /// Confirms each `(property, value, action)` by behaviour, all at once, and records each;
    /// says when the last confirmation that revoked a token ended.
    async fn confirm_all(
        &mut self,
        target: &Target,
        items: Vec<(String, Option<Value>, &str)>,
    ) -> (Vec<Result<(), SettingError>>, Option<Instant>) {
        let settle = target.profile.settings.settle();
        let looks = items.iter().map(|(property, value, action)| async move {
            let behaviour =
                Behaviour::of_property(property, value.as_ref()).expect("known property");
            let changed = !matches!(*action, "already" | "declared");
            let started = Instant::now();
            let mut log = Vec::new();
            let result = confirm(target, behaviour, settle, changed, &mut log).await;
            (behaviour, started.elapsed(), Instant::now(), log, result)
        });
        let done = futures::future::join_all(looks).await;
        self.waited += done
            .iter()
            .map(|(_, took, _, _, _)| *took)
            .max()
            .unwrap_or_default();
        let mut results = Vec::new();
        let mut revoked_at = None;
        for ((_, _, action), (behaviour, took, ended, log, result)) in items.iter().zip(done) {
            self.log.extend(log);
            let (confirmed, error) = match &result {
                Ok(how) => (Some(how.clone()), None),
                Err(seen) => (None, Some(seen.clone())),
            };
            if result.is_ok() && behaviour.revokes_when_confirmed() {
                revoked_at = revoked_at.max(Some(ended));
            }
            self.records.push(SettingRecord {
                setting: behaviour.describe(),
                action: (*action).into(),
                confirmed,
                confirmed_after_ms: result.is_ok().then_some(took.as_secs_f64() * 1000.0),
                error,
            });
            results.push(result.map(|_| ()).map_err(|seen| {
                SettingError::Failed(format!("{} is not in effect: {seen}", behaviour.describe()))
            }));
        }
        (results, revoked_at)
    }

    /// Restores every changed property to its value before the run (absent stays absent)
    /// and confirms the server acts on it again. Returns the problems, if any.
    pub async fn restore(&mut self, target: &Target) -> Vec<String> {
        let mut problems = std::mem::take(&mut self.problems);
        let mut restores = Vec::new();
        for (property, value) in std::mem::take(&mut self.originals).into_iter().rev() {
            match self
                .write_read_back(target, &property, value.as_ref())
                .await
            {
                Ok(()) => restores.push((property, value, "restored")),
                Err(e) => problems.push(format!("could not restore {property}: {e}")),
            }
        }
        let names: Vec<String> = restores.iter().map(|(p, _, _)| p.clone()).collect();
        let (results, _) = self.confirm_all(target, restores).await;
        for (result, property) in results.into_iter().zip(names) {
            if let Err(e) = result {
                problems.push(format!("restored {property}, but {e}"));
            }
        }
        problems
    }
}
