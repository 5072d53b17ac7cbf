//! The clients the harness acts as: their secrets resolved from the environment (or a literal,
//! loopback only), and how a request is authenticated as one of them. This is the only
//! client-authentication code: the harness, the probes, the settings adapter and the load
//! tester all go through [`authenticate`].

use super::error::TargetError;
use super::http::RequestSpec;
use super::profile::{ClientAuth, TargetProfile};
use crate::catalogue::Role;
use std::collections::HashMap;

/// A client with its secret resolved.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub id: String,
    pub auth: ClientAuth,
    pub secret: Option<String>,
    pub scope: Option<String>,
}

/// The password-grant user: (username, password).
pub type UserCredentials = (String, String);

fn env_secret(file: &str, key: &str, var: &str) -> TargetError {
    TargetError::Profile(format!(
        "{file}: key `{key}`: environment variable {var} is not set"
    ))
}

/// Resolves every secret the profile names (no request yet); a missing variable is a
/// profile error naming the key and the variable.
pub fn resolve(
    profile: &TargetProfile,
) -> Result<(HashMap<Role, Credentials>, Option<UserCredentials>), TargetError> {
    let file = profile.source.display().to_string();
    let mut clients = HashMap::new();
    for (role, c) in profile.client_roles() {
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
        clients.insert(
            Role::parse(role).expect("known role"),
            Credentials {
                id: c.id.clone(),
                auth: c.auth,
                secret,
                scope: c.scope.clone(),
            },
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

/// Adds the client's authentication to a form request, as it is registered.
pub fn authenticate(spec: &mut RequestSpec, client: &Credentials) {
    match client.auth {
        ClientAuth::ClientSecretBasic => {
            spec.basic = Some((client.id.clone(), client.secret.clone().unwrap_or_default()));
        }
        ClientAuth::ClientSecretPost => {
            spec.form.push(("client_id".into(), client.id.clone()));
            spec.form.push((
                "client_secret".into(),
                client.secret.clone().unwrap_or_default(),
            ));
        }
        ClientAuth::None => spec.form.push(("client_id".into(), client.id.clone())),
    }
}
