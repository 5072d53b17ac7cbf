//! The requests a load run makes, by meaning: each has the name goose's reports group it by,
//! and says whether it is a revocation and whether it revokes tokens that were issued (so the
//! run's verdict never reads meaning out of a display name).

/// One kind of request of a load run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Request {
    RevokeUnknown,
    RevokeRefresh,
    RevokeCascade,
    RevokeAll,
    Mint,
    Obtain,
    MintForIntrospection,
    RefreshMint,
    Introspect,
    /// Signing the client assertion of one request (`private_key_jwt`, `client_secret_jwt`):
    /// the client's own cost, recorded apart from the HTTP request it goes with.
    SignAssertion,
}

impl Request {
    pub const ALL: [Request; 10] = [
        Request::RevokeUnknown,
        Request::RevokeRefresh,
        Request::RevokeCascade,
        Request::RevokeAll,
        Request::Mint,
        Request::Obtain,
        Request::MintForIntrospection,
        Request::RefreshMint,
        Request::Introspect,
        Request::SignAssertion,
    ];

    /// The name in goose's metrics and every report.
    pub fn name(self) -> &'static str {
        match self {
            Request::RevokeUnknown => "revoke (unknown token)",
            Request::RevokeRefresh => "revoke (refresh token)",
            Request::RevokeCascade => "revoke (refresh token, cascade)",
            Request::RevokeAll => "revoke (all tokens of the client)",
            Request::Mint => "token (mint)",
            Request::Obtain => "token (obtain)",
            Request::MintForIntrospection => "token (mint for introspection)",
            Request::RefreshMint => "token (refresh, mint)",
            Request::Introspect => "introspect",
            Request::SignAssertion => "client assertion (sign)",
        }
    }

    /// Its key in goose's metrics and in `summary.json`: the method, then the name.
    pub fn key(self) -> String {
        match self {
            Request::SignAssertion => {
                format!(
                    "{} {}",
                    crate::record::load::CLIENT_SIDE_METHOD,
                    self.name()
                )
            }
            _ => format!("POST {}", self.name()),
        }
    }

    /// The request a metrics or summary key names (the method first: `POST revoke (...)`).
    pub fn from_key(key: &str) -> Option<Request> {
        let name = key.split_once(' ').map_or(key, |(method, rest)| {
            if method.chars().all(|c| c.is_ascii_uppercase()) {
                rest
            } else {
                key
            }
        });
        Request::ALL.into_iter().find(|r| r.name() == name)
    }

    /// A request to the revocation endpoint (its latency is what `revoke_p99_ms` bounds).
    pub fn is_revocation(self) -> bool {
        matches!(
            self,
            Request::RevokeUnknown
                | Request::RevokeRefresh
                | Request::RevokeCascade
                | Request::RevokeAll
        )
    }

    /// A revocation of tokens that were issued (its effect is sampled for correctness).
    pub fn revokes_issued_tokens(self) -> bool {
        self.is_revocation() && self != Request::RevokeUnknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found_again_from_metrics_keys() {
        for r in Request::ALL {
            assert_eq!(Request::from_key(r.name()), Some(r));
            assert_eq!(Request::from_key(&r.key()), Some(r));
        }
        assert_eq!(Request::from_key("POST nothing"), None);
        assert!(!Request::RevokeUnknown.revokes_issued_tokens());
        assert!(Request::RevokeAll.revokes_issued_tokens());
        assert!(!Request::Introspect.is_revocation());
    }
}
