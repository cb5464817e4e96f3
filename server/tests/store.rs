//! The store's contract: one suite, generic over the `Store` trait, run on a real SQLite file
//! and on a real PostgreSQL database of its own (every method, paging and filters, revisions,
//! revocation, rotation grace, usage deltas, bootstrap, the pepper, and the change records).

#[path = "support/postgres.rs"]
mod postgres;

use std::sync::Arc;

use keyward_server::domain::api_key::{ApiKey, ApiKeyPatch, IssuedKey, KeyStatus, NewApiKey};
use keyward_server::domain::key::{KeyHasher, KeyPrefix, Secret};
use keyward_server::domain::limits::Credits;
use keyward_server::domain::organization::Organization;
use keyward_server::store::{
    self, ChangeKind, CreditsSnapshot, ListQuery, Signal, Store, StoreError, UsageDelta,
};
use uuid::Uuid;

/// A store with one organization, and what keeps its database alive.
struct Fixture {
    store: Arc<dyn Store>,
    org: Uuid,
    _database: Database,
}

enum Database {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(#[allow(dead_code)] postgres::TestDatabase),
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = store::connect(&format!("sqlite://{}", dir.path().join("k.db").display())).await.unwrap();
    with_organization(store, Database::Sqlite(dir)).await
}

async fn postgres() -> Fixture {
    let database = postgres::TestDatabase::create().await;
    let store = store::connect(&database.url).await.unwrap();
    with_organization(store, Database::Postgres(database)).await
}

async fn with_organization(store: Arc<dyn Store>, database: Database) -> Fixture {
    let organization = Organization::parse_new("org", 1).unwrap();
    let (root, _) =
        keyward_server::bootstrap::root_key(&organization, &KeyHasher::default(), true, 1).unwrap();
    store.organization_create(&organization, &root).await.unwrap();
    Fixture { store, org: organization.id, _database: database }
}

/// Every test below, once on each store.
macro_rules! on_every_store {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::sqlite().await).await;
                }
            )*
        }
        mod postgres_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::postgres().await).await;
                }
            )*
        }
    };
}

on_every_store!(
    a_batch_of_keys_is_stored_whole_and_each_is_found_by_its_digest,
    rotation_bounds_every_older_secret_by_the_shortest_grace,
    usage_adds_up_and_a_returned_lease_goes_back_only_to_its_own_balance,
    concurrent_leases_never_take_the_same_credits_twice,
    a_write_at_a_stale_revision_changes_nothing_and_records_nothing,
    a_revoked_key_can_be_written_no_more,
    every_write_leaves_one_change_record_in_commit_order,
    the_change_signal_follows_a_commit,
    lists_page_newest_first_and_filter,
    keys_and_organizations_are_found_only_where_they_are,
    of_concurrent_bootstraps_exactly_one_creates_the_organization,
    a_pepper_other_than_the_first_is_refused,
    text_a_database_cannot_hold_is_refused_as_such_never_as_busy_or_a_fault,
    the_last_key_that_manages_keys_for_good_is_never_written_away,
    a_lasting_manager_is_what_a_write_needing_one_counts_on,
);

fn issue(organization_id: Uuid, name: &str, credits: Option<Credits>) -> (IssuedKey, Secret) {
    NewApiKey { name: name.into(), credits, ..Default::default() }
        .issue(organization_id, &KeyHasher::default(), 10)
        .unwrap()
}

/// Applies `patch` the way the application layer does, and writes it at the read revision.
async fn update(store: &dyn Store, key: &ApiKey, patch: ApiKeyPatch, now: i64) -> ApiKey {
    let mut changed = key.clone();
    patch.apply(&mut changed, now);
    store.api_key_write(&changed, key.revision, ChangeKind::Updated, None).await.unwrap().expect("written");
    changed
}

async fn a_batch_of_keys_is_stored_whole_and_each_is_found_by_its_digest(f: Fixture) {
    let issued: Vec<_> = (0..2_345).map(|i| issue(f.org, &format!("k{i}"), None)).collect();
    let keys: Vec<_> = issued.iter().map(|(k, _)| k.clone()).collect();
    f.store.api_key_insert_batch(&keys).await.unwrap();
    for (key, secret) in issued.iter().step_by(97) {
        let found = f.store.api_key_by_digest(&KeyHasher::default().digest(secret)).await.unwrap().unwrap();
        assert_eq!(found.api_key, key.api_key);
        assert_eq!(found.secret_expires_at, None);
    }
    assert_eq!(f.store.secret_digests().await.unwrap().len(), 2_345 + 1);
    let page = f.store.api_key_list(f.org, &ListQuery { limit: 5000, ..Default::default() }).await.unwrap();
    assert_eq!(page.len(), 2_345 + 1);
    let changes = f.store.changes_since(0, 10_000).await.unwrap();
    assert_eq!(changes.len(), 2_345 + 1, "a change record for every key, the root's included");
    assert!(changes.iter().all(|c| c.kind == ChangeKind::Created && c.digests.len() == 1));
}

