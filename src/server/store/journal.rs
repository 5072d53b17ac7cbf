//! Write-through to the redb database with group commit.
//!
//! A change is applied to the in-memory index and handed to the journal under the index lock,
//! so the journal's order is the index's order. One thread commits: it takes every change
//! waiting, writes them in one redb transaction, commits it (redb's `Durability::Immediate`:
//! fsync'd when `commit` returns), then publishes the last sequence number now durable.
//! Concurrent requests therefore share one commit, and each waits for the commit holding its
//! change before it answers. A failed commit is fail-stop: memory may hold what the disk does
//! not, so every later change is refused (the server answers 500 until it is restarted).

use super::error::StoreError;
use super::token::TokenHash;
use redb::TableDefinition;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use tokio::sync::watch;

/// The tokens: hash -> row (`codec`).
pub(super) const TOKENS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tokens");
/// The Config API's values: key -> JSON.
pub(super) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// The most changes one commit takes (a bound on one transaction's size).
const MAX_BATCH: usize = 4096;

/// One change to the database.
pub(super) enum Op {
    Put(TokenHash, Vec<u8>),
    Remove(TokenHash),
    Meta(String, Vec<u8>),
}

/// A change with its sequence number.
type Queued = (u64, Vec<Op>);

#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    /// Every change up to this sequence number is durable.
    durable: u64,
    /// A commit failed: nothing after it will be.
    failed: bool,
}

pub(super) struct Journal {
    /// The sender, locked so that sequence numbers enter the queue in order.
    queue: Mutex<Option<mpsc::Sender<Queued>>>,
    submitted: AtomicU64,
    progress: watch::Receiver<Progress>,
    committer: Option<std::thread::JoinHandle<()>>,
    /// The database (tests look at what it holds).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) db: Arc<redb::Database>,
    /// Commits made.
    commits: Arc<AtomicU64>,
    #[cfg_attr(not(test), allow(dead_code))]
    /// Held by a test to stop the committer between taking a change and draining the queue.
    hold: Arc<Mutex<()>>,
}

fn commit(db: &redb::Database, batch: &[Queued]) -> Result<(), StoreError> {
    let write = db.begin_write()?;
    {
        let mut tokens = write.open_table(TOKENS)?;
        let mut meta = write.open_table(META)?;
        for op in batch.iter().flat_map(|(_, ops)| ops) {
            match op {
                Op::Put(hash, row) => {
                    tokens.insert(hash.as_slice(), row.as_slice())?;
                }
                Op::Remove(hash) => {
                    tokens.remove(hash.as_slice())?;
                }
                Op::Meta(key, value) => {
                    meta.insert(key.as_str(), value.as_slice())?;
                }
            }
        }
    }
    write.commit()?;
    Ok(())
}

impl Journal {
    pub fn start(db: Arc<redb::Database>) -> Result<Self, StoreError> {
        let (tx, rx) = mpsc::channel::<Queued>();
        let (progress_tx, progress) = watch::channel(Progress::default());
        let thread_db = db.clone();
        let commits = Arc::new(AtomicU64::new(0));
        let hold = Arc::new(Mutex::new(()));
        let (thread_commits, thread_hold) = (commits.clone(), hold.clone());
        let committer = std::thread::Builder::new()
            .name("revspec-journal".into())
            .spawn(move || {
                let mut failed = false;
                while let Ok(first) = rx.recv() {
                    drop(thread_hold.lock().unwrap_or_else(|p| p.into_inner()));
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(next) => batch.push(next),
                            Err(_) => break,
                        }
                    }
                    let last = batch.last().map_or(0, |(seq, _)| *seq);
                    if !failed {
                        match commit(&thread_db, &batch) {
                            Ok(()) => {
                                thread_commits.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => {
                                tracing::error!("{e}; every later change is refused");
                                failed = true;
                            }
                        }
                    }
                    progress_tx.send_modify(|p| {
                        if failed {
                            p.failed = true;
                        } else {
                            p.durable = last;
                        }
                    });
                }
            })
            .map_err(|e| StoreError::failed(format!("cannot start the journal thread: {e}")))?;
        Ok(Self {
            queue: Mutex::new(Some(tx)),
            submitted: AtomicU64::new(0),
            progress,
            committer: Some(committer),
            db,
            commits,
            hold,
        })
    }

    fn failed() -> StoreError {
        StoreError::failed("an earlier commit failed; restart the server")
    }

    /// Refuses a change once a commit has failed (checked before the index changes).
    pub fn check(&self) -> Result<(), StoreError> {
        if self.progress.borrow().failed {
            return Err(Self::failed());
        }
        Ok(())
    }

    /// Queues `ops`; returns the sequence number to wait for.
    pub fn submit(&self, ops: Vec<Op>) -> Result<u64, StoreError> {
        let queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let seq = self.submitted.load(Ordering::Relaxed) + 1;
        queue
            .as_ref()
            .and_then(|tx| tx.send((seq, ops)).ok())
            .ok_or_else(Self::failed)?;
        self.submitted.store(seq, Ordering::Release);
        Ok(seq)
    }

    /// The last sequence number queued: waiting for it covers every change made so far.
    pub fn last_submitted(&self) -> u64 {
        self.submitted.load(Ordering::Acquire)
    }

    /// How many commits were made.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Stops the committer (after it takes its next change) until the guard is dropped.
    #[cfg(test)]
    pub fn hold(&self) -> std::sync::MutexGuard<'_, ()> {
        self.hold.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until the change `seq` (and every one before it) is durable.
    pub async fn wait(&self, seq: u64) -> Result<(), StoreError> {
        let current = *self.progress.borrow();
        if current.durable >= seq {
            return Ok(());
        }
        if current.failed {
            return Err(Self::failed());
        }
        let mut progress = self.progress.clone();
        let reached = progress
            .wait_for(|p| p.durable >= seq || p.failed)
            .await
            .map(|p| p.durable >= seq);
        match reached {
            Ok(true) => Ok(()),
            _ => Err(Self::failed()),
        }
    }
}

impl Drop for Journal {
    /// Commits what is queued, then stops the thread (so the database is closed after it).
    fn drop(&mut self) {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = self.committer.take() {
            let _ = thread.join();
        }
    }
}
