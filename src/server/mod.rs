//! The reference server (`revspec serve`): an OAuth 2.0 server that passes every rule of the
//! catalogue, built so that the harness and the load tester have a fast, configurable target,
//! and secure by default (`docs/security.md`).
//!
//! [`router`] builds the axum app from an [`AppState`]; [`spawn`] binds it to a socket and
//! serves it until the returned handle is dropped or shut down. Submodules own: the form and
//! client-authentication parsing (`request`), the error type (`error`), the token store
//! (`store`: memory, a data directory, or Redis shared by the nodes of a cluster, whose Config
//! API changes each node follows), stored versus effective settings (`reload`), the endpoints (`oauth`, `revoke`,
//! `config_api`), faults (`faults`), quirks (`quirks`), the revoke interception script
//! (`script`), resource limits (`limits`), the accept loop (`net`), background jobs (`jobs`)
//! and the hasher of the hot maps (`fasthash`).

pub mod config;
pub mod config_api;
pub mod error;
pub mod fasthash;

pub mod jobs;
pub mod limits;
pub mod net;
pub mod oauth;

pub mod reload;
pub mod request;
pub mod revoke;
pub mod script;
pub mod store;

use crate::faults::quirks::{ClusterQuirk, Quirk};
use crate::faults::Fault;
use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use config::{Client, ServerConfig, Settings};
use jobs::{Jobs, PausePoint};
use limits::Limits;
use reload::LiveSettings;
use script::{RevokeScript, ScriptFailure};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use store::Store;
use tokio::sync::watch;

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
    /// Keep tokens and settings in Redis, shared with every node started with the same store.
    pub store: Option<SharedStore>,
    pub fault: Option<Fault>,
    /// Conformant but unusual behaviours (`--quirk`, repeatable).
    pub quirks: Vec<Quirk>,
    /// Conformant but unusual behaviours between the nodes of a cluster (`--quirk`).
    pub cluster_quirks: Vec<ClusterQuirk>,
    /// How often the running server reloads the stored settings (0: a change applies at once).
    pub config_reload_delay: Duration,
    pub limits: Limits,
    /// What a failing revoke script means (Janssen's veto by default).
    pub script_failure: ScriptFailure,
    pub revoke_script: Option<PathBuf>,
    /// A revoke script given as source text (used when `revoke_script` is None).
    pub script_source: Option<String>,
    /// TEST-ONLY: the refresh grant waits here between its lookup and its issue, so that a
    /// test can make a revocation land in exactly that window. `revspec serve` never sets it.
    #[doc(hidden)]
    pub refresh_pause: Option<PausePoint>,
}

/// Where the nodes of a cluster keep their tokens and settings (`--store redis://...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedStore {
    /// `redis://HOST:PORT[/DB]`.
    pub url: String,
    /// The prefix of every key (one prefix, one server; `revspec:` from the command line).
    pub prefix: String,
}

impl SharedStore {
    /// A Redis store under the default prefix.
    pub fn redis(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: store::redis::DEFAULT_PREFIX.to_owned(),
        }
    }
}

/// The state shared by every handler.
pub struct AppState {
    pub issuer: String,
    /// Stored (Config API) and effective (in force) auth server settings.
    pub settings: LiveSettings,
    /// Shared, so that a request holds its client without copying it.
    pub clients: RwLock<fasthash::FoldMap<String, Arc<Client>>>,
    pub users: HashMap<String, String>,
    pub store: Store,
    pub fault: Option<Fault>,
    pub quirks: Vec<Quirk>,
    pub cluster_quirks: Vec<ClusterQuirk>,
    pub limits: Limits,
    pub script: Option<Arc<RevokeScript>>,
    pub script_failure: ScriptFailure,
    pub cors_allowed_origins: Vec<String>,
    pub simulate_unavailable_header: bool,
    /// Delayed work of faults and quirks, finished at shutdown.
    pub jobs: Jobs,
    /// Serializes Config API writes (read, patch a copy, store) without blocking readers.
    pub(crate) config_write: tokio::sync::Mutex<()>,
    pub(crate) refresh_pause: Option<PausePoint>,
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

/// The key of the persisted settings in the data directory.
const SETTINGS_KEY: &str = "settings";
/// The key of the persisted client scopes (a JSON map client id -> scopes).
const CLIENT_SCOPES_KEY: &str = "client_scopes";

/// What the Config API stored in an earlier run (or on another node of a cluster).
struct StoredMeta {
    settings: Option<Settings>,
    client_scopes: HashMap<String, Vec<String>>,
}

impl StoredMeta {
    async fn load(store: &Store) -> Result<Self, String> {
        let corrupt = |what: &str, e: &dyn std::fmt::Display| format!("stored {what}: {e}");
        let settings = match store
            .load_meta(SETTINGS_KEY)
            .await
            .map_err(|e| corrupt("settings", &e))?
        {
            Some(bytes) => {
                Some(serde_json::from_slice(&bytes).map_err(|e| corrupt("settings", &e))?)
            }
            None => None,
        };
        let client_scopes = match store
            .load_meta(CLIENT_SCOPES_KEY)
            .await
            .map_err(|e| corrupt("client scopes", &e))?
        {
            Some(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| corrupt("client scopes", &e))?
            }
            None => HashMap::new(),
        };
        Ok(Self {
            settings,
            client_scopes,
        })
    }
}

