//! A target: the server under test, as described by its profile (`profile`), resolved into
//! endpoints and credentials, with the HTTP client every request goes through (`http`), the
//! ways to mint and observe tokens, and the settings adapter (`settings`).
//!
//! Every request has a connect and a total timeout, reads at most [`http::BODY_CAP`] bytes,
//! follows no redirect, and is recorded as a redacted [`http::Exchange`].

pub mod http;
pub mod metadata;
pub mod probe;
pub mod profile;
pub mod settings;

use crate::report::escape;
use http::{Exchange, HttpClient, HttpResponse, RequestSpec};
pub use profile::{ClientAuth, ProbeKind, TargetProfile, TokenSourceKind};
use serde_json::Value;
use std::collections::HashMap;
use url::Url;

/// The role a client plays in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Primary,
    Other,
    RevokeAny,
    Public,
    Admin,
    /// A resource server allowed to introspect any client's tokens.
    Introspector,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "primary" => Role::Primary,
            "other" => Role::Other,
            "revoke-any" => Role::RevokeAny,
            "public" => Role::Public,
            "admin" => Role::Admin,
            "introspector" => Role::Introspector,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Other => "other",
            Role::RevokeAny => "revoke-any",
            Role::Public => "public",
            Role::Admin => "admin",
            Role::Introspector => "introspector",
        }
    }
}

/// A client with its secret resolved.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub id: String,
    pub auth: ClientAuth,
    pub secret: Option<String>,
    pub scope: Option<String>,
}

/// A problem with the target itself (not a rule verdict).
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("profile error: {0}")]
    Profile(String),
    #[error("{0}")]
    Unreachable(String),
    #[error("token minting failed: {0}")]
    Minting(String),
}

/// The password-grant user: (username, password).
pub type UserCredentials = (String, String);

/// The endpoints in use.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub revocation: Url,
    pub token: Option<Url>,
    pub introspection: Option<Url>,
    pub userinfo: Option<Url>,
    /// The OpenID discovery document.
    pub discovery: Url,
    /// The RFC 8414 authorization server metadata.
    pub metadata: Url,
}

/// One node of a cluster: its base URL and its endpoints.
#[derive(Debug, Clone)]
pub struct Node {
    pub base: String,
    pub endpoints: Endpoints,
}

impl Node {
    /// The node's endpoints: the issuer's, with the issuer's URL (or origin) replaced by the
    /// node's base URL, then the node's own overrides.
    fn derive(
        base: &str,
        issuer: &str,
        of_issuer: &Endpoints,
        overrides: Option<&profile::EndpointOverrides>,
    ) -> Result<Node, TargetError> {
        let issuer = issuer.trim_end_matches('/');
        let node = base.trim_end_matches('/');
        let move_to_node = |u: &Url| -> Option<Url> {
            let text = u.as_str();
            let moved = match text.strip_prefix(issuer) {
                Some(rest) => format!("{node}{rest}"),
                None => {
                    let origin = u.origin().ascii_serialization();
                    let base_origin = Url::parse(node).ok()?.origin().ascii_serialization();
                    format!("{base_origin}{}", &text[origin.len()..])
                }
            };
            Url::parse(&moved).ok()
        };
        let pick = |over: Option<&String>, issuer_url: Option<&Url>| -> Option<Url> {
            over.and_then(|s| Url::parse(s).ok())
                .or_else(|| issuer_url.and_then(move_to_node))
        };
        let o = overrides;
        let revocation = pick(
            o.and_then(|o| o.revocation.as_ref()),
            Some(&of_issuer.revocation),
        )
        .ok_or_else(|| {
            TargetError::Profile(format!(
                "node {base}: cannot derive its revocation endpoint"
            ))
        })?;
        Ok(Node {
            base: base.to_owned(),
            endpoints: Endpoints {
                revocation,
                token: pick(o.and_then(|o| o.token.as_ref()), of_issuer.token.as_ref()),
                introspection: pick(
                    o.and_then(|o| o.introspection.as_ref()),
                    of_issuer.introspection.as_ref(),
                ),
                userinfo: pick(
                    o.and_then(|o| o.userinfo.as_ref()),
                    of_issuer.userinfo.as_ref(),
                ),
                discovery: of_issuer.discovery.clone(),
                metadata: of_issuer.metadata.clone(),
            },
        })
    }
}

/// Tokens of one grant.
#[derive(Debug, Clone, Default)]
pub struct Minted {
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    /// The `scope` of the token answer, when it has one.
    pub scope: Option<String>,
}

