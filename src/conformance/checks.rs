//! The checks: small pure functions over an observed answer, each unit-tested, used by the
//! step definitions. A check returns `Ok(())` or the reason it failed, in words a report shows.

use crate::sut::http::HttpResponse;

/// The `error` codes RFC 6749 5.2 and RFC 7009 2.2.1 define for a revocation endpoint,
/// plus the RFC 6749 4.1.2.1 / Janssen `access_denied` and the generic server errors.
pub const REGISTERED_ERRORS: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "unsupported_token_type",
    "access_denied",
    "server_error",
    "temporarily_unavailable",
];

/// RFC 6749 5.2: `error` and `error_description` use %x20-21 / %x23-5B / %x5D-7E only.
pub fn allowed_error_chars(text: &str) -> bool {
    text.chars()
        .all(|c| matches!(c, ' '..='~') && c != '"' && c != '\\')
}

fn is_json_content_type(response: &HttpResponse) -> bool {
    response
        .header("content-type")
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

/// A well-formed OAuth error answer: JSON, a registered `error`, allowed characters.
pub fn well_formed_error(response: &HttpResponse) -> Result<(), String> {
    if !is_json_content_type(response) {
        return Err(format!(
            "Content-Type is {:?}, not application/json",
            response.header("content-type").unwrap_or("(none)")
        ));
    }
    let json = response.json().ok_or("the body is not JSON")?;
    let error = json
        .get("error")
        .and_then(|e| e.as_str())
        .ok_or("the JSON body has no string `error` member")?;
    if !REGISTERED_ERRORS.contains(&error) {
        return Err(format!(
            "`error` is {error:?}, not a code RFC 6749 5.2 / RFC 7009 2.2.1 defines"
        ));
    }
    if !allowed_error_chars(error) {
        return Err("`error` has characters RFC 6749 5.2 does not allow".into());
    }
    if let Some(description) = json.get("error_description") {
        let text = description
            .as_str()
            .ok_or("`error_description` is not a string")?;
        if !allowed_error_chars(text) {
            return Err("`error_description` has characters RFC 6749 5.2 does not allow".into());
        }
    }
    Ok(())
}

/// The `error` member, whatever the content type claims.
pub fn error_code(response: &HttpResponse) -> Option<String> {
    response.json()?.get("error")?.as_str().map(str::to_owned)
}

/// Status and `error` code as expected.
pub fn oauth_error(response: &HttpResponse, code: &str, status: u16) -> Result<(), String> {
    let seen = error_code(response);
    if response.status == status && seen.as_deref() == Some(code) {
        Ok(())
    } else {
        Err(format!(
            "HTTP {} with error {}",
            response.status,
            seen.map_or("(none)".into(), |c| format!("{c:?}"))
        ))
    }
}

/// `WWW-Authenticate` of the Basic scheme (RFC 7235: the scheme is case-insensitive).
pub fn basic_challenge(response: &HttpResponse) -> Result<(), String> {
    match response.header("www-authenticate") {
        Some(v) if v.trim_start().to_ascii_lowercase().starts_with("basic") => Ok(()),
        Some(v) => Err(format!("WWW-Authenticate is {v:?}, not the Basic scheme")),
        None => Err("no WWW-Authenticate header".into()),
    }
}

/// A header starting with a prefix (case-insensitive on the scheme part).
pub fn header_starts_with(response: &HttpResponse, name: &str, prefix: &str) -> Result<(), String> {
    match response.header(name) {
        Some(v)
            if v.to_ascii_lowercase()
                .starts_with(&prefix.to_ascii_lowercase()) =>
        {
            Ok(())
        }
        Some(v) => Err(format!("{name} is {v:?}")),
        None => Err(format!("no {name} header")),
    }
}

/// A header with an exact value (directives compared case-insensitively).
pub fn header_equals(response: &HttpResponse, name: &str, value: &str) -> Result<(), String> {
    match response.header(name) {
        Some(v) if v.trim().eq_ignore_ascii_case(value) => Ok(()),
        Some(v) => Err(format!("{name} is {v:?}")),
        None => Err(format!("no {name} header")),
    }
}

/// CORS: `Access-Control-Allow-Origin` names the origin (or `*`).
pub fn allows_origin(response: &HttpResponse, origin: &str) -> Result<(), String> {
    match response.header("access-control-allow-origin") {
        Some(v) if v == origin || v == "*" => Ok(()),
        other => Err(format!("Access-Control-Allow-Origin {other:?}")),
    }
}

/// CORS preflight: `Access-Control-Allow-Methods` lists the method (or `*`).
pub fn allows_method(response: &HttpResponse, method: &str) -> Result<(), String> {
    let methods = response
        .header("access-control-allow-methods")
        .unwrap_or("");
    if methods
        .split(',')
        .map(str::trim)
        .any(|m| m.eq_ignore_ascii_case(method) || m == "*")
    {
        Ok(())
    } else {
        Err(format!("Access-Control-Allow-Methods {methods:?}"))
    }
}

/// Whether two answers can be told apart by status or body.
pub fn distinguishable(a: &HttpResponse, b: &HttpResponse) -> Option<String> {
    if a.status != b.status {
        return Some(format!("status {} vs {}", a.status, b.status));
    }
    if a.body != b.body {
        return Some("same status, different bodies".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, content_type: &str, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn well_formed_error_accepts_json_with_registered_code() {
        let r = response(
            400,
            "application/json;charset=UTF-8",
            r#"{"error":"invalid_request","error_description":"no token"}"#,
        );
        assert_eq!(well_formed_error(&r), Ok(()));
    }

    #[test]
    fn well_formed_error_rejects_each_defect() {
        let text = response(400, "text/plain", r#"{"error":"invalid_request"}"#);
        assert!(well_formed_error(&text)
            .unwrap_err()
            .contains("Content-Type"));
        let html = response(400, "application/json", "<html>");
        assert!(well_formed_error(&html).unwrap_err().contains("not JSON"));
        let unknown = response(400, "application/json", r#"{"error":"oops"}"#);
        assert!(well_formed_error(&unknown).unwrap_err().contains("oops"));
        let quote = response(
            400,
            "application/json",
            r#"{"error":"invalid_request","error_description":"a \"b\""}"#,
        );
        assert!(well_formed_error(&quote)
            .unwrap_err()
            .contains("error_description"));
        let missing = response(400, "application/json", r#"{"message":"x"}"#);
        assert!(well_formed_error(&missing).is_err());
    }

    #[test]
    fn oauth_error_needs_status_and_code() {
        let r = response(400, "application/json", r#"{"error":"invalid_request"}"#);
        assert!(oauth_error(&r, "invalid_request", 400).is_ok());
        assert!(oauth_error(&r, "invalid_client", 400).is_err());
        assert!(oauth_error(&r, "invalid_request", 401).is_err());
    }

    #[test]
    fn basic_challenge_is_case_insensitive_and_rejects_bearer() {
        let mut r = response(401, "application/json", "{}");
        assert!(basic_challenge(&r).is_err());
        r.headers
            .push(("WWW-Authenticate".into(), "basic realm=\"x\"".into()));
        assert!(basic_challenge(&r).is_ok());
        r.headers[1].1 = "Bearer error=\"invalid_client\"".into();
        assert!(basic_challenge(&r).unwrap_err().contains("Bearer"));
    }

    #[test]
    fn cors_origin_and_method() {
        let mut r = response(200, "text/html", "");
        assert!(allows_origin(&r, "https://a.example").is_err());
        assert!(allows_method(&r, "POST").is_err());
        r.headers.push((
            "Access-Control-Allow-Origin".into(),
            "https://b.example".into(),
        ));
        r.headers
            .push(("Access-Control-Allow-Methods".into(), "GET, post".into()));
        assert!(allows_origin(&r, "https://a.example").is_err());
        assert!(allows_origin(&r, "https://b.example").is_ok());
        assert!(allows_method(&r, "POST").is_ok());
        assert!(allows_method(&r, "DELETE").is_err());
    }

    #[test]
    fn headers_and_distinguishability() {
        let mut r = response(200, "text/html", "");
        r.headers.push(("Cache-Control".into(), "No-Store".into()));
        assert!(header_equals(&r, "cache-control", "no-store").is_ok());
        assert!(header_equals(&r, "pragma", "no-cache").is_err());
        assert!(header_starts_with(&r, "Cache-Control", "no-").is_ok());
        let other = response(400, "application/json", "{}");
        assert!(distinguishable(&r, &other).unwrap().contains("200 vs 400"));
        assert!(distinguishable(&r, &r.clone()).is_none());
    }
}
