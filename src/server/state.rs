//! The state every handler shares ([`AppState`]): the configuration in force, the client
//! registry, the token store, the faults and quirks, and the values the Config API stored.
//!
//! What the Config API stores (settings, client scopes) outlives a run with a data directory,
//! and with a shared store reaches every node: a node takes in what another stored
//! ([`AppState::follow_stored`]) as if it had been stored here.

use super::clock::now;
use super::config::{Client, ServerConfig, Settings};
use super::extract::client_auth::prepare_dummy_digest;
use super::jobs::{Jobs, PausePoint};
use super::limits::Limits;
use super::options::ServeOptions;
use super::reload::LiveSettings;
use super::script::{RevokeScript, ScriptFailure};
use super::store::redis::shown_url;
use super::store::{hash_token, Store, StoreError, TokenHash, TokenRecord};
use crate::faults::quirks::{ClusterQuirk, Quirk};
use crate::faults::Fault;
use rustc_hash::FxHashMap;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The state shared by every handler.
pub struct AppState {
    pub issuer: String,
    /// Stored (Config API) and effective (in force) auth server settings.
    pub settings: LiveSettings,
    /// Shared, so that a request holds its client without copying it. Keyed by the ids of
    /// the configuration, which a request can look up but never add: FxHash is safe here
    /// (see `store/index.rs`).
    pub clients: RwLock<FxHashMap<String, Arc<Client>>>,
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
    tombstones: std::sync::Mutex<std::collections::HashSet<TokenHash>>,
    /// Revoked access tokens and their clients, kept only for the `bearer-revoked-accepted`
    /// fault.
    pub(crate) revoked_access: std::sync::Mutex<HashMap<TokenHash, String>>,
    /// The base URL of the mTLS listener (`mtls_endpoint_aliases`), when there is one.
    pub mtls_base: Option<String>,
    /// The CA that issues `tls_client_auth` certificates.
    pub client_ca: Option<super::tls::ClientCa>,
    /// Peers whose forwarded client-certificate headers are honoured.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The `jti`s of client assertions already used (with a shared store, Redis keeps them).
    jti_seen: std::sync::Mutex<HashMap<String, u64>>,
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
            .map_err(|e| format!("--store {}: {e}", shown_url(&shared.url)))?;
        let meta = StoredMeta::load(&store)
            .await
            .map_err(|e| format!("--store {}: {e}", shown_url(&shared.url)))?;
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
        prepare_dummy_digest();
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
            revoked_access: Default::default(),
            mtls_base: None,
            client_ca: config
                .tls_client_ca_pem
                .as_deref()
                .map(super::tls::ClientCa::from_pem)
                .transpose()
                .map_err(|e| format!("tls_client_ca_file: {e}"))?,
            trusted_proxies: config.trusted_proxies.clone(),
            jti_seen: Default::default(),
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

    pub fn remember_revoked(&self, hash: TokenHash) {
        self.tombstones
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(hash);
    }

    pub fn was_revoked(&self, token: &str) -> bool {
        self.tombstones
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&hash_token(token))
    }

    /// The settings in force (what the endpoints act on).
    pub fn settings(&self) -> Arc<Settings> {
        self.settings.effective_shared()
    }

    /// Stores new settings (persisted with a data directory); they apply on the next reload.
    pub async fn store_settings(&self, settings: Settings) -> Result<(), StoreError> {
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
    ) -> Result<bool, StoreError> {
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
    pub fn live_scopes(&self, record: &TokenRecord) -> Vec<String> {
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

    /// The URL of an endpoint on the mTLS listener (its `mtls_endpoint_aliases` entry).
    pub fn mtls_url(&self, path: &str) -> Option<String> {
        self.mtls_base.as_ref().map(|b| format!("{b}{path}"))
    }

    /// Records a client assertion's `jti` until `until_unix_ms` (its `exp` plus the clock
    /// skew): `true` the first time, `false` for a replay. With a shared store every node
    /// sees every use (Redis `SET NX`); otherwise a map swept of expired entries.
    pub async fn first_use(&self, key: &str, until_unix_ms: u64) -> Result<bool, StoreError> {
        if let Some(shared) = self.store.shared() {
            return shared.first_use(key, until_unix_ms).await;
        }
        let now_ms = super::clock::now_ms();
        let mut seen = self.jti_seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 10_000 {
            seen.retain(|_, until| *until > now_ms);
        }
        match seen.get(key) {
            Some(until) if *until > now_ms => Ok(false),
            _ => {
                seen.insert(key.to_owned(), until_unix_ms);
                Ok(true)
            }
        }
    }
}
