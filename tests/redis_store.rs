//! The Redis backend of the token store against a real `redis-server`: each unit is one
//! script, revocation touches only what it names, tokens are kept only as hashes and expire
//! through TTLs, Config API values are shared and announced, and while Redis is down every
//! unit fails as unavailable (answered 503) and recovers with it.
//!
//! Each test uses its own key prefix on the Redis `REVSPEC_REDIS_URL` names (CI starts one),
//! or starts its own `redis-server`; without one the tests are skipped with the reason printed,
//! unless `REVSPEC_REQUIRE_REDIS` is set (CI), which makes that a failure.

mod support;

use redis::aio::ConnectionManager;
use revspec::server::clock::now;
use revspec::server::error::OAuthError;
use revspec::server::store::redis::Change;
use revspec::server::store::{hash_token, Store, TokenKind, TokenRecord, Victim};
use std::time::Duration;
use support::redis::{unique_prefix, LocalRedis, TestRedis};
use tokio::sync::watch;

fn record(kind: TokenKind, client: &str, grant: u64) -> TokenRecord {
    TokenRecord {
        kind,
        client_id: client.into(),
        grant_id: grant,
        subject: None,
        scopes: vec![],
        issued_at: 0,
        expires_at: now() + 3600,
    }
}

/// A store on the test Redis under a prefix of its own (`None`: skipped, reason printed).
async fn store(redis: &TestRedis, name: &str) -> Store {
    Store::connect_redis(&redis.url(), &unique_prefix(name))
        .await
        .expect("connects")
}

/// A plain connection for looking at what the store wrote.
async fn raw(redis: &TestRedis) -> ConnectionManager {
    let client = redis::Client::open(redis.url()).unwrap();
    ConnectionManager::new(client).await.unwrap()
}

fn prefix_of(store: &Store) -> String {
    store.shared().unwrap().prefix().to_owned()
}

/// A grant's id as its key names it (`P g:<grant hex>`).
fn grant_hex(grant: u64) -> String {
    format!("{grant:016x}")
}

#[tokio::test]
async fn grant_revocation_touches_only_that_grant() {
    let Some(redis) = TestRedis::get() else {
        return;
    };
    let store = store(&redis, "grant").await;
    let first = store
        .issue_all(&[
            record(TokenKind::Access, "a", 1),
            record(TokenKind::Refresh, "a", 1),
        ])
        .await
        .unwrap();
    let other = store
        .issue(record(TokenKind::Access, "a", 2))
        .await
        .unwrap();
    assert!(store.get(&first[0]).await.unwrap().is_some());
    assert_eq!(store.revoke_grant(1).await.unwrap(), 2);
    for t in &first {
        assert!(store.get(t).await.unwrap().is_none());
    }
    assert_eq!(
        store.get(&other).await.unwrap().unwrap(),
        record(TokenKind::Access, "a", 2)
    );
    assert_eq!(store.revoke_grant(1).await.unwrap(), 0);
    // The grant's index went with it; the client keeps only grant 2.
    let mut conn = raw(&redis).await;
    let p = prefix_of(&store);
    let grants: Vec<String> = redis::cmd("ZRANGE")
        .arg(format!("{p}c:a"))
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(grants, vec![grant_hex(2)]);
    let exists: bool = redis::cmd("EXISTS")
        .arg(format!("{p}g:{}", grant_hex(1)))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!exists);
}

#[tokio::test]
async fn client_revocation_filters_by_kind_and_client_in_one_script() {
    let Some(redis) = TestRedis::get() else {
        return;
    };
    let store = store(&redis, "client").await;
    let a = store
        .issue_all(&[
            record(TokenKind::Access, "a", 1),
            record(TokenKind::Refresh, "a", 1),
            record(TokenKind::Access, "a", 2),
        ])
        .await
        .unwrap();
    let b = store
        .issue(record(TokenKind::Access, "b", 3))
        .await
        .unwrap();
    let before = store.transactions();
    assert_eq!(
        store
            .revoke_client("a", Some(TokenKind::Refresh))
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.transactions(), before + 1);
    assert!(store.get(&a[0]).await.unwrap().is_some());
    assert!(store.get(&a[1]).await.unwrap().is_none());
    let mut clients = store.clients_with_tokens().await.unwrap();
    clients.sort();
    assert_eq!(clients, vec!["a".to_string(), "b".to_string()]);
    assert_eq!(store.revoke_client("a", None).await.unwrap(), 2);
    assert!(store.get(&a[2]).await.unwrap().is_none());
    assert!(store.get(&b).await.unwrap().is_some());
}

