//! The reference server's deliberate deviations, as data: faults (`revspec serve --fault NAME`
//! breaks exactly the rules a fault names) and their twins, quirks (conformant but unusual,
//! failing none). The harness is tested with them: each fault is run through the whole
//! catalogue and must fail exactly its rule IDs. The server reads these tables to behave so;
//! the catalogue and the reports read them to say what touches a rule. Nothing else of the
//! crate is imported here.

pub mod quirks;

use std::fmt;
use std::str::FromStr;

macro_rules! faults {
    ($($variant:ident = $name:literal, $what:literal, [$($rule:literal),+ $(,)?];)+
     @cluster $($cvariant:ident = $cname:literal, $cwhat:literal, [$($crule:literal),+ $(,)?];)+) => {
        /// One deliberate deviation of the reference server.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Fault { $(#[doc = $what] $variant,)+ $(#[doc = $cwhat] $cvariant,)+ }

        impl Fault {
            /// Every fault of a single server, in a stable order (each is run through the
            /// catalogue against one in-process server).
            pub const ALL: &'static [Fault] = &[$(Fault::$variant,)+];

            /// The faults of a cluster: each takes effect on the one node started with it, and
            /// shows only when the catalogue observes every node (`nodes` in the profile).
            pub const CLUSTER: &'static [Fault] = &[$(Fault::$cvariant,)+];

            /// The stable name used on the command line and in reports.
            pub fn name(self) -> &'static str {
                match self { $(Fault::$variant => $name,)+ $(Fault::$cvariant => $cname,)+ }
            }

            /// What the server does wrong.
            pub fn description(self) -> &'static str {
                match self { $(Fault::$variant => $what,)+ $(Fault::$cvariant => $cwhat,)+ }
            }

            /// The rule IDs of the catalogue that this fault breaks.
            pub fn rules(self) -> &'static [&'static str] {
                match self { $(Fault::$variant => &[$($rule),+],)+ $(Fault::$cvariant => &[$($crule),+],)+ }
            }

            /// Whether this is a fault of one node of a cluster ([`Fault::CLUSTER`]).
            pub fn is_cluster(self) -> bool {
                Fault::CLUSTER.contains(&self)
            }
        }
    };
}

