//! The cucumber World: one scenario's state (the tokens it holds, the last answer, what it
//! still has to look at again) and the run's shared context, injected in the `before` hook
//! (no globals). What the scenario concludes is kept by its [`Outcome`]; this module also owns
//! the timing of observations: "inactive" is polled within the profile's patience and its
//! delay measured, and every "stays active" and every "inactive" is looked at once more after
//! a settle, so a delayed side effect (a background job, a stale replica) is seen.

use super::outcome::Outcome;
use crate::catalogue::Level;
use crate::record::Calibration;
use crate::record::{CaseRecord, DelayRecord};
use crate::sut::http::{Exchange, HttpResponse};
use crate::sut::settings::SettingError;
use crate::sut::{Role, Target, TokenState, TokenType};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The settings the scenarios running now can rely on.
#[derive(Debug, Clone, Default)]
pub enum GroupState {
    /// No settings were changed: the server's own settings.
    #[default]
    Original,
    /// The group's settings: each in place and confirmed, or why not.
    Entered(Vec<(crate::catalogue::Setting, Result<(), SettingError>)>),
}

/// Shared by every scenario of a run.
pub struct RunContext {
    pub target: Target,
    pub calibration: Calibration,
    pub group: Mutex<GroupState>,
    pub cases: Mutex<Vec<CaseRecord>>,
    pub progress: Arc<dyn super::progress::Progress>,
    /// Who may send requests now, who is watching tokens, when a revocation was last answered.
    pub pace: super::schedule::Pace,
}

impl std::fmt::Debug for RunContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RunContext({})", self.target.profile.name)
    }
}

/// Which grant of a client a token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Slot {
    First,
    Second,
    Refreshed,
}

/// A token named in a step: `the other client's second access token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenRef {
    pub role: Role,
    pub slot: Slot,
    pub kind: TokenType,
}

impl TokenRef {
    /// Parses `the [CLIENT client's ][second |refreshed ](access|refresh) token`.
    pub fn parse(text: &str) -> Option<TokenRef> {
        let rest = text.strip_prefix("the ")?.strip_suffix(" token")?;
        let (role, rest) = match rest.split_once(" client's ") {
            Some((r, rest)) => (Role::parse(r)?, rest),
            None => (Role::Primary, rest),
        };
        let (slot, kind) = match rest.split_once(' ') {
            Some(("second", k)) => (Slot::Second, k),
            Some(("refreshed", k)) => (Slot::Refreshed, k),
            None => (Slot::First, rest),
            _ => return None,
        };
        let kind = match kind {
            "access" => TokenType::Access,
            "refresh" => TokenType::Refresh,
            _ => return None,
        };
        Some(TokenRef { role, slot, kind })
    }

    pub fn label(&self) -> String {
        let owner = if self.role == Role::Primary {
            String::new()
        } else {
            format!("{} client's ", self.role.name())
        };
        let slot = match self.slot {
            Slot::First => "",
            Slot::Second => "second ",
            Slot::Refreshed => "refreshed ",
        };
        let kind = if self.kind == TokenType::Access {
            "access"
        } else {
            "refresh"
        };
        format!("the {owner}{slot}{kind} token")
    }
}

/// The grant a token belongs to: a refreshed token is of its first grant.
fn grant_of(r: TokenRef) -> (Role, Slot) {
    match r.slot {
        Slot::Second => (r.role, Slot::Second),
        Slot::First | Slot::Refreshed => (r.role, Slot::First),
    }
}

/// A token's state as seen on every node (one "node" for a single server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Look {
    All(TokenState),
    Split {
        active: Vec<String>,
        inactive: Vec<String>,
    },
}

impl Look {
    /// "active", "inactive", or "active on A, inactive on B".
    pub fn describe(&self) -> String {
        match self {
            Look::All(TokenState::Active) => "active".into(),
            Look::All(TokenState::Inactive) => "inactive".into(),
            Look::Split { active, inactive } => format!(
                "active on {} and inactive on {}",
                active.join(", "),
                inactive.join(", ")
            ),
        }
    }
}

