//! The breaker: consecutive transport failures per endpoint; after
//! [`super::BREAKER_THRESHOLD`] in a row the client stops sending and says why.

use super::BREAKER_THRESHOLD;
use std::collections::HashMap;
use url::Url;

/// Consecutive transport failures per endpoint, and the breaker's trip.
#[derive(Default)]
pub(super) struct Health {
    consecutive: HashMap<String, u32>,
    pub(super) tripped: Option<String>,
}

impl Health {
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
