//! A store that fails fast while the database is out of reach: the change feed's follower, which
//! reads the database every second under a deadline, says whether it answers ([`Reachability`]);
//! while it does not, every call through [`Guarded`] is [`StoreError::Unavailable`] at once
//! instead of waiting for a connection that will not come, and reads already waiting are let go
//! (writes under way are not: one may have committed).

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;
use uuid::Uuid;

use super::{
    ApiKeyStore, Change, ChangeNote, ChangeSignals, ChangeStore, CreditStore, FoundKey, ListQuery,
    OrganizationStore, SettingStore, Store, StoreError, StoredCredits, UsageDelta, UsageStore,
};
use crate::domain::Millis;
use crate::domain::actor::Actor;
use crate::domain::api_key::{ApiKey, IssuedKey};
use crate::domain::key::KeyDigest;
use crate::domain::limits::CreditBalance;
use crate::domain::organization::Organization;

/// Whether the database answers, as the follower last found.
#[derive(Debug)]
pub struct Reachability {
    answers: watch::Sender<bool>,
}

impl Default for Reachability {
    fn default() -> Self {
        Self { answers: watch::Sender::new(true) }
    }
}

impl Reachability {
    /// Says whether the database answered in time.
    pub fn set(&self, answers: bool) {
        self.answers.send_if_modified(|now| std::mem::replace(now, answers) != answers);
    }

    pub fn answers(&self) -> bool {
        *self.answers.borrow()
    }
}

/// `store`, failing fast while `reachability` says the database does not answer.
pub struct Guarded {
    store: Arc<dyn Store>,
    reachability: Arc<Reachability>,
}

impl Guarded {
    pub fn new(store: Arc<dyn Store>, reachability: Arc<Reachability>) -> Self {
        Self { store, reachability }
    }

    /// Runs a write unless the database is known to be out of reach. A write under way is never
    /// given up on: it may have committed, and its caller must not be told it did nothing.
    async fn write<T>(&self, call: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        if !self.reachability.answers() {
            return Err(out_of_reach());
        }
        call.await
    }

    /// Runs a read unless the database is known to be out of reach, and gives up on it as soon as
    /// it is found to be (a read changes nothing, so leaving it is safe).
    async fn guard<T>(&self, call: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        let mut answers = self.reachability.answers.subscribe();
        if !*answers.borrow_and_update() {
            return Err(out_of_reach());
        }
        let lost = async move {
            if answers.wait_for(|answers| !answers).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            biased;
            // A read whose connection broke changed nothing: it is simply out of reach.
            result = call => result.map_err(|error| match error {
                StoreError::Lost(why) => StoreError::Unavailable(why),
                other => other,
            }),
            () = lost => Err(out_of_reach()),
        }
    }
}

fn out_of_reach() -> StoreError {
    StoreError::Unavailable("the database did not answer the change feed's last read in time".into())
}

#[async_trait]
impl SettingStore for Guarded {
    async fn ping(&self) -> Result<(), StoreError> {
        self.guard(self.store.ping()).await
    }

    async fn pepper_check(&self, fingerprint: &str) -> Result<(), StoreError> {
        self.write(self.store.pepper_check(fingerprint)).await
    }
}

#[async_trait]
impl OrganizationStore for Guarded {
    async fn organization_count(&self) -> Result<i64, StoreError> {
        self.guard(self.store.organization_count()).await
    }

    async fn organization_bootstrap(
        &self,
        organization: &Organization,
        root: &IssuedKey,
        actor: Actor,
    ) -> Result<Option<Vec<Change>>, StoreError> {
        self.write(self.store.organization_bootstrap(organization, root, actor)).await
    }

    async fn organization_create(
        &self,
        organization: &Organization,
        root: &IssuedKey,
        actor: Actor,
    ) -> Result<Vec<Change>, StoreError> {
        self.write(self.store.organization_create(organization, root, actor)).await
    }

    async fn organization_get(&self, id: Uuid) -> Result<Organization, StoreError> {
        self.guard(self.store.organization_get(id)).await
    }

