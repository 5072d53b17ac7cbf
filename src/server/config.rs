//! The reference server's configuration: clients, users and the Janssen revocation settings,
//! from a TOML file (`--config`) or the built-in demo.
//!
//! [`Settings`] serializes with Janssen's property names (`featureFlags`,
//! `allowRevokeForOtherClients`, `allowAllValueForRevokeEndpoint`) because the Config API
//! patches exactly that JSON. The scopes and flags below are copied, not shared, by the harness
//! (`sut`): it must reach them through the wire, as it would on a real Janssen server.

use super::secret::{secret_digest, SecretDigest};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The scope that lets a client revoke other clients' tokens (with `allowRevokeForOtherClients`).
pub const REVOKE_ANY_TOKEN_SCOPE: &str = "revoke_any_token";
/// The Config API scope that allows changing the auth server's properties.
pub const PROPERTIES_WRITE_SCOPE: &str =
    "https://jans.io/oauth/jans-auth-server/config/properties.write";
/// The Config API scope that allows reading them.
pub const PROPERTIES_READ_SCOPE: &str =
    "https://jans.io/oauth/jans-auth-server/config/properties.readonly";
/// The Config API scope that allows changing clients.
pub const CLIENTS_WRITE_SCOPE: &str = "https://jans.io/oauth/config/openid/clients.write";
/// The scope that lets a protected resource introspect any client's tokens (others learn only
/// about their own).
pub const INTROSPECT_ANY_SCOPE: &str = "introspect_any";
/// The Janssen feature flag of the revocation endpoint.
pub const REVOKE_TOKEN_FLAG: &str = "revoke_token";
/// The Janssen feature flag of the introspection endpoint.
pub const INTROSPECTION_FLAG: &str = "introspection";
/// The Janssen feature flag of the userinfo endpoint.
pub const USERINFO_FLAG: &str = "userinfo";

/// How a client authenticates (its registered `token_endpoint_auth_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// A JWT assertion signed with a key of the client's registered `jwks`.
    PrivateKeyJwt,
    /// A JWT assertion signed with HMAC keyed by the client secret.
    ClientSecretJwt,
    /// A certificate from the client CA whose subject is the registered one.
    TlsClientAuth,
    /// A certificate whose public key is in the client's registered `jwks`.
    SelfSignedTlsClientAuth,
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::ClientSecretJwt => "client_secret_jwt",
            AuthMethod::TlsClientAuth => "tls_client_auth",
            AuthMethod::SelfSignedTlsClientAuth => "self_signed_tls_client_auth",
            AuthMethod::None => "none",
        }
    }

    pub fn is_mtls(self) -> bool {
        matches!(
            self,
            AuthMethod::TlsClientAuth | AuthMethod::SelfSignedTlsClientAuth
        )
    }

    pub fn is_jwt(self) -> bool {
        matches!(
            self,
            AuthMethod::PrivateKeyJwt | AuthMethod::ClientSecretJwt
        )
    }

    /// Whether the method uses the client secret.
    pub fn has_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic
                | AuthMethod::ClientSecretPost
                | AuthMethod::ClientSecretJwt
        )
    }
}

/// A registered client.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    pub id: String,
    #[serde(default, skip_serializing)]
    pub secret: Option<String>,
    pub auth_method: AuthMethod,
    /// The scopes the client may obtain (and, for `revoke_any_token`, holds).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The client's public keys (`private_key_jwt`, `self_signed_tls_client_auth`), inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<jsonwebtoken::jwk::JwkSet>,
    /// The registered subject DN of its certificate (`tls_client_auth`), e.g.
    /// `CN=client-mtls, O=revspec` (compared as a set of attributes, in any order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_auth_subject_dn: Option<String>,
    /// The one algorithm its assertions may use (`token_endpoint_auth_signing_alg`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_signing_alg: Option<String>,
    /// The digest of `secret`, computed once when the client is registered (see
    /// [`Client::prepared`]) so that a request hashes only the secret it presents.
    #[serde(skip)]
    secret_digest: Option<SecretDigest>,
}

impl Client {
    /// A client as registered: the digest of its secret computed now, never per request.
    pub fn prepared(mut self) -> Self {
        self.secret_digest = self.secret.as_deref().map(secret_digest);
        self
    }

