//! The clients the harness acts as: their secrets and keys resolved from the environment or
//! files (or a literal, loopback only), and how a request is authenticated as one of them.
//! This is the only client-authentication code: the harness, the probes, the settings adapter
//! and the load tester all go through [`authenticate`].
//!
//! A client authenticates as registered: Basic or body credentials, a JWT assertion signed
//! afresh for every request (`assertion`, with `keys`), or its certificate on a mutual-TLS
//! connection to the server's `mtls_endpoint_aliases` (`tls`). Secrets, keys and assertions
//! never print: [`Credentials`]' `Debug` shows only the id and the method.

pub mod assertion;
pub mod keys;
pub mod tls;

use super::error::TargetError;
use super::http::RequestSpec;
use super::profile::{AssertionAudience, ClientAuth, ClientProfile, TargetProfile};
use crate::catalogue::Role;
use assertion::Defect;
use keys::SigningKey;
use std::collections::HashMap;
use std::sync::Arc;
use tls::TlsIdentity;
use url::Url;

/// A client with its secret and keys resolved.
#[derive(Clone)]
pub struct Credentials {
    pub id: String,
    pub auth: ClientAuth,
    pub secret: Option<String>,
    pub scope: Option<String>,
    /// The key its assertions are signed with (`private_key_jwt`: its private key;
    /// `client_secret_jwt`: its secret).
    pub signer: Option<Arc<SigningKey>>,
    /// Its certificate and key (mutual TLS).
    pub identity: Option<TlsIdentity>,
    /// What the profile chose for `aud`.
    pub audience_choice: AssertionAudience,
    /// The `aud` its assertions carry (resolved with the endpoints, see [`bind`]).
    pub audience: String,
    /// Endpoint URL → its `mtls_endpoint_aliases` URL (mTLS clients only).
    pub aliases: Arc<Vec<(Url, Url)>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, {})", self.id, self.auth.as_str())
    }
}

/// The password-grant user: (username, password).
pub type UserCredentials = (String, String);

fn env_secret(file: &str, key: &str, var: &str) -> TargetError {
    TargetError::Profile(format!(
        "{file}: key `{key}`: environment variable {var} is not set"
    ))
}

/// Key or certificate text from a file (relative to the profile's folder), an environment
/// variable, or the profile itself; `Err` names the key and what went wrong.
fn material(
    profile: &TargetProfile,
    role: &str,
    what: &str,
    file: Option<&std::path::PathBuf>,
    env: Option<&String>,
    literal: Option<&String>,
) -> Result<Option<String>, TargetError> {
    let shown = profile.source.display().to_string();
    if let Some(var) = env {
        match std::env::var(var) {
            Ok(v) => return Ok(Some(v)),
            Err(_) if file.is_none() && literal.is_none() => {
                return Err(env_secret(
                    &shown,
                    &format!("clients.{role}.{what}_env"),
                    var,
                ))
            }
            Err(_) => {}
        }
    }
    if let Some(path) = file {
        let full = profile.resolve_path(path);
        return std::fs::read_to_string(&full).map(Some).map_err(|e| {
            TargetError::Profile(format!(
                "{shown}: key `clients.{role}.{what}_file`: cannot read {}: {e}",
                full.display()
            ))
        });
    }
    Ok(literal.cloned())
}

