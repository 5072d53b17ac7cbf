//! The shared backend: tokens, grants and the Config API's values in Redis, so that several
//! `revspec serve --store redis://...` processes (the nodes of a cluster) are one server.
//!
//! Each [`TokenBackend`] unit is one Lua script (the `*.lua` files beside this one, compiled in
//! with `include_str!`) or one command, so Redis runs it atomically:
//! issuing a grant's tokens, the refresh grant's issue-while-present (the refresh-versus-revoke
//! race), and revoking tokens, grants or all of a client's tokens. Revoking a grant or a client
//! reads that grant's or client's own index, never the keyspace. Tokens are kept only under their
//! SHA-256 hash, and expire through Redis TTLs (the sweep has nothing to do). The scripts read
//! Redis's clock (`TIME`), never a node's, and a node whose clock is more than
//! [`MAX_CLOCK_SKEW`] from Redis's is refused at start.
//!
//! Keys (`P` is the prefix, `revspec:` by default; one prefix is one server):
//! - `P t:<hash hex>`: a token's row ([`encode_row`]), with `EXPIREAT` its expiry;
//! - `P g:<grant hex>`: a grant's token hashes in issue order (a list), expiring with its
//!   longest-lived token;
//! - `P c:<client>`: a client's grants (a sorted set scored by each grant's expiry);
//! - `P clients`: the clients with grants (scored by their grants' expiry);
//! - `P e:<client>`: a client's revoke-all epochs (a hash: `a`, `r`), without a TTL;
//! - `P m:config`: the Config API's documents (a hash: `settings`, `scopes:<client>`, each
//!   `<version> <json>`), without a TTL;
//! - `P format`: the layout of these keys (a node refuses another).
//!
//! A Config API write is a compare-and-set, stored and announced in one script (`PUBLISH P
//! changes@<db>`); [`RedisStore::follow`] delivers the announcements to a node (`follow`: with a
//! heartbeat, so that a node knows whether it still hears them).
//!
//! A node checks its Redis at start (`checks`: version 7.0, an eviction policy that cannot undo
//! a revocation or a Config API change, its clock) and reads the eviction policy again on every
//! heartbeat; while the policy is one it refuses, every unit fails as unavailable.
//!
//! A unit that cannot reach Redis (refused or dropped connection, a timeout, Redis loading its
//! data after a restart, busy, or full) fails with [`StoreError::is_unavailable`]: the endpoint
//! answers 503 and never 200 for a change it could not store (`conn`: the connections, with TCP
//! keepalive; a main connection that keeps timing out is replaced). Durability is Redis's: run
//! it with `appendonly yes` and `appendfsync always` for a 200 to mean the change is on disk
//! (`docs/cluster.md`).
//!
//! Standalone Redis only (the scripts compute key names, which Redis Cluster does not allow).

mod checks;
mod conn;
mod follow;

pub use follow::{Change, HEARTBEAT, STALE_AFTER};

use super::backend::TokenBackend;
use super::codec;
use super::doc::{Doc, Saved, Versioned};
use super::error::StoreError;
use super::token::{Removed, TokenHash, TokenKind, TokenRecord, Victim};
use crate::server::clock::now;
use conn::Conn;
use follow::Liveness;
use redis::{RedisError, Script};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::Duration;
use tokio::sync::watch;

/// The key prefix of `revspec serve --store`.
pub const DEFAULT_PREFIX: &str = "revspec:";
/// Expiries from this one on (the year 9999) are "never": no TTL.
const FOREVER: u64 = 253_402_300_799;
/// How far this node's clock may be from Redis's (`TIME`) at start. The scripts read Redis's
/// clock; the node's clock still sets token expiry and the Config API reload ticks.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5);

/// How a node connects to its shared store, besides the URL and the prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedisOptions {
    /// Accept a `volatile-*` eviction policy (`--accept-redis-eviction`): Redis may then evict
    /// tokens and their indexes when memory runs out (each reads as revoked). `allkeys-*`
    /// policies are refused whatever this says (see `checks`).
    pub accept_eviction: bool,
    /// TEST-ONLY: this node's clock, as the store reads it, runs this many seconds ahead
    /// (behind when negative), so that a test can play a node whose clock is off. `revspec
    /// serve` never sets it.
    #[doc(hidden)]
    pub clock_offset_secs: i64,
}