/// Where a scenario comes from and what it checks.
#[derive(Debug, Default, Clone)]
pub struct ScenarioMeta {
    pub rule: String,
    pub level: Option<Level>,
    pub profile: String,
    pub scenario: String,
    pub file: String,
    pub line: usize,
    pub requirement: String,
    /// `@any-token`: the type of token is incidental to the rule, so a type the target cannot
    /// offer or does not revoke is replaced by the other token of the same grant.
    pub any_token: bool,
    /// `@request-shape`: the request's shape (its hint) is the rule's subject, so a plain
    /// revocation is sent exactly as written, never in the shape learned in calibration.
    pub request_shape: bool,
}

/// One scenario's state.
#[derive(Debug, Default, cucumber::World)]
pub struct RevWorld {
    ctx: Option<Arc<RunContext>>,
    pub meta: ScenarioMeta,
    pub outcome: Outcome,
    started: Option<Instant>,
    tokens: BTreeMap<TokenRef, String>,
    /// Tokens the server legitimately retired before the scenario acted (a refresh grant that
    /// replaces the grant's access token): nothing can be concluded from their state.
    retired: BTreeSet<TokenRef>,
    /// The last answer of a request to the revocation endpoint, and when it ended.
    pub last: Option<HttpResponse>,
    last_at: Option<Instant>,
    /// Whether that request authenticated with the Authorization header (Basic).
    pub last_sent_basic: bool,
    /// The client whose revocation request was built last.
    pub acting_as: Option<Role>,
    /// The last client assertion a request of this scenario carried (for a replay).
    pub last_assertion: Option<String>,
    pub remembered: HashMap<String, HttpResponse>,
    /// The metadata document fetched by the scenario.
    pub metadata: Option<crate::sut::discovery::Document>,
    /// Results of `each published revocation auth method ...`.
    pub method_results: Vec<(String, Result<(), String>)>,
    /// Tokens standing in for others the target cannot offer or does not revoke (only in
    /// `@any-token` scenarios).
    substitutes: BTreeMap<TokenRef, TokenRef>,
    /// Grants (role, slot) whose access token a request of this scenario revoked.
    access_revoked: BTreeSet<(Role, Slot)>,
    /// Grants a request of this scenario acted on (see [`RevWorld::grant_still_active`]).
    acted_on: BTreeSet<(Role, Slot)>,
    /// Tokens seen active after the request, to look at again after the settle.
    pending_active: Vec<TokenRef>,
    /// Tokens seen inactive, to look at again after the settle (resurrection).
    pending_inactive: Vec<TokenRef>,
    exchanges: Vec<Exchange>,
    pub steps_run: usize,
    /// The right to send requests (see [`super::schedule`]).
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
    /// Time spent waiting for evidence (settles, polls for a token not yet inactive).
    waited: Duration,
}

impl RevWorld {
    pub fn start(&mut self, ctx: Arc<RunContext>, meta: ScenarioMeta) {
        self.ctx = Some(ctx);
        self.meta = meta;
        self.started = Some(Instant::now());
    }

    /// Waits for the right to send requests (taken once the scenario has started).
    pub async fn act(&mut self) {
        if self.permit.is_none() {
            self.permit = Some(self.ctx().pace.act().await);
        }
    }

    /// Sleeps `wait` without holding the right to send requests (unless the schedule keeps
    /// it), registered as a watcher of the tokens of `watched` clients so that no request
    /// of theirs that could revoke every token is sent meanwhile. The watch lasts until the
    /// returned guard is dropped.
    async fn wait_as_watcher(
        &mut self,
        wait: Duration,
        watched: Vec<Role>,
    ) -> Option<super::schedule::Watching> {
        let ctx = self.ctx();
        let watch = (!watched.is_empty()).then(|| ctx.pace.watch(watched));
        if ctx.pace.schedule().yields_while_waiting() {
            self.permit = None;
        }
        tokio::time::sleep(wait).await;
        self.waited += wait;
        watch
    }

    /// Sleeps the settle before a second look at a token of `role`'s that may still be
    /// active, as a watcher, and takes the right to act again.
    pub async fn pause_watching(&mut self, wait: Duration, role: Role) {
        let watch = self.wait_as_watcher(wait, vec![role]).await;
        drop(watch);
        self.act().await;
    }

    pub fn ctx(&self) -> Arc<RunContext> {
        self.ctx.clone().expect("the before hook sets the context")
    }

    pub fn halted(&self) -> bool {
        self.outcome.halted()
    }

