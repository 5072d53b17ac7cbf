//! The one place that decides a scenario's verdict. Steps only report what they saw: a check
//! (graded by the rule's level), a SHOULD inside any rule, a positive control (the mechanism a
//! "nothing happened" conclusion relies on), an observation (INFO), a measured revocation
//! delay, or why the scenario stopped (skip, error, not applicable). [`Outcome::verdict`] turns
//! that into the verdict, by these rules, in order:
//! 1. the harness itself failed, or a positive control failed: ERROR (a negative conclusion
//!    that rests on a broken mechanism is not a verdict on the server);
//! 2. a failed check: FAIL (MUST), WARN (SHOULD or a SHOULD-only check), INFO (MAY, INFO or a
//!    downgraded rule), whatever stopped the scenario afterwards;
//! 3. a skip or a not-applicable part: SKIP with the reason;
//! 4. an error: ERROR with the reason;
//! 5. nothing observed: ERROR ("no observation"), never a pass;
//! 6. otherwise PASS (INFO for INFO rules and downgraded rules).

use crate::catalogue::Level;
use crate::record::{CheckRecord, DelayRecord, Verdict};

/// Why a scenario stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Halt {
    Skip(String),
    Error(String),
    /// A part of the rule does not apply to what the server did.
    NotApplicable(String),
    /// A positive control failed.
    Control(String),
}

/// What a scenario saw (see the module doc).
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    checks: Vec<CheckRecord>,
    controls: Vec<CheckRecord>,
    observations: Vec<String>,
    halt: Option<Halt>,
    downgraded: Option<String>,
    delays: Vec<DelayRecord>,
    unreadable_answer: bool,
}

fn record(
    what: String,
    expected: String,
    result: Result<(), String>,
    should_only: bool,
) -> CheckRecord {
    let (passed, actual) = match result {
        Ok(()) => (true, "as expected".to_owned()),
        Err(seen) => (false, seen),
    };
    CheckRecord {
        what,
        expected,
        actual,
        passed,
        should_only,
    }
}

impl Outcome {
    /// A check graded by the rule's level.
    pub fn check(
        &mut self,
        what: impl Into<String>,
        expected: impl Into<String>,
        result: Result<(), String>,
    ) {
        self.checks
            .push(record(what.into(), expected.into(), result, false));
    }

    /// A SHOULD inside any rule: a failure is a warning whatever the rule's level.
    pub fn should(
        &mut self,
        what: impl Into<String>,
        expected: impl Into<String>,
        result: Result<(), String>,
    ) {
        self.checks
            .push(record(what.into(), expected.into(), result, true));
    }

    /// A positive control; a failure stops the scenario as an ERROR. Returns whether it held.
    pub fn control(
        &mut self,
        what: impl Into<String>,
        expected: impl Into<String>,
        result: Result<(), String>,
    ) -> bool {
        let r = record(what.into(), expected.into(), result, false);
        let held = r.passed;
        if !held && self.halt.is_none() {
            self.halt = Some(Halt::Control(format!(
                "positive control failed: {}: expected {}, saw {}",
                r.what, r.expected, r.actual
            )));
        }
        self.controls.push(r);
        held
    }

    /// Something recorded for an INFO rule.
    /// An observation (recorded once, however often it is made).
    pub fn observe(&mut self, note: impl Into<String>) {
        let note = note.into();
        if !self.observations.contains(&note) {
            self.observations.push(note);
        }
    }

    /// The rule is INFO for this server (e.g. it cannot revoke access tokens and says so).
    pub fn downgrade(&mut self, why: impl Into<String>) {
        self.downgraded = Some(why.into());
    }

    pub fn delay(&mut self, delay: DelayRecord) {
        self.delays.push(delay);
    }

    pub fn delays(&self) -> &[DelayRecord] {
        &self.delays
    }

    pub fn skip(&mut self, reason: impl Into<String>) {
        self.halt.get_or_insert(Halt::Skip(reason.into()));
    }

    pub fn error(&mut self, reason: impl Into<String>) {
        self.halt.get_or_insert(Halt::Error(reason.into()));
    }

    /// An ERROR because an answer could not be read (over the body cap): the server's answer
    /// to this request, which no other scenario's request changes.
    pub fn unreadable_answer(&mut self, reason: impl Into<String>) {
        self.unreadable_answer |= self.halt.is_none();
        self.error(reason);
    }

    /// Whether [`Outcome::unreadable_answer`] was called.
    pub fn had_unreadable_answer(&self) -> bool {
        self.unreadable_answer
    }

    pub fn not_applicable(&mut self, reason: impl Into<String>) {
        self.halt.get_or_insert(Halt::NotApplicable(reason.into()));
    }

    pub fn halted(&self) -> bool {
        self.halt.is_some()
    }

    /// Whether a check failed so far (a re-run alone may then change the picture).
    pub fn has_failed_check(&self) -> bool {
        self.checks.iter().any(|c| !c.passed)
    }