/// What a probe saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Active,
    Inactive,
}

/// Which kind of token is being observed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Access,
    Refresh,
}

/// A resolved target, ready to talk to.
pub struct Target {
    pub profile: TargetProfile,
    pub endpoints: Endpoints,
    pub clients: HashMap<Role, Credentials>,
    pub user: Option<(String, String)>,
    pub http: HttpClient,
    /// The discovery document as read at start (if any).
    pub discovery_doc: Option<Value>,
    /// The nodes of a cluster (empty for a single server).
    pub nodes: Vec<Node>,
    next_node: std::sync::atomic::AtomicUsize,
    access_probe: Option<Box<dyn probe::Probe>>,
    refresh_probe: Option<Box<dyn probe::Probe>>,
}

fn env_secret(key: &str, var: &str) -> Result<String, TargetError> {
    std::env::var(var).map_err(|_| {
        TargetError::Profile(format!(
            "key `{key}`: environment variable {var} is not set"
        ))
    })
}

impl Target {
    /// Resolves secrets from the environment (no request yet).
    pub fn resolve_credentials(
        profile: &TargetProfile,
    ) -> Result<(HashMap<Role, Credentials>, Option<UserCredentials>), TargetError> {
        let file = profile.source.display().to_string();
        let with_file = |e: TargetError| match e {
            TargetError::Profile(m) => TargetError::Profile(format!("{file}: {m}")),
            other => other,
        };
        let mut clients = HashMap::new();
        for (role, c) in profile.client_roles() {
            let secret = match (&c.secret_env, &c.secret) {
                (Some(var), _) => match std::env::var(var) {
                    Ok(v) => Some(v),
                    Err(_) if c.secret.is_some() => c.secret.clone(),
                    Err(_) => {
                        return Err(with_file(
                            env_secret(&format!("clients.{role}.secret_env"), var).unwrap_err(),
                        ))
                    }
                },
                (None, s) => s.clone(),
            };
            let role = Role::parse(role).expect("known role");
            clients.insert(
                role,
                Credentials {
                    id: c.id.clone(),
                    auth: c.auth,
                    secret,
                    scope: c.scope.clone(),
                },
            );
        }
        let user = match &profile.user {
            Some(u) => {
                let password = match (&u.password_env, &u.password) {
                    (Some(var), literal) => match std::env::var(var) {
                        Ok(v) => v,
                        Err(_) => match literal {
                            Some(l) => l.clone(),
                            None => {
                                return Err(with_file(
                                    env_secret("user.password_env", var).unwrap_err(),
                                ))
                            }
                        },
                    },
                    (None, Some(l)) => l.clone(),
                    (None, None) => unreachable!("validated"),
                };
                Some((u.username.clone(), password))
            }
            None => None,
        };
        Ok((clients, user))
    }

