//! The settings adapters: `static` reads only what the profile declares and changes nothing;
//! `janssen-config-api` reads the auth server's configuration and changes one property at a
//! time with an RFC 6902 JSON Patch, authenticated with a bearer token of the admin client.
//! What value a setting needs of a property, and whether a property's value already is it,
//! is decided here too (Janssen reads an absent Boolean as false and an empty flag list as
//! "everything enabled").
//!
//! The Janssen paths and scopes also appear in the reference server: kept apart on purpose,
//! so the harness never borrows the server's reading of Janssen (the two could share a
//! misreading).

use crate::catalogue::{Role, Setting};
use crate::sut::http::{Exchange, RequestSpec};
use crate::sut::profile::AdapterKind;
use crate::sut::target::Target;
use serde_json::{json, Map, Value};
use url::Url;

/// The Config API path of the auth server configuration.
pub const CONFIG_PATH: &str = "/jans-config-api/api/v1/jans-auth-server/config";
const WRITE_SCOPE: &str = "https://jans.io/oauth/jans-auth-server/config/properties.write";
const READ_SCOPE: &str = "https://jans.io/oauth/jans-auth-server/config/properties.readonly";
/// Janssen feature flags other than `revoke_token`, used to disable it when the list is empty.
const OTHER_FLAGS: &[&str] = &[
    "health_check",
    "userinfo",
    "clientinfo",
    "id_generation",
    "registration",
    "introspection",
    "revoke_session",
    "active_session",
    "end_session",
    "status_session",
    "jans_configuration",
    "ciba",
    "uma",
    "u2f",
    "device_authz",
    "stat",
    "par",
    "ssa",
];

pub(super) const FEATURE_FLAGS: &str = "featureFlags";
pub(super) const OTHER_CLIENTS: &str = "allowRevokeForOtherClients";
pub(super) const ALL_VALUE: &str = "allowAllValueForRevokeEndpoint";

/// Why settings could not be put in place.
#[derive(Debug, Clone)]
pub enum SettingError {
    /// The adapter cannot change it (its scenarios are skipped with this reason).
    Unchangeable(String),
    /// The adapter tried and failed, or the server never acted on it (its scenarios are errors).
    Failed(String),
}

impl std::fmt::Display for SettingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SettingError::Unchangeable(m) | SettingError::Failed(m) => f.write_str(m),
        }
    }
}

impl Setting {
    /// The value to write, given the property's current value (`None`: absent).
    pub(super) fn wanted(self, current: Option<&Value>) -> Value {
        match self {
            Setting::AllowRevokeForOtherClients(v) | Setting::AllowAllValueForRevokeEndpoint(v) => {
                json!(v)
            }
            Setting::FeatureFlagsEmpty => json!([]),
            Setting::RevokeTokenFlagDisabled => {
                let current: Vec<String> = current
                    .and_then(|v| serde_json::from_value(v.clone()).ok())
                    .unwrap_or_default();
                json!(flags_without_revoke(&current))
            }
        }
    }

    /// Whether a property's value already is this setting.
    pub(super) fn holds(self, value: Option<&Value>) -> bool {
        match self {
            Setting::AllowRevokeForOtherClients(v) | Setting::AllowAllValueForRevokeEndpoint(v) => {
                // Janssen's getters read an absent Boolean as false.
                value.and_then(Value::as_bool).unwrap_or(false) == v
            }
            Setting::FeatureFlagsEmpty => flags(value).is_some_and(|f| f.is_empty()),
            Setting::RevokeTokenFlagDisabled => {
                flags(value).is_some_and(|f| !f.is_empty() && !f.iter().any(|x| is_revoke_flag(x)))
            }
        }
    }
}

pub(super) fn is_revoke_flag(flag: &str) -> bool {
    flag.eq_ignore_ascii_case("revoke_token")
}

pub(super) fn flags(value: Option<&Value>) -> Option<Vec<String>> {
    match value {
        None | Some(Value::Null) => Some(vec![]),
        Some(v) => serde_json::from_value(v.clone()).ok(),
    }
}

