//! Probes: how the harness sees whether a token is still active. One [`Probe`] per way of
//! looking (RFC 7662 introspection, a refresh attempt, a protected resource), each split into
//! building the request and reading the answer, so that the reading is a pure function with its
//! own unit tests. [`calibrate`] checks each probe on the live target before any scenario runs:
//! a never-issued value must read inactive, a fresh token active, and a token revoked by a plain
//! request inactive; a probe that cannot tell these apart, or whose looking changes what it
//! looks at, is refused with the reason.

use super::http::{Exchange, HttpResponse, RequestSpec};
use super::profile::{ProbeKind, RefreshInactiveAnswer};
use super::{ClientAuth, Endpoints, Kind, Role, Target, TokenState};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::{Duration, Instant};

/// One way of observing a token's state.
pub trait Probe: Send + Sync {
    /// The name used in profiles and reports.
    fn name(&self) -> &'static str;
    /// The request that observes `token` of `owner` at these endpoints (the issuer's, or one
    /// node's), or why it cannot be sent.
    fn request(
        &self,
        target: &Target,
        at: &Endpoints,
        owner: Role,
        token: &str,
    ) -> Result<RequestSpec, String>;
    /// What the answer says about `token`: active, inactive, or why it cannot tell.
    fn interpret(&self, token: &str, answer: &HttpResponse) -> Result<TokenState, String>;
    /// Whether looking can change what is looked at (a plain refresh grant issues tokens).
    fn destructive(&self) -> bool {
        false
    }
}

/// The error code of an OAuth error answer, if it is one.
fn error_code(answer: &HttpResponse) -> Option<String> {
    answer.json()?.get("error")?.as_str().map(str::to_owned)
}

fn describe(answer: &HttpResponse) -> String {
    answer.describe()
}

/// RFC 7662 introspection, authenticated as the profile's introspection client.
pub struct Introspection;

impl Probe for Introspection {
    fn name(&self) -> &'static str {
        "introspection"
    }

    fn request(
        &self,
        target: &Target,
        at: &Endpoints,
        owner: Role,
        token: &str,
    ) -> Result<RequestSpec, String> {
        let url = at.introspection.clone().ok_or(
            "no introspection endpoint (discovery publishes none; set endpoints.introspection)",
        )?;
        let role = target.introspecting_role(owner).ok_or_else(|| {
            format!(
                "probes.introspection_client is \"owner\" and the {} client is public; add [clients.introspector] to introspect its tokens",
                owner.name()
            )
        })?;
        let client = target
            .credentials(role)
            .ok_or_else(|| format!("no {} client for introspection", role.name()))?;
        let mut spec = RequestSpec::post_form(url, vec![("token".into(), token.into())]);
        target.authenticate(&mut spec, client);
        Ok(spec)
    }

    fn interpret(&self, _token: &str, answer: &HttpResponse) -> Result<TokenState, String> {
        if answer.status != 200 {
            return Err(format!("introspection answered {}", describe(answer)));
        }
        let json = answer.json().ok_or_else(|| {
            format!(
                "introspection answered 200 that is not JSON: {}",
                describe(answer)
            )
        })?;
        match json.get("active") {
            Some(Value::Bool(true)) => Ok(TokenState::Active),
            Some(Value::Bool(false)) => Ok(TokenState::Inactive),
            Some(other) => Err(format!(
                "introspection answer's `active` is {other}, not a boolean"
            )),
            None => Err("introspection answer has no `active` member".into()),
        }
    }
}

/// A refresh grant with the refresh token, as its owner. Plain, it issues tokens (destructive:
/// on a server that rotates refresh tokens or keeps one access token per grant it changes the
/// grant). Passive, it asks for a scope outside every grant: a server that checks the token
/// before the scope then refuses with `invalid_scope` for a live token and `invalid_grant` for
/// a dead one, and issues nothing.
pub struct RefreshAttempt {
    pub passive_scope: Option<String>,
    pub inactive_answer: RefreshInactiveAnswer,
}

impl RefreshAttempt {
    fn is_dead_answer(&self, answer: &HttpResponse) -> bool {
        let code = error_code(answer);
        let invalid_grant =
            matches!(answer.status, 400 | 401) && code.as_deref() == Some("invalid_grant");
        match self.inactive_answer {
            RefreshInactiveAnswer::InvalidGrant => invalid_grant,
            RefreshInactiveAnswer::Status400 => {
                invalid_grant || (answer.status == 400 && code.as_deref() != Some("invalid_scope"))
            }
        }
    }
}

