//! The durable side of a data directory: an append-only journal with group commit, checkpointed
//! into the redb database in the background.
//!
//! A change is applied to the in-memory index and handed to the journal under the index lock,
//! so the journal's order is the index's order. One thread commits: it takes every change
//! waiting, appends them to the current journal file as one `write` of checksummed records,
//! calls `fdatasync` once, then publishes the last sequence number now durable. Concurrent
//! requests therefore share one `fdatasync`, and each waits for the one holding its change
//! before it answers. A change costs its own bytes in the journal (a revocation is recorded as
//! what it names, so revoking all of a client's tokens is one small record), not a rewrite of
//! the B-tree pages its random keys fall in.
//!
//! Once a journal file holds [`Limits::bytes`] or [`Limits::ops`] changes, the committer starts
//! the next file and hands the closed one's changes to the checkpointer thread, which applies
//! them to redb in one transaction that also records the file's generation as applied
//! (`journal_applied` in the meta table), then deletes the file. At start the database is
//! loaded, then every journal file of a later generation is replayed in order (a record cut
//! short or damaged by a crash ends its file: it was never acknowledged), and the replayed
//! changes are checkpointed in the background like any other.
//!
//! A failed write, `fdatasync` or checkpoint is fail-stop: memory may hold what the disk does
//! not, so every later change is refused (the server answers 500 until it is restarted).

use super::error::StoreError;
use super::token::{TokenHash, TokenKind, Victim};
use redb::TableDefinition;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use tokio::sync::watch;

/// The tokens: hash -> row (`codec`).
pub(super) const TOKENS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tokens");
/// The Config API's values: key -> JSON; and [`APPLIED_KEY`].
pub(super) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// The meta key holding the last journal generation checkpointed into the database (u64 LE).
pub(super) const APPLIED_KEY: &str = "journal_applied";

/// The most changes one group commit takes (a bound on one write's size).
const MAX_BATCH: usize = 4096;

/// When a journal file is closed and checkpointed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Bytes written to the file.
    pub bytes: u64,
    /// Changes (token puts and removes) waiting for the checkpoint.
    pub ops: usize,
}

impl Default for Limits {
    /// About 16 MiB or 200k changes: a checkpoint rewrites each touched B-tree page once per
    /// many changes, and a restart replays at most that much.
    fn default() -> Self {
        Self {
            bytes: 16 << 20,
            ops: 200_000,
        }
    }
}

