//! The revocation endpoint: RFC 7009 plus every Janssen rule, in Janssen's order (client
//! authentication, then the `REVOKE_TOKEN` feature flag, then the token), and the layer that
//! applies the response-shaping faults.
//!
//! A revocation removes the token's whole grant (the Janssen cascade, both directions). With
//! `allowAllValueForRevokeEndpoint`, `token=all` or `token_type_hint=all` revokes every token
//! of the authenticated client (filtered by an access/refresh hint). A token of another client
//! is revoked only with `allowRevokeForOtherClients` and the caller's `revoke_any_token` scope;
//! otherwise the request is refused with 400 `invalid_request` before anything is revoked.
//! A public client revokes only a token of its own that it presents: no `all`, never another
//! client's token. One request names at most `max_tokens_per_request` tokens, every one is
//! checked before any is revoked, and all are revoked in one store transaction.

use crate::faults::quirks::{self, Quirk};
use crate::faults::Fault;
use crate::server::clock::now;
use crate::server::config::{AuthMethod, Client, Settings, REVOKE_ANY_TOKEN_SCOPE};
use crate::server::error::OAuthError;
use crate::server::extract::authenticated::{auth_failure, authenticate_presented, Endpoint};
use crate::server::extract::client_auth::{auth_failed, presented_credentials, Presented};
use crate::server::extract::form::{read_body, Form};
use crate::server::net::ConnInfo;
use crate::server::script::{Decision, ScriptFailure};
use crate::server::secret::secret_matches;
use crate::server::state::AppState;
use crate::server::store::{hash_token, Removed, TokenKind, TokenRecord, Victim};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// How long the `lazy-revocation` fault waits before revoking.
const LAZY_DELAY: Duration = Duration::from_millis(1500);
/// How long after a revocation the `late-over-revocation` and `resurrection` faults act.
const FAULT_AFTERMATH_DELAY: Duration = Duration::from_millis(300);
/// The request header that makes the server answer 503 when `simulate_unavailable_header` is on.
pub const SIMULATE_HEADER: &str = "x-revspec-simulate";

/// `POST /revoke`.
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    req: Request<Body>,
) -> Result<Response, OAuthError> {
    let (parts, body) = req.into_parts();
    let bytes = read_body(body).await?;
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let mut form = if is_json && state.has_fault(Fault::JsonAccepted) {
        json_as_form(&bytes)?
    } else {
        Form::parse(
            &parts.headers,
            bytes,
            state.has_fault(Fault::DuplicateParamAccepted),
        )?
    };
    let conn = parts.extensions.get::<ConnInfo>();
    if let Some(query) = parts.uri.query() {
        if state.has_fault(Fault::QueryHonoured) {
            let from_query = Form::parse_urlencoded(query.as_bytes(), true)?;
            form = form.merged_with(&from_query);
        } else if state.has_fault(Fault::QueryCredentialsHonoured) {
            let mut credentials = Form::parse_urlencoded(query.as_bytes(), true)?;
            credentials.retain(&["client_id", "client_secret"]);
            form = form.merged_with(&credentials);
        }
    }
    revoke_form(&state, &parts.headers, conn, form).await
}

