//! Confirming a setting by behaviour: the server must act on a value before a scenario relies
//! on it (a real Janssen applies its configuration on a periodic reload), so the behaviour the
//! catalogue cares about is looked at until it shows, within the profile's `settings.settle`.

use super::adapter::{flags, is_revoke_flag, ALL_VALUE, FEATURE_FLAGS, OTHER_CLIENTS};
use crate::catalogue::{Role, TokenType};
use crate::sut::http::{Exchange, HttpResponse, RequestSpec};
use crate::sut::poll::Backoff;
use crate::sut::probe::TokenState;
use crate::sut::target::Target;
use serde_json::Value;
use std::time::{Duration, Instant};

/// What the server does, as far as the catalogue cares: the behaviour to confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Behaviour {
    OtherClients(bool),
    AllValue(bool),
    RevokeEnabled(bool),
}

impl Behaviour {
    pub(super) fn of_property(property: &str, value: Option<&Value>) -> Option<Behaviour> {
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

    /// Whether confirming it revokes a token (its effect is seen by a revocation happening).
    pub(super) fn revokes_when_confirmed(self) -> bool {
        matches!(
            self,
            Behaviour::OtherClients(true) | Behaviour::AllValue(true)
        )
    }

    pub(super) fn describe(self) -> String {
        match self {
            Behaviour::OtherClients(v) => format!("{OTHER_CLIENTS}={v}"),
            Behaviour::AllValue(v) => format!("{ALL_VALUE}={v}"),
            Behaviour::RevokeEnabled(true) => "the revocation endpoint enabled".into(),
            Behaviour::RevokeEnabled(false) => "the revocation endpoint disabled".into(),
        }
    }
}

/// Polls the server's behaviour until it shows `behaviour` or `settle` is over; says how it
/// showed, or what was seen instead.
/// `changed` says whether the value was written by this session (an unchanged value needs
/// no time to be applied).
pub(super) async fn confirm(
    target: &Target,
    behaviour: Behaviour,
    settle: Duration,
    changed: bool,
    log: &mut Vec<Exchange>,
) -> Result<String, String> {
    // Short steps: the look is cheap and every step of overshoot is time the run waits
    // after the server already acts on the value.
    let mut backoff = Backoff::new(
        Instant::now() + settle,
        Duration::from_millis(100),
        Duration::from_millis(400),
    );
    loop {
        match confirm_once(target, behaviour, changed, log).await {
            Ok(Ok(how)) => return Ok(how),
            Ok(Err(seen)) if backoff.expired() => {
                return Err(format!("after {} s: {seen}", settle.as_secs_f64()));
            }
            Ok(Err(_)) => {}
            Err(broken) => return Err(broken),
        }
        backoff.wait().await;
    }
}

/// A revocation answer no setting explains: a server error, or a body over the cap. A
/// confirmation that sees one stops at once (waiting the settle bound for it would only delay
/// the same failure), and its group's scenarios are errors naming it.
fn broken(target: &Target, answer: &HttpResponse) -> Option<String> {
    let url = &target.endpoints.revocation;
    if answer.status >= 500 {
        Some(format!(
            "{url} answered {} to the confirmation's request: a server error, not a setting still being applied",
            answer.describe()
        ))
    } else if answer.truncated {
        Some(format!(
            "{url}: the answer to the confirmation's request is larger than the {} KiB the harness reads",
            crate::sut::http::BODY_CAP / 1024
        ))
    } else {
        None
    }
}

/// The status of a revocation answer, or `Err` when it is broken (see [`broken`]).
fn usable(target: &Target, answer: HttpResponse) -> Result<u16, String> {
    match broken(target, &answer) {
        Some(why) => Err(why),
        None => Ok(answer.status),
    }
}

/// One look: `Ok(Ok(how))` shown, `Ok(Err(seen))` not (yet), `Err` the look itself failed
/// (a transport failure, a server error, an unusable answer).
async fn confirm_once(
    target: &Target,
    behaviour: Behaviour,
    changed: bool,
    log: &mut Vec<Exchange>,
) -> Result<Result<String, String>, String> {
    match behaviour {
        Behaviour::RevokeEnabled(enabled) => {
            // Either observable will do: the endpoint's answer, or what discovery publishes.
            let never = crate::sut::probe::never_issued_value();
            let answer = target
                .send_revocation(Role::Primary, vec![("token".into(), never)], log)
                .await?;
            let status = usable(target, answer)?;
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
            let kind = watched(target);
            let at = mint_watched(target, Role::Primary, kind, log).await?;
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
            let answer = answer.map_err(|e| format!("{}: {e}", target.endpoints.revocation))?;
            let status = usable(target, answer)?;
            let revoked = token_dies(target, Role::Primary, kind, &at, enabled, log).await?;
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
                // Nothing to look at: trust the read-back; a value this session wrote gets
                // the whole settle bound to be applied, one it found in place needs none.
                if !changed {
                    return Ok(Ok("read back as already in place; without a revoke-any and an other client there is no behaviour to observe, and nothing was changed".into()));
                }
                tokio::time::sleep(target.profile.settings.settle()).await;
                return Ok(Ok(format!(
                    "read back; without a revoke-any and an other client there is no behaviour to observe, so the whole settle bound ({} s) was waited",
                    target.profile.settings.settle().as_secs_f64()
                )));
            }
            let kind = watched(target);
            let at = mint_watched(target, Role::Other, kind, log).await?;
            let answer = target
                .revoke_as_honoured(Role::RevokeAny, kind, &at, log)
                .await?;
            let status = usable(target, answer)?;
            let revoked = token_dies(target, Role::Other, kind, &at, enabled, log).await?;
            Ok(match (enabled, revoked) {
                (true, true) => Ok("the revoke-any client revoked another client's fresh token".into()),
                (false, false) => Ok(format!("the revoke-any client's revocation of another client's token (HTTP {status}) left it active")),
                (true, false) => Err(format!("the revoke-any client's revocation of another client's fresh token answered HTTP {status} and the token stayed active")),
                (false, true) => Err("the revoke-any client still revoked another client's token".into()),
            })
        }
    }
}