impl AppState {
    /// Builds the state with a local store (memory or `data_dir`); the issuer is the
    /// externally visible base URL. A shared store needs [`AppState::connect`].
    pub fn new(options: &ServeOptions, issuer: String) -> Result<Self, String> {
        if options.store.is_some() {
            return Err("a shared store is connected with AppState::connect".into());
        }
        let store = Self::local_store(options)?;
        // The local backends answer at once: nothing here waits on the async runtime.
        let meta = futures::executor::block_on(StoredMeta::load(&store))
            .map_err(|e| format!("data dir: {e}"))?;
        Self::build(options, issuer, store, meta)
    }

    /// Builds the state with any store: connects to a shared one (`options.store`) and
    /// reads what the Config API stored there.
    pub async fn connect(options: &ServeOptions, issuer: String) -> Result<Self, String> {
        let Some(shared) = &options.store else {
            return Self::new(options, issuer);
        };
        if options.data_dir.is_some() {
            return Err("--data-dir and --store cannot be used together".into());
        }
        let store = Store::connect_redis(&shared.url, &shared.prefix)
            .await
            .map_err(|e| format!("--store {}: {e}", store::redis::shown_url(&shared.url)))?;
        let meta = StoredMeta::load(&store)
            .await
            .map_err(|e| format!("--store {}: {e}", store::redis::shown_url(&shared.url)))?;
        Self::build(options, issuer, store, meta)
    }

    fn local_store(options: &ServeOptions) -> Result<Store, String> {
        Ok(match &options.data_dir {
            Some(dir) => Store::open(dir, now()).map_err(|e| format!("{}: {e}", dir.display()))?,
            None => Store::in_memory(),
        })
    }

    fn build(
        options: &ServeOptions,
        issuer: String,
        mut store: Store,
        meta: StoredMeta,
    ) -> Result<Self, String> {
        options.limits.validate()?;
        let config = options.config.clone().unwrap_or_else(ServerConfig::demo);
        if options.fault == Some(Fault::StaleNode) {
            store.cache_token_state(crate::faults::STALE_NODE_CACHE);
        }
        if options
            .cluster_quirks
            .contains(&ClusterQuirk::CrossNodeDelay)
        {
            store.cache_token_state(crate::faults::quirks::QUIRK_CROSS_NODE_DELAY);
        }
        let script = match (&options.revoke_script, &options.script_source) {
            (Some(path), _) => Some(RevokeScript::load(path, &options.limits)?),
            (None, Some(source)) => Some(RevokeScript::compile(
                source,
                "built-in revoke script",
                &options.limits,
            )?),
            (None, None) => None,
        };
        // What an earlier run (or another node) stored through the Config API wins over the
        // configuration.
        let settings = meta.settings.unwrap_or_else(|| config.settings.clone());
        let mut clients: HashMap<String, Client> = config
            .clients
            .iter()
            .map(|c| (c.id.clone(), c.clone().prepared()))
            .collect();
        request::prepare_dummy_digest();
        for (id, scopes) in meta.client_scopes {
            if let Some(client) = clients.get_mut(&id) {
                client.scopes = scopes;
            }
        }
        let mut reload_delay = options.config_reload_delay;
        if options.quirks.contains(&Quirk::ConfigReloadDelay) {
            reload_delay = reload_delay.max(crate::faults::quirks::QUIRK_RELOAD_DELAY);
        }
        let mut live = LiveSettings::new(
            settings,
            reload_delay,
            options.fault == Some(Fault::SettingNeverApplied),
        );
        if store.shared().is_some() {
            // Every node reloads on the same ticks, so a change applies on all at once.
            live.align_ticks_to_wall_clock();
        }
        Ok(Self {
            issuer: config
                .issuer
                .clone()
                .unwrap_or(issuer)
                .trim_end_matches('/')
                .to_owned(),
            settings: live,
            clients: RwLock::new(clients.into_iter().map(|(k, c)| (k, Arc::new(c))).collect()),
            users: config
                .users
                .iter()
                .map(|u| (u.username.clone(), u.password.clone()))
                .collect(),
            store,
            fault: options.fault,
            quirks: options.quirks.clone(),
            cluster_quirks: options.cluster_quirks.clone(),
            limits: options.limits.clone(),
            script: script.map(Arc::new),
            script_failure: options.script_failure,
            cors_allowed_origins: config.cors_allowed_origins.clone(),
            simulate_unavailable_header: config.simulate_unavailable_header,
            jobs: Jobs::default(),
            config_write: tokio::sync::Mutex::new(()),
            refresh_pause: options.refresh_pause.clone(),
            tombstones: Default::default(),
        })
    }

