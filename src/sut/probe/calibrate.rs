//! Calibration: each probe checked on the live target before any scenario runs, and how the
//! target revokes each type of token learned (`sut::learned`).
//!
//! For each type: a never-issued value must read inactive and a fresh token of every client
//! active; then a token revoked without a hint must read inactive, or, if the server honours
//! only the right hint, one revoked with it (the shape is learned for the controls); a server
//! that refuses the type (400 `unsupported_token_type`) is learned so too. When a probe sees
//! no revocation at all, it is judged only by probes that are themselves calibrated for that
//! type (a never-issued value inactive, a fresh token active); when two calibrated probes
//! disagree, the server's own ground truth decides (for a refresh token: whether the refresh
//! grant still accepts it), and both observations are named. A refresh-token probe other than
//! the refresh grant is also checked on a refresh token whose access token was revoked, where
//! a non-destructive refresh grant can say the truth; where it cannot, that state is recorded
//! as unconfirmed. A probe that cannot tell these apart, or whose looking changes what it
//! looks at, is refused with the reason.

use super::{for_kind, never_issued_value, Introspection, Probe, RefreshAttempt, Userinfo};
use crate::catalogue::{Role, TokenType};
use crate::record::{Calibration, CalibrationStep, ProbeCalibration};
use crate::sut::conn::Minted;
use crate::sut::http::Exchange;
use crate::sut::learned::{hint, Learned, Shape};
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

fn pick(m: &Minted, kind: TokenType) -> Option<String> {
    match kind {
        TokenType::Access => m.access_token.clone(),
        TokenType::Refresh => m.refresh_token.clone(),
    }
}

/// A fresh token of this type for the primary client.
async fn fresh(target: &Target, kind: TokenType) -> Result<(Minted, String), String> {
    let (_, minted) = target.mint(Role::Primary).await;
    let minted = minted.map_err(|e| e.to_string())?;
    let token =
        pick(&minted, kind).ok_or_else(|| format!("the token source gave no {kind} token"))?;
    Ok((minted, token))
}

/// Records calibration steps; the first failed one refuses the probe.
struct Steps<'a>(&'a mut ProbeCalibration);

impl Steps<'_> {
    fn check(&mut self, what: impl Into<String>, result: Result<String, String>) -> bool {
        let what = what.into();
        let passed = result.is_ok();
        let seen = result.unwrap_or_else(|e| e);
        if !passed && self.0.refused.is_none() {
            self.0.refused = Some(format!("{what}: {seen}"));
        }
        self.0.steps.push(CalibrationStep { what, passed, seen });
        passed
    }

    /// A step that informs and refuses nothing.
    fn note(&mut self, what: impl Into<String>, seen: impl Into<String>) {
        self.0.steps.push(CalibrationStep {
            what: what.into(),
            passed: true,
            seen: seen.into(),
        });
    }
}

/// Calibrates the probe of each type of token on the live target (see the module doc), and
/// returns what was learned about how the target revokes.
pub async fn calibrate(target: &Target) -> (Calibration, Learned) {
    let mut calibration = Calibration::default();
    let mut learned = Learned::default();
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
            revoked_with: None,
            unconfirmed: Vec::new(),
            waited_ms: 0.0,
        };
        calibrate_one(target, probe.as_ref(), kind, &mut learned, &mut record).await;
        calibration.probes.push(record);
    }
    (calibration, learned)
}

