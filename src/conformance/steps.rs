//! The step definitions: the vocabulary of `features/STEPS.md`. Given steps set up (a failure
//! is a SKIP or an ERROR, never a FAIL), When steps send exactly one recorded request, Then
//! steps observe and record checks. No step panics on a verdict; a halted scenario's remaining
//! steps do nothing.

use super::checks;
use super::world::{Halt, RevWorld, Slot, TokenRef};
use crate::sut::http::{HttpResponse, RequestSpec};
use crate::sut::settings::{Setting, SettingError};
use crate::sut::{ClientAuth, Kind, Role, TokenState};
use cucumber::{given, then, when};
use serde_json::Value;

macro_rules! guard {
    ($w:expr) => {{
        $w.steps_run += 1;
        if $w.halted() {
            return;
        }
    }};
}

fn role(w: &mut RevWorld, name: &str) -> Option<Role> {
    let role = Role::parse(name);
    let present = role.is_some_and(|r| w.ctx().target.credentials(r).is_some());
    if !present {
        w.skip(format!("the target profile has no {name} client"));
        return None;
    }
    role
}

fn tokref(w: &mut RevWorld, text: &str) -> Option<(TokenRef, String)> {
    let Some(r) = TokenRef::parse(text) else {
        w.error(format!("unknown token reference {text:?}"));
        return None;
    };
    let value = w.token(r)?;
    Some((r, value))
}

async fn mint_grant(w: &mut RevWorld, client: String, slot: Slot, want_refresh: bool) {
    let Some(role) = role(w, &client) else { return };
    let ctx = w.ctx();
    if want_refresh && !ctx.target.mints_refresh_tokens() {
        w.skip("the target's token source gives no refresh tokens");
        return;
    }
    let (exchanges, minted) = ctx.target.mint(role).await;
    let minted = match minted {
        Ok(m) => m,
        Err(e) => {
            for x in exchanges {
                w.record(x);
            }
            w.error(format!(
                "minting tokens for the {client} client failed: {e}"
            ));
            return;
        }
    };
    let mut fresh = Vec::new();
    if let Some(at) = minted.access_token {
        fresh.push((
            TokenRef {
                role,
                slot,
                kind: Kind::Access,
            },
            at,
        ));
    }
    match minted.refresh_token {
        Some(rt) => fresh.push((
            TokenRef {
                role,
                slot,
                kind: Kind::Refresh,
            },
            rt,
        )),
        None if want_refresh => {
            w.skip(format!(
                "the server issued no refresh token to the {client} client"
            ));
            return;
        }
        None => {}
    }
    for (r, v) in &fresh {
        w.tokens.insert(*r, v.clone());
    }
    for x in exchanges {
        w.record(x);
    }
    for (r, v) in fresh {
        if !want_refresh && r.kind == Kind::Refresh {
            continue;
        }
        precondition_active(w, r, &v).await;
    }
}

/// Before acting, the tokens acted on are observed active; otherwise the scenario is an ERROR.
async fn precondition_active(w: &mut RevWorld, r: TokenRef, value: &str) {
    if w.halted() {
        return;
    }
    if w.ctx().target.probe_kind(r.kind) == crate::sut::ProbeKind::None {
        w.skip(format!(
            "the target profile names no probe for {}s",
            if r.kind == Kind::Access {
                "access token"
            } else {
                "refresh token"
            }
        ));
        return;
    }
    match w.observe_once(r, value).await {
        Ok(TokenState::Active) => {}
        Ok(TokenState::Inactive) => w.error(format!(
            "precondition failed: {} is not active right after minting",
            r.label()
        )),
        Err(e) => w.error(format!(
            "precondition failed: cannot observe {}: {e}",
            r.label()
        )),
    }
}

#[given(regex = r"^an access token and a refresh token from one grant of the (\S+) client$")]
async fn grant_one(w: &mut RevWorld, client: String) {
    guard!(w);
    mint_grant(w, client, Slot::First, true).await;
}

#[given(regex = r"^an access token and a refresh token from a second grant of the (\S+) client$")]
async fn grant_two(w: &mut RevWorld, client: String) {
    guard!(w);
    mint_grant(w, client, Slot::Second, true).await;
}

