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
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
        }
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
                secret_digest: None,
            }
            .prepared()
        };
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
            ],
            users: vec![User {
                username: "alice".into(),
                password: "alice-pass".into(),
            }],
            cors_allowed_origins: vec!["https://app.example".into()],
            simulate_unavailable_header: true,
        }
    }

    /// Reads a TOML configuration file; errors name the file and the offending key.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut config: Self =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        config.clients = config.clients.into_iter().map(Client::prepared).collect();
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
                (AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost, None) => {
                    return Err(format!(
                        "clients[{i}].secret: missing for a confidential client"
                    ))
                }
                _ => {}
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
