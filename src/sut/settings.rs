//! Server settings: the adapters that read and change a target's revocation settings, and
//! [`SettingsSession`], which puts a group of settings in place, confirms that the server acts
//! on them, and in the end restores exactly what was there.
//!
//! `static` only knows what the profile declares (a scenario needing another value is skipped);
//! `janssen-config-api` patches the live server through the Janssen Config API (RFC 6902 JSON
//! Patch with a bearer token of the admin client). A write is read back, then confirmed by
//! behaviour within the profile's `settings.settle` bound, because a real Janssen applies its
//! configuration on a periodic reload: the revocation endpoint's answers (and discovery, for
//! the feature flag) must show the new value before a scenario relies on it. A setting that is
//! not confirmed is never a verdict on the server: its scenarios are errors naming what was seen.

use super::http::{Exchange, RequestSpec};
use super::profile::AdapterKind;
use super::{Kind, Role, Target, TokenState};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};
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

const FEATURE_FLAGS: &str = "featureFlags";
const OTHER_CLIENTS: &str = "allowRevokeForOtherClients";
const ALL_VALUE: &str = "allowAllValueForRevokeEndpoint";

/// A setting a scenario needs, as its `@requires:setting:NAME=VALUE` tag says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Setting {
    AllowRevokeForOtherClients(bool),
    AllowAllValueForRevokeEndpoint(bool),
    /// `featureFlags` non-empty and without `revoke_token`.
    RevokeTokenFlagDisabled,
    /// `featureFlags` empty (every feature enabled).
    FeatureFlagsEmpty,
}

impl Setting {
    /// Parses the part of a tag after `requires:setting:`.
    pub fn parse_tag(text: &str) -> Option<Setting> {
        Some(match text {
            "allowRevokeForOtherClients=true" => Setting::AllowRevokeForOtherClients(true),
            "allowRevokeForOtherClients=false" => Setting::AllowRevokeForOtherClients(false),
            "allowAllValueForRevokeEndpoint=true" => Setting::AllowAllValueForRevokeEndpoint(true),
            "allowAllValueForRevokeEndpoint=false" => {
                Setting::AllowAllValueForRevokeEndpoint(false)
            }
            "featureFlags=disabled" => Setting::RevokeTokenFlagDisabled,
            "featureFlags=empty" => Setting::FeatureFlagsEmpty,
            _ => return None,
        })
    }

