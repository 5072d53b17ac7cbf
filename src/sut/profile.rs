//! The target profile (`targets/*.toml`): where a server is, which clients and user the
//! harness uses, how tokens are obtained and observed, how settings are changed, and which
//! optional capabilities the server has. Parsing is strict: an unknown or missing key is an
//! error that names the key and the file, raised before any request is made.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A profile that could not be used: names the file and the key.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ProfileError {
    pub file: String,
    pub message: String,
}

/// How a client authenticates (its registered `token_endpoint_auth_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    ClientSecretBasic,
    ClientSecretPost,
    /// A JWT assertion signed with the client's private key (RFC 7523, OIDC Core 9).
    PrivateKeyJwt,
    /// A JWT assertion signed with HS256 keyed by the client secret (OIDC Core 9).
    ClientSecretJwt,
    /// A CA-issued certificate whose subject the client registered (RFC 8705 2.1).
    TlsClientAuth,
    /// A self-signed certificate whose key the client registered (RFC 8705 2.2).
    SelfSignedTlsClientAuth,
    None,
}

impl ClientAuth {
    pub const ALL: [ClientAuth; 7] = [
        ClientAuth::ClientSecretBasic,
        ClientAuth::ClientSecretPost,
        ClientAuth::PrivateKeyJwt,
        ClientAuth::ClientSecretJwt,
        ClientAuth::TlsClientAuth,
        ClientAuth::SelfSignedTlsClientAuth,
        ClientAuth::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::ClientSecretBasic => "client_secret_basic",
            ClientAuth::ClientSecretPost => "client_secret_post",
            ClientAuth::PrivateKeyJwt => "private_key_jwt",
            ClientAuth::ClientSecretJwt => "client_secret_jwt",
            ClientAuth::TlsClientAuth => "tls_client_auth",
            ClientAuth::SelfSignedTlsClientAuth => "self_signed_tls_client_auth",
            ClientAuth::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<ClientAuth> {
        ClientAuth::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Authenticates with a JWT assertion (`client_assertion`).
    pub fn is_jwt(self) -> bool {
        matches!(
            self,
            ClientAuth::PrivateKeyJwt | ClientAuth::ClientSecretJwt
        )
    }

    /// Authenticates with a client certificate (mutual TLS).
    pub fn is_mtls(self) -> bool {
        matches!(
            self,
            ClientAuth::TlsClientAuth | ClientAuth::SelfSignedTlsClientAuth
        )
    }

    /// Has a client secret (Basic, body, or the HMAC key of `client_secret_jwt`).
    pub fn has_secret(self) -> bool {
        matches!(
            self,
            ClientAuth::ClientSecretBasic
                | ClientAuth::ClientSecretPost
                | ClientAuth::ClientSecretJwt
        )
    }
}

/// The `aud` a client's assertions carry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AssertionAudience {
    /// The token endpoint URL (RFC 7523 3 names it), or the issuer when there is none.
    #[default]
    TokenEndpoint,
    Issuer,
    RevocationEndpoint,
    /// An absolute URL given as is.
    Url(String),
}

impl<'de> Deserialize<'de> for AssertionAudience {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(match text.as_str() {
            "token_endpoint" => AssertionAudience::TokenEndpoint,
            "issuer" => AssertionAudience::Issuer,
            "revocation_endpoint" => AssertionAudience::RevocationEndpoint,
            url if url.starts_with("https://") || url.starts_with("http://") => {
                AssertionAudience::Url(url.to_owned())
            }
            other => {
                return Err(serde::de::Error::custom(format!(
                "'{other}' is not token_endpoint, issuer, revocation_endpoint or an absolute URL"
            )))
            }
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientProfile {
    pub id: String,
    pub auth: ClientAuth,
    /// Environment variable holding the secret (the way for any real server).
    pub secret_env: Option<String>,
    /// A literal secret: accepted only for loopback targets (public test fixtures).
    pub secret: Option<String>,
    /// Scope to ask for when minting tokens for this client.
    pub scope: Option<String>,
    /// `private_key_jwt`: the signing key; mTLS: the certificate's key. A PEM file (PKCS#8,
    /// PKCS#1 RSA or SEC1 EC) or a private JWK, relative to the profile's folder.
    pub key_file: Option<PathBuf>,
    /// The same, from an environment variable holding the PEM or JWK text.
    pub key_env: Option<String>,
    /// The same, written in the profile: accepted only for loopback targets (public fixtures).
    pub key: Option<String>,
    /// The assertion's algorithm: RS256, PS256, ES256 or EdDSA for `private_key_jwt` (default:
    /// what the key is: RS256, ES256, EdDSA), HS256 for `client_secret_jwt`.
    pub alg: Option<String>,
    /// The `kid` header of the assertions (default: the JWK's `kid`, else none).
    pub kid: Option<String>,
    /// The `aud` of the assertions: `token_endpoint` (default), `issuer`,
    /// `revocation_endpoint`, or an absolute URL.
    pub audience: Option<AssertionAudience>,
    /// mTLS: the client certificate (PEM, leaf first), relative to the profile's folder.
    pub cert_file: Option<PathBuf>,
    /// The same, written in the profile: accepted only for loopback targets.
    pub cert: Option<String>,
}

impl ClientProfile {
    /// Whether any key material is written in the profile itself.
    pub fn has_literal_material(&self) -> bool {
        self.secret.is_some() || self.key.is_some() || self.cert.is_some()
    }
}

/// How the harness trusts the target's TLS certificates.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TlsProfile {
    /// A PEM bundle of the CA certificates that issued the target's certificates (a private
    /// CA), relative to the profile's folder. With it, only these roots are trusted unless
    /// `system_roots` is true.
    pub ca_file: Option<PathBuf>,
    /// An environment variable naming that file (wins over `ca_file` when it is set).
    pub ca_file_env: Option<String>,
    /// Trust the system's roots as well as `ca_file`.
    #[serde(default)]
    pub system_roots: bool,
    /// Accept any certificate: only for loopback targets (a profile for a remote target with
    /// this set is refused).
    #[serde(default)]
    pub accept_invalid_certs: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clients {
    pub primary: ClientProfile,
    pub other: Option<ClientProfile>,
    #[serde(rename = "revoke-any")]
    pub revoke_any: Option<ClientProfile>,
    pub public: Option<ClientProfile>,
    /// The settings adapter's admin client (Janssen Config API).
    pub admin: Option<ClientProfile>,
    /// A resource server that may introspect any client's tokens.
    pub introspector: Option<ClientProfile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserProfile {
    pub username: String,
    pub password_env: Option<String>,
    pub password: Option<String>,
}

/// Where tokens come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TokenSourceKind {
    /// client_credentials: access tokens only.
    ClientCredentials,
    /// password grant: access and refresh tokens.
    #[default]
    Password,
    /// An external command that prints `{"access_token": ..., "refresh_token": ...}`.
    Command,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TokenSource {
    #[serde(default)]
    pub source: TokenSourceKind,
    /// For `command`: argv; the client id is in `REVSPEC_CLIENT_ID`, its role in `REVSPEC_CLIENT_ROLE`.
    #[serde(default)]
    pub command: Vec<String>,
}

/// How a token's state is observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeKind {
    Introspection,
    /// A refresh grant with the token (refresh tokens only).
    Refresh,
    /// The userinfo endpoint with the token as bearer (access tokens only).
    Userinfo,
    /// Not observable: rules that need it are skipped.
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Probes {
    #[serde(default = "default_access_probe")]
    pub access_token: ProbeKind,
    #[serde(default = "default_refresh_probe")]
    pub refresh_token: ProbeKind,
    /// Which client authenticates to the introspection endpoint: a role name, or `owner` (each
    /// token is introspected by the client it was issued to, for servers that let only the
    /// owner introspect; a public owner's tokens go to the `introspector` role).
    #[serde(default = "default_introspection_client")]
    pub introspection_client: String,
    /// For the `refresh` probe: a scope outside every grant. The probe then asks for it, and a
    /// server that checks the refresh token before the scope answers `invalid_scope` for a live
    /// token (nothing is issued or rotated) and `invalid_grant` for a dead one.
    pub refresh_probe_scope: Option<String>,
    /// For the `refresh` probe: which answer means "this refresh token is dead".
    #[serde(default)]
    pub refresh_inactive_answer: RefreshInactiveAnswer,
}

/// What a refresh attempt answers for a dead refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RefreshInactiveAnswer {
    /// 400 (or 401) with `error=invalid_grant`, as RFC 6749 5.2 says.
    #[default]
    InvalidGrant,
    /// Any 400 (servers that answer an empty or non-standard 400), and 401 `invalid_grant`.
    #[serde(rename = "status-400")]
    Status400,
}

fn default_access_probe() -> ProbeKind {
    ProbeKind::Introspection
}
fn default_refresh_probe() -> ProbeKind {
    ProbeKind::Introspection
}
fn default_introspection_client() -> String {
    "primary".into()
}

impl Default for Probes {
    fn default() -> Self {
        Self {
            access_token: default_access_probe(),
            refresh_token: default_refresh_probe(),
            introspection_client: default_introspection_client(),
            refresh_probe_scope: None,
            refresh_inactive_answer: RefreshInactiveAnswer::InvalidGrant,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AdapterKind {
    /// The profile states the server's settings; nothing can be changed.
    #[default]
    Static,
    /// Janssen Config API (JSON Patch on the auth server configuration).
    JanssenConfigApi,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SettingsProfile {
    #[serde(default)]
    pub adapter: AdapterKind,
    /// Base URL of the Config API (default: the issuer's origin).
    pub config_api: Option<String>,
    /// For `static`: the server's current values (absent = unknown, rules needing it are skipped).
    #[serde(rename = "allowRevokeForOtherClients")]
    pub allow_revoke_for_other_clients: Option<bool>,
    #[serde(rename = "allowAllValueForRevokeEndpoint")]
    pub allow_all_value_for_revoke_endpoint: Option<bool>,
    #[serde(rename = "featureFlags")]
    pub feature_flags: Option<Vec<String>>,
    /// How long a changed setting may take to show in the server's behaviour (a Janssen server
    /// applies configuration on its periodic reload). Default: 60 s for the Config API
    /// adapter, 0 for `static`.
    #[serde(default, with = "humantime_serde")]
    pub settle: Option<Duration>,
}

impl SettingsProfile {
    /// The bound on waiting for a changed setting to take effect.
    pub fn settle(&self) -> Duration {
        self.settle.unwrap_or(match self.adapter {
            AdapterKind::Static => Duration::ZERO,
            AdapterKind::JanssenConfigApi => Duration::from_secs(60),
        })
    }
}

/// Where secrets may go beyond the issuer's origin (see `sut::trust`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Trust {
    /// Origins (`https://auth.example`) other than the issuer's that discovery may point
    /// endpoints at, and that then get credentials.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Send credentials and tokens over plain http to hosts off loopback (anyone on the path
    /// can read them).
    #[serde(default)]
    pub plain_http: bool,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    #[serde(default)]
    pub public_client: bool,
    /// An origin the server allows for CORS.
    pub cors_origin: Option<String>,
    /// `Name: value` header that makes the server's revoke script veto.
    pub revoke_script_veto_header: Option<String>,
    /// `Name: value` header that makes the server answer 503 (fault injection).
    pub unavailable_header: Option<String>,
    /// Plain http is acceptable because the target is on loopback (rfc7009-2-https is a warning).
    #[serde(default)]
    pub plain_http_loopback: bool,
    /// The server lets a client authenticate at the revocation endpoint with its own access
    /// token as `Authorization: Bearer` (Janssen).
    #[serde(default)]
    pub bearer_client_auth: bool,
    /// The header in which the server's TLS terminator forwards client certificates
    /// (`X-ClientCert`, `X-Forwarded-Client-Cert` or `X-Forwarded-Tls-Client-Cert`): the
    /// harness sends one itself, not through the terminator, and expects it ignored.
    pub forwarded_cert_header: Option<String>,
}

impl Capabilities {
    /// Whether the capability named in a `@requires:` tag is present.
    pub fn has(&self, name: &str, profile: &TargetProfile) -> Option<bool> {
        Some(match name {
            "public-client" => self.public_client && profile.clients.public.is_some(),
            "cors" => self.cors_origin.is_some(),
            "revoke-script" => self.revoke_script_veto_header.is_some(),
            "fault-injection" => self.unavailable_header.is_some(),
            "nodes" => !profile.nodes.is_empty(),
            "bearer-client-auth" => self.bearer_client_auth,
            "jwt-client" => profile.client_roles().iter().any(|(_, c)| c.auth.is_jwt()),
            "mtls-client" => profile.client_roles().iter().any(|(_, c)| c.auth.is_mtls()),
            "forwarded-cert" => self.forwarded_cert_header.is_some(),
            _ => return None,
        })
    }
}

/// Durations are written `"3s"`, `"250ms"`, `"1m"`; a missing key keeps its default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    #[serde(with = "humantime_serde")]
    pub connect: Duration,
    #[serde(with = "humantime_serde")]
    pub request: Duration,
    /// The revocation delay the server declares acceptable (RFC 7009 2.1 allows one);
    /// `rfc7009-2.1-immediate` passes when a revocation is visible within it. 0 = immediately.
    #[serde(with = "humantime_serde")]
    pub propagation_window: Duration,
    /// How long "inactive" is polled before a revocation counts as not done (at least the
    /// window). A late revocation fails `rfc7009-2.1-immediate` and no other rule.
    #[serde(with = "humantime_serde")]
    pub revocation_patience: Duration,
    /// How long after a request "stays active" (and "stays inactive") is looked at again, so
    /// that a delayed side effect (a background job, a stale replica) is seen.
    #[serde(with = "humantime_serde")]
    pub stay_active_settle: Duration,
    /// For the external token command.
    #[serde(with = "humantime_serde")]
    pub token_command: Duration,
    /// The whole run's deadline: past it no request is sent, the remaining scenarios are
    /// ERRORs ("not attempted") and the run exits 3. `--max-run-time` overrides it.
    #[serde(with = "humantime_serde")]
    pub run: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(3),
            request: Duration::from_secs(10),
            propagation_window: Duration::ZERO,
            revocation_patience: Duration::from_secs(5),
            stay_active_settle: Duration::from_secs(1),
            token_command: Duration::from_secs(60),
            run: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointOverrides {
    pub revocation: Option<String>,
    pub token: Option<String>,
    pub introspection: Option<String>,
    pub userinfo: Option<String>,
}

/// A whole target profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetProfile {
    pub name: String,
    /// The issuer; discovery is `<issuer>/.well-known/openid-configuration` unless `discovery` is set.
    pub issuer: String,
    /// The discovery (or RFC 8414 metadata) URL.
    pub discovery: Option<String>,
    pub endpoints: Option<EndpointOverrides>,
    /// The base URLs of the individual nodes of a cluster, beside the issuer (the
    /// load-balanced entry point). Each node's endpoints are the issuer's with the issuer's
    /// URL replaced by the node's, unless `node_endpoints` overrides them.
    #[serde(default)]
    pub nodes: Vec<String>,
    /// Per-node endpoint overrides, keyed by the node's base URL as listed in `nodes`.
    #[serde(default)]
    pub node_endpoints: std::collections::BTreeMap<String, EndpointOverrides>,
    pub clients: Clients,
    pub user: Option<UserProfile>,
    #[serde(default)]
    pub tokens: TokenSource,
    #[serde(default)]
    pub probes: Probes,
    #[serde(default)]
    pub settings: SettingsProfile,
    #[serde(default)]
    pub capabilities: Capabilities,
    #[serde(default)]
    pub trust: Trust,
    #[serde(default)]
    pub timeouts: Timeouts,
    #[serde(default)]
    pub tls: TlsProfile,
    /// Where the file was read from (for messages).
    #[serde(skip)]
    pub source: PathBuf,
}

impl TargetProfile {
    pub fn from_file(path: &Path) -> Result<Self, ProfileError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ProfileError {
            file: file.clone(),
            message: e.to_string(),
        })?;
        let mut profile = Self::from_toml(&text, &file)?;
        profile.source = path.to_owned();
        Ok(profile)
    }

    pub fn from_toml(text: &str, file: &str) -> Result<Self, ProfileError> {
        let err = |message: String| ProfileError {
            file: file.to_owned(),
            message,
        };
        let profile: Self =
            toml::from_str(text).map_err(|e| err(e.to_string().trim_end().to_owned()))?;
        profile.validate().map_err(err)?;
        Ok(profile)
    }

    /// Checks what serde cannot: URLs, secrets, token source and probe consistency.
    fn validate(&self) -> Result<(), String> {
        let issuer = http_url("issuer", &self.issuer)?;
        for (key, value) in [
            ("discovery", self.discovery.as_deref()),
            (
                "endpoints.revocation",
                self.endpoints
                    .as_ref()
                    .and_then(|e| e.revocation.as_deref()),
            ),
            (
                "endpoints.token",
                self.endpoints.as_ref().and_then(|e| e.token.as_deref()),
            ),
            (
                "endpoints.introspection",
                self.endpoints
                    .as_ref()
                    .and_then(|e| e.introspection.as_deref()),
            ),
            (
                "endpoints.userinfo",
                self.endpoints.as_ref().and_then(|e| e.userinfo.as_deref()),
            ),
            ("settings.config_api", self.settings.config_api.as_deref()),
        ]
        .into_iter()
        .chain(self.nodes.iter().map(|n| ("nodes", Some(n.as_str()))))
        .chain(self.node_endpoints.values().flat_map(|o| {
            [
                ("node_endpoints.revocation", o.revocation.as_deref()),
                ("node_endpoints.token", o.token.as_deref()),
                ("node_endpoints.introspection", o.introspection.as_deref()),
                ("node_endpoints.userinfo", o.userinfo.as_deref()),
            ]
        })) {
            if let Some(v) = value {
                let url = http_url(key, v)?;
                if self.has_literal_secrets() && !is_loopback(&url) {
                    return Err(format!(
                        "key `{key}`: '{v}' is not on loopback, and the profile holds literal secrets (use secret_env / password_env)"
                    ));
                }
            }
        }
        for origin in &self.trust.allowed_origins {
            let url = http_url("trust.allowed_origins", origin)?;
            if url.path() != "/" || url.query().is_some() {
                return Err(format!(
                    "key `trust.allowed_origins`: '{}' is not an origin; write it as SCHEME://HOST[:PORT]",
                    crate::text::one_line(origin)
                ));
            }
        }
        if self.timeouts.run.is_zero() {
            return Err("key `timeouts.run`: 0 would end the run before its first request; give the longest a run may take (default 15m)".into());
        }
        if let Some(stray) = self.node_endpoints.keys().find(|k| !self.nodes.contains(k)) {
            return Err(format!(
                "key `node_endpoints.\"{stray}\"`: not one of the base URLs listed in `nodes`"
            ));
        }
        let loopback = is_loopback(&issuer);
        for (role, client) in self.client_roles() {
            validate_client(role, client, loopback)?;
        }
        if let Some(h) = &self.capabilities.forwarded_cert_header {
            let known = [
                "x-clientcert",
                "x-forwarded-client-cert",
                "x-forwarded-tls-client-cert",
            ];
            if !known.contains(&h.to_ascii_lowercase().as_str()) {
                return Err(format!(
                    "key `capabilities.forwarded_cert_header`: '{h}' is not X-ClientCert, X-Forwarded-Client-Cert or X-Forwarded-Tls-Client-Cert"
                ));
            }
        }
        if self.tls.accept_invalid_certs && !self.all_on_loopback() {
            return Err("key `tls.accept_invalid_certs`: only for loopback targets; give the target's CA in tls.ca_file".into());
        }
        if let Some(user) = &self.user {
            match (&user.password_env, &user.password) {
                (None, None) => return Err("key `user.password_env`: missing".into()),
                (_, Some(_)) if !loopback => {
                    return Err("key `user.password`: literal passwords are only accepted for loopback targets; use password_env".into())
                }
                _ => {}
            }
        }
        match self.tokens.source {
            TokenSourceKind::Password if self.user.is_none() => {
                return Err("key `user`: the password token source needs a [user] section".into())
            }
            TokenSourceKind::Command if self.tokens.command.is_empty() => {
                return Err(
                    "key `tokens.command`: the command token source needs a command (argv list)"
                        .into(),
                )
            }
            _ => {}
        }
        let roles = [
            "owner",
            "primary",
            "other",
            "revoke-any",
            "public",
            "admin",
            "introspector",
        ];
        let chosen = self.probes.introspection_client.as_str();
        if !roles.contains(&chosen) {
            return Err(format!(
                "key `probes.introspection_client`: '{chosen}' is not `owner` or a client role ({})",
                roles[1..].join(", ")
            ));
        }
        if chosen != "owner" && !self.client_roles().iter().any(|(r, _)| *r == chosen) {
            return Err(format!(
                "key `probes.introspection_client`: the profile has no [clients.{chosen}]"
            ));
        }
        if self.timeouts.revocation_patience < self.timeouts.propagation_window {
            return Err(format!(
                "key `timeouts.revocation_patience`: {} is shorter than the propagation window ({}); the harness would stop looking before the server's declared delay",
                humantime::format_duration(self.timeouts.revocation_patience),
                humantime::format_duration(self.timeouts.propagation_window)
            ));
        }
        if self.timeouts.stay_active_settle.is_zero() {
            return Err("key `timeouts.stay_active_settle`: 0 would make \"stays active\" one instantaneous look, blind to a revocation that spreads a moment later; give the time a late effect may take (default 1s)".into());
        }
        if self.probes.access_token == ProbeKind::Refresh {
            return Err("key `probes.access_token`: an access token cannot be observed with a refresh grant".into());
        }
        if self.probes.refresh_token == ProbeKind::Userinfo {
            return Err(
                "key `probes.refresh_token`: a refresh token cannot be observed at userinfo".into(),
            );
        }
        if self.settings.adapter == AdapterKind::JanssenConfigApi && self.clients.admin.is_none() {
            return Err("key `clients.admin`: the janssen-config-api settings adapter needs an admin client".into());
        }
        Ok(())
    }

    /// Whether any secret, password or key is written in the profile (allowed only on
    /// loopback).
    pub fn has_literal_secrets(&self) -> bool {
        self.client_roles()
            .iter()
            .any(|(_, c)| c.has_literal_material())
            || self.user.as_ref().is_some_and(|u| u.password.is_some())
    }

    /// Whether the issuer and every URL the profile names are on loopback.
    pub fn all_on_loopback(&self) -> bool {
        let e = self.endpoints.clone().unwrap_or_default();
        let all = std::iter::once(Some(self.issuer.as_str()))
            .chain([
                self.discovery.as_deref(),
                e.revocation.as_deref(),
                e.token.as_deref(),
                e.introspection.as_deref(),
                e.userinfo.as_deref(),
            ])
            .chain(self.nodes.iter().map(|n| Some(n.as_str())))
            .flatten()
            .all(|u| url::Url::parse(u).is_ok_and(|u| is_loopback(&u)));
        all
    }

    /// A path the profile names, resolved against the profile's folder.
    pub fn resolve_path(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            return path.to_owned();
        }
        match self.source.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(folder) => folder.join(path),
            None => path.to_owned(),
        }
    }

    /// The clients the profile names, with their role.
    pub fn client_roles(&self) -> Vec<(&'static str, &ClientProfile)> {
        let c = &self.clients;
        [
            ("primary", Some(&c.primary)),
            ("other", c.other.as_ref()),
            ("revoke-any", c.revoke_any.as_ref()),
            ("public", c.public.as_ref()),
            ("admin", c.admin.as_ref()),
            ("introspector", c.introspector.as_ref()),
        ]
        .into_iter()
        .filter_map(|(r, c)| c.map(|c| (r, c)))
        .collect()
    }
}

/// What a client block must hold for its method: a secret for the secret methods, a key for
/// `private_key_jwt`, a certificate and its key for mTLS, nothing for a public client; and
/// literal material only on loopback.
fn validate_client(role: &str, c: &ClientProfile, loopback: bool) -> Result<(), String> {
    let method = c.auth.as_str();
    let has_secret = c.secret_env.is_some() || c.secret.is_some();
    let has_key = c.key_file.is_some() || c.key_env.is_some() || c.key.is_some();
    let has_cert = c.cert_file.is_some() || c.cert.is_some();
    let key = |k: &str| format!("key `clients.{role}.{k}`");
    if c.auth.has_secret() && !has_secret {
        return Err(format!(
            "{}: missing (name the environment variable that holds the secret)",
            key("secret_env")
        ));
    }
    if !c.auth.has_secret() && has_secret {
        return Err(format!(
            "{}: a client with auth = \"{method}\" has no secret",
            key("secret")
        ));
    }
    if (c.auth == ClientAuth::PrivateKeyJwt || c.auth.is_mtls()) && !has_key {
        return Err(format!(
            "{}: missing: a client with auth = \"{method}\" needs its private key (key_file or key_env, PEM or JWK)",
            key("key_file")
        ));
    }
    if !(c.auth == ClientAuth::PrivateKeyJwt || c.auth.is_mtls()) && has_key {
        return Err(format!(
            "{}: a client with auth = \"{method}\" has no private key",
            key("key_file")
        ));
    }
    if c.auth.is_mtls() && !has_cert {
        return Err(format!(
            "{}: missing: a client with auth = \"{method}\" needs its certificate (PEM)",
            key("cert_file")
        ));
    }
    if !c.auth.is_mtls() && has_cert {
        return Err(format!(
            "{}: only a tls_client_auth or self_signed_tls_client_auth client has a certificate",
            key("cert_file")
        ));
    }
    if (c.alg.is_some() || c.kid.is_some() || c.audience.is_some()) && !c.auth.is_jwt() {
        return Err(format!(
            "{}: only a private_key_jwt or client_secret_jwt client signs assertions",
            key(if c.alg.is_some() {
                "alg"
            } else if c.kid.is_some() {
                "kid"
            } else {
                "audience"
            })
        ));
    }
    if let Some(alg) = &c.alg {
        let allowed: &[&str] = match c.auth {
            ClientAuth::ClientSecretJwt => &["HS256"],
            _ => &["RS256", "PS256", "ES256", "EdDSA"],
        };
        if !allowed.contains(&alg.as_str()) {
            return Err(format!(
                "{}: '{alg}' is not one of {} (for auth = \"{method}\")",
                key("alg"),
                allowed.join(", ")
            ));
        }
    }
    if !loopback {
        for (name, literal) in [
            ("secret", c.secret.is_some()),
            ("key", c.key.is_some()),
            ("cert", c.cert.is_some()),
        ] {
            if literal {
                let instead = if name == "secret" {
                    "secret_env"
                } else {
                    "key_file / key_env / cert_file"
                };
                return Err(format!(
                    "{}: literal {}s are only accepted for loopback targets; use {instead}",
                    key(name),
                    if name == "cert" { "certificate" } else { name }
                ));
            }
        }
    }
    Ok(())
}

/// An absolute http or https URL with a host; anything else names the key and shows the
/// expected form (`localhost:8080` parses as a URL of scheme "localhost", so the scheme is
/// checked, not only the parse).
fn http_url(key: &str, value: &str) -> Result<url::Url, String> {
    let shown = crate::text::one_line(value);
    let expected = "write it as http://HOST[:PORT][/PATH] or https://HOST[:PORT][/PATH]";
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(u),
        Ok(u) if matches!(u.scheme(), "http" | "https") => {
            Err(format!("key `{key}`: '{shown}' has no host; {expected}"))
        }
        Ok(u) => Err(format!(
            "key `{key}`: '{shown}' is not an http(s) URL (its scheme reads as \"{}\"); {expected}",
            u.scheme()
        )),
        Err(e) => Err(format!(
            "key `{key}`: '{shown}' is not a URL ({e}); {expected}"
        )),
    }
}

/// A profile shipped in `targets/` (for tests).
#[cfg(test)]
pub(crate) fn shipped(name: &str) -> TargetProfile {
    TargetProfile::from_file(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("targets")
            .join(name),
    )
    .expect("a shipped profile parses")
}

/// Whether a URL's host is on the loopback interface.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
name = "t"
issuer = "http://127.0.0.1:9"
[clients.primary]
id = "a"
auth = "client_secret_basic"
secret = "s"
[user]
username = "u"
password = "p"
"#;