/// What the token scripts share (prefix, time, row header, liveness, issuing and dropping
/// tokens, cleaning up): prepended to each of them.
const PRELUDE: &str = include_str!("prelude.lua");

/// A token script: the Redis 7 flags it declares, [`PRELUDE`], then its own body. Every script
/// declares its flags, so that Redis decides at its start whether it may run when memory is
/// full: a script that may add data (issuing) is refused then, as a whole; one that only reads
/// (`no-writes`) or frees memory (`allow-oom`: revoking, cleaning up) always runs.
fn token_script(flags: &str, body: &str) -> Script {
    Script::new(&[&format!("#!lua flags={flags}\n"), PRELUDE, body].concat())
}

/// Looks a live token up (`get.lua`).
static GET: LazyLock<Script> = LazyLock::new(|| token_script("no-writes", include_str!("get.lua")));

/// Issues the tokens of one grant, within the client's cap of live grants (`issue.lua`).
static ISSUE: LazyLock<Script> = LazyLock::new(|| token_script("", include_str!("issue.lua")));

/// The refresh grant's issue-while-present (`issue_while_present.lua`).
static ISSUE_WHILE_PRESENT: LazyLock<Script> =
    LazyLock::new(|| token_script("", include_str!("issue_while_present.lua")));

/// Revokes tokens, grants and clients' tokens (`revoke.lua`).
static REVOKE: LazyLock<Script> =
    LazyLock::new(|| token_script("allow-oom", include_str!("revoke.lua")));

/// One more batch of a revoke-all's cleanup (`cleanup.lua`).
static CLEANUP: LazyLock<Script> =
    LazyLock::new(|| token_script("allow-oom", include_str!("cleanup.lua")));

/// The clients with grants not yet expired (`clients.lua`).
static CLIENTS: LazyLock<Script> =
    LazyLock::new(|| token_script("no-writes", include_str!("clients.lua")));

/// Stores a Config API document as a compare-and-set on its version and announces it
/// (`save_doc.lua`); it runs when Redis is full, so that an admin can still take a scope away
/// while the token keyspace is full.
static SAVE_DOC: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("save_doc.lua")));

/// The layout of the keys under a prefix, kept in `P format`: a node refuses keys another
/// layout wrote rather than misread them.
const FORMAT: &str = "2";

/// The most cleanup batches after one revoke-all (about 64 grants each): a bound, far beyond
/// any cap of live grants per client.
const MAX_CLEANUP_BATCHES: usize = 100_000;

/// A token's row in Redis: what the scripts read in a fixed header (kind, grant, the client's
/// revoke-all epoch when issued, which the issuing script writes, and the client), then the
/// record in the local store's compact form (`codec`).
fn encode_row(record: &TokenRecord) -> Vec<u8> {
    let client = &record.client_id.as_bytes()[..record.client_id.len().min(0xffff)];
    let mut row = Vec::with_capacity(32 + client.len() + 64);
    row.push(match record.kind {
        TokenKind::Access => b'a',
        TokenKind::Refresh => b'r',
    });
    row.extend_from_slice(
        format!("{:016x}{:08x}{:04x}", record.grant_id, 0, client.len()).as_bytes(),
    );
    row.extend_from_slice(client);
    row.extend_from_slice(&codec::encode(record));
    row
}

fn decode_row(row: &[u8]) -> Result<TokenRecord, StoreError> {
    let corrupt = || StoreError::failed("corrupt token row in Redis");
    let len = row
        .get(25..29)
        .and_then(|h| std::str::from_utf8(h).ok())
        .and_then(|h| usize::from_str_radix(h, 16).ok())
        .ok_or_else(corrupt)?;
    let body = row.get(29 + len..).ok_or_else(corrupt)?;
    codec::decode(body).map_err(|_| corrupt())
}

fn grant_hex(grant: u64) -> String {
    format!("{grant:016x}")
}

/// An expiry as the scripts take it (seconds; FOREVER and beyond: no TTL).
fn expiry_arg(expires_at: u64) -> String {
    expires_at.min(FOREVER).to_string()
}