#[given(regex = r"^an access token of the (\S+) client$")]
async fn access_only(w: &mut RevWorld, client: String) {
    guard!(w);
    mint_grant(w, client, Slot::First, false).await;
}

#[given(regex = r"^the refresh token is used to obtain a new access token$")]
async fn refreshed(w: &mut RevWorld) {
    guard!(w);
    let rt_ref = TokenRef {
        role: Role::Primary,
        slot: Slot::First,
        kind: Kind::Refresh,
    };
    let Some(rt) = w.token(rt_ref) else { return };
    let ctx = w.ctx();
    let (exchange, minted) = ctx.target.refresh(Role::Primary, &rt).await;
    match minted {
        Ok(m) => {
            let at = m.access_token.unwrap_or_default();
            let at_ref = TokenRef {
                role: Role::Primary,
                slot: Slot::Refreshed,
                kind: Kind::Access,
            };
            w.tokens.insert(at_ref, at.clone());
            let new_rt = m.refresh_token.unwrap_or(rt);
            w.tokens.insert(
                TokenRef {
                    role: Role::Primary,
                    slot: Slot::Refreshed,
                    kind: Kind::Refresh,
                },
                new_rt,
            );
            w.record(exchange);
            // Every live token of the grant that later steps name must still be live: a server
            // that drops the old access token on refresh would otherwise pass cascade checks for
            // free. (A rotated-away refresh token is legitimately dead and not checked.)
            let rotated = w.tokens.get(&rt_ref)
                != w.tokens.get(&TokenRef {
                    slot: Slot::Refreshed,
                    ..rt_ref
                });
            let grant: Vec<(TokenRef, String)> = w
                .tokens
                .iter()
                .filter(|(k, _)| {
                    k.role == Role::Primary
                        && matches!(k.slot, Slot::First | Slot::Refreshed)
                        && !(rotated && **k == rt_ref)
                })
                .map(|(k, v)| (*k, v.clone()))
                .collect();
            for (k, v) in grant {
                precondition_active(w, k, &v).await;
            }
        }
        Err(e) => {
            w.record(exchange);
            w.error(format!("the refresh grant failed: {e}"));
        }
    }
}

async fn apply(w: &mut RevWorld, setting: Setting) {
    let ctx = w.ctx();
    let mut log = Vec::new();
    let result = ctx.target.apply_setting(&setting, &mut log).await;
    for x in log {
        w.record(x);
    }
    match result {
        Ok(Some(applied)) => w.applied.push(applied),
        Ok(None) => {}
        Err(SettingError::Unchangeable(why)) => w.skip(why),
        Err(SettingError::Failed(why)) => {
            w.error(format!("could not set {}: {why}", setting.describe()))
        }
    }
}

#[given(
    regex = r"^the setting (allowRevokeForOtherClients|allowAllValueForRevokeEndpoint) is (true|false)$"
)]
async fn setting(w: &mut RevWorld, name: String, value: String) {
    guard!(w);
    let v = value == "true";
    let s = if name == "allowRevokeForOtherClients" {
        Setting::AllowRevokeForOtherClients(v)
    } else {
        Setting::AllowAllValueForRevokeEndpoint(v)
    };
    apply(w, s).await;
}

#[given(regex = r"^the REVOKE_TOKEN feature flag is disabled$")]
async fn flag_disabled(w: &mut RevWorld) {
    guard!(w);
    apply(w, Setting::RevokeTokenFlagDisabled).await;
}

#[given(regex = r"^the featureFlags list is empty$")]
async fn flags_empty(w: &mut RevWorld) {
    guard!(w);
    apply(w, Setting::FeatureFlagsEmpty).await;
}

// ---------------------------------------------------------------- When

/// How a revocation request is shaped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Normal,
    WrongSecret,
    NoAuth,
    BothMethods,
    QueryOnly,
    Get,
    Json,
}

async fn send(w: &mut RevWorld, spec: RequestSpec) {
    let ctx = w.ctx();
    let (exchange, response) = ctx.target.http.send(spec).await;
    w.record(exchange);
    match response {
        Ok(r) => w.last = Some(r),
        Err(e) => w.error(format!("{}: {e}", ctx.target.endpoints.revocation)),
    }
}

fn header_pair(text: &str) -> (String, String) {
    let (n, v) = text.split_once(':').unwrap_or((text, ""));
    (n.trim().to_owned(), v.trim().to_owned())
}