impl Limits {
    /// The defaults, or `REVSPEC_JOURNAL_CHECKPOINT_OPS` changes when set: `tests/crash.rs`
    /// sets a small value so that its kills also land during rotations and checkpoints.
    pub fn from_env() -> Self {
        let ops = std::env::var("REVSPEC_JOURNAL_CHECKPOINT_OPS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n: &usize| n > 0);
        match ops {
            Some(ops) => Self {
                ops,
                ..Self::default()
            },
            None => Self::default(),
        }
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Op {
    Put(TokenHash, Vec<u8>),
    Remove(TokenHash),
    Meta(String, Vec<u8>),
    /// A revocation, recorded as what it names; the hashes it removed are kept for the
    /// checkpoint only (replay finds them again in the index).
    Revoke(Vec<Victim>, Vec<TokenHash>),
}

impl Op {
    /// How many token rows the checkpoint touches for this change.
    fn weight(&self) -> usize {
        match self {
            Op::Revoke(_, removed) => removed.len().max(1),
            _ => 1,
        }
    }
}

const PUT: u8 = 1;
const REMOVE: u8 = 2;
const META_OP: u8 = 3;
const REVOKE: u8 = 4;

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn encode_op(out: &mut Vec<u8>, op: &Op) {
    match op {
        Op::Put(hash, row) => {
            out.push(PUT);
            out.extend_from_slice(hash);
            put_bytes(out, row);
        }
        Op::Remove(hash) => {
            out.push(REMOVE);
            out.extend_from_slice(hash);
        }
        Op::Meta(key, value) => {
            out.push(META_OP);
            put_bytes(out, key.as_bytes());
            put_bytes(out, value);
        }
        Op::Revoke(victims, _) => {
            out.push(REVOKE);
            out.extend_from_slice(&(victims.len() as u32).to_le_bytes());
            for victim in victims {
                match victim {
                    Victim::Token(hash) => {
                        out.push(0);
                        out.extend_from_slice(hash);
                    }
                    Victim::Grant(id) => {
                        out.push(1);
                        out.extend_from_slice(&id.to_le_bytes());
                    }
                    Victim::Client(client, kind) => {
                        out.push(2);
                        put_bytes(out, client.as_bytes());
                        out.push(match kind {
                            None => 0,
                            Some(TokenKind::Access) => 1,
                            Some(TokenKind::Refresh) => 2,
                        });
                    }
                }
            }
        }
    }
}

/// Appends one record: payload length (u32 LE), CRC-32 of the payload, the payload (the ops).
fn encode_record(out: &mut Vec<u8>, ops: &[Op]) {
    let start = out.len();
    out.extend_from_slice(&[0; 8]);
    for op in ops {
        encode_op(out, op);
    }
    let payload = &out[start + 8..];
    let (len, crc) = (payload.len() as u32, crc32fast::hash(payload));
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn hash(&mut self) -> Option<TokenHash> {
        self.take(32)?.try_into().ok()
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
}

fn decode_ops(payload: &[u8]) -> Option<Vec<Op>> {
    let mut r = Reader(payload);
    let mut ops = Vec::new();
    while !r.0.is_empty() {
        ops.push(match r.u8()? {
            PUT => Op::Put(r.hash()?, r.bytes()?.to_vec()),
            REMOVE => Op::Remove(r.hash()?),
            META_OP => Op::Meta(r.string()?, r.bytes()?.to_vec()),
            REVOKE => {
                let n = r.u32()?;
                let mut victims = Vec::new();
                for _ in 0..n {
                    victims.push(match r.u8()? {
                        0 => Victim::Token(r.hash()?),
                        1 => Victim::Grant(r.u64()?),
                        2 => Victim::Client(
                            r.string()?,
                            match r.u8()? {
                                0 => None,
                                1 => Some(TokenKind::Access),
                                2 => Some(TokenKind::Refresh),
                                _ => return None,
                            },
                        ),
                        _ => return None,
                    });
                }
                Op::Revoke(victims, Vec::new())
            }
            _ => return None,
        });
    }
    Some(ops)
}

/// The records of one journal file, in order, up to the first one cut short or damaged (a
/// crash during its write: it was never acknowledged); and whether the whole file was read.
fn decode_file(bytes: &[u8]) -> (Vec<Vec<Op>>, bool) {
    let mut r = Reader(bytes);
    let mut records = Vec::new();
    while !r.0.is_empty() {
        let record = (|| {
            let len = r.u32()? as usize;
            let crc = r.u32()?;
            let payload = r.take(len)?;
            (crc32fast::hash(payload) == crc).then_some(())?;
            decode_ops(payload)
        })();
        match record {
            Some(ops) => records.push(ops),
            None => return (records, false),
        }
    }
    (records, true)
}

const PREFIX: &str = "journal-";
const SUFFIX: &str = ".log";

fn file_name(generation: u64) -> String {
    format!("{PREFIX}{generation:020}{SUFFIX}")
}

/// The journal files in `dir`, by generation.
fn files(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    let io = |e: std::io::Error| StoreError::failed(format!("{}: {e}", dir.display()));
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let Some(generation) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?.parse().ok())
        else {
            continue;
        };
        found.push((generation, entry.path()));
    }
    found.sort();
    Ok(found)
}

/// Reads every journal file of a generation after `applied`, in order, giving each record's
/// changes to `apply`; deletes the files already checkpointed. Returns the last generation
/// found (`applied` when there is none).
pub(super) fn replay(
    dir: &Path,
    applied: u64,
    mut apply: impl FnMut(Vec<Op>) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    let mut last = applied;
    for (generation, path) in files(dir)? {
        if generation <= applied {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| StoreError::failed(format!("{}: {e}", path.display())))?;
        let (records, whole) = decode_file(&bytes);
        if !whole {
            tracing::warn!(
                "{}: the last record is incomplete or damaged (a crash while it was written); \
                 it was never acknowledged and is ignored",
                path.display()
            );
        }
        for ops in records {
            apply(ops)?;
        }
        last = generation;
    }
    Ok(last)
}

/// Creates journal file `generation` (`0600`) and makes its name durable.
fn create_file(dir: &Path, generation: u64) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(dir.join(file_name(generation)))?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(file)
}

/// Applies a closed journal's changes to the database in one transaction that also records
/// `generation` as applied.
fn checkpoint(db: &redb::Database, generation: u64, ops: &[Op]) -> Result<(), StoreError> {
    let write = db.begin_write()?;
    {
        let mut tokens = write.open_table(TOKENS)?;
        let mut meta = write.open_table(META)?;
        for op in ops {
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
                Op::Revoke(_, removed) => {
                    for hash in removed {
                        tokens.remove(hash.as_slice())?;
                    }
                }
            }
        }
        meta.insert(APPLIED_KEY, generation.to_le_bytes().as_slice())?;
    }
    write.commit()?;
    Ok(())
}

