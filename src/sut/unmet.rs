//! The one skip policy: which need of a scenario (`catalogue::Requirement`) a target profile
//! cannot meet, and why, in words that name the profile key to change. The run's before-hook
//! and `doctor` both ask here, so `doctor` predicts exactly the run's SKIPs.

use super::profile::{AdapterKind, ProbeKind, TargetProfile, TokenSourceKind};
use crate::catalogue::{Capability, Requirement, Role, RuleSet, Scenario, Setting, TokenType};

/// Why the profile cannot meet `need`, or None when it can.
pub fn reason(profile: &TargetProfile, need: Requirement) -> Option<String> {
    match need {
        Requirement::Capability(c) => (!has_capability(profile, c)).then(|| {
            format!(
                "the target lacks the capability {} ({})",
                c.name(),
                capability_key(c)
            )
        }),
        Requirement::Setting(s) => (profile.settings.adapter == AdapterKind::Static
            && !declares(profile, s))
        .then(|| {
            format!(
                "needs {}; the static settings adapter cannot change it and the profile does not declare it",
                s.describe()
            )
        }),
        Requirement::Client(role) => (!has_client(profile, role))
            .then(|| format!("the profile has no [clients.{}]", role.name())),
        Requirement::RefreshTokens => (profile.tokens.source == TokenSourceKind::ClientCredentials)
            .then(|| "the token source (client_credentials) gives no refresh tokens".to_owned()),
        Requirement::Probe(kind) => (probe_kind(profile, kind) == ProbeKind::None).then(|| {
            format!("probes.{kind}_token is \"none\": no probe observes {kind} tokens")
        }),
    }
}

/// The first need of a scenario the profile cannot meet, in the catalogue's order of needs.
pub fn first_unmet(profile: &TargetProfile, needs: &[Requirement]) -> Option<String> {
    needs.iter().find_map(|n| reason(profile, *n))
}

/// Every scenario of a rule set that this profile will skip before it starts, with why: what
/// `doctor` predicts, and exactly what a run's before-hook decides.
pub fn skips<'a>(
    profile: &TargetProfile,
    scenarios: &'a [Scenario],
    rule_set: RuleSet,
) -> Vec<(&'a Scenario, String)> {
    scenarios
        .iter()
        .filter(|s| rule_set.selects(&s.tags))
        .filter_map(|s| first_unmet(profile, &s.requires).map(|why| (s, why)))
        .collect()
}

fn probe_kind(profile: &TargetProfile, kind: TokenType) -> ProbeKind {
    match kind {
        TokenType::Access => profile.probes.access_token,
        TokenType::Refresh => profile.probes.refresh_token,
    }
}

fn has_client(profile: &TargetProfile, role: Role) -> bool {
    profile
        .client_roles()
        .iter()
        .any(|(name, _)| *name == role.name())
}

fn has_capability(profile: &TargetProfile, c: Capability) -> bool {
    let caps = &profile.capabilities;
    match c {
        Capability::PublicClient => caps.public_client && profile.clients.public.is_some(),
        Capability::Cors => caps.cors_origin.is_some(),
        Capability::RevokeScript => caps.revoke_script_veto_header.is_some(),
        Capability::FaultInjection => caps.unavailable_header.is_some(),
        Capability::Nodes => !profile.nodes.is_empty(),
        Capability::JwtClient => profile.client_roles().iter().any(|(_, c)| c.auth.is_jwt()),
        Capability::MtlsClient => profile.client_roles().iter().any(|(_, c)| c.auth.is_mtls()),
        Capability::BearerClientAuth => caps.bearer_client_auth,
        Capability::ForwardedCert => caps.forwarded_cert_header.is_some(),
    }
}

/// The profile key that gives a capability.
pub fn capability_key(c: Capability) -> &'static str {
    match c {
        Capability::PublicClient => "capabilities.public_client and [clients.public]",
        Capability::Cors => "capabilities.cors_origin",
        Capability::RevokeScript => "capabilities.revoke_script_veto_header",
        Capability::FaultInjection => "capabilities.unavailable_header",
        Capability::Nodes => "the profile's nodes list",
        Capability::JwtClient => {
            "a client with auth = \"private_key_jwt\" or \"client_secret_jwt\""
        }
        Capability::MtlsClient => {
            "a client with auth = \"tls_client_auth\" or \"self_signed_tls_client_auth\""
        }
        Capability::BearerClientAuth => "capabilities.bearer_client_auth",
        Capability::ForwardedCert => "capabilities.forwarded_cert_header",
    }
}

/// Whether a static profile declares a setting with the value a scenario needs.
pub fn declares(profile: &TargetProfile, setting: Setting) -> bool {
    let d = &profile.settings;
    match setting {
        Setting::AllowRevokeForOtherClients(v) => d.allow_revoke_for_other_clients == Some(v),
        Setting::AllowAllValueForRevokeEndpoint(v) => {
            d.allow_all_value_for_revoke_endpoint == Some(v)
        }
        Setting::RevokeTokenFlagDisabled => d.feature_flags.as_ref().is_some_and(|f| {
            !f.is_empty() && !f.iter().any(|x| x.eq_ignore_ascii_case("revoke_token"))
        }),
        Setting::FeatureFlagsEmpty => d.feature_flags.as_ref().is_some_and(Vec::is_empty),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dot() -> TargetProfile {
        crate::sut::profile::shipped("django-oauth-toolkit.toml")
    }

    #[test]
    fn each_need_names_the_key_that_meets_it() {
        let mut p = dot();
        p.capabilities.public_client = false;
        assert!(
            reason(&p, Requirement::Capability(Capability::PublicClient))
                .unwrap()
                .contains("capabilities.public_client")
        );
        p.tokens.source = TokenSourceKind::ClientCredentials;
        assert!(reason(&p, Requirement::RefreshTokens)
            .unwrap()
            .contains("client_credentials"));
        p.probes.refresh_token = ProbeKind::None;
        assert_eq!(
            reason(&p, Requirement::Probe(TokenType::Refresh)).unwrap(),
            "probes.refresh_token is \"none\": no probe observes refresh tokens"
        );
        assert!(reason(&p, Requirement::Client(Role::Primary)).is_none());
        p.clients.other = None;
        assert_eq!(
            reason(&p, Requirement::Client(Role::Other)).unwrap(),
            "the profile has no [clients.other]"
        );
    }

    #[test]
    fn declared_static_settings_are_met() {
        let mut p = dot();
        p.settings.allow_all_value_for_revoke_endpoint = Some(true);
        assert!(declares(&p, Setting::AllowAllValueForRevokeEndpoint(true)));
        assert!(!declares(
            &p,
            Setting::AllowAllValueForRevokeEndpoint(false)
        ));
        p.settings.feature_flags = Some(vec!["uma".into()]);
        assert!(declares(&p, Setting::RevokeTokenFlagDisabled));
        assert!(!declares(&p, Setting::FeatureFlagsEmpty));
        assert!(reason(&p, Requirement::Setting(Setting::FeatureFlagsEmpty))
            .unwrap()
            .contains("static settings adapter"));
    }
}
