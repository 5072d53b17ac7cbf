//! Connection governance: the accept loop of a server run, over plain TCP or TLS.
//!
//! HTTP/1.1 through hyper with a timer, so that a client must finish sending a request's
//! headers (or its next request on a kept-alive connection) within the header-read timeout;
//! at most `max_connections` connections are served at once, and at most
//! `max_connections_per_peer` from one address (`peers`); one beyond either cap is closed as
//! soon as it is accepted, so a flood of idle or slow connections cannot take every file
//! descriptor, nor one address every slot. A connection that sends nothing within the
//! first-byte timeout is closed. Stopping ends the accept loop, then shuts the open connections
//! down gracefully (in-flight requests finish), bounded. Over TLS the handshake runs in the
//! connection's own task (after the first byte) under the header-read timeout, so a slow
//! handshake holds one slot, never the loop. Every request carries its connection's facts
//! ([`ConnInfo`]): the peer's address and, on a listener that asks for one, the client's
//! certificate chain.

use super::limits::Limits;
use super::peers::{first_byte, PeerSlots};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::CertificateDer;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// The largest request head (and read buffer) per connection.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// What a request's connection says about its client, in the request's extensions.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// The peer's address (a TLS terminator's, behind one).
    pub peer: SocketAddr,
    /// The client's certificate chain, leaf first, when it presented one.
    pub client_chain: Option<Arc<Vec<CertificateDer<'static>>>>,
    /// Whether the connection came in on the mTLS listener.
    pub mtls_listener: bool,
}

/// How a listener speaks: plain HTTP, or TLS with this acceptor (`mtls`: the listener that
/// asks for client certificates).
#[derive(Clone)]
pub struct Tls {
    pub acceptor: tokio_rustls::TlsAcceptor,
    pub mtls: bool,
}

/// Serves `app` on `listener` until `stop` turns true or its sender is dropped.
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: &Limits,
    tls: Option<Tls>,
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
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let app = app.clone();
        let tls = tls.clone();
        let handshake_deadline = limits.header_read_timeout;
        connections.spawn(async move {
            if first_byte(&stream, first_byte_timeout).await {
                let with_info = |info: ConnInfo| {
                    TowerToHyperService::new(tower::ServiceExt::map_request(
                        app,
                        move |mut r: axum::http::Request<hyper::body::Incoming>| {
                            r.extensions_mut().insert(info.clone());
                            r
                        },
                    ))
                };
                match tls {
                    None => {
                        let service = with_info(ConnInfo {
                            peer,
                            client_chain: None,
                            mtls_listener: false,
                        });
                        let connection = builder.serve_connection(TokioIo::new(stream), service);
                        if let Err(e) = watcher.watch(connection).await {
                            tracing::debug!("connection ended: {e}");
                        }
                    }
                    Some(tls) => {
                        match tokio::time::timeout(handshake_deadline, tls.acceptor.accept(stream))
                            .await
                        {
                            Ok(Ok(stream)) => {
                                let client_chain =
                                    stream.get_ref().1.peer_certificates().map(|c| {
                                        Arc::new(
                                            c.iter()
                                                .map(|c| c.clone().into_owned())
                                                .collect::<Vec<_>>(),
                                        )
                                    });
                                let service = with_info(ConnInfo {
                                    peer,
                                    client_chain,
                                    mtls_listener: tls.mtls,
                                });
                                let connection =
                                    builder.serve_connection(TokioIo::new(stream), service);
                                if let Err(e) = watcher.watch(connection).await {
                                    tracing::debug!("connection ended: {e}");
                                }
                            }
                            Ok(Err(e)) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
                            Err(_) => tracing::debug!("TLS handshake with {peer} timed out"),
                        }
                    }
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
