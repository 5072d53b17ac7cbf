//! `revspec doctor --target FILE`: checks a target profile against the live target before a
//! real run, on one screen: discovery and endpoints, minting for each client role, each
//! probe's calibration, whether the settings adapter can read and change settings, and which
//! rules will be skipped and why; then one line per problem with its fix. Exit 0 (no
//! problem), 2 (the profile itself: a key, a secret's variable), 3 (the target: unreachable,
//! minting, a probe that cannot be believed, settings that cannot be read or changed).

use super::exit::Exit;
use super::DoctorArgs;
use crate::catalogue::{RuleSet, Setting, TokenType};
use crate::sut::preflight::{self, PreflightError};
use crate::sut::profile::{AdapterKind, TargetProfile, TokenSourceKind};
use crate::sut::settings::SettingsSession;
use crate::sut::{Role, Target};
use crate::text::one_line;
use std::fmt::Write as _;

/// A problem and its fix.
struct Problem {
    what: String,
    fix: String,
}

#[derive(Default)]
struct Screen {
    text: String,
    problems: Vec<Problem>,
}

impl Screen {
    fn section(&mut self, title: &str) {
        let _ = writeln!(self.text, "\n{title}");
    }
    // Lines may hold server text (answers quoted in errors): shown through one_line.
    fn ok(&mut self, line: &str) {
        let _ = writeln!(self.text, "  ok    {}", one_line(line));
    }
    fn note(&mut self, line: &str) {
        let _ = writeln!(self.text, "  --    {}", one_line(line));
    }
    fn bad(&mut self, line: &str, what: String, fix: impl Into<String>) {
        let _ = writeln!(self.text, "  FAIL  {}", one_line(line));
        self.problems.push(Problem {
            what: one_line(&what),
            fix: one_line(&fix.into()),
        });
    }
}

/// `revspec doctor`.
pub async fn run(args: DoctorArgs) -> Exit {
    let file = args.target.display().to_string();
    let profile = match TargetProfile::from_file(&args.target) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    let mut screen = Screen::default();
    let _ = writeln!(
        screen.text,
        "revspec doctor: {file} (target {})",
        one_line(&profile.name)
    );
    let code = diagnose(&profile, args.rules, &mut screen).await;
    screen.section("problems");
    if screen.problems.is_empty() {
        screen.text.push_str("  none: `revspec check --target ");
        screen.text.push_str(&file);
        screen.text.push_str("` can run\n");
    }
    for (i, p) in screen.problems.iter().enumerate() {
        let _ = writeln!(screen.text, "  {}. {}\n     fix: {}", i + 1, p.what, p.fix);
    }
    super::print_out(&screen.text);
    code
}