    /// The verdict and its reason (see the module doc).
    pub fn verdict(
        &self,
        level: Level,
        harness_failure: Option<&str>,
    ) -> (Verdict, Option<String>) {
        if let Some(why) = harness_failure {
            return (Verdict::Error, Some(why.to_owned()));
        }
        if let Some(Halt::Control(why)) = &self.halt {
            return (Verdict::Error, Some(why.clone()));
        }
        let failed: Vec<&CheckRecord> = self.checks.iter().filter(|c| !c.passed).collect();
        let informative = matches!(level, Level::May | Level::Info) || self.downgraded.is_some();
        let notes = || {
            self.downgraded
                .clone()
                .or_else(|| (!self.observations.is_empty()).then(|| self.observations.join("; ")))
        };
        if !failed.is_empty() {
            let verdict = if informative {
                Verdict::Info
            } else if level == Level::Should || failed.iter().all(|c| c.should_only) {
                Verdict::Warn
            } else {
                Verdict::Fail
            };
            return (verdict, notes());
        }
        match &self.halt {
            Some(Halt::Skip(why)) | Some(Halt::NotApplicable(why)) => {
                return (Verdict::Skip, Some(why.clone()))
            }
            Some(Halt::Error(why)) => return (Verdict::Error, Some(why.clone())),
            Some(Halt::Control(_)) => unreachable!("handled above"),
            None => {}
        }
        if self.checks.is_empty() && self.observations.is_empty() && self.downgraded.is_none() {
            return (
                Verdict::Error,
                Some("the scenario made no observation".into()),
            );
        }
        let verdict = if level == Level::Info || self.downgraded.is_some() {
            Verdict::Info
        } else {
            Verdict::Pass
        };
        (verdict, notes())
    }

    /// Everything recorded, for the case record.
    pub fn into_parts(
        self,
    ) -> (
        Vec<CheckRecord>,
        Vec<CheckRecord>,
        Vec<String>,
        Vec<DelayRecord>,
    ) {
        (self.checks, self.controls, self.observations, self.delays)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(o: &Outcome, level: Level) -> Verdict {
        o.verdict(level, None).0
    }

    #[test]
    fn verdicts_follow_levels_and_should_checks() {
        let mut o = Outcome::default();
        o.check("a", "x", Ok(()));
        assert_eq!(v(&o, Level::Must), Verdict::Pass);
        o.should("b", "x", Err("y".into()));
        assert_eq!(v(&o, Level::Must), Verdict::Warn);
        o.check("c", "x", Err("y".into()));
        assert_eq!(v(&o, Level::Must), Verdict::Fail);
        assert_eq!(v(&o, Level::Should), Verdict::Warn);
        assert_eq!(v(&o, Level::May), Verdict::Info);
        let mut info = Outcome::default();
        info.observe("policy");
        assert_eq!(v(&info, Level::Info), Verdict::Info);
    }

    #[test]
    fn nothing_observed_is_never_a_pass() {
        assert_eq!(v(&Outcome::default(), Level::Must), Verdict::Error);
        let mut o = Outcome::default();
        o.check("a", "x", Ok(()));
        assert_eq!(
            o.verdict(Level::Must, Some("step panicked")).0,
            Verdict::Error
        );
    }

    #[test]
    fn a_failed_check_takes_precedence_over_a_later_skip() {
        let mut o = Outcome::default();
        o.check("status", "200", Err("400".into()));
        o.skip("no refresh tokens");
        assert_eq!(v(&o, Level::Must), Verdict::Fail);
        let mut o = Outcome::default();
        o.check("status", "200", Ok(()));
        o.skip("no refresh tokens");
        assert_eq!(
            o.verdict(Level::Must, None),
            (Verdict::Skip, Some("no refresh tokens".into()))
        );
    }

    #[test]
    fn a_failed_control_is_an_error_whatever_the_checks_say() {
        let mut o = Outcome::default();
        o.check("bystander", "active", Ok(()));
        assert!(!o.control("the acted-on token", "inactive", Err("active".into())));
        let (verdict, reason) = o.verdict(Level::Must, None);
        assert_eq!(verdict, Verdict::Error);
        assert!(reason
            .unwrap()
            .contains("positive control failed: the acted-on token"));
        let mut o = Outcome::default();
        assert!(o.control("c", "x", Ok(())));
        o.check("a", "x", Ok(()));
        assert_eq!(v(&o, Level::Must), Verdict::Pass);
    }

    #[test]
    fn the_first_halt_wins_and_a_downgrade_is_info() {
        let mut o = Outcome::default();
        o.skip("first");
        o.error("second");
        assert_eq!(
            o.verdict(Level::Must, None),
            (Verdict::Skip, Some("first".into()))
        );
        let mut o = Outcome::default();
        o.downgrade("the server does not revoke access tokens");
        assert_eq!(v(&o, Level::Should), Verdict::Info);
    }
}
