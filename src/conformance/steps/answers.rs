//! Then steps about the last answer: status, OAuth error, headers (read by value and by
//! directive, across repeated header fields), body, CORS, and comparisons of remembered
//! answers.

use super::{guard, last};
use crate::conformance::checks;
use crate::conformance::world::RevWorld;
use cucumber::then;

#[then(regex = r"^the response status is (\d+)$")]
fn status_is(w: &mut RevWorld, status: u16) {
    guard!(w);
    let Some(r) = last(w) else { return };
    let result = if r.status == status {
        Ok(())
    } else {
        Err(format!("HTTP {}: {}", r.status, r.text_snippet()))
    };
    w.outcome
        .check("response status", format!("HTTP {status}"), result);
}

#[then(regex = r"^the response status is 200 or a 4xx$")]
fn status_200_or_4xx(w: &mut RevWorld) {
    guard!(w);
    let Some(r) = last(w) else { return };
    let result = if r.status == 200 || (400..500).contains(&r.status) {
        Ok(())
    } else {
        Err(format!("HTTP {}: {}", r.status, r.text_snippet()))
    };
    w.outcome
        .check("response status", "HTTP 200 or a 4xx", result);
}

#[then(regex = r#"^the response is the OAuth error "([a-z_]+)" with status (\d+)$"#)]
fn oauth_error(w: &mut RevWorld, code: String, status: u16) {
    guard!(w);
    let Some(r) = last(w) else { return };
    w.outcome.check(
        "OAuth error",
        format!("HTTP {status} with error \"{code}\""),
        checks::oauth_error(&r, &code, status),
    );
}

/// RFC 6749 5.2: 401 is required when the client authenticated through the Authorization
/// header; with credentials in the body the server "MAY" answer 401, and 400 is the default.
#[then(
    regex = r#"^the response is the OAuth error "invalid_client" for the way the client authenticated$"#
)]
fn invalid_client(w: &mut RevWorld) {
    guard!(w);
    let Some(r) = last(w) else { return };
    let (expected, allowed): (&str, &[u16]) = if w.last_sent_basic {
        (
            "HTTP 401 with error \"invalid_client\" (Basic authentication)",
            &[401],
        )
    } else {
        (
            "HTTP 400 or 401 with error \"invalid_client\" (credentials in the body)",
            &[400, 401],
        )
    };
    let result = allowed
        .iter()
        .map(|s| checks::oauth_error(&r, "invalid_client", *s))
        .find(Result::is_ok)
        .unwrap_or_else(|| checks::oauth_error(&r, "invalid_client", allowed[0]));
    w.outcome.check("OAuth error", expected, result);
}

#[then(regex = r"^the response is a well-formed OAuth error$")]
fn well_formed(w: &mut RevWorld) {
    guard!(w);
    let Some(r) = last(w) else { return };
    if r.status < 400 {
        w.outcome.not_applicable(format!(
            "the server answered HTTP {}, so there was no error answer to examine",
            r.status
        ));
        return;
    }
    w.outcome.check(
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
    w.outcome.check("request refused", "a 4xx status", result);
}

#[then(regex = r#"^the error code should be "([a-z_]+)"$"#)]
fn error_should(w: &mut RevWorld, code: String) {
    guard!(w);
    let Some(r) = last(w) else { return };
    let seen = r.error_code();
    let result = if seen.as_deref() == Some(code.as_str()) {
        Ok(())
    } else {
        Err(format!("error {seen:?}"))
    };
    w.outcome
        .should("error code (SHOULD)", format!("\"{code}\""), result);
}

#[then(regex = r#"^the response's (Cache-Control|Pragma) has the directive "([^"]+)"$"#)]
fn directive(w: &mut RevWorld, header: String, wanted: String) {
    guard!(w);
    let Some(r) = last(w) else { return };
    w.outcome.check(
        format!("{header} directives"),
        format!("{wanted} among them"),
        checks::has_directive(&r, &header, &wanted),
    );
}

#[then(regex = r"^the response carries a Basic challenge( with a realm)?$")]
fn basic_challenge(w: &mut RevWorld, realm: String) {
    guard!(w);
    let Some(r) = last(w) else { return };
    let realm = !realm.is_empty();
    w.outcome.check(
        "WWW-Authenticate",
        if realm {
            "a Basic challenge with a realm"
        } else {
            "a Basic challenge"
        },
        checks::basic_challenge(&r, realm),
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
    w.outcome.check("response body", "empty", result);
}

#[then(regex = r"^a Retry-After header is recorded if present$")]
fn retry_after(w: &mut RevWorld) {
    guard!(w);
    let Some(r) = last(w) else { return };
    let note = match r.header("retry-after") {
        Some(v) => format!("Retry-After: {v}"),
        None => "no Retry-After header".into(),
    };
    w.outcome.observe(note);
}

fn cors_origin(w: &RevWorld) -> String {
    w.ctx()
        .target
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
    w.outcome.check(
        "preflight origin",
        origin.clone(),
        checks::allows_origin(&r, &origin),
    );
    w.outcome.check(
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
    w.outcome.check(
        "CORS answer",
        origin.clone(),
        checks::allows_origin(&r, &origin),
    );
}

#[then(regex = r#"^record whether the answers "([^"]*)" and "([^"]*)" can be told apart$"#)]
fn record_oracle(w: &mut RevWorld, a: String, b: String) {
    guard!(w);
    let (Some(ra), Some(rb)) = (w.remembered.get(&a).cloned(), w.remembered.get(&b).cloned())
    else {
        w.outcome
            .error(format!("answers {a:?} and {b:?} were not both remembered"));
        return;
    };
    let note = match checks::distinguishable(&ra, &rb) {
        Some(how) => format!("the {a} and {b} answers can be told apart ({how})"),
        None => format!("the {a} and {b} answers look the same (status and body)"),
    };
    w.outcome.observe(note);
}
