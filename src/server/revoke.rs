//! The revocation endpoint: RFC 7009 plus every Janssen rule, in Janssen's order (client
//! authentication, then the `REVOKE_TOKEN` feature flag, then the token), and the layer that
//! applies the response-shaping faults.
//!
//! A revocation removes the token's whole grant (the Janssen cascade, both directions). With
//! `allowAllValueForRevokeEndpoint`, `token=all` or `token_type_hint=all` revokes every token
//! of the authenticated client (filtered by an access/refresh hint). A token of another client
//! is revoked only with `allowRevokeForOtherClients` and the caller's `revoke_any_token` scope;
//! otherwise the request is refused with 400 `invalid_request` before anything is revoked.

use super::config::REVOKE_ANY_TOKEN_SCOPE;
use super::error::OAuthError;
use super::faults::Fault;
use super::request::{self, Form, Presented};
use super::store::{hash_token, TokenKind, TokenRecord};
use super::{now, paths, AppState};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;

/// How long the `lazy-revocation` fault waits before revoking.
const LAZY_DELAY: Duration = Duration::from_millis(1500);
/// The request header that makes the server answer 503 when `simulate_unavailable_header` is on.
pub const SIMULATE_HEADER: &str = "x-revspec-simulate";

/// `POST /revoke`.
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    req: Request<Body>,
) -> Result<Response, OAuthError> {
    let (parts, body) = req.into_parts();
    let bytes = request::read_body(body).await?;
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
            &bytes,
            state.has_fault(Fault::DuplicateParamAccepted),
        )?
    };
    if state.has_fault(Fault::QueryHonoured) {
        if let Some(query) = parts.uri.query() {
            let from_query = Form::parse_urlencoded(query.as_bytes(), true)?;
            form = form.merged_with(&from_query);
        }
    }
    revoke_form(&state, &parts.headers, form).await
}

