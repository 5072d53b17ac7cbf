//! The store through its facade: in memory and with a data directory.

use super::doc::{Doc, Saved};
use super::journal::{Limits, Op, TOKENS};
use super::local::{LocalStore, DB_FILE};
use super::token::{hash_token, TokenKind, TokenRecord, Victim};
use super::{Backend, Store};
use redb::ReadableDatabase as _;
use std::path::Path;

fn record(kind: TokenKind, client: &str, grant: u64) -> TokenRecord {
    TokenRecord {
        kind,
        client_id: client.into(),
        grant_id: grant,
        subject: None,
        scopes: vec![],
        issued_at: 0,
        expires_at: u64::MAX,
    }
}

#[tokio::test]
async fn grant_revocation_touches_only_that_grant() {
    let store = Store::in_memory();
    let at1 = store
        .issue(record(TokenKind::Access, "a", 1))
        .await
        .unwrap();
    let rt1 = store
        .issue(record(TokenKind::Refresh, "a", 1))
        .await
        .unwrap();
    let at2 = store
        .issue(record(TokenKind::Access, "a", 2))
        .await
        .unwrap();
    assert_eq!(store.revoke_grant(1).await.unwrap(), 2);
    assert!(store.get(&at1).await.unwrap().is_none() && store.get(&rt1).await.unwrap().is_none());
    assert!(store.get(&at2).await.unwrap().is_some());
    assert_eq!(store.grant_len(1), 0);
    assert_eq!(
        store.clients_with_tokens().await.unwrap(),
        vec!["a".to_string()]
    );
}

#[tokio::test]
async fn client_revocation_filters_by_kind_and_client() {
    let store = Store::in_memory();
    let at = store
        .issue(record(TokenKind::Access, "a", 1))
        .await
        .unwrap();
    let rt = store
        .issue(record(TokenKind::Refresh, "a", 1))
        .await
        .unwrap();
    let other = store
        .issue(record(TokenKind::Access, "b", 3))
        .await
        .unwrap();
    assert_eq!(
        store
            .revoke_client("a", Some(TokenKind::Refresh))
            .await
            .unwrap(),
        1
    );
    assert!(store.get(&at).await.unwrap().is_some() && store.get(&rt).await.unwrap().is_none());
    assert_eq!(store.revoke_client("a", None).await.unwrap(), 1);
    assert!(store.get(&at).await.unwrap().is_none() && store.get(&other).await.unwrap().is_some());
    assert_eq!(
        store.clients_with_tokens().await.unwrap(),
        vec!["b".to_string()]
    );
}

#[tokio::test]
async fn one_revocation_of_many_victims_is_one_transaction() {
    let store = Store::in_memory();
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
    assert_eq!(store.len(), 1);
    // Nothing to remove is no transaction at all.
    store.revoke(&[Victim::Grant(1)]).await.unwrap();
    assert_eq!(store.transactions(), before + 1);
    store.reinstate(&removed).await.unwrap();
    assert_eq!(store.len(), 4);
    assert_eq!(store.grant_len(1), 2);
}

#[tokio::test]
async fn issue_while_present_needs_the_parent_and_can_rotate_it() {
    let store = Store::in_memory();
    let rt = store
        .issue(record(TokenKind::Refresh, "a", 1))
        .await
        .unwrap();
    let parent = hash_token(&rt);
    let kept = store
        .issue_while_present(&parent, &[record(TokenKind::Access, "a", 1)], false, 10)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store.get(&rt).await.unwrap().is_some() && store.get(&kept[0]).await.unwrap().is_some()
    );
    let rotated = store
        .issue_while_present(
            &parent,
            &[
                record(TokenKind::Access, "a", 1),
                record(TokenKind::Refresh, "a", 1),
            ],
            true,
            10,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(store.get(&rt).await.unwrap().is_none());
    assert_eq!(store.revoke_grant(1).await.unwrap(), 3);
    for t in &rotated {
        assert!(store.get(t).await.unwrap().is_none());
    }
    // Once the parent is gone nothing is issued.
    let none = store
        .issue_while_present(&parent, &[record(TokenKind::Access, "a", 1)], false, 10)
        .await
        .unwrap();
    assert!(none.is_none() && store.is_empty());
}

