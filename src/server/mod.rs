//! The reference server (`revspec serve`): an OAuth 2.0 server that passes every rule of the
//! catalogue, built so that the harness and the load tester have a fast, configurable target.
//!
//! [`router`] builds the axum app from an [`AppState`]; [`spawn`] binds it to a socket and
//! serves it until the returned handle is dropped or shut down. Submodules own: the form and
//! client-authentication parsing (`request`), the error type (`error`), the token store
//! (`store`), the endpoints (`oauth`, `revoke`, `config_api`), faults (`faults`) and the
//! revoke interception script (`script`).

pub mod config;
pub mod config_api;
pub mod error;
pub mod faults;
pub mod oauth;
pub mod request;
pub mod revoke;
pub mod script;
pub mod store;

use axum::http::{header, HeaderValue, Method};
use axum::routing::{get, post};
use axum::Router;
use config::{Client, ServerConfig, Settings};
use faults::Fault;
use script::RevokeScript;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use store::Store;
use tokio::sync::oneshot;

/// The paths of the endpoints, as a Janssen server lays them out.
pub mod paths {
    pub const TOKEN: &str = "/jans-auth/restv1/token";
    pub const REVOKE: &str = "/jans-auth/restv1/revoke";
    pub const INTROSPECTION: &str = "/jans-auth/restv1/introspection";
    pub const USERINFO: &str = "/jans-auth/restv1/userinfo";
    pub const OIDC_DISCOVERY: &str = "/.well-known/openid-configuration";
    pub const AS_METADATA: &str = "/.well-known/oauth-authorization-server";
    pub const CONFIG: &str = "/jans-config-api/api/v1/jans-auth-server/config";
    pub const CLIENTS: &str = "/jans-config-api/api/v1/openid/clients";
    pub const HEALTH: &str = "/health";
}

/// Everything a server run is started with.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    pub config: Option<ServerConfig>,
    pub data_dir: Option<PathBuf>,
    pub fault: Option<Fault>,
    pub revoke_script: Option<PathBuf>,
    /// A revoke script given as source text (used when `revoke_script` is None).
    pub script_source: Option<String>,
}

/// The state shared by every handler.
pub struct AppState {
    pub issuer: String,
    pub settings: RwLock<Settings>,
    pub clients: RwLock<HashMap<String, Client>>,
    pub users: HashMap<String, String>,
    pub store: Store,
    pub fault: Option<Fault>,
    pub script: Option<RevokeScript>,
    pub cors_allowed_origins: Vec<String>,
    pub simulate_unavailable_header: bool,
    /// Hashes of revoked tokens, kept only for the `revoked-token-400` fault.
    tombstones: std::sync::Mutex<std::collections::HashSet<store::TokenHash>>,
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl AppState {
    /// Builds the state; the issuer is the externally visible base URL.
    pub fn new(options: &ServeOptions, issuer: String) -> Result<Self, String> {
        let config = options.config.clone().unwrap_or_else(ServerConfig::demo);
        let store = match &options.data_dir {
            Some(dir) => Store::open(dir, now()).map_err(|e| format!("{}: {e}", dir.display()))?,
            None => Store::in_memory(),
        };
        let script = match (&options.revoke_script, &options.script_source) {
            (Some(path), _) => Some(RevokeScript::load(path)?),
            (None, Some(source)) => Some(RevokeScript::compile(source, "built-in revoke script")?),
            (None, None) => None,
        };
        Ok(Self {
            issuer: config
                .issuer
                .clone()
                .unwrap_or(issuer)
                .trim_end_matches('/')
                .to_owned(),
            settings: RwLock::new(config.settings.clone()),
            clients: RwLock::new(
                config
                    .clients
                    .iter()
                    .map(|c| (c.id.clone(), c.clone()))
                    .collect(),
            ),
            users: config
                .users
                .iter()
                .map(|u| (u.username.clone(), u.password.clone()))
                .collect(),
            store,
            fault: options.fault,
            script,
            cors_allowed_origins: config.cors_allowed_origins.clone(),
            simulate_unavailable_header: config.simulate_unavailable_header,
            tombstones: Default::default(),
        })
    }

    pub fn has_fault(&self, fault: Fault) -> bool {
        self.fault == Some(fault)
    }

    pub fn remember_revoked(&self, hash: store::TokenHash) {
        self.tombstones
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(hash);
    }

    pub fn was_revoked(&self, token: &str) -> bool {
        self.tombstones
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&store::hash_token(token))
    }