/// Builds a revocation request of a client, shaped as asked.
fn revocation(
    w: &mut RevWorld,
    role: Role,
    form: Vec<(String, String)>,
    shape: Shape,
) -> Option<RequestSpec> {
    let ctx = w.ctx();
    let target = &ctx.target;
    let client = target.credentials(role)?.clone();
    let url = target.endpoints.revocation.clone();
    let mut spec = RequestSpec::post_form(url.clone(), form);
    match shape {
        Shape::Normal => target.authenticate(&mut spec, &client),
        Shape::NoAuth => {}
        Shape::WrongSecret => {
            let mut wrong = client.clone();
            if wrong.auth == ClientAuth::None {
                w.skip("a public client has no secret to get wrong");
                return None;
            }
            wrong.secret = Some(format!("{}-wrong", wrong.secret.unwrap_or_default()));
            target.authenticate(&mut spec, &wrong);
        }
        Shape::BothMethods => {
            let secret = client.secret.clone().unwrap_or_default();
            spec.basic = Some((client.id.clone(), secret.clone()));
            spec.form.push(("client_id".into(), client.id.clone()));
            spec.form.push(("client_secret".into(), secret));
        }
        Shape::QueryOnly | Shape::Get => {
            let mut params = std::mem::take(&mut spec.form);
            params.push(("client_id".into(), client.id.clone()));
            if let Some(secret) = &client.secret {
                params.push(("client_secret".into(), secret.clone()));
            }
            spec.url.query_pairs_mut().extend_pairs(&params);
            if shape == Shape::Get {
                spec.method = reqwest::Method::GET;
            } else {
                spec.raw_body = Some(("application/x-www-form-urlencoded".into(), vec![]));
            }
        }
        Shape::Json => {
            let mut obj: serde_json::Map<String, Value> = spec
                .form
                .drain(..)
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            match client.auth {
                ClientAuth::ClientSecretBasic => {
                    spec.basic =
                        Some((client.id.clone(), client.secret.clone().unwrap_or_default()))
                }
                _ => {
                    obj.insert("client_id".into(), Value::String(client.id.clone()));
                    if let Some(s) = &client.secret {
                        obj.insert("client_secret".into(), Value::String(s.clone()));
                    }
                }
            }
            spec.raw_body = Some((
                "application/json".into(),
                Value::Object(obj).to_string().into_bytes(),
            ));
        }
    }
    Some(spec)
}

async fn revoke_with(
    w: &mut RevWorld,
    client: &str,
    token: &str,
    hint: Option<&str>,
    shape: Shape,
    extra: Option<String>,
) {
    let Some(role) = role(w, client) else { return };
    let Some((_, value)) = tokref(w, token) else {
        return;
    };
    let mut form = vec![("token".to_owned(), value)];
    if let Some(h) = hint {
        form.push(("token_type_hint".into(), h.to_owned()));
    }
    let Some(mut spec) = revocation(w, role, form, shape) else {
        return;
    };
    if let Some(h) = extra {
        spec.headers.push(header_pair(&h));
    }
    send(w, spec).await;
}

/// `the CLIENT client revokes TOKENREF[ how]`: one step for every shape of an ordinary
/// revocation request, so each variant is a suffix of the same sentence.
#[when(
    regex = r#"^the (\S+) client revokes (the (?:\S+ client's )?(?:second |refreshed )?(?:access|refresh) token)(| with hint "[^"]*"| with a wrong secret| with credentials in both the Authorization header and the body| with a JSON body| while the server is made temporarily unavailable| with the revoke script vetoing| from the allowed origin)$"#
)]
async fn revokes(w: &mut RevWorld, client: String, token: String, how: String) {
    guard!(w);
    let caps = w.ctx().target.profile.capabilities.clone();
    let needs = |value: Option<String>, key: &str| {
        value.ok_or(format!("the target profile names no capabilities.{key}"))
    };
    let (hint, shape, header) = match how.as_str() {
        "" => (None, Shape::Normal, Ok(None)),
        " with a wrong secret" => (None, Shape::WrongSecret, Ok(None)),
        " with credentials in both the Authorization header and the body" => {
            (None, Shape::BothMethods, Ok(None))
        }
        " with a JSON body" => (None, Shape::Json, Ok(None)),
        " while the server is made temporarily unavailable" => (
            None,
            Shape::Normal,
            needs(caps.unavailable_header, "unavailable_header").map(Some),
        ),
        " with the revoke script vetoing" => (
            None,
            Shape::Normal,
            needs(caps.revoke_script_veto_header, "revoke_script_veto_header").map(Some),
        ),
        " from the allowed origin" => (
            None,
            Shape::Normal,
            needs(caps.cors_origin, "cors_origin").map(|o| Some(format!("Origin: {o}"))),
        ),
        hint => (
            hint.strip_prefix(" with hint \"")
                .and_then(|h| h.strip_suffix('"')),
            Shape::Normal,
            Ok(None),
        ),
    };
    match header {
        Ok(header) => revoke_with(w, &client, &token, hint, shape, header).await,
        Err(why) => w.skip(why),
    }
}