    /// Resolves the profile: secrets, then discovery (the OpenID document, and the RFC 8414
    /// metadata when that has no revocation endpoint), then endpoint overrides. A target whose
    /// endpoints cannot be found or whose documents are unusable is an
    /// [`TargetError::Unreachable`] naming each URL tried and what it answered.
    pub async fn connect(profile: TargetProfile) -> Result<Target, TargetError> {
        let (clients, user) = Self::resolve_credentials(&profile)?;
        let issuer =
            Url::parse(&profile.issuer).map_err(|e| TargetError::Profile(e.to_string()))?;
        let mut secrets: Vec<String> = clients.values().filter_map(|c| c.secret.clone()).collect();
        if let Some((_, p)) = &user {
            secrets.push(p.clone());
        }
        let http = HttpClient::new(&issuer, &profile.timeouts, secrets)?;
        let base = profile.issuer.trim_end_matches('/').to_owned();
        let discovery = match &profile.discovery {
            Some(d) => Url::parse(d).map_err(|e| TargetError::Profile(e.to_string()))?,
            None => Url::parse(&format!("{base}/.well-known/openid-configuration")).expect("valid"),
        };
        let metadata = {
            let mut u = issuer.clone();
            let path = format!(
                "/.well-known/oauth-authorization-server{}",
                issuer.path().trim_end_matches('/')
            );
            u.set_path(&path);
            u
        };
        let overrides = profile
            .endpoints
            .clone()
            .unwrap_or(profile::EndpointOverrides {
                revocation: None,
                token: None,
                introspection: None,
                userinfo: None,
            });
        let mut tried: Vec<String> = Vec::new();
        let (_, first) = metadata::fetch(&http, &discovery).await;
        let mut doc = match first {
            metadata::Document::Found(d) => {
                if !d.contains_key("revocation_endpoint") {
                    tried.push(format!("{discovery}: no revocation_endpoint"));
                }
                Some(d)
            }
            metadata::Document::Missing(w) | metadata::Document::Unusable(w) => {
                tried.push(w);
                None
            }
        };
        let has_revocation = |d: &Option<serde_json::Map<String, Value>>| {
            d.as_ref()
                .is_some_and(|d| d.contains_key("revocation_endpoint"))
        };
        if !has_revocation(&doc) && profile.discovery.is_none() && overrides.revocation.is_none() {
            // Some servers publish revocation_endpoint only in the RFC 8414 metadata.
            let (_, second) = metadata::fetch(&http, &metadata).await;
            match second {
                metadata::Document::Found(mut merged) => {
                    if !merged.contains_key("revocation_endpoint") {
                        tried.push(format!("{metadata}: no revocation_endpoint"));
                    }
                    // Keep what the OpenID document had that the metadata lacks (userinfo).
                    for (k, v) in doc.take().unwrap_or_default() {
                        merged.entry(k).or_insert(v);
                    }
                    doc = Some(merged);
                }
                metadata::Document::Missing(w) | metadata::Document::Unusable(w) => tried.push(w),
            }
        }
        let doc_map = doc.clone().unwrap_or_default();
        let source = if profile.discovery.is_some() {
            discovery.to_string()
        } else {
            "the discovery metadata".to_owned()
        };
        let unusable = TargetError::Unreachable;
        let pick = |over: Option<&String>, key: &str| -> Result<Option<Url>, TargetError> {
            match over {
                Some(s) => Ok(Url::parse(s).ok()),
                None => metadata::url_member(&doc_map, key, &source).map_err(unusable),
            }
        };
        let revocation = pick(overrides.revocation.as_ref(), "revocation_endpoint")?.ok_or_else(|| {
            TargetError::Unreachable(format!(
                "cannot find the revocation endpoint: {}. Set endpoints.revocation in {} to check this server anyway",
                tried.join("; "),
                profile.source.display()
            ))
        })?;
        let endpoints = Endpoints {
            revocation,
            token: pick(overrides.token.as_ref(), "token_endpoint")?,
            introspection: pick(overrides.introspection.as_ref(), "introspection_endpoint")?,
            userinfo: pick(overrides.userinfo.as_ref(), "userinfo_endpoint")?,
            discovery,
            metadata,
        };
        let discovery_doc = doc.map(Value::Object);
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
            .find(|u| !profile::is_loopback(u));
            if let Some(u) = remote {
                return Err(TargetError::Profile(format!(
                    "{}: discovery points at {u}, off loopback, and the profile holds literal secrets (use secret_env / password_env)",
                    profile.source.display()
                )));
            }
        }
        Ok(Target {
            access_probe: probe::for_kind(&profile, Kind::Access),
            refresh_probe: probe::for_kind(&profile, Kind::Refresh),
            profile,
            endpoints,
            clients,
            user,
            http,
            discovery_doc,
            nodes,
            next_node: Default::default(),
        })
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

    pub fn credentials(&self, role: Role) -> Option<&Credentials> {
        self.clients.get(&role)
    }

    /// Whether the token source yields refresh tokens.
    pub fn mints_refresh_tokens(&self) -> bool {
        self.profile.tokens.source != TokenSourceKind::ClientCredentials
    }

    /// Adds the client's authentication to a form request, as it is registered.
    pub fn authenticate(&self, spec: &mut RequestSpec, client: &Credentials) {
        match client.auth {
            ClientAuth::ClientSecretBasic => {
                spec.basic = Some((client.id.clone(), client.secret.clone().unwrap_or_default()));
            }
            ClientAuth::ClientSecretPost => {
                spec.form.push(("client_id".into(), client.id.clone()));
                spec.form.push((
                    "client_secret".into(),
                    client.secret.clone().unwrap_or_default(),
                ));
            }
            ClientAuth::None => spec.form.push(("client_id".into(), client.id.clone())),
        }
    }

