//! When steps: exactly one recorded request each (to the revocation endpoint unless the step
//! says otherwise), shaped as the step says. A client authenticates as it is registered unless
//! the step names another way, so that a request shape tests only what it is meant to.

use super::params::Token;
use super::{guard, role, tokref};
use crate::conformance::world::{RevWorld, TokenRef};
use crate::sut::client;
use crate::sut::http::RequestSpec;
use crate::sut::{ClientAuth, Role};
use cucumber::when;
use serde_json::Value;

/// How a revocation request is shaped.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Shape {
    /// A form POST, authenticated as registered.
    Normal,
    /// A wrong secret, sent the way the client is registered.
    WrongSecret,
    /// A wrong secret in `Authorization: Basic`, however the client is registered.
    WrongSecretBasic,
    NoAuth,
    /// Basic and `client_secret` in the body together.
    BothMethods,
    /// The token in the URL query of an empty POST, authenticated as registered.
    TokenInQuery,
    /// `client_id`/`client_secret` in the URL query, the token in the body.
    CredentialsInQuery,
    /// A GET with the token in the query, authenticated as registered (a `client_secret_post`
    /// client has no body, so its credentials go in the query).
    Get,
    /// A JSON body instead of a form.
    Json,
}

/// Sends a request to the revocation endpoint and keeps the answer. With a cluster, each
/// request to the revocation endpoint goes through the next node in turn.
pub(super) async fn send(w: &mut RevWorld, mut spec: RequestSpec) {
    let ctx = w.ctx();
    let mut bare = spec.url.clone();
    bare.set_query(None);
    if bare == ctx.target.endpoints.revocation {
        if let Some(node) = ctx.target.next_node() {
            let query = spec.url.query().map(str::to_owned);
            spec.url = node.endpoints.revocation.clone();
            spec.url.set_query(query.as_deref());
        }
    }
    if could_revoke_every_token(&spec) {
        // Never what a scenario watching this client's token stay active sees.
        ctx.pace.no_watchers_of(w.acting_as).await;
    }
    let url = spec.url.clone();
    w.last_sent_basic = spec.basic.is_some();
    if let Some((_, a)) = spec.form.iter().find(|(k, _)| k == "client_assertion") {
        w.last_assertion = Some(a.clone());
    }
    let simulated_unavailable = ctx
        .target
        .profile
        .capabilities
        .unavailable_header
        .as_deref()
        .and_then(|h| h.split_once(':'))
        .is_some_and(|(name, _)| {
            spec.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
        });
    let (exchange, answer) = ctx.target.http.send(spec).await;
    w.record(exchange);
    match answer {
        // A body cut at the cap says nothing about what the server sent: never judge it.
        Ok(r) if r.truncated => {
            w.answered(None);
            w.outcome.unreadable_answer(format!(
                "{url}: the answer is larger than the {} KiB the harness reads, so it was not judged",
                crate::sut::http::BODY_CAP / 1024
            ));
        }
        Ok(r) => {
            // A 5xx is never a pass, whatever the rule says about the token afterwards
            // (except the 503 the profile's unavailable header asks for).
            if r.status >= 500 && !simulated_unavailable {
                w.outcome.check(
                    "the request was handled",
                    "no 5xx answer",
                    Err(format!("{url} answered {}", r.describe())),
                );
            }
            w.answered(Some(r));
        }
        Err(e) => {
            w.answered(None);
            w.outcome.error(format!("{url}: {e}"));
        }
    }
}

/// `token=all` or `token_type_hint=all`, in the body or the query: on a server that honours
/// it (or gets it wrong), every token of a client, or more, may go.
fn could_revoke_every_token(spec: &RequestSpec) -> bool {
    let all = |(k, v): (&str, &str)| (k == "token" || k == "token_type_hint") && v == "all";
    spec.form.iter().any(|(k, v)| all((k, v))) || spec.url.query_pairs().any(|(k, v)| all((&k, &v)))
}

fn header_pair(text: &str) -> (String, String) {
    let (n, v) = text.split_once(':').unwrap_or((text, ""));
    (n.trim().to_owned(), v.trim().to_owned())
}

