//! Then steps about token states, and the positive controls.
//!
//! "Inactive" is polled until the profile's patience ends and its delay is recorded; "still
//! active" is looked at again after a settle (in [`RevWorld::settle_pending`]); every token
//! seen inactive is looked at once more for resurrection. A positive control shows, in the
//! same scenario, that the mechanism a "nothing happened" conclusion relies on works; when it
//! does not, the scenario is an ERROR that names the control.

use super::params::Token;
use super::requests::{revocation, send, Shape};
use super::{guard, last, role, tokref};
use crate::conformance::checks;
use crate::conformance::world::{Look, RevWorld, TokenRef};
use crate::sut::{Role, TokenState};
use cucumber::then;

/// "Inactive" as a check (`control = false`) or as a positive control.
async fn expect_inactive(w: &mut RevWorld, r: TokenRef, value: &str, control: bool) {
    let patience = w.ctx().target.profile.timeouts.revocation_patience;
    let result = match w.poll_inactive(r, value).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(nodes)) => Err(format!(
            "{} is still active {} ms after the request{}",
            r.label(),
            patience.as_millis(),
            on_nodes(&nodes)
        )),
        Err(e) => {
            w.outcome
                .error(format!("cannot observe {}: {e}", r.label()));
            return;
        }
    };
    let what = format!("state of {}", r.label());
    if control {
        // A control's token gets its second look too: on a server that brings revoked
        // tokens back, a "nothing happened" conclusion beside it cannot be trusted.
        w.outcome.control(what, "inactive", result);
    } else {
        w.outcome.check(what, "inactive", result);
    }
}

/// " on NODE, NODE" for a cluster's nodes (nothing for a single server).
fn on_nodes(nodes: &[String]) -> String {
    let named: Vec<&str> = nodes
        .iter()
        .map(String::as_str)
        .filter(|n| !n.is_empty())
        .collect();
    if named.is_empty() {
        String::new()
    } else {
        format!(" on {}", named.join(", "))
    }
}

async fn expect_active(w: &mut RevWorld, r: TokenRef, value: &str) {
    match w.look(r, value).await {
        Ok(Look::All(TokenState::Active)) => {
            w.outcome
                .check(format!("state of {}", r.label()), "active", Ok(()));
            w.expect_still_active_later(r);
        }
        Ok(look) => w.outcome.check(
            format!("state of {}", r.label()),
            "active",
            Err(format!("{} is {}", r.label(), look.describe())),
        ),
        Err(e) => w
            .outcome
            .error(format!("cannot observe {}: {e}", r.label())),
    }
}

#[then(expr = "{token} is inactive")]
async fn is_inactive(w: &mut RevWorld, token: Token) {
    guard!(w);
    let Some((r, value)) = tokref(w, token.0) else {
        return;
    };
    expect_inactive(w, r, &value, false).await;
}

#[then(expr = "{token} is still active")]
async fn still_active(w: &mut RevWorld, token: Token) {
    guard!(w);
    let Some((r, value)) = tokref(w, token.0) else {
        return;
    };
    expect_active(w, r, &value).await;
}

/// `rfc7009-2.1-immediate`: the first look after the 200 sees the token inactive, or the
/// measured delay is within the propagation window the profile declares.
#[then(expr = "the first observation already shows {token} inactive")]
async fn first_observation(w: &mut RevWorld, token: Token) {
    guard!(w);
    let Some((r, value)) = tokref(w, token.0) else {
        return;
    };
    let t = w.ctx().target.profile.timeouts.clone();
    let window = t.propagation_window;
    let result = match w.poll_inactive(r, &value).await {
        Ok(Ok(d)) if d.is_zero() => Ok(()),
        Ok(Ok(d)) if d <= window => {
            w.outcome.observe(format!(
                "revocation visible after {} ms, within the declared propagation window of {} ms",
                d.as_millis(),
                window.as_millis()
            ));
            Ok(())
        }
        Ok(Ok(d)) => Err(format!(
            "the first observation saw it active; revocation visible after {} ms (propagation window {} ms)",
            d.as_millis(),
            window.as_millis()
        )),
        Ok(Err(nodes)) => Err(format!(
            "still active {} ms after the 200{}",
            t.revocation_patience.as_millis(),
            on_nodes(&nodes)
        )),
        Err(e) => {
            w.outcome
                .error(format!("cannot observe {}: {e}", r.label()));
            return;
        }
    };
    w.outcome.check(
        format!("state of {} at the first observation", r.label()),
        "inactive",
        result,
    );
}