#[when(
    regex = r#"^a revocation request for (the (?:\S+ client's )?(?:second |refreshed )?(?:access|refresh) token) is sent without client authentication$"#
)]
async fn revokes_no_auth(w: &mut RevWorld, token: String) {
    guard!(w);
    revoke_with(w, "primary", &token, None, Shape::NoAuth, None).await;
}

#[when(
    regex = r#"^the (\S+) client sends (the (?:\S+ client's )?(?:second |refreshed )?(?:access|refresh) token) and its credentials in the URL query of an empty POST$"#
)]
async fn revokes_query(w: &mut RevWorld, client: String, token: String) {
    guard!(w);
    revoke_with(w, &client, &token, None, Shape::QueryOnly, None).await;
}

#[when(
    regex = r#"^the (\S+) client sends a GET to the revocation endpoint with (the (?:\S+ client's )?(?:second |refreshed )?(?:access|refresh) token) in the query$"#
)]
async fn revokes_get(w: &mut RevWorld, client: String, token: String) {
    guard!(w);
    revoke_with(w, &client, &token, None, Shape::Get, None).await;
}

#[when(regex = r#"^the (\S+) client revokes the token value "([^"]*)"$"#)]
async fn revokes_value(w: &mut RevWorld, client: String, value: String) {
    guard!(w);
    let Some(role) = role(w, &client) else { return };
    if let Some(spec) = revocation(w, role, vec![("token".into(), value)], Shape::Normal) {
        send(w, spec).await;
    }
}

/// Fills `{TOKENREF}` placeholders of a form template; values are sent form-encoded.
fn fill_form(w: &mut RevWorld, template: &str) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for part in template.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let mut value = String::new();
        let mut rest = v;
        while let Some(start) = rest.find('{') {
            value.push_str(&rest[..start]);
            let end = rest[start..].find('}').map(|e| start + e)?;
            let (_, token) = tokref(w, &rest[start + 1..end])?;
            value.push_str(&token);
            rest = &rest[end + 1..];
        }
        value.push_str(rest);
        pairs.push((k.to_owned(), value));
    }
    Some(pairs)
}

#[when(regex = r#"^the (\S+) client sends the revocation form "([^"]*)"$"#)]
async fn sends_form(w: &mut RevWorld, client: String, template: String) {
    guard!(w);
    let Some(role) = role(w, &client) else { return };
    let Some(form) = fill_form(w, &template) else {
        w.error(format!("cannot fill the form template {template:?}"));
        return;
    };
    if let Some(spec) = revocation(w, role, form, Shape::Normal) {
        send(w, spec).await;
    }
}

#[when(regex = r"^a CORS preflight for the revocation endpoint is sent from the allowed origin$")]
async fn preflight(w: &mut RevWorld) {
    guard!(w);
    let ctx = w.ctx();
    let Some(origin) = ctx.target.profile.capabilities.cors_origin.clone() else {
        w.skip("the target profile names no capabilities.cors_origin");
        return;
    };
    let mut spec = RequestSpec::get(ctx.target.endpoints.revocation.clone());
    spec.method = reqwest::Method::OPTIONS;
    spec.headers.push(("Origin".into(), origin));
    spec.headers
        .push(("Access-Control-Request-Method".into(), "POST".into()));
    spec.headers.push((
        "Access-Control-Request-Headers".into(),
        "authorization,content-type".into(),
    ));
    send(w, spec).await;
}

