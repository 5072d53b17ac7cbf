//! Steps about published metadata: the OpenID discovery document and RFC 8414 metadata.
//! Judging that something is absent needs a 200 JSON document; a document that is not there
//! (404/410) makes rules about a published document not applicable; anything else (a 503, a
//! redirect, a body that is not JSON) is an ERROR naming the URL and what came back.

use super::requests::{revocation, send, Shape};
use super::{guard, last};
use crate::conformance::world::{RevWorld, Slot, TokenRef};
use crate::sut::discovery::Document;
use crate::sut::{ProbeKind, Role, TokenType};
use cucumber::{then, when};
use serde_json::Value;

/// Fetches a metadata document (see [`crate::sut::discovery::fetch`]): there, or not there
/// (404/410); an unusable or unreachable one is an ERROR naming the URL and what came back.
async fn fetch(w: &mut RevWorld, url: url::Url) -> Result<Document, String> {
    let ctx = w.ctx();
    let (exchange, document) = crate::sut::discovery::fetch(&ctx.target.http, &url).await;
    w.record(exchange);
    match document {
        Document::Unusable(why) | Document::Unreachable(why) => Err(why),
        there_or_not => Ok(there_or_not),
    }
}

#[when(regex = r"^the discovery document is fetched$")]
async fn discovery(w: &mut RevWorld) {
    guard!(w);
    let url = w.ctx().target.endpoints.discovery.clone();
    match fetch(w, url).await {
        Ok(f) => w.metadata = Some(f),
        Err(e) => w.outcome.error(e),
    }
}

/// RFC 8414 metadata, falling back to the OpenID document when there is none.
#[when(regex = r"^the authorization server metadata is fetched$")]
async fn metadata(w: &mut RevWorld) {
    guard!(w);
    let ctx = w.ctx();
    let first = match fetch(w, ctx.target.endpoints.metadata.clone()).await {
        Ok(f) => f,
        Err(e) => return w.outcome.error(e),
    };
    let fetched = match first {
        Document::Missing(why) => match fetch(w, ctx.target.endpoints.discovery.clone()).await {
            Ok(Document::Missing(also)) => Document::Missing(format!("{why}; {also}")),
            Ok(doc) => doc,
            Err(e) => return w.outcome.error(e),
        },
        found => found,
    };
    w.metadata = Some(fetched);
}

fn published_revocation(w: &mut RevWorld) -> Option<Result<Option<String>, String>> {
    match w.metadata.clone() {
        None => {
            w.outcome.error("no metadata was fetched");
            None
        }
        Some(Document::Found(doc)) => Some(Ok(doc
            .get("revocation_endpoint")
            .and_then(Value::as_str)
            .map(str::to_owned))),
        Some(Document::Missing(why) | Document::Unusable(why) | Document::Unreachable(why)) => {
            Some(Err(why))
        }
    }
}

#[then(regex = r"^the metadata publishes revocation_endpoint as an absolute URL$")]
fn publishes(w: &mut RevWorld) {
    guard!(w);
    let Some(published) = published_revocation(w) else {
        return;
    };
    let result = match published {
        Ok(Some(u)) if url::Url::parse(&u).is_ok() => Ok(()),
        Ok(Some(u)) => Err(format!("revocation_endpoint is {u:?}, not an absolute URL")),
        Ok(None) => Err("the document has no revocation_endpoint".into()),
        Err(why) => Err(format!("no metadata document: {why}")),
    };
    w.outcome
        .check("revocation_endpoint in metadata", "an absolute URL", result);
}

#[then(regex = r"^the metadata does not publish revocation_endpoint$")]
fn not_published(w: &mut RevWorld) {
    guard!(w);
    let Some(published) = published_revocation(w) else {
        return;
    };
    let result = match published {
        Ok(None) => Ok(()),
        Ok(Some(u)) => Err(format!("revocation_endpoint is published: {u}")),
        Err(why) => {
            w.outcome.error(format!(
                "judging that revocation_endpoint is absent needs a 200 JSON document: {why}"
            ));
            return;
        }
    };
    w.outcome
        .check("revocation_endpoint in metadata", "absent", result);
}

#[then(regex = r"^the published revocation endpoint is an https URL$")]
fn https(w: &mut RevWorld) {
    guard!(w);
    let ctx = w.ctx();
    let Some(published) = published_revocation(w) else {
        return;
    };
    let in_use = ctx.target.endpoints.revocation.to_string();
    let url = match published {
        Ok(Some(u)) => u,
        _ => {
            w.outcome.observe(format!(
                "no published revocation_endpoint: the endpoint in use ({in_use}) was checked"
            ));
            in_use
        }
    };
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
        w.outcome.should(
            "revocation endpoint scheme (loopback target: warning)",
            "https",
            result,
        );
    } else {
        w.outcome
            .check("revocation endpoint scheme", "https", result);
    }
}