    /// Records an exchange, naming every token this scenario knows by its label.
    pub fn record(&mut self, mut exchange: Exchange) {
        if exchange.method == "-" {
            return;
        }
        for (r, value) in &self.tokens {
            exchange.relabel(value, &format!("<{}>", r.label()));
        }
        self.exchanges.push(exchange);
    }

    pub fn hold(&mut self, r: TokenRef, value: String) {
        self.retired.remove(&r);
        self.tokens.insert(r, value);
    }

    pub fn held(&self) -> impl Iterator<Item = (&TokenRef, &String)> {
        self.tokens.iter()
    }

    pub fn retire(&mut self, r: TokenRef) {
        self.retired.insert(r);
    }

    /// Makes `by` stand in for `r` from now on (see [`ScenarioMeta::any_token`]), saying why.
    pub fn substitute(&mut self, r: TokenRef, by: TokenRef, why: &str) {
        self.outcome
            .observe(format!("{} stands in for {}: {why}", by.label(), r.label()));
        self.substitutes.insert(r, by);
    }

    /// The token that stands for `r` in this scenario: `r`, or its substitute.
    pub fn resolve(&self, r: TokenRef) -> TokenRef {
        self.substitutes.get(&r).copied().unwrap_or(r)
    }

    /// A token the scenario holds; an ERROR when it refers to one it never obtained, and not
    /// applicable when the server retired it.
    pub fn token(&mut self, r: TokenRef) -> Option<String> {
        let r = self.resolve(r);
        if self.retired.contains(&r) {
            self.outcome.not_applicable(format!(
                "{} was replaced by the refresh grant (the server keeps one access token per grant), so its state says nothing here",
                r.label()
            ));
            return None;
        }
        let value = self.tokens.get(&r).cloned();
        if value.is_none() {
            self.outcome.error(format!(
                "the scenario refers to {} before obtaining it",
                r.label()
            ));
        }
        value
    }

    /// Notes that a request to the revocation endpoint just ended.
    pub fn answered(&mut self, answer: Option<HttpResponse>) {
        self.last = answer;
        self.last_at = Some(Instant::now());
        if let Some(ctx) = &self.ctx {
            ctx.pace.revocation_answered();
        }
    }

    /// Notes that a request asked to revoke this token (an access token's grant is then in the
    /// state a refresh-token probe may not have been confirmed for).
    pub fn asked_to_revoke(&mut self, r: TokenRef) {
        if r.kind == TokenType::Access {
            self.access_revoked.insert((r.role, r.slot));
        }
        self.acted_on.insert(grant_of(r));
    }

    /// Before the first request that acts on a grant: its tokens are still active, so what the
    /// request is seen to do to them is the request's doing. A token already dead (revoked by
    /// another scenario's request on a server that reaches too far, or by the server itself)
    /// would make a positive control or a cascade pass on nothing; the scenario stops with
    /// an ERROR saying so (and is run again alone). Returns whether the scenario may go on.
    pub async fn grant_still_active(&mut self, r: TokenRef) -> bool {
        let grant = grant_of(r);
        if self.acted_on.contains(&grant) {
            return true;
        }
        let held: Vec<(TokenRef, String)> = self
            .tokens
            .iter()
            .filter(|(t, _)| grant_of(**t) == grant && !self.retired.contains(t))
            .map(|(t, v)| (*t, v.clone()))
            .collect();
        for (t, value) in held {
            match self.look(t, &value).await {
                Ok(Look::All(TokenState::Active)) => {}
                Ok(look) => {
                    self.outcome.error(format!(
                        "precondition failed: {} was already {} before the request, though this scenario had not acted on its grant (another scenario's request or the server itself revoked it), so nothing can be concluded from its state",
                        t.label(),
                        look.describe()
                    ));
                    return false;
                }
                Err(e) => {
                    self.outcome
                        .error(format!("cannot observe {}: {e}", t.label()));
                    return false;
                }
            }
        }
        true
    }