/// Any other method: never revokes (but the `get-revokes` fault does for GET).
pub async fn revoke_get(
    State(state): State<Arc<AppState>>,
    req: Request<Body>,
) -> Result<Response, OAuthError> {
    if state.has_fault(Fault::GetRevokes) {
        let form = Form::parse_urlencoded(req.uri().query().unwrap_or("").as_bytes(), true)?;
        return revoke_form(&state, req.headers(), form).await;
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

fn authenticate_for_revoke(
    state: &AppState,
    headers: &HeaderMap,
    form: &Form,
) -> Result<super::config::Client, OAuthError> {
    let mut form = form.clone();
    if state.has_fault(Fault::TwoAuthMethodsAccepted) && headers.contains_key(header::AUTHORIZATION)
    {
        form.remove("client_secret");
    }
    let presented = request::presented_credentials(headers, &form)?;
    let clients = state.clients.read().unwrap_or_else(|p| p.into_inner());
    match &presented {
        Presented::Nothing if state.has_fault(Fault::NoClientAuth) => {
            // The fault: trust the token to say whose it is.
            let owner = form
                .non_empty("token")
                .and_then(|t| state.store.get(t))
                .and_then(|r| clients.get(&r.client_id).cloned());
            return owner
                .ok_or_else(|| OAuthError::invalid_client("no client authentication included"));
        }
        Presented::Basic { client_id, .. } if state.has_fault(Fault::WrongSecretAccepted) => {
            if let Some(c) = clients.get(client_id) {
                return Ok(c.clone());
            }
        }
        Presented::PublicId { .. } if state.has_fault(Fault::PublicClientRejected) => {
            return Err(OAuthError::invalid_client("public clients may not revoke"));
        }
        Presented::Post { .. } if state.has_fault(Fault::PostAuthBroken) => {
            return Err(OAuthError::invalid_client("client authentication failed"));
        }
        Presented::Post { client_id, secret }
            if state.has_fault(Fault::QueryHonoured) || state.has_fault(Fault::GetRevokes) =>
        {
            // These faults take credentials from the query whatever method the client has.
            if let Some(c) = clients.get(client_id) {
                if c.secret
                    .as_deref()
                    .is_some_and(|s| request::secret_matches(s, secret))
                {
                    return Ok(c.clone());
                }
            }
        }
        _ => {}
    }
    request::authenticate(&presented, |id| clients.get(id)).cloned()
}

fn kind_of_hint(hint: Option<&str>) -> Option<TokenKind> {
    match hint {
        Some("access_token") => Some(TokenKind::Access),
        Some("refresh_token") => Some(TokenKind::Refresh),
        _ => None,
    }
}

/// The revocation proper, once the parameters are read.
async fn revoke_form(
    state: &Arc<AppState>,
    headers: &HeaderMap,
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
    let client = authenticate_for_revoke(state, headers, &form)?;
    if let Some(refusal) = flag_refusal() {
        return Err(refusal);
    }
    if state.simulate_unavailable_header
        && headers
            .get(SIMULATE_HEADER)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"unavailable"))
    {
        return Err(OAuthError::temporarily_unavailable(1));
    }
    let token = match form.get("token") {
        None if state.has_fault(Fault::TokenOptional) => return Ok(success(state, &[])),
        None => {
            return Err(OAuthError::invalid_request(
                "the token parameter is required",
            ))
        }
        Some("") if state.has_fault(Fault::EmptyTokenAccepted) => return Ok(success(state, &[])),
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
    let mut extra_headers = Vec::new();
    if let Some(script) = state
        .script
        .as_ref()
        .filter(|_| !state.has_fault(Fault::ScriptIgnored))
    {
        let decision = script.decide(&client.id, token, hint, headers);
        extra_headers = decision.headers;
        if !decision.allow {
            return Ok(success(state, &extra_headers));
        }
    }

    let wants_all = token.eq_ignore_ascii_case("all") || hint == Some("all");
    let all_enabled =
        settings.allow_all_value_for_revoke_endpoint || state.has_fault(Fault::AllAlways);
    if wants_all && all_enabled && !state.has_fault(Fault::AllIgnored) {
        let kind = kind_of_hint(hint);
        let clients = if state.has_fault(Fault::AllTooWide) {
            state.store.clients_with_tokens()
        } else {
            vec![client.id.clone()]
        };
        for id in clients {
            state.store.revoke_client(&id, kind).map_err(store_error)?;
        }
        return Ok(success(state, &extra_headers));
    }

    // Validate every token before revoking any, so a refusal revokes nothing.
    let now = now();
    let mut found: Vec<(String, TokenRecord)> = Vec::new();
    for value in token.split(' ').filter(|t| !t.is_empty()) {
        let record = state.store.get(value).filter(|r| !r.is_expired(now));
        let record = match (record, kind_of_hint(hint)) {
            (Some(r), Some(k)) if state.has_fault(Fault::HintStrict) && r.kind != k => None,
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
            return Err(OAuthError::invalid_request(
                "the token was not issued to this client",
            ));
        }
        found.push((value.to_owned(), record));
    }
    for (value, record) in found {
        revoke_one(state, &value, &record, hint).await?;
    }
    Ok(success(state, &extra_headers))
}

fn may_revoke_foreign(
    state: &AppState,
    settings: &super::config::Settings,
    client: &super::config::Client,
) -> bool {
    if state.has_fault(Fault::CrossClientAllowed) {
        return true;
    }
    if state.has_fault(Fault::CrossClientRefused) {
        return false;
    }
    let setting = settings.allow_revoke_for_other_clients
        || state.has_fault(Fault::OtherClientsSettingIgnored);
    let scope = client.has_scope(REVOKE_ANY_TOKEN_SCOPE) || state.has_fault(Fault::ScopeIgnored);
    setting && scope
}

fn store_error(e: super::store::StoreError) -> OAuthError {
    tracing::error!("{e}");
    OAuthError::server_error("the token store failed")
}

/// Revokes one found token: its whole grant, unless a fault says otherwise.
async fn revoke_one(
    state: &Arc<AppState>,
    value: &str,
    record: &TokenRecord,
    hint: Option<&str>,
) -> Result<(), OAuthError> {
    let hash = hash_token(value);
    let fault = state.fault;
    match (fault, record.kind) {
        (Some(Fault::RefreshIgnored), TokenKind::Refresh) if hint == Some("refresh_token") => {}
        (Some(Fault::AccessIgnored), TokenKind::Access) if hint == Some("access_token") => {}
        (Some(Fault::NoCascadeRt), TokenKind::Refresh)
        | (Some(Fault::NoCascadeAt), TokenKind::Access) => {
            state.store.revoke_token(&hash).map_err(store_error)?;
        }
        (Some(Fault::CascadeTooWide), _) => {
            state
                .store
                .revoke_client(&record.client_id, None)
                .map_err(store_error)?;
        }
        (Some(Fault::LazyRevocation), _) => {
            let state = state.clone();
            let grant = record.grant_id;
            tokio::spawn(async move {
                tokio::time::sleep(LAZY_DELAY).await;
                if let Err(e) = state.store.revoke_grant(grant) {
                    tracing::error!("{e}");
                }
            });
        }
        _ => {
            state
                .store
                .revoke_grant(record.grant_id)
                .map_err(store_error)?;
        }
    }
    if fault == Some(Fault::RevokedToken400) {
        state.remember_revoked(hash);
    }
    Ok(())
}

/// 200 with an empty body, `Cache-Control: no-store` and `Pragma: no-cache`.
fn success(state: &AppState, extra_headers: &[(String, String)]) -> Response {
    let mut response = StatusCode::OK.into_response();
    let h = response.headers_mut();
    if !state.has_fault(Fault::NoCacheHeaders) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
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
pub async fn fault_layer(
    State(state): State<Arc<AppState>>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let is_revoke = req.uri().path() == paths::REVOKE && req.method() != Method::OPTIONS;
    let mut response = next.run(req).await;
    if !is_revoke || state.fault.is_none() || response.status().as_u16() < 400 {
        return response;
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
    response
}
