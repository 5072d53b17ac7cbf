//! The cucumber World: one scenario's state (the tokens it minted, the answers it saw, the
//! checks it made, the exchanges it recorded) and how that state becomes a [`CaseRecord`].
//! The run's context (target, plan) is injected in the `before` hook; there are no globals.

use super::catalogue::Level;
use crate::report::{CaseRecord, CheckRecord, Verdict};
use crate::sut::http::{Exchange, HttpResponse};
use crate::sut::settings::Applied;
use crate::sut::{Kind, Role, Target, TokenState};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Shared by every scenario of a run.
pub struct RunContext {
    pub target: Target,
    pub cases: Mutex<Vec<CaseRecord>>,
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
    pub kind: Kind,
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
            "access" => Kind::Access,
            "refresh" => Kind::Refresh,
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
        let kind = if self.kind == Kind::Access {
            "access"
        } else {
            "refresh"
        };
        format!("the {owner}{slot}{kind} token")
    }
}

/// Why a scenario stopped early.
#[derive(Debug, Clone)]
pub enum Halt {
    Skip(String),
    Error(String),
    /// The rule does not apply to what the server did (e.g. no error answer to examine).
    NotApplicable(String),
}

/// One scenario's state.
#[derive(Debug, Default, cucumber::World)]
pub struct RevWorld {
    pub ctx: Option<Arc<RunContext>>,
    pub rule: String,
    pub level: Option<Level>,
    pub profile: String,
    pub scenario: String,
    pub location: String,
    pub requirement: String,
    pub started: Option<Instant>,
    pub tokens: BTreeMap<TokenRef, String>,
    pub checks: Vec<CheckRecord>,
    pub observations: Vec<String>,
    pub exchanges: Vec<Exchange>,
    pub halt: Option<Halt>,
    pub last: Option<HttpResponse>,
    pub remembered: HashMap<String, HttpResponse>,
    pub metadata: Option<serde_json::Value>,
    pub applied: Vec<Applied>,
    /// The rule is downgraded to INFO (e.g. the server cannot revoke access tokens).
    pub downgraded: Option<String>,
    pub method_results: Vec<(String, Result<(), String>)>,
    pub steps_run: usize,
}

impl RevWorld {
    pub fn ctx(&self) -> Arc<RunContext> {
        self.ctx.clone().expect("the before hook sets the context")
    }

    pub fn halted(&self) -> bool {
        self.halt.is_some()
    }

    pub fn skip(&mut self, reason: impl Into<String>) {
        if self.halt.is_none() {
            self.halt = Some(Halt::Skip(reason.into()));
        }
    }

    pub fn error(&mut self, reason: impl Into<String>) {
        if self.halt.is_none() {
            self.halt = Some(Halt::Error(reason.into()));
        }
    }

    /// Records an exchange, naming every token this scenario knows by its label.
    pub fn record(&mut self, mut exchange: Exchange) {
        for (r, value) in &self.tokens {
            exchange.relabel(value, &format!("<{}>", r.label()));
        }
        self.exchanges.push(exchange);
    }

    pub fn check(
        &mut self,
        what: impl Into<String>,
        expected: impl Into<String>,
        result: Result<(), String>,
    ) {
        self.push_check(what.into(), expected.into(), result, false);
    }

    pub fn should(
        &mut self,
        what: impl Into<String>,
        expected: impl Into<String>,
        result: Result<(), String>,
    ) {
        self.push_check(what.into(), expected.into(), result, true);
    }

    fn push_check(
        &mut self,
        what: String,
        expected: String,
        result: Result<(), String>,
        should_only: bool,
    ) {
        let (passed, actual) = match result {
            Ok(()) => (true, "as expected".to_owned()),
            Err(seen) => (false, seen),
        };
        self.checks.push(CheckRecord {
            what,
            expected,
            actual,
            passed,
            should_only,
        });
    }

    pub fn token(&mut self, r: TokenRef) -> Option<String> {
        let value = self.tokens.get(&r).cloned();
        if value.is_none() {
            self.error(format!(
                "the scenario refers to {} before obtaining it",
                r.label()
            ));
        }
        value
    }

    /// Observes a token once.
    pub async fn observe_once(&mut self, r: TokenRef, value: &str) -> Result<TokenState, String> {
        let ctx = self.ctx();
        let (exchange, state) = ctx.target.observe(r.role, r.kind, value).await;
        if exchange.method != "-" {
            self.record(exchange);
        }
        state
    }

