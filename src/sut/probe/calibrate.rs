//! Calibration: each probe checked on the live target before any scenario runs. A
//! never-issued value must read inactive, a fresh token of every client active, and a token
//! revoked by a plain request inactive; a probe that cannot tell these apart, or whose looking
//! changes what it looks at, is refused with the reason.

use super::{for_kind, never_issued_value, Introspection, Probe, Userinfo};
use crate::catalogue::{Role, TokenType};
use crate::record::{Calibration, CalibrationStep, ProbeCalibration};
use crate::sut::conn::Minted;
use crate::sut::http::Exchange;
use crate::sut::poll::Backoff;
use crate::sut::probe::TokenState;
use crate::sut::profile::ClientAuth;
use crate::sut::target::Target;
use std::time::{Duration, Instant};

/// One look through a probe at the target's own endpoints.
async fn observe(
    probe: &dyn Probe,
    target: &Target,
    owner: Role,
    token: &str,
) -> (Exchange, Result<TokenState, String>) {
    super::observe_at(probe, target, &target.endpoints, owner, token).await
}

/// Polls until the token reads inactive or `patience` is over; the delay when it did.
pub async fn poll_inactive(
    probe: &dyn Probe,
    target: &Target,
    owner: Role,
    token: &str,
    since: Instant,
    patience: Duration,
    log: &mut Vec<Exchange>,
) -> Result<Option<Duration>, String> {
    let mut backoff = Backoff::until(since + patience);
    loop {
        let (exchange, state) = observe(probe, target, owner, token).await;
        log.push(exchange);
        if state? == TokenState::Inactive {
            return Ok(Some(since.elapsed()));
        }
        if !backoff.wait().await {
            return Ok(None);
        }
    }
}

/// The roles whose tokens the catalogue observes (each must read active when fresh).
const OWNERS: &[Role] = &[Role::Primary, Role::Other, Role::RevokeAny, Role::Public];

/// Calibrates the probe of each kind of token on the live target (see the module doc).
pub async fn calibrate(target: &Target) -> Calibration {
    let mut calibration = Calibration::default();
    let patience = target.profile.timeouts.revocation_patience;
    for kind in [TokenType::Access, TokenType::Refresh] {
        if kind == TokenType::Refresh && !target.mints_refresh_tokens() {
            continue;
        }
        let Some(probe) = for_kind(&target.profile, kind) else {
            continue;
        };
        let mut record = ProbeCalibration {
            probe: probe.name().into(),
            kind,
            steps: Vec::new(),
            refused: None,
            revocation_visible_ms: None,
        };
        calibrate_one(target, probe.as_ref(), kind, patience, &mut record).await;
        calibration.probes.push(record);
    }
    calibration
}

