//! The state every handler shares ([`AppState`]): the configuration in force, the client
//! registry, the token store, the faults and quirks, and the values the Config API stored.
//!
//! What the Config API stores (settings, client scopes) outlives a run with a data directory,
//! and with a shared store reaches every node: a node takes in what another stored
//! ([`AppState::follow_stored`]) as if it had been stored here. Each document (the settings,
//! one client's scopes) is held at the version it was stored at: a write is a compare-and-set
//! on that version ([`AppState::update_settings`], [`AppState::update_client_scopes`]), retried
//! on a newer one, and nothing older than what a node holds is ever taken in, so no write
//! undoes another.

use super::clock::now;
use super::config::{Client, ServerConfig, Settings};
use super::extract::client_auth::prepare_dummy_digest;
use super::jobs::{Jobs, PausePoint};
use super::limits::Limits;
use super::options::ServeOptions;
use super::reload::LiveSettings;
use super::script::{RevokeScript, ScriptFailure};
use super::store::redis::shown_url;
use super::store::{hash_token, Doc, Saved, Store, StoreError, TokenHash, TokenRecord, Versioned};
use crate::faults::quirks::{ClusterQuirk, Quirk};
use crate::faults::Fault;
use rustc_hash::FxHashMap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

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
    /// The version of each Config API document this node holds; taken with the document's
    /// value changed under it, so that the two always agree.
    versions: Mutex<DocVersions>,
    pub(crate) refresh_pause: Option<PausePoint>,
    follow_pause: Option<PausePoint>,
    follow_delay: Option<std::time::Duration>,
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

/// The version of each Config API document a node holds (0: as configured, never stored).
#[derive(Debug, Default)]
struct DocVersions {
    settings: u64,
    scopes: HashMap<String, u64>,
}

impl DocVersions {
    fn of(&self, doc: &Doc) -> u64 {
        match doc {
            Doc::Settings => self.settings,
            Doc::ClientScopes(client) => self.scopes.get(client).copied().unwrap_or(0),
        }
    }

    /// The documents held at a stored version.
    fn stored(&self) -> Vec<Doc> {
        let settings = (self.settings > 0).then_some(Doc::Settings);
        let scopes = self
            .scopes
            .iter()
            .filter(|(_, v)| **v > 0)
            .map(|(client, _)| Doc::ClientScopes(client.clone()));
        settings.into_iter().chain(scopes).collect()
    }
}

/// How many times a Config API write is made again after another write came first.
const WRITE_TRIES: usize = 8;

/// Why a Config API write was not stored.
#[derive(Debug)]
pub enum WriteError<E> {
    /// The change itself was refused (the caller's reason).
    Refused(E),
    /// The store failed (or could not be reached).
    Store(StoreError),
    /// Other writes came first every time ([`WRITE_TRIES`] tries).
    Contended,
}

/// What the Config API stored in an earlier run (or on another node of a cluster).
struct StoredMeta {
    settings: Option<(Settings, u64)>,
    client_scopes: Vec<(String, Vec<String>, u64)>,
}

/// A stored document's JSON, read.
fn parse_doc<T: serde::de::DeserializeOwned>(doc: &Doc, value: &[u8]) -> Result<T, String> {
    serde_json::from_slice(value).map_err(|e| match doc {
        Doc::Settings => format!("stored settings: {e}"),
        Doc::ClientScopes(client) => format!("stored client scopes of {client}: {e}"),
    })
}