#[tokio::test]
async fn issue_while_present_drops_the_oldest_access_tokens_beyond_the_cap() {
    let store = Store::in_memory();
    let first = store
        .issue_all(&[
            record(TokenKind::Access, "a", 1),
            record(TokenKind::Refresh, "a", 1),
        ])
        .await
        .unwrap();
    let parent = hash_token(&first[1]);
    let mut access = vec![first[0].clone()];
    for _ in 0..5 {
        let t = store
            .issue_while_present(&parent, &[record(TokenKind::Access, "a", 1)], false, 3)
            .await
            .unwrap()
            .unwrap();
        access.extend(t);
    }
    // Three access tokens (the newest) and the refresh token.
    assert_eq!(store.grant_len(1), 4);
    for (i, t) in access.iter().enumerate() {
        assert_eq!(store.get(t).await.unwrap().is_some(), i >= 3, "{i}");
    }
    assert!(store.get(&first[1]).await.unwrap().is_some());
    // A cap of one keeps only the newest access token.
    let newest = store
        .issue_while_present(&parent, &[record(TokenKind::Access, "a", 1)], false, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.grant_len(1), 2);
    assert!(store.get(&newest[0]).await.unwrap().is_some());
}

#[tokio::test]
async fn sweep_removes_only_expired_tokens_and_their_empty_grants() {
    let store = Store::in_memory();
    let expiring = |kind, grant, at| TokenRecord {
        expires_at: at,
        ..record(kind, "a", grant)
    };
    let old = store
        .issue_all(&[
            expiring(TokenKind::Access, 1, 10),
            expiring(TokenKind::Refresh, 1, 20),
        ])
        .await
        .unwrap();
    let fresh = store
        .issue(expiring(TokenKind::Access, 2, 100))
        .await
        .unwrap();
    assert_eq!(store.sweep_expired(9).await.unwrap(), 0);
    assert_eq!(store.sweep_expired(10).await.unwrap(), 1);
    assert!(
        store.get(&old[0]).await.unwrap().is_none() && store.get(&old[1]).await.unwrap().is_some()
    );
    assert_eq!(store.sweep_expired(50).await.unwrap(), 1);
    assert_eq!(store.grant_len(1), 0);
    assert!(store.get(&fresh).await.unwrap().is_some());
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn data_dir_survives_restart_without_resurrection() {
    let dir = tempfile::tempdir().unwrap();
    let (kept, revoked) = {
        let store = Store::open(dir.path(), 0).unwrap();
        let kept = store
            .issue(record(TokenKind::Access, "a", 1))
            .await
            .unwrap();
        let revoked = store
            .issue(record(TokenKind::Refresh, "a", 2))
            .await
            .unwrap();
        store.revoke_token(&hash_token(&revoked)).await.unwrap();
        let scopes = Doc::ClientScopes("a".into());
        assert_eq!(
            store.save_doc(&scopes, 0, b"[\"x\"]").await.unwrap(),
            Saved::Stored(1)
        );
        // A write made from an older version stores nothing.
        assert_eq!(
            store.save_doc(&scopes, 0, b"[\"y\"]").await.unwrap(),
            Saved::Conflict(1)
        );
        store
            .save_doc(&Doc::ClientScopes("b".into()), 0, b"[]")
            .await
            .unwrap();
        store.save_doc(&Doc::Settings, 0, b"{}").await.unwrap();
        (kept, revoked)
    };
    let store = Store::open(dir.path(), 0).unwrap();
    assert!(store.get(&kept).await.unwrap().is_some());
    assert!(store.get(&revoked).await.unwrap().is_none());
    assert_eq!(store.len(), 1);
    let docs: Vec<(Doc, Vec<u8>)> = store
        .load_docs()
        .await
        .unwrap()
        .into_iter()
        .map(|(doc, v)| (doc, v.value))
        .collect();
    assert_eq!(
        docs,
        vec![
            (Doc::Settings, b"{}".to_vec()),
            (Doc::ClientScopes("a".into()), b"[\"x\"]".to_vec()),
            (Doc::ClientScopes("b".into()), b"[]".to_vec()),
        ]
    );
    assert_eq!(
        store
            .load_doc(&Doc::ClientScopes("c".into()))
            .await
            .unwrap(),
        None
    );
}

/// Whether the data directory (the database, then the journal written after its last
/// checkpoint), not the index, holds a token.
fn on_disk(store: &Store, token: &str) -> bool {
    let journal = store.local().unwrap().journal().unwrap();
    let hash = hash_token(token);
    let read = journal.db.begin_read().unwrap();
    let table = read.open_table(TOKENS).unwrap();
    let mut found = table.get(hash.as_slice()).unwrap().is_some();
    for op in journal.logged() {
        match op {
            Op::Put(h, _) if h == hash => found = true,
            Op::Remove(h) if h == hash => found = false,
            Op::Revoke(victims, _) if victims.contains(&Victim::Token(hash)) => found = false,
            _ => {}
        }
    }
    found
}

fn open_with(dir: &Path, limits: Limits) -> Store {
    Store::with(Backend::Local(
        LocalStore::open_with(dir, 0, limits).unwrap(),
    ))
}

#[tokio::test]
async fn revoking_all_of_a_clients_tokens_is_one_small_journal_record() {
    let dir = tempfile::tempdir().unwrap();
    let kept = {
        let store = Store::open(dir.path(), 0).unwrap();
        let many: Vec<TokenRecord> = (0..5000)
            .map(|g| record(TokenKind::Access, "b", g))
            .collect();
        store.issue_all(&many).await.unwrap();
        let kept = store
            .issue(record(TokenKind::Access, "a", 9999))
            .await
            .unwrap();
        let journal = store.local().unwrap().journal().unwrap();
        let before = journal.logged_bytes();
        assert_eq!(store.revoke_client("b", None).await.unwrap(), 5000);
        let grew = journal.logged_bytes() - before;
        assert!(grew < 64, "revoking 5000 tokens wrote {grew} bytes");
        kept
    };
    // Replayed at start: the revocation removes the same tokens again.
    let store = Store::open(dir.path(), 0).unwrap();
    assert_eq!(store.len(), 1);
    assert!(store.get(&kept).await.unwrap().is_some());
}

#[tokio::test]
async fn checkpoints_move_the_journal_into_the_database_and_a_restart_reads_both() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        bytes: u64::MAX,
        ops: 100,
    };
    let (live, revoked) = {
        let store = open_with(dir.path(), limits);
        let mut live = Vec::new();
        let mut revoked = Vec::new();
        for g in 0..250 {
            let t = store
                .issue(record(TokenKind::Access, "a", g))
                .await
                .unwrap();
            if g % 3 == 0 {
                store.revoke_token(&hash_token(&t)).await.unwrap();
                revoked.push(t);
            } else {
                live.push(t);
            }
        }
        let gone = store
            .issue_all(&[
                record(TokenKind::Access, "c", 1000),
                record(TokenKind::Refresh, "c", 1000),
            ])
            .await
            .unwrap();
        assert_eq!(store.revoke_grant(1000).await.unwrap(), 2);
        let journal = store.local().unwrap().journal().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while journal.checkpoints() < 3 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(
            journal.checkpoints() >= 3,
            "{} checkpoints",
            journal.checkpoints()
        );
        for t in &live {
            assert!(on_disk(&store, t));
        }
        for t in &revoked {
            assert!(!on_disk(&store, t));
        }
        // (`on_disk` cannot tell which tokens a grant revocation removed: checked below.)
        revoked.extend(gone);
        (live, revoked)
    };
    // The files checkpointed are gone: at most the open one and one being checkpointed.
    let logs = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with("journal-")
        })
        .count();
    assert!(logs <= 2, "{logs} journal files left");
    for limits in [limits, Limits::default()] {
        let store = open_with(dir.path(), limits);
        assert_eq!(store.len(), live.len());
        for t in &live {
            assert!(store.get(t).await.unwrap().is_some());
        }
        for t in &revoked {
            assert!(store.get(t).await.unwrap().is_none());
        }
    }
}

