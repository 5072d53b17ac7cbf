//! `revspec init --issuer URL`: reads the server's discovery (OpenID, then RFC 8414) and
//! writes a commented target profile: endpoints, the auth methods published, a guess at the
//! probes from what is published, and the Janssen settings adapter when the Config API
//! answers. Secrets are named by environment variable, never asked for or written. What could
//! not be determined is said, both in the file and on stderr.

use super::exit::Exit;
use super::InitArgs;
use crate::sut::http::{HttpClient, RequestSpec};
use crate::sut::profile::{is_loopback, Timeouts};
use crate::sut::settings::CONFIG_PATH;
use serde_json::Value;
use std::fmt::Write as _;
use url::Url;

/// `revspec init`.
pub async fn run(args: InitArgs) -> Exit {
    match init(&args).await {
        Ok((profile, unknown)) => {
            match &args.out {
                Some(path) => {
                    if path.exists() && !args.force {
                        eprintln!(
                            "error: --out {}: the file exists (use --force to overwrite it)",
                            path.display()
                        );
                        return Exit::Usage;
                    }
                    if let Err(e) = std::fs::write(path, &profile) {
                        eprintln!("error: --out {}: {e}", path.display());
                        return Exit::Usage;
                    }
                    super::print_out(&format!("wrote {}\n", path.display()));
                }
                None => super::print_out(&profile),
            }
            if !unknown.is_empty() {
                eprintln!("revspec init could not determine:");
                for u in &unknown {
                    eprintln!("  - {u}");
                }
            }
            eprintln!("next: fill in the REPLACE-... values, export the secrets it names, then run `revspec doctor --target FILE`");
            Exit::Ok
        }
        Err((code, message)) => {
            eprintln!("error: {message}");
            code
        }
    }
}

/// What discovery told, and what the Config API answered.
#[derive(Debug, Default, Clone)]
pub struct Discovered {
    pub issuer: String,
    /// The OpenID document (`/.well-known/openid-configuration`), if it answered 200 JSON.
    pub openid: Option<Value>,
    /// The RFC 8414 document, if it answered 200 JSON.
    pub metadata: Option<Value>,
    /// The URLs tried, with what each answered (for the file's comments).
    pub tried: Vec<(String, String)>,
    /// Whether a Janssen Config API answered at the issuer's origin (200, 401 or 403).
    pub config_api: Option<String>,
}

impl Discovered {
    /// A member of the document revspec would use (the OpenID one when it publishes
    /// `revocation_endpoint`, else the RFC 8414 one, with the OpenID one's other members).
    fn get(&self, key: &str) -> Option<&Value> {
        let openid_has_revocation = self
            .openid
            .as_ref()
            .is_some_and(|d| d.get("revocation_endpoint").is_some());
        let (first, second) = if openid_has_revocation {
            (&self.openid, &self.metadata)
        } else {
            (&self.metadata, &self.openid)
        };
        first
            .as_ref()
            .and_then(|d| d.get(key))
            .or_else(|| second.as_ref().and_then(|d| d.get(key)))
    }

    fn url(&self, key: &str) -> Option<String> {
        self.get(key).and_then(Value::as_str).map(str::to_owned)
    }

    fn list(&self, key: &str) -> Option<Vec<String>> {
        self.get(key).and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
    }
}

async fn fetch(http: &HttpClient, url: &Url) -> Result<(u16, Option<Value>), String> {
    let (_, answer) = http.send(RequestSpec::get(url.clone())).await;
    let answer = answer.map_err(|e| format!("{url}: {e}"))?;
    let doc = (answer.status == 200)
        .then(|| answer.json())
        .flatten()
        .filter(Value::is_object);
    Ok((answer.status, doc))
}