/// Any other method: never revokes (but the `get-revokes` fault does for GET).
pub async fn revoke_get(
    State(state): State<Arc<AppState>>,
    req: Request<Body>,
) -> Result<Response, OAuthError> {
    let basic_only = state.has_fault(Fault::GetRevokesBasicOnly);
    if basic_only || state.has_fault(Fault::GetRevokes) {
        let form = Form::parse_urlencoded(req.uri().query().unwrap_or("").as_bytes(), true)?;
        let header_auth = req.headers().contains_key(header::AUTHORIZATION);
        if basic_only && (form.get("client_secret").is_some() || !header_auth) {
            return Err(auth_failed());
        }
        return revoke_form(
            &state,
            req.headers(),
            req.extensions().get::<ConnInfo>(),
            form,
        )
        .await;
    }
    let mut response = (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(
            serde_json::json!({"error": "invalid_request", "error_description": "use POST"}),
        ),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    Ok(response)
}

fn json_as_form(bytes: &[u8]) -> Result<Form, OAuthError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|_| OAuthError::invalid_request("malformed JSON body"))?;
    let pairs: String = value
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|v| format!("{}={}&", enc(k), enc(v))))
        .collect();
    Form::parse_urlencoded(pairs.as_bytes(), true)
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn authenticate_for_revoke(
    state: &AppState,
    headers: &HeaderMap,
    conn: Option<&ConnInfo>,
    form: &Form,
) -> Result<Arc<Client>, OAuthError> {
    // Only this fault needs a changed copy of the form.
    let without_secret;
    let form = if state.has_fault(Fault::TwoAuthMethodsAccepted)
        && headers.contains_key(header::AUTHORIZATION)
    {
        let mut copy = form.clone();
        copy.remove("client_secret");
        without_secret = copy;
        &without_secret
    } else {
        form
    };
    let presented = presented_credentials(headers, form)?;
    // The `no-client-auth` fault trusts the token to say whose it is (looked up before the
    // registry is locked: a lookup may wait).
    let mut owner = None;
    if presented == Presented::Nothing && state.has_fault(Fault::NoClientAuth) {
        if let Some(t) = form.non_empty("token") {
            owner = state.store.get(t).await?;
        }
    }
    {
        let clients = state.clients.read().unwrap_or_else(|p| p.into_inner());
        match &presented {
            Presented::Nothing if state.has_fault(Fault::NoClientAuth) => {
                return owner
                    .and_then(|r| clients.get(&r.client_id).cloned())
                    .ok_or_else(auth_failed);
            }
            Presented::Basic { client_id, .. } if state.has_fault(Fault::WrongSecretAccepted) => {
                if let Some(c) = clients.get(client_id) {
                    return Ok(c.clone());
                }
            }
            Presented::PublicId { .. } if state.has_fault(Fault::PublicClientRejected) => {
                return Err(auth_failed());
            }
            Presented::Post { .. } if state.has_fault(Fault::PostAuthBroken) => {
                return Err(auth_failure(state, &presented, auth_failed()));
            }
            Presented::Post { client_id, secret }
                if state.has_fault(Fault::QueryHonoured)
                    || state.has_fault(Fault::QueryCredentialsHonoured)
                    || state.has_fault(Fault::GetRevokes) =>
            {
                // These faults take credentials from the query whatever method the client has.
                if let Some(c) = clients.get(client_id) {
                    if c.secret
                        .as_deref()
                        .is_some_and(|s| secret_matches(s, secret))
                    {
                        return Ok(c.clone());
                    }
                }
            }
            _ => {}
        }
    }
    authenticate_presented(state, headers, conn, &presented, Endpoint::Revocation)
        .await
        .map_err(|e| auth_failure(state, &presented, e))
}

fn kind_of_hint(hint: Option<&str>) -> Option<TokenKind> {
    match hint {
        Some("access_token") => Some(TokenKind::Access),
        Some("refresh_token") => Some(TokenKind::Refresh),
        _ => None,
    }
}

/// Runs the revoke script on the blocking pool; a failure is a veto or a 503 as configured.
async fn run_script(
    state: &AppState,
    client: &Client,
    token: &str,
    hint: Option<&str>,
    headers: &HeaderMap,
) -> Result<Option<Decision>, OAuthError> {
    let Some(script) = state
        .script
        .clone()
        .filter(|_| !state.has_fault(Fault::ScriptIgnored))
    else {
        return Ok(None);
    };
    let (client_id, token, hint, headers) = (
        client.id.clone(),
        token.to_owned(),
        hint.map(str::to_owned),
        headers.clone(),
    );
    let outcome = tokio::task::spawn_blocking(move || {
        script.decide(&client_id, &token, hint.as_deref(), &headers)
    })
    .await
    .unwrap_or_else(|e| Err(format!("panicked: {e}")));
    match (outcome, state.script_failure) {
        (Ok(decision), _) => Ok(Some(decision)),
        (Err(_), ScriptFailure::Veto) => Ok(Some(Decision::default())),
        (Err(_), ScriptFailure::Unavailable) => Err(OAuthError::temporarily_unavailable(1)),
    }
}

