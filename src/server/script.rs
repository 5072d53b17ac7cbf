//! The revoke interception hook, Janssen's "Revoke Token" script, written in Rhai.
//!
//! The script defines `fn revoke(context)`; `context` is a map with `client_id`, `token`,
//! `token_type_hint` (or `()`) and `headers` (lower-case names). It returns `true`/`false`, or
//! a map `#{ allow: bool, headers: #{ "X-Name": "value" } }` to add response headers. It runs
//! after client authentication and before the token lookup. `false` means 200 and nothing
//! revoked. A script that fails (throws, returns something else, or runs past a limit) is
//! logged and handled as [`ScriptFailure`] says. `print()` in a script logs through `tracing`.
//!
//! Every run is bounded: operations, call depth, the size of every string, array and map it
//! builds, and its wall-clock time ([`crate::server::limits::Limits`]: one operation can cost
//! microseconds, so the operation limit alone does not bound a call's time), and the endpoint
//! runs it on tokio's blocking pool, never on an async worker. Rhai does not check a map's size
//! when an entry is added by index assignment (`m[key] = v`); that growth is bounded by the
//! operation and string limits instead (at most a few thousand entries of at most
//! `script_max_string` bytes each).
//!
//! The script is sandboxed: `eval` is disabled (a script using it does not compile), `import`
//! resolves no module (no file is read at run time), and the context's `headers` never carry
//! the request's credentials (`authorization`, `proxy-authorization`, `cookie`), so a
//! `print(context)` cannot put a secret in the logs.

use super::limits::Limits;
use axum::http::HeaderMap;
use rhai::{Dynamic, Engine, Map, Scope, AST};
use std::cell::Cell;
use std::path::Path;
use std::time::{Duration, Instant};

/// Request headers the script never sees: they carry credentials.
const HIDDEN_HEADERS: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

/// How many operations run between two looks at the clock (a look costs a few tens of ns).
const CLOCK_EVERY: u64 = 64;

thread_local! {
    /// When the call running on this thread must stop (set around each call: a script runs on
    /// one blocking thread from start to end).
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// What the revocation endpoint does when the script fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScriptFailure {
    /// Janssen's behaviour: a failing script counts as `false`, so the answer is 200 and
    /// nothing is revoked (the caller is not told; open towards the caller, closed towards
    /// the token).
    #[default]
    Veto,
    /// Fail closed: 503 `temporarily_unavailable` with `Retry-After`, nothing revoked, so the
    /// caller knows the revocation did not happen and retries.
    Unavailable,
}

impl std::str::FromStr for ScriptFailure {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "veto" => Ok(Self::Veto),
            "unavailable" => Ok(Self::Unavailable),
            other => Err(format!("'{other}' is not veto or unavailable")),
        }
    }
}

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
    timeout: Duration,
}

impl std::fmt::Debug for RevokeScript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RevokeScript({})", self.origin)
    }
}

fn engine(limits: &Limits, origin: &str) -> Engine {
    let mut engine = Engine::new();
    // No code from strings, no code from files.
    engine.disable_symbol("eval");
    engine.set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new());
    engine.on_progress(|operations| {
        if operations % CLOCK_EVERY != 0 {
            return None;
        }
        let deadline = DEADLINE.with(Cell::get)?;
        (Instant::now() >= deadline).then(|| Dynamic::from("the wall-clock limit"))
    });
    engine.set_max_operations(limits.script_max_operations);
    engine.set_max_call_levels(32);
    engine.set_max_expr_depths(64, 32);
    engine.set_max_string_size(limits.script_max_string);
    engine.set_max_array_size(limits.script_max_array);
    engine.set_max_map_size(limits.script_max_map);
    let origin = origin.to_owned();
    engine.on_print(move |text| tracing::info!(script = %origin, "{text}"));
    engine
}

impl RevokeScript {
    /// Compiles a script file; the error names the file and the position.
    pub fn load(path: &Path, limits: &Limits) -> Result<Self, String> {
        let source =
            std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::compile(&source, &path.display().to_string(), limits)
    }

