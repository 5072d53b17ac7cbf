//! A refresh grant as a probe: plain (destructive where the server rotates), or passive (a
//! scope outside every grant, so a live token gets `invalid_scope` and nothing is issued).

use super::Probe;
use crate::catalogue::Role;
use crate::sut::conn::Conn;
use crate::sut::discovery::Endpoints;
use crate::sut::http::{HttpResponse, RequestSpec};
use crate::sut::probe::TokenState;
use crate::sut::profile::RefreshInactiveAnswer;
use serde_json::Value;

/// A refresh grant with the refresh token, as its owner. Plain, it issues tokens (destructive:
/// on a server that rotates refresh tokens or keeps one access token per grant it changes the
/// grant). Passive, it asks for a scope outside every grant: a server that checks the token
/// before the scope then refuses with `invalid_scope` for a live token and `invalid_grant` for
/// a dead one, and issues nothing.
pub struct RefreshAttempt {
    pub passive_scope: Option<String>,
    pub inactive_answer: RefreshInactiveAnswer,
    /// Reads a rotation as a live token's answer (for tokens made only to be looked at once).
    pub accept_rotation: bool,
}

impl RefreshAttempt {
    fn is_dead_answer(&self, answer: &HttpResponse) -> bool {
        let code = answer.error_code();
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
        conn: &Conn,
        at: &Endpoints,
        owner: Role,
        token: &str,
    ) -> Result<RequestSpec, String> {
        let url = at
            .token
            .clone()
            .ok_or("no token endpoint (set endpoints.token)")?;
        let client = conn
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
        conn.authenticate(&mut spec, client);
        Ok(spec)
    }

    fn interpret(&self, token: &str, answer: &HttpResponse) -> Result<TokenState, String> {
        if self.is_dead_answer(answer) {
            return Ok(TokenState::Inactive);
        }
        match (&self.passive_scope, answer.status) {
            (Some(_), 400) if answer.error_code().as_deref() == Some("invalid_scope") => {
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
                if rotated && !self.accept_rotation {
                    Err("the refresh grant rotated the refresh token, so a plain refresh probe consumes the token it observes; set probes.refresh_probe_scope or use another probe".into())
                } else {
                    Ok(TokenState::Active)
                }
            }
            _ => Err(format!(
                "the refresh attempt answered {} (expected {})",
                answer.describe(),
                match (&self.passive_scope, self.inactive_answer) {
                    (Some(_), _) => "400 invalid_scope for a live token, invalid_grant for a dead one",
                    (None, RefreshInactiveAnswer::InvalidGrant) => "200 for a live token, 400 invalid_grant for a dead one",
                    (None, RefreshInactiveAnswer::Status400) => "200 for a live token, 400 for a dead one",
                }
            )),
        }
    }
}