impl Probe for RefreshAttempt {
    fn name(&self) -> &'static str {
        if self.passive_scope.is_some() {
            "refresh (passive)"
        } else {
            "refresh"
        }
    }

    fn destructive(&self) -> bool {
        self.passive_scope.is_none()
    }

    fn request(
        &self,
        target: &Target,
        at: &Endpoints,
        owner: Role,
        token: &str,
    ) -> Result<RequestSpec, String> {
        let url = at
            .token
            .clone()
            .ok_or("no token endpoint (set endpoints.token)")?;
        let client = target
            .credentials(owner)
            .ok_or_else(|| format!("no {} client", owner.name()))?;
        let mut form = vec![
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), token.to_owned()),
        ];
        if let Some(scope) = &self.passive_scope {
            form.push(("scope".into(), scope.clone()));
        }
        let mut spec = RequestSpec::post_form(url, form);
        target.authenticate(&mut spec, client);
        Ok(spec)
    }

    fn interpret(&self, token: &str, answer: &HttpResponse) -> Result<TokenState, String> {
        if self.is_dead_answer(answer) {
            return Ok(TokenState::Inactive);
        }
        match (&self.passive_scope, answer.status) {
            (Some(_), 400) if error_code(answer).as_deref() == Some("invalid_scope") => {
                Ok(TokenState::Active)
            }
            (Some(scope), 200) => Err(format!(
                "the passive refresh probe asked for the scope {scope:?} outside the grant and the server issued tokens: it is not passive on this server (choose a scope the server refuses)"
            )),
            (None, 200) => {
                let rotated = answer
                    .json()
                    .and_then(|v| v.get("refresh_token").and_then(Value::as_str).map(str::to_owned))
                    .is_some_and(|rt| rt != token);
                if rotated {
                    Err("the refresh grant rotated the refresh token, so a plain refresh probe consumes the token it observes; set probes.refresh_probe_scope or use another probe".into())
                } else {
                    Ok(TokenState::Active)
                }
            }
            _ => Err(format!(
                "the refresh attempt answered {} (expected {})",
                describe(answer),
                match (&self.passive_scope, self.inactive_answer) {
                    (Some(_), _) => "400 invalid_scope for a live token, invalid_grant for a dead one",
                    (None, RefreshInactiveAnswer::InvalidGrant) => "200 for a live token, 400 invalid_grant for a dead one",
                    (None, RefreshInactiveAnswer::Status400) => "200 for a live token, 400 for a dead one",
                }
            )),
        }
    }
}

/// A protected resource (the userinfo endpoint) with the access token as bearer.
pub struct Userinfo;

impl Probe for Userinfo {
    fn name(&self) -> &'static str {
        "userinfo"
    }

    fn request(
        &self,
        _target: &Target,
        at: &Endpoints,
        _owner: Role,
        token: &str,
    ) -> Result<RequestSpec, String> {
        let url = at
            .userinfo
            .clone()
            .ok_or("no userinfo endpoint (discovery publishes none; set endpoints.userinfo)")?;
        let mut spec = RequestSpec::get(url);
        spec.headers
            .push(("Authorization".into(), format!("Bearer {token}")));
        Ok(spec)
    }

    fn interpret(&self, _token: &str, answer: &HttpResponse) -> Result<TokenState, String> {
        match answer.status {
            200 => Ok(TokenState::Active),
            401 => Ok(TokenState::Inactive),
            // RFC 6750 3.1: 403 insufficient_scope is about what the token may do, not
            // whether it lives, so it says nothing either way.
            403 => Err(format!(
                "userinfo answered {} (a refusal for scope, not a dead token): userinfo cannot observe this token",
                describe(answer)
            )),
            _ => Err(format!("userinfo answered {}", describe(answer))),
        }
    }
}

/// The probe the profile names for a kind of token (None: not observable).
pub fn for_kind(profile: &super::TargetProfile, kind: Kind) -> Option<Box<dyn Probe>> {
    let chosen = match kind {
        Kind::Access => profile.probes.access_token,
        Kind::Refresh => profile.probes.refresh_token,
    };
    probe_of(chosen, profile)
}

fn probe_of(kind: ProbeKind, profile: &super::TargetProfile) -> Option<Box<dyn Probe>> {
    Some(match kind {
        ProbeKind::Introspection => Box::new(Introspection),
        ProbeKind::Refresh => Box::new(RefreshAttempt {
            passive_scope: profile.probes.refresh_probe_scope.clone(),
            inactive_answer: profile.probes.refresh_inactive_answer,
        }),
        ProbeKind::Userinfo => Box::new(Userinfo),
        ProbeKind::None => return None,
    })
}