async fn calibrate_one(
    target: &Target,
    probe: &dyn Probe,
    kind: TokenType,
    patience: Duration,
    record: &mut ProbeCalibration,
) {
    let mut step = |what: String, result: Result<String, String>| -> bool {
        let passed = result.is_ok();
        let seen = result.unwrap_or_else(|e| e);
        if !passed && record.refused.is_none() {
            record.refused = Some(format!("{what}: {seen}"));
        }
        record.steps.push(CalibrationStep { what, passed, seen });
        passed
    };
    let pick = |m: &Minted| match kind {
        TokenType::Access => m.access_token.clone(),
        TokenType::Refresh => m.refresh_token.clone(),
    };
    // 1. A value never issued reads inactive.
    let never = never_issued_value();
    let (_, state) = observe(probe, target, Role::Primary, &never).await;
    let ok = step(
        "a never-issued value reads inactive".into(),
        match state {
            Ok(TokenState::Inactive) => Ok("inactive".into()),
            Ok(TokenState::Active) => Err("it reads active".into()),
            Err(e) => Err(e),
        },
    );
    if !ok {
        return;
    }
    // 2. A fresh token of every client the catalogue uses reads active.
    let mut primary_grant = None;
    for role in OWNERS {
        let Some(client) = target.credentials(*role) else {
            continue;
        };
        if client.auth == ClientAuth::None && !target.profile.capabilities.public_client {
            continue;
        }
        let (_, minted) = target.mint(*role).await;
        let Ok(minted) = minted else {
            // Minting problems are reported by the scenarios that need the client.
            continue;
        };
        let Some(token) = pick(&minted) else {
            continue;
        };
        let (_, state) = observe(probe, target, *role, &token).await;
        let what = format!(
            "a fresh {} token of the {} client ({}) reads active",
            kind,
            role.name(),
            client.id
        );
        let hint = if probe.name() == "introspection"
            && target.introspecting_role(*role) != Some(*role)
        {
            " (does the server let only a token's owner introspect it? then set probes.introspection_client = \"owner\")"
        } else {
            ""
        };
        let ok = step(
            what,
            match state {
                Ok(TokenState::Active) => Ok("active".into()),
                Ok(TokenState::Inactive) => Err(format!("it reads inactive{hint}")),
                Err(e) => Err(e),
            },
        );
        if !ok {
            return;
        }
        if *role == Role::Primary {
            primary_grant = Some((minted, token));
        }
    }
    let Some((grant, token)) = primary_grant else {
        step(
            "a fresh token of the primary client".into(),
            Err("could not mint one".into()),
        );
        return;
    };
    // 3. Looking must not change the grant: after a plain refresh probe, the grant's access
    // token must still be live (a server that keeps one access token per grant drops it).
    if probe.destructive() && kind == TokenType::Refresh {
        if let (Some(access_probe), Some(at)) = (
            for_kind(&target.profile, TokenType::Access),
            grant.access_token.clone(),
        ) {
            let (_, state) = observe(access_probe.as_ref(), target, Role::Primary, &at).await;
            let ok = step(
                "observing a refresh token with a plain refresh grant leaves the grant's access token active".into(),
                match state {
                    Ok(TokenState::Active) => Ok("still active".into()),
                    Ok(TokenState::Inactive) => Err("the refresh grant made the earlier access token inactive, so this probe would be credited with revocations it causes itself; set probes.refresh_probe_scope (a passive probe) or use introspection".into()),
                    Err(e) => Err(format!("cannot check it with the access-token probe: {e}")),
                },
            );
            if !ok {
                return;
            }
        }
    }
    // 4. A token revoked by a plain request reads inactive (within the patience).
    let mut log = Vec::new();
    let started = Instant::now();
    let answer = target.revoke_plain(Role::Primary, &token, &mut log).await;
    let what = format!(
        "{} token revoked by a plain request reads inactive",
        match kind {
            TokenType::Access => "an access",
            TokenType::Refresh => "a refresh",
        }
    );
    match answer {
        Err(e) => {
            step(what, Err(format!("the revocation request failed: {e}")));
        }
        Ok(status) if status != 200 => {
            // Not the probe's fault: the scenarios will show what the endpoint does.
            record.steps.push(CalibrationStep {
                what,
                passed: true,
                seen: format!("not checked: the plain revocation answered HTTP {status}"),
            });
        }
        Ok(_) => {
            match poll_inactive(
                probe,
                target,
                Role::Primary,
                &token,
                started,
                patience,
                &mut log,
            )
            .await
            {
                Ok(Some(delay)) => {
                    record.revocation_visible_ms = Some(delay.as_secs_f64() * 1000.0);
                    step(what, Ok(format!("inactive after {} ms", delay.as_millis())));
                }
                Ok(None) => {
                    // Either the server does not revoke or this probe does not see it: believe
                    // the probe unless another way of looking disagrees.
                    let other = cross_check(target, probe, kind, &token).await;
                    match other {
                        Some(name) => {
                            step(what, Err(format!("it still reads active after {} ms while the {name} probe reads it inactive: this probe does not see revocations", patience.as_millis())));
                        }
                        None => record.steps.push(CalibrationStep {
                            what,
                            passed: true,
                            seen: format!("still active after {} ms and no other probe disagrees: the server does not seem to revoke; the scenarios will show it", patience.as_millis()),
                        }),
                    }
                }
                Err(e) => {
                    step(what, Err(e));
                }
            }
        }
    }
}

/// Another way of looking at a token of this kind that reads it inactive, if there is one.
async fn cross_check(
    target: &Target,
    used: &dyn Probe,
    kind: TokenType,
    token: &str,
) -> Option<&'static str> {
    let candidates: Vec<Box<dyn Probe>> = match kind {
        TokenType::Access => vec![Box::new(Introspection), Box::new(Userinfo)],
        TokenType::Refresh => vec![Box::new(Introspection)],
    };
    for probe in candidates {
        if probe.name() == used.name() {
            continue;
        }
        if let (_, Ok(TokenState::Inactive)) =
            observe(probe.as_ref(), target, Role::Primary, token).await
        {
            return Some(probe.name());
        }
    }
    None
}
