//! Given steps: tokens minted through the target (each observed active before it is used) and
//! the settings a scenario relies on (put in place and confirmed by the run, per group; the
//! step only checks that its group got them).

use super::{guard, role};
use crate::catalogue::Setting;
use crate::conformance::world::{GroupState, Look, RevWorld, Slot, TokenRef};
use crate::sut::settings::SettingError;
use crate::sut::{ProbeKind, Role, TokenState, TokenType};
use cucumber::given;

/// Before acting, the tokens acted on are observed active; otherwise the scenario is an ERROR.
pub(super) async fn precondition_active(w: &mut RevWorld, r: TokenRef, value: &str) {
    if w.halted() {
        return;
    }
    if w.ctx().target.probe_kind(r.kind) == ProbeKind::None {
        w.outcome.skip(format!(
            "the target profile names no probe for {} tokens",
            if r.kind == TokenType::Access {
                "access"
            } else {
                "refresh"
            }
        ));
        return;
    }
    match w.look(r, value).await {
        Ok(Look::All(TokenState::Active)) => {}
        Ok(look) => w.outcome.error(format!(
            "precondition failed: {} is {} right after minting",
            r.label(),
            look.describe()
        )),
        Err(e) => w.outcome.error(format!(
            "precondition failed: cannot observe {}: {e}",
            r.label()
        )),
    }
}

async fn mint_grant(w: &mut RevWorld, client: String, slot: Slot, want_refresh: bool) {
    let Some(role) = role(w, &client) else { return };
    let ctx = w.ctx();
    let any_token = w.meta.any_token;
    if want_refresh && !ctx.target.mints_refresh_tokens() && !any_token {
        w.outcome
            .skip("the target's token source gives no refresh tokens");
        return;
    }
    let (exchanges, minted) = ctx.target.mint(role).await;
    let minted = match minted {
        Ok(m) => m,
        Err(e) => {
            for x in exchanges {
                w.record(x);
            }
            w.outcome.error(format!(
                "minting tokens for the {client} client failed: {e}"
            ));
            return;
        }
    };
    let at_ref = TokenRef {
        role,
        slot,
        kind: TokenType::Access,
    };
    let rt_ref = TokenRef {
        role,
        slot,
        kind: TokenType::Refresh,
    };
    // The tokens the step names, and the ones standing in for those the target cannot offer
    // or does not revoke (in `@any-token` scenarios only).
    let learned = ctx.target.learned();
    let mut watched = Vec::new();
    let refused = |kind| learned.shape(kind) == crate::sut::learned::Shape::Refused;
    match (&minted.access_token, &minted.refresh_token) {
        (Some(at), rt) => {
            w.hold(at_ref, at.clone());
            let stand_in = any_token && refused(TokenType::Access) && rt.is_some();
            // The refresh token is held when the step names it or it stands in.
            if let Some(rt) = rt.as_ref().filter(|_| want_refresh || stand_in) {
                w.hold(rt_ref, rt.clone());
            }
            if stand_in {
                w.substitute(at_ref, rt_ref, "the server refuses to revoke access tokens (400 unsupported_token_type, learned in calibration)");
                watched.push(rt_ref);
            } else {
                watched.push(at_ref);
            }
            match rt {
                Some(_) if want_refresh => {
                    if any_token && refused(TokenType::Refresh) {
                        w.substitute(rt_ref, at_ref, "the server refuses to revoke refresh tokens (400 unsupported_token_type, learned in calibration)");
                    } else if !watched.contains(&rt_ref) {
                        watched.push(rt_ref);
                    }
                }
                None if want_refresh && any_token => w.substitute(
                    rt_ref,
                    at_ref,
                    &format!("the server issued no refresh token to the {client} client"),
                ),
                None if want_refresh => {
                    w.outcome.skip(format!(
                        "the server issued no refresh token to the {client} client"
                    ));
                    return;
                }
                _ => {}
            }
        }
        (None, Some(rt)) => {
            w.hold(rt_ref, rt.clone());
            watched.push(rt_ref);
        }
        (None, None) => {
            w.outcome.error("the token source gave no token");
            return;
        }
    }
    for r in watched {
        let Some(v) = w.held().find(|(h, _)| **h == r).map(|(_, v)| v.clone()) else {
            continue;
        };
        precondition_active(w, r, &v).await;
    }
}

#[given(regex = r"^an access token and a refresh token from one grant of the (\S+) client$")]
async fn grant_one(w: &mut RevWorld, client: String) {
    guard!(w);
    mint_grant(w, client, Slot::First, true).await;
}

