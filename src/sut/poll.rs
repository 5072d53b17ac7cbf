//! The one backoff loop of the harness: look, and if the answer is not there yet, pause
//! (doubling from a first pause up to a cap) and look again, never past a deadline.

use std::time::{Duration, Instant};

/// Pauses between looks at something that is expected to change.
#[derive(Debug, Clone)]
pub struct Backoff {
    pause: Duration,
    cap: Duration,
    deadline: Instant,
}

impl Backoff {
    pub fn new(deadline: Instant, first: Duration, cap: Duration) -> Self {
        Self {
            pause: first,
            cap,
            deadline,
        }
    }

    /// The harness's usual pace: 50 ms, doubling up to 400 ms.
    pub fn until(deadline: Instant) -> Self {
        Self::new(
            deadline,
            Duration::from_millis(50),
            Duration::from_millis(400),
        )
    }

    fn left(&self) -> Duration {
        // tokio's clock (the std clock unless a test pauses it).
        tokio::time::Instant::from_std(self.deadline)
            .saturating_duration_since(tokio::time::Instant::now())
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        self.left().is_zero()
    }

    /// Sleeps before the next look (cut at the deadline); `false`, without sleeping, when
    /// the deadline has passed and no look is left.
    pub async fn wait(&mut self) -> bool {
        let left = self.left();
        if left.is_zero() {
            return false;
        }
        tokio::time::sleep(self.pause.min(left)).await;
        self.pause = (self.pause * 2).min(self.cap);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pauses_double_to_the_cap_and_stop_at_the_deadline() {
        let start = tokio::time::Instant::now();
        let mut b = Backoff::new(
            start.into_std() + Duration::from_millis(1000),
            Duration::from_millis(100),
            Duration::from_millis(300),
        );
        let mut looks = vec![];
        while b.wait().await {
            looks.push(start.elapsed().as_millis());
        }
        assert_eq!(looks, vec![100, 300, 600, 900, 1000]);
        assert!(b.expired());
    }
}
