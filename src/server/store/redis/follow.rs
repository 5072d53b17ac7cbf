//! Following the other nodes' Config API changes, and knowing that this node still does.
//!
//! A node subscribes to the announcements (`P changes@<db>`), reloads every document after each
//! (re)subscription, and pings the subscription every [`HEARTBEAT`]: a ping answered within
//! [`PING_DEADLINE`] proves that every announcement made before it has arrived (Redis answers
//! in order), so the node has *heard* every change stored until the ping was sent. A ping not
//! answered in time (a flow dropped without a reset, a black hole) ends the subscription: the
//! node subscribes again and reloads. While it is not subscribed it reloads through the main
//! connection every half second instead (*polled*).
//!
//! [`Liveness`] keeps when each last happened. A node that has neither heard nor polled for
//! [`STALE_AFTER`] acts on nothing (it answers 503), so a change stored through any node is in
//! force on every node that answers at most [`STALE_AFTER`] after it was stored (settings then
//! wait for the node's reload tick, as always); `/health` fails while the node has not heard
//! for [`STALE_AFTER`] (it cannot hear changes, even if it still catches up by polling).

use super::super::doc::Doc;
use futures::{FutureExt as _, StreamExt as _};
use redis::RedisError;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often the subscription is pinged (and Redis's eviction policy read again).
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long a ping may take.
pub const PING_DEADLINE: Duration = Duration::from_secs(2);
/// How long a node acts on what it holds without having heard (or polled) every change.
pub const STALE_AFTER: Duration = Duration::from_secs(5);
/// How long subscribing may take.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest pause between two tries to subscribe (each also polls).
const RETRY: Duration = Duration::from_millis(500);

/// What a node hears from the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A Config API document changed: stored at this version, at this time (Redis's clock,
    /// Unix milliseconds).
    Doc {
        doc: Doc,
        version: u64,
        stored_at_ms: u64,
    },
    /// (Re)subscribed, or not subscribed: anything may have changed; reload every document.
    Resync,
}

/// An announcement `<document> <version> <stored at, ms>` (a document's name may hold spaces).
pub fn parse_announcement(text: &str) -> Option<Change> {
    let mut parts = text.rsplitn(3, ' ');
    let stored_at_ms = parts.next()?.parse().ok()?;
    let version = parts.next()?.parse().ok()?;
    let doc = Doc::from_name(parts.next()?)?;
    Some(Change::Doc {
        doc,
        version,
        stored_at_ms,
    })
}

/// Until when a node is known to hold every stored change (see the module's doc).
#[derive(Debug)]
pub struct Liveness {
    start: Instant,
    /// Milliseconds from `start` to the last instant up to which every change was heard
    /// (0: never).
    heard: AtomicU64,
    /// The same, for a reload through the main connection.
    polled: AtomicU64,
}

impl Default for Liveness {
    fn default() -> Self {
        Self::new()
    }
}

impl Liveness {
    /// Polled now (a node reads every document when it starts), never heard.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            heard: AtomicU64::new(0),
            polled: AtomicU64::new(1),
        }
    }

    fn mark(&self, field: &AtomicU64, at: Instant) {
        let ms = u64::try_from(at.saturating_duration_since(self.start).as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        field.fetch_max(ms, Ordering::Relaxed);
    }

    fn within(&self, field: u64) -> bool {
        if field == 0 {
            return false;
        }
        let since = Duration::from_millis(field);
        self.start.elapsed().saturating_sub(since) <= STALE_AFTER
    }

    /// Every change stored until `at` has been heard.
    pub fn heard(&self, at: Instant) {
        self.mark(&self.heard, at);
    }

    /// Every change stored until `at` has been read through the main connection.
    pub fn polled(&self, at: Instant) {
        self.mark(&self.polled, at);
    }

    /// Whether this node hears changes (heard within [`STALE_AFTER`]).
    pub fn hears(&self) -> bool {
        self.within(self.heard.load(Ordering::Relaxed))
    }

    /// Whether what this node holds is recent enough to act on (heard or polled within
    /// [`STALE_AFTER`]).
    pub fn fresh(&self) -> bool {
        self.hears() || self.within(self.polled.load(Ordering::Relaxed))
    }
}

/// How listening on one subscription ended.
enum Ended {
    Stopped,
    Lost(String),
}

