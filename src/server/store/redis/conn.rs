//! The connections to Redis, and what their failures mean.
//!
//! Every connection has TCP keepalive and (on Linux) a TCP user timeout, so that a flow a NAT
//! or a load balancer dropped without a reset is noticed by the kernel. The main connection
//! ([`Conn`], shared by every unit) reconnects by itself after a dropped connection; a
//! connection that stays open but no longer answers (half-open: every round trip times out)
//! is replaced after [`TIMEOUTS_BEFORE_RECONNECT`] timeouts in a row, counted from the last
//! round trip known to have worked.
//!
//! A failure is unavailable (503, a later try may succeed) when Redis cannot be reached, times
//! out, is loading its data, is busy running a long script (`BUSY`) or is full (`OOM`); any
//! other is a failure (500).

use super::super::error::StoreError;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::io::tcp::{socket2::TcpKeepalive, TcpSettings};
use redis::{ErrorKind, IntoConnectionInfo as _, RedisError, ServerErrorKind};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How long one Redis round trip may take before the unit fails as unavailable.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long connecting to Redis may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How many round trips in a row may time out before the main connection is replaced.
pub const TIMEOUTS_BEFORE_RECONNECT: u32 = 3;
/// TCP keepalive: the first probe after this much idle time...
const KEEPALIVE_IDLE: Duration = Duration::from_secs(10);
/// ...then one probe every this long.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
/// How long sent data may stay unacknowledged before the kernel drops the connection (Linux).
#[cfg(target_os = "linux")]
const USER_TIMEOUT: Duration = Duration::from_secs(10);

/// A Redis client for `url` whose connections have TCP keepalive (and a user timeout).
pub fn client(url: &str) -> Result<redis::Client, RedisError> {
    let info = url.into_connection_info()?;
    let keepalive = TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL);
    let tcp = info.tcp_settings().clone().set_keepalive(keepalive);
    #[cfg(target_os = "linux")]
    let tcp: TcpSettings = tcp.set_user_timeout(USER_TIMEOUT);
    redis::Client::open(info.set_tcp_settings(tcp))
}

/// Whether a Redis error means "cannot serve now" (503) rather than a failure (500): it cannot
/// be reached, is loading its data, is busy running a long script (`BUSY`), or is full
/// (`OOM`).
pub fn is_unreachable(e: &RedisError) -> bool {
    matches!(e.code(), Some("BUSY" | "OOM"))
        || e.is_io_error()
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

/// The main connection (see the module's doc). Cloning a handle is one reference count.
pub struct Conn {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    config: ConnectionManagerConfig,
    current: RwLock<ConnectionManager>,
    /// Round trips that timed out since the last one known to have worked.
    timeouts: AtomicU32,
    replacing: AtomicBool,
    replaced: AtomicU64,
    unreachable: AtomicU64,
}

impl Conn {
    /// Connects (at most [`CONNECT_TIMEOUT`] per try, one retry).
    pub async fn connect(client: redis::Client) -> Result<Self, RedisError> {
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let manager = ConnectionManager::new_with_config(client.clone(), config.clone()).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                config,
                current: RwLock::new(manager),
                timeouts: AtomicU32::new(0),
                replacing: AtomicBool::new(false),
                replaced: AtomicU64::new(0),
                unreachable: AtomicU64::new(0),
            }),
        })
    }

    /// A handle on the current connection.
    pub fn get(&self) -> ConnectionManager {
        self.inner
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A round trip worked: the connection answers.
    pub fn answered(&self) {
        self.inner.timeouts.store(0, Ordering::Relaxed);
    }

    /// What a failed round trip means for the unit that met it; counts it, and replaces a
    /// connection that keeps timing out.
    pub fn error(&self, e: RedisError) -> StoreError {
        if e.is_timeout() {
            let timeouts = self.inner.timeouts.fetch_add(1, Ordering::Relaxed) + 1;
            if timeouts >= TIMEOUTS_BEFORE_RECONNECT {
                self.replace();
            }
        }
        if is_unreachable(&e) {
            self.inner.unreachable.fetch_add(1, Ordering::Relaxed);
            StoreError::unavailable(format!("redis: {e}"))
        } else {
            StoreError::failed(format!("redis: {e}"))
        }
    }

    /// How many units failed because Redis could not be reached (each answered 503).
    pub fn unreachable(&self) -> u64 {
        self.inner.unreachable.load(Ordering::Relaxed)
    }

    /// How many times the main connection was replaced after timeouts.
    pub fn replaced(&self) -> u64 {
        self.inner.replaced.load(Ordering::Relaxed)
    }

    /// Opens a new connection in the background and puts it in place of the current one
    /// (the units still waiting on the old one time out as they would have).
    fn replace(&self) {
        if self.inner.replacing.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let fresh = tokio::time::timeout(
                CONNECT_TIMEOUT * 3,
                ConnectionManager::new_with_config(inner.client.clone(), inner.config.clone()),
            )
            .await;
            match fresh {
                Ok(Ok(manager)) => {
                    *inner.current.write().unwrap_or_else(|p| p.into_inner()) = manager;
                    inner.timeouts.store(0, Ordering::Relaxed);
                    inner.replaced.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        "redis: the connection stopped answering ({TIMEOUTS_BEFORE_RECONNECT} \
                         timeouts in a row); replaced by a new one"
                    );
                }
                Ok(Err(e)) => tracing::warn!("redis: cannot open a new connection: {e}"),
                Err(_) => tracing::warn!("redis: opening a new connection timed out"),
            }
            inner.replacing.store(false, Ordering::Release);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_have_keepalive_and_a_user_timeout() {
        let client = client("redis://127.0.0.1:6379/2").unwrap();
        let tcp = client.get_connection_info().tcp_settings();
        assert!(tcp.keepalive().is_some());
        #[cfg(target_os = "linux")]
        assert_eq!(tcp.user_timeout(), Some(USER_TIMEOUT));
        assert_eq!(client.get_connection_info().redis_settings().db(), 2);
    }
}