/// A change with its sequence number.
type Queued = (u64, Vec<Op>);
/// A closed journal file's changes, for the checkpointer.
type Closed = (u64, Vec<Op>);

#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    /// Every change up to this sequence number is durable.
    durable: u64,
    /// A write, sync or checkpoint failed: nothing after it will be durable.
    failed: bool,
}

pub(super) struct Journal {
    /// The sender, locked so that sequence numbers enter the queue in order.
    queue: Mutex<Option<mpsc::Sender<Queued>>>,
    submitted: AtomicU64,
    progress: watch::Receiver<Progress>,
    committer: Option<std::thread::JoinHandle<()>>,
    checkpointer: Option<std::thread::JoinHandle<()>>,
    /// The database (tests look at what it holds).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) db: Arc<redb::Database>,
    #[cfg_attr(not(test), allow(dead_code))]
    dir: PathBuf,
    /// Group commits made (one `fdatasync` each).
    commits: Arc<AtomicU64>,
    /// Checkpoints made.
    #[cfg_attr(not(test), allow(dead_code))]
    checkpoints: Arc<AtomicU64>,
    #[cfg_attr(not(test), allow(dead_code))]
    /// Held by a test to stop the committer between taking a change and draining the queue.
    hold: Arc<Mutex<()>>,
}

/// What the committer thread owns.
struct Committer {
    dir: PathBuf,
    limits: Limits,
    generation: u64,
    file: std::fs::File,
    written: u64,
    pending: Vec<Op>,
    weight: usize,
    closed: mpsc::Sender<Closed>,
    progress: Arc<watch::Sender<Progress>>,
    commits: Arc<AtomicU64>,
    hold: Arc<Mutex<()>>,
}

impl Committer {
    fn run(mut self, rx: mpsc::Receiver<Queued>) {
        let mut failed = false;
        let mut buf = Vec::with_capacity(1 << 16);
        while let Ok(first) = rx.recv() {
            drop(self.hold.lock().unwrap_or_else(|p| p.into_inner()));
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let last = batch.last().map_or(0, |(seq, _)| *seq);
            if !failed {
                buf.clear();
                for (_, ops) in &batch {
                    encode_record(&mut buf, ops);
                }
                match self
                    .file
                    .write_all(&buf)
                    .and_then(|()| self.file.sync_data())
                {
                    Ok(()) => {
                        self.commits.fetch_add(1, Ordering::Relaxed);
                        self.written += buf.len() as u64;
                    }
                    Err(e) => {
                        tracing::error!("journal write failed: {e}; every later change is refused");
                        failed = true;
                    }
                }
            }
            self.progress.send_modify(|p| {
                if failed {
                    p.failed = true;
                } else {
                    p.durable = last;
                }
            });
            if failed {
                continue;
            }
            for (_, ops) in batch {
                for op in ops {
                    self.weight += op.weight();
                    self.pending.push(op);
                }
            }
            if self.written >= self.limits.bytes || self.weight >= self.limits.ops {
                if let Err(e) = self.rotate() {
                    tracing::error!(
                        "cannot start a new journal file: {e}; every later change is refused"
                    );
                    failed = true;
                    self.progress.send_modify(|p| p.failed = true);
                }
            }
        }
    }

    /// Starts the next journal file and hands the closed one to the checkpointer.
    fn rotate(&mut self) -> std::io::Result<()> {
        self.file = create_file(&self.dir, self.generation + 1)?;
        let ops = std::mem::take(&mut self.pending);
        let _ = self.closed.send((self.generation, ops));
        self.generation += 1;
        self.written = 0;
        self.weight = 0;
        Ok(())
    }
}