    async fn organization_list(&self) -> Result<Vec<Organization>, StoreError> {
        self.guard(self.store.organization_list()).await
    }
}

#[async_trait]
impl ApiKeyStore for Guarded {
    async fn api_key_insert(&self, key: &IssuedKey, actor: Actor) -> Result<Change, StoreError> {
        self.write(self.store.api_key_insert(key, actor)).await
    }

    async fn api_key_insert_batch(&self, keys: &[IssuedKey], actor: Actor) -> Result<(), StoreError> {
        self.write(self.store.api_key_insert_batch(keys, actor)).await
    }

    async fn secret_digests(&self) -> Result<Vec<KeyDigest>, StoreError> {
        self.guard(self.store.secret_digests()).await
    }

    async fn api_key_by_digest(&self, digest: &KeyDigest) -> Result<Option<FoundKey>, StoreError> {
        self.guard(self.store.api_key_by_digest(digest)).await
    }

    async fn api_key_get(&self, organization_id: Uuid, id: Uuid) -> Result<ApiKey, StoreError> {
        self.guard(self.store.api_key_get(organization_id, id)).await
    }

    async fn api_key_list(
        &self,
        organization_id: Uuid,
        query: &ListQuery,
    ) -> Result<Vec<ApiKey>, StoreError> {
        self.guard(self.store.api_key_list(organization_id, query)).await
    }

    async fn api_key_write(
        &self,
        key: &ApiKey,
        expected: i64,
        note: &ChangeNote,
        keep_manager: Option<Millis>,
    ) -> Result<Option<Change>, StoreError> {
        self.write(self.store.api_key_write(key, expected, note, keep_manager)).await
    }

    async fn api_key_rotate(
        &self,
        key: &ApiKey,
        expected: i64,
        new_digest: &KeyDigest,
        grace_until: Millis,
        note: &ChangeNote,
    ) -> Result<Option<Change>, StoreError> {
        self.write(self.store.api_key_rotate(key, expected, new_digest, grace_until, note)).await
    }
}

#[async_trait]
impl UsageStore for Guarded {
    async fn usage_record(&self, deltas: &[UsageDelta]) -> Result<(), StoreError> {
        self.write(self.store.usage_record(deltas)).await
    }
}

#[async_trait]
impl CreditStore for Guarded {
    async fn credits_get(&self, id: Uuid) -> Result<Option<StoredCredits>, StoreError> {
        self.guard(self.store.credits_get(id)).await
    }

    async fn credits_swap(
        &self,
        id: Uuid,
        old: &StoredCredits,
        new: &CreditBalance,
    ) -> Result<bool, StoreError> {
        self.write(self.store.credits_swap(id, old, new)).await
    }
}

#[async_trait]
impl ChangeStore for Guarded {
    async fn changes_since(&self, after: i64, limit: i64) -> Result<Vec<Change>, StoreError> {
        self.guard(self.store.changes_since(after, limit)).await
    }

    async fn last_change(&self) -> Result<i64, StoreError> {
        self.guard(self.store.last_change()).await
    }

    async fn change_signals(&self) -> Result<Box<dyn ChangeSignals>, StoreError> {
        self.guard(self.store.change_signals()).await
    }
}

impl std::fmt::Debug for Guarded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guarded").field("reachability", &self.reachability).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_fails_at_once_while_the_database_is_out_of_reach_and_a_waiting_one_is_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("g.db").display());
        let reachability = Arc::new(Reachability::default());
        let guarded = Guarded::new(super::super::connect(&url).await.unwrap(), reachability.clone());
        assert!(guarded.ping().await.is_ok());

        reachability.set(false);
        assert!(matches!(guarded.ping().await, Err(StoreError::Unavailable(_))));
        reachability.set(true);
        assert!(guarded.ping().await.is_ok());

        let never = guarded.guard(std::future::pending::<Result<(), StoreError>>());
        let cut = async {
            tokio::task::yield_now().await;
            reachability.set(false);
        };
        let (result, ()) = tokio::join!(never, cut);
        assert!(matches!(result, Err(StoreError::Unavailable(_))));
    }
}
