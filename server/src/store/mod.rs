//! Storage: a small trait per resource (`api_keys.rs`, `organizations.rs`, `changes.rs`,
//! `usage.rs`, `credits.rs`, `settings.rs`), each with its SQL written once over a backend that
//! states what differs between SQLite and PostgreSQL (`backend.rs`; `sqlite.rs`, `postgres.rs`);
//! [`Store`], their sum; one write path that leaves a change record for every change
//! (`write.rs`); the error enum; and the choice of backend by database URL.

mod api_keys;
mod backend;
mod changes;
mod credits;
mod guard;
mod organizations;
mod postgres;
mod row;
mod settings;
mod sqlite;
mod usage;
mod write;

use std::sync::Arc;
use std::time::Duration;

pub use api_keys::{ApiKeyStore, FoundKey, KeyLookup, ListQuery};
pub use changes::{Change, ChangeKind, ChangeNote, ChangeSignals, ChangeStore, Entity, Signal};
pub use credits::{CreditStore, StoredCredits};
pub use guard::Reachability;
pub use organizations::OrganizationStore;
pub use postgres::PostgresStore;
pub use settings::SettingStore;
pub use sqlite::SqliteStore;
pub use usage::{CreditsSnapshot, ReturnedLease, UsageDelta, UsageStore};

/// What the verifier reads and writes, and nothing more (its narrow port): keys by their
/// secrets' digests, credits, usage, and the change feed's position.
pub trait VerifierStore: KeyLookup + CreditStore + UsageStore + ChangeStore + 'static {}

impl<T> VerifierStore for T where T: KeyLookup + CreditStore + UsageStore + ChangeStore + 'static {}

/// Everything Keyward keeps: the sum of the resources' stores. Storage only: the checks and
/// decisions around a write (preconditions, patches, retries) are the application layer's.
pub trait Store: VerifierStore + SettingStore + OrganizationStore + ApiKeyStore {}

impl<T> Store for T where T: VerifierStore + SettingStore + OrganizationStore + ApiKeyStore {}

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
}