async fn diagnose(profile: &TargetProfile, rule_set: Option<RuleSet>, s: &mut Screen) -> Exit {
    let file = profile.source.display().to_string();
    // Secrets first: a missing variable is the profile's problem, named by key.
    if let Err(e) = crate::sut::client::resolve(profile) {
        s.section("secrets");
        s.bad(
            "a secret, key or certificate cannot be read",
            e.to_string(),
            "export the variable the profile names (secret_env / password_env / key_env), or correct the file it names (key_file / cert_file), before running revspec",
        );
        return Exit::Usage;
    }
    s.section("discovery and endpoints");
    let target = match preflight::connect(profile).await {
        Ok(t) => t,
        Err(PreflightError::Profile(m)) => {
            s.bad(
                "the profile cannot be resolved",
                m,
                "correct the key it names",
            );
            return Exit::Usage;
        }
        Err(PreflightError::Untrusted(m)) => {
            s.bad(
                "discovery points where the profile does not send secrets",
                m,
                "check that the document is really this server's; if it is, allow the origin in [trust] allowed_origins (or name the endpoint in [endpoints]), or correct `issuer`; revspec sent no credential there",
            );
            return Exit::Usage;
        }
        Err(e) => {
            s.bad(
                "the target does not answer",
                e.to_string(),
                format!("check `issuer` in {file} and that the server is running and reachable from here"),
            );
            return Exit::TargetUnusable;
        }
    };
    let e = &target.endpoints;
    let overridden = |key: &str| {
        profile.endpoints.as_ref().is_some_and(|o| match key {
            "revocation" => o.revocation.is_some(),
            "token" => o.token.is_some(),
            "introspection" => o.introspection.is_some(),
            _ => o.userinfo.is_some(),
        })
    };
    let published = target
        .discovery
        .member("revocation_endpoint")
        .map(|(_, url)| url);
    s.ok(&match published {
        Some(url) if *url == target.discovery.first_url => {
            format!("discovery {url} publishes revocation_endpoint")
        }
        Some(url) => format!(
            "discovery {} does not publish revocation_endpoint; the RFC 8414 metadata {url} does",
            e.discovery
        ),
        None => format!(
            "discovery {} publishes no revocation_endpoint; the profile sets it",
            e.discovery
        ),
    });
    for (key, url) in [
        ("revocation", Some(&e.revocation)),
        ("token", e.token.as_ref()),
        ("introspection", e.introspection.as_ref()),
        ("userinfo", e.userinfo.as_ref()),
    ] {
        let from = if overridden(key) {
            "profile"
        } else {
            "discovery"
        };
        match url {
            Some(u) => s.ok(&format!("{key:<13} {u} (from {from})")),
            None => s.note(&format!("{key:<13} not published and not set")),
        }
    }
    let mut worst = Exit::Ok;
    let mut unusable = |s: &mut Screen, line: &str, what: String, fix: String| {
        s.bad(line, what, fix);
        worst = Exit::TargetUnusable;
    };

    s.section(&format!(
        "minting (token source: {})",
        match profile.tokens.source {
            TokenSourceKind::Password => "password grant",
            TokenSourceKind::ClientCredentials => "client_credentials (access tokens only)",
            TokenSourceKind::Command => "command",
        }
    ));
    for (role_name, client) in profile.client_roles() {
        let role = Role::parse(role_name).expect("known role");
        if matches!(role, Role::Admin | Role::Introspector) {
            continue;
        }
        let (_, minted) = target.mint(role).await;
        match minted {
            Ok(m) => s.ok(&format!(
                "{role_name:<12} {:<24} {}",
                client.id,
                match (&m.access_token, &m.refresh_token) {
                    (Some(_), Some(_)) => "an access and a refresh token",
                    (Some(_), None) => "an access token (no refresh token)",
                    _ => "a refresh token only",
                }
            )),
            Err(e) => unusable(
                s,
                &format!("{role_name:<12} {:<24} {e}", client.id),
                format!("minting for the {role_name} client ({}) failed: {e}", client.id),
                format!(
                    "check [clients.{role_name}] (id, auth = \"{}\" must be the method the client is registered with, scope) and its {}{}",
                    client.auth.as_str(),
                    if client.auth.is_mtls() {
                        "certificate (cert_file, key_file; the next section says more)".to_owned()
                    } else if client.auth == crate::sut::ClientAuth::PrivateKeyJwt {
                        "key (key_file / key_env; the next section says more)".to_owned()
                    } else {
                        format!("secret in {}", client.secret_env.as_deref().map_or("the profile".to_owned(), |v| format!("${v}")))
                    },
                    if profile.tokens.source == TokenSourceKind::Password {
                        "; the client needs the password grant type and [user] a valid user"
                    } else {
                        ""
                    }
                ),
            ),
        }
    }

    s.section(
        "client authentication at the revocation endpoint (a never-issued value, as each client)",
    );
    for (role_name, client) in profile.client_roles() {
        let role = Role::parse(role_name).expect("known role");
        let Some(check) = crate::sut::auth_check::check(&target, role).await else {
            continue;
        };
        let line = format!("{role_name:<12} {:<24} {}", client.id, check.detail);
        match (check.ok, check.fix) {
            (true, _) => s.ok(&line),
            (false, fix) => unusable(
                s,
                &line,
                format!(
                    "the {role_name} client ({}) cannot authenticate at the revocation endpoint: {}",
                    client.id, check.detail
                ),
                fix.unwrap_or_else(|| format!("check [clients.{role_name}]")),
            ),
        }
    }

    s.section("probes (calibrated as `check` does before its first scenario)");
    let calibration = match preflight::calibrate(&target).await {
        Ok(c) | Err((c, _)) => c,
    };
    if calibration.probes.is_empty() {
        s.note("no probe to calibrate (probes are \"none\")");
    }
    for p in &calibration.probes {
        let kind = p.kind;
        let passed = p.steps.iter().filter(|x| x.passed).count();
        match &p.refused {
            None => s.ok(&format!(
                "{} for {kind} tokens: {passed}/{} checks{}",
                p.probe,
                p.steps.len(),
                p.revocation_visible_ms
                    .map(|ms| format!("; a plain revocation was visible after {ms:.0} ms"))
                    .unwrap_or_default()
            )),
            Some(why) => unusable(
                s,
                &format!("{} for {kind} tokens: refused", p.probe),
                format!(
                    "the {} probe for {kind} tokens cannot be believed: {why}",
                    p.probe
                ),
                probe_fix(p.probe.as_str(), p.kind),
            ),
        }
        for step in p
            .steps
            .iter()
            .filter(|x| x.seen.starts_with("still active") || x.seen.starts_with("not checked"))
        {
            s.note(&format!("{}: {}", step.what, step.seen));
        }
    }
    // The request shape that revoked each calibrated type: what positive controls and plain
    // revocations will send in `check`.
    let learned = target.learned();
    for p in calibration.probes.iter().filter(|p| p.refused.is_none()) {
        s.note(&format!(
            "{} tokens are revoked here by: {}",
            p.kind,
            learned.shape(p.kind).describe(p.kind)
        ));
    }

    s.section(&format!(
        "settings (adapter: {})",
        match profile.settings.adapter {
            AdapterKind::Static => "static",
            AdapterKind::JanssenConfigApi => "janssen-config-api",
        }
    ));
    match profile.settings.adapter {
        AdapterKind::Static => {
            let d = &profile.settings;
            let declared: Vec<String> = [
                d.allow_revoke_for_other_clients
                    .map(|v| format!("allowRevokeForOtherClients={v}")),
                d.allow_all_value_for_revoke_endpoint
                    .map(|v| format!("allowAllValueForRevokeEndpoint={v}")),
                d.feature_flags
                    .as_ref()
                    .map(|f| format!("featureFlags={f:?}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            s.note(&format!(
                "static: reads only what the profile declares ({}); it cannot change settings, so scenarios needing another value are skipped",
                if declared.is_empty() { "nothing".to_owned() } else { declared.join(", ") }
            ));
        }
        AdapterKind::JanssenConfigApi => check_settings(&target, s, &mut worst).await,
    }

    let rule_set = rule_set.unwrap_or_else(|| super::resolve::default_rule_set(profile, false));
    s.section(&format!("rules that will be skipped (rule set {rule_set})"));
    let list = skipped_rules(profile, rule_set);
    if list.is_empty() {
        s.ok("none: every scenario of the profile can run");
    }
    for (rule, skipped, total, why) in list {
        let part = match (skipped, total) {
            (_, 1) => "its scenario".to_owned(),
            (s, t) if s == t => format!("all {t} scenarios"),
            (s, t) => format!("{s} of {t} scenarios (PARTIAL)"),
        };
        s.note(&format!("{rule}: {part}: {why}"));
    }
    worst
}

/// What to change when a probe is refused.
fn probe_fix(probe: &str, kind: TokenType) -> String {
    match (probe, kind) {
        ("introspection", TokenType::Refresh) => "if the server's introspection does not know refresh tokens, set probes.refresh_token = \"refresh\" with probes.refresh_probe_scope = a scope no grant holds; if only a token's owner may introspect it, set probes.introspection_client = \"owner\"".into(),
        ("introspection", TokenType::Access) => "check that the introspecting client may introspect every client's tokens (else probes.introspection_client = \"owner\"), or use probes.access_token = \"userinfo\"".into(),
        ("refresh", _) => "a plain refresh consumes rotating tokens: set probes.refresh_probe_scope to a scope no grant holds, or use probes.refresh_token = \"introspection\"; if dead tokens get a plain 400, set probes.refresh_inactive_answer = \"status-400\"".into(),
        ("refresh (passive)", _) => "probes.refresh_probe_scope must be a scope the server refuses for every grant (it must answer invalid_scope, never issue tokens)".into(),
        _ => "use another probe for this token type (introspection, userinfo or refresh)".into(),
    }
}

/// Reads a setting through the adapter and changes it: enters the group with
/// allowAllValueForRevokeEndpoint=false (read, and the server's behaviour confirmed), then with
/// true (written, read back, confirmed), then restores the original value (written, read back,
/// confirmed). Every step is shown.
async fn check_settings(target: &Target, s: &mut Screen, worst: &mut Exit) {
    let mut session = SettingsSession::new(target);
    let fix = "check [clients.admin] (its id, secret, and that it may get the Config API's properties.write and properties.readonly scopes) and settings.config_api";
    let first = session
        .enter_one(target, Setting::AllowAllValueForRevokeEndpoint(false))
        .await;
    let shown = |r: &crate::sut::settings::SettingRecord| {
        format!(
            "{} ({}): {}",
            r.setting,
            r.action,
            r.confirmed
                .clone()
                .or_else(|| r.error.clone())
                .unwrap_or_default()
        )
    };
    let result = match first {
        Ok(()) => {
            session
                .enter_one(target, Setting::AllowAllValueForRevokeEndpoint(true))
                .await
        }
        Err(e) => Err(e),
    };
    let problems = session.restore(target).await;
    let original = session
        .records
        .first()
        .map(|r| {
            if r.action == "already" {
                "allowAllValueForRevokeEndpoint=false"
            } else {
                "allowAllValueForRevokeEndpoint=true"
            }
        })
        .unwrap_or("allowAllValueForRevokeEndpoint");
    match result {
        Ok(()) if problems.is_empty() => {
            s.ok(&format!(
                "read and change: read {original}, wrote the other value, read it back, saw the server act on it, and restored {original} (confirmed again); nothing is left changed"
            ));
            for r in &session.records {
                s.note(&shown(r));
            }
        }
        Ok(()) => {
            for r in &session.records {
                s.note(&shown(r));
            }
            s.bad(
                "restore",
                format!("the setting could not be restored: {}", problems.join("; ")),
                "restore allowAllValueForRevokeEndpoint by hand, then check the Config API client's write access",
            );
            *worst = Exit::TargetUnusable;
        }
        Err(e) => {
            for r in &session.records {
                s.note(&shown(r));
            }
            s.bad(
                "read or change through the Config API",
                format!("the settings adapter cannot read or change settings: {e}"),
                fix,
            );
            for p in problems {
                s.note(&format!("restore: {p}"));
            }
            *worst = Exit::TargetUnusable;
        }
    }
}

/// (rule, skipped scenarios, scenarios, why) for every rule of the rule set with a scenario
/// this profile will skip, by the run's own skip policy (`sut::unmet::skips`).
pub fn skipped_rules(
    profile: &TargetProfile,
    rule_set: RuleSet,
) -> Vec<(String, usize, usize, String)> {
    let scenarios = crate::catalogue::features::embedded();
    let mut out: Vec<(String, usize, usize, String)> = Vec::new();
    for (sc, why) in crate::sut::unmet::skips(profile, scenarios, rule_set) {
        let total = scenarios
            .iter()
            .filter(|s| s.rule == sc.rule && rule_set.selects(&s.tags))
            .count();
        match out.iter_mut().find(|(r, ..)| *r == sc.rule) {
            Some(entry) => {
                entry.1 += 1;
                if !entry.3.contains(&why) {
                    entry.3 = format!("{}; {why}", entry.3);
                }
            }
            None => out.push((sc.rule.clone(), 1, total, why)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dot() -> TargetProfile {
        crate::sut::profile::shipped("django-oauth-toolkit.toml")
    }

    #[test]
    fn skips_follow_capabilities_roles_and_undeclared_settings() {
        let list = skipped_rules(&dot(), RuleSet::Janssen);
        let find = |id: &str| list.iter().find(|(r, ..)| r == id).cloned();
        let public = find("rfc7009-2.1-public-client").unwrap();
        assert!(public.3.contains("public-client"), "{public:?}");
        let all = find("jans-all-enabled").unwrap();
        assert!(all.3.contains("static settings adapter"), "{all:?}");
        let scope_only = find("jans-cross-client-scope-only").unwrap();
        assert!(
            scope_only.3.contains("static settings adapter") || scope_only.3.contains("revoke-any"),
            "{scope_only:?}"
        );
        assert!(find("rfc7009-2.1-hint-fallback").is_none(), "{list:?}");
        // The rfc7009 profile lists only rules of the rfc7009 rule set (which has two
        // Janssen-named client-authentication rules, but none of the janssen rule set).
        let rfc = skipped_rules(&dot(), RuleSet::Rfc7009);
        assert!(rfc.iter().all(|(r, ..)| {
            crate::catalogue::rule(r).is_some_and(|rule| rule.rule_set == RuleSet::Rfc7009)
        }));
        assert!(rfc.iter().all(|(r, ..)| r != "jans-all-enabled"));
    }

    #[test]
    fn client_credentials_skips_the_refresh_scenarios_and_names_why() {
        let mut p = dot();
        p.tokens.source = TokenSourceKind::ClientCredentials;
        let list = skipped_rules(&p, RuleSet::Rfc7009);
        let rt = list
            .iter()
            .find(|(r, ..)| r == "rfc7009-2-refresh-revocable")
            .unwrap();
        assert_eq!((rt.1, rt.2), (1, 1));
        assert!(rt.3.contains("client_credentials"), "{rt:?}");
        let hint = list
            .iter()
            .find(|(r, ..)| r == "rfc7009-2.1-hint-optional")
            .unwrap();
        assert!(
            hint.1 < hint.2,
            "one of its scenarios is about access tokens: {hint:?}"
        );
    }
}
