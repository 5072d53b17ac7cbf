//! A resolved target, ready to talk to: a [`Conn`] (profile, endpoints, clients, HTTP client)
//! with the discovery it was resolved from, the nodes of a cluster and the probe for each type
//! of token; and how a token's state is observed through them.

use super::client;
use super::cluster::{node_in_turn, Node};
use super::conn::Conn;
use super::discovery::{metadata_url, openid_url, Discovery, Endpoints, MetadataFallback};
use super::error::TargetError;
use super::http::{Exchange, HttpClient, Secrets};
use super::learned::Learned;
use super::probe::{self, Probe, TokenState};
use super::profile::{self, TargetProfile};
use super::trust;
use crate::catalogue::{Role, TokenType};
use serde_json::Value;
use url::Url;

/// How the harness trusts the target's certificates: the profile's CA bundle (`[tls]`), or
/// the system's roots. A CA file that cannot be read or holds no certificate names its key.
pub fn trust(profile: &TargetProfile) -> Result<client::tls::Trust, TargetError> {
    let tls = &profile.tls;
    let file = profile.source.display();
    let from_env = tls.ca_file_env.as_ref().and_then(|v| {
        std::env::var(v).ok().map(|p| {
            (
                format!("tls.ca_file_env ({v})"),
                std::path::PathBuf::from(p),
            )
        })
    });
    let chosen = from_env.or_else(|| {
        tls.ca_file
            .as_ref()
            .map(|p| ("tls.ca_file".to_owned(), profile.resolve_path(p)))
    });
    if chosen.is_none() {
        if let Some(var) = &tls.ca_file_env {
            return Err(TargetError::Profile(format!(
                "{file}: key `tls.ca_file_env`: environment variable {var} is not set (and no tls.ca_file)"
            )));
        }
    }
    let roots = match chosen {
        None => vec![],
        Some((key, path)) => {
            let pem = std::fs::read(&path).map_err(|e| {
                TargetError::Profile(format!(
                    "{file}: key `{key}`: cannot read {}: {e}",
                    path.display()
                ))
            })?;
            client::tls::ca_bundle(&pem).map_err(|e| {
                TargetError::Profile(format!("{file}: key `{key}`: {}: {e}", path.display()))
            })?
        }
    };
    Ok(client::tls::Trust {
        roots,
        with_system: tls.system_roots,
        accept_invalid: tls.accept_invalid_certs,
    })
}

/// The `mtls_endpoint_aliases` (RFC 8705 5) of the endpoints in use: (endpoint, alias) pairs.
fn mtls_aliases(
    discovery: &Discovery,
    endpoints: &Endpoints,
) -> Result<Vec<(Url, Url)>, TargetError> {
    let Some((doc, from)) = discovery.member("mtls_endpoint_aliases") else {
        return Ok(vec![]);
    };
    let Some(map) = doc.as_object() else {
        return Err(TargetError::Unreachable(format!(
            "{from}: mtls_endpoint_aliases is {}, not an object",
            super::discovery::type_name(doc)
        )));
    };
    let mut out = Vec::new();
    for (key, plain) in [
        ("revocation_endpoint", Some(&endpoints.revocation)),
        ("token_endpoint", endpoints.token.as_ref()),
        ("introspection_endpoint", endpoints.introspection.as_ref()),
        ("userinfo_endpoint", endpoints.userinfo.as_ref()),
    ] {
        let alias =
            super::discovery::url_member(map, key, &format!("{from}: mtls_endpoint_aliases"))
                .map_err(TargetError::Unreachable)?;
        if let (Some(plain), Some(alias)) = (plain, alias) {
            out.push((plain.clone(), alias));
        }
    }
    Ok(out)
}

/// A resolved target, ready to talk to (it derefs to its [`Conn`]).
pub struct Target {
    conn: Conn,
    /// What discovery read at start.
    pub discovery: Discovery,
    /// The merged discovery document as read at start (if any).
    pub discovery_doc: Option<Value>,
    /// The nodes of a cluster (empty for a single server).
    pub nodes: Vec<Node>,
    next_node: std::sync::atomic::AtomicUsize,
    access_probe: Option<Box<dyn Probe>>,
    refresh_probe: Option<Box<dyn Probe>>,
    learned: std::sync::RwLock<Learned>,
}