faults! {
    UnknownToken400 = "unknown-token-400", "an unknown token gets 400 invalid_request instead of 200",
        ["rfc7009-2.2-invalid-token-200", "rfc7009-2.2-idempotent", "jans-all-disabled"];
    RevokedToken400 = "revoked-token-400", "revoking an already revoked token gets 400",
        ["rfc7009-2.2-idempotent"];
    RefreshIgnored = "refresh-ignored", "a refresh token sent with token_type_hint=refresh_token is answered 200 but not revoked",
        ["rfc7009-2-refresh-revocable"];
    AccessIgnored = "access-ignored", "an access token sent with token_type_hint=access_token is answered 200 but not revoked",
        ["rfc7009-2-access-revocable"];
    NoCascadeRt = "no-cascade-rt", "revoking a refresh token leaves the grant's access tokens active",
        ["rfc7009-2.1-rt-cascade", "jans-grant-cascade-rt"];
    NoCascadeAt = "no-cascade-at", "revoking an access token leaves the grant's refresh token active",
        ["jans-grant-cascade-at", "jans-cross-client-allowed"];
    CascadeTooWide = "cascade-too-wide", "revoking one token revokes every grant of the client",
        ["rfc7009-2.2-grant-isolation", "jans-grant-cascade-isolation", "jans-bearer-client-auth"];
    LazyRevocation = "lazy-revocation", "a revocation takes effect 1.5 s after the 200",
        ["rfc7009-2.1-immediate"];
    HintStrict = "hint-strict", "a token_type_hint restricts the lookup to that type",
        ["rfc7009-2.1-hint-fallback"];
    UnknownHintRejected = "unknown-hint-rejected", "an unregistered token_type_hint gets 400 unsupported_token_type",
        ["rfc7009-2.2-unknown-hint-ignored"];
    TokenOptional = "token-optional", "a request without a token parameter gets 200",
        ["rfc7009-2.1-token-required"];
    EmptyTokenAccepted = "empty-token-accepted", "token= (empty) is treated as an unknown token: 200",
        ["rfc7009-2.1-empty-token"];
    NoClientAuth = "no-client-auth", "a request without client credentials revokes the token of the client it names",
        ["rfc7009-2.1-client-auth-required", "rfc6749-2.3.1-no-query-credentials"];
    WrongSecretAccepted = "wrong-secret-accepted", "a wrong Basic secret is accepted",
        ["rfc7009-2.1-wrong-secret", "rfc6749-5.2-invalid-client-scheme", "jans-invalid-client-realm", "jans-flag-auth-first"];
    CrossClientAllowed = "cross-client-allowed", "any client may revoke any other client's token",
        ["rfc7009-2.1-own-tokens-only", "jans-cross-client-default", "jans-cross-client-no-scope", "jans-cross-client-scope-only"];
    ScopeIgnored = "scope-ignored", "with allowRevokeForOtherClients the revoke_any_token scope is not checked",
        ["jans-cross-client-no-scope"];
    OtherClientsSettingIgnored = "other-clients-setting-ignored", "the revoke_any_token scope alone allows cross-client revocation",
        ["jans-cross-client-scope-only", "jans-cross-client-default"];
    CrossClientRefused = "cross-client-refused", "cross-client revocation is refused even when allowed",
        ["jans-cross-client-allowed", "jans-cross-client-no-scope"];
    // jans-flag-auth-first cannot be observed on it: its control finds the endpoint enabled.
    FlagIgnored = "flag-ignored", "the REVOKE_TOKEN feature flag is ignored by the revocation endpoint",
        ["jans-flag-disabled", "jans-flag-auth-first"];
    FlagBeforeAuth = "flag-before-auth", "the feature flag is checked before client authentication",
        ["jans-flag-auth-first"];
    EmptyFlagsDisable = "empty-flags-disable", "an empty featureFlags list disables the endpoint",
        ["jans-flag-empty-means-enabled"];
    DiscoveryIgnoresFlag = "discovery-ignores-flag", "discovery keeps revocation_endpoint while the flag is disabled",
        ["jans-flag-disabled-discovery"];
    OidcDiscoveryOmitsRevocation = "oidc-discovery-omits-revocation", "/.well-known/openid-configuration omits revocation_endpoint",
        ["jans-discovery-endpoint"];
    AllTooWide = "all-too-wide", "the all-revocation revokes every client's tokens",
        ["jans-all-own-client"];
    AllAlways = "all-always", "token=all revokes every token of the client even when allowAllValueForRevokeEndpoint is false",
        ["jans-all-disabled"];
    AllIgnored = "all-ignored", "the all-revocation is never performed",
        ["jans-all-enabled", "jans-all-own-client", "jans-all-public-client", "jans-all-variants"];
    NoWwwAuthenticate = "no-www-authenticate", "a 401 carries no WWW-Authenticate header",
        ["rfc6749-5.2-invalid-client-scheme", "jans-invalid-client-realm"];
    NoRealm = "no-realm", "the WWW-Authenticate header has no realm",
        ["jans-invalid-client-realm"];
    ErrorNotJson = "error-not-json", "error answers are served as text/plain",
        ["rfc7009-2.2.1-error-format"];
    NoCacheHeaders = "no-cache-headers", "a 200 lacks Cache-Control: no-store and Pragma: no-cache",
        ["jans-success-headers"];
    DuplicateParamAccepted = "duplicate-param-accepted", "a repeated parameter is accepted (the first value wins)",
        ["rfc6749-3.2-duplicate-param"];
    TwoAuthMethodsAccepted = "two-auth-methods-accepted", "Basic and client_secret in the body together are accepted",
        ["rfc6749-2.3-one-auth-method"];
    QueryHonoured = "query-honoured", "credentials and token in the URL query of a POST are honoured",
        ["rfc6749-2.3.1-no-query-credentials"];
    GetRevokes = "get-revokes", "a GET with the token in the query revokes it, however the client authenticates (Basic header or query credentials)",
        ["rfc7009-2.1-post-only"];
    GetRevokesBasicOnly = "get-revokes-basic-only", "a GET with the token in the query revokes it when the client authenticates with Basic (credentials in the query are refused)",
        ["rfc7009-2.1-post-only"];
    JsonAccepted = "json-accepted", "a JSON body is accepted as a revocation",
        ["rfc7009-2.1-form-only"];
    PublicClientRejected = "public-client-rejected", "a public client cannot revoke its own token",
        ["jans-all-public-client", "rfc7009-2.1-public-client", "rfc8414-auth-methods"];
    PostAuthBroken = "post-auth-broken", "client_secret_post is published but fails at the revocation endpoint",
        ["rfc8414-auth-methods", "rfc7009-2.1-own-tokens-only", "rfc7009-2.1-wrong-secret", "rfc6749-2.3.1-no-query-credentials", "jans-cross-client-default", "jans-cross-client-no-scope", "jans-cross-client-scope-only"];
    ScriptIgnored = "script-ignored", "the revoke interception script is never called",
        ["jans-script-veto"];
    MetadataOmitsRevocation = "metadata-omits-revocation", "RFC 8414 metadata omits revocation_endpoint",
        ["rfc8414-revocation-endpoint"];
    QueryCredentialsHonoured = "query-credentials-honoured", "client_id and client_secret in the URL query of a POST are honoured (the token still comes from the body)",
        ["rfc6749-2.3.1-no-query-credentials"];
    SettingNeverApplied = "setting-never-applied", "the Config API stores and reads back changes, but the running server never applies them",
        ["jans-all-enabled", "jans-all-own-client", "jans-all-public-client", "jans-all-variants", "jans-cross-client-allowed", "jans-cross-client-no-scope", "jans-flag-auth-first", "jans-flag-disabled", "jans-flag-disabled-discovery", "jans-flag-empty-means-enabled"];
    RevocationNoop = "revocation-noop", "every revocation answers 200 and revokes nothing",
        ["jans-all-disabled", "jans-all-enabled", "jans-all-own-client", "jans-all-public-client", "jans-all-variants", "jans-cross-client-allowed", "jans-cross-client-default", "jans-cross-client-no-scope", "jans-cross-client-scope-only", "jans-flag-empty-means-enabled", "jans-grant-cascade-at", "jans-grant-cascade-isolation", "jans-grant-cascade-rt", "jans-multi-token", "jans-script-veto", "rfc6749-2.3-one-auth-method", "rfc6749-2.3.1-no-query-credentials", "rfc6749-3.2-duplicate-param", "rfc7009-2-access-revocable", "rfc7009-2-refresh-revocable", "rfc7009-2.1-client-auth-required", "rfc7009-2.1-empty-token", "rfc7009-2.1-form-only", "rfc7009-2.1-hint-fallback", "rfc7009-2.1-hint-optional", "rfc7009-2.1-immediate", "rfc7009-2.1-own-tokens-only", "rfc7009-2.1-post-only", "rfc7009-2.1-public-client", "rfc7009-2.1-rt-cascade", "rfc7009-2.1-token-required", "rfc7009-2.1-wrong-secret", "rfc7009-2.2-grant-isolation", "rfc7009-2.2-idempotent", "rfc7009-2.2-invalid-token-200", "rfc7009-2.2-unknown-hint-ignored", "rfc7009-2.2.1-retry-after", "rfc7009-2.3-cors", "rfc8414-auth-methods", "jans-bearer-client-auth"];
    LateOverRevocation = "late-over-revocation", "300 ms after each successful revocation a background job also revokes every other grant of the token's client",
        ["rfc7009-2.2-grant-isolation", "jans-grant-cascade-isolation", "jans-bearer-client-auth"];
    Resurrection = "resurrection", "a revoked grant's tokens become active again 300 ms after the revocation (a stale replica re-syncing) and stay active",
        ["jans-all-disabled", "jans-all-enabled", "jans-all-own-client", "jans-all-public-client", "jans-cross-client-allowed", "jans-cross-client-default", "jans-cross-client-no-scope", "jans-cross-client-scope-only", "jans-flag-empty-means-enabled", "jans-grant-cascade-at", "jans-grant-cascade-isolation", "jans-grant-cascade-rt", "jans-multi-token", "jans-script-veto", "rfc6749-2.3-one-auth-method", "rfc6749-2.3.1-no-query-credentials", "rfc6749-3.2-duplicate-param", "rfc7009-2-access-revocable", "rfc7009-2-refresh-revocable", "rfc7009-2.1-client-auth-required", "rfc7009-2.1-empty-token", "rfc7009-2.1-form-only", "rfc7009-2.1-hint-fallback", "rfc7009-2.1-hint-optional", "rfc7009-2.1-immediate", "rfc7009-2.1-own-tokens-only", "rfc7009-2.1-post-only", "rfc7009-2.1-public-client", "rfc7009-2.1-rt-cascade", "rfc7009-2.1-token-required", "rfc7009-2.1-wrong-secret", "rfc7009-2.2-grant-isolation", "rfc7009-2.2-idempotent", "rfc7009-2.2-invalid-token-200", "rfc7009-2.2-unknown-hint-ignored", "rfc7009-2.2.1-retry-after", "rfc7009-2.3-cors", "rfc8414-auth-methods", "jans-bearer-client-auth"];
    NoHintAccessOnly = "no-hint-access-only", "without token_type_hint only access tokens are looked up: a refresh token sent without a hint gets 200 and stays active",
        ["rfc7009-2.1-hint-optional", "rfc7009-2.2-unknown-hint-ignored"];
    MultiTokenFirstOnly = "multi-token-first-only", "of several space-separated tokens only the first is revoked",
        ["jans-multi-token"];
    UnavailableRevokes = "unavailable-revokes", "the simulated 503 (X-Revspec-Simulate: unavailable) still revokes the token",
        ["rfc7009-2.2.1-retry-after"];
    CorsPreflightNoPost = "cors-preflight-no-post", "the CORS preflight of the revocation endpoint does not allow POST",
        ["rfc7009-2.3-cors"];
    PublicClientAll = "public-client-all", "a public client (client_id alone) may revoke every token of the client with token=all",
        ["jans-all-public-client"];
    ForeignToken200 = "foreign-token-200", "another client's token is answered 200 (silently not revoked) instead of 400 invalid_request",
        ["jans-cross-client-default"];
    ClientSecretJwtRefused = "client-secret-jwt-refused", "client_secret_jwt is published, but the revocation endpoint refuses every such assertion (the token endpoint takes them)",
        ["rfc7523-assertion-revokes", "rfc8414-auth-methods", "rfc8414-2-auth-signing-algs", "jans-cross-client-allowed", "jans-cross-client-no-scope", "jans-cross-client-scope-only"];
    AssertionAudienceIgnored = "assertion-audience-ignored", "a client assertion's aud is not checked",
        ["rfc7523-3-audience"];
    AssertionExpiredAccepted = "assertion-expired-accepted", "a client assertion's exp is not checked: an expired one authenticates",
        ["rfc7523-3-expired"];
    AssertionAlgNoneAccepted = "assertion-alg-none-accepted", "an unsigned client assertion (alg none) authenticates the client its iss names",
        ["rfc7523-3-signature"];
    AssertionSubjectTrusted = "assertion-subject-trusted", "the client is taken from the assertion's sub, while the signature is checked with the key of its iss",
        ["rfc7523-3-subject"];
    AssertionTypeIgnored = "assertion-type-ignored", "a client_assertion is accepted without client_assertion_type or with a wrong one",
        ["rfc7521-4.2-assertion-type"];
    AssertionReplayAccepted = "assertion-replay-accepted", "no jti replay cache: the same assertion authenticates again and again",
        ["oidc-9-assertion-once"];
    SigningAlgsListNone = "signing-algs-list-none", "revocation_endpoint_auth_signing_alg_values_supported lists none",
        ["rfc8414-2-auth-signing-algs"];
    SelfSignedCertRefused = "self-signed-cert-refused", "self_signed_tls_client_auth is published, but the revocation endpoint refuses every self-signed client certificate",
        ["rfc8705-2-mtls-revokes", "rfc8414-auth-methods"];
    AnyClientCertAccepted = "any-client-cert-accepted", "tls_client_auth checks only that the certificate chains to the client CA, not that its subject is the client's",
        ["rfc8705-2-wrong-certificate"];
    MtlsAliasWithoutClientAuth = "mtls-alias-without-client-auth", "mtls_endpoint_aliases.revocation_endpoint points at a listener that never asks for a client certificate",
        ["rfc8705-5-endpoint-alias", "rfc8705-2-mtls-revokes", "rfc8705-2-wrong-certificate", "rfc8414-auth-methods", "rfc7009-2.1-own-tokens-only", "rfc7009-2.1-wrong-secret", "rfc6749-2.3.1-no-query-credentials", "rfc7523-3-subject", "jans-forwarded-cert-untrusted", "jans-cross-client-default", "jans-cross-client-no-scope", "jans-cross-client-scope-only"];
    BearerRevokedAccepted = "bearer-revoked-accepted", "a revoked access token still authenticates its client as Authorization: Bearer",
        ["jans-bearer-client-auth"];
    ForwardedCertTrusted = "forwarded-cert-trusted", "a forwarded client certificate header is honoured from any peer, not only the configured proxies",
        ["jans-forwarded-cert-untrusted"];
@cluster
    StaleNode = "stale-node", "this node answers token lookups from a cache of its own whose entries live 3 s, so a revocation made through another node is seen here only up to 3 s later (its own revocations leave the cache at once)",
        ["cluster-propagation", "rfc7009-2.1-immediate"];
}