/// Sends a probe's request to the target's own endpoints and reads the answer.
pub async fn observe(
    probe: &dyn Probe,
    target: &Target,
    owner: Role,
    token: &str,
) -> (Exchange, Result<TokenState, String>) {
    observe_at(probe, target, &target.endpoints, owner, token).await
}

/// Sends a probe's request to these endpoints and reads the answer. Every failure names the URL.
pub async fn observe_at(
    probe: &dyn Probe,
    target: &Target,
    at: &Endpoints,
    owner: Role,
    token: &str,
) -> (Exchange, Result<TokenState, String>) {
    let spec = match probe.request(target, at, owner, token) {
        Ok(spec) => spec,
        Err(why) => return (Exchange::not_sent("probe"), Err(why)),
    };
    let url = spec.url.clone();
    let (exchange, answer) = target.http.send(spec).await;
    let state = match answer {
        Ok(answer) if answer.truncated => Err(format!(
            "{url}: the answer is larger than the {} KiB the harness reads",
            super::http::BODY_CAP / 1024
        )),
        Ok(answer) => probe
            .interpret(token, &answer)
            .map_err(|why| format!("{url}: {why}")),
        Err(e) => Err(format!("{url}: {e}")),
    };
    (exchange, state)
}

/// One step of a probe's calibration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CalibrationStep {
    /// What was checked, e.g. "a never-issued value reads inactive".
    pub what: String,
    pub passed: bool,
    /// What was seen.
    pub seen: String,
}

/// The calibration of the probe for one kind of token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeCalibration {
    pub probe: String,
    pub kind: Kind,
    pub steps: Vec<CalibrationStep>,
    /// Why the probe cannot be believed (the run does not start).
    pub refused: Option<String>,
    /// Measured delay before the plainly revoked token read inactive.
    pub revocation_visible_ms: Option<f64>,
}

/// The calibration of every probe of a target.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Calibration {
    pub probes: Vec<ProbeCalibration>,
}

impl Calibration {
    /// The reasons of every refused probe.
    pub fn refusals(&self) -> Vec<String> {
        self.probes
            .iter()
            .filter_map(|p| {
                p.refused.as_ref().map(|why| {
                    format!(
                        "the {} probe for {} tokens: {why}",
                        p.probe,
                        kind_name(p.kind)
                    )
                })
            })
            .collect()
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Access => "access",
        Kind::Refresh => "refresh",
    }
}

