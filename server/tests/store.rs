//! The store's contract, on a real SQLite file: batches, rotation, write-behind usage.

use keyward_server::domain::api_key::{ApiKeyPatch, IssuedKey, NewApiKey};
use keyward_server::domain::key::{KeyHasher, KeyPrefix, Secret};
use keyward_server::domain::limits::Credits;
use keyward_server::domain::organization::Organization;
use keyward_server::store::{self, CreditsSnapshot, ListQuery, Precondition, Store, UsageDelta};
use uuid::Uuid;

async fn fresh_store() -> (tempfile::TempDir, std::sync::Arc<dyn Store>, Uuid) {
    let dir = tempfile::tempdir().unwrap();
    let store = store::connect(&format!("sqlite://{}", dir.path().join("k.db").display())).await.unwrap();
    let organization = Organization::parse_new("org", 1).unwrap();
    let (root, _) =
        keyward_server::bootstrap::root_key(&organization, &KeyHasher::default(), true, 1).unwrap();
    store.organization_create(&organization, &root).await.unwrap();
    (dir, store, organization.id)
}

fn issue(organization_id: Uuid, name: &str, credits: Option<Credits>) -> (IssuedKey, Secret) {
    NewApiKey { name: name.into(), credits, ..Default::default() }
        .issue(organization_id, &KeyHasher::default(), 10)
        .unwrap()
}

#[tokio::test]
async fn a_batch_of_keys_is_stored_whole_and_each_is_found_by_its_digest() {
    let (_dir, store, org) = fresh_store().await;
    let issued: Vec<_> = (0..2_345).map(|i| issue(org, &format!("k{i}"), None)).collect();
    let keys: Vec<_> = issued.iter().map(|(k, _)| k.clone()).collect();
    store.api_key_insert_batch(&keys).await.unwrap();
    for (key, secret) in issued.iter().step_by(97) {
        let found = store.api_key_by_digest(&KeyHasher::default().digest(secret)).await.unwrap().unwrap();
        assert_eq!(found.api_key, key.api_key);
        assert_eq!(found.secret_expires_at, None);
    }
    assert_eq!(store.secret_digests().await.unwrap().len(), 2_345 + 1);
    let page = store.api_key_list(org, &ListQuery { limit: 5000, ..Default::default() }).await.unwrap();
    assert_eq!(page.len(), 2_345 + 1);
}

#[tokio::test]
async fn rotation_bounds_every_older_secret_by_the_shortest_grace() {
    let (_dir, store, org) = fresh_store().await;
    let (key, first) = issue(org, "r", None);
    store.api_key_insert(&key).await.unwrap();
    let hasher = KeyHasher::default();
    let second = Secret::generate(&KeyPrefix::default());
    store
        .api_key_rotate(org, key.api_key.id, &hasher.digest(&second), &second.masked(), 5_000, 100)
        .await
        .unwrap();
    let third = Secret::generate(&KeyPrefix::default());
    let rotated = store
        .api_key_rotate(org, key.api_key.id, &hasher.digest(&third), &third.masked(), 9_000, 200)
        .await
        .unwrap();
    assert_eq!(rotated.old_digests.len(), 2);
    assert_eq!(rotated.api_key.revision, 3);
    let expiry = |secret: &Secret| {
        let digest = hasher.digest(secret);
        let store = store.clone();
        async move { store.api_key_by_digest(&digest).await.unwrap().unwrap().secret_expires_at }
    };
    assert_eq!(expiry(&first).await, Some(5_000), "a later, longer grace does not extend an earlier one");
    assert_eq!(expiry(&second).await, Some(9_000));
    assert_eq!(expiry(&third).await, None);
}

#[tokio::test]
async fn usage_adds_up_and_a_stale_credit_balance_is_not_written_over_a_new_one() {
    let (_dir, store, org) = fresh_store().await;
    let (key, _) = issue(org, "u", Some(Credits { remaining: 100, refill: None }));
    let id = key.api_key.id;
    store.api_key_insert(&key).await.unwrap();
    let delta = |uses, at, remaining, version| UsageDelta {
        api_key_id: id,
        uses,
        last_used_at: at,
        credits: Some(CreditsSnapshot { remaining, refilled_at: 10, version }),
    };
    store.usage_record(&[delta(3, 500, 97, 0)]).await.unwrap();
    store.usage_record(&[delta(2, 400, 95, 0)]).await.unwrap();
    let stored = store.api_key_get(org, id).await.unwrap();
    assert_eq!((stored.usage_count, stored.last_used_at), (5, Some(500)), "last use never goes back");
    assert_eq!(stored.credits.unwrap().remaining, 95);

    let set =
        ApiKeyPatch { credits: Some(Some(Credits { remaining: 7, refill: None })), ..Default::default() };
    store.api_key_update(org, id, Precondition::None, &set, 600).await.unwrap();
    store.usage_record(&[delta(1, 700, 90, 0)]).await.unwrap();
    let stored = store.api_key_get(org, id).await.unwrap();
    assert_eq!(stored.credits.unwrap().remaining, 7, "the balance set through the API wins");
    assert_eq!(stored.usage_count, 6);
}