/// Follows the announcements on `channel` until `stop` says so (see the module's doc): `apply`
/// gets each one, and [`Change::Resync`] after every (re)subscription and while unsubscribed;
/// it answers whether it took the change in (a resync that could not is tried again at the
/// next heartbeat). `heartbeat` runs on every heartbeat and (re)subscription (this node's
/// checks of the main connection).
pub async fn follow<F, Fut, H, HFut>(
    client: &redis::Client,
    channel: &str,
    live: &Liveness,
    mut stop: watch::Receiver<bool>,
    mut apply: F,
    mut heartbeat: H,
) where
    F: FnMut(Change) -> Fut,
    Fut: Future<Output = bool>,
    H: FnMut() -> HFut,
    HFut: Future<Output = ()>,
{
    let mut pause = Duration::from_millis(50);
    loop {
        if *stop.borrow() {
            return;
        }
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(channel).await?;
            Ok::<_, RedisError>(pubsub)
        };
        let subscribed = tokio::select! {
            s = tokio::time::timeout(SUBSCRIBE_TIMEOUT, subscribed) => s,
            _ = stop.changed() => return,
        };
        match subscribed {
            Ok(Ok(pubsub)) => {
                pause = Duration::from_millis(50);
                match listen(pubsub, live, &mut stop, &mut apply, &mut heartbeat).await {
                    Ended::Stopped => return,
                    Ended::Lost(why) => tracing::warn!("redis: {why}; subscribing again"),
                }
            }
            Ok(Err(e)) => tracing::warn!("redis: cannot follow changes: {e}"),
            Err(_) => tracing::warn!("redis: subscribing to changes timed out"),
        }
        // Not subscribed: catch up through the main connection meanwhile.
        heartbeat().await;
        let started = Instant::now();
        if apply(Change::Resync).await {
            live.polled(started);
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = stop.changed() => return,
        }
        pause = (pause * 2).min(RETRY);
    }
}

/// Listens on one subscription, pinging it every heartbeat, until it is lost or `stop`.
async fn listen<F, Fut, H, HFut>(
    pubsub: redis::aio::PubSub,
    live: &Liveness,
    stop: &mut watch::Receiver<bool>,
    apply: &mut F,
    heartbeat: &mut H,
) -> Ended
where
    F: FnMut(Change) -> Fut,
    Fut: Future<Output = bool>,
    H: FnMut() -> HFut,
    HFut: Future<Output = ()>,
{
    let (mut sink, mut messages) = pubsub.split();
    let take = |message: redis::Msg| {
        let text: String = message.get_payload().unwrap_or_default();
        // Anything but `<document> <version> <stored at>`: reload every document.
        parse_announcement(&text).unwrap_or(Change::Resync)
    };
    // (Re)connected: Redis may have restarted with another policy.
    heartbeat().await;
    let started = Instant::now();
    let mut pending = !apply(Change::Resync).await;
    if !pending {
        // Subscribed before the reload: whatever is stored after it is announced.
        live.heard(started);
    }
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => return Ended::Stopped,
            message = messages.next() => {
                let Some(message) = message else {
                    return Ended::Lost("the change subscription ended".into());
                };
                if !apply(take(message)).await {
                    pending = true;
                }
            }
            _ = tick.tick() => {
                heartbeat().await;
                if pending {
                    pending = !apply(Change::Resync).await;
                }
                let sent = Instant::now();
                match tokio::time::timeout(PING_DEADLINE, sink.ping::<redis::Value>()).await {
                    Ok(Ok(_)) => {
                        // Every announcement made before the answer has arrived: take in
                        // those still waiting first.
                        while let Some(Some(message)) = messages.next().now_or_never() {
                            if !apply(take(message)).await {
                                pending = true;
                            }
                        }
                        if !pending {
                            live.heard(sent);
                        }
                    }
                    Ok(Err(e)) => {
                        return Ended::Lost(format!("the change subscription failed a ping: {e}"))
                    }
                    Err(_) => {
                        return Ended::Lost(format!(
                            "the change subscription did not answer a ping within \
                             {PING_DEADLINE:?}"
                        ))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_parse() {
        assert_eq!(
            parse_announcement("scopes:a client 17 1700"),
            Some(Change::Doc {
                doc: Doc::ClientScopes("a client".into()),
                version: 17,
                stored_at_ms: 1700,
            })
        );
        assert_eq!(
            parse_announcement("settings 3 4"),
            Some(Change::Doc {
                doc: Doc::Settings,
                version: 3,
                stored_at_ms: 4,
            })
        );
        assert_eq!(parse_announcement("settings 1700"), None);
        assert_eq!(parse_announcement("other 1 2"), None);
    }

    #[test]
    fn a_node_is_fresh_when_it_heard_or_polled_lately_and_hears_only_when_it_heard() {
        let live = Liveness::new();
        assert!(
            live.fresh() && !live.hears(),
            "polled at start, never heard"
        );
        live.heard(Instant::now());
        assert!(live.fresh() && live.hears());
        let old = Liveness {
            start: Instant::now() - STALE_AFTER * 3,
            heard: AtomicU64::new(0),
            polled: AtomicU64::new(1),
        };
        assert!(!old.fresh() && !old.hears());
        old.polled(Instant::now());
        assert!(old.fresh() && !old.hears());
        old.heard(Instant::now() - STALE_AFTER * 2);
        assert!(!old.hears(), "heard too long ago");
    }
}
