//! The fill race, made to happen on purpose: a change lands while a cache fill is in flight. The
//! verifier reads a real SQLite store through its port, held at the moment the fill has read the
//! key and not yet cached it, so the interleaving is the same on every run.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use tokio::sync::{Mutex, oneshot};
use uuid::Uuid;

use super::{CachedKey, Found, Verifier};
use crate::bootstrap::root_key;
use crate::domain::actor::Actor;
use crate::domain::api_key::{ApiKey, NewApiKey};
use crate::domain::key::{KeyDigest, KeyHasher};
use crate::domain::limits::CreditBalance;
use crate::domain::organization::Organization;
use crate::domain::owner::Owner;
use crate::domain::verification::{Presented, VerifyCode, Wanted};
use crate::store::{
    self, Change, ChangeKind, ChangeNote, ChangeSignals, ChangeStore, CreditStore, Entity, FoundKey,
    KeyLookup, Reachability, ReturnedLease, Store, StoreError, StoredCredits, UsageDelta, UsageStore,
};

/// The real store, whose key lookups can be held once they have read, until let go.
struct Held {
    store: Arc<dyn Store>,
    lookups: AtomicUsize,
    /// Armed: the next lookup says it has read, then waits to be let go.
    hold: Mutex<Option<(oneshot::Sender<()>, oneshot::Receiver<()>)>>,
}

#[async_trait]
impl KeyLookup for Held {
    async fn secret_digests(&self) -> Result<Vec<KeyDigest>, StoreError> {
        self.store.secret_digests().await
    }

    async fn api_key_by_digest(&self, digest: &KeyDigest) -> Result<Option<FoundKey>, StoreError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let found = self.store.api_key_by_digest(digest).await;
        if let Some((read, go)) = self.hold.lock().await.take() {
            read.send(()).unwrap();
            go.await.unwrap();
        }
        found
    }
}

#[async_trait]
impl CreditStore for Held {
    async fn credits_get(&self, owner: Owner) -> Result<Option<StoredCredits>, StoreError> {
        self.store.credits_get(owner).await
    }

    async fn credits_swap(
        &self,
        owner: Owner,
        old: &StoredCredits,
        new: &CreditBalance,
    ) -> Result<bool, StoreError> {
        self.store.credits_swap(owner, old, new).await
    }
}

#[async_trait]
impl UsageStore for Held {
    async fn usage_record(&self, uses: &[UsageDelta], returned: &[ReturnedLease]) -> Result<(), StoreError> {
        self.store.usage_record(uses, returned).await
    }
}

#[async_trait]
impl ChangeStore for Held {
    async fn changes_since(&self, after: i64, limit: i64) -> Result<Vec<Change>, StoreError> {
        self.store.changes_since(after, limit).await
    }

    async fn last_change(&self) -> Result<i64, StoreError> {
        self.store.last_change().await
    }

    async fn change_signals(&self) -> Result<Box<dyn ChangeSignals>, StoreError> {
        self.store.change_signals().await
    }

    fn reachability(&self) -> Arc<Reachability> {
        self.store.reachability()
    }
}

/// A verifier following a real store through `Held`, with one key stored; the key's secret.
async fn verifier_with_a_key() -> (tempfile::TempDir, Arc<Held>, Arc<Verifier>, ApiKey, String) {
    let dir = tempfile::tempdir().unwrap();
    let store = store::connect(&format!("sqlite://{}", dir.path().join("v.db").display())).await.unwrap();
    let hasher = KeyHasher::default();
    let organization = Organization::parse_new("org", 1).unwrap();
    let (root, _) = root_key(&organization, &hasher, true, 1).unwrap();
    store.organization_create(&organization, &root, Actor::System).await.unwrap();
    let (key, secret) =
        NewApiKey { name: "raced".into(), ..Default::default() }.issue(organization.id, &hasher, 1).unwrap();
    store.api_key_insert(&key, Actor::System).await.unwrap();
    let held = Arc::new(Held { store, lookups: AtomicUsize::new(0), hold: Mutex::new(None) });
    let verifier = Arc::new(Verifier::load(held.clone(), hasher, 60_000).await.unwrap());
    verifier.set_live(true);
    (dir, held, verifier, key.api_key, secret.expose().to_owned())
}

async fn code(verifier: &Verifier, key: &ApiKey, secret: &str) -> VerifyCode {
    let presented =
        Presented { organization_id: key.organization_id, key: secret, wanted: Wanted::default(), cost: 1 };
    verifier.verify(&presented, 10).await.unwrap().code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fill_that_raced_a_revocation_is_not_cached_and_the_next_verify_sees_it() {
    let (_dir, held, verifier, key, secret) = verifier_with_a_key().await;
    let (read, has_read) = oneshot::channel();
    let (let_go, go) = oneshot::channel();
    *held.hold.lock().await = Some((read, go));

    let in_flight = tokio::spawn({
        let (verifier, key, secret) = (verifier.clone(), key.clone(), secret.clone());
        async move { code(&verifier, &key, &secret).await }
    });
    has_read.await.unwrap();
    // The fill has read the key as it was; now the key is revoked, and the writer applies its
    // change record, as the application layer does before it answers.
    let revoked = ApiKey { deleted_at: Some(5), revision: key.revision + 1, ..key.clone() };
    let note = ChangeNote::new(ChangeKind::Revoked, Actor::System, &["deleted_at"]);
    let change = held.store.api_key_write(&revoked, key.revision, &note, None).await.unwrap().unwrap();
    verifier.apply(&change);
    let_go.send(()).unwrap();

    assert_eq!(in_flight.await.unwrap(), VerifyCode::Valid, "a verify that read before the change");
    assert_eq!(code(&verifier, &key, &secret).await, VerifyCode::Revoked, "the raced fill was not cached");
    assert_eq!(held.lookups.load(Ordering::SeqCst), 2, "the second verify read the store again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fill_that_raced_nothing_is_cached() {
    let (_dir, held, verifier, key, secret) = verifier_with_a_key().await;
    assert_eq!(code(&verifier, &key, &secret).await, VerifyCode::Valid);
    assert_eq!(code(&verifier, &key, &secret).await, VerifyCode::Valid);
    assert_eq!(held.lookups.load(Ordering::SeqCst), 1, "the second verify was served from the cache");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_record_is_stale_once_any_entity_it_was_built_from_changes() {
    let (_dir, _held, verifier, key, _secret) = verifier_with_a_key().await;
    // A record built from two entities, as a key with an identity or roles will be.
    let organization = Entity::Organization(key.organization_id);
    let generations = [Entity::ApiKey(key.id), organization].map(|entity| {
        let generation = verifier.runtimes.generation(entity);
        let at = generation.get();
        (generation, at)
    });
    let found = Found {
        key: Arc::new(CachedKey::new(key.clone())),
        secret_expires_at: None,
        uses: verifier.runtimes.key(key.id),
        budget: verifier.runtimes.budget(Owner::of(&key)),
        generations: generations.into(),
        loaded_at: 0,
        flushed_at_load: 0,
    };
    assert!(found.is_current(1, 60_000));

    let unrelated = Entity::Organization(Uuid::now_v7());
    for (entity, current) in [(unrelated, true), (organization, false)] {
        verifier.apply(&Change {
            seq: 1,
            organization_id: entity.id(),
            entity,
            kind: ChangeKind::Updated,
            actor: Actor::System,
            fields: vec!["name".into()],
            digests: Vec::new(),
            at: 1,
        });
        assert_eq!(found.is_current(1, 60_000), current, "after a change to {entity:?}");
    }
}
