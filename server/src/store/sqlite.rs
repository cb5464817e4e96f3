//! The SQLite store: one process on one file (held with an exclusive lock), WAL mode, migrations
//! at start-up, scopes and metadata as JSON text, change records signalled in process.

use std::fs::{File, OpenOptions};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::types::Json;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::watch;
use uuid::Uuid;

use super::row::{
    ChangeRow, CreditsRow, KeyRow, NewChange, change_columns, credits_columns, digest, key_columns,
};
use super::sql;
use super::{
    ChangeKind, ChangeSignals, FoundKey, KeyChange, ListQuery, Signal, Store, StoreError, StoredCredits,
    UsageDelta,
};
use crate::domain::Millis;
use crate::domain::api_key::{ApiKey, IssuedKey};
use crate::domain::key::KeyDigest;
use crate::domain::limits::CreditBalance;
use crate::domain::organization::Organization;
use crate::domain::scope::{Scope, can_manage_keys};

/// Keys inserted by one statement of a batch insert.
const INSERT_CHUNK: usize = 1_000;
/// Keys written by one statement of a usage flush (3 bound values each, well under SQLite's limit).
const USAGE_CHUNK: usize = 500;

/// A store in one SQLite file, served by this process alone.
#[derive(Debug)]
pub struct SqliteStore {
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
        let last = last_change(&pool).await?;
        Ok(Self { pool, feed, changed: watch::Sender::new(last), _lock: lock })
    }

    /// Tells this process's followers that records up to `seq` committed.
    fn signal(&self, seq: i64) {
        self.changed.send_if_modified(|last| {
            let newer = seq > *last;
            if newer {
                *last = seq;
            }
            newer
        });
    }

    /// Inserts keys and their current secrets with multi-row statements, and a change record each.
    async fn insert_keys(tx: &mut SqliteConnection, keys: &[IssuedKey]) -> Result<i64, StoreError> {
        let mut last = 0;
        // 26 values a key keeps a chunk well under SQLite's 32766 variables.
        for chunk in keys.chunks(INSERT_CHUNK) {
            sql::insert_keys::<Sqlite>(chunk).build().execute(&mut *tx).await?;
            sql::insert_secrets::<Sqlite>(chunk).build().execute(&mut *tx).await?;
            let changes: Vec<_> = chunk
                .iter()
                .map(|i| NewChange::new(&i.api_key, ChangeKind::Created, &[&i.digest], i.api_key.created_at))
                .collect();
            let seqs: Vec<i64> =
                sql::insert_changes::<Sqlite>(&changes).build_query_scalar().fetch_all(&mut *tx).await?;
            last = seqs.into_iter().max().unwrap_or(last);
        }
        Ok(last)
    }

    /// Inserts one key and returns its change record (not yet committed).
    async fn insert_key(tx: &mut SqliteConnection, issued: &IssuedKey) -> Result<KeyChange, StoreError> {
        let seq = Self::insert_keys(tx, std::slice::from_ref(issued)).await?;
        NewChange::new(&issued.api_key, ChangeKind::Created, &[&issued.digest], issued.api_key.created_at)
            .stored(seq)
    }

    async fn insert_organization(
        tx: &mut SqliteConnection,
        organization: &Organization,
        root: &IssuedKey,
    ) -> Result<KeyChange, StoreError> {
        sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)")
            .bind(organization.id)
            .bind(&organization.name)
            .bind(organization.created_at)
            .execute(&mut *tx)
            .await?;
        Self::insert_key(tx, root).await
    }

    /// Overwrites the key's mutable columns if it is still at `expected` and not revoked.
    async fn overwrite(tx: &mut SqliteConnection, key: &ApiKey, expected: i64) -> Result<bool, StoreError> {
        let updated = sql::overwrite_key::<Sqlite>(key, expected).build().execute(&mut *tx).await?;
        Ok(updated.rows_affected() == 1)
    }

    async fn record(tx: &mut SqliteConnection, change: NewChange) -> Result<KeyChange, StoreError> {
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO key_changes (organization_id, api_key_id, kind, digests, at) \
             VALUES (?, ?, ?, ?, ?) RETURNING seq",
        )
        .bind(change.organization_id)
        .bind(change.api_key_id)
        .bind(change.kind.as_str())
        .bind(&change.digests)
        .bind(change.at)
        .fetch_one(&mut *tx)
        .await?;
        change.stored(seq)
    }
}

async fn last_change(pool: &SqlitePool) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM key_changes").fetch_one(pool).await?)
}

