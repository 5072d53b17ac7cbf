//! Probes: how the harness sees whether a token is still active. One [`Probe`] per way of
//! looking (RFC 7662 introspection, a refresh attempt, a protected resource), each split into
//! building the request and reading the answer, so that the reading is a pure function with its
//! own unit tests. `calibrate` checks each probe on the live target before any scenario runs.

pub mod calibrate;
mod introspection;
mod refresh;
mod userinfo;

use super::conn::Conn;
use super::discovery::Endpoints;
use super::http::{Exchange, HttpResponse, RequestSpec};
use super::profile::{ProbeKind, TargetProfile};
use crate::catalogue::{Role, TokenType};
pub use introspection::Introspection;
pub use refresh::RefreshAttempt;
pub use userinfo::Userinfo;

/// What a probe saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Active,
    Inactive,
}

/// One way of observing a token's state.
pub trait Probe: Send + Sync {
    /// The name used in profiles and reports.
    fn name(&self) -> &'static str;
    /// The request that observes `token` of `owner` at these endpoints (the issuer's, or one
    /// node's), or why it cannot be sent.
    fn request(
        &self,
        conn: &Conn,
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

/// The probe the profile names for a kind of token (None: not observable).
pub fn for_kind(profile: &TargetProfile, kind: TokenType) -> Option<Box<dyn Probe>> {
    let chosen = match kind {
        TokenType::Access => profile.probes.access_token,
        TokenType::Refresh => profile.probes.refresh_token,
    };
    probe_of(chosen, profile)
}

fn probe_of(kind: ProbeKind, profile: &TargetProfile) -> Option<Box<dyn Probe>> {
    Some(match kind {
        ProbeKind::Introspection => Box::new(Introspection),
        ProbeKind::Refresh => Box::new(RefreshAttempt {
            passive_scope: profile.probes.refresh_probe_scope.clone(),
            inactive_answer: profile.probes.refresh_inactive_answer,
            accept_rotation: false,
        }),
        ProbeKind::Userinfo => Box::new(Userinfo),
        ProbeKind::None => return None,
    })
}

/// Sends a probe's request to these endpoints and reads the answer. Every failure names the URL.
pub async fn observe_at(
    probe: &dyn Probe,
    conn: &Conn,
    at: &Endpoints,
    owner: Role,
    token: &str,
) -> (Exchange, Result<TokenState, String>) {
    let spec = match probe.request(conn, at, owner, token) {
        Ok(spec) => spec,
        Err(why) => return (Exchange::not_sent("probe"), Err(why)),
    };
    let url = spec.url.clone();
    let (exchange, answer) = conn.http.send(spec).await;
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

/// A value no server has issued.
pub fn never_issued_value() -> String {
    use rand::RngCore as _;
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    format!("revspec-never-issued-{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sut::profile::RefreshInactiveAnswer;

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
            accept_rotation: false,
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
            accept_rotation: false,
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
            accept_rotation: false,
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
            accept_rotation: false,
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
