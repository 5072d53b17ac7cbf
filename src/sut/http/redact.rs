//! Redaction of what the harness records: secrets in every encoding a server might echo
//! (raw, form- and percent-encoded in either hex case, JSON-escaped, and `id:secret` in Basic
//! credentials, standard or URL-safe base64, padded or not), secret form and query members,
//! credential-like members of JSON bodies at any depth, and any header value that carries
//! Basic or Bearer credentials, whatever the header's name. Tokens named in form bodies stay,
//! so the caller can replace them by their label.

use base64::Engine as _;
use serde_json::Value;
use url::Url;

const SENSITIVE_FORM_KEYS: &[&str] = &[
    "token",
    "client_secret",
    "password",
    "refresh_token",
    "client_assertion",
];
/// JSON members whose string value is a credential or a token (compared case-insensitively).
const SENSITIVE_JSON_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "token",
    "client_secret",
    "password",
    "authorization",
    "client_assertion",
    "assertion",
    "secret",
    "private_key",
];

fn redact_value(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, member) in map.iter_mut() {
                let sensitive = SENSITIVE_JSON_KEYS
                    .iter()
                    .any(|s| k.eq_ignore_ascii_case(s));
                if sensitive && member.is_string() {
                    *member = Value::String("<redacted>".into());
                } else {
                    redact_value(member);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        Value::String(text) if carries_credentials(text) => {
            *text = redact_scheme(text);
        }
        _ => {}
    }
}

pub(crate) fn redact_json_members(map: serde_json::Map<String, Value>) -> String {
    let mut v = Value::Object(map);
    redact_value(&mut v);
    v.to_string()
}

/// A token68 (RFC 7235): what follows `Basic ` or `Bearer ` in credentials. A challenge
/// (`Basic realm="x"`) has quoted parameters instead, and is left alone.
fn token68_len(s: &str) -> usize {
    let n = s
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(b))
        .count();
    let pad = s[n..].bytes().take_while(|b| *b == b'=').count();
    let rest = &s[n + pad..];
    // `realm=` and friends are parameters: a token68 is followed by nothing or a separator.
    if n == 0 || (pad > 0 && rest.starts_with('"')) || rest.starts_with('"') {
        0
    } else {
        n + pad
    }
}

/// Whether a value is `Basic <token68>` or `Bearer <token68>` credentials.
fn carries_credentials(value: &str) -> bool {
    let v = value.trim_start();
    ["basic ", "bearer "].iter().any(|p| {
        v.len() > p.len()
            && v[..p.len()].eq_ignore_ascii_case(p)
            && token68_len(v[p.len()..].trim_start()) > 0
    })
}

fn redact_scheme(value: &str) -> String {
    let scheme = value.split_whitespace().next().unwrap_or("");
    format!("{scheme} <redacted>")
}

/// Every `Basic <token68>` or `Bearer <token68>` inside a text, its token replaced.
fn redact_credentials_within(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let at = ["basic ", "bearer "]
            .iter()
            .filter_map(|p| lower[i..].find(p).map(|j| (i + j, p.len())))
            .min();
        let Some((start, len)) = at else { break };
        let after = start + len;
        let skip = text[after..].len() - text[after..].trim_start().len();
        let token = token68_len(&text[after + skip..]);
        out.push_str(&text[i..after + skip]);
        if token > 0 {
            out.push_str("<redacted>");
        }
        i = after + skip + token;
    }
    out.push_str(&text[i.min(text.len())..]);
    out
}

/// Every form in which `secret` could come back in an answer.
fn encodings(secret: &str, out: &mut Vec<String>) {
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let percent = form.replace('+', "%20");
    let lower_hex = |s: &str| {
        let mut o = String::with_capacity(s.len());
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            o.push(c);
            if c == '%' {
                for _ in 0..2 {
                    if let Some(h) = chars.next() {
                        o.push(h.to_ascii_lowercase());
                    }
                }
            }
        }
        o
    };
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"').to_owned();
    for form in [
        secret.to_owned(),
        form.clone(),
        percent.clone(),
        lower_hex(&form),
        lower_hex(&percent),
        json,
    ] {
        if !form.is_empty() && !out.contains(&form) {
            out.push(form);
        }
    }
}

fn base64_forms(raw: &str, out: &mut Vec<String>) {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        let encoded = engine.encode(raw.as_bytes());
        if !out.contains(&encoded) {
            out.push(encoded);
        }
    }
}

/// What an exchange must never show.
#[derive(Clone, Default)]
pub(super) struct Redactor {
    /// Every pattern replaced by `<secret>`, longest first.
    patterns: Vec<String>,
}

impl Redactor {
    /// A redactor for these secrets and the `(client id, secret)` pairs they belong to.
    pub(super) fn new(secrets: &[String], pairs: &[(String, String)]) -> Self {
        let mut patterns = Vec::new();
        for s in secrets.iter().filter(|s| s.len() >= 3) {
            encodings(s, &mut patterns);
        }
        for (id, secret) in pairs.iter().filter(|(_, s)| s.len() >= 3) {
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            base64_forms(&format!("{id}:{secret}"), &mut patterns);
            base64_forms(&format!("{}:{}", enc(id), enc(secret)), &mut patterns);
        }
        patterns.sort_by_key(|p| std::cmp::Reverse(p.len()));
        Self { patterns }
    }

