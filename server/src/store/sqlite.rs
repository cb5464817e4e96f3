//! The SQLite backend: one process on one file (held with an exclusive lock), WAL mode,
//! migrations at start-up, scopes and metadata as JSON text, change records signalled in process.

use std::fs::{File, OpenOptions};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use tokio::sync::watch;
use uuid::Uuid;

use super::backend::{Backend, RowType, SqlStore, Statement, bind, runs_statements};
use super::{ChangeSignals, ChangeStore, Signal, StoreError, UsageDelta};

/// Keys written by one statement of a usage flush (3 bound values each, well under SQLite's limit).
const USAGE_CHUNK: usize = 500;

/// A store in one SQLite file, served by this process alone.
pub type SqliteStore = SqlStore<SqliteBackend>;

/// SQLite's side of the store.
#[derive(Debug)]
pub struct SqliteBackend {
    pool: SqlitePool,
    /// The change feed's own connection, apart from the requests': its reads never wait for
    /// writers that hold every pooled connection.
    feed: SqlitePool,
    /// The newest committed change record's `seq`, for this process's followers.
    changed: watch::Sender<i64>,
    /// An exclusive lock on the database file for the life of the store: a second server on the
    /// same file would follow no change feed, so it is refused.
    _lock: Option<File>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url`, locks it and migrates it; a write
    /// waits up to `lock_wait` for the database's write lock.
    pub async fn connect(url: &str, lock_wait: Duration) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(lock_wait);
        let path = options.get_filename();
        let lock = if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
            None
        } else {
            // A new file is its owner's alone (SQLite gives its journal files the same mode).
            let mut open = OpenOptions::new();
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
            let file = open.read(true).write(true).create(true).truncate(false).open(path)?;
            match file.try_lock() {
                Ok(()) => Some(file),
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::InUse(path.display().to_string()));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
            }
        };
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options.clone()).await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        let feed = match lock {
            // An in-memory database is one connection's own: the feed shares it.
            None => pool.clone(),
            Some(_) => SqlitePoolOptions::new().max_connections(1).connect_with(options).await?,
        };
        let backend = SqliteBackend { pool, feed, changed: watch::Sender::new(0), _lock: lock };
        let store = SqlStore::new(backend);
        let last = store.last_change().await?;
        store.backend.changed.send_replace(last);
        Ok(store)
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    type Db = Sqlite;

    runs_statements!(SqliteConnection, SqliteArguments, Statement::into_anonymous_parts);

    async fn begin_alone(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        // BEGIN IMMEDIATE takes the write lock at once, before anything is read.
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn lock_organization(_: &mut SqliteConnection, _: Uuid) -> Result<(), StoreError> {
        // The write's first statement takes SQLite's one write lock: a check after it sees every
        // other write.
        Ok(())
    }

    async fn before_numbering(_: &mut SqliteConnection) -> Result<(), StoreError> {
        // One writer at a time: records commit in the order they are numbered.
        Ok(())
    }

    async fn announce(_: &mut SqliteConnection, _: i64) -> Result<(), StoreError> {
        // Nobody outside this process follows the file (it is locked): `committed` tells.
        Ok(())
    }

    fn committed(&self, seq: i64) {
        self.changed.send_if_modified(|last| {
            let newer = seq > *last;
            if newer {
                *last = seq;
            }
            newer
        });
    }

    async fn change_signals(&self) -> Result<Box<dyn ChangeSignals>, StoreError> {
        Ok(Box::new(InProcess(self.changed.subscribe())))
    }

    async fn add_usage(conn: &mut SqliteConnection, deltas: &[UsageDelta]) -> Result<(), StoreError> {
        // One statement per chunk, not one per key: a flush touches every key used in the last second.
        for chunk in deltas.chunks(USAGE_CHUNK) {
            let mut sql = Statement::new(
                "UPDATE api_keys SET usage_count = usage_count + v.column2, \
                 last_used_at = MAX(COALESCE(last_used_at, 0), v.column3) FROM (VALUES ",
            );
            sql.push_rows(
                chunk
                    .iter()
                    .map(|delta| vec![delta.api_key_id.into(), delta.uses.into(), delta.last_used_at.into()]),
            );
            sql.push(") AS v WHERE api_keys.id = v.column1");
            Self::execute(conn, sql).await?;
        }
        Ok(())
    }
}

/// SQLite's change signal: the store's own channel, since one process writes.
struct InProcess(watch::Receiver<i64>);

#[async_trait]
impl ChangeSignals for InProcess {
    async fn next(&mut self) -> Signal {
        match self.0.changed().await {
            Ok(()) => Signal::Changed(*self.0.borrow_and_update()),
            // The store is gone: nothing more will change; wait for the follower to be stopped.
            Err(_) => std::future::pending().await,
        }
    }
}
