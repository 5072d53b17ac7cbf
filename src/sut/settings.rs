//! Settings adapters: how the harness reads and changes a target's revocation settings.
//! `static` only knows what the profile declares (a scenario needing another value is skipped);
//! `janssen-config-api` patches the live server through the Janssen Config API with an RFC 6902
//! JSON Patch and a bearer token of the admin client, and puts every change back afterwards.

use super::http::{Exchange, RequestSpec};
use super::profile::AdapterKind;
use super::{Role, Target};
use serde_json::{json, Value};
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

/// A setting the catalogue needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    AllowRevokeForOtherClients(bool),
    AllowAllValueForRevokeEndpoint(bool),
    /// `revoke_token` listed (or the list empty) or not.
    RevokeTokenFlagDisabled,
    FeatureFlagsEmpty,
}

impl Setting {
    fn property(&self) -> &'static str {
        match self {
            Setting::AllowRevokeForOtherClients(_) => "allowRevokeForOtherClients",
            Setting::AllowAllValueForRevokeEndpoint(_) => "allowAllValueForRevokeEndpoint",
            Setting::RevokeTokenFlagDisabled | Setting::FeatureFlagsEmpty => "featureFlags",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Setting::AllowRevokeForOtherClients(v) => format!("allowRevokeForOtherClients={v}"),
            Setting::AllowAllValueForRevokeEndpoint(v) => {
                format!("allowAllValueForRevokeEndpoint={v}")
            }
            Setting::RevokeTokenFlagDisabled => "featureFlags without revoke_token".into(),
            Setting::FeatureFlagsEmpty => "featureFlags=[]".into(),
        }
    }
}

/// Why a setting could not be put in place.
#[derive(Debug)]
pub enum SettingError {
    /// The adapter cannot change it (the scenario is skipped with this reason).
    Unchangeable(String),
    /// The adapter tried and failed (the scenario is an error).
    Failed(String),
}

/// A change made, to be put back.
#[derive(Debug, Clone)]
pub struct Applied {
    pub property: &'static str,
    pub previous: Value,
}

fn flags_without_revoke(current: &[String]) -> Vec<String> {
    let kept: Vec<String> = current
        .iter()
        .filter(|f| !f.eq_ignore_ascii_case("revoke_token"))
        .cloned()
        .collect();
    if kept.is_empty() {
        OTHER_FLAGS.iter().map(|s| s.to_string()).collect()
    } else {
        kept
    }
}

impl Target {
    fn config_url(&self) -> Url {
        let base = self
            .profile
            .settings
            .config_api
            .clone()
            .unwrap_or_else(|| self.profile.issuer.clone());
        let mut url = Url::parse(&base).expect("validated");
        url.set_path(CONFIG_PATH);
        url
    }