    /// Mints one grant for a client through the profile's token source.
    pub async fn mint(&self, role: Role) -> (Vec<Exchange>, Result<Minted, TargetError>) {
        let Some(client) = self.credentials(role) else {
            return (
                vec![],
                Err(TargetError::Minting(format!(
                    "the profile has no {} client",
                    role.name()
                ))),
            );
        };
        match self.profile.tokens.source {
            TokenSourceKind::Command => (vec![], self.mint_by_command(role, client).await),
            kind => {
                let Some(token_url) = self.endpoints.token.clone() else {
                    return (
                        vec![],
                        Err(TargetError::Minting(
                            "no token endpoint (set endpoints.token)".into(),
                        )),
                    );
                };
                let mut spec = RequestSpec::post_form(token_url.clone(), vec![]);
                if kind == TokenSourceKind::Password {
                    let (username, password) = self.user.clone().unwrap_or_default();
                    spec.form.push(("grant_type".into(), "password".into()));
                    spec.form.push(("username".into(), username));
                    spec.form.push(("password".into(), password));
                } else {
                    spec.form
                        .push(("grant_type".into(), "client_credentials".into()));
                }
                if let Some(scope) = &client.scope {
                    spec.form.push(("scope".into(), scope.clone()));
                }
                self.authenticate(&mut spec, client);
                let (exchange, response) = self.http.send(spec).await;
                let result = match response {
                    Err(e) => Err(TargetError::Unreachable(format!("{token_url}: {e}"))),
                    Ok(r) if r.status != 200 => Err(TargetError::Minting(format!(
                        "{token_url} refused a token for the {} client ({}): {}",
                        role.name(),
                        client.id,
                        r.describe()
                    ))),
                    Ok(r) => parse_minted(&r, &token_url).map_err(TargetError::Minting),
                };
                (vec![exchange], result)
            }
        }
    }

    /// Mints through the profile's external command. A command path with a `/` is resolved
    /// against the profile's folder (where it also runs); the command gets the issuer, the
    /// client id, its role and the name of the variable that holds its secret, and must print
    /// `{"access_token": ..., "refresh_token": ...}`. Its stderr (escaped, the last 2 KiB) is
    /// part of any error.
    async fn mint_by_command(
        &self,
        role: Role,
        client: &Credentials,
    ) -> Result<Minted, TargetError> {
        let argv = &self.profile.tokens.command;
        let folder = self
            .profile
            .source
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let program = std::path::Path::new(&argv[0]);
        let program = if argv[0].contains('/') && program.is_relative() {
            folder.join(program)
        } else {
            program.to_owned()
        };
        let secret_env = self
            .profile
            .client_roles()
            .into_iter()
            .find(|(r, _)| *r == role.name())
            .and_then(|(_, c)| c.secret_env.clone())
            .unwrap_or_default();
        let limit = self.profile.timeouts.token_command;
        let shown = format!("token command {}", escape::one_line(&format!("{argv:?}")));
        let mut cmd = tokio::process::Command::new(&program);
        cmd.args(&argv[1..])
            .current_dir(folder)
            .env("REVSPEC_ISSUER", &self.profile.issuer)
            .env("REVSPEC_CLIENT_ID", &client.id)
            .env("REVSPEC_CLIENT_ROLE", role.name())
            .env("REVSPEC_CLIENT_SECRET_ENV", secret_env)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let output = tokio::time::timeout(limit, cmd.output())
            .await
            .map_err(|_| {
                TargetError::Minting(format!(
                    "{shown} took over {} s (timeouts.token_command)",
                    limit.as_secs_f64()
                ))
            })?
            .map_err(|e| {
                TargetError::Minting(format!("{shown}: cannot run {}: {e}", program.display()))
            })?;
        let stderr = {
            let text = escape::visible_bytes(&output.stderr);
            let tail: String = text
                .chars()
                .rev()
                .take(2048)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if tail.trim().is_empty() {
                String::new()
            } else {
                format!("; its stderr: {}", tail.trim())
            }
        };
        if !output.status.success() {
            return Err(TargetError::Minting(format!(
                "{shown} exited with {}{stderr}",
                output.status
            )));
        }
        let value: Value = serde_json::from_slice(&output.stdout).map_err(|e| {
            TargetError::Minting(format!("{shown} printed no JSON object ({e}){stderr}"))
        })?;
        let get =
            |k: &str| metadata::string_member(&value, k, &shown).map_err(TargetError::Minting);
        match (get("access_token")?, get("refresh_token")?) {
            (None, None) => Err(TargetError::Minting(format!(
                "{shown} printed neither access_token nor refresh_token{stderr}"
            ))),
            (a, r) => Ok(Minted {
                access_token: a,
                refresh_token: r,
                scope: get("scope")?,
            }),
        }
    }