/// The revocation proper, once the parameters are read.
async fn revoke_form(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    conn: Option<&ConnInfo>,
    form: Form,
) -> Result<Response, OAuthError> {
    let settings = state.settings();
    let flag_refusal = || {
        let disabled =
            if state.has_fault(Fault::EmptyFlagsDisable) && settings.feature_flags.is_empty() {
                true
            } else {
                !settings.revoke_enabled() && !state.has_fault(Fault::FlagIgnored)
            };
        disabled.then(|| {
            OAuthError::access_denied("the REVOKE_TOKEN feature flag is disabled on this server")
        })
    };
    if state.has_fault(Fault::FlagBeforeAuth) {
        if let Some(refusal) = flag_refusal() {
            return Err(refusal);
        }
    }
    let client = authenticate_for_revoke(state, headers, conn, &form).await?;
    if let Some(refusal) = flag_refusal() {
        return Err(refusal);
    }
    let simulate_unavailable = state.simulate_unavailable_header
        && headers
            .get(SIMULATE_HEADER)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"unavailable"));
    // The `unavailable-revokes` fault answers 503 only after revoking.
    if simulate_unavailable && !state.has_fault(Fault::UnavailableRevokes) {
        return Err(OAuthError::temporarily_unavailable(1));
    }
    let finish = |extra: &[(String, String)]| {
        if simulate_unavailable {
            Err(OAuthError::temporarily_unavailable(1))
        } else {
            Ok(success(state, extra))
        }
    };
    let token = match form.get("token") {
        None if state.has_fault(Fault::TokenOptional) => return finish(&[]),
        None => {
            return Err(OAuthError::invalid_request(
                "the token parameter is required",
            ))
        }
        Some("") if state.has_fault(Fault::EmptyTokenAccepted) => return finish(&[]),
        Some("") => return Err(OAuthError::invalid_request("the token parameter is empty")),
        Some(t) => t,
    };
    let hint = form.non_empty("token_type_hint");
    if state.has_fault(Fault::UnknownHintRejected)
        && hint.is_some_and(|h| !matches!(h, "access_token" | "refresh_token" | "all"))
    {
        return Err(OAuthError::unsupported_token_type(
            "unknown token_type_hint",
        ));
    }
    let public = client.auth_method == AuthMethod::None;
    let wants_all = token.eq_ignore_ascii_case("all") || hint == Some("all");
    if public && wants_all && !state.has_fault(Fault::PublicClientAll) {
        // Anyone can name a public client: it must not be able to log out all its users.
        return Err(OAuthError::invalid_request(
            "a public client cannot revoke all its tokens",
        ));
    }
    let values: Vec<&str> = token.split(' ').filter(|t| !t.is_empty()).collect();
    if values.len() > state.limits.max_tokens_per_request {
        return Err(OAuthError::invalid_request(format!(
            "at most {} tokens per request",
            state.limits.max_tokens_per_request
        )));
    }
    let mut extra_headers = Vec::new();
    if let Some(decision) = run_script(state, &client, token, hint, headers).await? {
        extra_headers = decision.headers;
        if !decision.allow {
            return finish(&extra_headers);
        }
    }

    let all_enabled =
        settings.allow_all_value_for_revoke_endpoint || state.has_fault(Fault::AllAlways);
    if wants_all && all_enabled && !state.has_fault(Fault::AllIgnored) {
        let kind = kind_of_hint(hint);
        let clients = if state.has_fault(Fault::AllTooWide) {
            state.store.clients_with_tokens().await?
        } else {
            vec![client.id.clone()]
        };
        let victims: Vec<Victim> = clients
            .into_iter()
            .map(|id| Victim::Client(id, kind))
            .collect();
        execute(state, victims).await?;
        return finish(&extra_headers);
    }

    // Validate every token before revoking any, so a refusal revokes nothing.
    let now = now();
    let values = if state.has_fault(Fault::MultiTokenFirstOnly) {
        &values[..values.len().min(1)]
    } else {
        &values[..]
    };
    let mut found: Vec<(&str, TokenRecord)> = Vec::new();
    for &value in values {
        let record = state.store.get(value).await?.filter(|r| !r.is_expired(now));
        let record = match (record, kind_of_hint(hint)) {
            (Some(r), Some(k)) if state.has_fault(Fault::HintStrict) && r.kind != k => None,
            (Some(r), None)
                if state.has_fault(Fault::NoHintAccessOnly) && r.kind == TokenKind::Refresh =>
            {
                None
            }
            (r, _) => r,
        };
        let Some(record) = record else {
            if state.has_fault(Fault::UnknownToken400) {
                return Err(OAuthError::invalid_request("unknown token"));
            }
            if state.has_fault(Fault::RevokedToken400) && state.was_revoked(value) {
                return Err(OAuthError::invalid_request("the token was already revoked"));
            }
            continue;
        };
        if record.client_id != client.id && !may_revoke_foreign(state, &settings, &client) {
            if state.has_fault(Fault::ForeignToken200)
                && !settings.allow_revoke_for_other_clients
                && !client.has_scope(REVOKE_ANY_TOKEN_SCOPE)
            {
                continue;
            }
            return Err(OAuthError::invalid_request(
                "the token was not issued to this client",
            ));
        }
        found.push((value, record));
    }
    let mut victims = Vec::with_capacity(found.len() * 2);
    for (value, record) in &found {
        victims.extend(victims_of(state, value, record, hint));
        if state.has_fault(Fault::RevokedToken400) {
            state.remember_revoked(hash_token(value));
        }
    }
    execute(state, victims).await?;
    finish(&extra_headers)
}

