//! The words the catalogue speaks in, and what a scenario needs of a target, parsed from its
//! `@requires:` tags: a capability, a server setting, a client role, refresh tokens, a probe
//! for a token type. A scenario declares every need; none is guessed from its steps' text,
//! so `doctor` and the run skip exactly the same scenarios for the same reason.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The role a client plays in the catalogue ("the other client").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Role {
    /// The client whose tokens most scenarios revoke.
    Primary,
    /// A second confidential client of the same server.
    Other,
    /// A client holding the `revoke_any_token` scope.
    RevokeAny,
    /// A public client (`token_endpoint_auth_method=none`).
    Public,
    /// The settings adapter's admin client (Janssen Config API).
    Admin,
    /// A resource server allowed to introspect any client's tokens.
    Introspector,
    /// Whichever client of the profile authenticates with a JWT assertion (`private_key_jwt`
    /// or `client_secret_jwt`): the first of primary, other, revoke-any, introspector, admin.
    Jwt,
    /// Whichever client of the profile authenticates with its certificate (mutual TLS), in
    /// the same order.
    Mtls,
}

impl Role {
    /// The roles a step may name by the method they authenticate with.
    pub const BY_METHOD: [Role; 2] = [Role::Jwt, Role::Mtls];

    pub const ALL: [Role; 6] = [
        Role::Primary,
        Role::Other,
        Role::RevokeAny,
        Role::Public,
        Role::Admin,
        Role::Introspector,
    ];

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .chain(Role::BY_METHOD)
            .find(|r| r.name() == s)
    }

    /// Whether the role names a client by its method (see [`Role::BY_METHOD`]).
    pub fn is_by_method(self) -> bool {
        Role::BY_METHOD.contains(&self)
    }

    /// The name in profiles (`[clients.revoke-any]`) and steps (`the revoke-any client`).
    pub fn name(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Other => "other",
            Role::RevokeAny => "revoke-any",
            Role::Public => "public",
            Role::Admin => "admin",
            Role::Introspector => "introspector",
            Role::Jwt => "jwt",
            Role::Mtls => "mtls",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which type of token is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenType {
    Access,
    Refresh,
}

impl TokenType {
    pub const ALL: [TokenType; 2] = [TokenType::Access, TokenType::Refresh];

    /// `access` or `refresh`.
    pub fn name(self) -> &'static str {
        match self {
            TokenType::Access => "access",
            TokenType::Refresh => "refresh",
        }
    }

    pub fn parse(s: &str) -> Option<TokenType> {
        TokenType::ALL.into_iter().find(|t| t.name() == s)
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const FEATURE_FLAGS: &str = "featureFlags";
const OTHER_CLIENTS: &str = "allowRevokeForOtherClients";
const ALL_VALUE: &str = "allowAllValueForRevokeEndpoint";

/// A server setting a scenario needs, as its `@requires:setting:NAME=VALUE` tag says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Setting {
    AllowRevokeForOtherClients(bool),
    AllowAllValueForRevokeEndpoint(bool),
    /// `featureFlags` non-empty and without `revoke_token`.
    RevokeTokenFlagDisabled,
    /// `featureFlags` empty (every feature enabled).
    FeatureFlagsEmpty,
}

impl Setting {
    /// Parses the part of a tag after `requires:setting:`.
    pub fn parse_tag(text: &str) -> Option<Setting> {
        Some(match text {
            "allowRevokeForOtherClients=true" => Setting::AllowRevokeForOtherClients(true),
            "allowRevokeForOtherClients=false" => Setting::AllowRevokeForOtherClients(false),
            "allowAllValueForRevokeEndpoint=true" => Setting::AllowAllValueForRevokeEndpoint(true),
            "allowAllValueForRevokeEndpoint=false" => {
                Setting::AllowAllValueForRevokeEndpoint(false)
            }
            "featureFlags=disabled" => Setting::RevokeTokenFlagDisabled,
            "featureFlags=empty" => Setting::FeatureFlagsEmpty,
            _ => return None,
        })
    }

    /// Whether it turns an endpoint or a feature off or on (the feature flags): scenarios that
    /// need other settings rely on the endpoint as the server has it, so such a setting is
    /// never put in place together with another group's settings.
    pub fn switches_a_feature(self) -> bool {
        matches!(
            self,
            Setting::RevokeTokenFlagDisabled | Setting::FeatureFlagsEmpty
        )
    }

    /// The configuration property it lives in.
    pub fn property(self) -> &'static str {
        match self {
            Setting::AllowRevokeForOtherClients(_) => OTHER_CLIENTS,
            Setting::AllowAllValueForRevokeEndpoint(_) => ALL_VALUE,
            Setting::RevokeTokenFlagDisabled | Setting::FeatureFlagsEmpty => FEATURE_FLAGS,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Setting::AllowRevokeForOtherClients(v) => format!("{OTHER_CLIENTS}={v}"),
            Setting::AllowAllValueForRevokeEndpoint(v) => format!("{ALL_VALUE}={v}"),
            Setting::RevokeTokenFlagDisabled => "featureFlags without revoke_token".into(),
            Setting::FeatureFlagsEmpty => "featureFlags=[]".into(),
        }
    }
}

