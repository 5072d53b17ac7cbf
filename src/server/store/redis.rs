//! The shared backend: tokens, grants and the Config API's values in Redis, so that several
//! `revspec serve --store redis://...` processes (the nodes of a cluster) are one server.
//!
//! Each [`TokenBackend`] unit is one Lua script (or one command), so Redis runs it atomically:
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

use super::{codec, Removed, StoreError, TokenBackend, TokenHash, TokenKind, TokenRecord, Victim};
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

/// What the scripts share: the prefix and the time, the row's header, and issuing one token.
const PRELUDE: &str = r#"
local p = ARGV[1]
local now = tonumber(ARGV[2])
local function parse(row)
  local clen = tonumber(string.sub(row, 18, 21), 16)
  return string.sub(row, 1, 1), string.sub(row, 2, 17), string.sub(row, 22, 21 + clen)
end
local function expire_like(key, score)
  if score == 'inf' then redis.call('PERSIST', key) else redis.call('EXPIREAT', key, score) end
end
local function top_score(key)
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  return top[2]
end
local function issue_one(h, row, exp)
  local kind, g, c = parse(row)
  local tk = p .. 't:' .. h
  redis.call('SET', tk, row)
  local score = '+inf'
  if tonumber(exp) < 253402300799 then
    redis.call('EXPIREAT', tk, exp)
    score = exp
  end
  local gk = p .. 'g:' .. g
  redis.call('RPUSH', gk, h)
  local ck = p .. 'c:' .. c
  redis.call('ZREMRANGEBYSCORE', ck, '-inf', now)
  redis.call('ZADD', ck, 'GT', score, g)
  expire_like(gk, redis.call('ZSCORE', ck, g))
  expire_like(ck, top_score(ck))
  local all = p .. 'clients'
  redis.call('ZREMRANGEBYSCORE', all, '-inf', now)
  redis.call('ZADD', all, 'GT', score, c)
  expire_like(all, top_score(all))
end
local out = {}
local function drop_token(h)
  local tk = p .. 't:' .. h
  local row = redis.call('GET', tk)
  if not row then return end
  local kind, g, c = parse(row)
  redis.call('DEL', tk)
  out[#out + 1] = h
  out[#out + 1] = row
  local gk = p .. 'g:' .. g
  redis.call('LREM', gk, 1, h)
  if redis.call('EXISTS', gk) == 0 then redis.call('ZREM', p .. 'c:' .. c, g) end
end
local function drop_grant(g)
  local gk = p .. 'g:' .. g
  local client = nil
  for _, h in ipairs(redis.call('LRANGE', gk, 0, -1)) do
    local tk = p .. 't:' .. h
    local row = redis.call('GET', tk)
    if row then
      redis.call('DEL', tk)
      out[#out + 1] = h
      out[#out + 1] = row
      if not client then
        local _, _, c = parse(row)
        client = c
      end
    end
  end
  redis.call('DEL', gk)
  if client then redis.call('ZREM', p .. 'c:' .. client, g) end
end
"#;

/// ARGV: prefix, now, then (hash, row, expiry) per token.
static ISSUE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r#"{PRELUDE}
for i = 3, #ARGV, 3 do issue_one(ARGV[i], ARGV[i + 1], ARGV[i + 2]) end
return #ARGV
"#
    ))
});

/// ARGV: prefix, now, parent, remove parent (1/0), max access tokens, then (hash, row,
/// expiry) per token. Returns 0 when the parent is gone (nothing changed), else 1.
static ISSUE_WHILE_PRESENT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r#"{PRELUDE}
local parent = ARGV[3]
local prow = redis.call('GET', p .. 't:' .. parent)
if not prow then return 0 end
local _, g, _ = parse(prow)
local gk = p .. 'g:' .. g
local new_access = 0
for i = 6, #ARGV, 3 do
  if string.sub(ARGV[i + 1], 1, 1) == 'a' then new_access = new_access + 1 end