#[when(regex = r"^each published revocation auth method revokes a fresh token of its client$")]
async fn each_method(w: &mut RevWorld) {
    guard!(w);
    let ctx = w.ctx();
    let doc = match w.metadata.clone() {
        Some(Document::Found(doc)) => doc,
        Some(Document::Missing(why) | Document::Unusable(why) | Document::Unreachable(why)) => {
            w.outcome.skip(format!(
                "the server publishes no metadata ({why}), so there are no published auth methods to check"
            ));
            return;
        }
        None => {
            w.outcome.error("no metadata was fetched");
            return;
        }
    };
    let listed: Vec<String> = doc
        .get("revocation_endpoint_auth_methods_supported")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_else(|| vec!["client_secret_basic".to_owned()]);
    for method in listed {
        let public_ok = ctx.target.profile.capabilities.public_client;
        let holder = [
            Role::Primary,
            Role::Other,
            Role::RevokeAny,
            Role::Public,
            Role::Introspector,
            Role::Admin,
        ]
        .into_iter()
        .filter(|r| *r != Role::Public || public_ok)
        .find(|r| {
            ctx.target
                .credentials(*r)
                .is_some_and(|c| c.auth.as_str() == method)
        });
        let Some(role) = holder else {
            w.outcome.observe(format!(
                "{method}: no client of the profile uses it, not performed"
            ));
            continue;
        };
        let Some(result) = revoke_fresh(w, role, &method, None).await else {
            return;
        };
        w.method_results.push((method, result));
    }
}

#[then(regex = r"^every published method the harness can perform revoked its token$")]
fn methods_ok(w: &mut RevWorld) {
    guard!(w);
    if w.method_results.is_empty() {
        w.outcome.skip(
            "no published revocation auth method could be performed with the profile's clients",
        );
        return;
    }
    for (method, result) in w.method_results.clone() {
        w.outcome.check(
            format!("revocation with {method}"),
            "200 and the token inactive",
            result,
        );
    }
}

/// Mints a grant of `role` and revokes one of its tokens as the client is registered (with
/// an assertion of `alg`, when given): `Some(Ok)` when it answered 200 and the token was seen
/// inactive, `Some(Err)` saying what happened otherwise, `None` when the scenario stopped (an
/// ERROR was recorded). `what` names the attempt in messages.
pub(super) async fn revoke_fresh(
    w: &mut RevWorld,
    role: Role,
    what: &str,
    alg: Option<jsonwebtoken::Algorithm>,
) -> Option<Result<(), String>> {
    let ctx = w.ctx();
    let (exchanges, minted) = ctx.target.mint(role).await;
    for x in exchanges {
        w.record(x);
    }
    let minted = match minted {
        Ok(m) => m,
        Err(e) => {
            w.outcome.error(format!("minting for {what} failed: {e}"));
            return None;
        }
    };
    // Revoke the refresh token only when the profile can observe refresh tokens.
    let refused = |kind| ctx.target.learned().shape(kind) == crate::sut::learned::Shape::Refused;
    let observable_rt = minted.refresh_token.filter(|_| {
        ctx.target.probe_kind(TokenType::Refresh) != ProbeKind::None
            && (!refused(TokenType::Refresh) || refused(TokenType::Access))
    });
    let (kind, value) = match (observable_rt, minted.access_token) {
        (Some(rt), _) => (TokenType::Refresh, rt),
        (None, Some(at)) => (TokenType::Access, at),
        _ => return Some(Err("the token answer held no token".into())),
    };
    let r = TokenRef {
        role,
        slot: Slot::First,
        kind,
    };
    w.hold(r, value.clone());
    super::given::precondition_active(w, r, &value).await;
    if w.halted() {
        return None;
    }
    // The method is the subject: the request takes the shape the server is known to honour.
    let shape = ctx.target.learned().shape(kind);
    let mut spec = revocation(w, role, shape.form(kind, &value), Shape::Normal)?;
    if let (Some(alg), Some(client)) = (alg, ctx.target.credentials(role)) {
        match crate::sut::client::assertion_with_alg(client, alg) {
            Ok(jwt) => {
                for (k, v) in spec.form.iter_mut() {
                    if k == "client_assertion" {
                        *v = jwt.clone();
                    }
                }
            }
            Err(e) => return Some(Err(e)),
        }
    }
    send(w, spec).await;
    let answer = last(w)?;
    Some(if answer.status == 200 {
        match w.poll_inactive(r, &value).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err("200, but the token is still active".to_owned()),
            Err(e) => {
                w.outcome
                    .error(format!("cannot observe the token revoked with {what}: {e}"));
                return None;
            }
        }
    } else {
        Err(format!("HTTP {}: {}", answer.status, answer.text_snippet()))
    })
}
