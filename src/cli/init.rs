//! `revspec init --issuer URL`: reads the server's discovery (OpenID, then RFC 8414, as
//! `sut::discovery` decides) and writes a commented target profile from a template
//! (`templates/profile.toml`): endpoints, the auth methods published, a guess at the probes
//! from what is published, and the Janssen settings adapter when the Config API answers.
//! Secrets are named by environment variable, never asked for or written. What could not be
//! determined is said, both in the file and on stderr.
//!
//! Everything a server sent is written escaped: comments through `text::one_line` (no newline
//! or control character can end a comment and start a table or a key), list members only when
//! they look like the names they stand for, URLs as `url` serializes them. As a guard, the
//! rendered file is parsed and must hold exactly the tables and keys the template writes.

use super::exit::Exit;
use super::InitArgs;
use crate::sut::discovery::{metadata_url, openid_url, Discovery, Document, MetadataFallback};
use crate::sut::http::{HttpClient, RequestSpec};
use crate::sut::profile::{is_loopback, Timeouts};
use crate::sut::settings::CONFIG_PATH;
use crate::text::one_line;
use askama::Template as _;
use serde_json::Value;
use std::collections::BTreeSet;
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
                // The file is escaped already; a terminal still gets only visible text.
                None => super::print_out(&crate::text::visible(&profile)),
            }
            if !unknown.is_empty() {
                eprintln!("revspec init could not determine:");
                for u in &unknown {
                    eprintln!("  - {}", crate::text::visible(u));
                }
            }
            eprintln!("next: fill in the REPLACE-... values, export the secrets it names, then run `revspec doctor --target FILE`");
            Exit::Ok
        }
        Err((code, message)) => {
            eprintln!("error: {}", crate::text::visible(&message));
            code
        }
    }
}

/// What discovery told, and what the Config API answered.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub issuer: String,
    pub discovery: Discovery,
    /// Whether a Janssen Config API answered at the issuer's origin (200, 401 or 403).
    pub config_api: Option<String>,
    /// `--ca-file`: the CA bundle the target's certificate was checked with.
    pub ca_file: Option<String>,
}

impl Discovered {
    /// A member of the document revspec would use (see `Discovery::member`).
    fn get(&self, key: &str) -> Option<&Value> {
        self.discovery.member(key).map(|(v, _)| v)
    }

    /// An http(s) URL member, as `url` serializes it (controls percent-encoded).
    fn url(&self, key: &str) -> Option<Url> {
        self.get(key)
            .and_then(Value::as_str)
            .and_then(|s| Url::parse(s).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
    }

    /// A list member's values that look like the names they stand for, and how many others
    /// were dropped.
    fn list(&self, key: &str) -> Option<(Vec<String>, usize)> {
        let values = self.get(key)?.as_array()?;
        let kept: Vec<String> = values
            .iter()
            .filter_map(Value::as_str)
            .filter(|v| name_like(v))
            .map(str::to_owned)
            .collect();
        Some((kept.clone(), values.len() - kept.len()))
    }
}

/// A method, grant or flag name as servers publish them: nothing that could break a line.
fn name_like(v: &str) -> bool {
    (1..=100).contains(&v.len())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.:/+-".contains(c))
}

fn describe(doc: &Document) -> String {
    match doc {
        Document::Found(d) if d.contains_key("revocation_endpoint") => {
            "a document that publishes revocation_endpoint".into()
        }
        Document::Found(_) => "a document without revocation_endpoint".into(),
        Document::Missing(w) | Document::Unusable(w) | Document::Unreachable(w) => w.clone(),
    }
}

/// Reads discovery and probes the Config API. Unreachable: exit 3, naming the URL.
pub async fn discover(
    issuer: &str,
    ca_file: Option<&std::path::Path>,
) -> Result<Discovered, (Exit, String)> {
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
    let trust = match ca_file {
        None => Default::default(),
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| (Exit::Usage, format!("--ca-file {}: {e}", path.display())))?;
            crate::sut::client::tls::Trust {
                roots: crate::sut::client::tls::ca_bundle(&pem)
                    .map_err(|e| (Exit::Usage, format!("--ca-file {}: {e}", path.display())))?,
                ..Default::default()
            }
        }
    };
    let http = HttpClient::new(&Timeouts::default(), &Default::default(), trust)
        .map_err(|e| (Exit::TargetUnusable, e.to_string()))?;
    let first = openid_url(issuer).map_err(|e| (Exit::Usage, format!("--issuer: {e}")))?;
    let discovery =
        Discovery::read(&http, &first, &metadata_url(&url), MetadataFallback::Always).await;
    // The first request tells whether the server is there at all.
    if let Document::Unreachable(why) = &discovery.first {
        return Err((
            Exit::TargetUnusable,
            format!("cannot read discovery: {why}"),
        ));
    }
    let mut config_url = url.clone();
    config_url.set_path(CONFIG_PATH);
    config_url.set_query(None);
    let (_, answer) = http.send(RequestSpec::get(config_url.clone())).await;
    let config_api = answer
        .ok()
        .filter(|a| matches!(a.status, 200 | 401 | 403))
        .map(|a| format!("{config_url} answered HTTP {}", a.status));
    Ok(Discovered {
        issuer: issuer.trim_end_matches('/').to_owned(),
        discovery,
        config_api,
        // Written absolute: the profile resolves a relative path against its own folder.
        ca_file: ca_file.map(|p| {
            std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.to_owned())
                .display()
                .to_string()
        }),
    })
}