    /// Takes in what another node stored through the Config API (`key`, or every value
    /// after a resubscription), as if stored here at `stored_at`: settings go through this
    /// node's periodic reload like a local change, client scopes apply at once. `false` when
    /// the store could not be read (the caller tries again).
    pub async fn follow_stored(&self, key: Option<&str>, stored_at: std::time::Instant) -> bool {
        let meta = match StoredMeta::load(&self.store).await {
            Ok(meta) => meta,
            Err(e) => {
                tracing::warn!("cannot reload what another node stored: {e}");
                return false;
            }
        };
        if key.is_none_or(|k| k == SETTINGS_KEY) {
            if let Some(settings) = meta.settings {
                if settings != self.settings.stored() {
                    self.settings.store_at(settings, stored_at);
                }
            }
        }
        if key.is_none_or(|k| k == CLIENT_SCOPES_KEY) {
            let mut clients = self.clients.write().unwrap_or_else(|p| p.into_inner());
            for (id, scopes) in meta.client_scopes {
                if let Some(client) = clients.get_mut(&id) {
                    if client.scopes != scopes {
                        Arc::make_mut(client).scopes = scopes;
                    }
                }
            }
        }
        true
    }

    pub fn has_fault(&self, fault: Fault) -> bool {
        self.fault == Some(fault)
    }

    pub fn has_quirk(&self, quirk: Quirk) -> bool {
        self.quirks.contains(&quirk)
    }