/// The shared backend (see the module's doc).
pub struct RedisStore {
    client: redis::Client,
    conn: Conn,
    options: RedisOptions,
    prefix: String,
    channel: String,
    transactions: AtomicU64,
    /// Until when this node is known to hold every Config API change (`follow`).
    liveness: Liveness,
    /// Why this node refuses the Redis it is connected to now (its eviction policy), if it does.
    refusal: std::sync::RwLock<Option<String>>,
    /// The cleanups of revoke-alls still running (aborted when the store is dropped).
    cleanups: std::sync::Mutex<tokio::task::JoinSet<()>>,
}

/// `url` as it may be shown (banner, errors, logs): a password in it becomes `***`.
pub fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        // Not a URL: keep nothing that could be a user or a password.
        Err(_) => url.rsplit('@').next().unwrap_or_default().to_owned(),
    }
}

impl RedisStore {
    /// Connects to `url` (`redis://HOST:PORT[/DB]`); every key starts with `prefix`. Refuses a
    /// Redis whose clock is more than [`MAX_CLOCK_SKEW`] from this node's.
    pub async fn connect(
        url: &str,
        prefix: &str,
        options: &RedisOptions,
    ) -> Result<Self, StoreError> {
        let shown = shown_url(url);
        let client =
            conn::client(url).map_err(|e| StoreError::failed(format!("--store {shown}: {e}")))?;
        let db = client.get_connection_info().redis_settings().db();
        let conn = Conn::connect(client.clone())
            .await
            .map_err(|e| StoreError::unavailable(format!("cannot reach {shown}: {e}")))?;
        let store = Self {
            client,
            conn,
            options: options.clone(),
            prefix: prefix.to_owned(),
            channel: format!("{prefix}changes@{db}"),
            transactions: AtomicU64::new(0),
            liveness: Liveness::new(),
            refusal: std::sync::RwLock::new(None),
            cleanups: std::sync::Mutex::new(tokio::task::JoinSet::new()),
        };
        store.check_clock().await?;
        let info = store.info("server").await?;
        checks::judge_version(checks::info_field(&info, "redis_version").unwrap_or("unknown"))
            .map_err(StoreError::failed)?;
        store.eviction_policy().await.and_then(|policy| {
            checks::judge_policy(&policy, store.options.accept_eviction).map_err(StoreError::failed)
        })?;
        store.check_format().await?;
        Ok(store)
    }

    /// Refuses keys under this prefix that another layout wrote (an earlier revspec), and marks
    /// a new prefix with this one.
    async fn check_format(&self) -> Result<(), StoreError> {
        let p = &self.prefix;
        let (format, earlier): (Option<String>, u64) = redis::pipe()
            .cmd("GET")
            .arg(format!("{p}format"))
            .cmd("EXISTS")
            .arg(format!("{p}m:settings"))
            .arg(format!("{p}m:client_scopes"))
            .arg(format!("{p}clients"))
            .query_async(&mut self.conn.get())
            .await
            .map_err(|e| self.conn.error(e))?;
        match format.as_deref() {
            Some(FORMAT) => Ok(()),
            None if earlier == 0 => {
                let _: () = redis::cmd("SET")
                    .arg(format!("{p}format"))
                    .arg(FORMAT)
                    .arg("NX")
                    .query_async(&mut self.conn.get())
                    .await
                    .map_err(|e| self.conn.error(e))?;
                Ok(())
            }
            found => Err(StoreError::failed(format!(
                "the keys under the prefix '{p}' were written by another revspec version \
                 (layout {}, this one reads {FORMAT}); remove them (redis-cli --scan --pattern \
                 '{p}*' | xargs redis-cli del) or use another database",
                found.unwrap_or("1")
            ))),
        }
    }

    async fn info(&self, section: &str) -> Result<String, StoreError> {
        redis::cmd("INFO")
            .arg(section)
            .query_async(&mut self.conn.get())
            .await
            .map_err(|e| self.conn.error(e))
    }

    async fn eviction_policy(&self) -> Result<String, StoreError> {
        let info = self.info("memory").await?;
        Ok(checks::info_field(&info, "maxmemory_policy")
            .unwrap_or("unknown")
            .to_owned())
    }

    /// Reads Redis's eviction policy again (after a reconnection, and periodically): while it
    /// is one this node refuses, every unit fails as unavailable (503) and says why.
    pub async fn recheck_policy(&self) {
        let Ok(policy) = self.eviction_policy().await else {
            return; // unreachable: the units say so themselves
        };
        self.conn.answered();
        let verdict = checks::judge_policy(&policy, self.options.accept_eviction).err();
        let mut refusal = self.refusal.write().unwrap_or_else(|p| p.into_inner());
        match (&*refusal, &verdict) {
            (None, Some(why)) => tracing::error!("redis: {why}; this node answers 503 meanwhile"),
            (Some(_), None) => tracing::warn!("redis: maxmemory-policy is {policy} again"),
            _ => {}
        }
        *refusal = verdict;
    }