    /// Looks at a token once, on every node of a cluster (or the target itself).
    pub async fn look(&mut self, r: TokenRef, value: &str) -> Result<Look, String> {
        let ctx = self.ctx();
        if r.kind == TokenType::Refresh
            && self.access_revoked.contains(&(r.role, r.slot))
            && ctx
                .target
                .learned()
                .refresh_after_access_revoked_unconfirmed
        {
            self.outcome.observe(format!(
                "what the {} probe says of {} rests on an unconfirmed probe: calibration could not check it on a refresh token whose access token was revoked",
                ctx.target.probe(TokenType::Refresh).map_or("refresh-token", |p| p.name()),
                r.label()
            ));
        }
        let mut active = Vec::new();
        let mut inactive = Vec::new();
        for (node, at) in ctx.target.observation_points() {
            let (exchange, state) = ctx.target.observe_at(at, r.role, r.kind, value).await;
            self.record(exchange);
            match state? {
                TokenState::Active => active.push(node),
                TokenState::Inactive => inactive.push(node),
            }
        }
        Ok(match (active.is_empty(), inactive.is_empty()) {
            (false, true) => Look::All(TokenState::Active),
            (true, _) => Look::All(TokenState::Inactive),
            (false, false) => Look::Split { active, inactive },
        })
    }

    fn timeouts(&self) -> crate::sut::profile::Timeouts {
        self.ctx().target.profile.timeouts.clone()
    }

    /// Polls until the token reads inactive on every node or the patience is over, recording
    /// each node's delay from the last request. `Ok(Ok(slowest))`, or `Ok(Err(nodes))` naming
    /// where it is still active.
    pub async fn poll_inactive(
        &mut self,
        r: TokenRef,
        value: &str,
    ) -> Result<Result<Duration, Vec<String>>, String> {
        let ctx = self.ctx();
        let patience = self.timeouts().revocation_patience;
        let since = self.last_at.unwrap_or_else(Instant::now);
        let deadline = Instant::now().max(since + patience);
        let points: Vec<(String, crate::sut::Endpoints)> = ctx
            .target
            .observation_points()
            .into_iter()
            .map(|(n, e)| (n, e.clone()))
            .collect();
        let mut seen: BTreeMap<String, Duration> = BTreeMap::new();
        let mut pause = Duration::from_millis(50);
        let mut first = true;
        loop {
            for (node, at) in &points {
                if seen.contains_key(node) {
                    continue;
                }
                let (exchange, state) = ctx.target.observe_at(at, r.role, r.kind, value).await;
                self.record(exchange);
                if state? == TokenState::Inactive {
                    let delay = if first {
                        Duration::ZERO
                    } else {
                        since.elapsed()
                    };
                    self.outcome.delay(DelayRecord {
                        token: r.label(),
                        node: node.clone(),
                        ms: delay.as_secs_f64() * 1000.0,
                        first_look: first,
                    });
                    seen.insert(node.clone(), delay);
                }
            }
            if seen.len() == points.len() {
                self.pending_inactive.push(r);
                return Ok(Ok(seen.values().copied().max().unwrap_or_default()));
            }
            first = false;
            if Instant::now() >= deadline {
                let still: Vec<String> = points
                    .iter()
                    .filter(|(n, _)| !seen.contains_key(n))
                    .map(|(n, _)| n.clone())
                    .collect();
                return Ok(Err(still));
            }
            let wait = pause.min(deadline.saturating_duration_since(Instant::now()));
            tokio::time::sleep(wait).await;
            self.waited += wait;
            pause = (pause * 2).min(Duration::from_millis(400));
        }
    }

    /// Marks a token seen active after a request, to be looked at again after the settle.
    pub fn expect_still_active_later(&mut self, r: TokenRef) {
        if !self.pending_active.contains(&r) {
            self.pending_active.push(r);
        }
    }

    /// How long after the last request a second look is taken: the stay-active settle, the
    /// propagation window, and half a second more than any delay this scenario measured.
    fn settle_time(&self) -> Duration {
        let t = self.timeouts();
        let seen = self
            .outcome
            .delays()
            .iter()
            .map(|d| Duration::from_secs_f64(d.ms / 1000.0) + Duration::from_millis(500))
            .max()
            .unwrap_or_default();
        t.stay_active_settle.max(t.propagation_window).max(seen)
    }

    /// Takes the second look at every pending token: one seen active must still be active,
    /// one seen inactive must still be inactive. Called before a positive control acts (so its
    /// own revocation is not blamed) and when the scenario ends.
    pub async fn settle_pending(&mut self) {
        let watch = self.settle().await;
        drop(watch);
        self.act().await;
    }

    /// The second looks when the scenario ends: the right to act is not taken back, so the
    /// next scenario of a group acts while this one waits.
    pub async fn settle_at_end(&mut self) {
        let watch = self.settle().await;
        drop(watch);
        self.permit = None;
    }

