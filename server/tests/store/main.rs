//! The store's contract: one suite, generic over the `Store` trait, run on a real SQLite file
//! and on a real PostgreSQL database of its own; a file per resource, as the store is split.

#[path = "../support/postgres.rs"]
mod postgres;

use std::sync::Arc;

use keyward_server::domain::actor::Actor;
use keyward_server::domain::api_key::{ApiKey, ApiKeyPatch, IssuedKey, NewApiKey};
use keyward_server::domain::key::{KeyHasher, Secret};
use keyward_server::domain::limits::Credits;
use keyward_server::domain::organization::Organization;
use keyward_server::store::{self, ChangeKind, ChangeNote, Store};
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
    store.organization_create(&organization, &root, ACTOR).await.unwrap();
    Fixture { store, org: organization.id, _database: database }
}

/// `migrator` without the migration `version` and those after it: the schema an older release
/// made.
fn migrations_before(migrator: sqlx::migrate::Migrator, version: i64) -> sqlx::migrate::Migrator {
    let mut before = migrator;
    let older: Vec<_> = before.migrations.iter().filter(|m| m.version < version).cloned().collect();
    before.migrations = older.into();
    before
}

/// Migrates `pool`'s database as far as the releases before the migration `version` did, runs
/// `older` there (what they stored), and closes it.
async fn as_older_releases_left_it<DB>(
    pool: &sqlx::Pool<DB>,
    migrator: sqlx::migrate::Migrator,
    version: i64,
    older: String,
) where
    DB: sqlx::Database,
    DB::Connection: sqlx::migrate::Migrate,
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
{
    migrations_before(migrator, version).run(pool).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(older)).execute(pool).await.unwrap();
    pool.close().await;
}

/// Every test named, once on each store.
macro_rules! on_every_store {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(crate::sqlite().await).await;
                }
            )*
        }
        mod postgres_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(crate::postgres().await).await;
                }
            )*
        }
    };
}

mod api_keys;
mod changes;
mod credits;
mod organizations;

/// Who the suite's writes are made by.
const ACTOR: Actor = Actor::Operator;

/// A change record's note: `kind`, by the suite, naming no field.
fn note(kind: ChangeKind) -> ChangeNote {
    ChangeNote::new(kind, ACTOR, &[])
}

fn issue(organization_id: Uuid, name: &str, credits: Option<Credits>) -> (IssuedKey, Secret) {
    NewApiKey { name: name.into(), credits, ..Default::default() }
        .issue(organization_id, &KeyHasher::default(), 10)
        .unwrap()
}

/// Applies `patch` the way the application layer does, and writes it at the read revision.
async fn update(store: &dyn Store, key: &ApiKey, patch: ApiKeyPatch, now: i64) -> ApiKey {
    let mut changed = key.clone();
    patch.apply(&mut changed, now);
    store
        .api_key_write(&changed, key.revision, &note(ChangeKind::Updated), None)
        .await
        .unwrap()
        .expect("written");
    changed
}