#[given(regex = r"^an access token and a refresh token from a second grant of the (\S+) client$")]
async fn grant_two(w: &mut RevWorld, client: String) {
    guard!(w);
    mint_grant(w, client, Slot::Second, true).await;
}

#[given(regex = r"^an access token of the (\S+) client$")]
async fn access_only(w: &mut RevWorld, client: String) {
    guard!(w);
    mint_grant(w, client, Slot::First, false).await;
}

#[given(regex = r"^the refresh token is used to obtain a new access token$")]
async fn refreshed(w: &mut RevWorld) {
    guard!(w);
    let first = |kind| TokenRef {
        role: Role::Primary,
        slot: Slot::First,
        kind,
    };
    let refreshed = |kind| TokenRef {
        role: Role::Primary,
        slot: Slot::Refreshed,
        kind,
    };
    let Some(rt) = w.token(first(TokenType::Refresh)) else {
        return;
    };
    let ctx = w.ctx();
    let (exchange, minted) = ctx.target.refresh(Role::Primary, &rt).await;
    let m = match minted {
        Ok(m) => m,
        Err(e) => {
            w.record(exchange);
            w.outcome.error(format!("the refresh grant failed: {e}"));
            return;
        }
    };
    let rotated = m.refresh_token.as_ref().is_some_and(|new| *new != rt);
    w.hold(
        refreshed(TokenType::Access),
        m.access_token.unwrap_or_default(),
    );
    w.hold(refreshed(TokenType::Refresh), m.refresh_token.unwrap_or(rt));
    w.record(exchange);
    // The new tokens must be live; a rotated-away refresh token is legitimately dead.
    for kind in [TokenType::Access, TokenType::Refresh] {
        let Some(value) = w.token(refreshed(kind)) else {
            return;
        };
        precondition_active(w, refreshed(kind), &value).await;
    }
    if !rotated {
        let Some(value) = w.token(first(TokenType::Refresh)) else {
            return;
        };
        precondition_active(w, first(TokenType::Refresh), &value).await;
    } else {
        w.retire(first(TokenType::Refresh));
    }
    // A server that keeps one access token per grant drops the earlier one on refresh: that
    // token then proves nothing about a later revocation, so the scenario may not use it.
    let Some(earlier) = w.token(first(TokenType::Access)) else {
        return;
    };
    match w.look(first(TokenType::Access), &earlier).await {
        Ok(Look::All(TokenState::Active)) => {}
        Ok(Look::All(TokenState::Inactive)) => w.retire(first(TokenType::Access)),
        Ok(split) => w.outcome.error(format!(
            "precondition failed: after the refresh the access token is {}",
            split.describe()
        )),
        Err(e) => w.outcome.error(format!(
            "precondition failed: cannot observe the access token after the refresh: {e}"
        )),
    }
}

/// The setting is in place for the group this scenario runs in, or the scenario stops.
fn require(w: &mut RevWorld, setting: Setting) {
    let state = w
        .ctx()
        .group
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let entered = match &state {
        GroupState::Entered(each) => each.iter().find(|(s, _)| *s == setting),
        GroupState::Original => None,
    };
    match entered {
        Some((_, Ok(()))) => {}
        None => w.outcome.error(format!(
            "{} is not in place for this scenario: it needs a @requires:setting:{} tag",
            setting.describe(),
            setting.describe()
        )),
        Some((_, Err(SettingError::Unchangeable(why)))) => w.outcome.skip(why.clone()),
        Some((_, Err(SettingError::Failed(why)))) => w.outcome.error(format!(
            "could not put {} in place: {why}",
            setting.describe()
        )),
    }
}

#[given(
    regex = r"^the setting (allowRevokeForOtherClients|allowAllValueForRevokeEndpoint) is (true|false)$"
)]
fn setting(w: &mut RevWorld, name: String, value: String) {
    guard!(w);
    let v = value == "true";
    require(
        w,
        if name == "allowRevokeForOtherClients" {
            Setting::AllowRevokeForOtherClients(v)
        } else {
            Setting::AllowAllValueForRevokeEndpoint(v)
        },
    );
}

#[given(regex = r"^the REVOKE_TOKEN feature flag is disabled$")]
fn flag_disabled(w: &mut RevWorld) {
    guard!(w);
    require(w, Setting::RevokeTokenFlagDisabled);
}

#[given(regex = r"^the featureFlags list is empty$")]
fn flags_empty(w: &mut RevWorld) {
    guard!(w);
    require(w, Setting::FeatureFlagsEmpty);
}
