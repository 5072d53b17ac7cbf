//! The progress a person sees on stderr: `[done/total] rule` for a check, once a second from
//! the second second on (nothing for a run shorter than that), and the load tester's line
//! every few seconds. The engines only report (`conformance::progress::Progress`,
//! `load::LoadProgress`); this is the one place that prints it.

use crate::conformance::progress::Progress;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Counts {
    total: AtomicUsize,
    done: AtomicUsize,
    current: Mutex<String>,
}

/// A stderr ticker for `check`.
pub struct Ticker {
    counts: Arc<Counts>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Ticker {
    pub fn start() -> Arc<Ticker> {
        let counts = Arc::new(Counts::default());
        let shown = counts.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            loop {
                let current = shown
                    .current
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                eprint!(
                    "\r[{}/{}] {current:<60}",
                    shown.done.load(Ordering::Relaxed),
                    shown.total.load(Ordering::Relaxed)
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        Arc::new(Ticker {
            counts,
            task: Mutex::new(Some(task)),
        })
    }
}

impl Progress for Ticker {
    fn planned(&self, total: usize) {
        self.counts.total.store(total, Ordering::Relaxed);
    }

    fn finished(&self, rule: &str) {
        self.counts.done.fetch_add(1, Ordering::Relaxed);
        *self
            .counts
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = rule.to_owned();
    }

    fn done(&self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let shown = !task.is_finished() && self.counts.done.load(Ordering::Relaxed) > 0;
            task.abort();
            if shown {
                eprintln!();
            }
        }
    }
}

/// The load tester's line on stderr.
pub struct LoadLine;

impl crate::load::LoadProgress for LoadLine {
    fn tick(&self, tick: &crate::load::LoadTick) {
        eprintln!(
            "[{:>4.0}s / {:.0}s] revocations {}, sampled {}, not held {}, probe errors {}",
            tick.elapsed.as_secs_f64(),
            tick.run_time.as_secs_f64(),
            tick.revocations,
            tick.sampled,
            tick.not_held,
            tick.probe_errors,
        );
    }
}
