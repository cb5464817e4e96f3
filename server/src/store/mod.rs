//! The storage trait, its error enum, the change records every write leaves, and the choice of
//! backend by database URL.

mod guard;
mod postgres;
mod row;
mod sql;
mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;

use crate::domain::Millis;
use crate::domain::api_key::{ApiKey, IssuedKey, KeyStatus};
use crate::domain::key::KeyDigest;
use crate::domain::limits::CreditBalance;
use crate::domain::organization::Organization;

pub use guard::{Guarded, Reachability};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// What went wrong in the store; it knows nothing of HTTP.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no such record")]
    NotFound,
    #[error("unsupported database url {0:?}: expected sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error(
        "the database {0} is in use by another keyward-server: SQLite serves one process; \
         run several instances over PostgreSQL"
    )]
    InUse(String),
    #[error(
        "the pepper differs from the one this database was created with (fingerprint {stored}, \
         this server's {configured}): every stored key would fail; start with the original \
         KEYWARD_PEPPER"
    )]
    PepperMismatch { stored: String, configured: String },
    /// The write could not go through now: the record kept changing under concurrent writers,
    /// a lock stayed held longer than the store waits, or no connection was free in time.
    /// Trying again later may succeed.
    #[error("the database is busy: {0}")]
    Contention(&'static str),
    /// The database refused a value (text it cannot hold, a number out of its range, a broken
    /// constraint): the request is at fault, and trying again will not help.
    #[error("the database refused a value: {0}")]
    Rejected(String),
    /// The database cannot be reached, and nothing was sent to it: the guard knows it out of
    /// reach, or it refused the connection. Trying again later may succeed.
    #[error("the database cannot be reached: {0}")]
    Unavailable(String),
    /// The connection broke during the call: what it sent may or may not have been applied.
    #[error("the connection to the database was lost: {0}")]
    Lost(String),
    /// The write would leave the organization without a usable key that can manage keys.
    #[error("the write would leave the organization without a key that can manage keys")]
    LastManager,
    #[error("a stored record is corrupt: {0}")]
    Corrupt(String),
    #[error("cannot open the database file: {0}")]
    File(#[from] std::io::Error),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A key found by the digest of a presented secret.
#[derive(Debug, Clone)]
pub struct FoundKey {
    pub api_key: ApiKey,
    pub digest: KeyDigest,
    /// When this secret stops working (after a rotation's grace period); `None` for the current one.
    pub secret_expires_at: Option<Millis>,
}

/// Usage gathered in memory since the last flush, written behind in batches, as increments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageDelta {
    pub api_key_id: Uuid,
    pub uses: i64,
    pub last_used_at: Millis,
    /// Leased credits left unspent, given back: added to the balance only if it is still of
    /// that `version` and refill period (`refilled_at`).
    pub returned: Option<CreditsSnapshot>,
}

/// Credits of a key at a `credits_version` and refill period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditsSnapshot {
    pub remaining: i64,
    pub refilled_at: Millis,
    pub version: i64,
}

/// A key's credit balance as stored, with the version of the budget it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredCredits {
    pub balance: CreditBalance,
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

/// What a change record says happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// A key and its first secret were stored.
    Created,
    /// Anything of the record changed but its secrets (name, status, scopes, limits, expiry…).
    Updated,
    /// The key was revoked.
    Revoked,
    /// The key got a new secret; the older ones stop at the end of their grace.
    Rotated,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Updated => "updated",
            ChangeKind::Revoked => "revoked",
            ChangeKind::Rotated => "rotated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [ChangeKind::Created, ChangeKind::Updated, ChangeKind::Revoked, ChangeKind::Rotated]
            .into_iter()
            .find(|kind| kind.as_str() == s)
    }
}

/// One committed change to a key, recorded in the transaction that made it: the system's one
/// outbox. Every instance's caches follow these records in `seq` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    /// Grows with every change, in commit order.
    pub seq: i64,
    pub organization_id: Uuid,
    pub api_key_id: Uuid,
    pub kind: ChangeKind,
    /// The digests the change concerns: a created key's secret; a rotation's new secret first,
    /// then the older ones.
    pub digests: Vec<KeyDigest>,
    pub at: Millis,
}

/// What a store's change signal says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Change records up to at least this `seq` have committed.
    Changed(i64),
    /// The signal was lost (a dropped connection): records may have been missed; subscribe again
    /// and re-read.
    Lost,
}