#[then(expr = "{token} is inactive unless the server answered {string}")]
async fn inactive_unless(w: &mut RevWorld, token: Token, code: String) {
    guard!(w);
    let Some(r) = last(w) else { return };
    if r.status == 400 && r.error_code().as_deref() == Some(code.as_str()) {
        // Only a server that refuses this token type outright may answer so; one that refuses
        // it only with some hint breaks the rule. Ask again without any hint to tell which.
        let Some((tr, value)) = tokref(w, token.0) else {
            return;
        };
        let Some(spec) = revocation(w, tr.role, vec![("token".into(), value)], Shape::Normal)
        else {
            return;
        };
        send(w, spec).await;
        let Some(plain) = last(w) else { return };
        if plain.status == 400 && plain.error_code().as_deref() == Some(code.as_str()) {
            w.outcome.downgrade(format!(
                "the server answered {code}, with and without a hint: it does not revoke this token type"
            ));
        } else {
            w.outcome.check(
                "response status",
                format!(
                    "HTTP 200 (the server revokes this token type without a hint, HTTP {})",
                    plain.status
                ),
                Err(format!("400 {code} with the hint")),
            );
        }
        return;
    }
    let status = if r.status == 200 {
        Ok(())
    } else {
        Err(format!("HTTP {}: {}", r.status, r.text_snippet()))
    };
    w.outcome.check(
        "response status",
        format!("HTTP 200 (or 400 {code})"),
        status,
    );
    let Some((tr, value)) = tokref(w, token.0) else {
        return;
    };
    expect_inactive(w, tr, &value, false).await;
}

fn tokens_of(w: &mut RevWorld, client: &str) -> Option<Vec<(TokenRef, String)>> {
    let role = role(w, client)?;
    let held: Vec<(TokenRef, String)> = w
        .held()
        .filter(|(r, _)| r.role == role)
        .map(|(r, v)| (*r, v.clone()))
        .collect();
    if held.is_empty() {
        w.outcome.error(format!(
            "the scenario holds no token of the {client} client"
        ));
        return None;
    }
    Some(held)
}

#[then(regex = r"^every token of the (\S+) client is (inactive|still active)$")]
async fn every_token(w: &mut RevWorld, client: String, state: String) {
    guard!(w);
    let Some(held) = tokens_of(w, &client) else {
        return;
    };
    for (r, value) in held {
        if state == "inactive" {
            expect_inactive(w, r, &value, false).await;
        } else {
            expect_active(w, r, &value).await;
        }
    }
}

/// INFO: the state a token settles in (looked at again after the settle when it is active,
/// so a slow cascade is recorded as one).
#[then(expr = "record whether {token} is still active")]
async fn record_state(w: &mut RevWorld, token: Token) {
    guard!(w);
    let Some((r, value)) = tokref(w, token.0) else {
        return;
    };
    let settle = w.ctx().target.profile.timeouts.stay_active_settle;
    let mut state = w.look(r, &value).await;
    if state != Ok(Look::All(TokenState::Inactive)) {
        w.pause_watching(settle, r.role).await;
        state = w.look(r, &value).await;
    }
    match state {
        Ok(look) => w
            .outcome
            .observe(format!("{} is {}", r.label(), look.describe())),
        Err(e) => w
            .outcome
            .error(format!("cannot observe {}: {e}", r.label())),
    }
}

#[then(expr = "as a positive control, {token} is inactive")]
async fn control_inactive(w: &mut RevWorld, token: Token) {
    guard!(w);
    let Some((r, value)) = tokref(w, token.0) else {
        return;
    };
    expect_inactive(w, r, &value, true).await;
}

#[then(regex = r"^as a positive control, every token of the (\S+) client is inactive$")]
async fn control_every_token(w: &mut RevWorld, client: String) {
    guard!(w);
    let Some(held) = tokens_of(w, &client) else {
        return;
    };
    for (r, value) in held {
        expect_inactive(w, r, &value, true).await;
        if w.halted() {
            return;
        }
    }
}

/// A plain revocation of the token by its own client, shaped the way this server is known to
/// revoke its type (learned in calibration): a control shows the mechanism, not how a
/// request was shaped. `None` when no request could be sent (the scenario says why).
async fn revoke_as_learned(
    w: &mut RevWorld,
    r: TokenRef,
    value: &str,
) -> Option<(crate::sut::learned::Shape, crate::sut::http::HttpResponse)> {
    let shape = w.ctx().target.learned().shape(r.kind);
    let spec = revocation(w, r.role, shape.form(r.kind, value), Shape::Normal)?;
    send(w, spec).await;
    last(w).map(|answer| (shape, answer))
}

/// The token that stayed active is one the server would revoke: its own client revokes it
/// plainly and it dies. Bystanders are looked at again first, so this revocation's own
/// effects are not mistaken for the earlier request's.
#[then(expr = "as a positive control, {token} can still be revoked by its client")]
async fn control_revocable(w: &mut RevWorld, token: Token) {
    guard!(w);
    w.settle_pending().await;
    if w.halted() {
        return;
    }
    let Some((r, value)) = tokref(w, token.0) else {
        return;
    };
    let Some((shape, answer)) = revoke_as_learned(w, r, &value).await else {
        return;
    };
    if answer.status != 200 {
        w.outcome.control(
            format!(
                "a revocation of {} by its client ({})",
                r.label(),
                shape.describe(r.kind)
            ),
            "HTTP 200",
            Err(format!("HTTP {}: {}", answer.status, answer.text_snippet())),
        );
        return;
    }
    expect_inactive(w, r, &value, true).await;
}