    pub fn settings(&self) -> Settings {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn client(&self, id: &str) -> Option<Client> {
        self.clients
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }
}

/// The whole app: OAuth endpoints, discovery, the Config API, and the fault layer.
pub fn router(state: Arc<AppState>) -> Router {
    let cors = cors_layer(&state.cors_allowed_origins);
    let revoke_route = Router::new()
        .route(paths::REVOKE, post(revoke::revoke).get(revoke::revoke_get))
        .layer(cors);
    Router::new()
        .route(paths::TOKEN, post(oauth::token))
        .route(paths::INTROSPECTION, post(oauth::introspect))
        .route(paths::USERINFO, get(oauth::userinfo).post(oauth::userinfo))
        .route(paths::OIDC_DISCOVERY, get(oauth::oidc_discovery))
        .route(paths::AS_METADATA, get(oauth::as_metadata))
        .route(
            paths::CONFIG,
            get(config_api::get_config).patch(config_api::patch_config),
        )
        .route(
            &format!("{}/{{client_id}}", paths::CLIENTS),
            get(config_api::get_client).patch(config_api::patch_client),
        )
        .route(paths::HEALTH, get(|| async { "ok" }))
        .merge(revoke_route)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            revoke::fault_layer,
        ))
        .with_state(state)
}

fn cors_layer(origins: &[String]) -> tower_http::cors::CorsLayer {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    tower_http::cors::CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
}

/// How long [`RunningServer::shutdown`] waits for the app state to be released.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A server running on a socket; dropping it (or [`RunningServer::shutdown`]) stops it.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub base_url: String,
    pub state: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    /// Stops accepting connections, waits for the server task to end and then for the app
    /// state to be released, so that the token store (and the lock on its data directory) is
    /// closed when this returns and a new server can open the same `--data-dir`.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        // axum's graceful shutdown returns once every connection task has dropped its close
        // watcher, which each does just before it drops its connection (holding a clone of the
        // app, hence of the state): on a multi-threaded runtime that clone can outlive the
        // server task for a moment. Wait, bounded, for the last clone to go.
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
            let _ = stop.send(());
        }
    }
}

/// Binds `addr` (port 0 picks a free one) and serves the reference server in a task.
pub async fn spawn(addr: SocketAddr, options: &ServeOptions) -> Result<RunningServer, String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot bind {addr}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let base_url = format!("http://{addr}");
    let state = Arc::new(AppState::new(options, base_url.clone())?);
    let app = router(state.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(e) = server.await {
            tracing::error!("server error: {e}");
        }
    });
    Ok(RunningServer {
        addr,
        base_url,
        state,
        stop: Some(stop),
        task: Some(task),
    })
}

/// What `revspec serve` prints at start: endpoints, clients and users.
pub fn banner(state: &AppState, demo: bool) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "revspec reference server listening at {}\n",
        state.issuer
    ));
    for (name, path) in [
        ("discovery", paths::OIDC_DISCOVERY),
        ("metadata", paths::AS_METADATA),
        ("token", paths::TOKEN),
        ("revocation", paths::REVOKE),
        ("introspection", paths::INTROSPECTION),
        ("userinfo", paths::USERINFO),
        ("config api", paths::CONFIG),
    ] {
        out.push_str(&format!("  {name:<14} {}\n", state.url(path)));
    }
    if demo {
        out.push_str(
            "WARNING: demo credentials (public fixtures, never use them for anything real):\n",
        );
        for c in ServerConfig::demo().clients {
            out.push_str(&format!(
                "  client {:<14} secret {:<14} {:<20} scopes {}\n",
                c.id,
                c.secret.as_deref().unwrap_or("-"),
                c.auth_method.as_str(),
                c.scopes.join(" ")
            ));
        }
        for u in ServerConfig::demo().users {
            out.push_str(&format!(
                "  user   {:<14} password {}\n",
                u.username, u.password
            ));
        }
    } else {
        let clients = state.clients.read().unwrap_or_else(|p| p.into_inner());
        let mut ids: Vec<_> = clients
            .values()
            .map(|c| format!("{} ({})", c.id, c.auth_method.as_str()))
            .collect();
        ids.sort();
        out.push_str(&format!("  clients: {}\n", ids.join(", ")));
    }
    if let Some(fault) = state.fault {
        out.push_str(&format!(
            "FAULT INJECTED: {} ({}) breaks {}\n",
            fault.name(),
            fault.description(),
            fault.rules().join(", ")
        ));
    }
    if let Some(script) = &state.script {
        out.push_str(&format!("  revoke script: {script:?}\n"));
    }
    out
}