/// One client's credentials, from its profile block.
fn credentials(
    profile: &TargetProfile,
    role: &str,
    c: &ClientProfile,
) -> Result<Credentials, TargetError> {
    let file = profile.source.display().to_string();
    let secret = match (&c.secret_env, &c.secret) {
        (Some(var), _) => match std::env::var(var) {
            Ok(v) => Some(v),
            Err(_) if c.secret.is_some() => c.secret.clone(),
            Err(_) => {
                return Err(env_secret(
                    &file,
                    &format!("clients.{role}.secret_env"),
                    var,
                ))
            }
        },
        (None, s) => s.clone(),
    };
    let bad = |key: &str, e: String| {
        TargetError::Profile(format!("{file}: key `clients.{role}.{key}`: {e}"))
    };
    let key_text = material(
        profile,
        role,
        "key",
        c.key_file.as_ref(),
        c.key_env.as_ref(),
        c.key.as_ref(),
    )?;
    let signer = match c.auth {
        ClientAuth::PrivateKeyJwt => {
            let text = key_text.as_deref().unwrap_or_default();
            Some(Arc::new(
                SigningKey::from_text(text, c.alg.as_deref(), c.kid.as_deref())
                    .map_err(|e| bad("key_file", e))?,
            ))
        }
        ClientAuth::ClientSecretJwt => {
            let mut key = SigningKey::hmac(secret.as_deref().unwrap_or_default())
                .map_err(|e| bad("secret_env", e))?;
            key.kid = c.kid.clone();
            Some(Arc::new(key))
        }
        _ => None,
    };
    let identity = if c.auth.is_mtls() {
        let cert = material(
            profile,
            role,
            "cert",
            c.cert_file.as_ref(),
            None,
            c.cert.as_ref(),
        )?
        .unwrap_or_default();
        Some(
            TlsIdentity::from_pem(&c.id, &cert, key_text.as_deref().unwrap_or_default())
                .map_err(|e| bad("cert_file", e))?,
        )
    } else {
        None
    };
    Ok(Credentials {
        id: c.id.clone(),
        auth: c.auth,
        secret,
        scope: c.scope.clone(),
        signer,
        identity,
        audience_choice: c.audience.clone().unwrap_or_default(),
        audience: profile.issuer.clone(),
        aliases: Arc::default(),
    })
}

/// Resolves every secret and key the profile names (no request yet); a missing variable or
/// an unreadable key is a profile error naming the key.
pub fn resolve(
    profile: &TargetProfile,
) -> Result<(HashMap<Role, Credentials>, Option<UserCredentials>), TargetError> {
    let file = profile.source.display().to_string();
    let mut clients = HashMap::new();
    for (role, c) in profile.client_roles() {
        clients.insert(
            Role::parse(role).expect("known role"),
            credentials(profile, role, c)?,
        );
    }
    let user = match &profile.user {
        Some(u) => {
            let password = match (&u.password_env, &u.password) {
                (Some(var), literal) => match std::env::var(var) {
                    Ok(v) => v,
                    Err(_) => match literal {
                        Some(l) => l.clone(),
                        None => return Err(env_secret(&file, "user.password_env", var)),
                    },
                },
                (None, Some(l)) => l.clone(),
                (None, None) => unreachable!("validated"),
            };
            Some((u.username.clone(), password))
        }
        None => None,
    };
    Ok((clients, user))
}

/// What the endpoints tell the clients once discovery ran: the `aud` of each JWT client's
/// assertions, and the mTLS aliases of each mTLS client.
pub struct Binding<'a> {
    pub issuer: &'a str,
    pub token: Option<&'a Url>,
    pub revocation: &'a Url,
    /// (endpoint, its mTLS alias) pairs published in `mtls_endpoint_aliases`.
    pub aliases: Vec<(Url, Url)>,
}

/// Binds every client to the endpoints (see [`Binding`]).
pub fn bind(clients: &mut HashMap<Role, Credentials>, at: &Binding<'_>) {
    let aliases = Arc::new(at.aliases.clone());
    for c in clients.values_mut() {
        c.audience = match &c.audience_choice {
            AssertionAudience::TokenEndpoint => at
                .token
                .map(Url::to_string)
                .unwrap_or_else(|| at.issuer.to_owned()),
            AssertionAudience::Issuer => at.issuer.to_owned(),
            AssertionAudience::RevocationEndpoint => at.revocation.to_string(),
            AssertionAudience::Url(u) => u.clone(),
        };
        if c.auth.is_mtls() {
            c.aliases = aliases.clone();
        }
    }
}

/// A fresh assertion of a JWT client, with a defect on purpose or none.
pub fn assertion_of(client: &Credentials, defect: &Defect) -> Result<String, String> {
    let key = client
        .signer
        .as_ref()
        .ok_or_else(|| format!("the {} client does not sign assertions", client.id))?;
    assertion::sign(key, None, &client.id, &client.audience, defect)
}

