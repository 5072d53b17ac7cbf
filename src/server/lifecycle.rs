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
    /// Over TLS: the mTLS listener's base URL (`mtls_endpoint_aliases`).
    pub mtls_base_url: Option<String>,
    /// `--tls self-signed`: the CA file a client must trust.
    pub ca_file: Option<std::path::PathBuf>,
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

/// The TLS side of a run: the two listeners' configurations and the mTLS listener.
struct TlsRun {
    main: net::Tls,
    mtls: net::Tls,
    mtls_listener: tokio::net::TcpListener,
    mtls_addr: SocketAddr,
    ca_file: Option<std::path::PathBuf>,
}

async fn tls_run(
    source: &super::tls::TlsSource,
    addr: SocketAddr,
    mtls_bind: Option<SocketAddr>,
) -> Result<TlsRun, String> {
    let identity = match source {
        super::tls::TlsSource::Files { cert, key } => super::tls::from_files(cert, key)?,
        super::tls::TlsSource::SelfSigned { dir } => super::tls::self_signed(dir.as_deref())?,
    };
    let acceptor =
        |ask| super::tls::server_config(&identity, ask).map(tokio_rustls::TlsAcceptor::from);
    let mtls_bind = mtls_bind.unwrap_or_else(|| SocketAddr::new(addr.ip(), 0));
    let mtls_listener = tokio::net::TcpListener::bind(mtls_bind)
        .await
        .map_err(|e| format!("cannot bind the mTLS listener {mtls_bind}: {e}"))?;
    Ok(TlsRun {
        main: net::Tls {
            acceptor: acceptor(false)?,
            mtls: false,
        },
        mtls: net::Tls {
            acceptor: acceptor(true)?,
            mtls: true,
        },
        mtls_addr: mtls_listener.local_addr().map_err(|e| e.to_string())?,
        mtls_listener,
        ca_file: identity.ca_file.clone(),
    })
}

/// Binds `addr` (port 0 picks a free one) and serves the reference server in a task; over
/// TLS also the mTLS listener, on `options.mtls_bind` or a free port of the same IP.
pub async fn spawn(addr: SocketAddr, options: &ServeOptions) -> Result<RunningServer, String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot bind {addr}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let tls = match &options.tls {
        Some(source) => Some(tls_run(source, addr, options.mtls_bind).await?),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base_url = format!("{scheme}://{addr}");
    let mut state = AppState::connect(options, base_url.clone()).await?;
    let mtls_base_url = tls.as_ref().map(|t| format!("https://{}", t.mtls_addr));
    state.mtls_base = mtls_base_url.as_ref().map(|mtls| {
        match options.config.as_ref().and_then(|c| c.issuer.clone()) {
            // A configured issuer keeps its host; the alias is on the mTLS port.
            Some(issuer) => with_port(&issuer, tls.as_ref().map_or(0, |t| t.mtls_addr.port())),
            None => mtls.clone(),
        }
    });
    let state = Arc::new(state);
    let app = Gate::new(state.clone());
    let (stop, stopped) = watch::channel(false);
    let ca_file = tls.as_ref().and_then(|t| t.ca_file.clone());
    let task = {
        let state = state.clone();
        tokio::spawn(async move {
            let sweeper = tokio::spawn(sweep(state.clone(), stopped.clone()));
            let follower = tokio::spawn(follow_other_nodes(state.clone(), stopped.clone()));
            match tls {
                None => {
                    net::serve(listener, app, &state.limits, None, stopped, SHUTDOWN_GRACE).await;
                }
                Some(tls) => {
                    let limits = state.limits.clone();
                    let (mtls_app, mtls_stop) = (app.clone(), stopped.clone());
                    let mtls = tokio::spawn(async move {
                        net::serve(
                            tls.mtls_listener,
                            mtls_app,
                            &limits,
                            Some(tls.mtls),
                            mtls_stop,
                            SHUTDOWN_GRACE,
                        )
                        .await;
                    });
                    net::serve(
                        listener,
                        app,
                        &state.limits,
                        Some(tls.main),
                        stopped,
                        SHUTDOWN_GRACE,
                    )
                    .await;
                    let _ = mtls.await;
                }
            }
            let _ = sweeper.await;
            let _ = follower.await;
            state.jobs.finish(SHUTDOWN_GRACE).await;
        })
    };
    Ok(RunningServer {
        addr,
        base_url,
        mtls_base_url,
        ca_file,
        state,
        stop: Some(stop),
        task: Some(task),
    })
}

/// `https://HOST[:PORT]/PATH` with the port replaced.
fn with_port(url: &str, port: u16) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_port(Some(port));
            u.as_str().trim_end_matches('/').to_owned()
        }
        Err(_) => url.to_owned(),
    }
}