impl StoredMeta {
    async fn load(store: &Store) -> Result<Self, String> {
        let docs = store
            .load_docs()
            .await
            .map_err(|e| format!("stored configuration: {e}"))?;
        let mut meta = Self {
            settings: None,
            client_scopes: Vec::new(),
        };
        for (doc, Versioned { version, value }) in docs {
            match &doc {
                Doc::Settings => meta.settings = Some((parse_doc(&doc, &value)?, version)),
                Doc::ClientScopes(client) => {
                    let scopes = parse_doc(&doc, &value)?;
                    meta.client_scopes.push((client.clone(), scopes, version));
                }
            }
        }
        Ok(meta)
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
        let store = Store::connect_redis_with(&shared.url, &shared.prefix, &shared.options)
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
        store.limit_grants_per_client(options.limits.max_grants_per_client);
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
        let mut versions = DocVersions::default();
        let settings = match meta.settings {
            Some((settings, version)) => {
                versions.settings = version;
                settings
            }
            None => config.settings.clone(),
        };
        let mut clients: HashMap<String, Client> = config
            .clients
            .iter()
            .map(|c| (c.id.clone(), c.clone().prepared()))
            .collect();
        prepare_dummy_digest();
        for (id, scopes, version) in meta.client_scopes {
            if let Some(client) = clients.get_mut(&id) {
                client.scopes = scopes;
            }
            versions.scopes.insert(id, version);
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
            versions: Mutex::new(versions),
            refresh_pause: options.refresh_pause.clone(),
            follow_pause: options.follow_pause.clone(),
            follow_delay: options.follow_delay,
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

    fn lock_versions(&self) -> std::sync::MutexGuard<'_, DocVersions> {
        self.versions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes in a stored document if its version is newer than the one this node holds (as if
    /// stored here at `stored_at`: settings go through this node's periodic reload, client
    /// scopes apply at once); an older or the same version changes nothing.
    fn take_in(&self, doc: &Doc, stored: &Versioned, stored_at: Instant) -> Result<(), String> {
        let mut versions = self.lock_versions();
        if stored.version <= versions.of(doc) {
            return Ok(());
        }
        match doc {
            Doc::Settings => {
                let settings: Settings = parse_doc(doc, &stored.value)?;
                if settings != self.settings.stored() {
                    self.settings.store_at(settings, stored_at);
                }
                versions.settings = stored.version;
            }
            Doc::ClientScopes(id) => {
                let scopes: Vec<String> = parse_doc(doc, &stored.value)?;
                let mut clients = self.clients.write().unwrap_or_else(|p| p.into_inner());
                if let Some(client) = clients.get_mut(id) {
                    if client.scopes != scopes {
                        Arc::make_mut(client).scopes = scopes;
                    }
                }
                versions.scopes.insert(id.clone(), stored.version);
            }
        }
        Ok(())
    }

    /// Reads one document from the store again and takes it in if it is newer.
    async fn reload(&self, doc: &Doc) -> Result<(), StoreError> {
        if let Some(stored) = self.store.load_doc(doc).await? {
            self.take_in(doc, &stored, Instant::now())
                .map_err(StoreError::failed)?;
        }
        Ok(())
    }

    /// Takes in what was stored through the Config API, here or on another node: the announced
    /// document (`Some`), or every document after a (re)subscription, stored at `stored_at`;
    /// only what is newer than what this node holds. After a resubscription a document this
    /// node holds at a stored version but the store lacks (a Redis that lost its data) is
    /// stored again, loudly. `false` when the store could not be read (the caller tries again).
    pub async fn follow_stored(&self, doc: Option<&Doc>, stored_at: Instant) -> bool {
        let loaded = match doc {
            Some(doc) => self
                .store
                .load_doc(doc)
                .await
                .map(|found| found.map(|v| vec![(doc.clone(), v)]).unwrap_or_default()),
            None => self.store.load_docs().await,
        };
        let loaded = match loaded {
            Ok(loaded) => loaded,
            Err(e) => {
                tracing::warn!("cannot reload what another node stored: {e}");
                return false;
            }
        };
        if let (Some(pause), Some(_)) = (&self.follow_pause, doc) {
            pause.pause().await;
        }
        if let (Some(delay), Some(_)) = (self.follow_delay, doc) {
            tokio::time::sleep_until((stored_at + delay).into()).await;
        }
        for (doc, stored) in &loaded {
            if let Err(e) = self.take_in(doc, stored, stored_at) {
                tracing::error!("cannot take in what another node stored: {e}");
            }
        }
        if doc.is_none() {
            let missing: Vec<Doc> = self
                .lock_versions()
                .stored()
                .into_iter()
                .filter(|held| !loaded.iter().any(|(d, _)| d == held))
                .collect();
            for doc in missing {
                if !self.store_again(&doc).await {
                    return false;
                }
            }
        }
        true
    }

    /// Stores again a document this node holds but the store lost.
    async fn store_again(&self, doc: &Doc) -> bool {
        let value = match doc {
            Doc::Settings => serde_json::to_vec(&self.settings.stored()),
            Doc::ClientScopes(id) => match self.client(id) {
                Some(client) => serde_json::to_vec(&client.scopes),
                None => return true,
            },
        }
        .unwrap_or_default();
        tracing::error!(
            "the store lost the Config API's {} (a Redis restarted without its data, or \
             flushed); this node stores its copy again",
            doc.name()
        );
        match self.store.save_doc(doc, 0, &value).await {
            Ok(Saved::Stored(_)) => true,
            // Another node stored it meanwhile: take that in.
            Ok(Saved::Conflict(_)) => self.reload(doc).await.is_ok(),
            Err(e) => {
                tracing::warn!("cannot store the Config API's {} again: {e}", doc.name());
                false
            }
        }
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

    /// Changes the stored settings with `edit` (given the settings this node holds) and stores
    /// the result as a compare-and-set on their version; when another write came first, takes
    /// it in and edits again (up to [`WRITE_TRIES`] times). The result applies on the next
    /// reload. Persisted (with a data directory or a shared store) before memory changes.
    pub async fn update_settings<E>(
        &self,
        edit: impl Fn(&Settings) -> Result<Settings, E>,
    ) -> Result<Settings, WriteError<E>> {
        let doc = Doc::Settings;
        for _ in 0..WRITE_TRIES {
            let (current, based_on) = {
                let versions = self.lock_versions();
                (self.settings.stored(), versions.settings)
            };
            let updated = edit(&current).map_err(WriteError::Refused)?;
            let value = serde_json::to_vec(&updated).unwrap_or_default();
            match self.store.save_doc(&doc, based_on, &value).await {
                Ok(Saved::Stored(version)) => {
                    let stored = Versioned { version, value };
                    self.take_in(&doc, &stored, Instant::now())
                        .map_err(|e| WriteError::Store(StoreError::failed(e)))?;
                    return Ok(updated);
                }
                Ok(Saved::Conflict(_)) => self.reload(&doc).await.map_err(WriteError::Store)?,
                Err(e) => return Err(WriteError::Store(e)),
            }
        }
        Err(WriteError::Contended)
    }

    /// Changes one client's scopes with `edit` (given the scopes this node holds), stored as
    /// a compare-and-set on that client's version alone (as [`AppState::update_settings`]);
    /// `None` if there is no such client.
    pub async fn update_client_scopes<E>(
        &self,
        id: &str,
        edit: impl Fn(&[String]) -> Result<Vec<String>, E>,
    ) -> Result<Option<Vec<String>>, WriteError<E>> {
        let doc = Doc::ClientScopes(id.to_owned());
        for _ in 0..WRITE_TRIES {
            let (current, based_on) = {
                let versions = self.lock_versions();
                match self.client(id) {
                    Some(client) => (client.scopes.clone(), versions.of(&doc)),
                    None => return Ok(None),
                }
            };
            let scopes = edit(&current).map_err(WriteError::Refused)?;
            let value = serde_json::to_vec(&scopes).unwrap_or_default();
            match self.store.save_doc(&doc, based_on, &value).await {
                Ok(Saved::Stored(version)) => {
                    let stored = Versioned { version, value };
                    self.take_in(&doc, &stored, Instant::now())
                        .map_err(|e| WriteError::Store(StoreError::failed(e)))?;
                    return Ok(Some(scopes));
                }
                Ok(Saved::Conflict(_)) => self.reload(&doc).await.map_err(WriteError::Store)?,
                Err(e) => return Err(WriteError::Store(e)),
            }
        }
        Err(WriteError::Contended)
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
