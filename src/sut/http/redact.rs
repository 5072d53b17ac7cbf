//! Redaction of what the harness records: secrets (raw and encoded), secret form and query
//! members, token and secret members of JSON bodies, and credentials in headers. Tokens named
//! in form bodies stay, so the caller can replace them by their label.

use serde_json::Value;
use url::Url;

const SENSITIVE_FORM_KEYS: &[&str] = &[
    "token",
    "client_secret",
    "password",
    "refresh_token",
    "client_assertion",
];
const SENSITIVE_JSON_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "token",
    "client_secret",
    "password",
    "client_assertion",
];

pub(crate) fn redact_json_members(mut map: serde_json::Map<String, Value>) -> String {
    for key in SENSITIVE_JSON_KEYS {
        if let Some(v) = map.get_mut(*key) {
            if v.is_string() {
                *v = Value::String("<redacted>".into());
            }
        }
    }
    Value::Object(map).to_string()
}

/// The secrets an exchange must never show.
#[derive(Clone, Default)]
pub(super) struct Redactor {
    pub(super) secrets: Vec<String>,
}

impl Redactor {
    /// Replaces every secret, raw or URL-encoded, with `<secret>`.
    pub(super) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            let encoded: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
            out = out
                .replace(s.as_str(), "<secret>")
                .replace(&encoded, "<secret>");
            out = out.replace(&encoded.replace('+', "%20"), "<secret>");
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
            Ok(Value::Object(map)) => self.scrub(&redact_json_members(map)),
            _ => self.scrub(body),
        }
    }

    pub(super) fn redact_header(&self, name: &str, value: &str) -> String {
        if name.eq_ignore_ascii_case("authorization") {
            let scheme = value.split(' ').next().unwrap_or("");
            format!("{scheme} <redacted>")
        } else {
            self.scrub(value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_token_fields_are_redacted() {
        let c = Redactor {
            secrets: vec!["s3cret-value".into()],
        };
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
        let c = Redactor {
            secrets: vec!["s3cr/et+A==".into()],
        };
        let url =
            Url::parse("http://x/r?client_id=a&client_secret=s3cr%2Fet%2BA%3D%3D&token=t").unwrap();
        let shown = c.redact_url(&url);
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(
            shown.contains("client_id=a") && shown.contains("token=t"),
            "{shown}"
        );
        assert_eq!(c.scrub("x=s3cr%2Fet%2BA%3D%3D"), "x=<secret>");
    }
}
