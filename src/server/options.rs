//! What a server run is started with: the options `revspec serve` resolves from its flags, and
//! the in-process servers of the harness and the tests build directly.

use super::config::ServerConfig;
use super::jobs::PausePoint;
use super::limits::Limits;
use super::script::ScriptFailure;
use super::store::redis::{RedisOptions, DEFAULT_PREFIX};
use crate::faults::quirks::{ClusterQuirk, Quirk};
use crate::faults::Fault;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Serve HTTPS (`--tls-cert/--tls-key`, or `--tls self-signed`), with a second listener
    /// asking for client certificates, published as `mtls_endpoint_aliases`.
    pub tls: Option<super::tls::TlsSource>,
    /// Where the mTLS listener binds (default: the main address's IP, a free port).
    pub mtls_bind: Option<std::net::SocketAddr>,
    /// TEST-ONLY: the refresh grant waits here between its lookup and its issue, so that a
    /// test can make a revocation land in exactly that window. `revspec serve` never sets it.
    #[doc(hidden)]
    pub refresh_pause: Option<PausePoint>,
    /// TEST-ONLY: with a shared store, the follower of other nodes' Config API changes waits
    /// here between reading an announced value and taking it in, so that a test can make a
    /// local write land in exactly that window. `revspec serve` never sets it.
    #[doc(hidden)]
    pub follow_pause: Option<PausePoint>,
    /// TEST-ONLY: with a shared store, the follower takes in an announced value only this long
    /// after it was stored (it reads it at once), as a node far from Redis would. `revspec
    /// serve` never sets it.
    #[doc(hidden)]
    pub follow_delay: Option<std::time::Duration>,
}

/// Where the nodes of a cluster keep their tokens and settings (`--store redis://...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedStore {
    /// `redis://HOST:PORT[/DB]`.
    pub url: String,
    /// The prefix of every key (one prefix, one server; `revspec:` from the command line).
    pub prefix: String,
    /// How the node connects to it.
    pub options: RedisOptions,
}

impl SharedStore {
    /// A Redis store under the default prefix.
    pub fn redis(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: DEFAULT_PREFIX.to_owned(),
            options: RedisOptions::default(),
        }
    }
}
