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

/// Status and `error` code as expected.
pub fn oauth_error(response: &HttpResponse, code: &str, status: u16) -> Result<(), String> {
    let seen = response.error_code();
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

/// One challenge of a `WWW-Authenticate` value: the scheme and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

/// Splits a `WWW-Authenticate` value into its challenges (RFC 7235 2.1: a value may hold
/// several, `Bearer realm="a", error="x", Basic realm="b"`). Quoted strings may hold commas.
pub fn parse_challenges(value: &str) -> Vec<Challenge> {
    // Split on commas outside quotes.
    let mut items = Vec::new();
    let (mut cur, mut quoted, mut escaped) = (String::new(), false, false);
    for c in value.chars() {
        match c {
            _ if escaped => {
                cur.push(c);
                escaped = false;
            }
            '\\' if quoted => {
                cur.push(c);
                escaped = true;
            }
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => items.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    items.push(cur);
    let mut challenges: Vec<Challenge> = Vec::new();
    for item in items.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        // `scheme` or `scheme param=value` or `scheme token68` starts a challenge;
        // `name=value` continues the current one.
        let first = item.split_whitespace().next().unwrap_or("");
        let (scheme, rest) = if !first.contains('=') {
            match item.split_once(char::is_whitespace) {
                Some((s, r)) => (Some(s), r.trim()),
                None => (Some(item), ""),
            }
        } else {
            (None, item)
        };
        if let Some(scheme) = scheme {
            challenges.push(Challenge {
                scheme: scheme.to_owned(),
                params: vec![],
            });
        }
        if let (Some(current), Some((k, v))) = (challenges.last_mut(), rest.split_once('=')) {
            current.params.push((
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_owned(),
            ));
        }
    }
    challenges
}

/// Every challenge of every `WWW-Authenticate` header of an answer.
pub fn challenges(response: &HttpResponse) -> Vec<Challenge> {
    response
        .header_values("www-authenticate")
        .into_iter()
        .flat_map(parse_challenges)
        .collect()
}

/// A `WWW-Authenticate` challenge of the Basic scheme (case-insensitive), in any header field
/// and at any position; with `realm`, it must carry a realm parameter.
pub fn basic_challenge(response: &HttpResponse, realm: bool) -> Result<(), String> {
    let all = challenges(response);
    if all.is_empty() {
        return Err("no WWW-Authenticate header".into());
    }
    let basic: Vec<&Challenge> = all
        .iter()
        .filter(|c| c.scheme.eq_ignore_ascii_case("basic"))
        .collect();
    let shown = || {
        response
            .header_values("www-authenticate")
            .iter()
            .map(|v| format!("{v:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match basic.first() {
        None => Err(format!(
            "WWW-Authenticate {} has no Basic challenge",
            shown()
        )),
        Some(_)
            if realm
                && !basic
                    .iter()
                    .any(|c| c.params.iter().any(|(k, _)| k == "realm")) =>
        {
            Err(format!(
                "the Basic challenge of WWW-Authenticate {} has no realm",
                shown()
            ))
        }
        Some(_) => Ok(()),
    }
}

/// A directive of a comma-separated header (`Cache-Control`, `Pragma`), in any of its header
/// fields, compared case-insensitively and ignoring arguments (`max-age=0`).
pub fn has_directive(response: &HttpResponse, name: &str, directive: &str) -> Result<(), String> {
    let values = response.header_values(name);
    if values.is_empty() {
        return Err(format!("no {name} header"));
    }
    let found = values.iter().flat_map(|v| v.split(',')).any(|d| {
        let d = d.trim();
        let d = d.split('=').next().unwrap_or(d).trim();
        d.eq_ignore_ascii_case(directive)
    });
    if found {
        Ok(())
    } else {
        Err(format!(
            "{name} is {:?}, without {directive}",
            values.join(", ")
        ))
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
            truncated: false,
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
    fn only_json_media_types_count_as_json() {
        let body = r#"{"error":"invalid_request"}"#;
        for json in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/problem+json",
        ] {
            assert!(
                well_formed_error(&response(400, json, body)).is_ok(),
                "{json}"
            );
        }
        for not_json in [
            "application/xml",
            "text/x+json",
            "text/json",
            "application/jsonp",
        ] {
            assert!(
                well_formed_error(&response(400, not_json, body)).is_err(),
                "{not_json}"
            );
        }
    }

    #[test]
    fn oauth_error_needs_status_and_code() {
        let r = response(400, "application/json", r#"{"error":"invalid_request"}"#);
        assert!(oauth_error(&r, "invalid_request", 400).is_ok());
        assert!(oauth_error(&r, "invalid_client", 400).is_err());
        assert!(oauth_error(&r, "invalid_request", 401).is_err());
    }

    #[test]
    fn challenges_are_found_in_any_field_and_position() {
        let mut r = response(401, "application/json", "{}");
        assert!(basic_challenge(&r, false)
            .unwrap_err()
            .contains("no WWW-Authenticate"));
        r.headers.push((
            "WWW-Authenticate".into(),
            "Bearer error=\"invalid_client\"".into(),
        ));
        assert!(basic_challenge(&r, false)
            .unwrap_err()
            .contains("no Basic challenge"));
        r.headers
            .push(("www-authenticate".into(), "basic realm=\"x\"".into()));
        assert!(basic_challenge(&r, true).is_ok());
        let one_field = parse_challenges(
            r#"Bearer realm="a, b", error="x", Basic realm="c", Digest nonce="n""#,
        );
        let schemes: Vec<&str> = one_field.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["Bearer", "Basic", "Digest"]);
        assert_eq!(
            one_field[0].params,
            [
                ("realm".to_string(), "a, b".to_string()),
                ("error".into(), "x".into())
            ]
        );
        assert_eq!(
            one_field[1].params,
            [("realm".to_string(), "c".to_string())]
        );
        // An escaped quote inside a quoted string does not end it, so the comma after it stays
        // inside; a backslash outside quotes escapes nothing, so the comma after it splits.
        let escaped = parse_challenges(r#"Basic realm="a \"x, y\" b", Bearer realm="z""#);
        let schemes: Vec<&str> = escaped.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["Basic", "Bearer"], "{escaped:?}");
        assert!(escaped[0].params[0].1.contains("x, y"), "{escaped:?}");
        let unquoted = parse_challenges(r#"Basic realm=a\, Bearer realm="z""#);
        let schemes: Vec<&str> = unquoted.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["Basic", "Bearer"], "{unquoted:?}");
        let bare = response(401, "application/json", "{}");
        let mut bare = bare;
        bare.headers
            .push(("WWW-Authenticate".into(), "Basic".into()));
        assert!(basic_challenge(&bare, false).is_ok());
        assert!(basic_challenge(&bare, true)
            .unwrap_err()
            .contains("no realm"));
    }

    #[test]
    fn directives_are_read_one_by_one() {
        let mut r = response(200, "text/html", "");
        assert!(has_directive(&r, "Cache-Control", "no-store")
            .unwrap_err()
            .contains("no Cache-Control"));
        r.headers.push((
            "Cache-Control".into(),
            "no-cache, No-Store, max-age=0".into(),
        ));
        assert!(has_directive(&r, "cache-control", "no-store").is_ok());
        assert!(has_directive(&r, "cache-control", "max-age").is_ok());
        assert!(has_directive(&r, "cache-control", "private")
            .unwrap_err()
            .contains("without private"));
        r.headers.push(("Cache-Control".into(), "private".into()));
        assert!(has_directive(&r, "cache-control", "private").is_ok());
        let mut exact = response(200, "text/html", "");
        exact
            .headers
            .push(("Cache-Control".into(), "no-storex".into()));
        assert!(has_directive(&exact, "cache-control", "no-store").is_err());
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
    fn distinguishability() {
        let r = response(200, "text/html", "");
        let other = response(400, "application/json", "{}");
        assert!(distinguishable(&r, &other).unwrap().contains("200 vs 400"));
        assert!(distinguishable(&r, &r.clone()).is_none());
        let mut body = r.clone();
        body.body = b"x".to_vec();
        assert!(distinguishable(&r, &body)
            .unwrap()
            .contains("different bodies"));
    }
}