/// A fresh, valid assertion of a JWT client signed with `alg` (one its key can make).
pub fn assertion_with_alg(
    client: &Credentials,
    alg: jsonwebtoken::Algorithm,
) -> Result<String, String> {
    let key = client
        .signer
        .as_ref()
        .ok_or_else(|| format!("the {} client does not sign assertions", client.id))?;
    if !key.family.algorithms().contains(&alg) {
        return Err(format!(
            "the {} client's key cannot sign {}",
            client.id,
            keys::alg_name(alg)
        ));
    }
    assertion::sign(key, Some(alg), &client.id, &client.audience, &Defect::None)
}

/// The body credentials of a client as registered: `client_id` and `client_secret`, or
/// `client_id` with a fresh assertion, or `client_id` alone (a public or an mTLS client).
pub fn body_credentials(client: &Credentials) -> Vec<(String, String)> {
    let mut pairs = vec![("client_id".to_owned(), client.id.clone())];
    match client.auth {
        ClientAuth::ClientSecretBasic | ClientAuth::ClientSecretPost => {
            pairs.push((
                "client_secret".into(),
                client.secret.clone().unwrap_or_default(),
            ));
        }
        ClientAuth::PrivateKeyJwt | ClientAuth::ClientSecretJwt => {
            pairs.push(("client_assertion_type".into(), assertion::JWT_BEARER.into()));
            pairs.push((
                "client_assertion".into(),
                assertion_of(client, &Defect::None).unwrap_or_else(|e| {
                    tracing::error!("client {}: {e}", client.id);
                    String::new()
                }),
            ));
        }
        ClientAuth::TlsClientAuth | ClientAuth::SelfSignedTlsClientAuth | ClientAuth::None => {}
    }
    pairs
}

/// Adds the client's authentication to a request, as it is registered: Basic, body
/// credentials, a fresh assertion, or its certificate (and the request goes to the mTLS
/// alias of its endpoint when the server publishes one).
pub fn authenticate(spec: &mut RequestSpec, client: &Credentials) {
    match client.auth {
        ClientAuth::ClientSecretBasic => {
            spec.basic = Some((client.id.clone(), client.secret.clone().unwrap_or_default()));
        }
        _ => spec.form.extend(body_credentials(client)),
    }
    present_certificate(spec, client);
}

/// For an mTLS client: its certificate on the connection, and the endpoint's mTLS alias.
pub fn present_certificate(spec: &mut RequestSpec, client: &Credentials) {
    if !client.auth.is_mtls() {
        return;
    }
    spec.identity = client.identity.clone();
    to_alias(spec, &client.aliases);
}

/// Sends the request to the mTLS alias of its endpoint, if one is published (the query is
/// kept).
pub fn to_alias(spec: &mut RequestSpec, aliases: &[(Url, Url)]) {
    let mut bare = spec.url.clone();
    bare.set_query(None);
    if let Some((_, alias)) = aliases.iter().find(|(plain, _)| *plain == bare) {
        let query = spec.url.query().map(str::to_owned);
        spec.url = alias.clone();
        spec.url.set_query(query.as_deref());
    }
}

/// A copy of the client whose credentials are wrong the way it is registered: a wrong secret,
/// an assertion key it never registered, or a certificate it never registered (self-signed,
/// same common name). `Err` for a public client, which has none.
pub fn with_wrong_credentials(client: &Credentials) -> Result<Credentials, String> {
    let mut wrong = client.clone();
    match client.auth {
        ClientAuth::None => return Err("a public client has no credentials to get wrong".into()),
        ClientAuth::ClientSecretBasic | ClientAuth::ClientSecretPost => {
            wrong.secret = Some(format!(
                "{}-wrong",
                client.secret.clone().unwrap_or_default()
            ));
        }
        ClientAuth::ClientSecretJwt => {
            let secret = format!("{}-wrong", client.secret.clone().unwrap_or_default());
            wrong.signer = Some(Arc::new(SigningKey::hmac(&secret)?));
            wrong.secret = Some(secret);
        }
        ClientAuth::PrivateKeyJwt => {
            let key = client.signer.as_ref().ok_or("no signing key")?;
            wrong.signer = Some(Arc::new(keys::another_key_like(key)?));
        }
        ClientAuth::TlsClientAuth | ClientAuth::SelfSignedTlsClientAuth => {
            wrong.identity = Some(unregistered_certificate(client)?);
        }
    }
    Ok(wrong)
}

