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
    /// The key whose secret has this digest, in any organization, with its stored digest.
    async fn api_key_by_digest(&self, digest: &KeyDigest) -> Result<Option<IssuedKey>, StoreError>;
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
}

/// Opens the store a database URL names, running its migrations.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}