    async fn settle(&mut self) -> Option<super::schedule::Watching> {
        if self.pending_active.is_empty() && self.pending_inactive.is_empty() {
            return None;
        }
        if self.halted() && !self.outcome.has_failed_check() {
            return None;
        }
        let since = self.last_at.unwrap_or_else(Instant::now);
        let wait = (since + self.settle_time()).saturating_duration_since(Instant::now());
        let watched = self.pending_active.iter().map(|r| r.role).collect();
        let watch = self.wait_as_watcher(wait, watched).await;
        let elapsed = since.elapsed().as_millis();
        for r in std::mem::take(&mut self.pending_active) {
            let Some(value) = self.tokens.get(&r).cloned() else {
                continue;
            };
            match self.look(r, &value).await {
                Ok(Look::All(TokenState::Active)) => {}
                Ok(look) => self.outcome.check(
                    format!("state of {} {elapsed} ms after the request", r.label()),
                    "still active",
                    Err(format!(
                        "{} became {} after it was seen active (a delayed side effect of the request)",
                        r.label(),
                        look.describe()
                    )),
                ),
                Err(e) => self
                    .outcome
                    .error(format!("cannot observe {}: {e}", r.label())),
            }
        }
        for r in std::mem::take(&mut self.pending_inactive) {
            let Some(value) = self.tokens.get(&r).cloned() else {
                continue;
            };
            match self.look(r, &value).await {
                Ok(Look::All(TokenState::Inactive)) => {}
                Ok(look) => self.outcome.check(
                    format!("state of {} {elapsed} ms after the request", r.label()),
                    "still inactive",
                    Err(format!(
                        "{} is {} again after it was seen inactive (resurrected)",
                        r.label(),
                        look.describe()
                    )),
                ),
                Err(e) => self
                    .outcome
                    .error(format!("cannot observe {}: {e}", r.label())),
            }
        }
        watch
    }

    /// The case record, from what the scenario saw.
    pub fn finish(&mut self, harness_failure: Option<String>) -> CaseRecord {
        let level = self.meta.level.unwrap_or(Level::Must);
        let outcome = std::mem::take(&mut self.outcome);
        let unreadable_answer = outcome.had_unreadable_answer();
        let (verdict, reason) = outcome.verdict(level, harness_failure.as_deref());
        let (checks, controls, observations, delays) = outcome.into_parts();
        let meta = std::mem::take(&mut self.meta);
        CaseRecord {
            rule: meta.rule,
            level,
            profile: meta.profile,
            scenario: meta.scenario,
            location: format!("{}:{}", meta.file, meta.line),
            file: meta.file,
            line: meta.line,
            requirement: meta.requirement,
            verdict,
            reason,
            checks,
            controls,
            observations,
            delays,
            tokens: self.tokens.keys().map(TokenRef::label).collect(),
            confirmed_alone: false,
            first_verdict: None,
            exchanges: std::mem::take(&mut self.exchanges),
            duration_ms: self
                .started
                .map_or(0.0, |s| s.elapsed().as_secs_f64() * 1000.0),
            waited_ms: self.waited.as_secs_f64() * 1000.0,
            unreadable_answer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_refs_parse_and_label_round_trip() {
        for text in [
            "the access token",
            "the refresh token",
            "the second access token",
            "the refreshed refresh token",
            "the other client's access token",
            "the revoke-any client's second refresh token",
            "the public client's refresh token",
        ] {
            let r = TokenRef::parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(r.label(), text);
        }
        assert!(TokenRef::parse("the bogus client's access token").is_none());
        assert!(TokenRef::parse("the third access token").is_none());
    }

    #[test]
    fn a_retired_token_is_not_applicable_and_an_unknown_one_an_error() {
        let r = TokenRef::parse("the access token").unwrap();
        let mut w = RevWorld::default();
        w.hold(r, "v".into());
        w.retire(r);
        assert_eq!(w.token(r), None);
        let record = w.finish(None);
        assert_eq!(record.verdict, crate::record::Verdict::Skip);
        assert!(record
            .reason
            .unwrap()
            .contains("replaced by the refresh grant"));
        let mut w = RevWorld::default();
        assert_eq!(w.token(r), None);
        assert_eq!(w.finish(None).verdict, crate::record::Verdict::Error);
    }
}
