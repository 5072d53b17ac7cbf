//! Discovery: the OpenID configuration and the RFC 8414 metadata. Both publish only what works:
//! an endpoint whose feature flag is off is left out, the introspection methods are those a
//! client can use there (a public client cannot introspect), the certificate methods and
//! `mtls_endpoint_aliases` only when the mTLS listener runs, and the algorithms client
//! assertions may use.

use crate::faults::quirks::Quirk;
use crate::faults::Fault;
use crate::server::config::{INTROSPECTION_FLAG, REVOKE_TOKEN_FLAG, USERINFO_FLAG};
use crate::server::error::OAuthError;
use crate::server::extract::assertion::SIGNING_ALGS;
use crate::server::paths;
use crate::server::state::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

fn metadata(state: &AppState, for_oidc: bool) -> Value {
    let settings = state.settings();
    let mtls = state.mtls_base.is_some();
    let mut methods = vec![
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "client_secret_jwt",
    ];
    if mtls {
        methods.extend(["tls_client_auth", "self_signed_tls_client_auth"]);
    }
    // A public client cannot introspect: only the methods that work are published.
    let introspection_methods = methods.clone();
    methods.push("none");
    let mut signing_algs: Vec<&str> = if state.has_quirk(Quirk::Es256OnlyPublished) {
        vec!["ES256"]
    } else {
        SIGNING_ALGS.to_vec()
    };
    if state.has_fault(Fault::SigningAlgsListNone) {
        signing_algs.push("none");
    }
    let mut scopes: Vec<String> = state
        .clients
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .flat_map(|c| c.scopes.clone())
        .collect();
    scopes.sort();
    scopes.dedup();
    let mut doc = json!({
        "issuer": state.issuer,
        "token_endpoint": state.url(paths::TOKEN),
        "token_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_methods_supported": methods,
        "token_endpoint_auth_signing_alg_values_supported": signing_algs,
        "revocation_endpoint_auth_signing_alg_values_supported": signing_algs,
        "introspection_endpoint_auth_signing_alg_values_supported": signing_algs,
        "grant_types_supported": ["client_credentials", "password", "refresh_token"],
        "response_types_supported": ["token"],
        "scopes_supported": scopes,
        "subject_types_supported": ["public"],
    });
    let publish_revocation = if for_oidc {
        !state.has_fault(Fault::OidcDiscoveryOmitsRevocation)
    } else {
        !state.has_fault(Fault::MetadataOmitsRevocation)
    } && (settings.revoke_enabled()
        || state.has_fault(Fault::DiscoveryIgnoresFlag));
    if publish_revocation {
        doc["revocation_endpoint"] = Value::String(state.url(paths::REVOKE));
    }
    if settings.feature_enabled(INTROSPECTION_FLAG) {
        doc["introspection_endpoint"] = Value::String(state.url(paths::INTROSPECTION));
        doc["introspection_endpoint_auth_methods_supported"] = json!(introspection_methods);
    }
    if settings.feature_enabled(USERINFO_FLAG) {
        doc["userinfo_endpoint"] = Value::String(state.url(paths::USERINFO));
    }
    if mtls {
        // RFC 8705 5: where a client authenticating with its certificate goes.
        let mut aliases = serde_json::Map::new();
        let alias = |path| Value::String(state.mtls_url(path).unwrap_or_default());
        aliases.insert("token_endpoint".into(), alias(paths::TOKEN));
        if doc.get("revocation_endpoint").is_some() {
            // The fault publishes the main listener, which never asks for a certificate.
            let revocation = if state.has_fault(Fault::MtlsAliasWithoutClientAuth) {
                Value::String(state.url(paths::REVOKE))
            } else {
                alias(paths::REVOKE)
            };
            aliases.insert("revocation_endpoint".into(), revocation);
        }
        if doc.get("introspection_endpoint").is_some() {
            aliases.insert("introspection_endpoint".into(), alias(paths::INTROSPECTION));
        }
        if doc.get("userinfo_endpoint").is_some() {
            aliases.insert("userinfo_endpoint".into(), alias(paths::USERINFO));
        }
        doc["mtls_endpoint_aliases"] = Value::Object(aliases);
        doc["tls_client_certificate_bound_access_tokens"] = Value::Bool(false);
    }
    doc
}

/// Both discovery documents; with the `discovery-503-when-disabled` quirk a 503 while the
/// revocation endpoint is disabled.
fn discovery(state: &AppState, for_oidc: bool) -> Result<Json<Value>, OAuthError> {
    if state.has_quirk(Quirk::Discovery503WhenDisabled)
        && !state.settings().feature_enabled(REVOKE_TOKEN_FLAG)
    {
        return Err(OAuthError::temporarily_unavailable(5));
    }
    Ok(Json(metadata(state, for_oidc)))
}

/// `GET /.well-known/openid-configuration`.
pub async fn oidc_discovery(State(state): State<Arc<AppState>>) -> Result<Json<Value>, OAuthError> {
    discovery(&state, true)
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
pub async fn as_metadata(State(state): State<Arc<AppState>>) -> Result<Json<Value>, OAuthError> {
    discovery(&state, false)
}