/// A value no server has issued.
pub fn never_issued_value() -> String {
    use rand::RngCore as _;
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    format!("revspec-never-issued-{}", hex::encode(bytes))
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
    let deadline = since + patience;
    let mut pause = Duration::from_millis(50);
    loop {
        let (exchange, state) = observe(probe, target, owner, token).await;
        log.push(exchange);
        if state? == TokenState::Inactive {
            return Ok(Some(since.elapsed()));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
        pause = (pause * 2).min(Duration::from_millis(400));
    }
}

/// The roles whose tokens the catalogue observes (each must read active when fresh).
const OWNERS: &[Role] = &[Role::Primary, Role::Other, Role::RevokeAny, Role::Public];

/// Calibrates the probe of each kind of token on the live target (see the module doc).
pub async fn calibrate(target: &Target) -> Calibration {
    let mut calibration = Calibration::default();
    let patience = target.profile.timeouts.revocation_patience;
    for kind in [Kind::Access, Kind::Refresh] {
        if kind == Kind::Refresh && !target.mints_refresh_tokens() {
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
    kind: Kind,
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
    let pick = |m: &super::Minted| match kind {
        Kind::Access => m.access_token.clone(),
        Kind::Refresh => m.refresh_token.clone(),
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
            kind_name(kind),
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
    if probe.destructive() && kind == Kind::Refresh {
        if let (Some(access_probe), Some(at)) = (
            for_kind(&target.profile, Kind::Access),
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
            Kind::Access => "an access",
            Kind::Refresh => "a refresh",
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
    kind: Kind,
    token: &str,
) -> Option<&'static str> {
    let candidates: Vec<Box<dyn Probe>> = match kind {
        Kind::Access => vec![Box::new(Introspection), Box::new(Userinfo)],
        Kind::Refresh => vec![Box::new(Introspection)],
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

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
            truncated: false,
        }
    }

    #[test]
    fn introspection_reads_the_active_member_and_nothing_else() {
        let p = Introspection;
        assert_eq!(
            p.interpret("t", &answer(200, r#"{"active":true}"#)),
            Ok(TokenState::Active)
        );
        assert_eq!(
            p.interpret("t", &answer(200, r#"{"active":false}"#)),
            Ok(TokenState::Inactive)
        );
        assert!(p
            .interpret("t", &answer(200, r#"{"active":"false"}"#))
            .unwrap_err()
            .contains("not a boolean"));
        assert!(p
            .interpret("t", &answer(200, r#"{}"#))
            .unwrap_err()
            .contains("no `active`"));
        assert!(p
            .interpret("t", &answer(200, "<html>"))
            .unwrap_err()
            .contains("not JSON"));
        assert!(p
            .interpret("t", &answer(401, r#"{"error":"invalid_client"}"#))
            .unwrap_err()
            .contains("HTTP 401"));
    }

    #[test]
    fn plain_refresh_reads_200_as_active_unless_it_rotated() {
        let p = RefreshAttempt {
            passive_scope: None,
            inactive_answer: RefreshInactiveAnswer::InvalidGrant,
        };
        assert!(p.destructive());
        assert_eq!(
            p.interpret("rt", &answer(200, r#"{"access_token":"a"}"#)),
            Ok(TokenState::Active)
        );
        assert_eq!(
            p.interpret(
                "rt",
                &answer(200, r#"{"access_token":"a","refresh_token":"rt"}"#)
            ),
            Ok(TokenState::Active)
        );
        assert!(p
            .interpret(
                "rt",
                &answer(200, r#"{"access_token":"a","refresh_token":"new"}"#)
            )
            .unwrap_err()
            .contains("rotated"));
        assert_eq!(
            p.interpret("rt", &answer(400, r#"{"error":"invalid_grant"}"#)),
            Ok(TokenState::Inactive)
        );
        assert_eq!(
            p.interpret("rt", &answer(401, r#"{"error":"invalid_grant"}"#)),
            Ok(TokenState::Inactive)
        );
        // An empty 400 is not a dead token unless the profile says the server answers so.
        assert!(p.interpret("rt", &answer(400, "")).is_err());
        let lenient = RefreshAttempt {
            passive_scope: None,
            inactive_answer: RefreshInactiveAnswer::Status400,
        };
        assert_eq!(
            lenient.interpret("rt", &answer(400, "")),
            Ok(TokenState::Inactive)
        );
        assert!(lenient.interpret("rt", &answer(500, "")).is_err());
    }

    #[test]
    fn passive_refresh_reads_invalid_scope_as_active_and_refuses_to_issue() {
        let p = RefreshAttempt {
            passive_scope: Some("nope".into()),
            inactive_answer: RefreshInactiveAnswer::InvalidGrant,
        };
        assert!(!p.destructive());
        assert_eq!(
            p.interpret("rt", &answer(400, r#"{"error":"invalid_scope"}"#)),
            Ok(TokenState::Active)
        );
        assert_eq!(
            p.interpret("rt", &answer(400, r#"{"error":"invalid_grant"}"#)),
            Ok(TokenState::Inactive)
        );
        assert!(p
            .interpret("rt", &answer(200, r#"{"access_token":"a"}"#))
            .unwrap_err()
            .contains("not passive"));
        // With the lenient answer an empty 400 is dead, but invalid_scope still means alive.
        let lenient = RefreshAttempt {
            passive_scope: Some("nope".into()),
            inactive_answer: RefreshInactiveAnswer::Status400,
        };
        assert_eq!(
            lenient.interpret("rt", &answer(400, r#"{"error":"invalid_scope"}"#)),
            Ok(TokenState::Active)
        );
        assert_eq!(
            lenient.interpret("rt", &answer(400, "")),
            Ok(TokenState::Inactive)
        );
    }

    #[test]
    fn userinfo_403_is_not_inactive() {
        let p = Userinfo;
        assert_eq!(p.interpret("t", &answer(200, "{}")), Ok(TokenState::Active));
        assert_eq!(p.interpret("t", &answer(401, "")), Ok(TokenState::Inactive));
        assert!(p
            .interpret("t", &answer(403, r#"{"error":"insufficient_scope"}"#))
            .unwrap_err()
            .contains("403"));
        assert!(p.interpret("t", &answer(500, "")).is_err());
    }

    #[test]
    fn never_issued_values_differ() {
        assert_ne!(never_issued_value(), never_issued_value());
    }
}