/// Whether a key of `key`'s organization other than `key` can manage keys past `until`.
async fn another_manager(tx: &mut SqliteConnection, key: &ApiKey, until: Millis) -> Result<bool, StoreError> {
    let mut rows = sqlx::query_scalar::<_, Json<Vec<Scope>>>(sql::OTHER_KEY_MANAGERS)
        .bind(key.organization_id)
        .bind(key.id)
        .bind(until)
        .fetch(&mut *tx);
    while let Some(scopes) = rows.try_next().await? {
        if can_manage_keys(&scopes.0) {
            return Ok(true);
        }
    }
    Ok(false)
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn pepper_check(&self, fingerprint: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO settings (name, value) VALUES ('pepper', ?) ON CONFLICT (name) DO NOTHING")
            .bind(fingerprint)
            .execute(&self.pool)
            .await?;
        let stored: String = sqlx::query_scalar("SELECT value FROM settings WHERE name = 'pepper'")
            .fetch_one(&self.pool)
            .await?;
        if stored == fingerprint {
            Ok(())
        } else {
            Err(StoreError::PepperMismatch { stored, configured: fingerprint.to_owned() })
        }
    }

    async fn organization_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM organizations").fetch_one(&self.pool).await?)
    }

    async fn organization_bootstrap(
        &self,
        organization: &Organization,
        root: &IssuedKey,
    ) -> Result<Option<KeyChange>, StoreError> {
        // BEGIN IMMEDIATE takes the write lock before the count, so the check and the insert agree.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organizations").fetch_one(&mut *tx).await?;
        if count > 0 {
            return Ok(None);
        }
        let change = Self::insert_organization(&mut tx, organization, root).await?;
        tx.commit().await?;
        self.signal(change.seq);
        Ok(Some(change))
    }

    async fn organization_create(
        &self,
        organization: &Organization,
        root: &IssuedKey,
    ) -> Result<KeyChange, StoreError> {
        let mut tx = self.pool.begin().await?;
        let change = Self::insert_organization(&mut tx, organization, root).await?;
        tx.commit().await?;
        self.signal(change.seq);
        Ok(change)
    }

    async fn organization_get(&self, id: Uuid) -> Result<Organization, StoreError> {
        let (id, name, created_at) = sqlx::query_as::<_, (Uuid, String, Millis)>(
            "SELECT id, name, created_at FROM organizations WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(Organization { id, name, created_at })
    }

    async fn organization_list(&self) -> Result<Vec<Organization>, StoreError> {
        let rows = sqlx::query_as::<_, (Uuid, String, Millis)>(
            "SELECT id, name, created_at FROM organizations ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id, name, created_at)| Organization { id, name, created_at }).collect())
    }

    async fn api_key_insert(&self, key: &IssuedKey) -> Result<KeyChange, StoreError> {
        let mut tx = self.pool.begin().await?;
        let change = Self::insert_key(&mut tx, key).await?;
        tx.commit().await?;
        self.signal(change.seq);
        Ok(change)
    }

    async fn api_key_insert_batch(&self, keys: &[IssuedKey]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let last = Self::insert_keys(&mut tx, keys).await?;
        tx.commit().await?;
        self.signal(last);
        Ok(())
    }

    async fn secret_digests(&self) -> Result<Vec<KeyDigest>, StoreError> {
        let rows: Vec<Vec<u8>> =
            sqlx::query_scalar("SELECT digest FROM api_key_secrets").fetch_all(&self.pool).await?;
        rows.iter().map(|d| digest(d)).collect()
    }

    async fn api_key_by_digest(&self, wanted: &KeyDigest) -> Result<Option<FoundKey>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            ", secret_digest, secret_expires_at FROM api_keys JOIN (SELECT digest AS secret_digest, \
             api_key_id, expires_at AS secret_expires_at FROM api_key_secrets WHERE digest = ?) \
             ON id = api_key_id"
        ))
        .bind(&wanted.0[..])
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| FoundKey::from_row(&row)).transpose()
    }

    async fn api_key_get(&self, organization_id: Uuid, id: Uuid) -> Result<ApiKey, StoreError> {
        let row: KeyRow = sqlx::query_as(concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys WHERE organization_id = ? AND id = ?"
        ))
        .bind(organization_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        row.try_into()
    }

    async fn api_key_list(
        &self,
        organization_id: Uuid,
        query: &ListQuery,
    ) -> Result<Vec<ApiKey>, StoreError> {
        let mut sql = sql::list_keys::<Sqlite>(organization_id, query);
        let rows: Vec<KeyRow> = sql.build_query_as().fetch_all(&self.pool).await?;
        rows.into_iter().map(ApiKey::try_from).collect()
    }

    async fn api_key_write(
        &self,
        key: &ApiKey,
        expected: i64,
        kind: ChangeKind,
        keep_manager: Option<Millis>,
    ) -> Result<Option<KeyChange>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The overwrite takes SQLite's one write lock: the check after it sees every other write.
        if !Self::overwrite(&mut tx, key, expected).await? {
            return Ok(None);
        }
        if let Some(until) = keep_manager
            && !another_manager(&mut tx, key, until).await?
        {
            return Err(StoreError::LastManager);
        }
        let change = Self::record(&mut tx, NewChange::new(key, kind, &[], key.updated_at)).await?;
        tx.commit().await?;
        self.signal(change.seq);
        Ok(Some(change))
    }

    async fn api_key_rotate(
        &self,
        key: &ApiKey,
        expected: i64,
        new_digest: &KeyDigest,
        grace_until: Millis,
    ) -> Result<Option<KeyChange>, StoreError> {
        let mut tx = self.pool.begin().await?;
        if !Self::overwrite(&mut tx, key, expected).await? {
            return Ok(None);
        }
        sqlx::query(
            "UPDATE api_key_secrets SET expires_at = MIN(COALESCE(expires_at, ?1), ?1) WHERE api_key_id = ?2",
        )
        .bind(grace_until)
        .bind(key.id)
        .execute(&mut *tx)
        .await?;
        let old: Vec<Vec<u8>> = sqlx::query_scalar("SELECT digest FROM api_key_secrets WHERE api_key_id = ?")
            .bind(key.id)
            .fetch_all(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO api_key_secrets (digest, api_key_id, created_at, expires_at) VALUES (?, ?, ?, NULL)",
        )
        .bind(&new_digest.0[..])
        .bind(key.id)
        .bind(key.updated_at)
        .execute(&mut *tx)
        .await?;
        let old = old.iter().map(|d| digest(d)).collect::<Result<Vec<_>, _>>()?;
        let digests: Vec<&KeyDigest> = std::iter::once(new_digest).chain(&old).collect();
        let change =
            Self::record(&mut tx, NewChange::new(key, ChangeKind::Rotated, &digests, key.updated_at)).await?;
        tx.commit().await?;
        self.signal(change.seq);
        Ok(Some(change))
    }

    async fn usage_record(&self, deltas: &[UsageDelta]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // One statement per chunk, not one per key: a flush touches every key used in the last second.
        for chunk in deltas.chunks(USAGE_CHUNK) {
            let mut sql = QueryBuilder::<Sqlite>::new(
                "UPDATE api_keys SET usage_count = usage_count + v.column2, \
                 last_used_at = MAX(COALESCE(last_used_at, 0), v.column3) FROM (",
            );
            sql.push_values(chunk, |mut row, delta| {
                row.push_bind(delta.api_key_id).push_bind(delta.uses).push_bind(delta.last_used_at);
            });
            sql.push(") AS v WHERE api_keys.id = v.column1");
            sql.build().execute(&mut *tx).await?;
        }
        for delta in deltas {
            if let Some(returned) = delta.returned {
                sqlx::query(
                    "UPDATE api_keys SET credits_remaining = credits_remaining + ? \
                     WHERE id = ? AND credits_version = ? AND credits_refilled_at = ? \
                     AND credits_remaining IS NOT NULL",
                )
                .bind(returned.remaining)
                .bind(delta.api_key_id)
                .bind(returned.version)
                .bind(returned.refilled_at)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn credits_get(&self, id: Uuid) -> Result<Option<StoredCredits>, StoreError> {
        let row: Option<CreditsRow> =
            sqlx::query_as(concat!("SELECT ", credits_columns!(), " FROM api_keys WHERE id = ?"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(CreditsRow::stored))
    }

    async fn credits_swap(
        &self,
        id: Uuid,
        old: &StoredCredits,
        new: &CreditBalance,
    ) -> Result<bool, StoreError> {
        let swapped = sqlx::query(
            "UPDATE api_keys SET credits_remaining = ?, credits_refilled_at = ? \
             WHERE id = ? AND credits_version = ? AND credits_remaining = ? AND credits_refilled_at = ?",
        )
        .bind(new.credits.remaining)
        .bind(new.refilled_at)
        .bind(id)
        .bind(old.version)
        .bind(old.balance.credits.remaining)
        .bind(old.balance.refilled_at)
        .execute(&self.pool)
        .await?;
        Ok(swapped.rows_affected() == 1)
    }

    async fn changes_since(&self, after: i64, limit: i64) -> Result<Vec<KeyChange>, StoreError> {
        let rows: Vec<ChangeRow> = sqlx::query_as(concat!(
            "SELECT ",
            change_columns!(),
            " FROM key_changes WHERE seq > ? ORDER BY seq LIMIT ?"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.feed)
        .await?;
        rows.into_iter().map(KeyChange::try_from).collect()
    }

    async fn last_change(&self) -> Result<i64, StoreError> {
        last_change(&self.pool).await
    }

    async fn change_signals(&self) -> Result<Box<dyn ChangeSignals>, StoreError> {
        Ok(Box::new(InProcess(self.changed.subscribe())))
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