/// A setting that disables the endpoint is in effect in this very scenario: a revocation
/// with the client's right credentials is refused with this OAuth error (so an answer to a
/// wrong secret says something about the order of checks, not about an enabled endpoint).
#[then(
    expr = "as a positive control, a revocation of {token} by its client is refused with {string} and status {int}"
)]
async fn control_refused(w: &mut RevWorld, token: Token, code: String, status: u16) {
    guard!(w);
    let Some((r, value)) = tokref(w, token.0) else {
        return;
    };
    let Some((_, answer)) = revoke_as_learned(w, r, &value).await else {
        return;
    };
    w.outcome.control(
        format!(
            "a revocation of {} by its client with its right credentials",
            r.label()
        ),
        format!("HTTP {status} with error \"{code}\""),
        checks::oauth_error(&answer, &code, status),
    );
}

/// The client really holds the scope a rule is about: the token answer's `scope`, the scope
/// the profile asks for (RFC 6749 5.1: an answer without `scope` grants what was asked), or
/// the introspected scope.
#[then(regex = r#"^as a positive control, the (\S+) client's granted scope includes "([^"]+)"$"#)]
async fn control_scope(w: &mut RevWorld, client: String, scope: String) {
    guard!(w);
    let Some(role) = role(w, &client) else { return };
    let ctx = w.ctx();
    // What the client's registration holds: a token asked for exactly this scope, whatever
    // scope the profile asks for its ordinary tokens.
    let (exchanges, minted) = ctx.target.mint_scoped(role, Some(&scope)).await;
    for x in exchanges {
        w.record(x);
    }
    let minted = match minted {
        Ok(m) => m,
        Err(e) => {
            w.outcome.control(
                format!("the {client} client's registration"),
                format!("holds {scope} (a token asked for it is granted)"),
                Err(format!("asking for {scope}: {e}")),
            );
            return;
        }
    };
    let asked = match ctx.target.profile.tokens.source {
        crate::sut::TokenSourceKind::Command => {
            ctx.target.credentials(role).and_then(|c| c.scope.clone())
        }
        _ => Some(scope.clone()),
    };
    let (granted, source) = match (&minted.scope, asked) {
        (Some(s), _) => (Some(s.clone()), "the token answer's scope"),
        (None, Some(asked)) => (Some(asked), "the scope asked for (the answer has none)"),
        (None, None) => (
            introspected_scope(w, role, minted.access_token.as_deref()).await,
            "the introspected scope",
        ),
    };
    let result = match granted {
        Some(g) if g.split_whitespace().any(|s| s == scope) => Ok(()),
        Some(g) => Err(format!("{source} is {g:?}")),
        None => {
            Err("neither the token answer nor introspection says which scope was granted".into())
        }
    };
    w.outcome.control(
        format!("the {client} client's granted scope"),
        format!("includes {scope}"),
        result,
    );
}

async fn introspected_scope(w: &mut RevWorld, owner: Role, token: Option<&str>) -> Option<String> {
    let token = token?;
    let ctx = w.ctx();
    let probe = crate::sut::probe::Introspection;
    use crate::sut::probe::Probe as _;
    let spec = probe
        .request(&ctx.target, &ctx.target.endpoints, owner, token)
        .ok()?;
    let (exchange, answer) = ctx.target.http.send(spec).await;
    w.record(exchange);
    let json = answer.ok().filter(|a| a.status == 200)?.json()?;
    json.get("scope")
        .and_then(|s| s.as_str())
        .map(str::to_owned)
}

/// `cluster-propagation`: the token is inactive on every node within the declared propagation
/// window; the slowest node decides and is named.
#[then(expr = "every node sees {token} inactive within the propagation window")]
async fn every_node_within_window(w: &mut RevWorld, token: Token) {
    guard!(w);
    let Some((r, value)) = tokref(w, token.0) else {
        return;
    };
    let window = w.ctx().target.profile.timeouts.propagation_window;
    let before = w.outcome.delays().len();
    let result = match w.poll_inactive(r, &value).await {
        Ok(Ok(slowest)) if slowest <= window => Ok(()),
        Ok(Ok(slowest)) => {
            let node = w.outcome.delays()[before..]
                .iter()
                .max_by(|a, b| a.ms.total_cmp(&b.ms))
                .map(|d| d.node.clone())
                .unwrap_or_default();
            Err(format!(
                "{node} saw it inactive only after {} ms (propagation window {} ms)",
                slowest.as_millis(),
                window.as_millis()
            ))
        }
        Ok(Err(nodes)) => Err(format!(
            "still active after the patience{}",
            on_nodes(&nodes)
        )),
        Err(e) => {
            w.outcome
                .error(format!("cannot observe {}: {e}", r.label()));
            return;
        }
    };
    w.outcome.check(
        format!("{} on every node", r.label()),
        format!("inactive within {} ms", window.as_millis()),
        result,
    );
}