/// Tells a follower that change records committed; a hint to re-read, never the records.
#[async_trait]
pub trait ChangeSignals: Send {
    async fn next(&mut self) -> Signal;
}

/// Everything Keyward keeps; implemented once per database. Storage only: the checks and
/// decisions around a write (preconditions, patches, retries) are the application layer's.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Whether the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Records the pepper's fingerprint on first use; refuses a different one after.
    async fn pepper_check(&self, fingerprint: &str) -> Result<(), StoreError>;

    /// How many organizations exist (zero on a fresh store).
    async fn organization_count(&self) -> Result<i64, StoreError>;
    /// Stores an organization and its root key, unless an organization exists: of instances
    /// starting at once on an empty store, exactly one does.
    async fn organization_bootstrap(
        &self,
        organization: &Organization,
        root: &IssuedKey,
    ) -> Result<Option<KeyChange>, StoreError>;
    /// Stores an organization and its root key together.
    async fn organization_create(
        &self,
        organization: &Organization,
        root: &IssuedKey,
    ) -> Result<KeyChange, StoreError>;
    async fn organization_get(&self, id: Uuid) -> Result<Organization, StoreError>;
    /// Every organization, oldest first (the first is the one made at the first start).
    async fn organization_list(&self) -> Result<Vec<Organization>, StoreError>;

    async fn api_key_insert(&self, key: &IssuedKey) -> Result<KeyChange, StoreError>;
    /// Stores many keys in one transaction (imports, benchmarks), a change record each.
    async fn api_key_insert_batch(&self, keys: &[IssuedKey]) -> Result<(), StoreError>;
    /// The digest of every stored secret, current or rotated.
    async fn secret_digests(&self) -> Result<Vec<KeyDigest>, StoreError>;
    /// The key one of whose secrets has this digest, in any organization.
    async fn api_key_by_digest(&self, digest: &KeyDigest) -> Result<Option<FoundKey>, StoreError>;
    async fn api_key_get(&self, organization_id: Uuid, id: Uuid) -> Result<ApiKey, StoreError>;
    async fn api_key_list(&self, organization_id: Uuid, query: &ListQuery)
    -> Result<Vec<ApiKey>, StoreError>;
    /// Writes `key` over the stored record if that is still at revision `expected` and not
    /// revoked, with a change record of `kind`; `None` when it was not. With `keep_manager` at a
    /// time, the write is refused ([`StoreError::LastManager`]) unless another key of the
    /// organization can manage keys and works past that time (`Millis::MAX`: never expires); of
    /// such writes racing on one organization, the check and the write of each are one step, so
    /// two cannot each leave the other last.
    async fn api_key_write(
        &self,
        key: &ApiKey,
        expected: i64,
        kind: ChangeKind,
        keep_manager: Option<Millis>,
    ) -> Result<Option<KeyChange>, StoreError>;
    /// Like `api_key_write`, and gives the key a new current secret; its older secrets stop
    /// working at `grace_until` at the latest.
    async fn api_key_rotate(
        &self,
        key: &ApiKey,
        expected: i64,
        new_digest: &KeyDigest,
        grace_until: Millis,
    ) -> Result<Option<KeyChange>, StoreError>;
    /// Adds usage gathered in memory: counts, last use, and unspent leases given back.
    async fn usage_record(&self, deltas: &[UsageDelta]) -> Result<(), StoreError>;
    /// The key's stored credit balance; `None` when it has no budget.
    async fn credits_get(&self, id: Uuid) -> Result<Option<StoredCredits>, StoreError>;
    /// Stores `new` as the key's balance if it is still exactly `old` (compare and swap): how
    /// instances take leases without ever taking the same credits twice.
    async fn credits_swap(
        &self,
        id: Uuid,
        old: &StoredCredits,
        new: &CreditBalance,
    ) -> Result<bool, StoreError>;

    /// The change records after `after`, oldest first, at most `limit`.
    async fn changes_since(&self, after: i64, limit: i64) -> Result<Vec<KeyChange>, StoreError>;
    /// The newest change record's `seq` (0 on a fresh store).
    async fn last_change(&self) -> Result<i64, StoreError>;
    /// A subscription to the signal sent when change records commit.
    async fn change_signals(&self) -> Result<Box<dyn ChangeSignals>, StoreError>;
}

impl StoreError {
    /// Whether the call surely left the database as it was (refused before it was sent, or
    /// rolled back): only then may what it carried be tried again without counting it twice.
    pub fn left_nothing(&self) -> bool {
        matches!(
            self,
            StoreError::NotFound
                | StoreError::Contention(_)
                | StoreError::Rejected(_)
                | StoreError::Unavailable(_)
                | StoreError::LastManager
        )
    }
}

