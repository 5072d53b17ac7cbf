//! Where the harness sends secrets: only where the profile points. The discovery document must
//! name the issuer the profile names (RFC 8414 3.3); an endpoint it publishes on another origin
//! than the issuer gets no credentials unless the profile allows that origin (`trust.
//! allowed_origins`) or names the endpoint itself (`[endpoints]`); and nothing that carries a
//! secret or a token goes over plain http to a host off loopback unless the profile says so
//! (`trust.plain_http`). Each refusal names the document, the endpoint and the key that allows it.

use super::discovery::{Discovery, Endpoints};
use super::error::TargetError;
use super::profile::{is_loopback, EndpointOverrides, TargetProfile};
use crate::text::one_line;
use url::Url;

/// Checks the resolved endpoints against the profile's trust (see the module doc).
pub fn check(
    profile: &TargetProfile,
    issuer: &Url,
    discovery: &Discovery,
    overrides: &EndpointOverrides,
    endpoints: &Endpoints,
) -> Result<(), TargetError> {
    let file = profile.source.display();
    if let Some((value, from)) = discovery.member("issuer") {
        let published = value.as_str().unwrap_or_default();
        if published.trim_end_matches('/') != profile.issuer.trim_end_matches('/') {
            return Err(TargetError::Untrusted(format!(
                "{from}: the document names the issuer {:?}, not {:?} as {file} says (RFC 8414 3.3): it is not this server's metadata, so no credential is sent to what it publishes",
                one_line(published),
                profile.issuer
            )));
        }
    }
    let allowed: Vec<url::Origin> = profile
        .trust
        .allowed_origins
        .iter()
        .filter_map(|o| Url::parse(o).ok())
        .map(|u| u.origin())
        .collect();
    let published = [
        (
            "revocation",
            "revocation_endpoint",
            Some(&endpoints.revocation),
            overrides.revocation.is_some(),
        ),
        (
            "token",
            "token_endpoint",
            endpoints.token.as_ref(),
            overrides.token.is_some(),
        ),
        (
            "introspection",
            "introspection_endpoint",
            endpoints.introspection.as_ref(),
            overrides.introspection.is_some(),
        ),
        (
            "userinfo",
            "userinfo_endpoint",
            endpoints.userinfo.as_ref(),
            overrides.userinfo.is_some(),
        ),
    ];
    for (key, member, url, overridden) in published {
        let Some(url) = url else { continue };
        if !overridden && url.origin() != issuer.origin() && !allowed.contains(&url.origin()) {
            let from = discovery
                .member(member)
                .map_or("discovery".to_owned(), |(_, d)| d.to_string());
            return Err(TargetError::Untrusted(format!(
                "{file}: {from} publishes {member} on another origin than the issuer ({}); revspec sends credentials there only if the profile says so: add {:?} to trust.allowed_origins, or set endpoints.{key}",
                one_line(url.as_str()),
                url.origin().ascii_serialization()
            )));
        }
        if url.scheme() == "http" && !is_loopback(url) && !profile.trust.plain_http {
            return Err(TargetError::Untrusted(format!(
                "{file}: the {key} endpoint {} is plain http off loopback, and requests to it carry credentials or tokens; use https, or set trust.plain_http = true to accept the risk",
                one_line(url.as_str())
            )));
        }
    }
    Ok(())
}

/// Checks the published `mtls_endpoint_aliases` (RFC 8705 5) a certificate client is sent to:
/// an alias on the issuer's host (any port: a separate mTLS listener is how servers do it) or
/// on an origin `trust.allowed_origins` names, and never plain http off loopback.
pub fn check_aliases(
    profile: &TargetProfile,
    issuer: &Url,
    aliases: &[(Url, Url)],
) -> Result<(), TargetError> {
    let file = profile.source.display();
    for (plain, alias) in aliases {
        let same_host = alias.host_str() == issuer.host_str();
        let allowed = profile
            .trust
            .allowed_origins
            .iter()
            .filter_map(|o| Url::parse(o).ok())
            .any(|u| u.origin() == alias.origin());
        if !same_host && !allowed {
            return Err(TargetError::Untrusted(format!(
                "{file}: discovery publishes the mTLS alias {} of {} on another host than the issuer; revspec sends certificate clients there only if the profile says so: add {:?} to trust.allowed_origins",
                one_line(alias.as_str()),
                one_line(plain.as_str()),
                alias.origin().ascii_serialization()
            )));
        }
        if alias.scheme() == "http" && !is_loopback(alias) && !profile.trust.plain_http {
            return Err(TargetError::Untrusted(format!(
                "{file}: the mTLS alias {} is plain http off loopback; mutual TLS needs https",
                one_line(alias.as_str())
            )));
        }
    }
    Ok(())
}
