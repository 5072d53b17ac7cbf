//! Quirks, the twin of faults: `revspec serve --quirk NAME` (repeatable) makes the reference
//! server behave in a way that is conformant but unusual, as real servers do (a configuration
//! reload delay, owner-only introspection, a 400 for a failed body-credentials login...). The
//! harness is tested against each: a quirk must fail no rule beyond the ones it names, once the
//! target profile says what [`Quirk::profile_note`] says. The quirks of a cluster
//! ([`ClusterQuirk`]) show only between the nodes of a `--store redis://...` cluster.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

macro_rules! quirks {
    ($(#[$doc:meta])* $ty:ident: $($variant:ident = $name:literal, $what:literal,
        note: $note:literal,
        named: [$(($rule:literal, $verdict:literal)),* $(,)?],
        exercises: [$($ex:literal),* $(,)?];)+) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $ty { $(#[doc = $what] $variant,)+ }

        impl $ty {
            /// Every quirk of this kind, in a stable order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant,)+];

            /// The stable name used on the command line and in reports.
            pub fn name(self) -> &'static str { match self { $($ty::$variant => $name,)+ } }

            /// What the server does differently.
            pub fn description(self) -> &'static str { match self { $($ty::$variant => $what,)+ } }

            /// What a target profile must say to check a server with this quirk ("" when
            /// nothing: a harness must cope with it as it is).
            pub fn profile_note(self) -> &'static str { match self { $($ty::$variant => $note,)+ } }

            /// Rule IDs this quirk may legitimately leave non-PASS, with the verdict expected.
            pub fn named_rules(self) -> &'static [(&'static str, &'static str)] {
                match self { $($ty::$variant => &[$(($rule, $verdict)),*],)+ }
            }

            /// The rules whose checks this quirk exercises: what a server behaving so must
            /// still pass (shown by `revspec explain` under each of them).
            pub fn exercises(self) -> &'static [&'static str] {
                match self { $($ty::$variant => &[$($ex),*],)+ }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

quirks! {
    /// One conformant but unusual behaviour of the reference server.
    Quirk:
    ConfigReloadDelay = "config-reload-delay",
        "the Config API stores a change at once, but the running server applies stored settings on a periodic reload every 2 s (like --config-reload-delay 2s)",
        note: "settings.settle of at least 5s",
        named: [],
        exercises: ["jans-all-enabled", "jans-all-disabled", "jans-all-own-client", "jans-cross-client-default", "jans-cross-client-no-scope", "jans-cross-client-scope-only", "jans-cross-client-allowed", "jans-flag-disabled", "jans-flag-disabled-discovery", "jans-flag-empty-means-enabled"];
    RefreshReplacesAccess = "refresh-replaces-access",
        "a refresh grant revokes the grant's earlier access tokens: one live access token per grant",
        note: "no plain refresh-grant probe where an access token's state matters (probe refresh tokens by introspection or with refresh_probe_scope)",
        named: [],
        exercises: ["jans-grant-cascade-rt", "jans-grant-cascade-at"];
    IntrospectionOwnerOnly = "introspection-owner-only",
        "only the client a token was issued to may introspect it; every other caller, even one holding introspect_any, reads {\"active\": false}",
        note: "introspection_client = \"owner\" (a public client's tokens cannot be introspected: probe them through userinfo or a refresh attempt)",
        named: [],
        exercises: ["rfc7009-2.1-own-tokens-only", "jans-cross-client-default"];
    PostAuthFailure400 = "post-auth-failure-400",
        "a failed client_secret_post authentication answers 400 invalid_client without WWW-Authenticate (Basic failures stay 401 with the challenge)",
        note: "",
        named: [],
        exercises: ["rfc7009-2.1-wrong-secret", "jans-flag-auth-first"];
    TwoChallenges = "two-challenges",
        "every 401 carries two WWW-Authenticate fields: Bearer realm=\"revspec\" first, then Basic realm=\"revspec\"",
        note: "",
        named: [],
        exercises: ["rfc6749-5.2-invalid-client-scheme", "jans-invalid-client-realm"];
    RevocationDelay = "revocation-delay",
        "every revocation (also cascade and revoke-all) takes effect 300 ms after the 200",
        note: "timeouts.propagation_window = \"1s\" (without it, rfc7009-2.1-immediate warns with the measured delay)",
        named: [],
        exercises: ["rfc7009-2.1-immediate"];
    Discovery503WhenDisabled = "discovery-503-when-disabled",
        "while the REVOKE_TOKEN flag is disabled, both discovery documents answer 503 with an RFC 6749-style JSON error",
        note: "endpoints given explicitly in the profile (token, revocation, introspection, userinfo)",
        named: [("jans-flag-disabled-discovery", "error")],
        exercises: ["jans-flag-disabled-discovery", "jans-flag-disabled"];
    CacheControlExtra = "cache-control-extra",
        "every 200 of the revocation endpoint carries Cache-Control: no-cache, no-store, max-age=0, must-revalidate and Pragma: no-cache",
        note: "",
        named: [],
        exercises: ["jans-success-headers"];
    RefreshScopeFirst = "refresh-scope-first",
        "the refresh grant checks a requested scope against the client's registration before it looks at the refresh token, so invalid_scope comes even for a revoked or unknown refresh token",
        note: "no refresh_probe_scope (that probe reads invalid_scope as a live token): probe refresh tokens by introspection",
        named: [],
        exercises: ["rfc7009-2-refresh-revocable"];
    AssertionAudTokenEndpointOnly = "assertion-aud-token-endpoint-only",
        "a client assertion's aud must be the token endpoint URL (like Janssen, which refuses the revocation endpoint's URL and takes the issuer only as the token endpoint's base)",
        note: "audience = \"token_endpoint\" for JWT clients (the default)",
        named: [],
        exercises: ["rfc7523-assertion-revokes", "rfc7523-3-audience"];
    MalformedAssertion400 = "malformed-assertion-400",
        "a client_assertion that is not a JWS, or one sent without (or with a wrong) client_assertion_type, gets 400 invalid_request instead of 401 invalid_client",
        note: "",
        named: [],
        exercises: ["rfc7521-4.2-assertion-type", "rfc7523-3-signature"];
    Es256OnlyPublished = "es256-only-published",
        "revocation_endpoint_auth_signing_alg_values_supported lists only ES256 (the server still takes the other algorithms)",
        note: "",
        named: [],
        exercises: ["rfc8414-2-auth-signing-algs"];
    Userinfo403 = "userinfo-403",
        "userinfo answers 403 insufficient_scope (with the RFC 6750 challenge) for a live access token without the openid scope",
        note: "",
        named: [],
        exercises: ["rfc7009-2-access-revocable"];
}

quirks! {
    /// A conformant but unusual behaviour of a cluster of reference servers (nodes sharing a
    /// `--store redis://...`): it shows only between nodes, so a single server with it behaves
    /// as without it. Kept apart from [`Quirk`], whose every member is run against one
    /// in-process server.
    ClusterQuirk:
    CrossNodeDelay = "cross-node-delay",
        "every node answers token lookups from a cache of its own whose entries live 250 ms, so a revocation made through one node is seen on the others up to 250 ms later (each node's own revocations leave its cache at once)",
        note: "timeouts.propagation_window of at least 500ms (targets/reference-cluster.toml declares 1s)",
        named: [],
        exercises: ["cluster-propagation"];
}

/// How long the `cross-node-delay` quirk's cache entries live.
pub const QUIRK_CROSS_NODE_DELAY: Duration = Duration::from_millis(250);

/// The reload period of the `config-reload-delay` quirk.
pub const QUIRK_RELOAD_DELAY: Duration = Duration::from_secs(2);
/// How long after the 200 a revocation takes effect with the `revocation-delay` quirk.
pub const QUIRK_REVOCATION_DELAY: Duration = Duration::from_millis(300);

impl Quirk {
    /// Whether the quirk touches client authentication with JWT assertions or certificates:
    /// it is tested on the reference server over TLS with `targets/reference-tls.toml`.
    pub fn needs_hardened_clients(self) -> bool {
        matches!(
            self,
            Quirk::AssertionAudTokenEndpointOnly
                | Quirk::MalformedAssertion400
                | Quirk::Es256OnlyPublished
        )
    }
}

impl FromStr for Quirk {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quirk::ALL
            .iter()
            .copied()
            .find(|q| q.name() == s)
            .ok_or_else(|| format!("unknown quirk '{s}' (see `revspec serve --list-quirks`)"))
    }
}

impl FromStr for ClusterQuirk {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ClusterQuirk::ALL
            .iter()
            .copied()
            .find(|q| q.name() == s)
            .ok_or_else(|| format!("unknown quirk '{s}' (see `revspec serve --list-quirks`)"))
    }
}

/// One line per quirk: name, what a profile must say, what it does (the cluster quirks last,
/// marked).
pub fn listing() -> String {
    let line = |name: &str, note: &str, cluster: bool, description: &str| {
        let note = if note.is_empty() { "-" } else { note };
        let mark = if cluster {
            "(cluster: needs --store) "
        } else {
            ""
        };
        format!("{name}\t{note}\t{mark}{description}\n")
    };
    let single = Quirk::ALL
        .iter()
        .map(|q| line(q.name(), q.profile_note(), false, q.description()));
    let cluster = ClusterQuirk::ALL
        .iter()
        .map(|q| line(q.name(), q.profile_note(), true, q.description()));
    single.chain(cluster).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for q in Quirk::ALL {
            assert!(seen.insert(q.name()), "duplicate {}", q.name());
            assert_eq!(q.name().parse::<Quirk>().unwrap(), *q);
            assert!(!q.description().is_empty());
        }
        assert!("nope".parse::<Quirk>().unwrap_err().contains("nope"));
        for q in ClusterQuirk::ALL {
            assert!(seen.insert(q.name()), "duplicate {}", q.name());
            assert_eq!(q.name().parse::<ClusterQuirk>().unwrap(), *q);
            assert!(q.name().parse::<Quirk>().is_err());
        }
    }

    #[test]
    fn notes_and_named_rules_are_where_the_quirk_needs_them() {
        assert_eq!(
            Quirk::Discovery503WhenDisabled.named_rules(),
            &[("jans-flag-disabled-discovery", "error")]
        );
        assert!(Quirk::IntrospectionOwnerOnly
            .profile_note()
            .contains("introspection_client = \"owner\""));
        assert!(Quirk::ConfigReloadDelay
            .profile_note()
            .contains("settings.settle"));
        assert!(Quirk::TwoChallenges.named_rules().is_empty());
        let listing = listing();
        assert_eq!(
            listing.lines().count(),
            Quirk::ALL.len() + ClusterQuirk::ALL.len()
        );
        assert!(listing.contains("cross-node-delay\ttimeouts.propagation_window"));
        assert!(listing.contains("two-challenges\t-\t"));
    }
}