impl Fault {
    /// Whether the fault breaks client authentication with JWT assertions or certificates:
    /// it shows only on a target that has such clients (the reference server over TLS with
    /// `targets/reference-tls.toml`), so that is where it is tested. (Bearer client
    /// authentication needs no such client: `targets/reference.toml` has it.)
    pub fn needs_hardened_clients(self) -> bool {
        self.rules().iter().any(|r| {
            r.starts_with("rfc7523")
                || r.starts_with("rfc7521")
                || r.starts_with("rfc8705")
                || r.starts_with("oidc-9")
                || *r == "rfc8414-2-auth-signing-algs"
                || *r == "jans-forwarded-cert-untrusted"
        })
    }
}

/// How long the `stale-node` fault's cache entries live: longer than any propagation window
/// a cluster profile would declare, shorter than the harness's patience, so that the delay is
/// measured and the node named.
pub const STALE_NODE_CACHE: std::time::Duration = std::time::Duration::from_secs(3);

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fault::ALL
            .iter()
            .chain(Fault::CLUSTER)
            .copied()
            .find(|f| f.name() == s)
            .ok_or_else(|| format!("unknown fault '{s}' (see `revspec serve --list-faults`)"))
    }
}

/// One line per fault: name, the rule IDs it breaks, what it does (a cluster fault says so).
pub fn listing() -> String {
    Fault::ALL
        .iter()
        .chain(Fault::CLUSTER)
        .map(|f| {
            format!(
                "{}\t{}\t{}{}\n",
                f.name(),
                f.rules().join(","),
                if f.is_cluster() {
                    "(cluster: one node, needs --store) "
                } else {
                    ""
                },
                f.description()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for f in Fault::ALL.iter().chain(Fault::CLUSTER) {
            assert!(seen.insert(f.name()), "duplicate {}", f.name());
            assert_eq!(f.name().parse::<Fault>().unwrap(), *f);
            assert_eq!(f.is_cluster(), Fault::CLUSTER.contains(f));
        }
        assert!(Fault::StaleNode.is_cluster() && !Fault::ALL.contains(&Fault::StaleNode));
        assert!(
            listing().contains("stale-node\tcluster-propagation,rfc7009-2.1-immediate\t(cluster")
        );
        assert!("nope".parse::<Fault>().unwrap_err().contains("nope"));
    }
}