async fn rotation_bounds_every_older_secret_by_the_shortest_grace(f: Fixture) {
    let (key, first) = issue(f.org, "r", None);
    f.store.api_key_insert(&key).await.unwrap();
    let hasher = KeyHasher::default();
    let mut current = key.api_key.clone();
    let mut rotate = async |secret: &Secret, grace_until: i64, now: i64| {
        let expected = current.revision;
        current.masked_key = secret.masked();
        current.revision += 1;
        current.updated_at = now;
        f.store
            .api_key_rotate(&current, expected, &hasher.digest(secret), grace_until)
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

async fn usage_adds_up_and_a_returned_lease_goes_back_only_to_its_own_balance(f: Fixture) {
    let (key, _) = issue(f.org, "u", Some(Credits { remaining: 100, refill: None }));
    let id = key.api_key.id;
    f.store.api_key_insert(&key).await.unwrap();
    let delta = |uses, at, returned, version| UsageDelta {
        api_key_id: id,
        uses,
        last_used_at: at,
        returned: Some(CreditsSnapshot { remaining: returned, refilled_at: 10, version }),
    };
    f.store.usage_record(&[delta(3, 500, 2, 0)]).await.unwrap();
    f.store.usage_record(&[delta(2, 400, 1, 0)]).await.unwrap();
    let stored = f.store.api_key_get(f.org, id).await.unwrap();
    assert_eq!((stored.usage_count, stored.last_used_at), (5, Some(500)), "last use never goes back");
    assert_eq!(stored.credits.unwrap().remaining, 103, "returned leases are added");

    let set =
        ApiKeyPatch { credits: Some(Some(Credits { remaining: 7, refill: None })), ..Default::default() };
    update(f.store.as_ref(), &stored, set, 600).await;
    f.store.usage_record(&[delta(1, 700, 90, 0)]).await.unwrap();
    let stored = f.store.api_key_get(f.org, id).await.unwrap();
    assert_eq!(stored.credits.unwrap().remaining, 7, "a lease of the old budget is not added to the new");
    assert_eq!(stored.usage_count, 6);
}

async fn concurrent_leases_never_take_the_same_credits_twice(f: Fixture) {
    let (key, _) = issue(f.org, "leased", Some(Credits { remaining: 1_000, refill: None }));
    let id = key.api_key.id;
    f.store.api_key_insert(&key).await.unwrap();
    let leasers = (0..8).map(|_| {
        let store = f.store.clone();
        tokio::spawn(async move {
            let mut taken = 0;
            loop {
                let stored = store.credits_get(id).await.unwrap().expect("a budget");
                let mut balance = stored.balance;
                let Some(lease) = balance.lease(1, 20) else { return taken };
                if store.credits_swap(id, &stored, &balance).await.unwrap() {
                    taken += lease;
                }
            }
        })
    });
    let taken: i64 = futures::future::try_join_all(leasers).await.unwrap().into_iter().sum();
    assert_eq!(taken, 1_000, "every credit leased exactly once");
    let left = f.store.credits_get(id).await.unwrap().unwrap();
    assert_eq!(left.balance.credits.remaining, 0);
    let (plain, _) = issue(f.org, "plain", None);
    f.store.api_key_insert(&plain).await.unwrap();
    assert_eq!(f.store.credits_get(plain.api_key.id).await.unwrap(), None, "no budget, no balance");
}

async fn a_write_at_a_stale_revision_changes_nothing_and_records_nothing(f: Fixture) {
    let (key, _) = issue(f.org, "w", None);
    f.store.api_key_insert(&key).await.unwrap();
    let before = f.store.last_change().await.unwrap();
    let mut changed = key.api_key.clone();
    changed.name = "lost".into();
    changed.revision = 3;
    let written = f.store.api_key_write(&changed, 2, ChangeKind::Updated, None).await.unwrap();
    assert_eq!(written, None, "the stored key is at revision 1");
    assert_eq!(f.store.api_key_get(f.org, key.api_key.id).await.unwrap().name, "w");
    assert_eq!(f.store.last_change().await.unwrap(), before);
}

async fn a_revoked_key_can_be_written_no_more(f: Fixture) {
    let (key, _) = issue(f.org, "v", None);
    f.store.api_key_insert(&key).await.unwrap();
    let mut revoked = key.api_key.clone();
    revoked.deleted_at = Some(50);
    revoked.revision = 2;
    let change = f.store.api_key_write(&revoked, 1, ChangeKind::Revoked, None).await.unwrap().unwrap();
    assert_eq!((change.kind, change.api_key_id), (ChangeKind::Revoked, key.api_key.id));
    let mut again = revoked.clone();
    again.status = KeyStatus::Disabled;
    again.revision = 3;
    assert_eq!(f.store.api_key_write(&again, 2, ChangeKind::Updated, None).await.unwrap(), None);
    let stored = f.store.api_key_get(f.org, key.api_key.id).await.unwrap();
    assert_eq!((stored.deleted_at, stored.status), (Some(50), KeyStatus::Enabled));
    let listed = f.store.api_key_list(f.org, &ListQuery { limit: 10, ..Default::default() }).await.unwrap();
    assert!(listed.iter().all(|k| k.id != key.api_key.id), "a revoked key is not listed by default");
}

async fn every_write_leaves_one_change_record_in_commit_order(f: Fixture) {
    let start = f.store.last_change().await.unwrap();
    let (key, secret) = issue(f.org, "c", None);
    let created = f.store.api_key_insert(&key).await.unwrap();
    assert_eq!(created.digests, vec![KeyHasher::default().digest(&secret)]);
    let renamed = update(
        f.store.as_ref(),
        &key.api_key,
        ApiKeyPatch { name: Some("d".into()), ..Default::default() },
        20,
    )
    .await;
    let mut revoked = renamed.clone();
    revoked.deleted_at = Some(30);
    revoked.revision += 1;
    f.store.api_key_write(&revoked, renamed.revision, ChangeKind::Revoked, None).await.unwrap().unwrap();

    let changes = f.store.changes_since(start, 100).await.unwrap();
    let kinds: Vec<_> = changes.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, [ChangeKind::Created, ChangeKind::Updated, ChangeKind::Revoked]);
    assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq), "{changes:?}");
    assert!(changes.iter().all(|c| c.api_key_id == key.api_key.id && c.organization_id == f.org));
    assert_eq!(changes[0], created, "the record a write returns is the one stored");
    assert_eq!(f.store.last_change().await.unwrap(), changes[2].seq);
    let paged = f.store.changes_since(changes[0].seq, 1).await.unwrap();
    assert_eq!(paged, vec![changes[1].clone()], "read after a seq, at most `limit`");
}

