//! Helpers shared by more than one integration test crate. Each crate includes this folder
//! (`mod support;`, or `#[path = "../support/mod.rs"] mod support;` from a folder crate) and
//! uses what it needs: the helpers that a crate leaves unused are allowed one by one.

use std::future::Future;
use std::time::Duration;

/// The `revspec` binary run with a clean environment.
#[allow(dead_code)]
pub mod cli;
/// Golden files and the normalisation of console text.
#[allow(dead_code)]
pub mod golden;
/// A TCP proxy in front of Redis that can turn into a black hole.
#[allow(dead_code)] // only the cluster tests use it
pub mod proxy;
/// A `redis-server` of the test's own, or the one `REVSPEC_REDIS_URL` names.
#[allow(dead_code)] // the crates without Redis tests use none of it
pub mod redis;
/// Reading a run's verdicts as the harness's own tests judge them.
#[allow(dead_code)]
pub mod verdicts;

/// Whether `condition` holds within `within` (polled every 25 ms; for effects that come some
/// time after an answer: background jobs, another node). Never a timing assertion: only the
/// outcome is checked, and the bound is generous.
#[allow(dead_code)] // not every test crate waits for a background effect
pub async fn eventually<F, Fut>(within: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if condition().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