/// Builds a revocation request of a client, shaped as asked. "Credentials" are whatever the
/// client authenticates with as registered: a secret, a fresh assertion, or `client_id` with
/// its certificate on the connection (which goes to the mTLS alias whatever the shape).
pub(super) fn revocation(
    w: &mut RevWorld,
    role: Role,
    form: Vec<(String, String)>,
    shape: Shape,
) -> Option<RequestSpec> {
    let ctx = w.ctx();
    let target = &ctx.target;
    let client = target.credentials(role)?.clone();
    w.acting_as = Some(role);
    let mut spec = RequestSpec::post_form(target.endpoints.revocation.clone(), form);
    match shape {
        Shape::Normal => target.authenticate(&mut spec, &client),
        Shape::NoAuth => {}
        Shape::WrongSecret | Shape::WrongSecretBasic => {
            if client.auth == ClientAuth::None {
                w.outcome.skip("a public client has no secret to get wrong");
                return None;
            }
            let mut wrong = match client::with_wrong_credentials(&client) {
                Ok(wrong) => wrong,
                Err(e) => {
                    w.outcome.error(format!(
                        "cannot make wrong credentials for the {} client: {e}",
                        role.name()
                    ));
                    return None;
                }
            };
            if shape == Shape::WrongSecretBasic {
                wrong.auth = ClientAuth::ClientSecretBasic;
                wrong.secret = Some(format!(
                    "{}-wrong",
                    client.secret.clone().unwrap_or_default()
                ));
            } else if client.auth.is_jwt() || client.auth.is_mtls() {
                w.outcome.observe(format!(
                    "the wrong credentials of this {} client: {}",
                    client.auth.as_str(),
                    if client.auth.is_mtls() {
                        "a certificate it did not register"
                    } else {
                        "an assertion signed with a key it did not register"
                    }
                ));
            }
            target.authenticate(&mut spec, &wrong);
        }
        Shape::BothMethods => {
            let secret = client.secret.clone().unwrap_or_else(|| "secret".into());
            spec.basic = Some((client.id.clone(), secret.clone()));
            match client.auth {
                ClientAuth::PrivateKeyJwt | ClientAuth::ClientSecretJwt => {
                    spec.form.extend(client::body_credentials(&client));
                }
                _ => {
                    spec.form.push(("client_id".into(), client.id.clone()));
                    spec.form.push(("client_secret".into(), secret));
                }
            }
            client::present_certificate(&mut spec, &client);
        }
        Shape::TokenInQuery => {
            let params = std::mem::take(&mut spec.form);
            spec.url.query_pairs_mut().extend_pairs(&params);
            target.authenticate(&mut spec, &client);
            if spec.form.is_empty() {
                spec.raw_body = Some(("application/x-www-form-urlencoded".into(), vec![]));
            }
        }
        Shape::CredentialsInQuery => {
            spec.url
                .query_pairs_mut()
                .extend_pairs(client::body_credentials(&client));
            client::present_certificate(&mut spec, &client);
        }
        Shape::Get => {
            let mut params = std::mem::take(&mut spec.form);
            spec.method = reqwest::Method::GET;
            if client.auth == ClientAuth::ClientSecretBasic {
                target.authenticate(&mut spec, &client);
            } else {
                params.extend(client::body_credentials(&client));
                client::present_certificate(&mut spec, &client);
            }
            spec.url.query_pairs_mut().extend_pairs(&params);
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
                    for (k, v) in client::body_credentials(&client) {
                        obj.insert(k, Value::String(v));
                    }
                }
            }
            client::present_certificate(&mut spec, &client);
            spec.raw_body = Some((
                "application/json".into(),
                Value::Object(obj).to_string().into_bytes(),
            ));
        }
    }
    Some(spec)
}

/// The form of a plain revocation of a token: `token`, and the hint when this server is known
/// to revoke the token's type only with it (learned in calibration), unless the hint is the
/// rule's subject (`@request-shape`), so the rule is judged on its subject.
pub(super) fn token_form(w: &mut RevWorld, r: TokenRef, value: String) -> Vec<(String, String)> {
    let mut form = vec![("token".to_owned(), value)];
    if !w.meta.request_shape {
        let learned = w.ctx().target.learned().shape(r.kind);
        if learned == crate::sut::learned::Shape::Hinted {
            let h = crate::sut::learned::hint(r.kind);
            w.outcome.observe(format!(
                "sent {} with token_type_hint={h}: this server revokes {} tokens only with the hint (learned in calibration)",
                r.label(),
                r.kind
            ));
            form.push(("token_type_hint".into(), h.to_owned()));
        }
    }
    form
}