    #[test]
    fn minimal_profile_gets_defaults() {
        let p = TargetProfile::from_toml(MINIMAL, "t.toml").unwrap();
        assert_eq!(p.tokens.source, TokenSourceKind::Password);
        assert_eq!(p.probes.access_token, ProbeKind::Introspection);
        assert_eq!(p.settings.adapter, AdapterKind::Static);
        assert_eq!(p.timeouts.propagation_window, Duration::ZERO);
        assert_eq!(p.timeouts.stay_active_settle, Duration::from_secs(1));
        // A static adapter has nothing to wait for; a Config API applies on its reload.
        assert_eq!(p.settings.settle(), Duration::ZERO);
        let mut api = p.settings.clone();
        api.adapter = AdapterKind::JanssenConfigApi;
        assert_eq!(api.settle(), Duration::from_secs(60));
        api.settle = Some(Duration::from_secs(7));
        assert_eq!(api.settle(), Duration::from_secs(7));
    }

    #[test]
    fn a_zero_stay_active_settle_is_refused_naming_the_key() {
        let text = MINIMAL.replace(
            "[user]",
            "[timeouts]\nstay_active_settle = \"0s\"\n\n[user]",
        );
        let e = TargetProfile::from_toml(&text, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("timeouts.stay_active_settle"), "{e}");
    }

