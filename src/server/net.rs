//! Connection governance: the accept loop of a server run.
//!
//! HTTP/1.1 through hyper with a timer, so that a client must finish sending a request's
//! headers (or its next request on a kept-alive connection) within the header-read timeout;
//! at most `max_connections` connections are served at once, and at most
//! `max_connections_per_peer` from one address (`peers`); one beyond either cap is closed as
//! soon as it is accepted, so a flood of idle or slow connections cannot take every file
//! descriptor, nor one address every slot. A connection that sends nothing within the
//! first-byte timeout is closed. Stopping ends the accept loop, then shuts the open connections
//! down gracefully (in-flight requests finish), bounded.

use super::limits::Limits;
use super::peers::{first_byte, PeerSlots};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// The largest request head (and read buffer) per connection.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Serves `app` on `listener` until `stop` turns true or its sender is dropped.
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: &Limits,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) where
    S: tower::Service<
            axum::http::Request<hyper::body::Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let peers = PeerSlots::new(limits.max_connections_per_peer);
    let first_byte_timeout = limits.first_byte_timeout;
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(true);
    loop {
        let accepted = tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
                continue;
            }
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors or a connection reset before accept: wait a moment
                // rather than spin.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(peer_slot) = peers.try_acquire(peer.ip()) else {
            tracing::debug!("connection cap of {} reached; connection closed", peer.ip());
            drop(stream);
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!("connection cap reached; connection closed");
            drop(stream);
            continue;
        };
        while connections.try_join_next().is_some() {}
        let service = TowerToHyperService::new(app.clone());
        let builder = builder.clone();
        let watcher = graceful.watcher();
        connections.spawn(async move {
            if first_byte(&stream, first_byte_timeout).await {
                let connection = builder.serve_connection(TokioIo::new(stream), service);
                if let Err(e) = watcher.watch(connection).await {
                    tracing::debug!("connection ended: {e}");
                }
            }
            drop((slot, peer_slot));
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {grace:?}; closed");
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}
