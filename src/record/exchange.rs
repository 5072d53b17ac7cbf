//! One recorded HTTP request and answer, as run.json keeps it (redacted by the client that
//! made it, bodies cut to an excerpt), and its short text form shown by every view.

use crate::text as escape;
use serde::{Deserialize, Serialize};

/// One recorded request and answer, redacted.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: String,
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: String,
    pub error: Option<String>,
    pub elapsed_ms: f64,
}

impl Exchange {
    pub fn not_sent(what: &str) -> Self {
        Self {
            method: "-".into(),
            url: "-".into(),
            error: Some(format!("{what}: not sent")),
            ..Default::default()
        }
    }

    /// Replaces every occurrence of a value by a label (used to name tokens in reports).
    pub fn relabel(&mut self, value: &str, label: &str) {
        if value.len() < 6 {
            return;
        }
        let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        for text in [
            &mut self.url,
            &mut self.request_body,
            &mut self.response_body,
        ] {
            *text = text.replace(value, label).replace(&encoded, label);
        }
        for (_, v) in self
            .request_headers
            .iter_mut()
            .chain(self.response_headers.iter_mut())
        {
            *v = v.replace(value, label);
        }
    }

    /// A short human rendering.
    pub fn render(&self) -> String {
        let mut out = format!(
            "    > {} {}\n",
            escape::one_line(&self.method),
            escape::one_line(&self.url)
        );
        for (n, v) in &self.request_headers {
            out.push_str(&format!(
                "    > {}: {}\n",
                escape::one_line(n),
                escape::one_line(v)
            ));
        }
        if !self.request_body.is_empty() {
            out.push_str(&format!("    > {}\n", escape::one_line(&self.request_body)));
        }
        match (self.status, &self.error) {
            (_, Some(e)) => out.push_str(&format!("    ! {}\n", escape::one_line(e))),
            (Some(s), None) => {
                out.push_str(&format!("    < {s} ({:.1} ms)\n", self.elapsed_ms));
                for (n, v) in &self.response_headers {
                    out.push_str(&format!(
                        "    < {}: {}\n",
                        escape::one_line(n),
                        escape::one_line(v)
                    ));
                }
                if !self.response_body.is_empty() {
                    let shown: String = self.response_body.chars().take(400).collect();
                    out.push_str(&format!("    < {}\n", escape::one_line(&shown)));
                }
            }
            (None, None) => {}
        }
        out
    }
}