    /// Replaces every secret, in every encoding, with `<secret>`, and the token of any Basic
    /// or Bearer credentials inside the text with `<redacted>`.
    pub(super) fn scrub(&self, text: &str) -> String {
        let mut out = redact_credentials_within(text);
        for p in &self.patterns {
            if out.contains(p.as_str()) {
                out = out.replace(p.as_str(), "<secret>");
            }
        }
        out
    }

    /// The URL with secret query parameters redacted (tokens stay, for relabelling).
    pub(super) fn redact_url(&self, url: &Url) -> String {
        let mut url = url.clone();
        if url.query().is_some() {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let sensitive = SENSITIVE_FORM_KEYS.contains(&k.as_ref()) && k != "token";
                    (
                        k.into_owned(),
                        if sensitive {
                            "<redacted>".into()
                        } else {
                            v.into_owned()
                        },
                    )
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(&pairs);
        }
        self.scrub(url.as_str())
    }

    pub(super) fn redact_form(&self, body: &str) -> String {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        if pairs.is_empty() {
            return self.scrub(body);
        }
        let redacted: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(k, v)| {
                if SENSITIVE_FORM_KEYS.contains(&k.as_str()) && !v.is_empty() && k != "token" {
                    (k, "<redacted>".to_owned())
                } else {
                    (k, v)
                }
            })
            .collect();
        // `token` values stay for relabelling by the caller; unknown ones are scrubbed below.
        self.scrub(
            &url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&redacted)
                .finish(),
        )
    }

    pub(super) fn redact_json(&self, body: &str) -> String {
        match serde_json::from_str::<Value>(body) {
            Ok(mut v @ (Value::Object(_) | Value::Array(_))) => {
                redact_value(&mut v);
                self.scrub(&v.to_string())
            }
            _ => self.scrub(body),
        }
    }

    /// A header value: credentials under any name are shown as their scheme alone.
    pub(super) fn redact_header(&self, name: &str, value: &str) -> String {
        if name.eq_ignore_ascii_case("authorization") || carries_credentials(value) {
            redact_scheme(value)
        } else {
            self.scrub(value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(secret: &str) -> Redactor {
        Redactor::new(
            &[secret.to_owned()],
            &[("client-a".into(), secret.to_owned())],
        )
    }

    #[test]
    fn secrets_and_token_fields_are_redacted() {
        let c = redactor("s3cret-value");
        assert_eq!(
            c.redact_form("client_id=a&client_secret=s3cret-value&password=pw"),
            "client_id=a&client_secret=%3Credacted%3E&password=%3Credacted%3E"
        );
        let json =
            c.redact_json(r#"{"access_token":"abc","refresh_token":"def","x":"s3cret-value"}"#);
        assert!(
            !json.contains("abc") && !json.contains("def") && !json.contains("s3cret"),
            "{json}"
        );
        assert_eq!(
            c.redact_header("Authorization", "Bearer abc"),
            "Bearer <redacted>"
        );
    }

    #[test]
    fn secrets_in_urls_are_redacted_raw_or_encoded() {
        let c = redactor("s3cr/et+A==");
        let url =
            Url::parse("http://x/r?client_id=a&client_secret=s3cr%2Fet%2BA%3D%3D&token=t").unwrap();
        let shown = c.redact_url(&url);
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(
            shown.contains("client_id=a") && shown.contains("token=t"),
            "{shown}"
        );
        assert_eq!(c.scrub("x=s3cr%2Fet%2BA%3D%3D"), "x=<secret>");
        assert_eq!(
            c.scrub("x=s3cr%2fet%2bA%3d%3d"),
            "x=<secret>",
            "lowercase hex"
        );
    }

    /// Issue 23 H3: an echoed Authorization header, in any encoding a server might send it back, under
    /// any name, or inside JSON, never reaches a record.
    #[test]
    fn echoed_credentials_are_redacted_in_every_encoding() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let secret = "s3c\"r/t?";
        let c = redactor(secret);
        let basic = STANDARD.encode(format!("client-a:{secret}"));
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let basic_enc = STANDARD.encode(format!("client-a:{}", enc(secret)));
        let basic_url = URL_SAFE_NO_PAD.encode(format!("client-a:{secret}"));
        for echoed in [
            format!("echo: {basic}"),
            format!("echo: {basic_enc}"),
            format!("echo: {basic_url}"),
            format!("echo: {}", serde_json::to_string(secret).unwrap()),
            format!("echo: {}", enc(secret).to_ascii_lowercase()),
        ] {
            let shown = c.scrub(&echoed);
            assert!(
                shown.contains("<secret>") && !shown.contains("s3c"),
                "{echoed} -> {shown}"
            );
        }
        assert_eq!(
            c.redact_header("X-Debug-Auth", &format!("Basic {basic}")),
            "Basic <redacted>"
        );
        assert_eq!(
            c.redact_header("X-Echo", "bearer abc.def"),
            "bearer <redacted>"
        );
        // A challenge is not credentials: its realm stays readable.
        assert_eq!(
            c.redact_header("WWW-Authenticate", "Basic realm=\"revspec\""),
            "Basic realm=\"revspec\""
        );
        assert_eq!(
            c.scrub(&format!(
                "bad request Basic {basic} and bearer t0k.en== done"
            )),
            "bad request Basic <redacted> and bearer <redacted> done"
        );
        let json = c.redact_json(&format!(
            r#"{{"error":"x","debug":{{"Authorization":"Basic {basic}","headers":[{{"authorization":"Bearer t0k3n"}}]}},"note":"Basic {basic}"}}"#
        ));
        assert!(!json.contains(&basic) && !json.contains("t0k3n"), "{json}");
    }
}