    /// Refreshes a grant: the new access token and, with rotation, the new refresh token.
    pub async fn refresh(
        &self,
        role: Role,
        refresh_token: &str,
    ) -> (Exchange, Result<Minted, TargetError>) {
        let client = self.credentials(role).cloned();
        let url = self.endpoints.token.clone();
        let (Some(client), Some(url)) = (client, url) else {
            return (
                Exchange::not_sent("refresh"),
                Err(TargetError::Minting("no token endpoint or client".into())),
            );
        };
        let mut spec = RequestSpec::post_form(
            url.clone(),
            vec![
                ("grant_type".into(), "refresh_token".into()),
                ("refresh_token".into(), refresh_token.into()),
            ],
        );
        self.authenticate(&mut spec, &client);
        let (exchange, response) = self.http.send(spec).await;
        let result = match response {
            Err(e) => Err(TargetError::Unreachable(format!("{url}: {e}"))),
            Ok(r) if r.status == 200 => parse_minted(&r, &url).map_err(TargetError::Minting),
            Ok(r) => Err(TargetError::Minting(format!(
                "{url} refused the refresh grant: {}",
                r.describe()
            ))),
        };
        (exchange, result)
    }

    /// The probe the profile names for a kind of token.
    pub fn probe_kind(&self, kind: Kind) -> ProbeKind {
        match kind {
            Kind::Access => self.profile.probes.access_token,
            Kind::Refresh => self.profile.probes.refresh_token,
        }
    }

    /// Which client introspects a token of `owner`: the profile's role, or with `"owner"` the
    /// owner itself (a public owner falls back to the introspector role, if any).
    pub fn introspecting_role(&self, owner: Role) -> Option<Role> {
        match self.profile.probes.introspection_client.as_str() {
            "owner" => {
                let public = self
                    .credentials(owner)
                    .is_some_and(|c| c.auth == ClientAuth::None);
                if public {
                    self.credentials(Role::Introspector)
                        .map(|_| Role::Introspector)
                } else {
                    Some(owner)
                }
            }
            name => Some(Role::parse(name).unwrap_or(Role::Primary)),
        }
    }

    /// Observes whether a token of `owner` is active, through the profile's probe for its
    /// kind. `Err` means the probe could not tell (it names the URL and what came back).
    pub async fn observe(
        &self,
        owner: Role,
        kind: Kind,
        token: &str,
    ) -> (Exchange, Result<TokenState, String>) {
        self.observe_at(&self.endpoints, owner, kind, token).await
    }

    /// [`Target::observe`] at given endpoints (one node's, for a cluster).
    pub async fn observe_at(
        &self,
        at: &Endpoints,
        owner: Role,
        kind: Kind,
        token: &str,
    ) -> (Exchange, Result<TokenState, String>) {
        let probe = match kind {
            Kind::Access => &self.access_probe,
            Kind::Refresh => &self.refresh_probe,
        };
        match probe {
            Some(probe) => probe::observe_at(probe.as_ref(), self, at, owner, token).await,
            None => (
                Exchange::not_sent("probe"),
                Err("the profile names no probe for this token type".into()),
            ),
        }
    }

    /// The request an owner sends to revoke a token plainly: a form POST with `token`, its
    /// registered authentication, no hint.
    pub fn revocation_request(
        &self,
        role: Role,
        form: Vec<(String, String)>,
    ) -> Option<RequestSpec> {
        let client = self.credentials(role)?;
        let mut spec = RequestSpec::post_form(self.endpoints.revocation.clone(), form);
        self.authenticate(&mut spec, client);
        Some(spec)
    }

    /// Revokes a token plainly (see [`Target::revocation_request`]); the answer's status.
    pub async fn revoke_plain(
        &self,
        role: Role,
        token: &str,
        log: &mut Vec<Exchange>,
    ) -> Result<u16, String> {
        let spec = self
            .revocation_request(role, vec![("token".into(), token.into())])
            .ok_or_else(|| format!("the profile has no {} client", role.name()))?;
        let url = spec.url.clone();
        let (exchange, answer) = self.http.send(spec).await;
        log.push(exchange);
        answer.map(|a| a.status).map_err(|e| format!("{url}: {e}"))
    }
}

