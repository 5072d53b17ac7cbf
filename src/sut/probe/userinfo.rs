//! A protected resource (userinfo) as a probe for access tokens: 200 alive, 401 dead, and
//! a 403 is about scope, not life.

use super::Probe;
use crate::catalogue::Role;
use crate::sut::conn::Conn;
use crate::sut::discovery::Endpoints;
use crate::sut::http::{HttpResponse, RequestSpec};
use crate::sut::probe::TokenState;

/// A protected resource (the userinfo endpoint) with the access token as bearer.
pub struct Userinfo;

impl Probe for Userinfo {
    fn name(&self) -> &'static str {
        "userinfo"
    }

    fn request(
        &self,
        _conn: &Conn,
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
                answer.describe()
            )),
            _ => Err(format!("userinfo answered {}", answer.describe())),
        }
    }
}
