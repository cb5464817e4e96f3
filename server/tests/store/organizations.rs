//! Organizations and the database's settings: found only where they are, bootstrapped once, the
//! pepper kept, and the root keys older releases made holding their role after an upgrade.

use keyward_server::domain::key::{KeyHasher, KeyPrefix, Secret};
use keyward_server::domain::organization::Organization;
use keyward_server::domain::scope::{Access, Role, Scope, instance_admin_scopes, root_scopes};
use keyward_server::store::{self, ListQuery, StoreError};
use uuid::Uuid;

use crate::{ACTOR, Database, Fixture, issue, postgres};

on_every_store!(
    keys_and_organizations_are_found_only_where_they_are,
    of_concurrent_bootstraps_exactly_one_creates_the_organization,
    a_pepper_other_than_the_first_is_refused,
);

async fn keys_and_organizations_are_found_only_where_they_are(f: Fixture) {
    let (key, _) = issue(f.org, "mine", None);
    f.store.api_key_insert(&key, ACTOR).await.unwrap();
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
    assert_eq!(f.store.organization_bootstrap(&organization, &root, ACTOR).await.unwrap(), None);

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
            store.organization_bootstrap(&organization, &root, ACTOR).await.unwrap().is_some()
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

/// The version of the migration that made the root keys older releases stored hold their role.
const ROLE_MIGRATION: i64 = 20261207230000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_makes_older_root_keys_hold_their_role_and_leaves_every_other_key_as_it_was_on_both_stores()
 {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("old.db").display());
    let database = postgres::TestDatabase::create().await;
    for url in [&sqlite, &database.url] {
        let [admin_org, org, patched_org, late_org, other_admin_org] = [(); 5].map(|()| Uuid::now_v7());
        let [admin_root, root, same_time, imitation, patched_root, late_root, other_admin] =
            [(); 7].map(|()| Uuid::now_v7());
        let scopes = |scopes: &[Scope]| serde_json::to_string(scopes).unwrap();
        let patched = vec![Scope::new("api_keys", Access::Read)];
        // The organizations (id, created_at), the first one first.
        let organizations =
            [(admin_org, 5), (org, 6), (patched_org, 8), (late_org, 9), (other_admin_org, 11)];
        // Keys (id, organization, name, scopes, created_at), ids in the order they were made.
        let older: Vec<(Uuid, Uuid, &str, String, i64)> = vec![
            (admin_root, admin_org, "root", scopes(&instance_admin_scopes()), 5),
            (root, org, "root", scopes(&root_scopes()), 6),
            // Named `root` with a root key's scopes, even made at the organization's time, but
            // not its first key.
            (same_time, org, "root", scopes(&root_scopes()), 6),
            (imitation, org, "root", scopes(&root_scopes()), 7),
            (patched_root, patched_org, "root", scopes(&patched), 8),
            // The organization's first key, but not made with it.
            (late_root, late_org, "root", scopes(&root_scopes()), 10),
            // The instance admin's scopes in an organization that is not the first.
            (other_admin, other_admin_org, "root", scopes(&instance_admin_scopes()), 11),
        ];
        left_by_an_older_release(url, &organizations, &older).await;

        let store = store::connect(url).await.unwrap();
        let stored = |organization, id| {
            let store = store.clone();
            async move { store.api_key_get(organization, id).await.unwrap().scopes }
        };
        assert_eq!(stored(admin_org, admin_root).await, Role::InstanceAdmin.stored(), "{url}");
        assert_eq!(stored(org, root).await, Role::Root.stored(), "{url}");
        for (organization, id) in [(org, same_time), (org, imitation), (late_org, late_root)] {
            assert_eq!(stored(organization, id).await, root_scopes(), "another key keeps its scopes: {url}");
        }
        assert_eq!(stored(patched_org, patched_root).await, patched, "changed scopes are kept: {url}");
        assert_eq!(
            stored(other_admin_org, other_admin).await,
            instance_admin_scopes(),
            "only the first organization's root key is the instance admin: {url}"
        );
    }
}

/// Migrates the database at `url` as far as the release before [`ROLE_MIGRATION`] did, and
/// stores there what it stored: `organizations` (id, `created_at`) and their keys (id,
/// organization, name, scopes as JSON, `created_at`).
async fn left_by_an_older_release(
    url: &str,
    organizations: &[(Uuid, i64)],
    keys: &[(Uuid, Uuid, &str, String, i64)],
) {
    let sqlite = url.starts_with("sqlite:");
    // SQLite stores ids as 16-byte blobs; PostgreSQL reads a uuid from its text.
    let id = |id: &Uuid| if sqlite { format!("X'{}'", id.simple()) } else { format!("'{id}'") };
    let mut older = String::new();
    for (organization, created_at) in organizations {
        older += &format!(
            "INSERT INTO organizations (id, name, created_at) VALUES ({}, 'o{created_at}', {created_at});\n",
            id(organization)
        );
    }
    for (key, organization, name, scopes, created_at) in keys {
        older += &format!(
            "INSERT INTO api_keys (id, organization_id, name, prefix, masked_key, status, scopes, metadata, \
             credits_refilled_at, credits_version, usage_count, revision, created_at, updated_at) \
             VALUES ({}, {}, '{name}', 'kw', 'kw_…abcd', 'enabled', '{scopes}', '{{}}', 0, 0, 0, 1, {created_at}, \
             {created_at});\n",
            id(key),
            id(organization)
        );
    }
    if sqlite {
        let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
        let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true)).await.unwrap();
        crate::as_older_releases_left_it(&pool, sqlx::migrate!("migrations/sqlite"), ROLE_MIGRATION, older)
            .await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        crate::as_older_releases_left_it(&pool, sqlx::migrate!("migrations/postgres"), ROLE_MIGRATION, older)
            .await;
    }
}