async fn the_change_signal_follows_a_commit(f: Fixture) {
    let mut signals = f.store.change_signals().await.unwrap();
    let (key, _) = issue(f.org, "s", None);
    let change = f.store.api_key_insert(&key).await.unwrap();
    let signal = tokio::time::timeout(std::time::Duration::from_secs(10), signals.next())
        .await
        .expect("a signal within 10 s");
    assert!(matches!(signal, Signal::Changed(seq) if seq >= change.seq), "{signal:?} for {change:?}");
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
        f.store.api_key_insert(&key).await.unwrap();
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
    f.store.api_key_write(&revoked, ids[3].revision, ChangeKind::Revoked, None).await.unwrap().unwrap();
    assert_eq!(list(all.clone()).await, ["l4", "l2", "l1", "l0"]);
    assert_eq!(list(ListQuery { include_deleted: true, ..all }).await, ["l4", "l3", "l2", "l1", "l0"]);
}

async fn keys_and_organizations_are_found_only_where_they_are(f: Fixture) {
    let (key, _) = issue(f.org, "mine", None);
    f.store.api_key_insert(&key).await.unwrap();
    let other = Uuid::now_v7();
    assert!(matches!(f.store.api_key_get(other, key.api_key.id).await, Err(StoreError::NotFound)));
    assert!(matches!(f.store.organization_get(other).await, Err(StoreError::NotFound)));
    assert!(
        f.store.api_key_list(other, &ListQuery { limit: 10, ..Default::default() }).await.unwrap().is_empty()
    );
    assert_eq!(f.store.organization_get(f.org).await.unwrap().name, "org");
    assert_eq!(f.store.organization_count().await.unwrap(), 1);
    let unknown = KeyHasher::default().digest(&Secret::generate(&KeyPrefix::default()));
    assert!(f.store.api_key_by_digest(&unknown).await.unwrap().is_none());
    f.store.ping().await.unwrap();
}