/// An optional ability of a target, named by `@requires:<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Capability {
    /// A public client that may revoke its own tokens.
    PublicClient,
    /// An origin the server allows for CORS.
    Cors,
    /// A revoke interception script that can be told to veto.
    RevokeScript,
    /// A way to make the server answer 503.
    FaultInjection,
    /// The nodes of a cluster, each observable.
    Nodes,
    /// A client that authenticates with a JWT assertion (`private_key_jwt`,
    /// `client_secret_jwt`).
    JwtClient,
    /// A client that authenticates with its certificate (`tls_client_auth`,
    /// `self_signed_tls_client_auth`).
    MtlsClient,
    /// Janssen's client authentication with the client's own access token as bearer.
    BearerClientAuth,
    /// A TLS terminator forwarding client certificates in a header the server honours.
    ForwardedCert,
}

impl Capability {
    pub const ALL: [Capability; 9] = [
        Capability::PublicClient,
        Capability::Cors,
        Capability::RevokeScript,
        Capability::FaultInjection,
        Capability::Nodes,
        Capability::JwtClient,
        Capability::MtlsClient,
        Capability::BearerClientAuth,
        Capability::ForwardedCert,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Capability::PublicClient => "public-client",
            Capability::Cors => "cors",
            Capability::RevokeScript => "revoke-script",
            Capability::FaultInjection => "fault-injection",
            Capability::Nodes => "nodes",
            Capability::JwtClient => "jwt-client",
            Capability::MtlsClient => "mtls-client",
            Capability::BearerClientAuth => "bearer-client-auth",
            Capability::ForwardedCert => "forwarded-cert",
        }
    }
}

/// One need of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Requirement {
    Capability(Capability),
    Setting(Setting),
    /// A client of this role (`@requires:client:other`).
    Client(Role),
    /// A token source that gives refresh tokens (`@requires:refresh-tokens`).
    RefreshTokens,
    /// A probe for this token type (`@requires:probe:access`).
    Probe(TokenType),
}

impl Requirement {
    /// Parses the part of a tag after `requires:`; an unknown need is an error naming it.
    pub fn parse(text: &str) -> Result<Requirement, String> {
        if let Some(s) = text.strip_prefix("setting:") {
            return Setting::parse_tag(s)
                .map(Requirement::Setting)
                .ok_or_else(|| format!("unknown setting tag @requires:setting:{s}"));
        }
        if let Some(r) = text.strip_prefix("client:") {
            return Role::parse(r)
                .map(Requirement::Client)
                .ok_or_else(|| format!("unknown client role in @requires:client:{r}"));
        }
        if let Some(t) = text.strip_prefix("probe:") {
            return TokenType::parse(t)
                .map(Requirement::Probe)
                .ok_or_else(|| format!("unknown token type in @requires:probe:{t}"));
        }
        if text == "refresh-tokens" {
            return Ok(Requirement::RefreshTokens);
        }
        Capability::ALL
            .into_iter()
            .find(|c| c.name() == text)
            .map(Requirement::Capability)
            .ok_or_else(|| format!("unknown requirement @requires:{text}"))
    }

    /// Every need a scenario's tags declare, in a stable order.
    pub fn of_tags(tags: &[String]) -> Result<Vec<Requirement>, String> {
        let mut out = tags
            .iter()
            .filter_map(|t| t.strip_prefix("requires:"))
            .map(Requirement::parse)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The tag that declares it (without `@`).
    pub fn tag(self) -> String {
        match self {
            Requirement::Capability(c) => format!("requires:{}", c.name()),
            Requirement::Setting(s) => format!("requires:setting:{}", setting_tag(s)),
            Requirement::Client(r) => format!("requires:client:{}", r.name()),
            Requirement::RefreshTokens => "requires:refresh-tokens".into(),
            Requirement::Probe(t) => format!("requires:probe:{}", t.name()),
        }
    }
}

fn setting_tag(s: Setting) -> &'static str {
    match s {
        Setting::AllowRevokeForOtherClients(true) => "allowRevokeForOtherClients=true",
        Setting::AllowRevokeForOtherClients(false) => "allowRevokeForOtherClients=false",
        Setting::AllowAllValueForRevokeEndpoint(true) => "allowAllValueForRevokeEndpoint=true",
        Setting::AllowAllValueForRevokeEndpoint(false) => "allowAllValueForRevokeEndpoint=false",
        Setting::RevokeTokenFlagDisabled => "featureFlags=disabled",
        Setting::FeatureFlagsEmpty => "featureFlags=empty",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_requirement_round_trips_through_its_tag() {
        let mut all: Vec<Requirement> = Capability::ALL.map(Requirement::Capability).to_vec();
        all.extend(Role::ALL.map(Requirement::Client));
        all.extend(TokenType::ALL.map(Requirement::Probe));
        all.push(Requirement::RefreshTokens);
        for s in [
            Setting::AllowRevokeForOtherClients(true),
            Setting::AllowRevokeForOtherClients(false),
            Setting::AllowAllValueForRevokeEndpoint(true),
            Setting::AllowAllValueForRevokeEndpoint(false),
            Setting::RevokeTokenFlagDisabled,
            Setting::FeatureFlagsEmpty,
        ] {
            all.push(Requirement::Setting(s));
        }
        for r in all {
            let tag = r.tag();
            let parsed = Requirement::parse(tag.strip_prefix("requires:").unwrap());
            assert_eq!(parsed, Ok(r), "{tag}");
        }
    }

    #[test]
    fn unknown_needs_are_named() {
        for (tag, named) in [
            ("setting:allowAllValueForRevokeEndpoint=maybe", "maybe"),
            ("client:boss", "boss"),
            ("probe:id", "id"),
            ("teleport", "teleport"),
        ] {
            let e = Requirement::parse(tag).unwrap_err();
            assert!(e.contains(named), "{e}");
        }
    }
}
