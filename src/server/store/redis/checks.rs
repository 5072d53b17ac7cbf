//! What a node requires of the Redis it shares, read from `INFO` (which managed Redis services
//! answer even where `CONFIG` is disabled): version 7.0 or later (the scripts declare their
//! flags), and an eviction policy that cannot silently undo a revocation or a Config API change.
//!
//! Under `noeviction` Redis refuses writes when full and never drops a key. Under a `volatile-*`
//! policy it drops only keys with a TTL: tokens and their indexes (a token or grant dropped
//! reads as revoked: the node fails closed), never the Config API's documents or the revoke-all
//! epochs, which have none; a node accepts it only when the operator says so. Under an
//! `allkeys-*` policy any key may go, the Config API's documents included (a removed scope or
//! a disabled flag would come back), so it is always refused.

/// The eviction policies a node never accepts, and why.
const ALLKEYS_WHY: &str = "it may evict the Config API's values, so that a removed scope or a \
     disabled flag comes back";

/// The value of `field` in an `INFO` answer (`field:value` lines).
pub fn info_field<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines()
        .filter_map(|line| line.trim_end().split_once(':'))
        .find(|(name, _)| *name == field)
        .map(|(_, value)| value)
}

/// Refuses a Redis older than 7.0 (the scripts declare flags, a Redis 7 feature).
pub fn judge_version(version: &str) -> Result<(), String> {
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| format!("cannot read the Redis version '{version}'"))?;
    if major < 7 {
        return Err(format!(
            "Redis {version} is too old: revspec needs Redis 7.0 or later"
        ));
    }
    Ok(())
}

/// Whether a node may use a Redis with this `maxmemory-policy`; `accept_eviction` is
/// `--accept-redis-eviction`. The error says what the policy would do and what to set.
pub fn judge_policy(policy: &str, accept_eviction: bool) -> Result<(), String> {
    match policy {
        "noeviction" => Ok(()),
        p if p.starts_with("volatile-") && accept_eviction => Ok(()),
        p if p.starts_with("volatile-") => Err(format!(
            "Redis's maxmemory-policy is {p}: when memory runs out it evicts tokens and grant \
             indexes, so tokens vanish early; set maxmemory-policy noeviction, or pass \
             --accept-redis-eviction to accept that (docs/security.md)"
        )),
        p if p.starts_with("allkeys-") => Err(format!(
            "Redis's maxmemory-policy is {p}: {ALLKEYS_WHY}; set maxmemory-policy noeviction \
             (docs/security.md)"
        )),
        p => Err(format!(
            "Redis's maxmemory-policy is '{p}', which revspec does not know; set \
             maxmemory-policy noeviction (docs/security.md)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_fields_are_read_by_name() {
        let info = "# Memory\r\nused_memory:1\r\nmaxmemory_policy:noeviction\r\n";
        assert_eq!(info_field(info, "maxmemory_policy"), Some("noeviction"));
        assert_eq!(info_field(info, "used_memory"), Some("1"));
        assert_eq!(info_field(info, "maxmemory"), None);
    }

    #[test]
    fn only_noeviction_passes_by_default_and_allkeys_never() {
        assert_eq!(judge_policy("noeviction", false), Ok(()));
        for p in [
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
        ] {
            let e = judge_policy(p, false).unwrap_err();
            assert!(
                e.contains(p) && e.contains("--accept-redis-eviction"),
                "{e}"
            );
            assert_eq!(judge_policy(p, true), Ok(()));
        }
        for p in ["allkeys-lru", "allkeys-lfu", "allkeys-random"] {
            for accept in [false, true] {
                let e = judge_policy(p, accept).unwrap_err();
                assert!(e.contains(p) && e.contains("Config API"), "{e}");
            }
        }
        assert!(judge_policy("bogus", true).is_err());
    }

    #[test]
    fn redis_before_7_is_refused() {
        assert_eq!(judge_version("7.0.15"), Ok(()));
        assert_eq!(judge_version("7.2.4"), Ok(()));
        assert!(judge_version("6.2.14").unwrap_err().contains("7.0"));
        assert!(judge_version("x").is_err());
    }
}