end
local max_access = tonumber(ARGV[5])
local keep = max_access - math.min(new_access, max_access)
local live = {{}}
for _, h in ipairs(redis.call('LRANGE', gk, 0, -1)) do
  local row = redis.call('GET', p .. 't:' .. h)
  if not row then
    redis.call('LREM', gk, 1, h)
  elseif string.sub(row, 1, 1) == 'a' then
    live[#live + 1] = h
  end
end
for i = 1, #live - keep do drop_token(live[i]) end
if ARGV[4] == '1' then drop_token(parent) end
for i = 6, #ARGV, 3 do issue_one(ARGV[i], ARGV[i + 1], ARGV[i + 2]) end
return 1
"#
    ))
});

/// ARGV: prefix, now, then (what, value, kind) per victim: `t` hash, `g` grant, `c` client
/// with kind `a`, `r` or `` (every kind). Returns the removed (hash, row) pairs, flat.
static REVOKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r#"{PRELUDE}
for i = 3, #ARGV, 3 do
  local what, v, k = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if what == 't' then
    drop_token(v)
  elseif what == 'g' then
    drop_grant(v)
  else
    for _, g in ipairs(redis.call('ZRANGE', p .. 'c:' .. v, 0, -1)) do
      if k == '' then
        drop_grant(g)
      else
        for _, h in ipairs(redis.call('LRANGE', p .. 'g:' .. g, 0, -1)) do
          local row = redis.call('GET', p .. 't:' .. h)
          if row and string.sub(row, 1, 1) == k then drop_token(h) end
        end
      end
    end
  end
end
return out
"#
    ))
});

/// KEYS: the meta key; ARGV: value, channel, announcement. Stores and announces at once.
static SAVE_META: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
"#,
    )
});

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
        inv.arg(&self.prefix).arg(super::super::now());
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
            .arg(super::super::now())
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
        inv.arg(&self.prefix).arg(super::super::now());
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
            .arg(format!("({}", super::super::now()))
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
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
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

/// A throwaway `redis-server` on a free loopback port, for the tests and the benchmark (not
/// used by `revspec serve`). Append-only with `appendfsync always`, in its own temporary
/// folder, so [`LocalRedis::restart`] keeps every acknowledged change; killed when dropped.
#[doc(hidden)]
pub mod local {
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// Set to make a missing `redis-server` a failure instead of a skip (CI sets it).
    pub const REQUIRE_ENV: &str = "REVSPEC_REQUIRE_REDIS";
    /// A Redis to use instead of starting one (CI starts one for the tests).
    pub const URL_ENV: &str = "REVSPEC_REDIS_URL";