/// The type of token a confirmation watches: access tokens, unless the server is known to
/// refuse revoking them (then a revocation could never show).
fn watched(target: &Target) -> TokenType {
    match target.learned().access {
        crate::sut::learned::Shape::Refused if target.mints_refresh_tokens() => TokenType::Refresh,
        _ => TokenType::Access,
    }
}

async fn mint_watched(
    target: &Target,
    role: Role,
    kind: TokenType,
    log: &mut Vec<Exchange>,
) -> Result<String, String> {
    let (exchanges, minted) = target.mint(role).await;
    log.extend(exchanges);
    let minted = minted.map_err(|e| e.to_string())?;
    match kind {
        TokenType::Access => minted.access_token,
        TokenType::Refresh => minted.refresh_token,
    }
    .ok_or_else(|| format!("the token source gave no {kind} token"))
}

/// Whether a fresh token dies after a request: polled within the patience when its death is
/// expected (it returns as soon as it is seen), looked at once after the stay-active settle
/// when it is expected to live.
async fn token_dies(
    target: &Target,
    owner: Role,
    kind: TokenType,
    token: &str,
    expected: bool,
    log: &mut Vec<Exchange>,
) -> Result<bool, String> {
    let t = &target.profile.timeouts;
    if !expected {
        tokio::time::sleep(t.stay_active_settle.max(t.propagation_window)).await;
        let (exchange, state) = target.observe(owner, kind, token).await;
        log.push(exchange);
        return Ok(state? == TokenState::Inactive);
    }
    let step = Duration::from_millis(100);
    let mut backoff = Backoff::new(Instant::now() + t.revocation_patience, step, step);
    loop {
        let (exchange, state) = target.observe(owner, kind, token).await;
        log.push(exchange);
        match state? {
            TokenState::Inactive => return Ok(true),
            TokenState::Active if !backoff.wait().await => return Ok(false),
            TokenState::Active => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_flag_list_shows_as_the_endpoint_enabled_or_not() {
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