async fn fetch_doc(w: &mut RevWorld, url: url::Url) -> Option<Value> {
    let ctx = w.ctx();
    let (exchange, response) = ctx.target.http.send(RequestSpec::get(url.clone())).await;
    w.record(exchange);
    match response {
        Ok(r) if r.status == 200 => r.json(),
        Ok(_) => None,
        Err(e) => {
            w.error(format!("{url}: {e}"));
            None
        }
    }
}

#[when(regex = r"^the discovery document is fetched$")]
async fn discovery(w: &mut RevWorld) {
    guard!(w);
    let url = w.ctx().target.endpoints.discovery.clone();
    match fetch_doc(w, url.clone()).await {
        Some(doc) => w.metadata = Some(doc),
        None if !w.halted() => w.metadata = Some(Value::Null),
        None => {}
    }
}

#[when(regex = r"^the authorization server metadata is fetched$")]
async fn metadata(w: &mut RevWorld) {
    guard!(w);
    let ctx = w.ctx();
    let doc = match fetch_doc(w, ctx.target.endpoints.metadata.clone()).await {
        Some(d) => Some(d),
        None if !w.halted() => fetch_doc(w, ctx.target.endpoints.discovery.clone()).await,
        None => None,
    };
    if !w.halted() {
        w.metadata = Some(doc.unwrap_or(Value::Null));
    }
}

#[when(regex = r#"^the answer is remembered as "([^"]*)"$"#)]
fn remember(w: &mut RevWorld, name: String) {
    guard!(w);
    match w.last.clone() {
        Some(r) => {
            w.remembered.insert(name, r);
        }
        None => w.error("no answer to remember"),
    }
}