fn may_revoke_foreign(state: &AppState, settings: &Settings, client: &Client) -> bool {
    if state.has_fault(Fault::CrossClientAllowed) {
        return true;
    }
    if state.has_fault(Fault::CrossClientRefused) || client.auth_method == AuthMethod::None {
        return false;
    }
    let setting = settings.allow_revoke_for_other_clients
        || state.has_fault(Fault::OtherClientsSettingIgnored);
    let scope = client.has_scope(REVOKE_ANY_TOKEN_SCOPE) || state.has_fault(Fault::ScopeIgnored);
    setting && scope
}

/// What revoking one found token removes: the token itself and its whole grant (named both
/// ways, so that the token goes even if the store lost its grant's index), unless a fault says
/// otherwise.
fn victims_of(
    state: &AppState,
    value: &str,
    record: &TokenRecord,
    hint: Option<&str>,
) -> Vec<Victim> {
    match (state.fault, record.kind) {
        (Some(Fault::RefreshIgnored), TokenKind::Refresh) if hint == Some("refresh_token") => {
            vec![]
        }
        (Some(Fault::AccessIgnored), TokenKind::Access) if hint == Some("access_token") => vec![],
        (Some(Fault::NoCascadeRt), TokenKind::Refresh)
        | (Some(Fault::NoCascadeAt), TokenKind::Access) => vec![Victim::Token(hash_token(value))],
        (Some(Fault::CascadeTooWide), _) => vec![Victim::Client(record.client_id.clone(), None)],
        _ => vec![
            Victim::Token(hash_token(value)),
            Victim::Grant(record.grant_id),
        ],
    }
}

