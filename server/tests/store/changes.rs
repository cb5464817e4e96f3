//! The change records: one a write, in commit order, signalled after the commit.

use keyward_server::domain::actor::Actor;
use keyward_server::domain::api_key::ApiKeyPatch;
use keyward_server::domain::key::{KeyDigest, KeyHasher, KeyPrefix, Secret};
use keyward_server::domain::organization::Organization;
use keyward_server::store::{self, ChangeKind, ChangeNote, Entity, Signal};
use uuid::Uuid;

use crate::{ACTOR, Fixture, issue, note, update};

on_every_store!(
    a_change_record_names_its_entity_its_actor_and_the_fields_that_changed,
    every_write_leaves_one_change_record_in_commit_order,
    the_change_signal_follows_a_commit,
);

async fn every_write_leaves_one_change_record_in_commit_order(f: Fixture) {
    let start = f.store.last_change().await.unwrap();
    let (key, secret) = issue(f.org, "c", None);
    let created = f.store.api_key_insert(&key, ACTOR).await.unwrap();
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
    f.store
        .api_key_write(&revoked, renamed.revision, &note(ChangeKind::Revoked), None)
        .await
        .unwrap()
        .unwrap();

    let changes = f.store.changes_since(start, 100).await.unwrap();
    let kinds: Vec<_> = changes.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, [ChangeKind::Created, ChangeKind::Updated, ChangeKind::Revoked]);
    assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq), "{changes:?}");
    assert!(changes.iter().all(|c| c.entity == Entity::ApiKey(key.api_key.id) && c.organization_id == f.org));
    assert_eq!(changes[0], created, "the record a write returns is the one stored");
    assert_eq!(f.store.last_change().await.unwrap(), changes[2].seq);
    let paged = f.store.changes_since(changes[0].seq, 1).await.unwrap();
    assert_eq!(paged, vec![changes[1].clone()], "read after a seq, at most `limit`");
}

async fn the_change_signal_follows_a_commit(f: Fixture) {
    let mut signals = f.store.change_signals().await.unwrap();
    let (key, _) = issue(f.org, "s", None);
    let change = f.store.api_key_insert(&key, ACTOR).await.unwrap();
    let signal = tokio::time::timeout(std::time::Duration::from_secs(10), signals.next())
        .await
        .expect("a signal within 10 s");
    assert!(matches!(signal, Signal::Changed(seq) if seq >= change.seq), "{signal:?} for {change:?}");
}

async fn a_change_record_names_its_entity_its_actor_and_the_fields_that_changed(f: Fixture) {
    let start = f.store.last_change().await.unwrap();
    let by = Actor::ApiKey(Uuid::now_v7());
    let (key, _) = issue(f.org, "n", None);
    let created = f.store.api_key_insert(&key, by).await.unwrap();
    assert_eq!((created.entity, created.actor), (Entity::ApiKey(key.api_key.id), by));
    assert!(created.fields.is_empty(), "a created entity names no field: {created:?}");
    let mut renamed = key.api_key.clone();
    renamed.name = "m".into();
    renamed.revision += 1;
    let said = ChangeNote::new(ChangeKind::Updated, by, &["name"]);
    let updated = f.store.api_key_write(&renamed, key.api_key.revision, &said, None).await.unwrap().unwrap();
    assert_eq!((updated.kind, updated.actor, updated.fields.clone()), (said.kind, said.actor, said.fields));

    let organization = Organization::parse_new("another", 7).unwrap();
    let (root, _) =
        keyward_server::bootstrap::root_key(&organization, &KeyHasher::default(), false, 7).unwrap();
    let both = f.store.organization_create(&organization, &root, Actor::Operator).await.unwrap();
    let entities: Vec<_> = both.iter().map(|c| c.entity).collect();
    assert_eq!(entities, [Entity::Organization(organization.id), Entity::ApiKey(root.api_key.id)]);
    assert!(both.iter().all(|c| c.actor == Actor::Operator && c.organization_id == organization.id));

    let stored = f.store.changes_since(start, 100).await.unwrap();
    assert_eq!(stored, [vec![created, updated], both].concat(), "each record reads back as it was written");
}