/// A certificate the client never registered: self-signed, with the client's common name.
pub fn unregistered_certificate(client: &Credentials) -> Result<TlsIdentity, String> {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    TlsIdentity::throwaway(
        &format!("an unregistered certificate for {} (#{n})", client.id),
        &client.id,
    )
}

/// The secrets and keys an exchange must never show (besides the members redacted by name).
pub fn secrets_of(clients: &HashMap<Role, Credentials>) -> Vec<String> {
    clients.values().filter_map(|c| c.secret.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hardened() -> (TargetProfile, HashMap<Role, Credentials>) {
        let p = crate::sut::profile::shipped("reference-tls.toml");
        let (clients, _) = resolve(&p).unwrap();
        (p, clients)
    }

    #[test]
    fn every_method_authenticates_as_registered_and_mtls_goes_to_the_alias() {
        let (_, mut clients) = hardened();
        let plain = Url::parse("https://127.0.0.1:1/revoke").unwrap();
        let alias = Url::parse("https://127.0.0.1:2/revoke").unwrap();
        bind(
            &mut clients,
            &Binding {
                issuer: "https://127.0.0.1:1",
                token: Some(&Url::parse("https://127.0.0.1:1/token").unwrap()),
                revocation: &plain,
                aliases: vec![(plain.clone(), alias.clone())],
            },
        );
        let send = |role| {
            let mut spec = RequestSpec::post_form(plain.clone(), vec![]);
            authenticate(&mut spec, &clients[&role]);
            spec
        };
        let jwt = send(Role::Primary);
        let form: HashMap<_, _> = jwt.form.iter().cloned().collect();
        assert_eq!(form["client_assertion_type"], assertion::JWT_BEARER);
        let claims = assertion::peek_claims(&form["client_assertion"]).unwrap();
        assert_eq!(claims["aud"], "https://127.0.0.1:1/token");
        assert_eq!(
            assertion::header_alg(&form["client_assertion"]).as_deref(),
            Some("ES256")
        );
        assert!(jwt.identity.is_none() && jwt.url == plain && jwt.basic.is_none());
        let mtls = send(Role::Other);
        assert_eq!(mtls.url, alias);
        assert!(mtls.identity.is_some());
        assert_eq!(
            mtls.form,
            vec![("client_id".to_owned(), clients[&Role::Other].id.clone())]
        );
        let hs = send(Role::RevokeAny);
        let form: HashMap<_, _> = hs.form.iter().cloned().collect();
        assert_eq!(
            assertion::header_alg(&form["client_assertion"]).as_deref(),
            Some("HS256")
        );
        assert!(!format!("{:?}", clients[&Role::Primary]).contains("PRIVATE"));
    }

    #[test]
    fn wrong_credentials_are_wrong_the_way_the_client_is_registered() {
        let (_, clients) = hardened();
        let other = with_wrong_credentials(&clients[&Role::Other]).unwrap();
        assert!(other.identity.unwrap().label.contains("unregistered"));
        assert!(with_wrong_credentials(&clients[&Role::Public]).is_err());
    }

    #[test]
    fn a_missing_key_file_is_named_with_its_key() {
        let (mut p, _) = hardened();
        p.clients.primary.key_file = Some("keys/nope.pem".into());
        let e = resolve(&p).unwrap_err().to_string();
        assert!(
            e.contains("clients.primary.key_file") && e.contains("nope.pem"),
            "{e}"
        );
    }
}
