//! Resource governance: every bound the reference server puts on what one client can make it
//! hold or do, with its default. Each limit is a `revspec serve` flag; `docs/security.md` says
//! what each one defends.

use std::time::Duration;

/// The bounds of one server run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// How long a connection may take to send a request's headers (and how long an idle
    /// keep-alive connection is kept): a client that trickles headers is disconnected.
    pub header_read_timeout: Duration,
    /// How long one request may take from its headers to its answer (body upload included):
    /// after it the answer is 408 `invalid_request`.
    pub request_timeout: Duration,
    /// How many connections are served at once; a connection beyond it is closed at once.
    pub max_connections: usize,
    /// How many of them one peer address may hold; one beyond it is closed at once, so idle
    /// sockets from one address cannot lock everyone else out.
    pub max_connections_per_peer: usize,
    /// How long a new connection may take to send its first byte before it is closed (shorter
    /// than the header-read timeout: a connection that sent nothing costs a slot for nothing).
    pub first_byte_timeout: Duration,
    /// The most operations one Config API JSON Patch may hold.
    pub max_patch_operations: usize,
    /// The largest document (serialized JSON bytes) a JSON Patch may produce, checked after
    /// every operation.
    pub max_patch_document_bytes: usize,
    /// The most tokens one grant holds: a refresh grant beyond it drops the grant's oldest
    /// access tokens (the refresh token is never dropped).
    pub max_tokens_per_grant: usize,
    /// The most live grants one client may hold: a new grant beyond it is refused (503
    /// `temporarily_unavailable`, Retry-After) until some expire or are revoked; the client's
    /// existing grants (and their refreshes) are never touched.
    pub max_grants_per_client: usize,
    /// The most space-separated tokens one revocation request may name.
    pub max_tokens_per_request: usize,
    /// How often expired tokens are removed from the store.
    pub sweep_interval: Duration,
    /// The most operations one revoke script call may take (also what bounds a map grown by
    /// index assignment, which Rhai does not size-check).
    pub script_max_operations: u64,
    /// The largest array a revoke script may build.
    pub script_max_array: usize,
    /// The largest object map a revoke script may build.
    pub script_max_map: usize,
    /// The longest string (bytes) a revoke script may build.
    pub script_max_string: usize,
    /// The longest one revoke script call may run (wall clock): one operation can cost
    /// microseconds, so the operation limit alone does not bound the time.
    pub script_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 512,
            max_connections_per_peer: 64,
            first_byte_timeout: Duration::from_secs(2),
            max_patch_operations: 32,
            max_patch_document_bytes: 16 * 1024,
            max_tokens_per_grant: 100,
            max_grants_per_client: 1_000_000,
            max_tokens_per_request: 20,
            sweep_interval: Duration::from_secs(60),
            script_max_operations: 20_000,
            script_max_array: 1024,
            script_max_map: 1024,
            script_max_string: 8 * 1024,
            script_timeout: Duration::from_millis(50),
        }
    }
}

impl Limits {
    /// Refuses bounds that would make the server unusable; the error names the flag.
    pub fn validate(&self) -> Result<(), String> {
        let durations = [
            ("--header-read-timeout", self.header_read_timeout),
            ("--request-timeout", self.request_timeout),
            ("--first-byte-timeout", self.first_byte_timeout),
            ("--sweep-interval", self.sweep_interval),
            ("--script-timeout", self.script_timeout),
        ];
        if let Some((flag, _)) = durations.iter().find(|(_, d)| d.is_zero()) {
            return Err(format!("{flag} must be longer than 0"));
        }
        let counts = [
            ("--max-connections", self.max_connections, 1),
            (
                "--max-connections-per-peer",
                self.max_connections_per_peer,
                1,
            ),
            ("--max-patch-operations", self.max_patch_operations, 1),
            ("--max-patch-bytes", self.max_patch_document_bytes, 1024),
            // One refresh token and at least one access token.
            ("--max-tokens-per-grant", self.max_tokens_per_grant, 2),
            ("--max-grants-per-client", self.max_grants_per_client, 1),
            ("--max-tokens-per-request", self.max_tokens_per_request, 1),
            (
                "--script-max-operations",
                usize::try_from(self.script_max_operations).unwrap_or(usize::MAX),
                100,
            ),
            ("--script-max-array", self.script_max_array, 1),
            ("--script-max-map", self.script_max_map, 1),
            ("--script-max-string", self.script_max_string, 1),
        ];
        match counts.iter().find(|(_, value, min)| value < min) {
            Some((flag, value, min)) => Err(format!("{flag} must be at least {min}, not {value}")),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_zero_bounds_are_refused_by_flag_name() {
        assert_eq!(Limits::default().validate(), Ok(()));
        let zero_timeout = Limits {
            request_timeout: Duration::ZERO,
            ..Limits::default()
        };
        assert!(zero_timeout
            .validate()
            .unwrap_err()
            .contains("--request-timeout"));
        let no_first_byte = Limits {
            first_byte_timeout: Duration::ZERO,
            ..Limits::default()
        };
        assert!(no_first_byte
            .validate()
            .unwrap_err()
            .contains("--first-byte-timeout"));
        let no_peer = Limits {
            max_connections_per_peer: 0,
            ..Limits::default()
        };
        assert!(no_peer
            .validate()
            .unwrap_err()
            .contains("--max-connections-per-peer"));
        let no_script_time = Limits {
            script_timeout: Duration::ZERO,
            ..Limits::default()
        };
        assert!(no_script_time
            .validate()
            .unwrap_err()
            .contains("--script-timeout"));
        let one_token_grant = Limits {
            max_tokens_per_grant: 1,
            ..Limits::default()
        };
        assert!(one_token_grant
            .validate()
            .unwrap_err()
            .contains("--max-tokens-per-grant must be at least 2"));
        let no_connections = Limits {
            max_connections: 0,
            ..Limits::default()
        };
        assert!(no_connections
            .validate()
            .unwrap_err()
            .contains("--max-connections"));
    }
}