async fn revoke_with(
    w: &mut RevWorld,
    client: &str,
    token: Token,
    hint: Option<&str>,
    shape: Shape,
    extra: Option<String>,
) {
    let Some(role) = role(w, client) else { return };
    let Some((r, value)) = tokref(w, token.0) else {
        return;
    };
    if !w.grant_still_active(r).await {
        return;
    }
    // Only access tokens: RFC 7009 2 requires refresh tokens to be revocable.
    let refused = r.kind == crate::catalogue::TokenType::Access
        && w.ctx().target.learned().shape(r.kind) == crate::sut::learned::Shape::Refused;
    if refused && hint.is_none() && matches!(shape, Shape::Normal) && !w.meta.request_shape {
        // The scenario needs this access token revoked, and RFC 7009 lets a server refuse to
        // (2.2.1): its rule cannot be observed this way (never a FAIL on the server).
        w.outcome.not_applicable(format!(
            "this server does not revoke {} tokens (400 unsupported_token_type, which RFC 7009 2.2.1 allows; learned in calibration), and this scenario needs one revoked",
            r.kind
        ));
        return;
    }
    w.asked_to_revoke(r);
    let form = match hint {
        Some(h) => vec![
            ("token".to_owned(), value),
            ("token_type_hint".into(), h.to_owned()),
        ],
        None => token_form(w, r, value),
    };
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
    regex = r#"^the (\S+) client revokes (the (?:\S+ client's )?(?:second |refreshed )?(?:access|refresh) token)(| with hint "[^"]*"| with a wrong secret| with a wrong secret in the Authorization header| with credentials in both the Authorization header and the body| with a JSON body| while the server is made temporarily unavailable| with the revoke script vetoing| from the allowed origin)$"#
)]
async fn revokes(w: &mut RevWorld, client: String, token: Token, how: String) {
    guard!(w);
    let caps = w.ctx().target.profile.capabilities.clone();
    let needs = |value: Option<String>, key: &str| {
        value.ok_or(format!("the target profile names no capabilities.{key}"))
    };
    let (hint, shape, header) = match how.as_str() {
        "" => (None, Shape::Normal, Ok(None)),
        " with a wrong secret" => (None, Shape::WrongSecret, Ok(None)),
        " with a wrong secret in the Authorization header" => {
            (None, Shape::WrongSecretBasic, Ok(None))
        }
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
        Ok(header) => revoke_with(w, &client, token, hint, shape, header).await,
        Err(why) => w.outcome.skip(why),
    }
}

#[when(expr = "a revocation request for {token} is sent without client authentication")]
async fn revokes_no_auth(w: &mut RevWorld, token: Token) {
    guard!(w);
    revoke_with(w, "primary", token, None, Shape::NoAuth, None).await;
}

#[when(expr = "the {word} client sends {token} in the URL query of an empty POST")]
async fn revokes_query_token(w: &mut RevWorld, client: String, token: Token) {
    guard!(w);
    revoke_with(w, &client, token, None, Shape::TokenInQuery, None).await;
}

#[when(expr = "the {word} client sends its credentials in the URL query and {token} in the body")]
async fn revokes_query_credentials(w: &mut RevWorld, client: String, token: Token) {
    guard!(w);
    revoke_with(w, &client, token, None, Shape::CredentialsInQuery, None).await;
}

#[when(expr = "the {word} client sends a GET to the revocation endpoint with {token} in the query")]
async fn revokes_get(w: &mut RevWorld, client: String, token: Token) {
    guard!(w);
    revoke_with(w, &client, token, None, Shape::Get, None).await;
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
            let text = &rest[start + 1..end];
            let Ok(Token(r)) = text.parse::<Token>() else {
                w.outcome.error(format!("unknown token reference {text:?}"));
                return None;
            };
            let (r, token) = tokref(w, r)?;
            w.asked_to_revoke(r);
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
        w.outcome
            .error(format!("cannot fill the form template {template:?}"));
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
        w.outcome
            .skip("the target profile names no capabilities.cors_origin");
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

#[when(regex = r#"^the answer is remembered as "([^"]*)"$"#)]
fn remember(w: &mut RevWorld, name: String) {
    guard!(w);
    match w.last.clone() {
        Some(r) => {
            w.remembered.insert(name, r);
        }
        None => w.outcome.error("no answer to remember"),
    }
}