    /// Observes until inactive or the propagation window is over; returns the last state.
    pub async fn observe_settled(
        &mut self,
        r: TokenRef,
        value: &str,
    ) -> Result<TokenState, String> {
        let window = self.ctx().target.profile.timeouts.propagation_window;
        let deadline = Instant::now() + window;
        loop {
            let state = self.observe_once(r, value).await?;
            if state == TokenState::Inactive || Instant::now() >= deadline {
                return Ok(state);
            }
            tokio::time::sleep(Duration::from_millis(100).min(window)).await;
        }
    }

    /// The verdict, from what the scenario saw.
    pub fn finish(&mut self, harness_failure: Option<String>) -> CaseRecord {
        let level = self.level.unwrap_or(Level::Must);
        let failed: Vec<&CheckRecord> = self.checks.iter().filter(|c| !c.passed).collect();
        let (verdict, reason) = match (&self.halt, harness_failure) {
            (_, Some(why)) => (Verdict::Error, Some(why)),
            (Some(Halt::Error(why)), _) => (Verdict::Error, Some(why.clone())),
            (Some(Halt::Skip(why)), _) => (Verdict::Skip, Some(why.clone())),
            (Some(Halt::NotApplicable(why)), _) if failed.is_empty() => {
                (Verdict::Skip, Some(why.clone()))
            }
            _ if self.checks.is_empty() && self.observations.is_empty() => (
                Verdict::Error,
                Some("the scenario made no observation".into()),
            ),
            _ => {
                let informative =
                    matches!(level, Level::May | Level::Info) || self.downgraded.is_some();
                let reason = self.downgraded.clone().or_else(|| {
                    (!self.observations.is_empty()).then(|| self.observations.join("; "))
                });
                if failed.is_empty() {
                    let v = if level == Level::Info || self.downgraded.is_some() {
                        Verdict::Info
                    } else {
                        Verdict::Pass
                    };
                    (v, reason)
                } else if informative {
                    (Verdict::Info, reason)
                } else if level == Level::Should || failed.iter().all(|c| c.should_only) {
                    (Verdict::Warn, reason)
                } else {
                    (Verdict::Fail, reason)
                }
            }
        };
        CaseRecord {
            rule: self.rule.clone(),
            level,
            profile: self.profile.clone(),
            scenario: self.scenario.clone(),
            location: self.location.clone(),
            requirement: self.requirement.clone(),
            verdict,
            reason,
            checks: std::mem::take(&mut self.checks),
            observations: std::mem::take(&mut self.observations),
            exchanges: std::mem::take(&mut self.exchanges),
            duration_ms: self
                .started
                .map_or(0.0, |s| s.elapsed().as_secs_f64() * 1000.0),
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

    fn world(level: Level) -> RevWorld {
        RevWorld {
            level: Some(level),
            ..Default::default()
        }
    }

    #[test]
    fn verdicts_follow_levels_and_should_checks() {
        let mut w = world(Level::Must);
        w.check("a", "x", Ok(()));
        assert_eq!(w.finish(None).verdict, Verdict::Pass);
        let mut w = world(Level::Must);
        w.check("a", "x", Err("y".into()));
        assert_eq!(w.finish(None).verdict, Verdict::Fail);
        let mut w = world(Level::Must);
        w.check("a", "x", Ok(()));
        w.should("b", "x", Err("y".into()));
        assert_eq!(w.finish(None).verdict, Verdict::Warn);
        let mut w = world(Level::Should);
        w.check("a", "x", Err("y".into()));
        assert_eq!(w.finish(None).verdict, Verdict::Warn);
        let mut w = world(Level::May);
        w.check("a", "x", Err("y".into()));
        assert_eq!(w.finish(None).verdict, Verdict::Info);
        let mut w = world(Level::Info);
        w.observations.push("policy".into());
        assert_eq!(w.finish(None).verdict, Verdict::Info);
    }

    #[test]
    fn nothing_observed_is_never_a_pass() {
        assert_eq!(world(Level::Must).finish(None).verdict, Verdict::Error);
        let mut w = world(Level::Must);
        w.check("a", "x", Ok(()));
        w.skip("no public client");
        let record = w.finish(None);
        assert_eq!(
            (record.verdict, record.reason.as_deref()),
            (Verdict::Skip, Some("no public client"))
        );
        let mut w = world(Level::Must);
        w.check("a", "x", Ok(()));
        assert_eq!(
            w.finish(Some("step panicked".into())).verdict,
            Verdict::Error
        );
    }
}