impl From<sqlx::Error> for StoreError {
    /// Classified by the database the error came from (their codes overlap: SQLite's 5 is
    /// `SQLITE_BUSY`, PostgreSQL's `22021` a bad byte): contention a client may retry, a value
    /// the database refuses, a database out of reach, or a fault.
    fn from(error: sqlx::Error) -> Self {
        use sqlx::postgres::PgDatabaseError;
        use sqlx::sqlite::SqliteError;
        match &error {
            sqlx::Error::PoolTimedOut => StoreError::Contention("no database connection was free in time"),
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::Lost(error.to_string()),
            sqlx::Error::Database(db) => {
                let code = db.code().unwrap_or_default().into_owned();
                if db.try_downcast_ref::<SqliteError>().is_some() {
                    sqlite_error(&code, error)
                } else if db.try_downcast_ref::<PgDatabaseError>().is_some() {
                    postgres_error(&code, error)
                } else {
                    StoreError::Database(error)
                }
            }
            _ => StoreError::Database(error),
        }
    }
}

/// A SQLite error by its (extended) result code.
fn sqlite_error(code: &str, error: sqlx::Error) -> StoreError {
    match code.parse::<i32>().map(|c| c & 0xff) {
        // SQLITE_BUSY and SQLITE_LOCKED, with their extended codes (5, 261, 517, 6, 262, ...).
        Ok(5 | 6) => StoreError::Contention("another writer held the database lock"),
        // SQLITE_TOOBIG: a value larger than the database takes. (A broken constraint or a
        // datatype mismatch is a fault of ours, not of the request.)
        Ok(18) => StoreError::Rejected(error.to_string()),
        _ => StoreError::Database(error),
    }
}

/// A PostgreSQL error by its SQLSTATE.
fn postgres_error(sqlstate: &str, error: sqlx::Error) -> StoreError {
    match sqlstate {
        "55P03" => StoreError::Contention("another writer held the record's lock"),
        "40001" | "40P01" => StoreError::Contention("a concurrent write conflicted"),
        // The statement ran past its timeout and was cancelled: nothing of it stays.
        "57014" => StoreError::Contention("a statement ran past its time and was cancelled"),
        // Class 22, data exception (a NUL in text, a bad byte, a number out of range). (A broken
        // constraint, class 23, is a fault of ours, not of the request.)
        s if s.starts_with("22") => StoreError::Rejected(error.to_string()),
        // The server refuses new connections (starting, or at its limit): nothing was sent.
        "57P03" | "53300" => StoreError::Unavailable(error.to_string()),
        // Class 08, connection exception; the server shutting down: a call may have been cut.
        s if s.starts_with("08") || matches!(s, "57P01" | "57P02") => StoreError::Lost(error.to_string()),
        _ => StoreError::Database(error),
    }
}

/// How long a write waits for a lock another writer holds before it gives up with
/// [`StoreError::Contention`], unless the configuration says otherwise.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(5);

/// Opens the store a database URL names, running its migrations.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    connect_with(url, DEFAULT_LOCK_WAIT).await
}

/// Like [`connect`], with writes waiting at most `lock_wait` for a lock another writer holds.
pub async fn connect_with(url: &str, lock_wait: Duration) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url, lock_wait).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url, lock_wait).await?))
    } else {
        Err(StoreError::UnsupportedUrl(redacted(url)))
    }
}

/// A database URL fit to print: any password replaced by `***`.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.find(['/', '?', '#']).map_or((rest, ""), |at| rest.split_at(at));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_printed_without_its_password() {
        assert_eq!(
            redacted("postgres://keyward:s3cr@t@db.example:5432/keys?sslmode=require"),
            "postgres://keyward:***@db.example:5432/keys?sslmode=require"
        );
        assert_eq!(redacted("postgres://postgres@127.0.0.1/test"), "postgres://postgres@127.0.0.1/test");
        assert_eq!(redacted("sqlite://keyward.db"), "sqlite://keyward.db");
    }

    #[test]
    fn change_kinds_round_trip_through_their_names() {
        for kind in [ChangeKind::Created, ChangeKind::Updated, ChangeKind::Revoked, ChangeKind::Rotated] {
            assert_eq!(ChangeKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ChangeKind::parse("other"), None);
    }
}