/// Revokes `victims` in one store transaction, now or (with a delaying fault or quirk) in a
/// background job, then schedules what the aftermath faults do. With nothing to revoke it
/// still asks the store, which answers once whatever removed the tokens is durable.
async fn execute(state: &Arc<AppState>, victims: Vec<Victim>) -> Result<(), OAuthError> {
    if state.has_fault(Fault::RevocationNoop) {
        return Ok(());
    }
    let delay = if state.has_fault(Fault::LazyRevocation) {
        LAZY_DELAY
    } else if state.has_quirk(Quirk::RevocationDelay) {
        quirks::QUIRK_REVOCATION_DELAY
    } else {
        Duration::ZERO
    };
    if delay.is_zero() || victims.is_empty() {
        let removed = state.store.revoke(&victims).await?;
        aftermath(state, removed);
        return Ok(());
    }
    let job_state = state.clone();
    state.jobs.spawn(async move {
        tokio::time::sleep(delay).await;
        match job_state.store.revoke(&victims).await {
            Ok(removed) => aftermath(&job_state, removed),
            Err(e) => tracing::error!("delayed revocation: {e}"),
        }
    });
    Ok(())
}

/// The faults that act after a revocation: a late over-revocation, a resurrection.
fn aftermath(state: &Arc<AppState>, removed: Removed) {
    if removed.is_empty() {
        return;
    }
    if state.has_fault(Fault::BearerRevokedAccepted) {
        let mut ghosts = state
            .revoked_access
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for (hash, record) in &removed {
            if record.kind == TokenKind::Access {
                ghosts.insert(*hash, record.client_id.clone());
            }
        }
    }
    let job_state = state.clone();
    match state.fault {
        Some(Fault::LateOverRevocation) => {
            let clients: HashSet<String> =
                removed.iter().map(|(_, r)| r.client_id.clone()).collect();
            state.jobs.spawn(async move {
                tokio::time::sleep(FAULT_AFTERMATH_DELAY).await;
                let victims: Vec<Victim> = clients
                    .into_iter()
                    .map(|c| Victim::Client(c, None))
                    .collect();
                if let Err(e) = job_state.store.revoke(&victims).await {
                    tracing::error!("late over-revocation: {e}");
                }
            });
        }
        Some(Fault::Resurrection) => {
            state.jobs.spawn(async move {
                tokio::time::sleep(FAULT_AFTERMATH_DELAY).await;
                if let Err(e) = job_state.store.reinstate(&removed).await {
                    tracing::error!("resurrection: {e}");
                }
            });
        }
        _ => {}
    }
}

/// 200 with an empty body, `Cache-Control: no-store` and `Pragma: no-cache`.
fn success(state: &AppState, extra_headers: &[(String, String)]) -> Response {
    let mut response = StatusCode::OK.into_response();
    let h = response.headers_mut();
    if !state.has_fault(Fault::NoCacheHeaders) {
        let cache_control = if state.has_quirk(Quirk::CacheControlExtra) {
            "no-cache, no-store, max-age=0, must-revalidate"
        } else {
            "no-store"
        };
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        );
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    for (name, value) in extra_headers {
        match (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            (Ok(n), Ok(v)) => {
                h.insert(n, v);
            }
            _ => tracing::warn!("revoke script returned an invalid header; ignored"),
        }
    }
    response
}

/// Applies the faults that reshape error answers of the revocation endpoint.
pub fn reshape_fault(state: &AppState, is_revoke: bool, response: &mut Response) {
    if !is_revoke || state.fault.is_none() || response.status().as_u16() < 400 {
        return;
    }
    let h = response.headers_mut();
    match state.fault {
        Some(Fault::ErrorNotJson) => {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        }
        Some(Fault::NoWwwAuthenticate) => {
            h.remove(header::WWW_AUTHENTICATE);
        }
        Some(Fault::NoRealm) if h.contains_key(header::WWW_AUTHENTICATE) => {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
        }
        _ => {}
    }
}