fn flags_without_revoke(current: &[String]) -> Vec<String> {
    let kept: Vec<String> = current
        .iter()
        .filter(|f| !is_revoke_flag(f))
        .cloned()
        .collect();
    if kept.is_empty() {
        OTHER_FLAGS.iter().map(|s| s.to_string()).collect()
    } else {
        kept
    }
}

/// A settings adapter (see the module doc).
pub enum Adapter {
    Static,
    JanssenConfigApi { config_url: Url },
}

impl Adapter {
    pub fn for_target(target: &Target) -> Adapter {
        match target.profile.settings.adapter {
            AdapterKind::Static => Adapter::Static,
            AdapterKind::JanssenConfigApi => {
                let base = target
                    .profile
                    .settings
                    .config_api
                    .clone()
                    .unwrap_or_else(|| target.profile.issuer.clone());
                let mut config_url = Url::parse(&base).expect("validated");
                config_url.set_path(CONFIG_PATH);
                Adapter::JanssenConfigApi { config_url }
            }
        }
    }

    /// The current values of the three properties (`None`: absent).
    pub(super) async fn read(
        &self,
        target: &Target,
        log: &mut Vec<Exchange>,
    ) -> Result<Map<String, Value>, SettingError> {
        match self {
            Adapter::Static => {
                let d = &target.profile.settings;
                let mut map = Map::new();
                if let Some(v) = d.allow_revoke_for_other_clients {
                    map.insert(OTHER_CLIENTS.into(), json!(v));
                }
                if let Some(v) = d.allow_all_value_for_revoke_endpoint {
                    map.insert(ALL_VALUE.into(), json!(v));
                }
                if let Some(v) = &d.feature_flags {
                    map.insert(FEATURE_FLAGS.into(), json!(v));
                }
                Ok(map)
            }
            Adapter::JanssenConfigApi { config_url } => {
                let token = admin_token(target, log).await?;
                let mut spec = RequestSpec::get(config_url.clone());
                spec.headers
                    .push(("Authorization".into(), format!("Bearer {token}")));
                let (exchange, answer) = target.http.send(spec).await;
                log.push(exchange);
                match answer {
                    Ok(r) if r.status == 200 => match r.json() {
                        Some(Value::Object(map)) => Ok(map),
                        _ => Err(SettingError::Failed(format!(
                            "{config_url}: the configuration is not a JSON object"
                        ))),
                    },
                    Ok(r) => Err(SettingError::Failed(format!(
                        "{config_url}: GET answered {}",
                        r.describe()
                    ))),
                    Err(e) => Err(SettingError::Failed(format!("{config_url}: {e}"))),
                }
            }
        }
    }

    /// Writes a property (`None`: remove it, so an absent property stays absent).
    pub(super) async fn write(
        &self,
        target: &Target,
        property: &str,
        value: Option<&Value>,
        log: &mut Vec<Exchange>,
    ) -> Result<(), SettingError> {
        let Adapter::JanssenConfigApi { config_url } = self else {
            return Err(SettingError::Unchangeable(format!(
                "the static settings adapter cannot change {property}"
            )));
        };
        let token = admin_token(target, log).await?;
        let mut spec = RequestSpec::get(config_url.clone());
        spec.method = reqwest::Method::PATCH;
        spec.headers
            .push(("Authorization".into(), format!("Bearer {token}")));
        spec.raw_body = Some((
            "application/json-patch+json".into(),
            patch_body(property, value).to_string().into_bytes(),
        ));
        let (exchange, answer) = target.http.send(spec).await;
        log.push(exchange);
        match answer {
            Ok(r) if (200..300).contains(&r.status) => Ok(()),
            Ok(r) => Err(SettingError::Failed(format!(
                "{config_url}: PATCH {property} answered {}",
                r.describe()
            ))),
            Err(e) => Err(SettingError::Failed(format!("{config_url}: {e}"))),
        }
    }
}