async fn calibrate_one(
    target: &Target,
    probe: &dyn Probe,
    kind: TokenType,
    learned: &mut Learned,
    record: &mut ProbeCalibration,
) {
    let mut steps = Steps(record);
    // 1. A value never issued reads inactive.
    let never = never_issued_value();
    let (_, state) = observe(probe, target, Role::Primary, &never).await;
    let ok = steps.check(
        "a never-issued value reads inactive",
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
        let Some(token) = pick(&minted, kind) else {
            continue;
        };
        let (_, state) = observe(probe, target, *role, &token).await;
        let hint = if probe.name() == "introspection"
            && target.introspecting_role(*role) != Some(*role)
        {
            " (does the server let only a token's owner introspect it? then set probes.introspection_client = \"owner\")"
        } else {
            ""
        };
        let ok = steps.check(
            format!(
                "a fresh {kind} token of the {} client ({}) reads active",
                role.name(),
                client.id
            ),
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
        steps.check(
            "a fresh token of the primary client",
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
            let ok = steps.check(
                "observing a refresh token with a plain refresh grant leaves the grant's access token active",
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
    // 4. How the server revokes this type, seen through this probe.
    let shape = learn_shape(target, probe, kind, &token, &mut steps).await;
    if let Some(shape) = shape {
        learned.set(kind, shape);
        steps.0.revoked_with = Some(shape.describe(kind));
    }
    if steps.0.refused.is_some() {
        return;
    }
    // 5. A refresh-token probe other than the refresh grant, in between: a refresh token
    // whose access token was revoked.
    if kind == TokenType::Refresh && !is_refresh_grant(probe) {
        in_between(target, probe, learned, &mut steps).await;
    }
}

fn is_refresh_grant(probe: &dyn Probe) -> bool {
    probe.name().starts_with("refresh")
}

/// Revokes `token` with `form` and polls the probe; what the answer was and, when it was a
/// 200, after how long the token read inactive (None: still active after the patience).
async fn revoke_and_watch(
    target: &Target,
    probe: &dyn Probe,
    token: &str,
    form: Vec<(String, String)>,
) -> Result<(u16, Option<String>, Option<Duration>), String> {
    let patience = target.profile.timeouts.revocation_patience;
    let mut log = Vec::new();
    let started = Instant::now();
    let answer = target
        .send_revocation(Role::Primary, form, &mut log)
        .await?;
    if answer.status != 200 {
        return Ok((answer.status, answer.error_code(), None));
    }
    let seen = poll_inactive(
        probe,
        target,
        Role::Primary,
        token,
        started,
        patience,
        &mut log,
    )
    .await?;
    Ok((200, None, seen))
}

/// Step 4 (see the module doc): the shape that revokes this type, learned through the probe;
/// None when the plain revocation answered something that says nothing of the probe.
async fn learn_shape(
    target: &Target,
    probe: &dyn Probe,
    kind: TokenType,
    token: &str,
    steps: &mut Steps<'_>,
) -> Option<Shape> {
    let patience = target.profile.timeouts.revocation_patience;
    let what = format!(
        "{} token revoked by a plain request reads inactive",
        match kind {
            TokenType::Access => "an access",
            TokenType::Refresh => "a refresh",
        }
    );
    let unhinted =
        match revoke_and_watch(target, probe, token, Shape::Unhinted.form(kind, token)).await {
            Err(e) => {
                steps.check(what, Err(format!("the revocation request failed: {e}")));
                return None;
            }
            Ok(o) => o,
        };
    let refused_unhinted =
        unhinted.0 == 400 && unhinted.1.as_deref() == Some("unsupported_token_type");
    match unhinted {
        (200, _, Some(delay)) => {
            steps.0.revocation_visible_ms = Some(delay.as_secs_f64() * 1000.0);
            steps.check(what, Ok(format!("inactive after {} ms", delay.as_millis())));
            return Some(Shape::Unhinted);
        }
        (200, _, None) => {}
        (status, _, _) if !refused_unhinted => {
            // Not the probe's fault: the scenarios will show what the endpoint does.
            steps.note(
                what,
                format!("not checked: the plain revocation answered HTTP {status}"),
            );
            return None;
        }
        _ => {}
    }
    // Without a hint it stayed active (or was refused): the same with the right hint.
    let without = if refused_unhinted {
        "answered 400 unsupported_token_type".to_owned()
    } else {
        format!(
            "answered 200 and left it active for {} ms",
            patience.as_millis()
        )
    };
    let (_, second) = match fresh(target, kind).await {
        Ok(t) => t,
        Err(e) => {
            steps.check(what, Err(format!("a second fresh token: {e}")));
            return None;
        }
    };
    let hinted =
        match revoke_and_watch(target, probe, &second, Shape::Hinted.form(kind, &second)).await {
            Err(e) => {
                steps.check(what, Err(format!("the revocation request failed: {e}")));
                return None;
            }
            Ok(o) => o,
        };
    let h = hint(kind);
    match hinted {
        (200, _, Some(delay)) => {
            steps.0.revocation_visible_ms = Some(delay.as_secs_f64() * 1000.0);
            steps.check(
                format!("a {kind} token revoked with token_type_hint={h} reads inactive"),
                Ok(format!(
                    "inactive after {} ms; without the hint the request {without}: positive controls send the hint on this server",
                    delay.as_millis()
                )),
            );
            return Some(Shape::Hinted);
        }
        (400, Some(code), _) if refused_unhinted && code == "unsupported_token_type" => {
            steps.note(
                what,
                format!("not checked: the server refuses to revoke {kind} tokens (400 unsupported_token_type, with and without token_type_hint={h}); controls use a token type it revokes"),
            );
            return Some(Shape::Refused);
        }
        (200, _, None) => {}
        (status, _, _) => {
            steps.note(
                what,
                format!("not checked: without the hint the request {without}, with token_type_hint={h} it answered HTTP {status}"),
            );
            return None;
        }
    }
    // Neither shape made the probe see a revocation: either the server does not revoke, or
    // this probe does not see it. Only a calibrated probe may say which.
    let judged = judge_with_others(target, probe, kind, &[token, &second], steps).await;
    match judged {
        Verdict::ThisProbeIsBlind(why) => {
            steps.check(what, Err(why));
        }
        Verdict::ServerDoesNotRevoke(why) => steps.note(what, why),
    }
    None
}

enum Verdict {
    ThisProbeIsBlind(String),
    ServerDoesNotRevoke(String),
}

/// The other ways of looking at a token of this type, for a cross-check.
fn alternatives(target: &Target, kind: TokenType) -> Vec<Box<dyn Probe>> {
    let mut out: Vec<Box<dyn Probe>> = vec![Box::new(Introspection)];
    match kind {
        TokenType::Access => out.push(Box::new(Userinfo)),
        TokenType::Refresh => out.push(Box::new(RefreshAttempt {
            passive_scope: target.profile.probes.refresh_probe_scope.clone(),
            inactive_answer: target.profile.probes.refresh_inactive_answer,
            // On tokens made for the cross-check, a rotation is a live token's answer.
            accept_rotation: true,
        })),
    }
    out
}

/// Whether `other` is calibrated for this type on this target: a never-issued value reads
/// inactive and a fresh token of the primary client active. `Err` says what it read instead.
async fn calibrated(target: &Target, other: &dyn Probe, kind: TokenType) -> Result<(), String> {
    let (_, never) = observe(other, target, Role::Primary, &never_issued_value()).await;
    match never {
        Ok(TokenState::Inactive) => {}
        Ok(TokenState::Active) => return Err("a never-issued value reads active".into()),
        Err(e) => return Err(e),
    }
    let (_, token) = fresh(target, kind).await?;
    let (_, live) = observe(other, target, Role::Primary, &token).await;
    match live {
        Ok(TokenState::Active) => Ok(()),
        Ok(TokenState::Inactive) => Err(format!("a fresh {kind} token reads inactive")),
        Err(e) => Err(e),
    }
}

/// When this probe saw none of the revocations: asks every other probe that is calibrated for
/// this type. The server's own ground truth for a refresh token is the refresh grant: when it
/// is one side of a disagreement, it decides.
async fn judge_with_others(
    target: &Target,
    probe: &dyn Probe,
    kind: TokenType,
    revoked: &[&str],
    steps: &mut Steps<'_>,
) -> Verdict {
    let patience = target.profile.timeouts.revocation_patience.as_millis();
    for other in alternatives(target, kind) {
        if other.name() == probe.name()
            || (is_refresh_grant(other.as_ref()) && is_refresh_grant(probe))
        {
            continue;
        }
        if let Err(why) = calibrated(target, other.as_ref(), kind).await {
            steps.note(
                format!(
                    "the {} probe as a cross-check for {kind} tokens",
                    other.name()
                ),
                format!("not used: it is not calibrated for {kind} tokens on this server ({why})"),
            );
            continue;
        }
        let mut inactive = 0;
        for token in revoked {
            if let (_, Ok(TokenState::Inactive)) =
                observe(other.as_ref(), target, Role::Primary, token).await
            {
                inactive += 1;
            }
        }
        if inactive == 0 {
            continue;
        }
        let seen = format!(
            "the {} probe (calibrated: a never-issued value inactive, a fresh token active) reads {inactive} of the {} revoked {kind} tokens inactive, while the {} probe read them active for {patience} ms",
            other.name(),
            revoked.len(),
            probe.name()
        );
        if kind == TokenType::Refresh && is_refresh_grant(probe) {
            steps.note(
                format!("the {} probe disagrees", other.name()),
                format!("{seen}; the refresh grant, the server's own ground truth for a refresh token, still accepts them, so the {} probe is not believed", other.name()),
            );
            return Verdict::ServerDoesNotRevoke(format!(
                "still active after {patience} ms by the refresh grant (the ground truth): the server does not seem to revoke refresh tokens; the scenarios will show it"
            ));
        }
        let ground = if kind == TokenType::Refresh && is_refresh_grant(other.as_ref()) {
            " (the refresh grant is the server's own ground truth for a refresh token)"
        } else {
            ""
        };
        return Verdict::ThisProbeIsBlind(format!(
            "{seen}{ground}: this probe does not see revocations"
        ));
    }
    Verdict::ServerDoesNotRevoke(format!(
        "still active after {patience} ms with and without the hint, and no calibrated probe disagrees: the server does not seem to revoke {kind} tokens; the scenarios will show it"
    ))
}

/// Step 5 (see the module doc).
async fn in_between(
    target: &Target,
    probe: &dyn Probe,
    learned: &mut Learned,
    steps: &mut Steps<'_>,
) {
    let what = "a refresh token whose access token was revoked reads as the refresh grant says";
    let unconfirmed = |steps: &mut Steps<'_>, learned: &mut Learned, why: String| {
        learned.refresh_after_access_revoked_unconfirmed = true;
        steps
            .0
            .unconfirmed
            .push("a refresh token whose access token was revoked".into());
        steps.note(what, format!("not checked: {why}; what this probe says of such a token rests on an unconfirmed probe"));
    };
    if learned.access == Shape::Refused {
        unconfirmed(
            steps,
            learned,
            "the server does not revoke access tokens".into(),
        );
        return;
    }
    let Some(truth) = ground_truth(target).await else {
        unconfirmed(
            steps,
            learned,
            "no non-destructive refresh grant to ask (set probes.refresh_probe_scope for a passive one)".into(),
        );
        return;
    };
    let (minted, rt) = match fresh(target, TokenType::Refresh).await {
        Ok(t) => t,
        Err(e) => return unconfirmed(steps, learned, e),
    };
    let Some(at) = minted.access_token else {
        return unconfirmed(
            steps,
            learned,
            "the token source gave no access token".into(),
        );
    };
    let mut log = Vec::new();
    if let Err(e) = target
        .send_revocation(
            Role::Primary,
            learned.access.form(TokenType::Access, &at),
            &mut log,
        )
        .await
    {
        return unconfirmed(
            steps,
            learned,
            format!("revoking the access token failed: {e}"),
        );
    }
    // Let a cascade (or its absence) settle before comparing the two ways of looking.
    let t = &target.profile.timeouts;
    let settle = t.stay_active_settle.max(t.propagation_window);
    tokio::time::sleep(settle).await;
    steps.0.waited_ms += settle.as_secs_f64() * 1000.0;
    let (_, by_probe) = observe(probe, target, Role::Primary, &rt).await;
    let (_, by_truth) = observe(truth.as_ref(), target, Role::Primary, &rt).await;
    match (by_probe, by_truth) {
        (Ok(a), Ok(b)) if a == b => steps.note(
            what,
            format!(
                "both read it {} (the {} probe and the {} grant)",
                if a == TokenState::Active {
                    "active"
                } else {
                    "inactive"
                },
                probe.name(),
                truth.name()
            ),
        ),
        (Ok(a), Ok(b)) => {
            let word = |s: TokenState| {
                if s == TokenState::Active {
                    "active"
                } else {
                    "inactive"
                }
            };
            steps.check(
                what,
                Err(format!(
                    "the {} probe reads it {} while the {} grant, the server's own ground truth for a refresh token, finds it {}: this probe is wrong about a refresh token whose access token was revoked; use probes.refresh_token = \"refresh\" with probes.refresh_probe_scope",
                    probe.name(),
                    word(a),
                    truth.name(),
                    word(b)
                )),
            );
        }
        (Err(e), _) | (_, Err(e)) => unconfirmed(steps, learned, e),
    }
}

/// A refresh grant that can look at a refresh token without changing its grant: the passive
/// probe the profile names, or a plain refresh grant shown on a throwaway grant to neither
/// rotate the refresh token nor retire the grant's access token.
async fn ground_truth(target: &Target) -> Option<Box<dyn Probe>> {
    let p = &target.profile.probes;
    if p.refresh_probe_scope.is_some() {
        return Some(Box::new(RefreshAttempt {
            passive_scope: p.refresh_probe_scope.clone(),
            inactive_answer: p.refresh_inactive_answer,
            accept_rotation: false,
        }));
    }
    let (minted, rt) = fresh(target, TokenType::Refresh).await.ok()?;
    let plain = RefreshAttempt {
        passive_scope: None,
        inactive_answer: p.refresh_inactive_answer,
        accept_rotation: false,
    };
    // A rotating grant answers Err (rotated) here: not usable.
    let (_, state) = observe(&plain, target, Role::Primary, &rt).await;
    if state != Ok(TokenState::Active) {
        return None;
    }
    let access = for_kind(&target.profile, TokenType::Access)?;
    let at = minted.access_token?;
    let (_, still) = observe(access.as_ref(), target, Role::Primary, &at).await;
    (still == Ok(TokenState::Active)).then(|| Box::new(plain) as Box<dyn Probe>)
}
