//! The step definitions: the vocabulary of `features/STEPS.md`, one module per family. Given
//! steps set up (`given`: tokens and settings; a failure is a SKIP or an ERROR, never a FAIL),
//! When steps send exactly one recorded request (`requests`), Then steps observe: the answer
//! (`answers`), token states and positive controls (`state`), published metadata
//! (`metadata`). No step decides a verdict: each reports to the scenario's `Outcome`. A halted
//! scenario's remaining steps do nothing.

mod answers;
mod given;
mod hardened;
mod metadata;
mod params;
mod requests;
mod state;

use super::world::{RevWorld, TokenRef};
use crate::sut::http::HttpResponse;
use crate::sut::Role;

/// Counts the step and returns from it when the scenario has already stopped.
macro_rules! guard {
    ($w:expr) => {{
        $w.steps_run += 1;
        if $w.halted() {
            return;
        }
    }};
}
pub(crate) use guard;

/// A client role the profile has; a SKIP naming the role otherwise.
fn role(w: &mut RevWorld, name: &str) -> Option<Role> {
    let role = Role::parse(name);
    let present = role.is_some_and(|r| w.ctx().target.credentials(r).is_some());
    if !present {
        w.outcome
            .skip(format!("the target profile has no {name} client"));
        return None;
    }
    role
}

/// A token reference and the token it names (its substitute's, where one stands in).
fn tokref(w: &mut RevWorld, r: TokenRef) -> Option<(TokenRef, String)> {
    let value = w.token(r)?;
    Some((w.resolve(r), value))
}

/// The last answer of the revocation endpoint; an ERROR when there is none.
fn last(w: &mut RevWorld) -> Option<HttpResponse> {
    if w.last.is_none() {
        w.outcome.error("no answer to examine");
    }
    w.last.clone()
}