    #[test]
    fn unknown_key_is_named_with_the_file() {
        let text = MINIMAL.replace("[user]", "[user]\nshoe_size = 3");
        let e = TargetProfile::from_toml(&text, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.toml:") && e.contains("shoe_size"), "{e}");
    }

    #[test]
    fn missing_key_is_named() {
        let text = MINIMAL.replace("name = \"t\"\n", "");
        let e = TargetProfile::from_toml(&text, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("name"), "{e}");
    }

    #[test]
    fn literal_secrets_need_loopback() {
        let text = MINIMAL.replace("127.0.0.1:9", "auth.example.com");
        let e = TargetProfile::from_toml(&text, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("clients.primary.secret"), "{e}");
    }

    #[test]
    fn literal_secrets_keep_every_endpoint_on_loopback() {
        let text = format!("{MINIMAL}\n[endpoints]\ntoken = \"https://auth.example.com/token\"\n");
        let e = TargetProfile::from_toml(&text, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("endpoints.token"), "{e}");
    }

    #[test]
    fn each_method_needs_its_material_and_names_the_key() {
        let with = |block: &str| {
            TargetProfile::from_toml(
                &MINIMAL.replace("auth = \"client_secret_basic\"\nsecret = \"s\"\n", block),
                "t.toml",
            )
        };
        let e = with("auth = \"private_key_jwt\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("clients.primary.key_file") && e.contains("private key"),
            "{e}"
        );
        let e = with("auth = \"tls_client_auth\"\nkey_file = \"k.pem\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("clients.primary.cert_file"), "{e}");
        let e = with("auth = \"client_secret_jwt\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("clients.primary.secret_env"), "{e}");
        let e = with("auth = \"private_key_jwt\"\nkey_file = \"k.pem\"\nalg = \"HS256\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("clients.primary.alg") && e.contains("ES256"),
            "{e}"
        );
        let e = with("auth = \"client_secret_basic\"\nsecret = \"s\"\nalg = \"RS256\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("clients.primary.alg"), "{e}");
        let e =
            with("auth = \"private_key_jwt\"\nkey_file = \"k.pem\"\naudience = \"elsewhere\"\n")
                .unwrap_err()
                .to_string();
        assert!(e.contains("audience") || e.contains("elsewhere"), "{e}");
        let ok = with("auth = \"private_key_jwt\"\nkey_file = \"k.pem\"\naudience = \"issuer\"\n")
            .unwrap();
        assert_eq!(ok.clients.primary.audience, Some(AssertionAudience::Issuer));
    }

    #[test]
    fn literal_keys_and_an_accept_anything_switch_need_loopback() {
        let remote = MINIMAL
            .replace("http://127.0.0.1:9", "https://auth.example.com")
            .replace("secret = \"s\"\n", "secret_env = \"S\"\n")
            .replace("password = \"p\"", "password_env = \"P\"");
        assert!(TargetProfile::from_toml(&remote, "t.toml").is_ok());
        let literal_key = remote.replace(
            "auth = \"client_secret_basic\"\nsecret_env = \"S\"\n",
            "auth = \"private_key_jwt\"\nkey = \"-----BEGIN PRIVATE KEY-----\"\n",
        );
        let e = TargetProfile::from_toml(&literal_key, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("clients.primary.key") && e.contains("loopback"),
            "{e}"
        );
        let e = TargetProfile::from_toml(
            &format!("{remote}\n[tls]\naccept_invalid_certs = true\n"),
            "t.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("tls.accept_invalid_certs"), "{e}");
        assert!(TargetProfile::from_toml(
            &format!("{MINIMAL}\n[tls]\naccept_invalid_certs = true\n"),
            "t.toml"
        )
        .is_ok());
    }

    #[test]
    fn confidential_client_needs_a_secret_source() {
        let text = MINIMAL.replace("secret = \"s\"\n", "");
        let e = TargetProfile::from_toml(&text, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("clients.primary.secret_env"), "{e}");
    }

    #[test]
    fn urls_need_an_http_scheme_and_a_host() {
        for (bad, why) in [
            ("localhost:8080", "its scheme reads as \"localhost\""),
            ("ftp://127.0.0.1/x", "its scheme reads as \"ftp\""),
            ("127.0.0.1:8080", "not a URL"),
            ("http://", "not a URL"),
        ] {
            let e = TargetProfile::from_toml(&MINIMAL.replace("http://127.0.0.1:9", bad), "t.toml")
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("key `issuer`") && e.contains(why) && e.contains("http://HOST"),
                "{bad}: {e}"
            );
        }
        let text = format!("{MINIMAL}\n[endpoints]\nrevocation = \"127.0.0.1:9/revoke\"\n");
        let e = TargetProfile::from_toml(&text, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("key `endpoints.revocation`"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let e = TargetProfile::from_toml(
            &MINIMAL.replace("http://127.0.0.1:9", "not a url"),
            "t.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("issuer"), "{e}");
        let text = format!("{MINIMAL}\n[timeouts]\nrequest = \"soon\"\n");
        let e = TargetProfile::from_toml(&text, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("soon"), "{e}");
        let text = format!("{MINIMAL}\n[probes]\naccess_token = \"refresh\"\n");
        let e = TargetProfile::from_toml(&text, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("probes.access_token"), "{e}");
        let text = format!("{MINIMAL}\n[settings]\nadapter = \"janssen-config-api\"\n");
        let e = TargetProfile::from_toml(&text, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("clients.admin"), "{e}");
    }

    /// Issue 19, class 7: the one spelling the docs use parses, and a wrong one is refused
    /// naming the accepted values.
    #[test]
    fn refresh_inactive_answer_has_one_spelling() {
        let with = |v: &str| {
            TargetProfile::from_toml(
                &format!("{MINIMAL}\n[probes]\nrefresh_inactive_answer = \"{v}\"\n"),
                "t.toml",
            )
        };
        assert_eq!(
            with("status-400").unwrap().probes.refresh_inactive_answer,
            RefreshInactiveAnswer::Status400
        );
        let e = with("status400").unwrap_err().to_string();
        assert!(
            e.contains("invalid-grant") && e.contains("status-400"),
            "the accepted values are named: {e}"
        );
        for doc in ["README.md", "docs/checking-your-own-server.md"] {
            let text =
                std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(doc)).unwrap();
            // Prose wraps lines: compare with the whitespace collapsed.
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            let uses = text.matches("refresh_inactive_answer = \"").count();
            assert!(uses > 0, "{doc} no longer shows refresh_inactive_answer");
            for (i, _) in text.match_indices("refresh_inactive_answer = \"") {
                let value: String = text[i + 27..].chars().take_while(|c| *c != '"').collect();
                assert!(
                    with(&value).is_ok(),
                    "{doc} writes refresh_inactive_answer = \"{value}\", which the parser refuses"
                );
            }
        }
    }
}