    pub fn has_cluster_quirk(&self, quirk: ClusterQuirk) -> bool {
        self.cluster_quirks.contains(&quirk)
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

    /// The settings in force (what the endpoints act on).
    pub fn settings(&self) -> Arc<Settings> {
        self.settings.effective_shared()
    }

    /// Stores new settings (persisted with a data directory); they apply on the next reload.
    pub async fn store_settings(&self, settings: Settings) -> Result<(), store::StoreError> {
        let bytes = serde_json::to_vec(&settings).unwrap_or_default();
        self.store.save_meta(SETTINGS_KEY, &bytes).await?;
        self.settings.store(settings);
        Ok(())
    }

    /// Sets a client's scopes (persisted first with a data directory, so memory never holds a
    /// change the disk lost); `false` if there is no such client. Callers serialize writes.
    pub async fn set_client_scopes(
        &self,
        id: &str,
        scopes: Vec<String>,
    ) -> Result<bool, store::StoreError> {
        let mut all: HashMap<String, Vec<String>> = {
            let clients = self.clients.read().unwrap_or_else(|p| p.into_inner());
            if !clients.contains_key(id) {
                return Ok(false);
            }
            clients
                .values()
                .map(|c| (c.id.clone(), c.scopes.clone()))
                .collect()
        };
        all.insert(id.to_owned(), scopes.clone());
        let bytes = serde_json::to_vec(&all).unwrap_or_default();
        self.store.save_meta(CLIENT_SCOPES_KEY, &bytes).await?;
        let mut clients = self.clients.write().unwrap_or_else(|p| p.into_inner());
        Ok(match clients.get_mut(id) {
            Some(client) => {
                Arc::make_mut(client).scopes = scopes;
                true
            }
            None => false,
        })
    }

    pub fn client(&self, id: &str) -> Option<Arc<Client>> {
        self.clients
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// The scopes a token may use now: those it was issued with that its client still holds.
    pub fn live_scopes(&self, record: &store::TokenRecord) -> Vec<String> {
        let registered = self
            .client(&record.client_id)
            .map(|c| c.scopes.clone())
            .unwrap_or_default();
        record
            .scopes
            .iter()
            .filter(|s| registered.contains(s))
            .cloned()
            .collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }
}

/// The whole app: OAuth endpoints, discovery, the Config API, the fault and quirk layers and
/// the request timeout, as an axum `Router` (what tests drive with `oneshot`); [`spawn`]
/// serves the same [`Gate`] without the router around it.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new().fallback_service(Gate::new(state))
}

fn routes(state: Arc<AppState>) -> Router {
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
        .route(paths::HEALTH, get(oauth::health))
        .route(paths::REVOKE, post(revoke::revoke).get(revoke::revoke_get))
        .with_state(state)
}

fn cors_layer(origins: &[String], no_post: bool) -> tower_http::cors::CorsLayer {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    // The `cors-preflight-no-post` fault announces only GET.
    let method = if no_post { Method::GET } else { Method::POST };
    tower_http::cors::CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([method])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
}

/// What `tower_http`'s CORS layer adds to every answer it passes; added by hand to the
/// revocation answers that skip the layer (no `Origin`, not a preflight).
const CORS_VARY: HeaderValue = HeaderValue::from_static(
    "origin, access-control-request-method, access-control-request-headers",
);

/// The one wrapper around every route: it applies the request timeout, the CORS policy
/// (revocation endpoint only, and only for a cross-origin request or its preflight) and the
/// answer-reshaping faults and quirks (only when one is configured), so a request pays for one
/// wrapper, not one per layer. The two hot endpoints (`POST` revocation and token) are called
/// directly, exactly as their routes would call them; everything else goes through the routes.
/// Cloned for every request and connection: one reference count.
#[derive(Clone)]
pub struct Gate(Arc<GateInner>);

struct GateInner {
    state: Arc<AppState>,
    routes: Router,
    cors: tower_http::cors::Cors<Router>,
    /// A fault or quirk reshapes answers.
    reshape: bool,
}

impl Gate {
    pub fn new(state: Arc<AppState>) -> Self {
        let routes = routes(state.clone());
        let cors = tower::Layer::layer(
            &cors_layer(
                &state.cors_allowed_origins,
                state.has_fault(Fault::CorsPreflightNoPost),
            ),
            routes.clone(),
        );
        Self(Arc::new(GateInner {
            reshape: state.fault.is_some() || state.has_quirk(Quirk::TwoChallenges),
            state,
            routes,
            cors,
        }))
    }
}

impl<B> tower::Service<Request<B>> for Gate
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response, Self::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let req = req.map(Body::new);
        let gate = self.0.clone();
        let revoke_path = req.uri().path() == paths::REVOKE;
        let is_revoke = revoke_path && req.method() != Method::OPTIONS;
        // Only a cross-origin request (or its preflight) needs the CORS layer.
        let cross_origin = revoke_path
            && (req.method() == Method::OPTIONS || req.headers().contains_key(header::ORIGIN));
        let post = req.method() == Method::POST;
        let direct = if cross_origin || !post {
            None
        } else if revoke_path {
            Some(Direct::Revoke)
        } else if req.uri().path() == paths::TOKEN {
            Some(Direct::Token)
        } else {
            None
        };
        Box::pin(async move {
            let state = &gate.state;
            let answer = async {
                match direct {
                    Some(Direct::Revoke) => {
                        revoke::revoke(axum::extract::State(state.clone()), req)
                            .await
                            .into_response()
                    }
                    Some(Direct::Token) => oauth::token(axum::extract::State(state.clone()), req)
                        .await
                        .into_response(),
                    None if cross_origin => {
                        let Ok(response) = tower::ServiceExt::oneshot(gate.cors.clone(), req).await;
                        response
                    }
                    None => {
                        let Ok(response) =
                            tower::ServiceExt::oneshot(gate.routes.clone(), req).await;
                        response
                    }
                }
            };
            let mut response =
                match tokio::time::timeout(state.limits.request_timeout, answer).await {
                    Ok(response) => response,
                    // The timeout's own answer is never reshaped.
                    Err(_) => return Ok(error::OAuthError::request_timeout().into_response()),
                };
            if revoke_path && !cross_origin {
                response.headers_mut().append(header::VARY, CORS_VARY);
            }
            if gate.reshape {
                revoke::reshape_fault(state, is_revoke, &mut response);
                reshape_quirk(state, &mut response);
            }
            Ok(response)
        })
    }
}