#[when(regex = r"^each published revocation auth method revokes a fresh token of its client$")]
async fn each_method(w: &mut RevWorld) {
    guard!(w);
    let ctx = w.ctx();
    let listed: Vec<String> = w
        .metadata
        .as_ref()
        .and_then(|m| m.get("revocation_endpoint_auth_methods_supported"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_else(|| vec!["client_secret_basic".to_owned()]);
    for method in listed {
        let holder = [Role::Primary, Role::Other, Role::RevokeAny, Role::Public]
            .into_iter()
            .find(|r| {
                ctx.target
                    .credentials(*r)
                    .is_some_and(|c| c.auth.as_str() == method)
            });
        let Some(role) = holder else {
            w.observations.push(format!(
                "{method}: no client of the profile uses it, not performed"
            ));
            continue;
        };
        let (exchanges, minted) = ctx.target.mint(role).await;
        for x in exchanges {
            w.record(x);
        }
        let minted = match minted {
            Ok(m) => m,
            Err(e) => {
                w.error(format!("minting for {method} failed: {e}"));
                return;
            }
        };
        // Revoke the refresh token only when the profile can observe refresh tokens.
        let observable_rt = minted
            .refresh_token
            .filter(|_| ctx.target.probe_kind(Kind::Refresh) != crate::sut::ProbeKind::None);
        let (kind, value) = match (observable_rt, minted.access_token) {
            (Some(rt), _) => (Kind::Refresh, rt),
            (None, Some(at)) => (Kind::Access, at),
            _ => continue,
        };
        let r = TokenRef {
            role,
            slot: Slot::First,
            kind,
        };
        w.tokens.insert(r, value.clone());
        precondition_active(w, r, &value).await;
        if w.halted() {
            return;
        }
        let Some(spec) = revocation(
            w,
            role,
            vec![("token".into(), value.clone())],
            Shape::Normal,
        ) else {
            return;
        };
        let (exchange, response) = ctx.target.http.send(spec).await;
        w.record(exchange);
        let result = match response {
            Ok(resp) if resp.status == 200 => match w.observe_settled(r, &value).await {
                Ok(TokenState::Inactive) => Ok(()),
                Ok(TokenState::Active) => Err("200, but the token is still active".to_owned()),
                Err(e) => {
                    w.error(format!(
                        "cannot observe the token revoked with {method}: {e}"
                    ));
                    return;
                }
            },
            Ok(resp) => Err(format!("HTTP {}", resp.status)),
            Err(e) => {
                w.error(e);
                return;
            }
        };
        w.method_results.push((method, result));
    }
}

// ---------------------------------------------------------------- Then

fn last(w: &mut RevWorld) -> Option<HttpResponse> {
    if w.last.is_none() {
        w.error("no answer to examine");
    }
    w.last.clone()
}

#[then(regex = r"^the response status is (\d+)$")]
fn status_is(w: &mut RevWorld, status: u16) {
    guard!(w);
    let Some(r) = last(w) else { return };
    let result = if r.status == status {
        Ok(())
    } else {
        Err(format!("HTTP {}: {}", r.status, r.text_snippet()))
    };
    w.check("response status", format!("HTTP {status}"), result);
}

#[then(regex = r#"^the response is the OAuth error "([a-z_]+)" with status (\d+)$"#)]
fn oauth_error(w: &mut RevWorld, code: String, status: u16) {
    guard!(w);
    let Some(r) = last(w) else { return };
    w.check(
        "OAuth error",
        format!("HTTP {status} with error \"{code}\""),
        checks::oauth_error(&r, &code, status),
    );
}

#[then(regex = r"^the response is a well-formed OAuth error$")]
fn well_formed(w: &mut RevWorld) {
    guard!(w);
    let Some(r) = last(w) else { return };
    if r.status < 400 {
        w.halt = Some(Halt::NotApplicable(format!(
            "the server answered HTTP {}, so there was no error answer to examine",
            r.status
        )));
        return;
    }
    w.check(
        "error answer format (RFC 6749 5.2)",
        "application/json with a registered `error` and allowed characters",
        checks::well_formed_error(&r),
    );
}

#[then(regex = r"^the response is refused with a 4xx status$")]
fn refused(w: &mut RevWorld) {
    guard!(w);
    let Some(r) = last(w) else { return };
    let result = if (400..500).contains(&r.status) {
        Ok(())
    } else {
        Err(format!("HTTP {}", r.status))
    };
    w.check("request refused", "a 4xx status", result);
}

#[then(regex = r#"^the error code should be "([a-z_]+)"$"#)]
fn error_should(w: &mut RevWorld, code: String) {
    guard!(w);
    let Some(r) = last(w) else { return };
    let seen = checks::error_code(&r);
    let result = if seen.as_deref() == Some(code.as_str()) {
        Ok(())
    } else {
        Err(format!("error {seen:?}"))
    };
    w.should("error code (SHOULD)", format!("\"{code}\""), result);
}

async fn expect_state(w: &mut RevWorld, token: &str, want: TokenState, settle: bool) {
    let Some((r, value)) = tokref(w, token) else {
        return;
    };
    let mut observed = if settle {
        w.observe_settled(r, &value).await
    } else {
        w.observe_once(r, &value).await
    };
    // "Stays active" must hold for the whole propagation window, not just the first look.
    let window = w.ctx().target.profile.timeouts.propagation_window;
    if want == TokenState::Active && observed == Ok(TokenState::Active) && !window.is_zero() {
        tokio::time::sleep(window).await;
        observed = w.observe_once(r, &value).await;
    }
    match observed {
        Ok(state) => {
            let name = |s: TokenState| {
                if s == TokenState::Active {
                    "active"
                } else {
                    "inactive"
                }
            };
            let result = if state == want {
                Ok(())
            } else {
                Err(format!("{} is {}", r.label(), name(state)))
            };
            w.check(format!("state of {}", r.label()), name(want), result);
        }
        Err(e) => w.error(format!("cannot observe {}: {e}", r.label())),
    }
}

#[then(
    regex = r"^(the (?:\S+ client's )?(?:second |refreshed )?(?:access|refresh) token) is inactive$"
)]
async fn is_inactive(w: &mut RevWorld, token: String) {
    guard!(w);
    expect_state(w, &token, TokenState::Inactive, true).await;
}

#[then(
    regex = r"^(the (?:\S+ client's )?(?:second |refreshed )?(?:access|refresh) token) is still active$"
)]
async fn still_active(w: &mut RevWorld, token: String) {
    guard!(w);
    expect_state(w, &token, TokenState::Active, false).await;
}

#[then(
    regex = r"^the first observation already shows (the (?:\S+ client's )?(?:second |refreshed )?(?:access|refresh) token) inactive$"
)]
async fn first_observation(w: &mut RevWorld, token: String) {
    guard!(w);
    expect_state(w, &token, TokenState::Inactive, false).await;
}

