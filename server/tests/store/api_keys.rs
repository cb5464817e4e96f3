//! API keys: stored whole, found by digest, listed, written at a revision, rotated, and never
//! written away from the last key that manages keys.

use keyward_server::domain::api_key::{ApiKey, KeyStatus, NewApiKey};
use keyward_server::domain::key::{KeyHasher, KeyPrefix, Secret};
use keyward_server::store::{ChangeKind, Entity, ListQuery, StoreError};

use crate::{ACTOR, Fixture, issue, note};

on_every_store!(
    a_batch_of_keys_is_stored_whole_and_each_is_found_by_its_digest,
    rotation_bounds_every_older_secret_by_the_shortest_grace,
    a_write_at_a_stale_revision_changes_nothing_and_records_nothing,
    a_revoked_key_can_be_written_no_more,
    lists_page_newest_first_and_filter,
    text_a_database_cannot_hold_is_refused_as_such_never_as_busy_or_a_fault,
    the_last_key_that_manages_keys_for_good_is_never_written_away,
    a_lasting_manager_is_what_a_write_needing_one_counts_on,
);

async fn a_batch_of_keys_is_stored_whole_and_each_is_found_by_its_digest(f: Fixture) {
    let issued: Vec<_> = (0..2_345).map(|i| issue(f.org, &format!("k{i}"), None)).collect();
    let keys: Vec<_> = issued.iter().map(|(k, _)| k.clone()).collect();
    f.store.api_key_insert_batch(&keys, ACTOR).await.unwrap();
    for (key, secret) in issued.iter().step_by(97) {
        let found = f.store.api_key_by_digest(&KeyHasher::default().digest(secret)).await.unwrap().unwrap();
        assert_eq!(found.api_key, key.api_key);
        assert_eq!(found.secret_expires_at, None);
    }
    assert_eq!(f.store.secret_digests().await.unwrap().len(), 2_345 + 1);
    let page = f.store.api_key_list(f.org, &ListQuery { limit: 5000, ..Default::default() }).await.unwrap();
    assert_eq!(page.len(), 2_345 + 1);
    let (keys, organizations): (Vec<_>, Vec<_>) = f
        .store
        .changes_since(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .partition(|c| matches!(c.entity, Entity::ApiKey(_)));
    assert_eq!(organizations.len(), 1, "the organization's own record");
    let changes = keys;
    assert_eq!(changes.len(), 2_345 + 1, "a change record for every key, the root's included");
    assert!(changes.iter().all(|c| c.kind == ChangeKind::Created && c.digests.len() == 1));
}

async fn rotation_bounds_every_older_secret_by_the_shortest_grace(f: Fixture) {
    let (key, first) = issue(f.org, "r", None);
    f.store.api_key_insert(&key, ACTOR).await.unwrap();
    let hasher = KeyHasher::default();
    let mut current = key.api_key.clone();
    let mut rotate = async |secret: &Secret, grace_until: i64, now: i64| {
        let expected = current.revision;
        current.masked_key = secret.masked();
        current.revision += 1;
        current.updated_at = now;
        f.store
            .api_key_rotate(
                &current,
                expected,
                &hasher.digest(secret),
                grace_until,
                &note(ChangeKind::Rotated),
            )
            .await
            .unwrap()
            .unwrap()
    };
    let second = Secret::generate(&KeyPrefix::default());
    rotate(&second, 5_000, 100).await;
    let third = Secret::generate(&KeyPrefix::default());
    let change = rotate(&third, 9_000, 200).await;
    assert_eq!(change.kind, ChangeKind::Rotated);
    assert_eq!(change.digests.len(), 3, "the new secret and both older ones");
    assert_eq!(change.digests[0], hasher.digest(&third), "the new secret first");
    let stored = f.store.api_key_get(f.org, key.api_key.id).await.unwrap();
    assert_eq!((stored.revision, stored.masked_key), (3, third.masked()));
    let expiry = |secret: &Secret| {
        let digest = hasher.digest(secret);
        let store = f.store.clone();
        async move { store.api_key_by_digest(&digest).await.unwrap().unwrap().secret_expires_at }
    };
    assert_eq!(expiry(&first).await, Some(5_000), "a later, longer grace does not extend an earlier one");
    assert_eq!(expiry(&second).await, Some(9_000));
    assert_eq!(expiry(&third).await, None);
}

async fn a_write_at_a_stale_revision_changes_nothing_and_records_nothing(f: Fixture) {
    let (key, _) = issue(f.org, "w", None);
    f.store.api_key_insert(&key, ACTOR).await.unwrap();
    let before = f.store.last_change().await.unwrap();
    let mut changed = key.api_key.clone();
    changed.name = "lost".into();
    changed.revision = 3;
    let written = f.store.api_key_write(&changed, 2, &note(ChangeKind::Updated), None).await.unwrap();
    assert_eq!(written, None, "the stored key is at revision 1");
    assert_eq!(f.store.api_key_get(f.org, key.api_key.id).await.unwrap().name, "w");
    assert_eq!(f.store.last_change().await.unwrap(), before);
}

async fn a_revoked_key_can_be_written_no_more(f: Fixture) {
    let (key, _) = issue(f.org, "v", None);
    f.store.api_key_insert(&key, ACTOR).await.unwrap();
    let mut revoked = key.api_key.clone();
    revoked.deleted_at = Some(50);
    revoked.revision = 2;
    let change = f.store.api_key_write(&revoked, 1, &note(ChangeKind::Revoked), None).await.unwrap().unwrap();
    assert_eq!((change.kind, change.entity), (ChangeKind::Revoked, Entity::ApiKey(key.api_key.id)));
    let mut again = revoked.clone();
    again.status = KeyStatus::Disabled;
    again.revision = 3;
    assert_eq!(f.store.api_key_write(&again, 2, &note(ChangeKind::Updated), None).await.unwrap(), None);
    let stored = f.store.api_key_get(f.org, key.api_key.id).await.unwrap();
    assert_eq!((stored.deleted_at, stored.status), (Some(50), KeyStatus::Enabled));
    let listed = f.store.api_key_list(f.org, &ListQuery { limit: 10, ..Default::default() }).await.unwrap();
    assert!(listed.iter().all(|k| k.id != key.api_key.id), "a revoked key is not listed by default");
}

async fn lists_page_newest_first_and_filter(f: Fixture) {
    let mut ids = Vec::new();
    for i in 0..5 {
        let (mut key, _) = issue(f.org, &format!("l{i}"), None);
        key.api_key.user_id = Some(if i % 2 == 0 { "ann" } else { "bob" }.into());
        key.api_key.customer_id = Some(format!("cus_{}", i % 3));
        if i == 4 {
            key.api_key.status = KeyStatus::Disabled;
        }
        f.store.api_key_insert(&key, ACTOR).await.unwrap();
        ids.push(key.api_key);
    }
    let list = |query: ListQuery| {
        let store = f.store.clone();
        async move {
            let keys = store.api_key_list(f.org, &query).await.unwrap();
            keys.into_iter().filter(|k| k.name.starts_with('l')).map(|k| k.name).collect::<Vec<_>>()
        }
    };
    let all = ListQuery { limit: 100, ..Default::default() };
    assert_eq!(list(all.clone()).await, ["l4", "l3", "l2", "l1", "l0"]);
    assert_eq!(list(ListQuery { limit: 2, ..all.clone() }).await.len(), 2);
    assert_eq!(list(ListQuery { before: Some(ids[2].id), ..all.clone() }).await, ["l1", "l0"]);
    assert_eq!(list(ListQuery { user_id: Some("ann".into()), ..all.clone() }).await, ["l4", "l2", "l0"]);
    assert_eq!(list(ListQuery { customer_id: Some("cus_1".into()), ..all.clone() }).await, ["l4", "l1"]);
    assert_eq!(list(ListQuery { status: Some(KeyStatus::Disabled), ..all.clone() }).await, ["l4"]);
    let mut revoked = ids[3].clone();
    revoked.deleted_at = Some(99);
    revoked.revision += 1;
    f.store
        .api_key_write(&revoked, ids[3].revision, &note(ChangeKind::Revoked), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(list(all.clone()).await, ["l4", "l2", "l1", "l0"]);
    assert_eq!(list(ListQuery { include_deleted: true, ..all }).await, ["l4", "l3", "l2", "l1", "l0"]);
}

/// What the checks keep from a store, sent anyway: SQLite holds a NUL in text, PostgreSQL refuses
/// it (SQLSTATE 22021, whose number SQLite would read as its "busy" code), and the refusal must
/// say so: not contention, which a client retries for ever, and not a fault.
async fn text_a_database_cannot_hold_is_refused_as_such_never_as_busy_or_a_fault(f: Fixture) {
    let (mut issued, _) = issue(f.org, "nul", None);
    issued.api_key.name = "nul\u{0}byte".into();
    match f.store.api_key_insert(&issued, ACTOR).await {
        Ok(_) | Err(StoreError::Rejected(_)) => {}
        Err(other) => panic!("a NUL is refused as {other:?}"),
    }
    let (mut issued, _) = issue(f.org, "metadata", None);
    issued.api_key.metadata = serde_json::json!({"k": "v\u{0}"}).as_object().unwrap().clone();
    match f.store.api_key_insert(&issued, ACTOR).await {
        Ok(_) | Err(StoreError::Rejected(_)) => {}
        Err(other) => panic!("a NUL in metadata is refused as {other:?}"),
    }
}

/// The write that would leave an organization no enabled, never-expiring key able to manage its
/// keys is refused, in the write's own transaction; one that needs a manager only now counts a
/// key that expires later.
async fn the_last_key_that_manages_keys_for_good_is_never_written_away(f: Fixture) {
    let root = root_of(&f).await;
    let revoked = revoked(&root);
    let refused =
        f.store.api_key_write(&revoked, root.revision, &note(ChangeKind::Revoked), Some(i64::MAX)).await;
    assert!(matches!(refused, Err(StoreError::LastManager)), "{refused:?}");
    let read = f.store.api_key_get(f.org, root.id).await.unwrap();
    assert_eq!((read.deleted_at, read.revision), (None, root.revision), "nothing of the write stays");

    insert_manager(&f, "expiring", Some(i64::MAX)).await;
    let refused =
        f.store.api_key_write(&revoked, root.revision, &note(ChangeKind::Revoked), Some(i64::MAX)).await;
    assert!(matches!(refused, Err(StoreError::LastManager)), "a key that will expire is none to count on");

    // Past a time, the expiring key does count: a write that only needs a manager that works
    // now goes through.
    let now_only = f.store.api_key_write(&revoked, root.revision, &note(ChangeKind::Revoked), Some(10)).await;
    assert!(matches!(now_only, Ok(Some(_))), "{now_only:?}");
}

/// A key that never expires is what a write needing a lasting manager counts on.
async fn a_lasting_manager_is_what_a_write_needing_one_counts_on(f: Fixture) {
    let root = root_of(&f).await;
    insert_manager(&f, "lasting", None).await;
    let written = f
        .store
        .api_key_write(&revoked(&root), root.revision, &note(ChangeKind::Revoked), Some(i64::MAX))
        .await;
    assert!(matches!(written, Ok(Some(_))), "another key manages keys for good: {written:?}");
}

/// The organization's root key, as stored.
async fn root_of(f: &Fixture) -> ApiKey {
    let keys = f.store.api_key_list(f.org, &ListQuery { limit: 10, ..Default::default() }).await.unwrap();
    keys.into_iter().find(|k| k.name == "root").expect("the root key")
}

/// Stores another key of the organization with a root key's scopes, expiring at `expires_at`.
async fn insert_manager(f: &Fixture, name: &str, expires_at: Option<i64>) {
    let scopes = keyward_server::domain::scope::root_scopes();
    let new = NewApiKey { name: name.into(), expires_at, scopes, ..Default::default() };
    let (issued, _) = new.issue(f.org, &KeyHasher::default(), 10).unwrap();
    f.store.api_key_insert(&issued, ACTOR).await.unwrap();
}

/// `key` revoked, one revision on.
fn revoked(key: &ApiKey) -> ApiKey {
    ApiKey { deleted_at: Some(5), revision: key.revision + 1, ..key.clone() }
}
