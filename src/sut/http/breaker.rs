//! The breaker: consecutive transport failures per endpoint; after
//! [`super::BREAKER_THRESHOLD`] in a row the client stops sending and says why. The run's
//! deadline trips it too: a target that answers every request just inside the timeout cannot
//! stretch a run past it.

use super::BREAKER_THRESHOLD;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use url::Url;

/// Consecutive transport failures per endpoint, and the breaker's trip.
#[derive(Default)]
pub(super) struct Health {
    consecutive: HashMap<String, u32>,
    tripped: Option<String>,
    /// When the run must end, and how long it was allowed.
    deadline: Option<(Instant, Duration)>,
}

impl Health {
    /// Why no more requests are sent, if none are.
    pub(super) fn unusable(&mut self) -> Option<String> {
        if self.tripped.is_none() {
            if let Some((at, allowed)) = self.deadline {
                if Instant::now() >= at {
                    self.tripped = Some(format!(
                        "the run's deadline passed ({} allowed; timeouts.run, or --max-run-time)",
                        humantime::format_duration(allowed)
                    ));
                }
            }
        }
        self.tripped.clone()
    }

    pub(super) fn set_deadline(&mut self, allowed: Duration) {
        self.deadline = Some((Instant::now() + allowed, allowed));
    }

    pub(super) fn note(&mut self, url: &Url, failure: Option<&str>) {
        let mut endpoint = url.clone();
        endpoint.set_query(None);
        let key = endpoint.to_string();
        match failure {
            None => {
                self.consecutive.remove(&key);
            }
            Some(cause) => {
                let n = self.consecutive.entry(key.clone()).or_insert(0);
                *n += 1;
                if *n >= BREAKER_THRESHOLD && self.tripped.is_none() {
                    self.tripped = Some(format!("{key} unusable ({cause})"));
                }
            }
        }
    }
}