/// The version of the migration that made `key_changes` into `changes`, the one outbox.
const OUTBOX_MIGRATION: i64 = 20261207000000;

/// The two records an older release left: a key created, then updated.
const OLDER_RECORDS: &str = "INSERT INTO key_changes (organization_id, api_key_id, kind, digests, at) \
     VALUES ($1, $2, 'created', $3, 5), ($1, $2, 'updated', $4, 6)";

/// What an older release left in its database.
struct Older {
    organization_id: Uuid,
    key_id: Uuid,
    digest: KeyDigest,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_keeps_every_change_record_made_before_it_on_both_stores() {
    let older = Older { organization_id: Uuid::now_v7(), key_id: Uuid::now_v7(), digest: older_digest() };

    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("old.db").display());
    let options: sqlx::sqlite::SqliteConnectOptions = sqlite.parse().unwrap();
    let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true)).await.unwrap();
    left_by_an_older_release(&pool, sqlx::migrate!("migrations/sqlite"), &older).await;

    let database = crate::postgres::TestDatabase::create().await;
    let pool = sqlx::PgPool::connect(&database.url).await.unwrap();
    left_by_an_older_release(&pool, sqlx::migrate!("migrations/postgres"), &older).await;

    for url in [&sqlite, &database.url] {
        the_older_records_read_back(url, &older).await;
    }
}

/// Migrates `pool`'s database as far as an older release did, and leaves its records there.
async fn left_by_an_older_release<DB>(pool: &sqlx::Pool<DB>, migrator: sqlx::migrate::Migrator, older: &Older)
where
    DB: sqlx::Database,
    DB::Connection: sqlx::migrate::Migrate,
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
    Uuid: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Vec<u8>: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
{
    crate::migrations_before(migrator, OUTBOX_MIGRATION).run(pool).await.unwrap();
    sqlx::query(OLDER_RECORDS)
        .bind(older.organization_id)
        .bind(older.key_id)
        .bind(older.digest.0.to_vec())
        .bind(Vec::<u8>::new())
        .execute(pool)
        .await
        .unwrap();
    pool.close().await;
}

fn older_digest() -> KeyDigest {
    KeyHasher::default().digest(&Secret::generate(&KeyPrefix::default()))
}

/// Opens the older database as this release does (migrating it) and reads its records.
async fn the_older_records_read_back(url: &str, older: &Older) {
    let Older { organization_id, key_id, digest } = older;
    let (organization_id, key_id) = (*organization_id, *key_id);
    let store = store::connect(url).await.unwrap();
    let records = store.changes_since(0, 10).await.unwrap();
    let read: Vec<_> =
        records.iter().map(|c| (c.seq, c.entity, c.kind, c.actor, c.organization_id)).collect();
    let entity = Entity::ApiKey(key_id);
    assert_eq!(
        read,
        [
            (1, entity, ChangeKind::Created, Actor::Unrecorded, organization_id),
            (2, entity, ChangeKind::Updated, Actor::Unrecorded, organization_id),
        ]
    );
    assert_eq!((records[0].digests.clone(), records[1].digests.clone()), (vec![digest.clone()], vec![]));
    assert!(records.iter().all(|c| c.fields.is_empty() && c.at >= 5));

    let organization = Organization::parse_new("after", 7).unwrap();
    let (root, _) =
        keyward_server::bootstrap::root_key(&organization, &KeyHasher::default(), false, 7).unwrap();
    let after = store.organization_create(&organization, &root, ACTOR).await.unwrap();
    assert_eq!(
        after.iter().map(|c| c.seq).collect::<Vec<_>>(),
        [3, 4],
        "numbering goes on after the older records"
    );
    assert_eq!(store.last_change().await.unwrap(), 4);
}