    /// Why this node refuses its Redis now, if it does (see [`RedisStore::recheck_policy`]).
    pub fn refusal(&self) -> Option<String> {
        self.refusal
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Fails a unit as unavailable while this node refuses its Redis.
    fn ready(&self) -> Result<(), StoreError> {
        match self.refusal() {
            None => Ok(()),
            Some(why) => Err(StoreError::unavailable(format!("redis: {why}"))),
        }
    }

    /// This node's clock (seconds since the Unix epoch), as the store reads it.
    fn node_now(&self) -> u64 {
        now().saturating_add_signed(self.options.clock_offset_secs)
    }

    /// Refuses a Redis whose clock (`TIME`) is more than [`MAX_CLOCK_SKEW`] from this node's.
    async fn check_clock(&self) -> Result<(), StoreError> {
        let (secs, _micros): (u64, u64) = redis::cmd("TIME")
            .query_async(&mut self.conn.get())
            .await
            .map_err(|e| self.conn.error(e))?;
        let node = self.node_now();
        let skew = node.abs_diff(secs);
        if skew > MAX_CLOCK_SKEW.as_secs() {
            let way = if node > secs { "ahead of" } else { "behind" };
            return Err(StoreError::failed(format!(
                "this node's clock is {skew} s {way} Redis's (TIME); they may \
                 differ by at most {} s (token expiry and the Config API reload ticks rely on \
                 it): synchronize the clocks (NTP)",
                MAX_CLOCK_SKEW.as_secs()
            )));
        }
        Ok(())
    }

    /// The prefix of every key of this server.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// How many units changed (or may have changed) something.
    pub fn transactions(&self) -> u64 {
        self.transactions.load(Ordering::Relaxed)
    }

    /// How many units failed because Redis could not be reached (each answered 503).
    pub fn unreachable(&self) -> u64 {
        self.conn.unreachable()
    }

    /// How many times the main connection was replaced because it stopped answering.
    pub fn reconnections(&self) -> u64 {
        self.conn.replaced()
    }

    /// Whether this node hears the Config API changes stored through any node (see `follow`:
    /// `/health` fails while it does not).
    pub fn hears_changes(&self) -> bool {
        self.liveness.hears()
    }

    /// Whether what this node holds of the Config API is recent enough to act on (heard or
    /// read within [`STALE_AFTER`]; see `follow`). A node that is not answers 503.
    pub fn config_fresh(&self) -> bool {
        self.liveness.fresh()
    }

    /// The hash of the Config API's documents.
    fn docs_key(&self) -> String {
        format!("{}m:config", self.prefix)
    }

    fn count(&self) {
        self.transactions.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a one-time key (a client assertion's `jti`) until `until_unix_ms`: `true` the
    /// first time, `false` when any node of the cluster recorded it before (`SET NX PXAT`).
    pub async fn first_use(&self, key: &str, until_unix_ms: u64) -> Result<bool, StoreError> {
        self.ready()?;
        let set: Option<String> = redis::cmd("SET")
            .arg(format!("{}j:{key}", self.prefix))
            .arg(1)
            .arg("NX")
            .arg("PXAT")
            .arg(until_unix_ms)
            .query_async(&mut self.conn.get())
            .await
            .map_err(|e| self.conn.error(e))?;
        Ok(set.is_some())
    }

    /// Goes on with a revoke-all's cleanup in the background, one short script per batch, so
    /// that Redis serves the other nodes between them. The revocation is already whole (the
    /// epoch): this only gives the memory back.
    fn clean_up(&self, client: &str, kind: &str, cursor: &str) {
        let (mut conn, prefix) = (self.conn.get(), self.prefix.clone());
        let (client, kind, mut cursor) = (client.to_owned(), kind.to_owned(), cursor.to_owned());
        let mut cleanups = self.cleanups.lock().unwrap_or_else(|p| p.into_inner());
        while cleanups.try_join_next().is_some() {}
        cleanups.spawn(async move {
            for _ in 0..MAX_CLEANUP_BATCHES {
                let next: Result<String, RedisError> = CLEANUP
                    .arg(&prefix)
                    .arg(&client)
                    .arg(&kind)
                    .arg(&cursor)
                    .invoke_async(&mut conn)
                    .await;
                match next {
                    Ok(next) if next == "0" => return,
                    Ok(next) => cursor = next,
                    Err(e) => {
                        // What is left expires with its TTLs; it is revoked already.
                        tracing::warn!("redis: cleaning up after a revoke-all of {client}: {e}");
                        return;
                    }
                }
            }
        });
    }

    /// Whether every revoke-all cleanup has finished (for tests).
    pub fn cleanups_done(&self) -> bool {
        let mut cleanups = self.cleanups.lock().unwrap_or_else(|p| p.into_inner());
        while cleanups.try_join_next().is_some() {}
        cleanups.is_empty()
    }

    /// Follows the Config API changes stored through any node until `stop` says so (see
    /// `follow`): `apply` gets each announcement, and [`Change::Resync`] after every
    /// (re)subscription and while unsubscribed; it answers whether it took the change in. Each
    /// heartbeat also reads Redis's eviction policy again (through the main connection, which
    /// it so keeps checking).
    pub async fn follow<F, Fut>(&self, stop: watch::Receiver<bool>, apply: F)
    where
        F: FnMut(Change) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        follow::follow(
            &self.client,
            &self.channel,
            &self.liveness,
            stop,
            apply,
            || self.recheck_policy(),
        )
        .await;
    }
}

/// The refusal of a new grant to a client that holds the cap (503, so the client tries later:
/// grants expire, and revocations free their places).
fn over_cap(client: &str, max_grants: Option<usize>) -> StoreError {
    StoreError::unavailable(format!(
        "client '{client}' already holds {} live grants (--max-grants-per-client); a new grant \
         is refused until some expire or are revoked",
        max_grants.unwrap_or_default()
    ))
}

fn token_args(inv: &mut redis::ScriptInvocation<'_>, tokens: &[(TokenHash, TokenRecord)]) {
    for (hash, record) in tokens {
        inv.arg(hex::encode(hash))
            .arg(encode_row(record))
            .arg(expiry_arg(record.expires_at));
    }
}

impl TokenBackend for RedisStore {
    async fn issue(
        &self,
        tokens: Vec<(TokenHash, TokenRecord)>,
        max_grants: Option<usize>,
    ) -> Result<(), StoreError> {
        self.ready()?;
        if tokens.is_empty() {
            return Ok(());
        }
        let mut inv = ISSUE.prepare_invoke();
        inv.arg(&self.prefix).arg(max_grants.unwrap_or(0));
        token_args(&mut inv, &tokens);
        let issued: i64 = inv
            .invoke_async(&mut self.conn.get())
            .await
            .map_err(|e| self.conn.error(e))?;
        if issued == 0 {
            return Err(over_cap(&tokens[0].1.client_id, max_grants));
        }
        self.count();
        Ok(())
    }

    async fn issue_while_present(
        &self,
        parent: TokenHash,
        tokens: Vec<(TokenHash, TokenRecord)>,
        remove_parent: bool,
        max_access: usize,
    ) -> Result<bool, StoreError> {
        self.ready()?;
        let mut inv = ISSUE_WHILE_PRESENT.prepare_invoke();
        inv.arg(&self.prefix)
            .arg(hex::encode(parent))
            .arg(if remove_parent { "1" } else { "0" })
            .arg(max_access);
        token_args(&mut inv, &tokens);
        let issued: i64 = inv
            .invoke_async(&mut self.conn.get())
            .await
            .map_err(|e| self.conn.error(e))?;
        if issued == 1 {
            self.count();
        }
        Ok(issued == 1)
    }

    async fn get(&self, hash: TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.ready()?;
        let row: Option<Vec<u8>> = GET
            .arg(&self.prefix)
            .arg(hex::encode(hash))
            .invoke_async(&mut self.conn.get())
            .await
            .map_err(|e| self.conn.error(e))?;
        row.map(|r| decode_row(&r)).transpose()
    }

    async fn revoke(&self, victims: Vec<Victim>) -> Result<Removed, StoreError> {
        self.ready()?;
        let mut inv = REVOKE.prepare_invoke();
        inv.arg(&self.prefix);
        for victim in &victims {
            match victim {
                Victim::Token(hash) => inv.arg("t").arg(hex::encode(hash)).arg(""),
                Victim::Grant(grant) => inv.arg("g").arg(grant_hex(*grant)).arg(""),
                Victim::Client(client, kind) => inv.arg("c").arg(client).arg(match kind {
                    None => "",
                    Some(TokenKind::Access) => "a",
                    Some(TokenKind::Refresh) => "r",
                }),
            };
        }
        // An empty list still makes the round trip: Redis answers it after every change it
        // could have observed (see the trait's doc).
        let (flat, pending): (Vec<Vec<u8>>, Vec<String>) = inv
            .invoke_async(&mut self.conn.get())
            .await
            .map_err(|e| self.conn.error(e))?;
        let mut removed = Vec::with_capacity(flat.len() / 2);
        for pair in flat.chunks_exact(2) {
            let hash: TokenHash = std::str::from_utf8(&pair[0])
                .ok()
                .and_then(|h| hex::decode(h).ok())
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| StoreError::failed("corrupt token hash in Redis"))?;
            removed.push((hash, decode_row(&pair[1])?));
        }
        for cleanup in pending.chunks_exact(3) {
            self.clean_up(&cleanup[0], &cleanup[1], &cleanup[2]);
        }
        let revoked_all = victims.iter().any(|v| matches!(v, Victim::Client(..)));
        if !removed.is_empty() || revoked_all {
            self.count();
        }
        Ok(removed)
    }

    async fn reinstate(&self, removed: Removed) -> Result<(), StoreError> {
        self.issue(removed, None).await
    }

    async fn sweep_expired(&self, _now: u64) -> Result<usize, StoreError> {
        // Redis expires the tokens itself (TTLs); grants and clients expire with their last.
        Ok(0)
    }

    async fn clients_with_tokens(&self) -> Result<Vec<String>, StoreError> {
        self.ready()?;
        CLIENTS
            .arg(&self.prefix)
            .invoke_async(&mut self.conn.get())
            .await
            .map_err(|e| self.conn.error(e))
    }

    async fn load_docs(&self) -> Result<Vec<(Doc, Versioned)>, StoreError> {
        self.ready()?;
        let fields: Vec<(String, Vec<u8>)> = redis::cmd("HGETALL")
            .arg(self.docs_key())
            .query_async(&mut self.conn.get())
            .await
            .map_err(|e| self.conn.error(e))?;
        let mut docs = Vec::with_capacity(fields.len());
        for (name, stored) in fields {
            if let Some(doc) = Doc::from_name(&name) {
                docs.push((doc, versioned(&stored)?));
            }
        }
        Ok(docs)
    }

    async fn load_doc(&self, doc: Doc) -> Result<Option<Versioned>, StoreError> {
        self.ready()?;
        let stored: Option<Vec<u8>> = redis::cmd("HGET")
            .arg(self.docs_key())
            .arg(doc.name())
            .query_async(&mut self.conn.get())
            .await
            .map_err(|e| self.conn.error(e))?;
        stored.as_deref().map(versioned).transpose()
    }

    async fn save_doc(&self, doc: Doc, based_on: u64, value: Vec<u8>) -> Result<Saved, StoreError> {
        self.ready()?;
        let (stored, version): (i64, String) = SAVE_DOC
            .key(self.docs_key())
            .arg(doc.name())
            .arg(based_on)
            .arg(value)
            .arg(&self.channel)
            .invoke_async(&mut self.conn.get())
            .await
            .map_err(|e| self.conn.error(e))?;
        let version = version
            .parse()
            .map_err(|_| StoreError::failed("corrupt Config API version in Redis"))?;
        Ok(if stored == 1 {
            self.count();
            Saved::Stored(version)
        } else {
            Saved::Conflict(version)
        })
    }
}

/// A stored Config API document: `<version> <json>`.
fn versioned(stored: &[u8]) -> Result<Versioned, StoreError> {
    let corrupt = || StoreError::failed("corrupt Config API document in Redis");
    let space = stored.iter().position(|&b| b == b' ').ok_or_else(corrupt)?;
    let version = std::str::from_utf8(&stored[..space])
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or_else(corrupt)?;
    Ok(Versioned {
        version,
        value: stored[space + 1..].to_vec(),
    })
}

#[cfg(test)]
mod tests;