async fn init(args: &InitArgs) -> Result<(String, Vec<String>), (Exit, String)> {
    let found = discover(&args.issuer, args.ca_file.as_deref()).await?;
    render(&found, args.name.as_deref()).map_err(|e| (Exit::TargetUnusable, e))
}

/// The client block of a role authenticating with `method`: the secret's variable, or the
/// key (and algorithm, from those published that revspec makes), or the certificate and key.
fn client_block(role: &str, method: &str, env: &str, algs: &[String]) -> String {
    let upper = role.to_ascii_uppercase().replace('-', "_");
    let mut out =
        format!("[clients.{role}]\nid = \"REPLACE-{role}-client-id\"\nauth = \"{method}\"\n");
    match method {
        "private_key_jwt" => {
            let alg = ["ES256", "EdDSA", "PS256", "RS256"]
                .into_iter()
                .find(|a| algs.iter().any(|x| x == a))
                .unwrap_or("ES256");
            out.push_str(&format!(
                "# Its private key: a PEM file (PKCS#8, PKCS#1 RSA, SEC1 EC) or a private JWK; or key_env.\nkey_file = \"REPLACE-{role}-key.pem\"\nalg = \"{alg}\"   # RS256, PS256, ES256 or EdDSA: one the key makes and the server takes\n# kid = \"REPLACE-kid\"   # the kid of its registered key, when it registered several\n# audience = \"token_endpoint\"   # the assertions' aud: token_endpoint (default), issuer, revocation_endpoint\n"
            ));
        }
        "client_secret_jwt" => out.push_str(&format!(
            "# The secret is the HMAC key of its HS256 assertions.\nsecret_env = \"{env}_{upper}_SECRET\"\n# audience = \"token_endpoint\"   # the assertions' aud: token_endpoint (default), issuer, revocation_endpoint\n"
        )),
        "tls_client_auth" | "self_signed_tls_client_auth" => out.push_str(&format!(
            "# Its certificate (PEM, leaf first) and that certificate's private key.\ncert_file = \"REPLACE-{role}-cert.pem\"\nkey_file = \"REPLACE-{role}-key.pem\"\n"
        )),
        _ => out.push_str(&format!("secret_env = \"{env}_{upper}_SECRET\"\n")),
    }
    out
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

/// The profile: every field that came from the server is already escaped for where it goes.
#[derive(askama::Template, Clone)]
#[template(path = "profile.toml", escape = "none")]
struct Profile {
    issuer_comment: String,
    tried: Vec<String>,
    name: String,
    issuer: String,
    endpoints: Vec<(&'static str, String)>,
    only_metadata: bool,
    foreign: Vec<String>,
    missing_revocation: bool,
    missing_token: bool,
    methods_line: Option<String>,
    dropped: Vec<String>,
    cannot_perform: Option<String>,
    primary_block: String,
    other_block: String,
    /// Commented blocks for the further methods revspec can perform.
    extra_blocks: Vec<String>,
    /// The signing algorithms published for the revocation endpoint (JWT methods).
    algs_line: Option<String>,
    mtls_aliases: bool,
    https: bool,
    ca_file: Option<String>,
    env: String,
    public: bool,
    grants_line: Option<String>,
    source: &'static str,
    access_probe: &'static str,
    refresh_probe: &'static str,
    config_api: Option<String>,
    plain_loopback: bool,
    plain_remote: bool,
    unknown: Vec<String>,
}

impl Profile {
    /// The same file with every server-sourced text replaced by a placeholder: its tables
    /// and keys are the ones the template writes for these choices.
    fn skeleton(&self) -> Profile {
        let x = |v: &[String]| v.iter().map(|_| "x".to_owned()).collect();
        Profile {
            issuer_comment: "x".into(),
            tried: x(&self.tried),
            name: quoted("x"),
            issuer: quoted("x"),
            endpoints: self
                .endpoints
                .iter()
                .map(|(k, _)| (*k, "x".to_owned()))
                .collect(),
            foreign: x(&self.foreign),
            methods_line: self.methods_line.as_ref().map(|_| "x".into()),
            dropped: x(&self.dropped),
            cannot_perform: self.cannot_perform.as_ref().map(|_| "x".into()),
            algs_line: self.algs_line.as_ref().map(|_| "x".into()),
            ca_file: self.ca_file.as_ref().map(|_| quoted("x")),
            grants_line: self.grants_line.as_ref().map(|_| "x".into()),
            config_api: self.config_api.as_ref().map(|_| "x".into()),
            unknown: x(&self.unknown),
            ..self.clone()
        }
    }
}

/// Every dotted key of a TOML document.
fn keys(text: &str) -> Result<BTreeSet<String>, String> {
    fn walk(prefix: &str, table: &toml::Table, out: &mut BTreeSet<String>) {
        for (k, v) in table {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if let toml::Value::Table(t) = v {
                walk(&key, t, out);
            }
            out.insert(key);
        }
    }
    let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut out = BTreeSet::new();
    walk("", &table, &mut out);
    Ok(out)
}

/// The profile text and what could not be determined; an error when what the server sent
/// would change the file's tables or keys (it never should: see the module doc).
pub fn render(found: &Discovered, name: Option<&str>) -> Result<(String, Vec<String>), String> {
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
    let loopback = issuer_url.as_ref().is_some_and(is_loopback);
    let https = issuer_url.as_ref().is_some_and(|u| u.scheme() == "https");
    let revocation = found.url("revocation_endpoint");
    let token = found.url("token_endpoint");
    let introspection = found.url("introspection_endpoint");
    let userinfo = found.url("userinfo_endpoint");
    let published_methods = found.list("revocation_endpoint_auth_methods_supported");
    let grants = found.list("grant_types_supported");
    let d = &found.discovery;
    let tried = [
        (&d.first_url, Some(&d.first)),
        (&d.metadata_url, d.metadata.as_ref()),
    ]
    .into_iter()
    .filter_map(|(url, doc)| doc.map(|doc| one_line(&format!("{url}: {}", describe(doc)))))
    .collect();
    let only_metadata = revocation.is_some()
        && d.member("revocation_endpoint")
            .is_some_and(|(_, from)| *from != d.first_url);
    let issuer_origin = issuer_url.as_ref().map(|u| u.origin());
    let endpoint_urls = [
        ("revocation", &revocation),
        ("token", &token),
        ("introspection", &introspection),
        ("userinfo", &userinfo),
    ];
    let endpoints = endpoint_urls
        .iter()
        .map(|(k, v)| {
            (
                *k,
                v.as_ref()
                    .map_or("(not published)".to_owned(), |u| one_line(u.as_str())),
            )
        })
        .collect();
    let foreign = endpoint_urls
        .iter()
        .filter_map(|(k, v)| {
            let u = v.as_ref()?;
            (Some(u.origin()) != issuer_origin).then(|| one_line(&format!("{k}: {u}")))
        })
        .collect();
    if revocation.is_none() {
        unknown.push(
            "the revocation endpoint (discovery publishes none): set endpoints.revocation".into(),
        );
    }
    if token.is_none() {
        unknown.push("the token endpoint (discovery publishes none): set endpoints.token".into());
    }

    // Clients: two confidential clients, with the published methods spread over them.
    let mut dropped = Vec::new();
    let methods = match &published_methods {
        Some((m, n)) => {
            if *n > 0 {
                dropped.push(format!(
                    "{n} value(s) of revocation_endpoint_auth_methods_supported dropped: not method names"
                ));
            }
            m.clone()
        }
        None => vec!["client_secret_basic".into()],
    };
    let can = |m: &str| methods.iter().any(|x| x == m);
    // The methods revspec performs, in the order the roles take them: the secret methods
    // first (every server has them), then assertions, then certificates.
    let performable: Vec<&str> = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "client_secret_jwt",
        "tls_client_auth",
        "self_signed_tls_client_auth",
    ]
    .into_iter()
    .filter(|m| can(m))
    .collect();
    let primary_auth = performable
        .first()
        .copied()
        .unwrap_or("client_secret_basic");
    let other_auth = performable.get(1).copied().unwrap_or(primary_auth);
    let (algs, dropped_algs) = found
        .list("revocation_endpoint_auth_signing_alg_values_supported")
        .or_else(|| found.list("token_endpoint_auth_signing_alg_values_supported"))
        .unwrap_or_default();
    if dropped_algs > 0 {
        dropped.push(format!(
            "{dropped_algs} value(s) of the signing algorithms dropped: not algorithm names"
        ));
    }
    let env = env_prefix(&name);
    let primary_block = client_block("primary", primary_auth, &env, &algs);
    let other_block = client_block("other", other_auth, &env, &algs);
    let extra_blocks: Vec<String> = performable
        .iter()
        .skip(2)
        .map(|m| {
            let block = client_block("revoke-any", m, &env, &algs);
            let lines: Vec<String> = block.lines().map(|l| format!("# {l}")).collect();
            format!(
                "# {m} is published too: a client registered for it can take any role (the rules\n# of its method use the first client that has it), e.g.\n{}\n",
                lines.join("\n")
            )
        })
        .collect();
    let mtls_aliases = found.get("mtls_endpoint_aliases").is_some();
    if performable
        .iter()
        .any(|m| *m == "private_key_jwt" || m.ends_with("tls_client_auth"))
    {
        unknown.push(
            "the keys and certificates of the JWT and mTLS clients (key_file, cert_file): register them with the server and point the profile at the files".into(),
        );
    }
    let others: Vec<&str> = methods
        .iter()
        .map(String::as_str)
        .filter(|m| !performable.contains(m) && *m != "none")
        .collect();
    unknown.push(
        "the client ids (clients.primary.id, clients.other.id): discovery does not list clients"
            .into(),
    );
    let public = can("none");

    // Token source.
    let grant_names = grants.as_ref().map(|(g, n)| {
        if *n > 0 {
            dropped.push(format!(
                "{n} value(s) of grant_types_supported dropped: not grant names"
            ));
        }
        g.clone()
    });
    let has_grant = |g: &str| {
        grant_names
            .as_ref()
            .is_some_and(|gs| gs.iter().any(|x| x == g))
    };
    let source = match &grant_names {
        Some(_) if has_grant("password") => "password",
        Some(_) if has_grant("client_credentials") => "client_credentials",
        Some(_) => "command",
        None => "password",
    };
    if grant_names.is_none() {
        unknown.push("which grants the server supports (grant_types_supported is not published): the profile assumes the password grant".into());
    }
    match source {
        "password" => unknown.push("a test user for the password grant (user.username)".into()),
        "command" => unknown.push("how to obtain tokens: neither the password nor the client_credentials grant is published; write a token command".into()),
        _ => {}
    }

    // Probes: a guess from what is published; `revspec doctor` calibrates them.
    let (access_probe, refresh_probe) = match (&introspection, &userinfo) {
        (Some(_), _) => ("introspection", "introspection"),
        (None, Some(_)) => ("userinfo", "refresh"),
        (None, None) => ("none", "refresh"),
    };
    if access_probe == "none" {
        unknown.push("how to observe access tokens: neither introspection_endpoint nor userinfo_endpoint is published (probes.access_token = \"none\" skips the rules that need it)".into());
    }
    if found.config_api.is_some() {
        unknown.push("the Config API admin client's id (clients.admin.id)".into());
    }
    let profile = Profile {
        issuer_comment: one_line(&found.issuer),
        tried,
        name: quoted(&name),
        issuer: quoted(&found.issuer),
        endpoints,
        only_metadata,
        foreign,
        missing_revocation: revocation.is_none(),
        missing_token: token.is_none(),
        methods_line: published_methods.as_ref().map(|_| methods.join(", ")),
        dropped,
        cannot_perform: (!others.is_empty()).then(|| others.join(", ")),
        primary_block,
        other_block,
        extra_blocks,
        algs_line: (!algs.is_empty()).then(|| algs.join(", ")),
        mtls_aliases,
        https,
        ca_file: found.ca_file.as_deref().map(quoted),
        env,
        public,
        grants_line: grant_names.map(|g| g.join(", ")),
        source,
        access_probe,
        refresh_probe,
        config_api: found.config_api.as_deref().map(one_line),
        plain_loopback: !https && loopback,
        plain_remote: !https && !loopback,
        unknown: unknown.iter().map(|u| one_line(u)).collect(),
    };
    let text = profile
        .render()
        .map_err(|e| format!("the profile template: {e}"))?;
    let skeleton = profile
        .skeleton()
        .render()
        .map_err(|e| format!("the profile template: {e}"))?;
    let (written, meant) = (keys(&text)?, keys(&skeleton)?);
    if written != meant {
        return Err(format!(
            "what the server published would change the profile's keys ({:?}); the profile was not written",
            written.symmetric_difference(&meant).collect::<Vec<_>>()
        ));
    }
    Ok((text, unknown))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sut::TargetProfile;
    use serde_json::json;

    fn doc(v: serde_json::Value) -> Document {
        Document::Found(v.as_object().unwrap().clone())
    }

    fn discovered(issuer: &str, openid: Document, metadata: Option<Document>) -> Discovered {
        let url = Url::parse(issuer).unwrap();
        Discovered {
            issuer: issuer.into(),
            discovery: Discovery {
                first_url: openid_url(issuer).unwrap(),
                first: openid,
                metadata_url: metadata_url(&url),
                metadata,
                exchanges: vec![],
            },
            config_api: None,
            ca_file: None,
        }
    }

    fn dot_like() -> Discovered {
        discovered(
            "http://127.0.0.1:8765/o",
            doc(
                json!({"issuer": "http://127.0.0.1:8765/o", "userinfo_endpoint": "http://127.0.0.1:8765/o/userinfo/"}),
            ),
            Some(doc(json!({
                "revocation_endpoint": "http://127.0.0.1:8765/o/revoke_token/",
                "token_endpoint": "http://127.0.0.1:8765/o/token/",
                "introspection_endpoint": "http://127.0.0.1:8765/o/introspect/",
                "revocation_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "grant_types_supported": ["authorization_code", "password", "client_credentials", "refresh_token"]
            }))),
        )
    }

    #[test]
    fn the_profile_parses_once_the_placeholders_are_filled_and_holds_no_secret() {
        let (text, unknown) = render(&dot_like(), Some("dot")).unwrap();
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
        found.discovery.first = found.discovery.metadata.clone().unwrap();
        let (text, unknown) = render(&found, None).unwrap();
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
        let found = discovered(
            "https://auth.example.com",
            doc(json!({"issuer": "https://auth.example.com"})),
            None,
        );
        let (text, unknown) = render(&found, None).unwrap();
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

    /// Issue 20: a hardened server's methods and algorithms become the client blocks: the
    /// first two methods revspec performs take the primary and other roles (an algorithm the
    /// server publishes and revspec signs with), any further one is shown as a commented
    /// block, and the CA given with --ca-file goes into [tls]. Filled in, the profile parses.
    #[test]
    fn a_hardened_servers_methods_and_algorithms_become_client_blocks() {
        let issuer = "https://auth.example.com";
        let mut found = discovered(
            issuer,
            doc(json!({
                "issuer": issuer,
                "token_endpoint": "https://auth.example.com/token",
                "revocation_endpoint": "https://auth.example.com/revoke",
                "introspection_endpoint": "https://auth.example.com/introspect",
                "revocation_endpoint_auth_methods_supported":
                    ["private_key_jwt", "tls_client_auth", "client_secret_jwt"],
                "revocation_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256"],
                "mtls_endpoint_aliases": {"revocation_endpoint": "https://mtls.auth.example.com/revoke"},
                "grant_types_supported": ["client_credentials", "refresh_token"]
            })),
            None,
        );
        found.ca_file = Some("/etc/ssl/staging-ca.pem".into());
        let (text, unknown) = render(&found, Some("hardened")).unwrap();
        let primary = text.split("[clients.primary]").nth(1).unwrap();
        let primary = primary.split("\n[").next().unwrap();
        assert!(
            primary.contains("auth = \"private_key_jwt\"") && primary.contains("alg = \"PS256\""),
            "the primary block: {primary}"
        );
        let other = text.split("[clients.other]").nth(1).unwrap();
        let other = other.split("\n[").next().unwrap();
        assert!(
            other.contains("auth = \"client_secret_jwt\"")
                && other.contains("secret_env = \"HARDENED_OTHER_SECRET\""),
            "the other block: {other}"
        );
        assert!(
            text.contains("# auth = \"tls_client_auth\"") && text.contains("# cert_file = "),
            "the certificate method as a commented block: {text}"
        );
        assert!(
            text.contains("ca_file = \"/etc/ssl/staging-ca.pem\""),
            "{text}"
        );
        assert!(!text.contains("secret ="), "a literal secret: {text}");
        assert!(
            unknown.iter().any(|u| u.contains("key_file, cert_file")),
            "{unknown:?}"
        );
        let filled = text.replace("REPLACE-primary-key.pem", "keys/primary.pem");
        let profile = TargetProfile::from_toml(&filled, "hardened.toml").unwrap();
        assert_eq!(
            profile.clients.primary.auth,
            crate::sut::profile::ClientAuth::PrivateKeyJwt
        );
        assert_eq!(profile.clients.primary.alg.as_deref(), Some("PS256"));
        assert_eq!(
            profile.clients.other.map(|c| c.auth),
            Some(crate::sut::profile::ClientAuth::ClientSecretJwt)
        );
    }

    /// Issue 23 H1: a published value with newlines and quotes cannot add a table or a key, whatever
    /// member carries it; the terminal never gets a control character.
    #[test]
    fn nothing_a_server_publishes_becomes_toml() {
        let evil = "refresh_token\n[clients.revoke-any]\nid = \"client-c\"\nsecret_env = \"CI_JOB_TOKEN\"\n[endpoints]\ntoken = \"http://127.0.0.1:18711/t\"\n#";
        let mut found = dot_like();
        let Some(Document::Found(meta)) = found.discovery.metadata.as_mut() else {
            unreachable!()
        };
        meta.insert("grant_types_supported".into(), json!(["password", evil]));
        meta.insert(
            "revocation_endpoint_auth_methods_supported".into(),
            json!(["client_secret_basic", evil]),
        );
        meta.insert(
            "token_endpoint".into(),
            json!("http://127.0.0.1:8765/t\n[clients.revoke-any]\nid = \"x\""),
        );
        found.config_api = Some(format!("x answered {evil} \u{1b}]0;pwned\u{7}"));
        let (text, _) = render(&found, Some("dot")).unwrap();
        let profile = TargetProfile::from_toml(&text, "dot.toml").unwrap();
        assert!(profile.clients.revoke_any.is_none(), "{text}");
        assert!(profile.endpoints.is_none(), "{text}");
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text}"
        );
        assert!(
            text.contains("value(s) of grant_types_supported dropped"),
            "{text}"
        );
        let mut clean = dot_like();
        clean.config_api = Some("x answered HTTP 401".into());
        assert_eq!(
            keys(&text).unwrap(),
            keys(&render(&clean, Some("dot")).unwrap().0).unwrap()
        );
    }
}
