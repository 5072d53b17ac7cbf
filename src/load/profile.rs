//! Load profiles (`loadtests/*.toml`): the transaction mix with weights, users, ramp-up, run
//! time, the correctness sample and the thresholds, read strictly (an unknown key, a zero
//! duration or an unknown transaction is an error naming it, before any traffic).

use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

/// What a transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum TransactionKind {
    /// Revoke a token that was never issued (the endpoint's fast path).
    RevokeUnknown,
    /// Mint a grant (its own transaction), then revoke its refresh token.
    MintAndRevoke,
    /// Mint a grant, refresh it into several access tokens, revoke the refresh token.
    GrantCascade,
    /// Mint several grants, then revoke every token of the client at once (token=all).
    RevokeAll,
    /// Obtain a token at the token endpoint.
    Token,
    /// Introspect a held access token.
    Introspect,
}

impl TransactionKind {
    pub fn needs_refresh_tokens(self) -> bool {
        matches!(
            self,
            TransactionKind::MintAndRevoke | TransactionKind::GrantCascade
        )
    }

    pub fn revokes(self) -> bool {
        matches!(
            self,
            TransactionKind::MintAndRevoke
                | TransactionKind::GrantCascade
                | TransactionKind::RevokeAll
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionSpec {
    pub kind: TransactionKind,
    pub weight: usize,
    /// For grant-cascade: access tokens per grant (by refreshing); for revoke-all: grants per client.
    #[serde(default = "default_fan_out")]
    pub fan_out: usize,
}

fn default_fan_out() -> usize {
    3
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// p99 of the revocation requests, in milliseconds.
    pub revoke_p99_ms: Option<f64>,
    /// Errors over all requests, in percent.
    pub error_rate_percent: Option<f64>,
    /// All requests per second, at least.
    pub min_rps: Option<f64>,
}

impl From<&Thresholds> for crate::record::load::ThresholdsView {
    fn from(t: &Thresholds) -> Self {
        Self {
            revoke_p99_ms: t.revoke_p99_ms,
            error_rate_percent: t.error_rate_percent,
            min_rps: t.min_rps,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correctness {
    /// Share of revocations observed through the probe after the 200 (at least 1).
    #[serde(default = "default_sample_percent")]
    pub sample_percent: f64,
    /// The first revocations are always observed, up to this many (at least 100 by default).
    #[serde(default = "default_min_samples")]
    pub min_samples: usize,
}

fn default_sample_percent() -> f64 {
    2.0
}
fn default_min_samples() -> usize {
    100
}

impl Default for Correctness {
    fn default() -> Self {
        Self {
            sample_percent: default_sample_percent(),
            min_samples: default_min_samples(),
        }
    }
}

/// A load profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadProfile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub users: usize,
    #[serde(with = "duration_text")]
    pub ramp_up: Duration,
    #[serde(with = "duration_text")]
    pub run_time: Duration,
    #[serde(rename = "transaction")]
    pub transactions: Vec<TransactionSpec>,
    #[serde(default)]
    pub correctness: Correctness,
    #[serde(default)]
    pub thresholds: Thresholds,
}

mod duration_text {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map_err(|e| serde::de::Error::custom(format!("'{text}': {e}")))
    }
}

impl LoadProfile {
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn from_toml(text: &str) -> Result<Self, String> {
        let p: Self = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())?;
        p.validate()?;
        Ok(p)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.users == 0 {
            return Err("key `users`: must be at least 1".into());
        }
        if self.run_time.is_zero() {
            return Err("key `run_time`: must be longer than zero".into());
        }
        if self.transactions.is_empty() {
            return Err("key `transaction`: at least one [[transaction]] is needed".into());
        }
        for (i, t) in self.transactions.iter().enumerate() {
            if t.weight == 0 {
                return Err(format!("key `transaction[{i}].weight`: must be at least 1"));
            }
            if t.fan_out == 0 || t.fan_out > 50 {
                return Err(format!("key `transaction[{i}].fan_out`: must be 1 to 50"));
            }
        }
        if !(1.0..=100.0).contains(&self.correctness.sample_percent) {
            return Err("key `correctness.sample_percent`: must be 1 to 100".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"
name = "x"
users = 2
ramp_up = "1s"
run_time = "5s"
[[transaction]]
kind = "revoke-unknown"
weight = 1
"#;

    #[test]
    fn parses_and_defaults() {
        let p = LoadProfile::from_toml(OK).unwrap();
        assert_eq!(p.run_time, Duration::from_secs(5));
        assert_eq!(p.correctness.min_samples, 100);
        assert_eq!(p.transactions[0].fan_out, 3);
    }

    #[test]
    fn bad_profiles_name_the_key() {
        let e = LoadProfile::from_toml(&format!("{OK}\nspeed = 3")).unwrap_err();
        assert!(e.contains("speed"), "{e}");
        let e = LoadProfile::from_toml(&OK.replace("\"5s\"", "\"0s\"")).unwrap_err();
        assert!(e.contains("run_time"), "{e}");
        let e = LoadProfile::from_toml(&OK.replace("\"5s\"", "\"-5s\"")).unwrap_err();
        assert!(e.contains("-5s"), "{e}");
        let e = LoadProfile::from_toml(&OK.replace("revoke-unknown", "teleport")).unwrap_err();
        assert!(e.contains("teleport"), "{e}");
        let e = LoadProfile::from_toml(&OK.replace("users = 2", "users = 0")).unwrap_err();
        assert!(e.contains("users"), "{e}");
    }

    #[test]
    fn shipped_profiles_parse() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/loadtests"));
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            if entry.path().extension().is_some_and(|e| e == "toml") {
                LoadProfile::from_file(&entry.path()).unwrap();
                n += 1;
            }
        }
        assert!(n >= 5, "{n} profiles");
    }
}