    /// The `redis-server` binary on PATH, if any.
    pub fn binary() -> Option<PathBuf> {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|d| d.join("redis-server"))
            .find(|p| p.is_file())
    }

    /// `None` when Redis tests can run here, else why not (printed by the caller as a skip);
    /// panics instead when `REVSPEC_REQUIRE_REDIS` is set (CI). `own`: the test must start
    /// its own `redis-server` (a given `REVSPEC_REDIS_URL` is not enough).
    pub fn skip_reason(own: bool) -> Option<String> {
        if binary().is_some() || (!own && std::env::var_os(URL_ENV).is_some()) {
            return None;
        }
        let why = "no redis-server on PATH (apt-get install redis-server)".to_owned();
        if std::env::var_os(REQUIRE_ENV).is_some() {
            panic!("{why}, and {REQUIRE_ENV} is set");
        }
        Some(why)
    }

    /// A key prefix no other test uses.
    pub fn unique_prefix(name: &str) -> String {
        format!(
            "revspec-test:{name}:{:016x}:",
            rand::RngCore::next_u64(&mut rand::rng())
        )
    }

    /// A private temporary folder, removed on drop.
    struct Dir(PathBuf);

    impl Dir {
        fn new() -> Self {
            let name = format!(
                "revspec-redis-{}-{:016x}",
                std::process::id(),
                rand::RngCore::next_u64(&mut rand::rng())
            );
            let path = std::env::temp_dir().join(name);
            std::fs::create_dir_all(&path).expect("a temporary folder");
            Self(path)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn ping(port: u16) -> bool {
        use std::io::{Read as _, Write as _};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let mut answer = [0u8; 5];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut answer).is_ok() && &answer == b"+PONG"
    }

    /// Starts `redis-server` on `port` with its data in `dir`; the child once it answers PING.
    fn launch(port: u16, dir: &Dir) -> Option<Child> {
        let mut child = Command::new(binary()?)
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--protected-mode", "yes"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(&dir.0)
            .args(["--loglevel", "warning", "--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if ping(port) {
                return Some(child);
            }
            if let Ok(Some(_)) = child.try_wait() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// A `redis-server` this process started (see the module's doc).
    pub struct LocalRedis {
        port: u16,
        dir: Dir,
        child: Option<Child>,
    }

    impl LocalRedis {
        /// Starts one; `None` when there is no `redis-server` (see [`skip_reason`]).
        pub fn start() -> Option<Self> {
            binary()?;
            let dir = Dir::new();
            // A port found free may be taken before redis binds it: a few tries.
            for _ in 0..5 {
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .expect("a free port")
                    .port();
                if let Some(child) = launch(port, &dir) {
                    return Some(Self {
                        port,
                        dir,
                        child: Some(child),
                    });
                }
            }
            panic!("redis-server did not start on a free loopback port in 5 tries");
        }

        /// `redis://127.0.0.1:PORT/DB`.
        pub fn url(&self, db: u8) -> String {
            format!("redis://127.0.0.1:{}/{db}", self.port)
        }

        /// Kills it (SIGKILL: every acknowledged change is already on disk).
        pub fn kill(&mut self) {
            if let Some(mut child) = self.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }

        /// Starts it again on the same port with the same data.
        pub fn restart(&mut self) {
            self.kill();
            self.child = Some(launch(self.port, &self.dir).expect("redis-server restarts"));
        }
    }

    impl Drop for LocalRedis {
        fn drop(&mut self) {
            self.kill();
        }
    }

    /// The Redis a test uses: the one `REVSPEC_REDIS_URL` names (CI's), or one of its own.
    pub enum TestRedis {
        Given(String),
        Own(LocalRedis),
    }

    impl TestRedis {
        /// `None` (with the reason printed) when Redis tests cannot run here.
        pub fn get() -> Option<Self> {
            if let Some(why) = skip_reason(false) {
                eprintln!("skipped: {why}");
                return None;
            }
            match std::env::var(URL_ENV) {
                Ok(url) => Some(Self::Given(url)),
                Err(_) => LocalRedis::start().map(Self::Own),
            }
        }

        /// The URL (with the database of a given URL, or 0).
        pub fn url(&self) -> String {
            match self {
                Self::Given(url) => url.clone(),
                Self::Own(local) => local.url(0),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_password_in_the_store_url_is_never_shown() {
        assert_eq!(
            super::shown_url("redis://:hunter2@127.0.0.1:6379/2"),
            "redis://:***@127.0.0.1:6379/2"
        );
        assert_eq!(
            super::shown_url("redis://app:hunter2@127.0.0.1:6379"),
            "redis://app:***@127.0.0.1:6379"
        );
        assert_eq!(
            super::shown_url("redis://127.0.0.1:6379/1"),
            "redis://127.0.0.1:6379/1"
        );
        assert!(!super::shown_url("not a url:hunter2@host").contains("hunter2"));
    }

    use super::*;

    #[test]
    fn rows_carry_what_the_scripts_read_and_round_trip() {
        let record = TokenRecord {
            kind: TokenKind::Refresh,
            client_id: "client-é".into(),
            grant_id: 0x0123_4567_89ab_cdef,
            subject: Some("alice".into()),
            scopes: vec!["openid".into()],
            issued_at: 1,
            expires_at: 2,
        };
        let row = encode_row(&record);
        assert_eq!(&row[..1], b"r");
        assert_eq!(&row[1..17], b"0123456789abcdef");
        assert_eq!(&row[17..21], b"0009");
        assert_eq!(&row[21..30], "client-é".as_bytes());
        assert_eq!(decode_row(&row).unwrap(), record);
        for n in 0..row.len() {
            assert!(decode_row(&row[..n]).is_err(), "{n}");
        }
        assert_eq!(expiry_arg(u64::MAX), FOREVER.to_string());
        assert_eq!(expiry_arg(7), "7");
    }

    use super::super::{hash_token, Store};
    use local::{unique_prefix, LocalRedis, TestRedis};

    fn record(kind: TokenKind, client: &str, grant: u64) -> TokenRecord {
        TokenRecord {
            kind,
            client_id: client.into(),
            grant_id: grant,
            subject: None,
            scopes: vec![],
            issued_at: 0,
            expires_at: super::super::super::now() + 3600,
        }
    }

    /// A store on the test Redis under a prefix of its own (`None`: skipped, reason printed).
    async fn store(redis: &TestRedis, name: &str) -> Store {
        Store::connect_redis(&redis.url(), &unique_prefix(name))
            .await
            .expect("connects")
    }

    /// A plain connection for looking at what the store wrote.
    async fn raw(redis: &TestRedis) -> ConnectionManager {
        let client = redis::Client::open(redis.url()).unwrap();
        ConnectionManager::new(client).await.unwrap()
    }

    fn prefix_of(store: &Store) -> String {
        store.shared().unwrap().prefix.clone()
    }

    #[tokio::test]
    async fn grant_revocation_touches_only_that_grant() {
        let Some(redis) = TestRedis::get() else {
            return;
        };
        let store = store(&redis, "grant").await;
        let first = store
            .issue_all(&[
                record(TokenKind::Access, "a", 1),
                record(TokenKind::Refresh, "a", 1),
            ])
            .await
            .unwrap();
        let other = store
            .issue(record(TokenKind::Access, "a", 2))
            .await
            .unwrap();
        assert!(store.get(&first[0]).await.unwrap().is_some());
        assert_eq!(store.revoke_grant(1).await.unwrap(), 2);
        for t in &first {
            assert!(store.get(t).await.unwrap().is_none());
        }
        assert_eq!(
            store.get(&other).await.unwrap().unwrap(),
            record(TokenKind::Access, "a", 2)
        );
        assert_eq!(store.revoke_grant(1).await.unwrap(), 0);
        // The grant's index went with it; the client keeps only grant 2.
        let mut conn = raw(&redis).await;
        let p = prefix_of(&store);
        let grants: Vec<String> = redis::cmd("ZRANGE")
            .arg(format!("{p}c:a"))
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(grants, vec![grant_hex(2)]);
        let exists: bool = redis::cmd("EXISTS")
            .arg(format!("{p}g:{}", grant_hex(1)))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(!exists);
    }

    #[tokio::test]
    async fn client_revocation_filters_by_kind_and_client_in_one_script() {
        let Some(redis) = TestRedis::get() else {
            return;
        };
        let store = store(&redis, "client").await;
        let a = store
            .issue_all(&[
                record(TokenKind::Access, "a", 1),
                record(TokenKind::Refresh, "a", 1),
                record(TokenKind::Access, "a", 2),
            ])
            .await
            .unwrap();
        let b = store
            .issue(record(TokenKind::Access, "b", 3))
            .await
            .unwrap();
        let before = store.transactions();
        assert_eq!(
            store
                .revoke_client("a", Some(TokenKind::Refresh))
                .await
                .unwrap(),
            1
        );
        assert_eq!(store.transactions(), before + 1);
        assert!(store.get(&a[0]).await.unwrap().is_some());
        assert!(store.get(&a[1]).await.unwrap().is_none());
        let mut clients = store.clients_with_tokens().await.unwrap();
        clients.sort();
        assert_eq!(clients, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(store.revoke_client("a", None).await.unwrap(), 2);
        assert!(store.get(&a[2]).await.unwrap().is_none());
        assert!(store.get(&b).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn many_victims_are_one_script_and_reinstate_puts_them_back() {
        let Some(redis) = TestRedis::get() else {
            return;
        };
        let store = store(&redis, "victims").await;
        let tokens = store
            .issue_all(&[
                record(TokenKind::Access, "a", 1),
                record(TokenKind::Refresh, "a", 1),
                record(TokenKind::Access, "a", 2),
                record(TokenKind::Access, "a", 3),
            ])
            .await
            .unwrap();
        let before = store.transactions();
        let removed = store
            .revoke(&[
                Victim::Grant(1),
                Victim::Token(hash_token(&tokens[2])),
                Victim::Grant(1),
            ])
            .await
            .unwrap();
        assert_eq!(removed.len(), 3);
        assert_eq!(store.transactions(), before + 1);
        // Nothing left to remove: no change counted.
        assert!(store.revoke(&[Victim::Grant(1)]).await.unwrap().is_empty());
        assert!(store.revoke(&[]).await.unwrap().is_empty());
        assert_eq!(store.transactions(), before + 1);
        assert!(store.get(&tokens[3]).await.unwrap().is_some());
        store.reinstate(&removed).await.unwrap();
        for t in &tokens {
            assert!(store.get(t).await.unwrap().is_some());
        }
        assert_eq!(store.revoke_grant(1).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn issue_while_present_needs_the_parent_rotates_it_and_caps_access_tokens() {
        let Some(redis) = TestRedis::get() else {
            return;
        };
        let store = store(&redis, "refresh").await;
        let first = store
            .issue_all(&[
                record(TokenKind::Access, "a", 1),
                record(TokenKind::Refresh, "a", 1),
            ])
            .await
            .unwrap();
        let parent = hash_token(&first[1]);
        let mut access = vec![first[0].clone()];
        for _ in 0..4 {
            let t = store
                .issue_while_present(&parent, &[record(TokenKind::Access, "a", 1)], false, 3)
                .await
                .unwrap()
                .unwrap();
            access.extend(t);
        }
        // The three newest access tokens and the refresh token remain.
        for (i, t) in access.iter().enumerate() {
            assert_eq!(store.get(t).await.unwrap().is_some(), i >= 2, "{i}");
        }
        let rotated = store
            .issue_while_present(
                &parent,
                &[
                    record(TokenKind::Access, "a", 1),
                    record(TokenKind::Refresh, "a", 1),
                ],
                true,
                3,
            )
            .await
            .unwrap()
            .unwrap();
        assert!(store.get(&first[1]).await.unwrap().is_none());
        assert!(store.get(&rotated[1]).await.unwrap().is_some());
        // Once the grant is revoked, its refresh token issues nothing.
        assert_eq!(store.revoke_grant(1).await.unwrap(), 4);
        let none = store
            .issue_while_present(
                &hash_token(&rotated[1]),
                &[record(TokenKind::Access, "a", 1)],
                false,
                3,
            )
            .await
            .unwrap();
        assert!(none.is_none());
        assert!(store.revoke_grant(1).await.unwrap() == 0);
    }

    #[tokio::test]
    async fn tokens_are_kept_only_as_hashes_and_expire_through_ttls() {
        let Some(redis) = TestRedis::get() else {
            return;
        };
        let store = store(&redis, "ttl").await;
        let p = prefix_of(&store);
        let now = super::super::super::now();
        let short = TokenRecord {
            expires_at: now + 2,
            ..record(TokenKind::Access, "a", 7)
        };
        let long = TokenRecord {
            kind: TokenKind::Refresh,
            expires_at: now + 1000,
            ..short.clone()
        };
        let tokens = store.issue_all(&[short, long]).await.unwrap();
        let mut conn = raw(&redis).await;
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS")
            .arg(format!("{p}*"))
            .query_async(&mut conn)
            .await
            .unwrap();
        let token_key = format!("{p}t:{}", hex::encode(hash_token(&tokens[0])));
        assert!(keys.contains(&token_key.clone().into_bytes()), "{keys:?}");
        for key in &keys {
            for t in &tokens {
                let key = String::from_utf8_lossy(key);
                assert!(!key.contains(t.as_str()), "a token in clear in {key}");
            }
            let value: Vec<u8> = match redis::cmd("GET").arg(key).query_async(&mut conn).await {
                Ok(v) => v,
                Err(_) => continue, // not a string
            };
            for t in &tokens {
                assert!(
                    !value.windows(t.len()).any(|w| w == t.as_bytes()),
                    "a token in clear"
                );
            }
        }
        let ttl = |key: String| {
            let mut conn = conn.clone();
            async move {
                let at: i64 = redis::cmd("EXPIRETIME")
                    .arg(key)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                at
            }
        };
        assert_eq!(ttl(token_key.clone()).await, (now + 2) as i64);
        // The grant and the client live as long as their longest-lived token.
        assert_eq!(
            ttl(format!("{p}g:{}", grant_hex(7))).await,
            (now + 1000) as i64
        );
        assert_eq!(ttl(format!("{p}c:a")).await, (now + 1000) as i64);
        // Redis removes the short-lived token by itself (polled, bounded).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while store.get(&tokens[0]).await.unwrap().is_some() {
            assert!(std::time::Instant::now() < deadline, "never expired");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(store.get(&tokens[1]).await.unwrap().is_some());
        assert_eq!(store.sweep_expired(now + 5000).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_meta_value_is_shared_and_announced_to_the_other_nodes() {
        let Some(redis) = TestRedis::get() else {
            return;
        };
        let prefix = unique_prefix("meta");
        let a = Store::connect_redis(&redis.url(), &prefix).await.unwrap();
        let b = Store::connect_redis(&redis.url(), &prefix).await.unwrap();
        let (stop_tx, stop) = watch::channel(false);
        let (tx, mut heard) = tokio::sync::mpsc::unbounded_channel();
        let follower = async {
            b.shared()
                .unwrap()
                .follow(stop, |change| {
                    let _ = tx.send(change);
                    async { true }
                })
                .await;
        };
        let writer = async {
            async fn wait(heard: &mut tokio::sync::mpsc::UnboundedReceiver<Change>) -> Change {
                tokio::time::timeout(Duration::from_secs(10), heard.recv())
                    .await
                    .expect("heard within 10 s")
                    .expect("still following")
            }
            assert_eq!(wait(&mut heard).await, Change::Resync);
            a.save_meta("settings", b"{}").await.unwrap();
            match wait(&mut heard).await {
                Change::Meta { key, stored_at_ms } => {
                    assert_eq!(key, "settings");
                    assert!(stored_at_ms > 0);
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(
                b.load_meta("settings").await.unwrap().as_deref(),
                Some(&b"{}"[..])
            );
            assert_eq!(b.load_meta("absent").await.unwrap(), None);
            stop_tx.send(true).unwrap();
        };
        tokio::join!(follower, writer);
    }

    #[tokio::test]
    async fn while_redis_is_down_every_unit_is_unavailable_and_recovers_with_it() {
        if let Some(why) = local::skip_reason(true) {
            eprintln!("skipped: {why}");
            return;
        }
        let mut redis = LocalRedis::start().expect("redis-server starts");
        let store = Store::connect_redis(&redis.url(0), &unique_prefix("down"))
            .await
            .unwrap();
        let kept = store
            .issue(record(TokenKind::Access, "a", 1))
            .await
            .unwrap();
        let doomed = store
            .issue(record(TokenKind::Access, "a", 2))
            .await
            .unwrap();
        redis.kill();
        let down = store.revoke_grant(2).await.unwrap_err();
        assert!(down.is_unavailable(), "{down}");
        assert_eq!(
            down.answer("x"),
            crate::server::error::OAuthError::temporarily_unavailable(1)
        );
        assert!(store.get(&kept).await.unwrap_err().is_unavailable());
        assert!(store
            .issue(record(TokenKind::Access, "a", 3))
            .await
            .unwrap_err()
            .is_unavailable());
        assert_eq!(store.shared().unwrap().unreachable(), 3);
        redis.restart();
        // The connection comes back by itself (a bounded number of attempts).
        let mut back = None;
        for _ in 0..50 {
            match store.get(&kept).await {
                Ok(found) => {
                    back = Some(found);
                    break;
                }
                Err(e) => {
                    assert!(e.is_unavailable(), "{e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        assert!(
            back.expect("reconnected").is_some(),
            "lost an acknowledged token"
        );
        // The revocation refused while Redis was down changed nothing; now it does.
        assert!(store.get(&doomed).await.unwrap().is_some());
        assert_eq!(store.revoke_grant(2).await.unwrap(), 1);
    }
}