    /// The digest the presented secret is compared with: the one kept at registration (a
    /// client that was not prepared has it computed here; the server prepares every client).
    pub fn expected_digest(&self) -> Option<SecretDigest> {
        match (&self.secret_digest, &self.secret) {
            (Some(digest), _) => Some(*digest),
            (None, Some(secret)) => Some(secret_digest(secret)),
            (None, None) => None,
        }
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// A resource owner for the password grant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub username: String,
    pub password: String,
}

/// The auth server properties that the Config API reads and patches.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// Empty means every feature is enabled; otherwise `revoke_token` must be listed.
    #[serde(default)]
    pub feature_flags: Vec<String>,
    #[serde(default)]
    pub allow_revoke_for_other_clients: bool,
    #[serde(default)]
    pub allow_all_value_for_revoke_endpoint: bool,
    /// Whether a refresh grant replaces the refresh token with a new one.
    #[serde(default)]
    pub refresh_token_rotation: bool,
    #[serde(default = "default_access_lifetime")]
    pub access_token_lifetime: u64,
    #[serde(default = "default_refresh_lifetime")]
    pub refresh_token_lifetime: u64,
}

fn default_access_lifetime() -> u64 {
    3600
}
fn default_refresh_lifetime() -> u64 {
    14 * 24 * 3600
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            feature_flags: Vec::new(),
            allow_revoke_for_other_clients: false,
            allow_all_value_for_revoke_endpoint: false,
            refresh_token_rotation: false,
            access_token_lifetime: default_access_lifetime(),
            refresh_token_lifetime: default_refresh_lifetime(),
        }
    }
}

/// The longest token lifetime the server accepts (ten years, in seconds).
pub const MAX_LIFETIME: u64 = 10 * 365 * 24 * 3600;

impl Settings {
    /// Checks values serde cannot: lifetimes between 1 s and [`MAX_LIFETIME`].
    pub fn validate(&self) -> Result<(), String> {
        for (key, value) in [
            ("accessTokenLifetime", self.access_token_lifetime),
            ("refreshTokenLifetime", self.refresh_token_lifetime),
        ] {
            if value == 0 || value > MAX_LIFETIME {
                return Err(format!(
                    "{key} must be 1 to {MAX_LIFETIME} seconds, not {value}"
                ));
            }
        }
        Ok(())
    }

    /// Janssen's rule: an empty list enables everything; otherwise the flag must be listed
    /// (case-insensitively).
    pub fn feature_enabled(&self, flag: &str) -> bool {
        self.feature_flags.is_empty()
            || self
                .feature_flags
                .iter()
                .any(|f| f.eq_ignore_ascii_case(flag))
    }

    pub fn revoke_enabled(&self) -> bool {
        self.feature_enabled(REVOKE_TOKEN_FLAG)
    }
}

/// The whole server configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// The issuer URL; by default `http://<bound address>`.
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub settings: Settings,
    #[serde(default)]
    pub clients: Vec<Client>,
    #[serde(default)]
    pub users: Vec<User>,
    /// Origins allowed to call the revocation endpoint from a browser (CORS).
    #[serde(default)]
    pub cors_allowed_origins: Vec<String>,
    /// Whether a request carrying `X-Revspec-Simulate: unavailable` gets a 503 (for testing clients).
    #[serde(default)]
    pub simulate_unavailable_header: bool,
    /// The CA bundle (PEM file) that issues `tls_client_auth` certificates (default: the
    /// demo client CA, a public fixture).
    #[serde(default)]
    pub tls_client_ca_file: Option<std::path::PathBuf>,
    /// The CA bundle in force (read from `tls_client_ca_file`, or the demo's).
    #[serde(skip)]
    pub tls_client_ca_pem: Option<String>,
    /// Peers (IP addresses) whose forwarded client-certificate headers (`X-ClientCert`,
    /// `X-Forwarded-Client-Cert`, `X-Forwarded-Tls-Client-Cert`) are honoured: a TLS
    /// terminator in front of the server. Empty (the default): never honoured.
    #[serde(default)]
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// The demo client CA and the public keys of the demo clients (public test fixtures in
/// `targets/keys/`, written by `examples/demo_pki.rs`).
pub mod demo_keys {
    pub const CLIENT_CA: &str = include_str!("../../targets/keys/client-ca.pem");
    pub const CLIENT_JWT_JWKS: &str = include_str!("../../targets/keys/client-jwt.jwks.json");
    pub const CLIENT_RSA_JWKS: &str = include_str!("../../targets/keys/client-rsa.jwks.json");
    pub const CLIENT_ED_JWKS: &str = include_str!("../../targets/keys/client-ed.jwks.json");
    pub const CLIENT_SS_JWKS: &str = include_str!("../../targets/keys/client-ss.jwks.json");
    /// The demo `client_secret_jwt` client's secret (HS256 wants 32 bytes or more).
    pub const CLIENT_SECJWT_SECRET: &str = "secret-secjwt-of-32-bytes-or-more";
}

