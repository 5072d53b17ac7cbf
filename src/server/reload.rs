//! Stored versus effective settings, modelled on Janssen's periodic configuration reload.
//!
//! The Config API writes the *stored* settings (a GET reads them back at once). The endpoints
//! act on the *effective* settings, which the server reloads from the stored ones on a periodic
//! timer: every `reload_delay`, counted from the start. A zero delay applies a change at once.
//!
//! The timer is evaluated when the settings are read rather than by a task: a change stored at
//! time `t` becomes effective at the first tick after `t`, exactly as a periodic reload would
//! apply it, and there is nothing to stop at shutdown.
//!
//! The nodes of a cluster count their ticks from the Unix epoch instead of their start, and
//! take in another node's change as stored when that node stored it ([`LiveSettings::store_at`]),
//! so every node applies a change at the same tick.

use super::config::Settings;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How far into its reload tick an instant `since_epoch` after the Unix epoch is.
fn into_tick(since_epoch: Duration, delay: Duration) -> Duration {
    let nanos = since_epoch.as_nanos() % delay.as_nanos().max(1);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

/// The settings of a running server.
#[derive(Debug)]
pub struct LiveSettings {
    inner: Mutex<Inner>,
    reload_delay: Duration,
    /// The `setting-never-applied` fault: the effective settings never change.
    frozen: bool,
    start: Instant,
}

#[derive(Debug)]
struct Inner {
    stored: Settings,
    /// Shared, so a request reads the settings in force without copying them.
    effective: Arc<Settings>,
    /// Stored changes the timer has not applied yet, oldest first, with when they were stored.
    pending: Vec<(Instant, Settings)>,
}

impl LiveSettings {
    pub fn new(initial: Settings, reload_delay: Duration, frozen: bool) -> Self {
        Self {
            inner: Mutex::new(Inner {
                stored: initial.clone(),
                effective: Arc::new(initial),
                pending: Vec::new(),
            }),
            reload_delay,
            frozen,
            start: Instant::now(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How often stored settings are applied (zero: at once).
    pub fn reload_delay(&self) -> std::time::Duration {
        self.reload_delay
    }

    /// What the Config API shows: the last stored settings.
    pub fn stored(&self) -> Settings {
        self.lock().stored.clone()
    }

    /// What the endpoints act on: the stored settings as of the last reload tick.
    pub fn effective(&self) -> Settings {
        Settings::clone(&self.effective_at(Instant::now()))
    }

    /// [`Self::effective`] without a copy (what a request reads).
    pub fn effective_shared(&self) -> Arc<Settings> {
        self.effective_at(Instant::now())
    }

    fn tick_of(&self, at: Instant) -> u128 {
        let period = self.reload_delay.as_nanos().max(1);
        at.saturating_duration_since(self.start).as_nanos() / period
    }

    fn effective_at(&self, now: Instant) -> Arc<Settings> {
        let mut inner = self.lock();
        // Pending changes exist only with a reload delay (see `store`).
        if !inner.pending.is_empty() {
            let current_tick = self.tick_of(now);
            // A change stored during tick k is applied by the reload that starts tick k + 1.
            let due = inner
                .pending
                .iter()
                .take_while(|(stored_at, _)| self.tick_of(*stored_at) < current_tick)
                .count();
            let applied = inner.pending.drain(..due).next_back();
            if let Some((_, settings)) = applied {
                inner.effective = Arc::new(settings);
            }
        }
        inner.effective.clone()
    }

    /// Counts the reload ticks from the Unix epoch rather than from the start, so that every
    /// node of a cluster reloads at the same instants.
    pub fn align_ticks_to_wall_clock(&mut self) {
        if self.reload_delay.is_zero() {
            return;
        }
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let now = Instant::now();
        self.start = now
            .checked_sub(into_tick(since_epoch, self.reload_delay))
            .unwrap_or(now);
    }

    /// Stores new settings; they take effect at once with no reload delay, else on the next tick.
    pub fn store(&self, settings: Settings) {
        self.store_at(settings, Instant::now());
    }

    /// Stores settings as if stored at `at` (another node's change, stored there at `at`):
    /// with a reload delay they take effect at the first tick after `at`.
    pub fn store_at(&self, settings: Settings, at: Instant) {
        let mut inner = self.lock();
        inner.stored = settings.clone();
        if self.frozen {
            return;
        }
        if self.reload_delay.is_zero() {
            inner.effective = Arc::new(settings);
        } else {
            inner.pending.push((at, settings));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_flag(flag: &str) -> Settings {
        Settings {
            feature_flags: vec![flag.into()],
            ..Settings::default()
        }
    }

    #[test]
    fn no_delay_applies_at_once() {
        let live = LiveSettings::new(Settings::default(), Duration::ZERO, false);
        live.store(with_flag("userinfo"));
        assert_eq!(live.stored(), with_flag("userinfo"));
        assert_eq!(live.effective(), with_flag("userinfo"));
    }

    #[test]
    fn a_change_takes_effect_at_the_first_tick_after_it_was_stored() {
        let delay = Duration::from_secs(10);
        let live = LiveSettings::new(Settings::default(), delay, false);
        let start = live.start;
        // Stored 3 s into tick 0 (as if at that instant).
        live.lock()
            .pending
            .push((start + Duration::from_secs(3), with_flag("a")));
        live.lock().stored = with_flag("a");
        assert_eq!(live.stored(), with_flag("a"));
        assert_eq!(
            *live.effective_at(start + Duration::from_secs(9)),
            Settings::default()
        );
        assert_eq!(
            *live.effective_at(start + Duration::from_secs(10)),
            with_flag("a")
        );
        // Two changes within one tick: the later one wins at the next tick.
        live.lock()
            .pending
            .push((start + Duration::from_secs(21), with_flag("b")));
        live.lock()
            .pending
            .push((start + Duration::from_secs(22), with_flag("c")));
        assert_eq!(
            *live.effective_at(start + Duration::from_secs(29)),
            with_flag("a")
        );
        assert_eq!(
            *live.effective_at(start + Duration::from_secs(30)),
            with_flag("c")
        );
        assert!(live.lock().pending.is_empty());
    }

    #[test]
    fn another_nodes_change_applies_at_the_tick_after_it_was_stored_there() {
        let delay = Duration::from_secs(10);
        let mut live = LiveSettings::new(Settings::default(), delay, false);
        live.align_ticks_to_wall_clock();
        let start = live.start;
        // Heard 12 s into the run, stored 3 s before that on the other node (tick 0).
        live.store_at(with_flag("a"), start + Duration::from_secs(9));
        assert_eq!(live.stored(), with_flag("a"));
        assert_eq!(
            *live.effective_at(start + Duration::from_secs(9)),
            Settings::default()
        );
        assert_eq!(
            *live.effective_at(start + Duration::from_secs(10)),
            with_flag("a")
        );
        // The ticks start on a multiple of the delay since the epoch.
        assert_eq!(
            into_tick(Duration::from_millis(25_300), delay),
            Duration::from_millis(5_300)
        );
        assert_eq!(into_tick(Duration::from_secs(30), delay), Duration::ZERO);
    }

    #[test]
    fn frozen_settings_store_but_never_apply() {
        let live = LiveSettings::new(Settings::default(), Duration::ZERO, true);
        live.store(with_flag("userinfo"));
        assert_eq!(live.stored(), with_flag("userinfo"));
        assert_eq!(live.effective(), Settings::default());
    }
}