#[tokio::test]
async fn a_journal_record_cut_short_by_a_crash_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let store = Store::open(dir.path(), 0).unwrap();
        store
            .issue(record(TokenKind::Access, "a", 1))
            .await
            .unwrap()
    };
    // A crash in the middle of the next write: a length and part of a record.
    let newest = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("journal-"))
        .max()
        .unwrap();
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&newest)
        .unwrap()
        .write_all(&[200, 0, 0, 0, 1, 2, 3, 4, 1, 9, 9])
        .unwrap();
    let second = {
        let store = Store::open(dir.path(), 0).unwrap();
        assert!(store.get(&first).await.unwrap().is_some());
        store
            .issue(record(TokenKind::Access, "a", 2))
            .await
            .unwrap()
    };
    let store = Store::open(dir.path(), 0).unwrap();
    assert_eq!(store.len(), 2);
    assert!(store.get(&second).await.unwrap().is_some());
}

#[tokio::test]
#[allow(clippy::await_holding_lock)] // the committer's hold, released in the test
async fn concurrent_changes_share_a_commit_and_each_is_on_disk_when_it_returns() {
    use futures::FutureExt as _;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 0).unwrap();
    let journal = store.local().unwrap().journal().unwrap();
    let held = journal.hold();
    // Twenty issues queue up while the committer is held; none can have returned.
    let mut pending = Vec::new();
    for i in 0..20 {
        let mut issue = Box::pin(store.issue(record(TokenKind::Access, "a", i)));
        assert!(
            (&mut issue).now_or_never().is_none(),
            "issue {i} returned early"
        );
        pending.push(issue);
    }
    assert_eq!(store.commits(), 0);
    drop(held);
    for issue in pending {
        let token = issue.await.unwrap();
        assert!(on_disk(&store, &token), "a returned issue is not on disk");
    }
    // The first change and the nineteen queued behind it: at most two commits.
    assert!(store.commits() <= 2, "{} commits", store.commits());
    assert_eq!(store.len(), 20);
}