fn parse_minted(r: &HttpResponse, url: &Url) -> Result<Minted, String> {
    if r.truncated {
        return Err(format!(
            "{url}: the token answer is larger than the {} KiB the harness reads",
            http::BODY_CAP / 1024
        ));
    }
    let v = r
        .json()
        .ok_or_else(|| format!("{url}: the token answer is not JSON: {}", r.describe()))?;
    let source = format!("{url}: the token answer");
    let minted = Minted {
        access_token: metadata::string_member(&v, "access_token", &source)?,
        refresh_token: metadata::string_member(&v, "refresh_token", &source)?,
        scope: metadata::string_member(&v, "scope", &source)?,
    };
    if minted.access_token.is_none() {
        return Err(format!(
            "{source} has no access_token: {}",
            r.text_snippet()
        ));
    }
    Ok(minted)
}

/// The next of `nodes` in turn, `turn` counting the choices made so far (shared by every
/// scenario of a run, so concurrent scenarios still spread evenly).
fn node_in_turn<'a>(nodes: &'a [Node], turn: &std::sync::atomic::AtomicUsize) -> Option<&'a Node> {
    if nodes.is_empty() {
        return None;
    }
    let i = turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    nodes.get(i % nodes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocations_go_through_the_nodes_in_turn_even_from_many_threads() {
        let nodes: Vec<Node> = ["http://n1", "http://n2", "http://n3"]
            .iter()
            .map(|b| Node {
                base: b.to_string(),
                endpoints: endpoints(b),
            })
            .collect();
        let turn = std::sync::atomic::AtomicUsize::new(0);
        let order: Vec<&str> = (0..7)
            .map(|_| node_in_turn(&nodes, &turn).unwrap().base.as_str())
            .collect();
        assert_eq!(
            order,
            [
                "http://n1",
                "http://n2",
                "http://n3",
                "http://n1",
                "http://n2",
                "http://n3",
                "http://n1"
            ]
        );
        assert!(node_in_turn(&[], &turn).is_none());

        let turn = std::sync::atomic::AtomicUsize::new(0);
        let counts: Vec<std::sync::atomic::AtomicUsize> = (0..3)
            .map(|_| std::sync::atomic::AtomicUsize::new(0))
            .collect();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..300 {
                        let node = node_in_turn(&nodes, &turn).unwrap();
                        let i = nodes.iter().position(|n| n.base == node.base).unwrap();
                        counts[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                });
            }
        });
        for c in &counts {
            assert_eq!(c.load(std::sync::atomic::Ordering::Relaxed), 400);
        }
    }

    fn endpoints(base: &str) -> Endpoints {
        let u = |p: &str| Url::parse(&format!("{base}{p}")).unwrap();
        Endpoints {
            revocation: u("/realm/revoke"),
            token: Some(u("/realm/token")),
            introspection: Some(u("/realm/introspect")),
            userinfo: None,
            discovery: u("/realm/.well-known/openid-configuration"),
            metadata: u("/.well-known/oauth-authorization-server/realm"),
        }
    }

    #[test]
    fn a_node_gets_the_issuers_endpoints_on_its_base_unless_overridden() {
        let issuer = endpoints("https://lb.example");
        let node = Node::derive(
            "http://10.0.0.2:8080",
            "https://lb.example/realm",
            &issuer,
            None,
        )
        .unwrap();
        assert_eq!(
            node.endpoints.revocation.as_str(),
            "http://10.0.0.2:8080/revoke"
        );
        assert_eq!(
            node.endpoints.token.unwrap().as_str(),
            "http://10.0.0.2:8080/token"
        );
        assert_eq!(node.endpoints.userinfo, None);
        let overrides = profile::EndpointOverrides {
            revocation: None,
            token: None,
            introspection: Some("http://10.0.0.2:9000/other".into()),
            userinfo: None,
        };
        let node = Node::derive(
            "http://10.0.0.2:8080/realm",
            "https://lb.example/realm",
            &issuer,
            Some(&overrides),
        )
        .unwrap();
        assert_eq!(
            node.endpoints.revocation.as_str(),
            "http://10.0.0.2:8080/realm/revoke"
        );
        assert_eq!(
            node.endpoints.introspection.unwrap().as_str(),
            "http://10.0.0.2:9000/other"
        );
        // An endpoint on another origin than the issuer keeps its path on the node's origin.
        let mut elsewhere = issuer.clone();
        elsewhere.token = Some(Url::parse("https://auth.example/oauth/token").unwrap());
        let node = Node::derive(
            "http://10.0.0.3:8080",
            "https://lb.example/realm",
            &elsewhere,
            None,
        )
        .unwrap();
        assert_eq!(
            node.endpoints.token.unwrap().as_str(),
            "http://10.0.0.3:8080/oauth/token"
        );
    }
}
