//! Organizations and the database's settings: found only where they are, bootstrapped once, the pepper kept.

use keyward_server::domain::key::{KeyHasher, KeyPrefix, Secret};
use keyward_server::domain::organization::Organization;
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