/// The JSON Patch that sets a property, or removes it (`None`: it was absent, and absent it
/// must stay; `add` works whether or not the property is stored, as Janssen's docs advise).
fn patch_body(property: &str, value: Option<&Value>) -> Value {
    match value {
        Some(v) => json!([{ "op": "add", "path": format!("/{property}"), "value": v }]),
        None => json!([{ "op": "remove", "path": format!("/{property}") }]),
    }
}

/// Whether what the configuration reads back is what was written (absent reads as absent or
/// null).
pub(super) fn reads_back_as(written: Option<&Value>, seen: Option<&Value>) -> bool {
    match (written, seen) {
        (None, None) | (None, Some(Value::Null)) => true,
        (Some(want), Some(got)) => want == got,
        _ => false,
    }
}

async fn admin_token(target: &Target, log: &mut Vec<Exchange>) -> Result<String, SettingError> {
    let admin = target
        .credentials(Role::Admin)
        .ok_or_else(|| SettingError::Failed("the profile has no admin client".into()))?
        .clone();
    let token_url = target
        .endpoints
        .token
        .clone()
        .ok_or_else(|| SettingError::Failed("no token endpoint".into()))?;
    let mut spec = RequestSpec::post_form(
        token_url.clone(),
        vec![
            ("grant_type".into(), "client_credentials".into()),
            ("scope".into(), format!("{WRITE_SCOPE} {READ_SCOPE}")),
        ],
    );
    target.authenticate(&mut spec, &admin);
    let (exchange, answer) = target.http.send(spec).await;
    log.push(exchange);
    match answer {
        Ok(r) if r.status == 200 => r
            .json()
            .and_then(|v| {
                v.get("access_token")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .ok_or_else(|| {
                SettingError::Failed(format!(
                    "{token_url}: the admin token answer has no access_token"
                ))
            }),
        Ok(r) => Err(SettingError::Failed(format!(
            "{token_url}: the admin client's token request answered {}",
            r.describe()
        ))),
        Err(e) => Err(SettingError::Failed(format!("{token_url}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabling_the_flag_keeps_other_flags_and_never_leaves_the_list_empty() {
        assert_eq!(
            flags_without_revoke(&["userinfo".into(), "REVOKE_TOKEN".into()]),
            vec!["userinfo".to_string()]
        );
        let from_empty = flags_without_revoke(&[]);
        assert!(!from_empty.is_empty() && !from_empty.iter().any(|f| f == "revoke_token"));
    }

    #[test]
    fn an_absent_property_is_restored_by_removing_it() {
        assert_eq!(
            patch_body("featureFlags", None),
            json!([{"op": "remove", "path": "/featureFlags"}])
        );
        assert_eq!(
            patch_body("allowRevokeForOtherClients", Some(&json!(true))),
            json!([{"op": "add", "path": "/allowRevokeForOtherClients", "value": true}])
        );
        assert!(reads_back_as(None, None));
        assert!(reads_back_as(None, Some(&Value::Null)));
        // Absent must not be restored as an empty list or false.
        assert!(!reads_back_as(None, Some(&json!([]))));
        assert!(!reads_back_as(None, Some(&json!(false))));
        assert!(!reads_back_as(Some(&json!(true)), None));
        assert!(reads_back_as(Some(&json!(["a"])), Some(&json!(["a"]))));
    }

    #[test]
    fn absent_booleans_read_as_false_and_absent_flags_as_enabled() {
        let s = Setting::AllowAllValueForRevokeEndpoint(false);
        assert!(s.holds(None));
        assert!(!Setting::AllowAllValueForRevokeEndpoint(true).holds(None));
        assert!(Setting::FeatureFlagsEmpty.holds(None));
        assert!(!Setting::RevokeTokenFlagDisabled.holds(Some(&json!(["Revoke_Token", "uma"]))));
        assert!(Setting::RevokeTokenFlagDisabled.holds(Some(&json!(["uma"]))));
    }
}