#[tokio::test]
async fn many_victims_are_one_script_and_reinstate_puts_them_back() {
    let Some(redis) = TestRedis::get() else {
        return;
    };
    let store = store(&redis, "victims").await;
    let tokens = store
        .issue_all(&[
            record(TokenKind::Access, "a", 1),
            record(TokenKind::Refresh, "a", 1),
            record(TokenKind::Access, "a", 2),
            record(TokenKind::Access, "a", 3),
        ])
        .await
        .unwrap();
    let before = store.transactions();
    let removed = store
        .revoke(&[
            Victim::Grant(1),
            Victim::Token(hash_token(&tokens[2])),
            Victim::Grant(1),
        ])
        .await
        .unwrap();
    assert_eq!(removed.len(), 3);
    assert_eq!(store.transactions(), before + 1);
    // Nothing left to remove: no change counted.
    assert!(store.revoke(&[Victim::Grant(1)]).await.unwrap().is_empty());
    assert!(store.revoke(&[]).await.unwrap().is_empty());
    assert_eq!(store.transactions(), before + 1);
    assert!(store.get(&tokens[3]).await.unwrap().is_some());
    store.reinstate(&removed).await.unwrap();
    for t in &tokens {
        assert!(store.get(t).await.unwrap().is_some());
    }
    assert_eq!(store.revoke_grant(1).await.unwrap(), 2);
}

