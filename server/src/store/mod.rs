//! The storage trait, its error enum, and the choice of backend by database URL.

mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use crate::domain::Millis;
use crate::domain::api_key::{ApiKey, ApiKeyPatch, IssuedKey, KeyStatus};
use crate::domain::key::KeyDigest;
use crate::domain::organization::Organization;

pub use sqlite::SqliteStore;

/// What went wrong in the store; it knows nothing of HTTP.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no such record")]
    NotFound,
    #[error("the record is at revision {current}, not the one expected")]
    RevisionMismatch { current: i64 },
    #[error("the key was revoked and cannot change")]
    Revoked,
    #[error("the record kept changing under concurrent updates")]
    Contention,
    #[error("unsupported database url {0:?}: expected sqlite://PATH")]
    UnsupportedUrl(String),
    #[error("a stored record is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The condition an update is made under (`If-Match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Update whatever the revision.
    None,
    /// Update only if the key is at this revision.
    Revision(i64),
    /// The caller's precondition can never hold (a weak or malformed tag).
    Never,
}

/// A key found by the digest of a presented secret.
#[derive(Debug, Clone)]
pub struct FoundKey {
    pub api_key: ApiKey,
    pub digest: KeyDigest,
    /// When this secret stops working (after a rotation's grace period); `None` for the current one.
    pub secret_expires_at: Option<Millis>,
}

/// A rotated key and the digests of its older secrets, for caches to forget.
#[derive(Debug, Clone)]
pub struct Rotated {
    pub api_key: ApiKey,
    pub old_digests: Vec<KeyDigest>,
}

/// Usage gathered in memory since the last flush, written behind in batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageDelta {
    pub api_key_id: Uuid,
    pub uses: i64,
    pub last_used_at: Millis,
    /// The in-memory credit balance, written only if the credits were not set since (`credits_version`).
    pub credits: Option<CreditsSnapshot>,
}

/// A key's credit balance as held in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditsSnapshot {
    pub remaining: i64,
    pub refilled_at: Millis,
    pub version: i64,
}

/// One page of a key listing, newest first.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub user_id: Option<String>,
    pub customer_id: Option<String>,
    pub status: Option<KeyStatus>,
    pub include_deleted: bool,
    /// Only keys older than this one (the cursor).
    pub before: Option<Uuid>,
    pub limit: u32,
}

/// Everything Keyward keeps; implemented once per database.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// How many organizations exist (zero on a fresh store).
    async fn organization_count(&self) -> Result<i64, StoreError>;
    /// Stores an organization and its root key together.
    async fn organization_create(
        &self,
        organization: &Organization,
        root: &IssuedKey,
    ) -> Result<(), StoreError>;
    async fn organization_get(&self, id: Uuid) -> Result<Organization, StoreError>;

    async fn api_key_insert(&self, key: &IssuedKey) -> Result<(), StoreError>;
    /// Stores many keys in one transaction (imports, benchmarks).
    async fn api_key_insert_batch(&self, keys: &[IssuedKey]) -> Result<(), StoreError>;
    /// The digest of every stored secret, current or rotated.
    async fn secret_digests(&self) -> Result<Vec<KeyDigest>, StoreError>;
    /// The key one of whose secrets has this digest, in any organization.
    async fn api_key_by_digest(&self, digest: &KeyDigest) -> Result<Option<FoundKey>, StoreError>;
    async fn api_key_get(&self, organization_id: Uuid, id: Uuid) -> Result<ApiKey, StoreError>;
    async fn api_key_list(&self, organization_id: Uuid, query: &ListQuery)
    -> Result<Vec<ApiKey>, StoreError>;
    async fn api_key_update(
        &self,
        organization_id: Uuid,
        id: Uuid,
        precondition: Precondition,
        patch: &ApiKeyPatch,
        now: Millis,
    ) -> Result<ApiKey, StoreError>;
    /// Soft-deletes a key that is not yet revoked.
    async fn api_key_revoke(
        &self,
        organization_id: Uuid,
        id: Uuid,
        now: Millis,
    ) -> Result<ApiKey, StoreError>;
    /// Gives a key a new current secret; its older secrets stop working at `grace_until` at the latest.
    async fn api_key_rotate(
        &self,
        organization_id: Uuid,
        id: Uuid,
        new_digest: &KeyDigest,
        masked_key: &str,
        grace_until: Millis,
        now: Millis,
    ) -> Result<Rotated, StoreError>;
    /// Adds usage gathered in memory: counts, last use, and credit balances.
    async fn usage_record(&self, deltas: &[UsageDelta]) -> Result<(), StoreError>;
}

/// Opens the store a database URL names, running its migrations.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}
