//! A target as requests see it: its profile, its endpoints, the clients and user the harness
//! acts as, and the bounded HTTP client; with what only needs those: which client sends a
//! request, and minting tokens through the token source (a grant or an external command).
//! The probes, the nodes and the observations build on it ([`super::target::Target`]).

use super::client::{authenticate, Credentials, UserCredentials};
use super::discovery::{string_member, Endpoints};
use super::error::TargetError;
use super::http::{self, Exchange, HttpClient, HttpResponse, RequestSpec};
use super::profile::{ClientAuth, ProbeKind, TargetProfile, TokenSourceKind};
use crate::catalogue::{Role, TokenType};
use crate::text as escape;
use serde_json::Value;
use std::collections::HashMap;
use url::Url;

/// Tokens of one grant.
#[derive(Debug, Clone, Default)]
pub struct Minted {
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    /// The `scope` of the token answer, when it has one.
    pub scope: Option<String>,
}

/// Where requests go and who sends them.
pub struct Conn {
    pub profile: TargetProfile,
    pub endpoints: Endpoints,
    pub clients: HashMap<Role, Credentials>,
    pub user: Option<UserCredentials>,
    pub http: HttpClient,
    /// The published `mtls_endpoint_aliases`: (endpoint, alias) pairs.
    pub mtls_aliases: Vec<(Url, Url)>,
}

impl Conn {
    /// A role's client; a role named by its method ([`Role::Jwt`], [`Role::Mtls`]) is the
    /// first client of the profile that authenticates so.
    pub fn credentials(&self, role: Role) -> Option<&Credentials> {
        self.clients.get(&self.concrete(role))
    }

    /// The profile role a step's role stands for (itself, unless it names a method).
    pub fn concrete(&self, role: Role) -> Role {
        let fits = |c: &Credentials| match role {
            Role::Jwt => c.auth.is_jwt(),
            Role::Mtls => c.auth.is_mtls(),
            _ => false,
        };
        if !role.is_by_method() {
            return role;
        }
        [
            Role::Primary,
            Role::Other,
            Role::RevokeAny,
            Role::Introspector,
            Role::Admin,
        ]
        .into_iter()
        .find(|r| self.clients.get(r).is_some_and(fits))
        .unwrap_or(role)
    }

    /// Whether the token source yields refresh tokens.
    pub fn mints_refresh_tokens(&self) -> bool {
        self.profile.tokens.source != TokenSourceKind::ClientCredentials
    }

    /// Adds the client's authentication to a form request, as it is registered.
    pub fn authenticate(&self, spec: &mut RequestSpec, client: &Credentials) {
        authenticate(spec, client)
    }

    /// The probe the profile names for a type of token.
    pub fn probe_kind(&self, kind: TokenType) -> ProbeKind {
        match kind {
            TokenType::Access => self.profile.probes.access_token,
            TokenType::Refresh => self.profile.probes.refresh_token,
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

    /// The request an owner sends to revoke a token plainly: a form POST with `token`, its
    /// registered authentication, no hint.
    pub fn revocation_request(
        &self,
        role: Role,
        form: Vec<(String, String)>,
    ) -> Option<RequestSpec> {
        let client = self.credentials(role)?;
        let mut spec = RequestSpec::post_form(self.endpoints.revocation.clone(), form);
        authenticate(&mut spec, client);
        Some(spec)
    }

    /// Revokes a token plainly (see [`Conn::revocation_request`]); the answer's status.
    pub async fn revoke_plain(
        &self,
        role: Role,
        token: &str,
        log: &mut Vec<Exchange>,
    ) -> Result<u16, String> {
        self.send_revocation(role, vec![("token".into(), token.into())], log)
            .await
            .map(|a| a.status)
    }

    /// Sends a revocation form as `role`; `Err` names the URL and the transport failure.
    pub async fn send_revocation(
        &self,
        role: Role,
        form: Vec<(String, String)>,
        log: &mut Vec<Exchange>,
    ) -> Result<HttpResponse, String> {
        let spec = self
            .revocation_request(role, form)
            .ok_or_else(|| format!("the profile has no {} client", role.name()))?;
        let url = spec.url.clone();
        let (exchange, answer) = self.http.send(spec).await;
        log.push(exchange);
        answer.map_err(|e| format!("{url}: {e}"))
    }

    /// Mints one grant for a client through the profile's token source.
    pub async fn mint(&self, role: Role) -> (Vec<Exchange>, Result<Minted, TargetError>) {
        self.mint_scoped(role, None).await
    }

    /// [`Conn::mint`], asking for `scope` instead of the profile's scope for the client (a
    /// grant, not the token command, can be asked so).
    pub async fn mint_scoped(
        &self,
        role: Role,
        scope: Option<&str>,
    ) -> (Vec<Exchange>, Result<Minted, TargetError>) {
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
                if let Some(scope) = scope.map(str::to_owned).or_else(|| client.scope.clone()) {
                    spec.form.push(("scope".into(), scope));
                }
                authenticate(&mut spec, client);
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
        let get = |k: &str| string_member(&value, k, &shown).map_err(TargetError::Minting);
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
        authenticate(&mut spec, &client);
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
        access_token: string_member(&v, "access_token", &source)?,
        refresh_token: string_member(&v, "refresh_token", &source)?,
        scope: string_member(&v, "scope", &source)?,
    };
    if minted.access_token.is_none() {
        return Err(format!(
            "{source} has no access_token: {}",
            r.text_snippet()
        ));
    }
    Ok(minted)
}
