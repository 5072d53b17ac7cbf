//! The shared backend: tokens, grants and the Config API's values in Redis, so that several
//! `revspec serve --store redis://...` processes (the nodes of a cluster) are one server.
//!
//! Each [`TokenBackend`] unit is one Lua script (the `*.lua` files beside this one, compiled in
//! with `include_str!`) or one command, so Redis runs it atomically:
//! issuing a grant's tokens, the refresh grant's issue-while-present (the refresh-versus-revoke
//! race), and revoking tokens, grants or all of a client's tokens. Revoking a grant or a client
//! reads that grant's or client's own index, never the keyspace. Tokens are kept only under their
//! SHA-256 hash, and expire through Redis TTLs (the sweep has nothing to do).
//!
//! Keys (`P` is the prefix, `revspec:` by default; one prefix is one server):
//! - `P t:<hash hex>`: a token's row ([`encode_row`]), with `EXPIREAT` its expiry;
//! - `P g:<grant hex>`: a grant's token hashes in issue order (a list), expiring with its
//!   longest-lived token;
//! - `P c:<client>`: a client's grants (a sorted set scored by each grant's expiry);
//! - `P clients`: the clients with grants (scored by their grants' expiry);
//! - `P m:<key>`: a Config API value (settings, client scopes).
//!
//! A Config API write is stored and announced in one script (`PUBLISH P changes@<db>`);
//! [`RedisStore::follow`] delivers the announcements to a node, and a full reload after every
//! (re)subscription, so a node that missed some while Redis was away catches up.
//!
//! A unit that cannot reach Redis (refused or dropped connection, a timeout, Redis loading its
//! data after a restart) fails with [`StoreError::is_unavailable`]: the endpoint answers 503 and
//! never 200 for a change it could not store. The connection is re-established by the next
//! unit once Redis is back. Durability is Redis's: run it with `appendonly yes` and
//! `appendfsync always` for a 200 to mean the change is on disk (`docs/cluster.md`).
//!
//! Standalone Redis only (the scripts compute key names, which Redis Cluster does not allow).

use super::backend::TokenBackend;
use super::codec;
use super::error::StoreError;
use super::token::{Removed, TokenHash, TokenKind, TokenRecord, Victim};
use crate::server::clock::{now, now_ms};
use futures::StreamExt as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, Script, ServerErrorKind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::Duration;
use tokio::sync::watch;

/// The key prefix of `revspec serve --store`.
pub const DEFAULT_PREFIX: &str = "revspec:";
/// How long one Redis round trip may take before the unit fails as unavailable.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long connecting to Redis may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Expiries from this one on (the year 9999) are "never": no TTL.
const FOREVER: u64 = 253_402_300_799;

/// What the token scripts share (prefix, time, row header, issuing and dropping tokens):
/// prepended to each of them.
const PRELUDE: &str = include_str!("prelude.lua");

/// A token script: [`PRELUDE`] then its own body.
fn token_script(body: &str) -> Script {
    Script::new(&[PRELUDE, body].concat())
}

/// Issues the tokens of one grant (`issue.lua`).
static ISSUE: LazyLock<Script> = LazyLock::new(|| token_script(include_str!("issue.lua")));

/// The refresh grant's issue-while-present (`issue_while_present.lua`).
static ISSUE_WHILE_PRESENT: LazyLock<Script> =
    LazyLock::new(|| token_script(include_str!("issue_while_present.lua")));

/// Revokes tokens, grants and clients' tokens (`revoke.lua`).
static REVOKE: LazyLock<Script> = LazyLock::new(|| token_script(include_str!("revoke.lua")));

/// Stores a Config API value and announces it (`save_meta.lua`).
static SAVE_META: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("save_meta.lua")));

/// A token's row in Redis: what the scripts read (kind, grant, client) in a fixed header,
/// then the record in the local store's compact form (`codec`).
fn encode_row(record: &TokenRecord) -> Vec<u8> {
    let client = &record.client_id.as_bytes()[..record.client_id.len().min(0xffff)];
    let mut row = Vec::with_capacity(32 + client.len() + 64);
    row.push(match record.kind {
        TokenKind::Access => b'a',
        TokenKind::Refresh => b'r',
    });
    row.extend_from_slice(format!("{:016x}{:04x}", record.grant_id, client.len()).as_bytes());
    row.extend_from_slice(client);
    row.extend_from_slice(&codec::encode(record));
    row
}

