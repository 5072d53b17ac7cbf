//! How scenarios share the target in time, so that a run waits only where an observation
//! needs it. A scenario holds an action permit while it sends requests and gives it back
//! while it only waits (a settle before a second look): with [`Schedule::OneAtATime`] the
//! requests of a settings group's scenarios never overlap, but their waits do. A scenario that
//! waits to see a client's token stay active is a *watcher* of that client; a request of a
//! client that could revoke all its tokens (`token=all`, `token_type_hint=all`) is sent only
//! when no scenario watches that client, so on a server that does what it says it is never
//! what a watcher sees (and a watcher disturbed by a server that does more fails, and is
//! confirmed alone). The run also remembers when the last revocation was
//! answered, so a quiet pause waits only for what is left of it.

use crate::catalogue::Role;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

/// How the scenarios of one call run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Up to `n` scenarios send requests at once (the scenarios that need no setting, at a
    /// concurrency above 1).
    Together(usize),
    /// One scenario sends requests at a time; while it waits, the next may act (a settings
    /// group's scenarios, at a concurrency above 1).
    OneAtATime { waiting: usize },
    /// One scenario at a time from start to end, waits included (a confirmation alone, or a
    /// run at concurrency 1).
    Alone,
}

impl Schedule {
    /// How many scenarios cucumber may have started at once.
    pub fn started(self) -> usize {
        match self {
            // Scenarios that only wait hold no permit, so more may have started than act.
            Schedule::Together(n) => n.max(1) * 64,
            Schedule::OneAtATime { waiting } => waiting.max(1),
            Schedule::Alone => 1,
        }
    }

    /// How many may send requests at once.
    fn acting(self) -> usize {
        match self {
            Schedule::Together(n) => n.max(1),
            Schedule::OneAtATime { .. } | Schedule::Alone => 1,
        }
    }

    /// Whether a waiting scenario gives its permit back.
    pub fn yields_while_waiting(self) -> bool {
        !matches!(self, Schedule::Alone)
    }
}

/// The run's pace: the permits of the current call, the watchers, the last revocation.
#[derive(Debug)]
pub struct Pace {
    permits: Mutex<(Schedule, Arc<Semaphore>)>,
    /// One entry per watcher and client it watches.
    watchers: watch::Sender<Vec<Role>>,
    last_revocation: Mutex<Option<Instant>>,
}

impl Default for Pace {
    fn default() -> Self {
        let schedule = Schedule::Alone;
        Pace {
            permits: Mutex::new((schedule, Arc::new(Semaphore::new(schedule.acting())))),
            watchers: watch::Sender::new(Vec::new()),
            last_revocation: Mutex::new(None),
        }
    }
}

/// A registered watcher; dropping it ends the watch.
#[derive(Debug)]
pub struct Watching(watch::Sender<Vec<Role>>, Vec<Role>);

impl Drop for Watching {
    fn drop(&mut self) {
        self.0.send_modify(|all| {
            for role in &self.1 {
                if let Some(i) = all.iter().position(|r| r == role) {
                    all.swap_remove(i);
                }
            }
        });
    }
}

impl Pace {
    /// Starts a call with this schedule (calls never overlap).
    pub fn begin(&self, schedule: Schedule) {
        *self.permits.lock().unwrap_or_else(|p| p.into_inner()) =
            (schedule, Arc::new(Semaphore::new(schedule.acting())));
    }

    pub fn schedule(&self) -> Schedule {
        self.permits.lock().unwrap_or_else(|p| p.into_inner()).0
    }

    /// Waits for the right to send requests.
    pub async fn act(&self) -> OwnedSemaphorePermit {
        let semaphore = self
            .permits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clone();
        semaphore
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }

    /// Registers a scenario that waits to see tokens of these clients stay active.
    pub fn watch(&self, mut roles: Vec<Role>) -> Watching {
        roles.sort();
        roles.dedup();
        self.watchers
            .send_modify(|all| all.extend(roles.iter().copied()));
        Watching(self.watchers.clone(), roles)
    }

    /// Returns when no scenario watches `role`'s tokens (before a request of its that could
    /// revoke all of them), or no scenario watches at all when the client is not known.
    pub async fn no_watchers_of(&self, role: Option<Role>) {
        let mut rx = self.watchers.subscribe();
        // The sender lives in self, so the channel cannot close while we wait.
        let _ = rx
            .wait_for(|all| role.map_or(all.is_empty(), |r| !all.contains(&r)))
            .await;
    }

    pub fn revocation_answered(&self) {
        *self
            .last_revocation
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    /// What is left of `quiet` since the last revocation was answered.
    pub fn quiet_left(&self, quiet: Duration) -> Duration {
        self.last_revocation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map_or(Duration::ZERO, |at| quiet.saturating_sub(at.elapsed()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_broad_request_waits_for_the_watchers_of_its_client() {
        let pace = Arc::new(Pace::default());
        let watching = pace.watch(vec![Role::Primary, Role::Other, Role::Primary]);
        let other = pace.watch(vec![Role::Other]);
        tokio::time::timeout(
            Duration::from_secs(5),
            pace.no_watchers_of(Some(Role::Public)),
        )
        .await
        .expect("nobody watches the public client");
        let waiter = tokio::spawn({
            let pace = pace.clone();
            async move { pace.no_watchers_of(Some(Role::Primary)).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "went ahead while a scenario watched");
        drop(other);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "went ahead while a scenario watched");
        drop(watching);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("released when the watch ended")
            .unwrap();
    }

    #[tokio::test]
    async fn one_at_a_time_lets_one_act_and_alone_keeps_its_permit() {
        let pace = Pace::default();
        pace.begin(Schedule::OneAtATime { waiting: 8 });
        assert!(Schedule::OneAtATime { waiting: 8 }.yields_while_waiting());
        assert!(!Schedule::Alone.yields_while_waiting());
        let first = pace.act().await;
        assert!(
            tokio::time::timeout(Duration::from_millis(50), pace.act())
                .await
                .is_err(),
            "a second scenario acted beside the first"
        );
        drop(first);
        let _second = tokio::time::timeout(Duration::from_secs(5), pace.act())
            .await
            .expect("the permit came back");
        pace.begin(Schedule::Together(3));
        let _a = pace.act().await;
        let _b = pace.act().await;
        let _c = pace.act().await;
    }

    #[test]
    fn the_quiet_pause_is_what_is_left_of_it() {
        let pace = Pace::default();
        assert_eq!(pace.quiet_left(Duration::from_secs(1)), Duration::ZERO);
        pace.revocation_answered();
        let left = pace.quiet_left(Duration::from_secs(10));
        assert!(left > Duration::from_secs(9) && left <= Duration::from_secs(10));
    }
}
