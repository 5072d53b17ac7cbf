//! RFC 7662 introspection as a probe: `active` read strictly, nothing else believed.

use super::Probe;
use crate::catalogue::Role;
use crate::sut::conn::Conn;
use crate::sut::discovery::Endpoints;
use crate::sut::http::{HttpResponse, RequestSpec};
use crate::sut::probe::TokenState;
use serde_json::Value;

/// RFC 7662 introspection, authenticated as the profile's introspection client.
pub struct Introspection;

impl Probe for Introspection {
    fn name(&self) -> &'static str {
        "introspection"
    }

    fn request(
        &self,
        conn: &Conn,
        at: &Endpoints,
        owner: Role,
        token: &str,
    ) -> Result<RequestSpec, String> {
        let url = at.introspection.clone().ok_or(
            "no introspection endpoint (discovery publishes none; set endpoints.introspection)",
        )?;
        let role = conn.introspecting_role(owner).ok_or_else(|| {
            format!(
                "probes.introspection_client is \"owner\" and the {} client is public; add [clients.introspector] to introspect its tokens",
                owner.name()
            )
        })?;
        let client = conn
            .credentials(role)
            .ok_or_else(|| format!("no {} client for introspection", role.name()))?;
        let mut spec = RequestSpec::post_form(url, vec![("token".into(), token.into())]);
        conn.authenticate(&mut spec, client);
        Ok(spec)
    }

    fn interpret(&self, _token: &str, answer: &HttpResponse) -> Result<TokenState, String> {
        if answer.status != 200 {
            return Err(format!("introspection answered {}", answer.describe()));
        }
        let json = answer.json().ok_or_else(|| {
            format!(
                "introspection answered 200 that is not JSON: {}",
                answer.describe()
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