async fn of_concurrent_bootstraps_exactly_one_creates_the_organization(f: Fixture) {
    // The fixture's store already has an organization: a bootstrap now creates nothing.
    let organization = Organization::parse_new("late", 5).unwrap();
    let (root, _) =
        keyward_server::bootstrap::root_key(&organization, &KeyHasher::default(), true, 5).unwrap();
    assert_eq!(f.store.organization_bootstrap(&organization, &root).await.unwrap(), None);

    // On an empty database, several at once: exactly one wins.
    let mut second_database = None;
    let fresh = match &f._database {
        Database::Sqlite(dir) => {
            store::connect(&format!("sqlite://{}", dir.path().join("fresh.db").display())).await.unwrap()
        }
        Database::Postgres(_) => {
            let database = postgres::TestDatabase::create().await;
            let store = store::connect(&database.url).await.unwrap();
            second_database = Some(database);
            store
        }
    };
    let attempts = (0..4).map(|i| {
        let store = fresh.clone();
        tokio::spawn(async move {
            let organization = Organization::parse_new(&format!("o{i}"), 5).unwrap();
            let (root, _) =
                keyward_server::bootstrap::root_key(&organization, &KeyHasher::default(), true, 5).unwrap();
            store.organization_bootstrap(&organization, &root).await.unwrap().is_some()
        })
    });
    let won: Vec<bool> = futures::future::try_join_all(attempts).await.unwrap();
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
    assert_eq!(fresh.organization_count().await.unwrap(), 1);
    drop(fresh);
    drop(second_database);
}

async fn a_pepper_other_than_the_first_is_refused(f: Fixture) {
    let first = KeyHasher::new(Some(b"first".to_vec())).fingerprint();
    let second = KeyHasher::new(Some(b"second".to_vec())).fingerprint();
    f.store.pepper_check(&first).await.unwrap();
    f.store.pepper_check(&first).await.unwrap();
    let refused = f.store.pepper_check(&second).await;
    assert!(matches!(refused, Err(StoreError::PepperMismatch { .. })), "{refused:?}");
}

/// What the checks keep from a store, sent anyway: SQLite holds a NUL in text, PostgreSQL refuses
/// it (SQLSTATE 22021, whose number SQLite would read as its "busy" code), and the refusal must
/// say so: not contention, which a client retries for ever, and not a fault.
async fn text_a_database_cannot_hold_is_refused_as_such_never_as_busy_or_a_fault(f: Fixture) {
    let (mut issued, _) = issue(f.org, "nul", None);
    issued.api_key.name = "nul\u{0}byte".into();
    match f.store.api_key_insert(&issued).await {
        Ok(_) | Err(StoreError::Rejected(_)) => {}
        Err(other) => panic!("a NUL is refused as {other:?}"),
    }
    let (mut issued, _) = issue(f.org, "metadata", None);
    issued.api_key.metadata = serde_json::json!({"k": "v\u{0}"}).as_object().unwrap().clone();
    match f.store.api_key_insert(&issued).await {
        Ok(_) | Err(StoreError::Rejected(_)) => {}
        Err(other) => panic!("a NUL in metadata is refused as {other:?}"),
    }
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
    f.store.api_key_insert(&issued).await.unwrap();
}

/// `key` revoked, one revision on.
fn revoked(key: &ApiKey) -> ApiKey {
    ApiKey { deleted_at: Some(5), revision: key.revision + 1, ..key.clone() }
}

/// The write that would leave an organization no enabled, never-expiring key able to manage its
/// keys is refused, in the write's own transaction; one that needs a manager only now counts a
/// key that expires later.
async fn the_last_key_that_manages_keys_for_good_is_never_written_away(f: Fixture) {
    let root = root_of(&f).await;
    let revoked = revoked(&root);
    let refused = f.store.api_key_write(&revoked, root.revision, ChangeKind::Revoked, Some(i64::MAX)).await;
    assert!(matches!(refused, Err(StoreError::LastManager)), "{refused:?}");
    let read = f.store.api_key_get(f.org, root.id).await.unwrap();
    assert_eq!((read.deleted_at, read.revision), (None, root.revision), "nothing of the write stays");

    insert_manager(&f, "expiring", Some(i64::MAX)).await;
    let refused = f.store.api_key_write(&revoked, root.revision, ChangeKind::Revoked, Some(i64::MAX)).await;
    assert!(matches!(refused, Err(StoreError::LastManager)), "a key that will expire is none to count on");

    // Past a time, the expiring key does count: a write that only needs a manager that works
    // now goes through.
    let now_only = f.store.api_key_write(&revoked, root.revision, ChangeKind::Revoked, Some(10)).await;
    assert!(matches!(now_only, Ok(Some(_))), "{now_only:?}");
}

/// A key that never expires is what a write needing a lasting manager counts on.
async fn a_lasting_manager_is_what_a_write_needing_one_counts_on(f: Fixture) {
    let root = root_of(&f).await;
    insert_manager(&f, "lasting", None).await;
    let written =
        f.store.api_key_write(&revoked(&root), root.revision, ChangeKind::Revoked, Some(i64::MAX)).await;
    assert!(matches!(written, Ok(Some(_))), "another key manages keys for good: {written:?}");
}