#[tokio::test]
#[allow(clippy::await_holding_lock)]
async fn nothing_to_revoke_still_waits_for_the_pending_revocation() {
    use futures::FutureExt as _;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 0).unwrap();
    let token = store
        .issue(record(TokenKind::Access, "a", 1))
        .await
        .unwrap();
    let hash = hash_token(&token);
    let held = store.local().unwrap().journal().unwrap().hold();
    // The first revocation changes the index and waits for its commit.
    assert!(Box::pin(store.revoke_token(&hash)).now_or_never().is_none());
    assert!(store.get(&token).await.unwrap().is_none());
    // A second one finds nothing, but must not answer before the first is durable.
    let mut again = Box::pin(store.revoke_token(&hash));
    assert!(
        (&mut again).now_or_never().is_none(),
        "answered before durable"
    );
    drop(held);
    assert!(!again.await.unwrap());
    assert!(!on_disk(&store, &token));
}

#[cfg(unix)]
#[tokio::test]
async fn data_dir_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("new").join("data");
    drop(Store::open(&dir, 0).unwrap());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(DB_FILE)), 0o600);
    for entry in std::fs::read_dir(&dir).unwrap() {
        assert_eq!(mode(&entry.unwrap().path()), 0o600);
    }
    // A database file left readable by an older run is narrowed.
    std::fs::set_permissions(dir.join(DB_FILE), std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(Store::open(&dir, 0).unwrap());
    assert_eq!(mode(&dir.join(DB_FILE)), 0o600);
}

#[tokio::test]
async fn a_token_issued_after_a_sweep_with_an_earlier_expiry_is_swept() {
    let store = Store::in_memory();
    let expiring = |grant, at| TokenRecord {
        expires_at: at,
        ..record(TokenKind::Access, "a", grant)
    };
    store.issue(expiring(1, 100)).await.unwrap();
    // The scan finds nothing and remembers 100 as the earliest expiry...
    assert_eq!(store.sweep_expired(50).await.unwrap(), 0);
    // ...which a later, earlier-expiring token lowers.
    let early = store.issue(expiring(2, 20)).await.unwrap();
    assert_eq!(store.sweep_expired(30).await.unwrap(), 1);
    assert!(store.get(&early).await.unwrap().is_none());
    assert_eq!(store.sweep_expired(100).await.unwrap(), 1);
    assert!(store.is_empty());
}

#[tokio::test]
async fn grants_shrink_to_one_inline_member_and_grow_again() {
    let store = Store::in_memory();
    let t = store
        .issue_all(&[
            record(TokenKind::Access, "a", 1),
            record(TokenKind::Refresh, "a", 1),
            record(TokenKind::Access, "a", 1),
        ])
        .await
        .unwrap();
    assert!(store.revoke_token(&hash_token(&t[1])).await.unwrap());
    assert!(store.revoke_token(&hash_token(&t[0])).await.unwrap());
    assert_eq!(store.grant_len(1), 1);
    let more = store
        .issue(record(TokenKind::Refresh, "a", 1))
        .await
        .unwrap();
    assert_eq!(store.grant_len(1), 2);
    assert_eq!(
        store
            .revoke_client("a", Some(TokenKind::Refresh))
            .await
            .unwrap(),
        1
    );
    assert!(store.get(&more).await.unwrap().is_none());
    assert_eq!(store.revoke_grant(1).await.unwrap(), 1);
    assert_eq!(store.grant_len(1), 0);
    assert!(store.clients_with_tokens().await.unwrap().is_empty());
}