impl Journal {
    /// Starts the journal of `dir` whose database holds generations up to `applied`, after a
    /// replay that found generations up to `replayed` (`replayed_ops`: their changes, to
    /// checkpoint); new changes go to the next generation.
    pub fn start(
        dir: &Path,
        db: Arc<redb::Database>,
        applied: u64,
        replayed: u64,
        replayed_ops: Vec<Op>,
        limits: Limits,
    ) -> Result<Self, StoreError> {
        let io = |e: std::io::Error| StoreError::failed(format!("{}: {e}", dir.display()));
        let (tx, rx) = mpsc::channel::<Queued>();
        let (closed_tx, closed_rx) = mpsc::channel::<Closed>();
        let (progress_tx, progress) = watch::channel(Progress::default());
        let progress_tx = Arc::new(progress_tx);
        let commits = Arc::new(AtomicU64::new(0));
        let checkpoints = Arc::new(AtomicU64::new(0));
        let hold = Arc::new(Mutex::new(()));
        // What the replay found is checkpointed first (its files are deleted after).
        if replayed > applied {
            let _ = closed_tx.send((replayed, replayed_ops));
        }
        let committer = Committer {
            dir: dir.to_owned(),
            limits,
            generation: replayed + 1,
            file: create_file(dir, replayed + 1).map_err(io)?,
            written: 0,
            pending: Vec::new(),
            weight: 0,
            closed: closed_tx,
            progress: progress_tx.clone(),
            commits: commits.clone(),
            hold: hold.clone(),
        };
        let spawn_failed =
            |e: std::io::Error| StoreError::failed(format!("cannot start a journal thread: {e}"));
        let (ck_db, ck_dir, ck_count) = (db.clone(), dir.to_owned(), checkpoints.clone());
        let checkpointer = std::thread::Builder::new()
            .name("revspec-checkpoint".into())
            .spawn(move || {
                while let Ok((generation, ops)) = closed_rx.recv() {
                    if let Err(e) = checkpoint(&ck_db, generation, &ops) {
                        tracing::error!("checkpoint failed: {e}; every later change is refused");
                        progress_tx.send_modify(|p| p.failed = true);
                        return;
                    }
                    for (g, path) in files(&ck_dir).unwrap_or_default() {
                        if g <= generation {
                            let _ = std::fs::remove_file(path);
                        }
                    }
                    ck_count.fetch_add(1, Ordering::Relaxed);
                }
            })
            .map_err(spawn_failed)?;
        let committer = std::thread::Builder::new()
            .name("revspec-journal".into())
            .spawn(move || committer.run(rx))
            .map_err(spawn_failed)?;
        Ok(Self {
            queue: Mutex::new(Some(tx)),
            submitted: AtomicU64::new(0),
            progress,
            committer: Some(committer),
            checkpointer: Some(checkpointer),
            db,
            dir: dir.to_owned(),
            commits,
            checkpoints,
            hold,
        })
    }

    fn failed() -> StoreError {
        StoreError::failed("an earlier write to the data directory failed; restart the server")
    }

    /// Refuses a change once a write has failed (checked before the index changes).
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

    /// How many group commits were made.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// How many checkpoints were made.
    #[cfg(test)]
    pub fn checkpoints(&self) -> u64 {
        self.checkpoints.load(Ordering::Relaxed)
    }

    /// Every change in the journal files now (durable ones, and any being written).
    #[cfg(test)]
    pub fn logged(&self) -> Vec<Op> {
        let mut all = Vec::new();
        for (_, path) in files(&self.dir).unwrap() {
            let bytes = std::fs::read(path).unwrap_or_default();
            all.extend(decode_file(&bytes).0.into_iter().flatten());
        }
        all
    }

    /// The bytes in the journal files now.
    #[cfg(test)]
    pub fn logged_bytes(&self) -> u64 {
        files(&self.dir)
            .unwrap()
            .iter()
            .map(|(_, p)| std::fs::metadata(p).map_or(0, |m| m.len()))
            .sum()
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
    /// Writes what is queued, finishes the checkpoints handed over, then stops both threads (so
    /// the database is closed after them). The open journal file is replayed at the next start.
    fn drop(&mut self) {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = self.committer.take() {
            let _ = thread.join();
        }
        if let Some(thread) = self.checkpointer.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_a_torn_tail_ends_the_file() {
        let ops = vec![
            Op::Put([1; 32], vec![1, 2, 3]),
            Op::Remove([2; 32]),
            Op::Meta("settings".into(), b"{}".to_vec()),
            Op::Revoke(
                vec![
                    Victim::Token([3; 32]),
                    Victim::Grant(u64::MAX),
                    Victim::Client("client-é".into(), None),
                    Victim::Client("b".into(), Some(TokenKind::Refresh)),
                ],
                Vec::new(),
            ),
        ];
        let mut file = Vec::new();
        encode_record(&mut file, &ops);
        encode_record(&mut file, &ops[..1]);
        let whole = file.len();
        assert_eq!(
            decode_file(&file),
            (vec![ops.clone(), ops[..1].to_vec()], true)
        );
        // Every cut inside the second record leaves the first; a flipped bit ends the file.
        let first = whole - (8 + 1 + 32 + 4 + 3);
        for n in first..whole {
            assert_eq!(
                decode_file(&file[..n]),
                (vec![ops.clone()], n == first),
                "{n}"
            );
        }
        file[first + 9] ^= 1;
        assert_eq!(decode_file(&file), (vec![ops], false));
    }
}
