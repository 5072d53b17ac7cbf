//! The parts of the Redis backend that need no Redis: the row format the scripts read, and
//! the store URL as it may be shown. The backend against a real Redis is tested in
//! `tests/redis_store.rs` (it needs a `redis-server`, which the integration tests start).

use super::{decode_row, encode_row, expiry_arg, shown_url, versioned, FOREVER};
use crate::server::store::token::{TokenKind, TokenRecord};

#[test]
fn a_password_in_the_store_url_is_never_shown() {
    assert_eq!(
        shown_url("redis://:hunter2@127.0.0.1:6379/2"),
        "redis://:***@127.0.0.1:6379/2"
    );
    assert_eq!(
        shown_url("redis://app:hunter2@127.0.0.1:6379"),
        "redis://app:***@127.0.0.1:6379"
    );
    assert_eq!(
        shown_url("redis://127.0.0.1:6379/1"),
        "redis://127.0.0.1:6379/1"
    );
    assert!(!shown_url("not a url:hunter2@host").contains("hunter2"));
}

#[test]
fn rows_carry_what_the_scripts_read_and_round_trip() {
    let record = TokenRecord {
        kind: TokenKind::Refresh,
        client_id: "client-é".into(),
        grant_id: 0x0123_4567_89ab_cdef,
        subject: Some("alice".into()),
        scopes: vec!["openid".into()],
        issued_at: 1,
        expires_at: 2,
    };
    let row = encode_row(&record);
    assert_eq!(&row[..1], b"r");
    assert_eq!(&row[1..17], b"0123456789abcdef");
    // The revoke-all epoch (written by the issuing script), then the client's length.
    assert_eq!(&row[17..25], b"00000000");
    assert_eq!(&row[25..29], b"0009");
    assert_eq!(&row[29..38], "client-é".as_bytes());
    assert_eq!(decode_row(&row).unwrap(), record);
    for n in 0..row.len() {
        assert!(decode_row(&row[..n]).is_err(), "{n}");
    }
    assert_eq!(expiry_arg(u64::MAX), FOREVER.to_string());
    assert_eq!(expiry_arg(7), "7");
}

#[test]
fn stored_documents_parse() {
    let v = versioned(b"1700000000000001 {\"a\": 1}").unwrap();
    assert_eq!(v.version, 1_700_000_000_000_001);
    assert_eq!(v.value, b"{\"a\": 1}");
    assert!(versioned(b"nospace").is_err());
    assert!(versioned(b"x {}").is_err());
}
