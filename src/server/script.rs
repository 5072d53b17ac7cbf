//! The revoke interception hook, Janssen's "Revoke Token" script, written in Rhai.
//!
//! The script defines `fn revoke(context)`; `context` is a map with `client_id`, `token`,
//! `token_type_hint` (or `()`) and `headers` (lower-case names). It returns `true`/`false`, or
//! a map `#{ allow: bool, headers: #{ "X-Name": "value" } }` to add response headers. It runs
//! after client authentication and before the token lookup. `false` means 200 and nothing
//! revoked; an error (or running past the operation limit) counts as `false` and is logged.

use axum::http::HeaderMap;
use rhai::{Dynamic, Engine, Map, Scope, AST};
use std::path::Path;

/// The most operations one call may take, so a runaway script cannot stall the endpoint.
const MAX_OPERATIONS: u64 = 100_000;

/// What the script decided.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allow: bool,
    /// Extra response headers (name, value).
    pub headers: Vec<(String, String)>,
}

/// A compiled revoke script.
pub struct RevokeScript {
    engine: Engine,
    ast: AST,
    origin: String,
}

impl std::fmt::Debug for RevokeScript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RevokeScript({})", self.origin)
    }
}

fn engine() -> Engine {
    let mut engine = Engine::new();
    engine.set_max_operations(MAX_OPERATIONS);
    engine.set_max_call_levels(32);
    engine.set_max_string_size(64 * 1024);
    engine
}

impl RevokeScript {
    /// Compiles a script file; the error names the file and the position.
    pub fn load(path: &Path) -> Result<Self, String> {
        let source =
            std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::compile(&source, &path.display().to_string())
    }

    pub fn compile(source: &str, origin: &str) -> Result<Self, String> {
        let engine = engine();
        let ast = engine
            .compile(source)
            .map_err(|e| format!("{origin}: {e}"))?;
        if !ast
            .iter_functions()
            .any(|f| f.name == "revoke" && f.params.len() == 1)
        {
            return Err(format!(
                "{origin}: the script must define `fn revoke(context)`"
            ));
        }
        Ok(Self {
            engine,
            ast,
            origin: origin.to_owned(),
        })
    }

    /// Runs the script for one request. Errors count as a veto and are logged (without the token).
    pub fn decide(
        &self,
        client_id: &str,
        token: &str,
        hint: Option<&str>,
        headers: &HeaderMap,
    ) -> Decision {
        let mut header_map = Map::new();
        for (name, value) in headers {
            if let Ok(v) = value.to_str() {
                header_map.insert(name.as_str().into(), Dynamic::from(v.to_owned()));
            }
        }
        let mut context = Map::new();
        context.insert("client_id".into(), Dynamic::from(client_id.to_owned()));
        context.insert("token".into(), Dynamic::from(token.to_owned()));
        context.insert(
            "token_type_hint".into(),
            hint.map_or(Dynamic::UNIT, |h| Dynamic::from(h.to_owned())),
        );
        context.insert("headers".into(), Dynamic::from_map(header_map));
        let result = self.engine.call_fn::<Dynamic>(
            &mut Scope::new(),
            &self.ast,
            "revoke",
            (Dynamic::from_map(context),),
        );
        match result {
            Ok(value) => interpret(value).unwrap_or_else(|why| {
                tracing::warn!(script = %self.origin, "revoke script returned {why}; treated as false");
                Decision::default()
            }),
            Err(e) => {
                tracing::warn!(script = %self.origin, error = %e, "revoke script failed; treated as false");
                Decision::default()
            }
        }
    }
}

fn interpret(value: Dynamic) -> Result<Decision, String> {
    if let Some(allow) = value.clone().try_cast::<bool>() {
        return Ok(Decision {
            allow,
            headers: vec![],
        });
    }
    let map = value.try_cast::<Map>().ok_or("neither a bool nor a map")?;
    let allow = map
        .get("allow")
        .and_then(|v| v.clone().try_cast::<bool>())
        .ok_or("a map without a boolean `allow`")?;
    let mut headers = Vec::new();
    if let Some(h) = map.get("headers") {
        let h = h
            .clone()
            .try_cast::<Map>()
            .ok_or("`headers` that is not a map")?;
        for (name, value) in h {
            headers.push((name.to_string(), value.to_string()));
        }
    }
    Ok(Decision { allow, headers })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const EXAMPLE: &str = include_str!("../../scripts/revoke.rhai");

    #[test]
    fn example_script_vetoes_on_header_and_adds_one() {
        let script = RevokeScript::compile(EXAMPLE, "example").unwrap();
        let mut headers = HeaderMap::new();
        let allowed = script.decide("client-a", "t", None, &headers);
        assert!(allowed.allow);
        headers.insert("x-revoke-veto", HeaderValue::from_static("true"));
        let vetoed = script.decide("client-a", "t", Some("access_token"), &headers);
        assert!(!vetoed.allow);
        assert!(vetoed
            .headers
            .iter()
            .any(|(n, v)| n == "X-Revoke-Script" && v == "vetoed"));
    }

    #[test]
    fn errors_and_bad_results_are_a_veto() {
        let h = HeaderMap::new();
        let throws = RevokeScript::compile("fn revoke(c) { throw \"no\" }", "t").unwrap();
        assert!(!throws.decide("a", "t", None, &h).allow);
        let loops = RevokeScript::compile("fn revoke(c) { loop {} }", "t").unwrap();
        assert!(!loops.decide("a", "t", None, &h).allow);
        let number = RevokeScript::compile("fn revoke(c) { 42 }", "t").unwrap();
        assert!(!number.decide("a", "t", None, &h).allow);
    }

    #[test]
    fn script_without_revoke_function_is_refused() {
        let err = RevokeScript::compile("fn other(x) { true }", "f.rhai").unwrap_err();
        assert!(
            err.contains("f.rhai") && err.contains("fn revoke(context)"),
            "{err}"
        );
    }
}