fn decode_row(row: &[u8]) -> Result<TokenRecord, StoreError> {
    let corrupt = || StoreError::failed("corrupt token row in Redis");
    let len = row
        .get(17..21)
        .and_then(|h| std::str::from_utf8(h).ok())
        .and_then(|h| usize::from_str_radix(h, 16).ok())
        .ok_or_else(corrupt)?;
    let body = row.get(21 + len..).ok_or_else(corrupt)?;
    codec::decode(body).map_err(|_| corrupt())
}

fn grant_hex(grant: u64) -> String {
    format!("{grant:016x}")
}

/// An expiry as the scripts take it (seconds; FOREVER and beyond: no TTL).
fn expiry_arg(expires_at: u64) -> String {
    expires_at.min(FOREVER).to_string()
}

/// Whether a Redis error means "cannot be reached now" (503) rather than a failure (500).
fn is_unreachable(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(
            e.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::ReadOnly
            )
        )
}

/// What a node hears from the others (see [`RedisStore::follow`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The Config API value under this key changed, at this time (Unix milliseconds).
    Meta { key: String, stored_at_ms: u64 },
    /// (Re)subscribed: anything may have changed meanwhile; reload every value.
    Resync,
}

/// The shared backend (see the module's doc).
pub struct RedisStore {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: String,
    channel: String,
    transactions: AtomicU64,
    unreachable: AtomicU64,
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
    /// Connects to `url` (`redis://HOST:PORT[/DB]`); every key starts with `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let shown = shown_url(url);
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::failed(format!("--store {shown}: {e}")))?;
        let db = client.get_connection_info().redis_settings().db();
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(|e| StoreError::unavailable(format!("cannot reach {shown}: {e}")))?;
        Ok(Self {
            client,
            conn,
            prefix: prefix.to_owned(),
            channel: format!("{prefix}changes@{db}"),
            transactions: AtomicU64::new(0),
            unreachable: AtomicU64::new(0),
        })
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
        self.unreachable.load(Ordering::Relaxed)
    }

    fn error(&self, e: RedisError) -> StoreError {
        if is_unreachable(&e) {
            self.unreachable.fetch_add(1, Ordering::Relaxed);
            StoreError::unavailable(format!("redis: {e}"))
        } else {
            StoreError::failed(format!("redis: {e}"))
        }
    }

    fn token_key(&self, hash: &TokenHash) -> String {
        format!("{}t:{}", self.prefix, hex::encode(hash))
    }

    fn meta_key(&self, key: &str) -> String {
        format!("{}m:{key}", self.prefix)
    }

    fn count(&self) {
        self.transactions.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a one-time key (a client assertion's `jti`) until `until_unix_ms`: `true` the
    /// first time, `false` when any node of the cluster recorded it before (`SET NX PXAT`).
    pub async fn first_use(&self, key: &str, until_unix_ms: u64) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(format!("{}j:{key}", self.prefix))
            .arg(1)
            .arg("NX")
            .arg("PXAT")
            .arg(until_unix_ms)
            .query_async(&mut conn)
            .await
            .map_err(|e| self.error(e))?;
        Ok(set.is_some())
    }

    /// Follows the other nodes' Config API changes until `stop` says so: `apply` gets each
    /// announcement, and [`Change::Resync`] after every (re)subscription; `apply` answers
    /// whether it could take the change in, and a resync that could not is tried again every
    /// half second. While Redis is away it subscribes again every half second.
    pub async fn follow<F, Fut>(&self, mut stop: watch::Receiver<bool>, mut apply: F)
    where
        F: FnMut(Change) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        const RETRY: Duration = Duration::from_millis(500);
        let mut pause = Duration::from_millis(50);
        loop {
            if *stop.borrow() {
                return;
            }
            let subscribed = async {
                let mut pubsub = self.client.get_async_pubsub().await?;
                pubsub.subscribe(&self.channel).await?;
                Ok::<_, RedisError>(pubsub)
            };
            let subscribed = tokio::select! {
                s = tokio::time::timeout(CONNECT_TIMEOUT * 2, subscribed) => s,
                _ = stop.changed() => return,
            };
            match subscribed {
                Ok(Ok(pubsub)) => {
                    pause = Duration::from_millis(50);
                    let mut resync_pending = !apply(Change::Resync).await;
                    let mut messages = pubsub.into_on_message();
                    loop {
                        let message = tokio::select! {
                            m = messages.next() => m,
                            _ = stop.changed() => return,
                            () = tokio::time::sleep(RETRY), if resync_pending => {
                                resync_pending = !apply(Change::Resync).await;
                                continue;
                            }
                        };
                        let Some(message) = message else { break };
                        let text: String = message.get_payload().unwrap_or_default();
                        let (key, at) = text.rsplit_once(' ').unwrap_or((&text, "0"));
                        let change = Change::Meta {
                            key: key.to_owned(),
                            stored_at_ms: at.parse().unwrap_or(0),
                        };
                        if !apply(change).await {
                            resync_pending = true;
                        }
                    }
                    tracing::warn!("redis: the change subscription ended; subscribing again");
                }
                Ok(Err(e)) => tracing::warn!("redis: cannot follow changes: {e}"),
                Err(_) => tracing::warn!("redis: subscribing to changes timed out"),
            }
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = stop.changed() => return,
            }
            pause = (pause * 2).min(RETRY);
        }
    }
}