impl std::ops::Deref for Target {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl Target {
    /// Resolves the profile: secrets, then discovery (see [`super::discovery`]), then endpoint
    /// overrides. A target whose endpoints cannot be found or whose documents are unusable is
    /// an [`TargetError::Unreachable`] naming each URL tried and what it answered.
    pub async fn connect(profile: TargetProfile) -> Result<Target, TargetError> {
        let (mut clients, user) = client::resolve(&profile)?;
        let issuer =
            Url::parse(&profile.issuer).map_err(|e| TargetError::Profile(e.to_string()))?;
        let mut secrets = Secrets::default();
        for c in clients.values() {
            if let Some(s) = &c.secret {
                secrets.values.push(s.clone());
                secrets.pairs.push((c.id.clone(), s.clone()));
            }
        }
        if let Some((_, p)) = &user {
            secrets.values.push(p.clone());
        }
        let http = HttpClient::new(&profile.timeouts, &secrets, trust(&profile)?)?;
        http.set_deadline(profile.timeouts.run);
        let first_url = match &profile.discovery {
            Some(d) => Url::parse(d).map_err(|e| TargetError::Profile(e.to_string()))?,
            None => openid_url(&profile.issuer).map_err(TargetError::Profile)?,
        };
        let overrides = profile.endpoints.clone().unwrap_or_default();
        let fallback = if profile.discovery.is_some() || overrides.revocation.is_some() {
            MetadataFallback::Never
        } else {
            MetadataFallback::WhenNeeded
        };
        let discovery = Discovery::read(&http, &first_url, &metadata_url(&issuer), fallback).await;
        let pick = |over: Option<&String>, key: &str| -> Result<Option<Url>, TargetError> {
            match over {
                Some(s) => Ok(Url::parse(s).ok()),
                None => discovery.url(key).map_err(TargetError::Unreachable),
            }
        };
        let revocation = pick(overrides.revocation.as_ref(), "revocation_endpoint")?.ok_or_else(|| {
            TargetError::Unreachable(format!(
                "cannot find the revocation endpoint: {}. Set endpoints.revocation in {} to check this server anyway",
                discovery.tried().join("; "),
                profile.source.display()
            ))
        })?;
        let endpoints = Endpoints {
            revocation,
            token: pick(overrides.token.as_ref(), "token_endpoint")?,
            introspection: pick(overrides.introspection.as_ref(), "introspection_endpoint")?,
            userinfo: pick(overrides.userinfo.as_ref(), "userinfo_endpoint")?,
            discovery: first_url,
            metadata: discovery.metadata_url.clone(),
        };
        trust::check(&profile, &issuer, &discovery, &overrides, &endpoints)?;
        let mtls_aliases = mtls_aliases(&discovery, &endpoints)?;
        trust::check_aliases(&profile, &issuer, &mtls_aliases)?;
        client::bind(
            &mut clients,
            &client::Binding {
                issuer: &profile.issuer,
                token: endpoints.token.as_ref(),
                revocation: &endpoints.revocation,
                aliases: mtls_aliases.clone(),
            },
        );
        let nodes = profile
            .nodes
            .iter()
            .map(|base| {
                Node::derive(
                    base,
                    &profile.issuer,
                    &endpoints,
                    profile.node_endpoints.get(base),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        if profile.has_literal_secrets() {
            let remote = [
                Some(&endpoints.revocation),
                endpoints.token.as_ref(),
                endpoints.introspection.as_ref(),
                endpoints.userinfo.as_ref(),
            ]
            .into_iter()
            .flatten()
            .chain(mtls_aliases.iter().map(|(_, a)| a))
            .find(|u| !profile::is_loopback(u));
            if let Some(u) = remote {
                return Err(TargetError::Profile(format!(
                    "{}: discovery points at {u}, off loopback, and the profile holds literal secrets (use secret_env / password_env)",
                    profile.source.display()
                )));
            }
        }
        Ok(Target {
            access_probe: probe::for_kind(&profile, TokenType::Access),
            refresh_probe: probe::for_kind(&profile, TokenType::Refresh),
            discovery_doc: discovery.merged().map(Value::Object),
            discovery,
            conn: Conn {
                profile,
                endpoints,
                clients,
                user,
                http,
                mtls_aliases,
            },
            nodes,
            next_node: Default::default(),
            learned: Default::default(),
        })
    }

    /// What calibration learned about how this target revokes (defaults before it ran).
    pub fn learned(&self) -> Learned {
        *self.learned.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps what calibration learned, for the controls and confirmations that follow.
    pub fn learn(&self, learned: Learned) {
        *self.learned.write().unwrap_or_else(|p| p.into_inner()) = learned;
    }

    /// Revokes a token the way this target is known to honour for its type (see
    /// [`super::learned`]): what positive controls and settings confirmations send.
    pub async fn revoke_as_honoured(
        &self,
        role: Role,
        kind: TokenType,
        token: &str,
        log: &mut Vec<Exchange>,
    ) -> Result<super::http::HttpResponse, String> {
        let form = self.learned().shape(kind).form(kind, token);
        self.send_revocation(role, form, log).await
    }

    /// The node the next revocation goes through, in turn across the run (None: no nodes).
    pub fn next_node(&self) -> Option<&Node> {
        node_in_turn(&self.nodes, &self.next_node)
    }

    /// Where a token's state is looked at: every node of a cluster, or the target itself.
    pub fn observation_points(&self) -> Vec<(String, &Endpoints)> {
        if self.nodes.is_empty() {
            vec![(String::new(), &self.endpoints)]
        } else {
            self.nodes
                .iter()
                .map(|n| (n.base.clone(), &n.endpoints))
                .collect()
        }
    }

    /// The probe for a type of token, if the profile names one.
    pub fn probe(&self, kind: TokenType) -> Option<&dyn Probe> {
        match kind {
            TokenType::Access => self.access_probe.as_deref(),
            TokenType::Refresh => self.refresh_probe.as_deref(),
        }
    }

    /// Observes whether a token of `owner` is active, through the profile's probe for its
    /// type. `Err` means the probe could not tell (it names the URL and what came back).
    pub async fn observe(
        &self,
        owner: Role,
        kind: TokenType,
        token: &str,
    ) -> (Exchange, Result<TokenState, String>) {
        self.observe_at(&self.endpoints, owner, kind, token).await
    }

    /// [`Target::observe`] at given endpoints (one node's, for a cluster).
    pub async fn observe_at(
        &self,
        at: &Endpoints,
        owner: Role,
        kind: TokenType,
        token: &str,
    ) -> (Exchange, Result<TokenState, String>) {
        match self.probe(kind) {
            Some(probe) => probe::observe_at(probe, &self.conn, at, owner, token).await,
            None => (
                Exchange::not_sent("probe"),
                Err(format!(
                    "probes.{kind}_token is \"none\": no probe observes {kind} tokens"
                )),
            ),
        }
    }
}