#[then(
    regex = r#"^(the (?:\S+ client's )?(?:second |refreshed )?(?:access|refresh) token) is inactive unless the server answered "([a-z_]+)"$"#
)]
async fn inactive_unless(w: &mut RevWorld, token: String, code: String) {
    guard!(w);
    let Some(r) = last(w) else { return };
    if r.status == 400 && checks::error_code(&r).as_deref() == Some(code.as_str()) {
        // Only a server that refuses this token type outright may answer so; one that refuses
        // it only with some hint breaks the rule. Ask again without any hint to tell which.
        let Some((tr, value)) = tokref(w, &token) else {
            return;
        };
        let Some(spec) = revocation(w, tr.role, vec![("token".into(), value)], Shape::Normal)
        else {
            return;
        };
        send(w, spec).await;
        let Some(plain) = last(w) else { return };
        if plain.status == 400 && checks::error_code(&plain).as_deref() == Some(code.as_str()) {
            w.downgraded = Some(format!(
                "the server answered {code}, with and without a hint: it does not revoke this token type"
            ));
            w.observations.push(format!("answered 400 {code}"));
        } else {
            w.check(
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
    w.check(
        "response status",
        format!("HTTP 200 (or 400 {code})"),
        status,
    );
    expect_state(w, &token, TokenState::Inactive, true).await;
}

#[then(regex = r"^every token of the (\S+) client is (inactive|still active)$")]
async fn every_token(w: &mut RevWorld, client: String, state: String) {
    guard!(w);
    let Some(role) = role(w, &client) else { return };
    let refs: Vec<TokenRef> = w
        .tokens
        .keys()
        .filter(|r| r.role == role)
        .copied()
        .collect();
    if refs.is_empty() {
        w.error(format!(
            "the scenario holds no token of the {client} client"
        ));
        return;
    }
    for r in refs {
        if state == "inactive" {
            expect_state(w, &r.label(), TokenState::Inactive, true).await;
        } else {
            expect_state(w, &r.label(), TokenState::Active, false).await;
        }
    }
}

#[then(regex = r#"^the response has the header "([^"]+)" with value "([^"]*)"$"#)]
fn header_value(w: &mut RevWorld, name: String, value: String) {
    guard!(w);
    let Some(r) = last(w) else { return };
    w.check(
        format!("header {name}"),
        format!("{name}: {value}"),
        checks::header_equals(&r, &name, &value),
    );
}

#[then(regex = r#"^the response has a header "([^"]+)" starting with "([^"]*)"$"#)]
fn header_prefix(w: &mut RevWorld, name: String, prefix: String) {
    guard!(w);
    let Some(r) = last(w) else { return };
    w.check(
        format!("header {name}"),
        format!("{name}: {prefix}..."),
        checks::header_starts_with(&r, &name, &prefix),
    );
}

#[then(regex = r"^the response body is empty$")]
fn body_empty(w: &mut RevWorld) {
    guard!(w);
    let Some(r) = last(w) else { return };
    let result = if r.body.iter().all(u8::is_ascii_whitespace) {
        Ok(())
    } else {
        Err(format!("body {:?}", r.text_snippet()))
    };
    w.check("response body", "empty", result);
}

#[then(regex = r"^a Retry-After header is recorded if present$")]
fn retry_after(w: &mut RevWorld) {
    guard!(w);
    let Some(r) = last(w) else { return };
    let note = match r.header("retry-after") {
        Some(v) => format!("Retry-After: {v}"),
        None => "no Retry-After header".into(),
    };
    w.observations.push(note);
}

fn published_revocation(w: &mut RevWorld) -> Option<Option<String>> {
    let Some(doc) = w.metadata.clone() else {
        w.error("no metadata was fetched");
        return None;
    };
    Some(
        doc.get("revocation_endpoint")
            .and_then(Value::as_str)
            .map(str::to_owned),
    )
}

#[then(regex = r"^the metadata publishes revocation_endpoint as an absolute URL$")]
fn publishes(w: &mut RevWorld) {
    guard!(w);
    let Some(published) = published_revocation(w) else {
        return;
    };
    let result = match published {
        Some(u) if url::Url::parse(&u).is_ok() => Ok(()),
        Some(u) => Err(format!("revocation_endpoint is {u:?}, not an absolute URL")),
        None => Err("no revocation_endpoint in the metadata".into()),
    };
    w.check("revocation_endpoint in metadata", "an absolute URL", result);
}

#[then(regex = r"^the metadata does not publish revocation_endpoint$")]
fn not_published(w: &mut RevWorld) {
    guard!(w);
    let Some(published) = published_revocation(w) else {
        return;
    };
    let result = match published {
        None => Ok(()),
        Some(u) => Err(format!("revocation_endpoint is published: {u}")),
    };
    w.check("revocation_endpoint in metadata", "absent", result);
}

#[then(regex = r"^the published revocation endpoint is an https URL$")]
fn https(w: &mut RevWorld) {
    guard!(w);
    let ctx = w.ctx();
    let Some(published) = published_revocation(w) else {
        return;
    };
    let url = published.unwrap_or_else(|| ctx.target.endpoints.revocation.to_string());
    let parsed = url::Url::parse(&url).ok();
    let result = if parsed.as_ref().is_some_and(|u| u.scheme() == "https") {
        Ok(())
    } else {
        Err(url.clone())
    };
    let loopback = parsed
        .as_ref()
        .is_some_and(crate::sut::profile::is_loopback);
    if result.is_err() && loopback && ctx.target.profile.capabilities.plain_http_loopback {
        w.should(
            "revocation endpoint scheme (loopback target: warning)",
            "https",
            result,
        );
    } else {
        w.check("revocation endpoint scheme", "https", result);
    }
}

#[then(regex = r"^every published method the harness can perform revoked its token$")]
fn methods_ok(w: &mut RevWorld) {
    guard!(w);
    if w.method_results.is_empty() {
        w.skip("no published revocation auth method could be performed with the profile's clients");
        return;
    }
    for (method, result) in w.method_results.clone() {
        w.check(
            format!("revocation with {method}"),
            "200 and the token inactive",
            result,
        );
    }
}

fn cors_origin(w: &RevWorld) -> String {
    let ctx = w.ctx();
    ctx.target
        .profile
        .capabilities
        .cors_origin
        .clone()
        .unwrap_or_default()
}

#[then(regex = r"^the preflight allows the origin and the POST method$")]
fn preflight_ok(w: &mut RevWorld) {
    guard!(w);
    let origin = cors_origin(w);
    let Some(r) = last(w) else { return };
    w.check(
        "preflight origin",
        origin.clone(),
        checks::allows_origin(&r, &origin),
    );
    w.check(
        "preflight methods",
        "POST allowed",
        checks::allows_method(&r, "POST"),
    );
}

#[then(regex = r"^the response allows the origin$")]
fn allows_origin(w: &mut RevWorld) {
    guard!(w);
    let origin = cors_origin(w);
    let Some(r) = last(w) else { return };
    w.check(
        "CORS answer",
        origin.clone(),
        checks::allows_origin(&r, &origin),
    );
}

#[then(
    regex = r"^record whether (the (?:\S+ client's )?(?:second |refreshed )?(?:access|refresh) token) is still active$"
)]
async fn record_state(w: &mut RevWorld, token: String) {
    guard!(w);
    let Some((r, value)) = tokref(w, &token) else {
        return;
    };
    match w.observe_settled(r, &value).await {
        Ok(TokenState::Active) => w
            .observations
            .push(format!("{} is still active", r.label())),
        Ok(TokenState::Inactive) => w.observations.push(format!("{} is inactive", r.label())),
        Err(e) => w.error(format!("cannot observe {}: {e}", r.label())),
    }
}

#[then(regex = r#"^record whether the answers "([^"]*)" and "([^"]*)" can be told apart$"#)]
fn record_oracle(w: &mut RevWorld, a: String, b: String) {
    guard!(w);
    let (Some(ra), Some(rb)) = (w.remembered.get(&a).cloned(), w.remembered.get(&b).cloned())
    else {
        w.error(format!("answers {a:?} and {b:?} were not both remembered"));
        return;
    };
    let note = match checks::distinguishable(&ra, &rb) {
        Some(how) => format!("the {a} and {b} answers can be told apart ({how})"),
        None => format!("the {a} and {b} answers look the same (status and body)"),
    };
    w.observations.push(note);
}
