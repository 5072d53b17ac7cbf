//! Background work of a server run: the delayed jobs some faults and quirks schedule (a late
//! revocation, a resurrection...) and the test-only pause point of the refresh grant.
//!
//! Every job is tracked, so that shutdown can finish the pending ones (bounded) and no task
//! outlives the server.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The delayed jobs of one server.
#[derive(Default)]
pub struct Jobs {
    set: Mutex<JoinSet<()>>,
    spawned: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Jobs({})", self.lock().len())
    }
}

impl Jobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, JoinSet<()>> {
        self.set.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `job` in the background, tracked.
    pub fn spawn(&self, job: impl Future<Output = ()> + Send + 'static) {
        let mut set = self.lock();
        // Reap the finished ones so the set holds only what is pending.
        while set.try_join_next().is_some() {}
        set.spawn(job);
        self.spawned
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many jobs were ever started.
    pub fn spawned(&self) -> u64 {
        self.spawned.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many jobs have not finished.
    #[cfg(test)]
    fn pending(&self) -> usize {
        let mut set = self.lock();
        while set.try_join_next().is_some() {}
        set.len()
    }

    /// Waits for the pending jobs to finish, at most `grace`; aborts what is left after it.
    pub async fn finish(&self, grace: Duration) {
        let mut set = std::mem::take(&mut *self.lock());
        let drained =
            tokio::time::timeout(grace, async { while set.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tracing::warn!("{} background jobs aborted at shutdown", set.len());
            set.abort_all();
            while set.join_next().await.is_some() {}
        }
    }
}

/// TEST-ONLY: a point the refresh grant stops at between looking up the refresh token and
/// issuing the new tokens, so that a test can revoke the grant in exactly that window (see
/// `ServeOptions::refresh_pause`). Never set by `revspec serve`.
#[derive(Clone)]
pub struct PausePoint(Arc<PauseInner>);

struct PauseInner {
    reached: Semaphore,
    release: Semaphore,
    paused: std::sync::atomic::AtomicU64,
}

impl Default for PausePoint {
    fn default() -> Self {
        Self(Arc::new(PauseInner {
            reached: Semaphore::new(0),
            release: Semaphore::new(0),
            paused: std::sync::atomic::AtomicU64::new(0),
        }))
    }
}

impl std::fmt::Debug for PausePoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PausePoint")
    }
}

impl PausePoint {
    /// Called by the server: signals that the point is reached and waits for [`Self::release`].
    pub async fn pause(&self) {
        self.0
            .paused
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0.reached.add_permits(1);
        if let Ok(permit) = self.0.release.acquire().await {
            permit.forget();
        }
    }

    /// Waits until a request has reached the point.
    pub async fn reached(&self) {
        if let Ok(permit) = self.0.reached.acquire().await {
            permit.forget();
        }
    }

    /// How many requests have stopped here so far.
    pub fn times_paused(&self) -> u64 {
        self.0.paused.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Lets one waiting (or the next) request go on.
    pub fn release(&self) {
        self.0.release.add_permits(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn finish_waits_for_pending_jobs_and_aborts_after_the_grace() {
        let jobs = Jobs::default();
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..3 {
            let done = done.clone();
            jobs.spawn(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        assert_eq!(jobs.pending(), 3);
        jobs.finish(Duration::from_secs(10)).await;
        assert_eq!(done.load(Ordering::SeqCst), 3);
        assert_eq!(jobs.pending(), 0);
        jobs.spawn(std::future::pending());
        jobs.finish(Duration::from_millis(10)).await;
        assert_eq!(jobs.pending(), 0);
    }

    #[tokio::test]
    async fn pause_point_holds_until_released() {
        let pause = PausePoint::default();
        let done = Arc::new(AtomicUsize::new(0));
        let task = {
            let (pause, done) = (pause.clone(), done.clone());
            tokio::spawn(async move {
                pause.pause().await;
                done.fetch_add(1, Ordering::SeqCst);
            })
        };
        pause.reached().await;
        assert_eq!(done.load(Ordering::SeqCst), 0);
        pause.release();
        task.await.unwrap();
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }
}