fn token_args(inv: &mut redis::ScriptInvocation<'_>, tokens: &[(TokenHash, TokenRecord)]) {
    for (hash, record) in tokens {
        inv.arg(hex::encode(hash))
            .arg(encode_row(record))
            .arg(expiry_arg(record.expires_at));
    }
}

impl TokenBackend for RedisStore {
    async fn issue(&self, tokens: Vec<(TokenHash, TokenRecord)>) -> Result<(), StoreError> {
        if tokens.is_empty() {
            return Ok(());
        }
        let mut inv = ISSUE.prepare_invoke();
        inv.arg(&self.prefix).arg(now());
        token_args(&mut inv, &tokens);
        self.count();
        let _: i64 = inv
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    async fn issue_while_present(
        &self,
        parent: TokenHash,
        tokens: Vec<(TokenHash, TokenRecord)>,
        remove_parent: bool,
        max_access: usize,
    ) -> Result<bool, StoreError> {
        let mut inv = ISSUE_WHILE_PRESENT.prepare_invoke();
        inv.arg(&self.prefix)
            .arg(now())
            .arg(hex::encode(parent))
            .arg(if remove_parent { "1" } else { "0" })
            .arg(max_access);
        token_args(&mut inv, &tokens);
        let issued: i64 = inv
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.error(e))?;
        if issued == 1 {
            self.count();
        }
        Ok(issued == 1)
    }

    async fn get(&self, hash: TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let row: Option<Vec<u8>> = redis::cmd("GET")
            .arg(self.token_key(&hash))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.error(e))?;
        row.map(|r| decode_row(&r)).transpose()
    }

    async fn revoke(&self, victims: Vec<Victim>) -> Result<Removed, StoreError> {
        let mut inv = REVOKE.prepare_invoke();
        inv.arg(&self.prefix).arg(now());
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
        let flat: Vec<Vec<u8>> = inv
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.error(e))?;
        let mut removed = Vec::with_capacity(flat.len() / 2);
        for pair in flat.chunks_exact(2) {
            let hash: TokenHash = std::str::from_utf8(&pair[0])
                .ok()
                .and_then(|h| hex::decode(h).ok())
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| StoreError::failed("corrupt token hash in Redis"))?;
            removed.push((hash, decode_row(&pair[1])?));
        }
        if !removed.is_empty() {
            self.count();
        }
        Ok(removed)
    }

    async fn reinstate(&self, removed: Removed) -> Result<(), StoreError> {
        self.issue(removed).await
    }

    async fn sweep_expired(&self, _now: u64) -> Result<usize, StoreError> {
        // Redis expires the tokens itself (TTLs); grants and clients expire with their last.
        Ok(0)
    }

    async fn clients_with_tokens(&self) -> Result<Vec<String>, StoreError> {
        redis::cmd("ZRANGE")
            .arg(format!("{}clients", self.prefix))
            .arg(format!("({}", now()))
            .arg("+inf")
            .arg("BYSCORE")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.error(e))
    }

    async fn load_meta(&self, key: String) -> Result<Option<Vec<u8>>, StoreError> {
        redis::cmd("GET")
            .arg(self.meta_key(&key))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.error(e))
    }

    async fn save_meta(&self, key: String, value: Vec<u8>) -> Result<(), StoreError> {
        let stamp = now_ms();
        let _: i64 = SAVE_META
            .key(self.meta_key(&key))
            .arg(value)
            .arg(&self.channel)
            .arg(format!("{key} {stamp}"))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