    /// The configuration property it lives in.
    pub fn property(self) -> &'static str {
        match self {
            Setting::AllowRevokeForOtherClients(_) => OTHER_CLIENTS,
            Setting::AllowAllValueForRevokeEndpoint(_) => ALL_VALUE,
            Setting::RevokeTokenFlagDisabled | Setting::FeatureFlagsEmpty => FEATURE_FLAGS,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Setting::AllowRevokeForOtherClients(v) => format!("{OTHER_CLIENTS}={v}"),
            Setting::AllowAllValueForRevokeEndpoint(v) => format!("{ALL_VALUE}={v}"),
            Setting::RevokeTokenFlagDisabled => "featureFlags without revoke_token".into(),
            Setting::FeatureFlagsEmpty => "featureFlags=[]".into(),
        }
    }

    /// The value to write, given the property's current value (`None`: absent).
    fn wanted(self, current: Option<&Value>) -> Value {
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
    fn holds(self, value: Option<&Value>) -> bool {
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

fn is_revoke_flag(flag: &str) -> bool {
    flag.eq_ignore_ascii_case("revoke_token")
}

fn flags(value: Option<&Value>) -> Option<Vec<String>> {
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

/// What the server does, as far as the catalogue cares: the behaviour to confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    OtherClients(bool),
    AllValue(bool),
    RevokeEnabled(bool),
}

impl Behaviour {
    fn of_property(property: &str, value: Option<&Value>) -> Option<Behaviour> {
        Some(match property {
            OTHER_CLIENTS => {
                Behaviour::OtherClients(value.and_then(Value::as_bool).unwrap_or(false))
            }
            ALL_VALUE => Behaviour::AllValue(value.and_then(Value::as_bool).unwrap_or(false)),
            FEATURE_FLAGS => Behaviour::RevokeEnabled(
                flags(value).is_none_or(|f| f.is_empty() || f.iter().any(|x| is_revoke_flag(x))),
            ),
            _ => return None,
        })
    }

    fn describe(self) -> String {
        match self {
            Behaviour::OtherClients(v) => format!("{OTHER_CLIENTS}={v}"),
            Behaviour::AllValue(v) => format!("{ALL_VALUE}={v}"),
            Behaviour::RevokeEnabled(true) => "the revocation endpoint enabled".into(),
            Behaviour::RevokeEnabled(false) => "the revocation endpoint disabled".into(),
        }
    }
}

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

/// What happened to one setting, for the run record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SettingRecord {
    pub setting: String,
    /// `declared`, `set`, `already` or `restored`.
    pub action: String,
    /// How the server's behaviour showed it, and after how long.
    pub confirmed: Option<String>,
    pub confirmed_after_ms: Option<f64>,
    pub error: Option<String>,
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
    async fn read(
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
    async fn write(
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
fn reads_back_as(written: Option<&Value>, seen: Option<&Value>) -> bool {
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

/// Puts groups of settings in place, one group at a time, and restores the originals.
pub struct SettingsSession {
    adapter: Adapter,
    /// Every property changed, with its value before the first change (`None`: absent).
    originals: Vec<(String, Option<Value>)>,
    pub records: Vec<SettingRecord>,
    pub log: Vec<Exchange>,
    /// Restores that did not take effect (warnings of the run).
    problems: Vec<String>,
}

impl SettingsSession {
    pub fn new(target: &Target) -> Self {
        Self {
            adapter: Adapter::for_target(target),
            originals: Vec::new(),
            records: Vec::new(),
            log: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Puts every setting of a group in place and confirms that the server acts on each. A
    /// property an earlier group changed and this one does not name goes back to its
    /// original value first, so every group starts from the server's own settings.
    pub async fn enter(&mut self, target: &Target, group: &[Setting]) -> Result<(), SettingError> {
        let others: Vec<(String, Option<Value>)> = self
            .originals
            .iter()
            .filter(|(p, _)| !group.iter().any(|s| s.property() == p))
            .cloned()
            .collect();
        for (property, value) in others {
            self.write_read_back(target, &property, value.as_ref())
                .await?;
            // The group does not rely on this property, so a restore the server does not act
            // on is recorded (and warned about at the end), not a reason to stop the group.
            if let Err(e) = self
                .confirm_and_record(target, &property, value, "restored")
                .await
            {
                self.problems.push(format!(
                    "restored {property} before the next group, but {e}"
                ));
            }
            self.originals.retain(|(p, _)| *p != property);
        }
        let current = self.adapter.read(target, &mut self.log).await?;
        for setting in group {
            let property = setting.property();
            let value = current.get(property);
            if matches!(self.adapter, Adapter::Static) {
                if !setting.holds(value) || !current.contains_key(property) {
                    return Err(SettingError::Unchangeable(format!(
                        "needs {}; the static settings adapter cannot change it and the profile does not declare it",
                        setting.describe()
                    )));
                }
                self.confirm_and_record(target, property, value.cloned(), "declared")
                    .await?;
                continue;
            }
            if *setting == Setting::FeatureFlagsEmpty {
                // An empty list and a list holding revoke_token both enable the endpoint, so
                // confirming "enabled" proves nothing unless the endpoint was disabled just
                // before: go through a confirmed disabled list first.
                if !self.originals.iter().any(|(p, _)| p == property) {
                    self.originals.push((property.into(), value.cloned()));
                }
                let detour = Setting::RevokeTokenFlagDisabled.wanted(value);
                self.write_read_back(target, property, Some(&detour))
                    .await?;
                self.confirm_and_record(target, property, Some(detour), "set (on the way to [])")
                    .await?;
            } else if setting.holds(value) {
                self.confirm_and_record(target, property, value.cloned(), "already")
                    .await?;
                continue;
            }
            if !self.originals.iter().any(|(p, _)| p == property) {
                self.originals.push((property.into(), value.cloned()));
            }
            let wanted = setting.wanted(value);
            self.write_read_back(target, property, Some(&wanted))
                .await?;
            self.confirm_and_record(target, property, Some(wanted), "set")
                .await?;
        }
        // A confirmation revokes tokens; let its delayed side effects (a background job, a
        // replica) land before the group's scenarios mint theirs.
        tokio::time::sleep(target.profile.timeouts.stay_active_settle).await;
        Ok(())
    }

    async fn write_read_back(
        &mut self,
        target: &Target,
        property: &str,
        value: Option<&Value>,
    ) -> Result<(), SettingError> {
        self.adapter
            .write(target, property, value, &mut self.log)
            .await?;
        let read = self.adapter.read(target, &mut self.log).await?;
        let seen = read.get(property);
        if reads_back_as(value, seen) {
            Ok(())
        } else {
            Err(SettingError::Failed(format!(
                "wrote {property} = {}, but the configuration reads back {}",
                value.map_or("(absent)".into(), Value::to_string),
                seen.map_or("(absent)".into(), Value::to_string)
            )))
        }
    }

    async fn confirm_and_record(
        &mut self,
        target: &Target,
        property: &str,
        value: Option<Value>,
        action: &str,
    ) -> Result<(), SettingError> {
        let behaviour = Behaviour::of_property(property, value.as_ref()).expect("known property");
        let started = Instant::now();
        let result = confirm(
            target,
            behaviour,
            target.profile.settings.settle(),
            &mut self.log,
        )
        .await;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        let (confirmed, error) = match &result {
            Ok(how) => (Some(how.clone()), None),
            Err(seen) => (None, Some(seen.clone())),
        };
        self.records.push(SettingRecord {
            setting: behaviour.describe(),
            action: action.into(),
            confirmed,
            confirmed_after_ms: result.is_ok().then_some(elapsed),
            error,
        });
        result.map(|_| ()).map_err(|seen| {
            SettingError::Failed(format!("{} is not in effect: {seen}", behaviour.describe()))
        })
    }

    /// Restores every changed property to its value before the run (absent stays absent)
    /// and confirms the server acts on it again. Returns the problems, if any.
    pub async fn restore(&mut self, target: &Target) -> Vec<String> {
        let mut problems = std::mem::take(&mut self.problems);
        for (property, value) in std::mem::take(&mut self.originals).into_iter().rev() {
            if let Err(e) = self
                .write_read_back(target, &property, value.as_ref())
                .await
            {
                problems.push(format!("could not restore {property}: {e}"));
                continue;
            }
            if let Err(e) = self
                .confirm_and_record(target, &property, value, "restored")
                .await
            {
                problems.push(format!("restored {property}, but {e}"));
            }
        }
        problems
    }
}

/// Polls the server's behaviour until it shows `behaviour` or `settle` is over; says how it
/// showed, or what was seen instead.
async fn confirm(
    target: &Target,
    behaviour: Behaviour,
    settle: Duration,
    log: &mut Vec<Exchange>,
) -> Result<String, String> {
    let deadline = Instant::now() + settle;
    let mut pause = Duration::from_millis(200);
    loop {
        match confirm_once(target, behaviour, log).await {
            Ok(Ok(how)) => return Ok(how),
            Ok(Err(seen)) if Instant::now() >= deadline => {
                return Err(format!("after {} s: {seen}", settle.as_secs_f64()));
            }
            Ok(Err(_)) => {}
            Err(broken) => return Err(broken),
        }
        tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// One look: `Ok(Ok(how))` shown, `Ok(Err(seen))` not (yet), `Err` the look itself failed.
async fn confirm_once(
    target: &Target,
    behaviour: Behaviour,
    log: &mut Vec<Exchange>,
) -> Result<Result<String, String>, String> {
    match behaviour {
        Behaviour::RevokeEnabled(enabled) => {
            // Either observable will do: the endpoint's answer, or what discovery publishes.
            let never = super::probe::never_issued_value();
            let status = target.revoke_plain(Role::Primary, &never, log).await?;
            let endpoint_shows = if enabled {
                status == 200
            } else {
                status == 403
            };
            if endpoint_shows {
                return Ok(Ok(format!(
                    "the endpoint answers {status} to an authenticated request"
                )));
            }
            let (exchange, answer) = target
                .http
                .send(RequestSpec::get(target.endpoints.discovery.clone()))
                .await;
            log.push(exchange);
            let published = answer
                .ok()
                .filter(|a| a.status == 200)
                .and_then(|a| a.json())
                .map(|doc| doc.get("revocation_endpoint").is_some());
            match published {
                Some(p) if p == enabled => Ok(Ok(format!(
                    "discovery {} revocation_endpoint",
                    if p {
                        "publishes"
                    } else {
                        "no longer publishes"
                    }
                ))),
                _ => Ok(Err(format!(
                    "the endpoint answers {status} to an authenticated request and discovery {}",
                    match published {
                        Some(true) => "publishes revocation_endpoint",
                        Some(false) => "does not publish revocation_endpoint",
                        None => "is not a 200 JSON document",
                    }
                ))),
            }
        }
        Behaviour::AllValue(enabled) => {
            let at = mint_access(target, Role::Primary, log).await?;
            let spec = target
                .revocation_request(
                    Role::Primary,
                    vec![
                        ("token".into(), "all".into()),
                        ("token_type_hint".into(), "all".into()),
                    ],
                )
                .ok_or("the profile has no primary client")?;
            let (exchange, answer) = target.http.send(spec).await;
            log.push(exchange);
            let status = answer
                .map_err(|e| format!("{}: {e}", target.endpoints.revocation))?
                .status;
            let revoked = token_dies(target, Role::Primary, &at, enabled, log).await?;
            Ok(match (enabled, revoked) {
                (true, true) => Ok("token=all&token_type_hint=all revoked a fresh token of the client".into()),
                (false, false) => Ok(format!("token=all&token_type_hint=all (HTTP {status}) left a fresh token of the client active")),
                (true, false) => Err(format!("token=all&token_type_hint=all answered HTTP {status} and a fresh token of the client stayed active")),
                (false, true) => Err("token=all&token_type_hint=all still revoked a fresh token of the client".into()),
            })
        }
        Behaviour::OtherClients(enabled) => {
            if target.credentials(Role::RevokeAny).is_none()
                || target.credentials(Role::Other).is_none()
            {
                // Nothing to look at: trust the read-back, after the whole settle bound.
                tokio::time::sleep(target.profile.settings.settle()).await;
                return Ok(Ok(format!(
                    "read back; without a revoke-any and an other client there is no behaviour to observe, so the whole settle bound ({} s) was waited",
                    target.profile.settings.settle().as_secs_f64()
                )));
            }
            let at = mint_access(target, Role::Other, log).await?;
            let status = target.revoke_plain(Role::RevokeAny, &at, log).await?;
            let revoked = token_dies(target, Role::Other, &at, enabled, log).await?;
            Ok(match (enabled, revoked) {
                (true, true) => Ok("the revoke-any client revoked another client's fresh token".into()),
                (false, false) => Ok(format!("the revoke-any client's revocation of another client's token (HTTP {status}) left it active")),
                (true, false) => Err(format!("the revoke-any client's revocation of another client's fresh token answered HTTP {status} and the token stayed active")),
                (false, true) => Err("the revoke-any client still revoked another client's token".into()),
            })
        }
    }
}

async fn mint_access(
    target: &Target,
    role: Role,
    log: &mut Vec<Exchange>,
) -> Result<String, String> {
    let (exchanges, minted) = target.mint(role).await;
    log.extend(exchanges);
    minted
        .map_err(|e| e.to_string())?
        .access_token
        .ok_or_else(|| "the token source gave no access token".into())
}

/// Whether a fresh token dies after a request: polled within the patience when its death is
/// expected (it returns as soon as it is seen), looked at once after the stay-active settle
/// when it is expected to live.
async fn token_dies(
    target: &Target,
    owner: Role,
    token: &str,
    expected: bool,
    log: &mut Vec<Exchange>,
) -> Result<bool, String> {
    let t = &target.profile.timeouts;
    if !expected {
        tokio::time::sleep(t.stay_active_settle.max(t.propagation_window)).await;
        let (exchange, state) = target.observe(owner, Kind::Access, token).await;
        log.push(exchange);
        return Ok(state? == TokenState::Inactive);
    }
    let deadline = Instant::now() + t.revocation_patience;
    loop {
        let (exchange, state) = target.observe(owner, Kind::Access, token).await;
        log.push(exchange);
        match state? {
            TokenState::Inactive => return Ok(true),
            TokenState::Active if Instant::now() >= deadline => return Ok(false),
            TokenState::Active => tokio::time::sleep(Duration::from_millis(100)).await,
        }
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
    fn tags_parse_into_settings() {
        for tag in [
            "allowRevokeForOtherClients=true",
            "allowRevokeForOtherClients=false",
            "allowAllValueForRevokeEndpoint=true",
            "allowAllValueForRevokeEndpoint=false",
            "featureFlags=disabled",
            "featureFlags=empty",
        ] {
            assert!(Setting::parse_tag(tag).is_some(), "{tag}");
        }
        assert!(Setting::parse_tag("featureFlags").is_none());
    }

    #[test]
    fn absent_booleans_read_as_false_and_absent_flags_as_enabled() {
        let s = Setting::AllowAllValueForRevokeEndpoint(false);
        assert!(s.holds(None));
        assert!(!Setting::AllowAllValueForRevokeEndpoint(true).holds(None));
        assert!(Setting::FeatureFlagsEmpty.holds(None));
        assert!(!Setting::RevokeTokenFlagDisabled.holds(Some(&json!(["Revoke_Token", "uma"]))));
        assert!(Setting::RevokeTokenFlagDisabled.holds(Some(&json!(["uma"]))));
        assert_eq!(
            Behaviour::of_property(FEATURE_FLAGS, Some(&json!(["uma"]))),
            Some(Behaviour::RevokeEnabled(false))
        );
        assert_eq!(
            Behaviour::of_property(FEATURE_FLAGS, None),
            Some(Behaviour::RevokeEnabled(true))
        );
    }
}