    pub fn compile(source: &str, origin: &str, limits: &Limits) -> Result<Self, String> {
        let engine = engine(limits, origin);
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
            timeout: limits.script_timeout,
        })
    }

    /// Runs the script for one request (blocking: call it from the blocking pool). A failure
    /// is logged (without the token) and returned as `Err` with the reason.
    pub fn decide(
        &self,
        client_id: &str,
        token: &str,
        hint: Option<&str>,
        headers: &HeaderMap,
    ) -> Result<Decision, String> {
        let mut header_map = Map::new();
        for (name, value) in headers {
            if HIDDEN_HEADERS.contains(&name.as_str()) {
                continue;
            }
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
        DEADLINE.with(|d| d.set(Some(Instant::now() + self.timeout)));
        let result = self.engine.call_fn::<Dynamic>(
            &mut Scope::new(),
            &self.ast,
            "revoke",
            (Dynamic::from_map(context),),
        );
        DEADLINE.with(|d| d.set(None));
        let outcome = result
            .map_err(|e| format!("failed: {e}"))
            .and_then(|value| interpret(value).map_err(|why| format!("returned {why}")));
        if let Err(why) = &outcome {
            tracing::warn!(script = %self.origin, "revoke script {why}");
        }
        outcome
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

    /// Compiled with the default limits but a far wall-clock limit, so that a test of another
    /// limit meets that one even in a debug build on a busy machine.
    fn compile(source: &str) -> RevokeScript {
        RevokeScript::compile(source, "t", &far_clock()).unwrap()
    }

    fn far_clock() -> Limits {
        Limits {
            script_timeout: Duration::from_secs(600),
            ..Limits::default()
        }
    }

    #[test]
    fn example_script_vetoes_on_header_and_adds_one() {
        let script = compile(EXAMPLE);
        let mut headers = HeaderMap::new();
        let allowed = script.decide("client-a", "t", None, &headers).unwrap();
        assert!(allowed.allow);
        headers.insert("x-revoke-veto", HeaderValue::from_static("true"));
        let vetoed = script
            .decide("client-a", "t", Some("access_token"), &headers)
            .unwrap();
        assert!(!vetoed.allow);
        assert!(vetoed
            .headers
            .iter()
            .any(|(n, v)| n == "X-Revoke-Script" && v == "vetoed"));
    }

    #[test]
    fn errors_and_bad_results_are_failures() {
        let h = HeaderMap::new();
        for source in [
            "fn revoke(c) { throw \"no\" }",
            "fn revoke(c) { loop {} }",
            "fn revoke(c) { 42 }",
            "fn revoke(c) { #{ headers: #{} } }",
        ] {
            assert!(
                compile(source).decide("a", "t", None, &h).is_err(),
                "{source}"
            );
        }
    }

    #[test]
    fn arrays_maps_and_strings_are_bounded() {
        let h = HeaderMap::new();
        // Each doubles or grows past the default limits well within the operation budget;
        // unbounded, the array alone would reach a million elements.
        for source in [
            "fn revoke(c) { let a = [1]; for i in 0..20 { a += a; } true }",
            "fn revoke(c) { let m = #{}; for i in 0..2000 { let n = #{}; n[`k${i}`] = i; m.mixin(n); } true }",
            "fn revoke(c) { let s = \"x\"; for i in 0..20 { s += s; } true }",
        ] {
            let err = compile(source)
                .decide("a", "t", None, &h)
                .expect_err(source);
            assert!(err.contains("too large") || err.contains("size"), "{source}: {err}");
        }
        // Growth through map index assignment (which Rhai does not size-check) is stopped by
        // the operation limit, with keys no longer than the string limit (the wall-clock
        // limit set far off, so that the operation limit is the one met, even in a debug build).
        let keys = compile(
            "fn revoke(c) { let s = \"x\"; while s.len() < 4096 { s += s; } let m = #{}; for i in 0..100000 { m[`${s}${i}`] = i; } true }",
        );
        let err = keys.decide("a", "t", None, &h).unwrap_err();
        assert!(err.contains("Too many operations"), "{err}");
        // Below the limits the same shapes run.
        let small =
            compile("fn revoke(c) { let a = [1]; for i in 0..5 { a += a; } a.len() == 32 }");
        assert!(small.decide("a", "t", None, &h).unwrap().allow);
        let tight = Limits {
            script_max_array: 16,
            ..far_clock()
        };
        // Rhai checks `a += a` before appending, so an array can reach twice the limit once
        // before the next operation fails: 64 elements against a limit of 16.
        let limited = RevokeScript::compile(
            "fn revoke(c) { let a = [1]; for i in 0..6 { a += a; } true }",
            "t",
            &tight,
        )
        .unwrap();
        assert!(limited.decide("a", "t", None, &h).is_err());
    }

    /// Issue 23, S6: `eval` does not compile, and `import` reads no file (here one that
    /// exists, named by its absolute path, which the default resolver would load).
    #[test]
    fn eval_and_import_are_not_available() {
        let err = RevokeScript::compile(
            "fn revoke(c) { eval(\"40 + 2\") == 42 }",
            "e.rhai",
            &Limits::default(),
        )
        .expect_err("a script using eval compiles");
        assert!(err.contains("e.rhai") && err.contains("eval"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let helper = dir.path().join("helper");
        std::fs::write(helper.with_extension("rhai"), "fn answer() { 42 }").unwrap();
        let source = format!(
            "import \"{}\" as h; fn revoke(c) {{ h::answer() == 42 }}",
            helper.display()
        );
        let h = HeaderMap::new();
        match RevokeScript::compile(&source, "i.rhai", &Limits::default()) {
            Err(err) => assert!(err.contains("i.rhai"), "{err}"),
            Ok(script) => {
                let outcome = script.decide("a", "t", None, &h);
                assert!(outcome.is_err(), "the module was loaded: {outcome:?}");
            }
        }
    }

    /// Issue 23, S6: the request's credentials never reach the script's context.
    #[test]
    fn credentials_never_reach_the_script() {
        let script = compile(
            "fn revoke(c) { #{ allow: true, headers: #{ \"X-Seen\": `${c.headers.authorization}|${c.headers.cookie}|${c.headers[\"proxy-authorization\"]}|${c.headers[\"x-other\"]}` } } }",
        );
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Basic c2VjcmV0"));
        headers.insert("cookie", HeaderValue::from_static("session=secret"));
        headers.insert(
            "proxy-authorization",
            HeaderValue::from_static("Basic c2VjcmV0"),
        );
        headers.insert("x-other", HeaderValue::from_static("kept"));
        let decision = script.decide("a", "t", None, &headers).unwrap();
        assert_eq!(
            decision.headers,
            vec![("X-Seen".to_owned(), "|||kept".to_owned())]
        );
    }

    /// Issue 23, S6: one call stops at the wall-clock limit, however many operations it may
    /// still take (here string work that would run for seconds within its operation limit).
    #[test]
    fn a_call_is_bounded_in_wall_clock_time() {
        let limits = Limits {
            script_max_operations: 50_000_000,
            script_timeout: Duration::from_millis(50),
            ..Limits::default()
        };
        let slow = RevokeScript::compile(
            "fn revoke(c) { let s = \"ab,\"; while s.len() < 1000 { s += \"ab,\"; } let n = 0; for i in 0..10000000 { n += s.split(\",\").len(); } true }",
            "slow.rhai",
            &limits,
        )
        .unwrap();
        let started = Instant::now();
        let outcome = slow.decide("a", "t", None, &HeaderMap::new());
        let took = started.elapsed();
        let err = outcome.expect_err("the slow script finished");
        assert!(err.to_lowercase().contains("terminated"), "{err}");
        assert!(took < Duration::from_secs(2), "stopped only after {took:?}");
        // The limit is per call: the next call of a quick script on this thread runs.
        assert!(
            compile("fn revoke(c) { true }")
                .decide("a", "t", None, &HeaderMap::new())
                .unwrap()
                .allow
        );
    }

    #[test]
    fn script_failure_modes_parse() {
        assert_eq!("veto".parse(), Ok(ScriptFailure::Veto));
        assert_eq!("unavailable".parse(), Ok(ScriptFailure::Unavailable));
        assert!("open".parse::<ScriptFailure>().is_err());
        assert_eq!(ScriptFailure::default(), ScriptFailure::Veto);
    }

    #[test]
    fn script_without_revoke_function_is_refused() {
        let err = RevokeScript::compile("fn other(x) { true }", "f.rhai", &Limits::default())
            .unwrap_err();
        assert!(
            err.contains("f.rhai") && err.contains("fn revoke(context)"),
            "{err}"
        );
    }
}