impl ServerConfig {
    /// The built-in demo: public fixtures, never to be used for anything real.
    pub fn demo() -> Self {
        let client = |id: &str, secret: Option<&str>, auth_method, scopes: &[&str]| {
            Client {
                id: id.into(),
                secret: secret.map(Into::into),
                auth_method,
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                jwks: None,
                tls_client_auth_subject_dn: None,
                token_endpoint_auth_signing_alg: None,
                secret_digest: None,
            }
            .prepared()
        };
        let jwks = |text: &str| Some(serde_json::from_str(text).expect("a demo JWKS parses"));
        let with_jwks = |mut c: Client, text: &str| {
            c.jwks = jwks(text);
            c
        };
        let with_subject = |mut c: Client, dn: &str| {
            c.tls_client_auth_subject_dn = Some(dn.into());
            c
        };
        let user_scopes: &[&str] = &["openid", "profile"];
        Self {
            issuer: None,
            // Like Janssen's setup template: an explicit list that includes revoke_token.
            settings: Settings {
                feature_flags: ["revoke_token", "userinfo", "introspection", "health_check"]
                    .map(String::from)
                    .to_vec(),
                ..Settings::default()
            },
            clients: vec![
                client(
                    "client-a",
                    Some("secret-a"),
                    AuthMethod::ClientSecretBasic,
                    &["openid", "profile"],
                ),
                client(
                    "client-b",
                    Some("secret-b"),
                    AuthMethod::ClientSecretPost,
                    &["openid", "profile"],
                ),
                client(
                    "client-c",
                    Some("secret-c"),
                    AuthMethod::ClientSecretBasic,
                    &["openid", "profile", REVOKE_ANY_TOKEN_SCOPE],
                ),
                client(
                    "public-client",
                    None,
                    AuthMethod::None,
                    &["openid", "profile"],
                ),
                client(
                    "resource-server",
                    Some("resource-secret"),
                    AuthMethod::ClientSecretBasic,
                    &[INTROSPECT_ANY_SCOPE],
                ),
                client(
                    "config-admin",
                    Some("config-secret"),
                    AuthMethod::ClientSecretBasic,
                    &[
                        PROPERTIES_WRITE_SCOPE,
                        PROPERTIES_READ_SCOPE,
                        CLIENTS_WRITE_SCOPE,
                    ],
                ),
                // One client per hardened method, for targets/reference-tls.toml (the mTLS
                // ones authenticate only over `--tls`).
                with_jwks(
                    client("client-jwt", None, AuthMethod::PrivateKeyJwt, user_scopes),
                    demo_keys::CLIENT_JWT_JWKS,
                ),
                with_jwks(
                    client("client-rsa", None, AuthMethod::PrivateKeyJwt, user_scopes),
                    demo_keys::CLIENT_RSA_JWKS,
                ),
                with_jwks(
                    client("client-ed", None, AuthMethod::PrivateKeyJwt, user_scopes),
                    demo_keys::CLIENT_ED_JWKS,
                ),
                client(
                    "client-secjwt",
                    Some(demo_keys::CLIENT_SECJWT_SECRET),
                    AuthMethod::ClientSecretJwt,
                    &["openid", "profile", REVOKE_ANY_TOKEN_SCOPE],
                ),
                with_subject(
                    client("client-mtls", None, AuthMethod::TlsClientAuth, user_scopes),
                    "CN=client-mtls, O=revspec",
                ),
                // The Config API's admin in targets/reference-tls.toml.
                with_subject(
                    client(
                        "client-mtls-2",
                        None,
                        AuthMethod::TlsClientAuth,
                        &[
                            PROPERTIES_WRITE_SCOPE,
                            PROPERTIES_READ_SCOPE,
                            CLIENTS_WRITE_SCOPE,
                        ],
                    ),
                    "CN=client-mtls-2, O=revspec",
                ),
                with_jwks(
                    client(
                        "client-ss",
                        None,
                        AuthMethod::SelfSignedTlsClientAuth,
                        &["openid", "profile", INTROSPECT_ANY_SCOPE],
                    ),
                    demo_keys::CLIENT_SS_JWKS,
                ),
            ],
            users: vec![User {
                username: "alice".into(),
                password: "alice-pass".into(),
            }],
            cors_allowed_origins: vec!["https://app.example".into()],
            simulate_unavailable_header: true,
            tls_client_ca_file: None,
            tls_client_ca_pem: Some(demo_keys::CLIENT_CA.to_owned()),
            // A documentation address (RFC 5737) that never connects: the trusted-proxy mode
            // is on, so its refusal of everyone else is observable.
            trusted_proxies: vec![std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1))],
        }
    }

    /// Reads a TOML configuration file; errors name the file and the offending key.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut config: Self =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        config.clients = config.clients.into_iter().map(Client::prepared).collect();
        if let Some(ca) = &config.tls_client_ca_file {
            let full = path.parent().unwrap_or(Path::new(".")).join(ca);
            config.tls_client_ca_pem = Some(std::fs::read_to_string(&full).map_err(|e| {
                format!(
                    "{}: tls_client_ca_file: {}: {e}",
                    path.display(),
                    full.display()
                )
            })?);
        }
        config
            .validate()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        self.settings
            .validate()
            .map_err(|e| format!("settings: {e}"))?;
        let mut seen = std::collections::HashSet::new();
        for (i, c) in self.clients.iter().enumerate() {
            if !seen.insert(&c.id) {
                return Err(format!(
                    "clients[{i}].id: client '{}' is defined twice",
                    c.id
                ));
            }
            match (c.auth_method, &c.secret) {
                (AuthMethod::None, Some(_)) => {
                    return Err(format!(
                    "clients[{i}].secret: a public client (auth_method = \"none\") has no secret"
                ))
                }
                (m, None) if m.has_secret() => {
                    return Err(format!(
                        "clients[{i}].secret: missing for a confidential client"
                    ))
                }
                _ => {}
            }
            let needs_jwks = matches!(
                c.auth_method,
                AuthMethod::PrivateKeyJwt | AuthMethod::SelfSignedTlsClientAuth
            );
            if needs_jwks && c.jwks.as_ref().is_none_or(|k| k.keys.is_empty()) {
                return Err(format!(
                    "clients[{i}].jwks: a {} client needs its public keys",
                    c.auth_method.as_str()
                ));
            }
            if c.auth_method == AuthMethod::TlsClientAuth && self.tls_client_ca_pem.is_none() {
                return Err(format!(
                    "clients[{i}]: a tls_client_auth client needs tls_client_ca_file (the CA that issues its certificate)"
                ));
            }
            if c.auth_method == AuthMethod::TlsClientAuth && c.tls_client_auth_subject_dn.is_none()
            {
                return Err(format!(
                    "clients[{i}].tls_client_auth_subject_dn: a tls_client_auth client needs its certificate's subject"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_flags_enable_revocation_and_lists_need_the_flag() {
        let mut s = Settings::default();
        assert!(s.revoke_enabled());
        s.feature_flags = vec!["userinfo".into()];
        assert!(!s.revoke_enabled());
        s.feature_flags.push("REVOKE_TOKEN".into());
        assert!(s.revoke_enabled());
        assert!(s.feature_enabled(USERINFO_FLAG));
        assert!(!s.feature_enabled(INTROSPECTION_FLAG));
        s.feature_flags.clear();
        assert!(s.feature_enabled(INTROSPECTION_FLAG));
    }

    #[test]
    fn config_errors_name_the_key() {
        let err =
            toml::from_str::<ServerConfig>("[[clients]]\nid='x'\nauth_method='none'\nbogus=1")
                .unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
        let cfg: ServerConfig =
            toml::from_str("[[clients]]\nid='x'\nauth_method='client_secret_basic'").unwrap();
        assert!(cfg.validate().unwrap_err().contains("clients[0].secret"));
    }
}