/// Reads discovery and probes the Config API. Unreachable: exit 3, naming the URL.
pub async fn discover(issuer: &str) -> Result<Discovered, (Exit, String)> {
    let url = Url::parse(issuer).map_err(|e| {
        (
            Exit::Usage,
            format!("--issuer '{issuer}' is not a URL: {e}"),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err((
            Exit::Usage,
            format!("--issuer '{issuer}' is not an http(s) URL"),
        ));
    }
    let http = HttpClient::new(&url, &Timeouts::default(), vec![])
        .map_err(|e| (Exit::TargetUnusable, e.to_string()))?;
    let base = issuer.trim_end_matches('/');
    let openid_url =
        Url::parse(&format!("{base}/.well-known/openid-configuration")).expect("a valid URL");
    let mut metadata_url = url.clone();
    metadata_url.set_path(&format!(
        "/.well-known/oauth-authorization-server{}",
        url.path().trim_end_matches('/')
    ));
    let mut found = Discovered {
        issuer: base.to_owned(),
        ..Default::default()
    };
    // The first request tells whether the server is there at all.
    let (status, doc) = fetch(&http, &openid_url)
        .await
        .map_err(|e| (Exit::TargetUnusable, format!("cannot read discovery: {e}")))?;
    found
        .tried
        .push((openid_url.to_string(), describe(status, &doc)));
    found.openid = doc;
    if let Ok((status, doc)) = fetch(&http, &metadata_url).await {
        found
            .tried
            .push((metadata_url.to_string(), describe(status, &doc)));
        found.metadata = doc;
    }
    let mut config_url = url.clone();
    config_url.set_path(CONFIG_PATH);
    config_url.set_query(None);
    if let Ok((status, _)) = fetch(&http, &config_url).await {
        if matches!(status, 200 | 401 | 403) {
            found.config_api = Some(format!("{config_url} answered HTTP {status}"));
        }
    }
    Ok(found)
}

fn describe(status: u16, doc: &Option<Value>) -> String {
    match doc {
        Some(d) if d.get("revocation_endpoint").is_some() => {
            "a document that publishes revocation_endpoint".into()
        }
        Some(_) => "a document without revocation_endpoint".into(),
        None => format!("HTTP {status}, no JSON document"),
    }
}

async fn init(args: &InitArgs) -> Result<(String, Vec<String>), (Exit, String)> {
    let found = discover(&args.issuer).await?;
    Ok(render(&found, args.name.as_deref()))
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// An environment variable prefix from the profile name (`DJANGO_OAUTH_TOOLKIT`).
fn env_prefix(name: &str) -> String {
    let p: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    let p = p.trim_matches('_').to_owned();
    if p.is_empty() || p.starts_with(|c: char| c.is_ascii_digit()) {
        format!("REVSPEC_{p}")
    } else {
        p
    }
}

/// The profile text and what could not be determined.
pub fn render(found: &Discovered, name: Option<&str>) -> (String, Vec<String>) {
    let mut unknown: Vec<String> = Vec::new();
    let issuer_url = Url::parse(&found.issuer).ok();
    let host = issuer_url
        .as_ref()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "target".into());
    // A domain names the profile; an address or localhost gives "local-PORT".
    let name = name.map(str::to_owned).unwrap_or_else(|| {
        let is_domain = matches!(
            issuer_url.as_ref().and_then(|u| u.host()),
            Some(url::Host::Domain(d)) if d != "localhost"
        );
        if is_domain {
            host.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect()
        } else {
            format!(
                "local-{}",
                issuer_url
                    .as_ref()
                    .and_then(|u| u.port_or_known_default())
                    .unwrap_or(80)
            )
        }
    });
    let env = env_prefix(&name);
    let loopback = issuer_url.as_ref().is_some_and(is_loopback);
    let https = issuer_url.as_ref().is_some_and(|u| u.scheme() == "https");
    let revocation = found.url("revocation_endpoint");
    let token = found.url("token_endpoint");
    let introspection = found.url("introspection_endpoint");
    let userinfo = found.url("userinfo_endpoint");
    let published_methods = found.list("revocation_endpoint_auth_methods_supported");
    let grants = found.list("grant_types_supported");
    let openid_has = found
        .openid
        .as_ref()
        .is_some_and(|d| d.get("revocation_endpoint").is_some());

    let mut t = String::new();
    let _ = writeln!(
        t,
        "# Target profile written by `revspec init --issuer {}` from the server's discovery.",
        found.issuer
    );
    t.push_str("# Fill in every REPLACE-... value, export the secrets named by *_env keys (secrets are never\n# written here), then run `revspec doctor --target THIS_FILE` before `revspec check`.\n#\n# Discovery read:\n");
    for (url, what) in &found.tried {
        let _ = writeln!(t, "#   {url}: {what}");
    }
    t.push('\n');
    let _ = writeln!(t, "name = {}", quoted(&name));
    let _ = writeln!(t, "issuer = {}", quoted(&found.issuer));
    t.push('\n');

    // Endpoints: discovery gives them; the overrides are only written when it does not.
    t.push_str("# Endpoints, as discovery publishes them (no override needed):\n");
    for (key, value) in [
        ("revocation", &revocation),
        ("token", &token),
        ("introspection", &introspection),
        ("userinfo", &userinfo),
    ] {
        match value {
            Some(v) => {
                let _ = writeln!(t, "#   {key:<13} {v}");
            }
            None => {
                let _ = writeln!(t, "#   {key:<13} (not published)");
            }
        }
    }
    if revocation.is_some() && !openid_has {
        t.push_str("# Only the RFC 8414 metadata publishes revocation_endpoint; revspec falls back to it\n# when `discovery` is not set, so leave `discovery` unset.\n");
    }
    if revocation.is_none() || token.is_none() {
        t.push_str("[endpoints]\n");
        if revocation.is_none() {
            unknown.push(
                "the revocation endpoint (discovery publishes none): set endpoints.revocation"
                    .into(),
            );
            t.push_str("# revocation = \"https://REPLACE/revoke\"   # not published: set it\n");
        }
        if token.is_none() {
            unknown
                .push("the token endpoint (discovery publishes none): set endpoints.token".into());
            t.push_str("# token = \"https://REPLACE/token\"   # not published: set it\n");
        }
    }
    t.push('\n');

    // Clients: two confidential clients, with the published methods spread over them.
    let methods = published_methods
        .clone()
        .unwrap_or_else(|| vec!["client_secret_basic".into()]);
    let can = |m: &str| methods.iter().any(|x| x == m);
    let primary_auth = if can("client_secret_basic") || !can("client_secret_post") {
        "client_secret_basic"
    } else {
        "client_secret_post"
    };
    let other_auth = if can("client_secret_post") {
        "client_secret_post"
    } else {
        primary_auth
    };
    match &published_methods {
        Some(m) => {
            let _ = writeln!(
                t,
                "# revocation_endpoint_auth_methods_supported: {}",
                m.join(", ")
            );
        }
        None => t.push_str("# revocation_endpoint_auth_methods_supported is not published: RFC 8414 then means\n# client_secret_basic only.\n"),
    }
    let others: Vec<&String> = methods
        .iter()
        .filter(|m| {
            !matches!(
                m.as_str(),
                "client_secret_basic" | "client_secret_post" | "none"
            )
        })
        .collect();
    if !others.is_empty() {
        let _ = writeln!(
            t,
            "# revspec cannot perform {} (rfc8414-auth-methods checks the methods it can).",
            others
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    t.push_str("# Two confidential clients of the server, registered with these methods (each client must be\n# registered with the method it uses here; using both methods lets rfc8414-auth-methods try each).\n");
    for (role, auth, var) in [
        ("primary", primary_auth, "PRIMARY"),
        ("other", other_auth, "OTHER"),
    ] {
        let _ = writeln!(
            t,
            "[clients.{role}]\nid = \"REPLACE-{role}-client-id\"\nauth = \"{auth}\"\nsecret_env = \"{env}_{var}_SECRET\"\n"
        );
    }
    unknown.push(
        "the client ids (clients.primary.id, clients.other.id): discovery does not list clients"
            .into(),
    );
    let public = can("none");
    if public {
        t.push_str("# `none` is published: a public client can revoke its own tokens. Register one and uncomment:\n");
    } else {
        t.push_str("# A public client (auth = \"none\"), if the server has one:\n");
    }
    t.push_str("# [clients.public]\n# id = \"REPLACE-public-client-id\"\n# auth = \"none\"\n\n");

    // Token source.
    let has_grant = |g: &str| grants.as_ref().is_some_and(|gs| gs.iter().any(|x| x == g));
    let source = match &grants {
        Some(_) if has_grant("password") => "password",
        Some(_) if has_grant("client_credentials") => "client_credentials",
        Some(_) => "command",
        None => "password",
    };
    match &grants {
        Some(g) => {
            let _ = writeln!(t, "# grant_types_supported: {}", g.join(", "));
        }
        None => {
            unknown.push("which grants the server supports (grant_types_supported is not published): the profile assumes the password grant".into());
            t.push_str(
                "# grant_types_supported is not published: the password grant is assumed.\n",
            );
        }
    }
    match source {
        "password" => {
            t.push_str("# The password grant gives an access and a refresh token per grant (the refresh-token rules\n# need them). The primary and other clients need the password grant type.\n");
            let _ = writeln!(
                t,
                "[user]\nusername = \"REPLACE-test-user\"\npassword_env = \"{env}_USER_PASSWORD\"\n"
            );
            unknown.push("a test user for the password grant (user.username)".into());
            t.push_str("[tokens]\nsource = \"password\"\n");
        }
        "client_credentials" => {
            t.push_str("# Only client_credentials is published: access tokens only, so the rules about refresh\n# tokens are skipped. A command that prints {\"access_token\": ..., \"refresh_token\": ...} gives both:\n");
            t.push_str("[tokens]\nsource = \"client_credentials\"\n# source = \"command\"\n# command = [\"./mint.sh\"]\n");
        }
        _ => {
            unknown.push("how to obtain tokens: neither the password nor the client_credentials grant is published; write a token command".into());
            t.push_str("# Neither password nor client_credentials is published: give a command that prints\n# {\"access_token\": ..., \"refresh_token\": ...} (it gets REVSPEC_CLIENT_ID and REVSPEC_CLIENT_ROLE).\n[tokens]\nsource = \"command\"\ncommand = [\"REPLACE-./mint.sh\"]\n");
        }
    }
    t.push('\n');

    // Probes: a guess from what is published; `revspec doctor` calibrates them.
    t.push_str("# How a token's state is observed: a guess from what discovery publishes. `revspec doctor`\n# calibrates each probe on the live server and says when the guess is wrong.\n[probes]\n");
    let (access_probe, refresh_probe) = match (&introspection, &userinfo) {
        (Some(_), _) => ("introspection", "introspection"),
        (None, Some(_)) => ("userinfo", "refresh"),
        (None, None) => ("none", "refresh"),
    };
    match access_probe {
        "introspection" => t.push_str("# introspection_endpoint is published (RFC 7662). Each token is introspected by the client\n# that owns it (\"owner\"): that works whether the server lets a client introspect only its\n# own tokens or any token. A resource-server client allowed to introspect every token can be\n# named instead (a role of [clients]). If its introspection does not know refresh tokens, use\n# refresh_token = \"refresh\" with refresh_probe_scope.\nintrospection_client = \"owner\"\n"),
        "userinfo" => t.push_str("# No introspection_endpoint: access tokens are observed at userinfo (401 once revoked), refresh\n# tokens with a refresh attempt (invalid_grant once revoked).\n"),
        _ => {
            unknown.push("how to observe access tokens: neither introspection_endpoint nor userinfo_endpoint is published (probes.access_token = \"none\" skips the rules that need it)".into());
            t.push_str("# Neither introspection nor userinfo is published: access tokens cannot be observed.\n");
        }
    }
    let _ = writeln!(t, "access_token = \"{access_probe}\"");
    let _ = writeln!(t, "refresh_token = \"{refresh_probe}\"");
    if refresh_probe == "refresh" {
        t.push_str("# A plain refresh grant consumes a rotating refresh token; a scope outside every grant makes\n# the probe passive (invalid_scope for a live token, invalid_grant for a dead one):\n# refresh_probe_scope = \"REPLACE-a-scope-no-grant-holds\"\n");
    }
    t.push('\n');

    // Settings.
    match &found.config_api {
        Some(seen) => {
            let _ = writeln!(
                t,
                "# The Janssen Config API answers:\n#   {seen}\n# so the Janssen rules change settings through it and put them back. Its admin client needs\n# the properties.write and properties.readonly scopes."
            );
            t.push_str("[settings]\nadapter = \"janssen-config-api\"\n# settle = \"60s\"   # how long a change may take to show (a Janssen reloads its configuration)\n\n");
            let _ = writeln!(
                t,
                "[clients.admin]\nid = \"REPLACE-config-api-client-id\"\nauth = \"client_secret_basic\"\nsecret_env = \"{env}_CONFIG_API_SECRET\"\n"
            );
            unknown.push("the Config API admin client's id (clients.admin.id)".into());
            t.push_str("# A client holding the revoke_any_token scope, for the cross-client rules:\n# [clients.revoke-any]\n# id = \"REPLACE-revoke-any-client-id\"\n# auth = \"client_secret_basic\"\n");
            let _ = writeln!(t, "# secret_env = \"{env}_REVOKE_ANY_SECRET\"\n");
        }
        None => {
            t.push_str("# No Janssen Config API answered at the issuer's origin: settings are declared, not changed.\n# Rules needing a Janssen setting are skipped unless declared here.\n[settings]\nadapter = \"static\"\n# allowRevokeForOtherClients = false\n# allowAllValueForRevokeEndpoint = false\n# featureFlags = []\n\n");
        }
    }

    // Capabilities and timeouts.
    t.push_str("[capabilities]\n");
    let _ = writeln!(
        t,
        "public_client = false{}",
        if public {
            "   # true once [clients.public] is filled in"
        } else {
            ""
        }
    );
    t.push_str("# cors_origin = \"https://app.example\"            # an origin the server allows for CORS\n# revoke_script_veto_header = \"X-Revoke-Veto: true\"   # a header that makes a revoke script veto\n# unavailable_header = \"X-Simulate: unavailable\"     # a header that makes the server answer 503\n");
    if !https && loopback {
        t.push_str("# Plain http on loopback: rfc7009-2-https is a warning, not a failure.\nplain_http_loopback = true\n");
    } else if !https {
        t.push_str("# The issuer is plain http and not on loopback: rfc7009-2-https will fail.\n");
    }
    t.push_str("\n[timeouts]\nconnect = \"3s\"\nrequest = \"10s\"\n# The revocation delay the server declares acceptable (RFC 7009 2.1); 0 = immediately.\npropagation_window = \"0s\"\nrevocation_patience = \"5s\"\nstay_active_settle = \"1s\"\n");
    if !unknown.is_empty() {
        t.push_str("\n# revspec init could not determine:\n");
        for u in &unknown {
            let _ = writeln!(t, "#   - {u}");
        }
    }
    (t, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sut::TargetProfile;
    use serde_json::json;

    fn dot_like() -> Discovered {
        Discovered {
            issuer: "http://127.0.0.1:8765/o".into(),
            openid: Some(
                json!({"issuer": "http://127.0.0.1:8765/o", "userinfo_endpoint": "http://127.0.0.1:8765/o/userinfo/"}),
            ),
            metadata: Some(json!({
                "revocation_endpoint": "http://127.0.0.1:8765/o/revoke_token/",
                "token_endpoint": "http://127.0.0.1:8765/o/token/",
                "introspection_endpoint": "http://127.0.0.1:8765/o/introspect/",
                "revocation_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "grant_types_supported": ["authorization_code", "password", "client_credentials", "refresh_token"]
            })),
            tried: vec![],
            config_api: None,
        }
    }

    #[test]
    fn the_profile_parses_once_the_placeholders_are_filled_and_holds_no_secret() {
        let (text, unknown) = render(&dot_like(), Some("dot"));
        assert!(
            text.contains("auth = \"client_secret_basic\"")
                && text.contains("auth = \"client_secret_post\""),
            "{text}"
        );
        assert!(
            text.contains("Only the RFC 8414 metadata publishes revocation_endpoint"),
            "{text}"
        );
        assert!(
            text.contains("adapter = \"static\"") && text.contains("plain_http_loopback = true"),
            "{text}"
        );
        assert!(
            !text.contains("secret ="),
            "a literal secret was written: {text}"
        );
        assert!(
            unknown.iter().any(|u| u.contains("client ids")),
            "{unknown:?}"
        );
        let profile = TargetProfile::from_toml(&text, "dot.toml").unwrap();
        assert_eq!(
            profile.clients.primary.secret_env.as_deref(),
            Some("DOT_PRIMARY_SECRET")
        );
        assert_eq!(profile.tokens.source, crate::sut::TokenSourceKind::Password);
    }

    #[test]
    fn a_config_api_means_the_janssen_adapter_with_an_admin_client() {
        let mut found = dot_like();
        found.config_api = Some("x answered HTTP 401".into());
        found.openid = found.metadata.clone();
        let (text, unknown) = render(&found, None);
        let profile = TargetProfile::from_toml(&text, "t.toml").unwrap();
        assert_eq!(
            profile.settings.adapter,
            crate::sut::profile::AdapterKind::JanssenConfigApi
        );
        assert!(profile.clients.admin.is_some());
        assert!(
            unknown.iter().any(|u| u.contains("clients.admin.id")),
            "{unknown:?}"
        );
        assert_eq!(profile.name, "local-8765");
    }

    #[test]
    fn what_is_not_published_is_said() {
        let found = Discovered {
            issuer: "https://auth.example.com".into(),
            openid: Some(json!({"issuer": "https://auth.example.com"})),
            ..Default::default()
        };
        let (text, unknown) = render(&found, None);
        assert!(
            unknown.iter().any(|u| u.contains("endpoints.revocation")),
            "{unknown:?}"
        );
        assert!(
            unknown
                .iter()
                .any(|u| u.contains("how to observe access tokens")),
            "{unknown:?}"
        );
        assert!(
            text.contains("# revspec init could not determine:"),
            "{text}"
        );
        // Still a valid profile: the endpoint is left for the user to set.
        TargetProfile::from_toml(&text, "t.toml").unwrap();
    }
}