#[tokio::test]
async fn issue_while_present_needs_the_parent_rotates_it_and_caps_access_tokens() {
    let Some(redis) = TestRedis::get() else {
        return;
    };
    let store = store(&redis, "refresh").await;
    let first = store
        .issue_all(&[
            record(TokenKind::Access, "a", 1),
            record(TokenKind::Refresh, "a", 1),
        ])
        .await
        .unwrap();
    let parent = hash_token(&first[1]);
    let mut access = vec![first[0].clone()];
    for _ in 0..4 {
        let t = store
            .issue_while_present(&parent, &[record(TokenKind::Access, "a", 1)], false, 3)
            .await
            .unwrap()
            .unwrap();
        access.extend(t);
    }
    // The three newest access tokens and the refresh token remain.
    for (i, t) in access.iter().enumerate() {
        assert_eq!(store.get(t).await.unwrap().is_some(), i >= 2, "{i}");
    }
    let rotated = store
        .issue_while_present(
            &parent,
            &[
                record(TokenKind::Access, "a", 1),
                record(TokenKind::Refresh, "a", 1),
            ],
            true,
            3,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(store.get(&first[1]).await.unwrap().is_none());
    assert!(store.get(&rotated[1]).await.unwrap().is_some());
    // Once the grant is revoked, its refresh token issues nothing.
    assert_eq!(store.revoke_grant(1).await.unwrap(), 4);
    let none = store
        .issue_while_present(
            &hash_token(&rotated[1]),
            &[record(TokenKind::Access, "a", 1)],
            false,
            3,
        )
        .await
        .unwrap();
    assert!(none.is_none());
    assert!(store.revoke_grant(1).await.unwrap() == 0);
}

#[tokio::test]
async fn tokens_are_kept_only_as_hashes_and_expire_through_ttls() {
    let Some(redis) = TestRedis::get() else {
        return;
    };
    let store = store(&redis, "ttl").await;
    let p = prefix_of(&store);
    let now = now();
    let short = TokenRecord {
        expires_at: now + 2,
        ..record(TokenKind::Access, "a", 7)
    };
    let long = TokenRecord {
        kind: TokenKind::Refresh,
        expires_at: now + 1000,
        ..short.clone()
    };
    let tokens = store.issue_all(&[short, long]).await.unwrap();
    let mut conn = raw(&redis).await;
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS")
        .arg(format!("{p}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let token_key = format!("{p}t:{}", hex::encode(hash_token(&tokens[0])));
    assert!(keys.contains(&token_key.clone().into_bytes()), "{keys:?}");
    for key in &keys {
        for t in &tokens {
            let key = String::from_utf8_lossy(key);
            assert!(!key.contains(t.as_str()), "a token in clear in {key}");
        }
        let value: Vec<u8> = match redis::cmd("GET").arg(key).query_async(&mut conn).await {
            Ok(v) => v,
            Err(_) => continue, // not a string
        };
        for t in &tokens {
            assert!(
                !value.windows(t.len()).any(|w| w == t.as_bytes()),
                "a token in clear"
            );
        }
    }
    let ttl = |key: String| {
        let mut conn = conn.clone();
        async move {
            let at: i64 = redis::cmd("EXPIRETIME")
                .arg(key)
                .query_async(&mut conn)
                .await
                .unwrap();
            at
        }
    };
    assert_eq!(ttl(token_key.clone()).await, (now + 2) as i64);
    // The grant and the client live as long as their longest-lived token.
    assert_eq!(
        ttl(format!("{p}g:{}", grant_hex(7))).await,
        (now + 1000) as i64
    );
    assert_eq!(ttl(format!("{p}c:a")).await, (now + 1000) as i64);
    // Redis removes the short-lived token by itself (polled, bounded).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.get(&tokens[0]).await.unwrap().is_some() {
        assert!(std::time::Instant::now() < deadline, "never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(store.get(&tokens[1]).await.unwrap().is_some());
    assert_eq!(store.sweep_expired(now + 5000).await.unwrap(), 0);
}

#[tokio::test]
async fn a_meta_value_is_shared_and_announced_to_the_other_nodes() {
    let Some(redis) = TestRedis::get() else {
        return;
    };
    let prefix = unique_prefix("meta");
    let a = Store::connect_redis(&redis.url(), &prefix).await.unwrap();
    let b = Store::connect_redis(&redis.url(), &prefix).await.unwrap();
    let (stop_tx, stop) = watch::channel(false);
    let (tx, mut heard) = tokio::sync::mpsc::unbounded_channel();
    let follower = async {
        b.shared()
            .unwrap()
            .follow(stop, |change| {
                let _ = tx.send(change);
                async { true }
            })
            .await;
    };
    let writer = async {
        async fn wait(heard: &mut tokio::sync::mpsc::UnboundedReceiver<Change>) -> Change {
            tokio::time::timeout(Duration::from_secs(10), heard.recv())
                .await
                .expect("heard within 10 s")
                .expect("still following")
        }
        assert_eq!(wait(&mut heard).await, Change::Resync);
        a.save_meta("settings", b"{}").await.unwrap();
        match wait(&mut heard).await {
            Change::Meta { key, stored_at_ms } => {
                assert_eq!(key, "settings");
                assert!(stored_at_ms > 0);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            b.load_meta("settings").await.unwrap().as_deref(),
            Some(&b"{}"[..])
        );
        assert_eq!(b.load_meta("absent").await.unwrap(), None);
        stop_tx.send(true).unwrap();
    };
    tokio::join!(follower, writer);
}

#[tokio::test]
async fn while_redis_is_down_every_unit_is_unavailable_and_recovers_with_it() {
    if let Some(why) = support::redis::skip_reason(true) {
        eprintln!("skipped: {why}");
        return;
    }
    let mut redis = LocalRedis::start().expect("redis-server starts");
    let store = Store::connect_redis(&redis.url(0), &unique_prefix("down"))
        .await
        .unwrap();
    let kept = store
        .issue(record(TokenKind::Access, "a", 1))
        .await
        .unwrap();
    let doomed = store
        .issue(record(TokenKind::Access, "a", 2))
        .await
        .unwrap();
    redis.kill();
    let down = store.revoke_grant(2).await.unwrap_err();
    assert!(down.is_unavailable(), "{down}");
    assert_eq!(
        OAuthError::from(down),
        OAuthError::temporarily_unavailable(1)
    );
    assert!(store.get(&kept).await.unwrap_err().is_unavailable());
    assert!(store
        .issue(record(TokenKind::Access, "a", 3))
        .await
        .unwrap_err()
        .is_unavailable());
    assert_eq!(store.shared().unwrap().unreachable(), 3);
    redis.restart();
    // The connection comes back by itself (a bounded number of attempts).
    let mut back = None;
    for _ in 0..50 {
        match store.get(&kept).await {
            Ok(found) => {
                back = Some(found);
                break;
            }
            Err(e) => {
                assert!(e.is_unavailable(), "{e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    assert!(
        back.expect("reconnected").is_some(),
        "lost an acknowledged token"
    );
    // The revocation refused while Redis was down changed nothing; now it does.
    assert!(store.get(&doomed).await.unwrap().is_some());
    assert_eq!(store.revoke_grant(2).await.unwrap(), 1);
}

/// A client assertion's `jti` is used once across the nodes of a cluster: the first use on
/// one node is seen by the other (`SET NX` with an expiry), and the key expires.
#[tokio::test]
async fn a_jti_used_on_one_node_is_a_replay_on_the_other() {
    let Some(redis) = TestRedis::get() else {
        return;
    };
    let prefix = unique_prefix("jti");
    let a = Store::connect_redis(&redis.url(), &prefix).await.unwrap();
    let b = Store::connect_redis(&redis.url(), &prefix).await.unwrap();
    let until = revspec::server::clock::now_ms() + 60_000;
    let (a, b) = (a.shared().unwrap(), b.shared().unwrap());
    assert!(a.first_use("client-jwt:j1", until).await.unwrap());
    assert!(!b.first_use("client-jwt:j1", until).await.unwrap());
    assert!(!a.first_use("client-jwt:j1", until).await.unwrap());
    assert!(b.first_use("client-jwt:j2", until).await.unwrap());
    // Kept only until the assertion may no longer be used.
    let soon = revspec::server::clock::now_ms() + 200;
    assert!(a.first_use("client-jwt:j3", soon).await.unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(b.first_use("client-jwt:j3", soon + 60_000).await.unwrap());
}