    async fn admin_token(&self, log: &mut Vec<Exchange>) -> Result<String, SettingError> {
        let admin = self
            .credentials(Role::Admin)
            .ok_or_else(|| SettingError::Failed("no admin client".into()))?
            .clone();
        let token_url = self
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
        self.authenticate(&mut spec, &admin);
        let (exchange, response) = self.http.send(spec).await;
        log.push(exchange);
        match response {
            Ok(r) if r.status == 200 => r
                .json()
                .and_then(|v| {
                    v.get("access_token")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .ok_or_else(|| {
                    SettingError::Failed("admin token answer has no access_token".into())
                }),
            Ok(r) => Err(SettingError::Failed(format!(
                "{token_url}: admin token refused with HTTP {}",
                r.status
            ))),
            Err(e) => Err(SettingError::Failed(format!("{token_url}: {e}"))),
        }
    }

    async fn read_config(
        &self,
        token: &str,
        log: &mut Vec<Exchange>,
    ) -> Result<Value, SettingError> {
        let url = self.config_url();
        let mut spec = RequestSpec::get(url.clone());
        spec.headers
            .push(("Authorization".into(), format!("Bearer {token}")));
        let (exchange, response) = self.http.send(spec).await;
        log.push(exchange);
        match response {
            Ok(r) if r.status == 200 => r
                .json()
                .ok_or_else(|| SettingError::Failed(format!("{url}: not JSON"))),
            Ok(r) => Err(SettingError::Failed(format!("{url}: HTTP {}", r.status))),
            Err(e) => Err(SettingError::Failed(format!("{url}: {e}"))),
        }
    }

    async fn patch_config(
        &self,
        token: &str,
        property: &str,
        value: Value,
        log: &mut Vec<Exchange>,
    ) -> Result<(), SettingError> {
        let url = self.config_url();
        let body = json!([{ "op": "add", "path": format!("/{property}"), "value": value }]);
        let mut spec = RequestSpec::get(url.clone());
        spec.method = reqwest::Method::PATCH;
        spec.headers
            .push(("Authorization".into(), format!("Bearer {token}")));
        spec.raw_body = Some((
            "application/json-patch+json".into(),
            body.to_string().into_bytes(),
        ));
        let (exchange, response) = self.http.send(spec).await;
        log.push(exchange);
        match response {
            Ok(r) if (200..300).contains(&r.status) => Ok(()),
            Ok(r) => Err(SettingError::Failed(format!(
                "{url}: PATCH {property} answered HTTP {}",
                r.status
            ))),
            Err(e) => Err(SettingError::Failed(format!("{url}: {e}"))),
        }
    }

    /// Puts a setting in place. Returns the change to undo (None when nothing changed).
    pub async fn apply_setting(
        &self,
        setting: &Setting,
        log: &mut Vec<Exchange>,
    ) -> Result<Option<Applied>, SettingError> {
        let declared = &self.profile.settings;
        match declared.adapter {
            AdapterKind::Static => {
                let ok = match setting {
                    Setting::AllowRevokeForOtherClients(v) => {
                        declared.allow_revoke_for_other_clients == Some(*v)
                    }
                    Setting::AllowAllValueForRevokeEndpoint(v) => {
                        declared.allow_all_value_for_revoke_endpoint == Some(*v)
                    }
                    Setting::RevokeTokenFlagDisabled => {
                        declared.feature_flags.as_ref().is_some_and(|f| {
                            !f.is_empty()
                                && !f.iter().any(|x| x.eq_ignore_ascii_case("revoke_token"))
                        })
                    }
                    Setting::FeatureFlagsEmpty => {
                        declared.feature_flags.as_ref().is_some_and(Vec::is_empty)
                    }
                };
                if ok {
                    Ok(None)
                } else {
                    Err(SettingError::Unchangeable(format!(
                        "needs {}; the static settings adapter cannot change it and the profile does not declare it",
                        setting.describe()
                    )))
                }
            }
            AdapterKind::JanssenConfigApi => {
                let token = self.admin_token(log).await?;
                let config = self.read_config(&token, log).await?;
                let property = setting.property();
                let previous = config.get(property).cloned().unwrap_or(Value::Null);
                let wanted = match setting {
                    Setting::AllowRevokeForOtherClients(v)
                    | Setting::AllowAllValueForRevokeEndpoint(v) => json!(v),
                    Setting::FeatureFlagsEmpty => json!([]),
                    Setting::RevokeTokenFlagDisabled => {
                        let current: Vec<String> =
                            serde_json::from_value(previous.clone()).unwrap_or_default();
                        json!(flags_without_revoke(&current))
                    }
                };
                if wanted == previous {
                    return Ok(None);
                }
                self.patch_config(&token, property, wanted, log).await?;
                Ok(Some(Applied { property, previous }))
            }
        }
    }

    /// Undoes a change made by [`Target::apply_setting`].
    pub async fn restore_setting(
        &self,
        applied: &Applied,
        log: &mut Vec<Exchange>,
    ) -> Result<(), SettingError> {
        let token = self.admin_token(log).await?;
        let value = if applied.previous.is_null() && applied.property == "featureFlags" {
            json!([])
        } else {
            applied.previous.clone()
        };
        self.patch_config(&token, applied.property, value, log)
            .await
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
}