/// The endpoints the [`Gate`] calls without the router.
#[derive(Clone, Copy)]
enum Direct {
    Revoke,
    Token,
}

/// Reshapes answers for the quirks that touch every endpoint.
fn reshape_quirk(state: &AppState, response: &mut Response) {
    if state.has_quirk(Quirk::TwoChallenges) && response.status() == StatusCode::UNAUTHORIZED {
        let headers = response.headers_mut();
        let bearer = headers
            .get(header::WWW_AUTHENTICATE)
            .filter(|v| v.as_bytes().starts_with(b"Bearer"))
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static("Bearer realm=\"revspec\""));
        headers.remove(header::WWW_AUTHENTICATE);
        headers.append(header::WWW_AUTHENTICATE, bearer);
        headers.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"revspec\""),
        );
    }
}

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
                    store::redis::Change::Resync => {
                        state.follow_stored(None, std::time::Instant::now()).await
                    }
                    store::redis::Change::Meta { key, stored_at_ms } => {
                        // When the other node stored it, on this node's clock.
                        let ago = u64::try_from(
                            SystemTime::now()
                                .duration_since(UNIX_EPOCH)
                                .map(|d| d.as_millis())
                                .unwrap_or(0),
                        )
                        .unwrap_or(u64::MAX)
                        .saturating_sub(stored_at_ms);
                        let now = std::time::Instant::now();
                        let at = now.checked_sub(Duration::from_millis(ago)).unwrap_or(now);
                        state.follow_stored(Some(&key), at).await
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
    for quirk in &state.quirks {
        out.push_str(&format!(
            "QUIRK: {} ({})\n",
            quirk.name(),
            quirk.description()
        ));
    }
    for quirk in &state.cluster_quirks {
        out.push_str(&format!(
            "QUIRK: {} ({})\n",
            quirk.name(),
            quirk.description()
        ));
    }
    let l = &state.limits;
    out.push_str(&format!(
        "  limits: header read {:?}, request {:?}, {} connections, {} tokens per grant, {} per revocation, sweep every {:?}\n",
        l.header_read_timeout,
        l.request_timeout,
        l.max_connections,
        l.max_tokens_per_grant,
        l.max_tokens_per_request,
        l.sweep_interval
    ));
    if let Some(script) = &state.script {
        out.push_str(&format!("  revoke script: {script:?}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_names_endpoints_demo_clients_faults_quirks_and_limits() {
        let options = ServeOptions {
            fault: Some(Fault::RevocationNoop),
            quirks: vec![Quirk::TwoChallenges],
            ..ServeOptions::default()
        };
        let state = AppState::new(&options, "http://127.0.0.1:9".into()).unwrap();
        let demo = banner(&state, true);
        for expected in [
            "revspec reference server listening at http://127.0.0.1:9\n",
            "http://127.0.0.1:9/jans-auth/restv1/revoke",
            "WARNING: demo credentials",
            "resource-server",
            "resource-secret",
            "client_secret_basic",
            "introspect_any",
            "user   alice",
            "FAULT INJECTED: revocation-noop",
            "QUIRK: two-challenges",
            "limits: header read 10s, request 30s, 512 connections, 100 tokens per grant",
        ] {
            assert!(
                demo.contains(expected),
                "{expected:?} missing from:\n{demo}"
            );
        }
        let configured = banner(&state, false);
        assert!(!configured.contains("resource-secret"), "{configured}");
        assert!(configured.contains("public-client (none)"), "{configured}");
    }
}
