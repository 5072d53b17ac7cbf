//! A server's life on a socket: [`spawn`] binds, builds the state and serves the app (`net`)
//! beside its background tasks (the sweeper of expired tokens and, with a shared store, the
//! follower of other nodes' Config API changes); [`RunningServer`] stops it all and waits
//! until the store is closed.

use super::app::Gate;
use super::clock::{now, now_ms};
use super::net;
use super::options::ServeOptions;
use super::state::AppState;
use super::store::redis::Change;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long [`RunningServer::shutdown`] waits for connections, jobs and the app state.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A server running on a socket; dropping it (or [`RunningServer::shutdown`]) stops it.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub base_url: String,
    pub state: Arc<AppState>,
    stop: Option<watch::Sender<bool>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    /// Stops accepting connections, lets the open ones finish, stops the sweeper, finishes
    /// the pending background jobs, and waits for the app state to be released, so that the
    /// token store (and the lock on its data directory) is closed when this returns and a new
    /// server can open the same `--data-dir`.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        // A connection task drops its clone of the app (hence of the state) just after it
        // ends: on a multi-threaded runtime that can be a moment after the server task.
        let state = Arc::downgrade(&self.state);
        drop(self);
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        while state.strong_count() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
    }
}

/// Removes expired tokens every `sweep_interval` until `stop`.
async fn sweep(state: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
            () = tokio::time::sleep(state.limits.sweep_interval) => {
                match state.store.sweep_expired(now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!("swept {n} expired tokens"),
                    Err(e) => tracing::error!("sweep: {e}"),
                }
            }
        }
    }
}

/// With a shared store: takes in the Config API changes other nodes make, until `stop`.
async fn follow_other_nodes(state: Arc<AppState>, stop: watch::Receiver<bool>) {
    let Some(shared) = state.store.shared() else {
        return;
    };
    shared
        .follow(stop, |change| {
            let state = state.clone();
            async move {
                match change {
                    Change::Resync => state.follow_stored(None, std::time::Instant::now()).await,
                    Change::Doc {
                        doc, stored_at_ms, ..
                    } => {
                        // When it was stored (Redis's clock), on this node's clock.
                        let ago = now_ms().saturating_sub(stored_at_ms);
                        let now = std::time::Instant::now();
                        let at = now.checked_sub(Duration::from_millis(ago)).unwrap_or(now);
                        state.follow_stored(Some(&doc), at).await
                    }
                }
            }
        })
        .await;
}

/// Binds `addr` (port 0 picks a free one) and serves the reference server in a task.
pub async fn spawn(addr: SocketAddr, options: &ServeOptions) -> Result<RunningServer, String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot bind {addr}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let base_url = format!("http://{addr}");
    let state = Arc::new(AppState::connect(options, base_url.clone()).await?);
    let app = Gate::new(state.clone());
    let (stop, stopped) = watch::channel(false);
    let task = {
        let state = state.clone();
        tokio::spawn(async move {
            let sweeper = tokio::spawn(sweep(state.clone(), stopped.clone()));
            let follower = tokio::spawn(follow_other_nodes(state.clone(), stopped.clone()));
            net::serve(listener, app, &state.limits, stopped, SHUTDOWN_GRACE).await;
            let _ = sweeper.await;
            let _ = follower.await;
            state.jobs.finish(SHUTDOWN_GRACE).await;
        })
    };
    Ok(RunningServer {
        addr,
        base_url,
        state,
        stop: Some(stop),
        task: Some(task),
    })
}
