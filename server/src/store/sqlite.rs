//! The SQLite store: WAL mode, migrations at start-up, scopes and metadata as JSON text.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use uuid::Uuid;

use super::{FoundKey, ListQuery, Precondition, Rotated, Store, StoreError, UsageDelta};
use crate::domain::Millis;
use crate::domain::api_key::{ApiKey, ApiKeyPatch, IssuedKey, KeyStatus};
use crate::domain::key::KeyDigest;
use crate::domain::limits::{Credits, CreditsRefill, RateLimit};
use crate::domain::organization::Organization;

/// Keys inserted by one statement of a batch insert.
const INSERT_CHUNK: usize = 1_000;
/// Keys written by one statement of a usage flush (3 bound values each, well under SQLite's limit).
const USAGE_CHUNK: usize = 500;
/// How often an update is retried when another writer changed the key in between.
const UPDATE_ATTEMPTS: usize = 8;

/// The columns of `api_keys`, in the order `insert_key` binds them.
macro_rules! key_columns {
    () => {
        "id, organization_id, name, description, user_id, customer_id, billing_id, prefix, \
         masked_key, status, scopes, metadata, rate_limit_limit, rate_limit_window_ms, \
         credits_remaining, credits_refill_amount, credits_refill_interval_ms, credits_refilled_at, \
         credits_version, usage_count, revision, created_at, updated_at, last_used_at, \
         expires_at, deleted_at"
    };
}

/// A store in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` and migrates it.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }

    async fn insert_key(tx: &mut sqlx::SqliteConnection, issued: &IssuedKey) -> Result<(), StoreError> {
        Self::insert_keys(tx, std::slice::from_ref(issued)).await
    }

    /// Inserts keys and their current secrets with multi-row statements.
    async fn insert_keys(tx: &mut sqlx::SqliteConnection, keys: &[IssuedKey]) -> Result<(), StoreError> {
        // 26 values a key keeps a chunk well under SQLite's 32766 variables.
        for chunk in keys.chunks(INSERT_CHUNK) {
            let rows = chunk
                .iter()
                .map(|issued| {
                    Ok((issued, to_json(&issued.api_key.scopes)?, to_json(&issued.api_key.metadata)?))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let mut sql =
                QueryBuilder::<Sqlite>::new(concat!("INSERT INTO api_keys (", key_columns!(), ") "));
            sql.push_values(&rows, |mut row, (issued, scopes, metadata)| {
                let key = &issued.api_key;
                let refill = key.credits.and_then(|c| c.refill);
                row.push_bind(key.id)
                    .push_bind(key.organization_id)
                    .push_bind(&key.name)
                    .push_bind(&key.description)
                    .push_bind(&key.user_id)
                    .push_bind(&key.customer_id)
                    .push_bind(&key.billing_id)
                    .push_bind(&key.prefix)
                    .push_bind(&key.masked_key)
                    .push_bind(key.status.as_str())
                    .push_bind(scopes)
                    .push_bind(metadata)
                    .push_bind(key.rate_limit.map(|r| r.limit))
                    .push_bind(key.rate_limit.map(|r| r.window_ms))
                    .push_bind(key.credits.map(|c| c.remaining))
                    .push_bind(refill.map(|r| r.amount))
                    .push_bind(refill.map(|r| r.interval_ms))
                    .push_bind(key.credits_refilled_at)
                    .push_bind(key.credits_version)
                    .push_bind(key.usage_count)
                    .push_bind(key.revision)
                    .push_bind(key.created_at)
                    .push_bind(key.updated_at)
                    .push_bind(key.last_used_at)
                    .push_bind(key.expires_at)
                    .push_bind(key.deleted_at);
            });
            sql.build().execute(&mut *tx).await?;
            let mut secrets = QueryBuilder::<Sqlite>::new(
                "INSERT INTO api_key_secrets (digest, api_key_id, created_at, expires_at) ",
            );
            secrets.push_values(chunk, |mut row, issued| {
                row.push_bind(&issued.digest.0[..])
                    .push_bind(issued.api_key.id)
                    .push_bind(issued.api_key.created_at)
                    .push_bind(None::<i64>);
            });
            secrets.build().execute(&mut *tx).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn organization_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM organizations").fetch_one(&self.pool).await?)
    }

    async fn organization_create(
        &self,
        organization: &Organization,
        root: &IssuedKey,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)")
            .bind(organization.id)
            .bind(&organization.name)
            .bind(organization.created_at)
            .execute(&mut *tx)
            .await?;
        Self::insert_key(&mut tx, root).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn organization_get(&self, id: Uuid) -> Result<Organization, StoreError> {
        let row = sqlx::query("SELECT id, name, created_at FROM organizations WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(Organization {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            created_at: row.try_get("created_at")?,
        })
    }

    async fn api_key_insert(&self, key: &IssuedKey) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        Self::insert_key(&mut tx, key).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn api_key_insert_batch(&self, keys: &[IssuedKey]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        Self::insert_keys(&mut tx, keys).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn secret_digests(&self) -> Result<Vec<KeyDigest>, StoreError> {
        let rows: Vec<Vec<u8>> =
            sqlx::query_scalar("SELECT digest FROM api_key_secrets").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|d| {
                <[u8; 32]>::try_from(d.as_slice())
                    .map(KeyDigest)
                    .map_err(|_| StoreError::Corrupt("a key digest is not 32 bytes".into()))
            })
            .collect()
    }

    async fn api_key_by_digest(&self, digest: &KeyDigest) -> Result<Option<FoundKey>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            ", digest, secret_expires_at FROM api_keys JOIN \
             (SELECT digest, api_key_id, expires_at AS secret_expires_at FROM api_key_secrets WHERE digest = ?) \
             ON id = api_key_id"
        ))
        .bind(&digest.0[..])
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let stored: Vec<u8> = row.try_get("digest")?;
            let digest = <[u8; 32]>::try_from(stored.as_slice())
                .map_err(|_| StoreError::Corrupt("a key digest is not 32 bytes".into()))?;
            Ok(FoundKey {
                api_key: key_from_row(&row)?,
                digest: KeyDigest(digest),
                secret_expires_at: row.try_get("secret_expires_at")?,
            })
        })
        .transpose()
    }

    async fn api_key_get(&self, organization_id: Uuid, id: Uuid) -> Result<ApiKey, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys WHERE organization_id = ? AND id = ?"
        ))
        .bind(organization_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        key_from_row(&row)
    }

    async fn api_key_list(
        &self,
        organization_id: Uuid,
        query: &ListQuery,
    ) -> Result<Vec<ApiKey>, StoreError> {
        let mut sql = QueryBuilder::<Sqlite>::new(concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys WHERE organization_id = "
        ));
        sql.push_bind(organization_id);
        if let Some(user_id) = &query.user_id {
            sql.push(" AND user_id = ").push_bind(user_id);
        }
        if let Some(customer_id) = &query.customer_id {
            sql.push(" AND customer_id = ").push_bind(customer_id);
        }
        if let Some(status) = query.status {
            sql.push(" AND status = ").push_bind(status.as_str());
        }
        if !query.include_deleted {
            sql.push(" AND deleted_at IS NULL");
        }
        if let Some(before) = query.before {
            sql.push(" AND id < ").push_bind(before);
        }
        sql.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(query.limit));
        let rows = sql.build().fetch_all(&self.pool).await?;
        rows.iter().map(key_from_row).collect()
    }

    async fn api_key_update(
        &self,
        organization_id: Uuid,
        id: Uuid,
        precondition: Precondition,
        patch: &ApiKeyPatch,
        now: Millis,
    ) -> Result<ApiKey, StoreError> {
        for _ in 0..UPDATE_ATTEMPTS {
            let mut key = self.api_key_get(organization_id, id).await?;
            if key.deleted_at.is_some() {
                return Err(StoreError::Revoked);
            }
            match precondition {
                Precondition::None => {}
                Precondition::Revision(expected) if expected == key.revision => {}
                Precondition::Revision(_) | Precondition::Never => {
                    return Err(StoreError::RevisionMismatch { current: key.revision });
                }
            }
            let read_revision = key.revision;
            patch.apply(&mut key, now);
            let refill = key.credits.and_then(|c| c.refill);
            let updated = sqlx::query(
                "UPDATE api_keys SET name = ?, description = ?, status = ?, scopes = ?, expires_at = ?, \
                 metadata = ?, rate_limit_limit = ?, rate_limit_window_ms = ?, credits_remaining = ?, \
                 credits_refill_amount = ?, credits_refill_interval_ms = ?, credits_refilled_at = ?, \
                 credits_version = ?, revision = ?, updated_at = ? \
                 WHERE organization_id = ? AND id = ? AND revision = ? AND deleted_at IS NULL",
            )
            .bind(&key.name)
            .bind(&key.description)
            .bind(key.status.as_str())
            .bind(to_json(&key.scopes)?)
            .bind(key.expires_at)
            .bind(to_json(&key.metadata)?)
            .bind(key.rate_limit.map(|r| r.limit))
            .bind(key.rate_limit.map(|r| r.window_ms))
            .bind(key.credits.map(|c| c.remaining))
            .bind(refill.map(|r| r.amount))
            .bind(refill.map(|r| r.interval_ms))
            .bind(key.credits_refilled_at)
            .bind(key.credits_version)
            .bind(key.revision)
            .bind(key.updated_at)
            .bind(organization_id)
            .bind(id)
            .bind(read_revision)
            .execute(&self.pool)
            .await?;
            if updated.rows_affected() == 1 {
                return Ok(key);
            }
        }
        Err(StoreError::Contention)
    }

    async fn api_key_revoke(
        &self,
        organization_id: Uuid,
        id: Uuid,
        now: Millis,
    ) -> Result<ApiKey, StoreError> {
        let row = sqlx::query(concat!(
            "UPDATE api_keys SET deleted_at = ?, updated_at = ?, revision = revision + 1 \
             WHERE organization_id = ? AND id = ? AND deleted_at IS NULL RETURNING ",
            key_columns!()
        ))
        .bind(now)
        .bind(now)
        .bind(organization_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        key_from_row(&row)
    }

    async fn api_key_rotate(
        &self,
        organization_id: Uuid,
        id: Uuid,
        new_digest: &KeyDigest,
        masked_key: &str,
        grace_until: Millis,
        now: Millis,
    ) -> Result<Rotated, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(concat!(
            "UPDATE api_keys SET masked_key = ?, updated_at = ?, revision = revision + 1 \
             WHERE organization_id = ? AND id = ? AND deleted_at IS NULL RETURNING ",
            key_columns!()
        ))
        .bind(masked_key)
        .bind(now)
        .bind(organization_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT 1 FROM api_keys WHERE organization_id = ? AND id = ?")
                    .bind(organization_id)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            return Err(if exists.is_some() { StoreError::Revoked } else { StoreError::NotFound });
        };
        let api_key = key_from_row(&row)?;
        sqlx::query(
            "UPDATE api_key_secrets SET expires_at = MIN(COALESCE(expires_at, ?1), ?1) WHERE api_key_id = ?2",
        )
        .bind(grace_until)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let old: Vec<Vec<u8>> = sqlx::query_scalar("SELECT digest FROM api_key_secrets WHERE api_key_id = ?")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO api_key_secrets (digest, api_key_id, created_at, expires_at) VALUES (?, ?, ?, NULL)",
        )
        .bind(&new_digest.0[..])
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let old_digests =
            old.iter().filter_map(|d| <[u8; 32]>::try_from(d.as_slice()).ok().map(KeyDigest)).collect();
        Ok(Rotated { api_key, old_digests })
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
            if let Some(credits) = delta.credits {
                sqlx::query(
                    "UPDATE api_keys SET credits_remaining = ?, credits_refilled_at = ? \
                     WHERE id = ? AND credits_version = ? AND credits_remaining IS NOT NULL",
                )
                .bind(credits.remaining)
                .bind(credits.refilled_at)
                .bind(delta.api_key_id)
                .bind(credits.version)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(row: &SqliteRow, column: &str) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn key_from_row(row: &SqliteRow) -> Result<ApiKey, StoreError> {
    let status: String = row.try_get("status")?;
    let rate_limit = match (row.try_get("rate_limit_limit")?, row.try_get("rate_limit_window_ms")?) {
        (Some(limit), Some(window_ms)) => Some(RateLimit { limit, window_ms }),
        _ => None,
    };
    let refill = match (row.try_get("credits_refill_amount")?, row.try_get("credits_refill_interval_ms")?) {
        (Some(amount), Some(interval_ms)) => Some(CreditsRefill { amount, interval_ms }),
        _ => None,
    };
    let credits =
        row.try_get::<Option<i64>, _>("credits_remaining")?.map(|remaining| Credits { remaining, refill });
    Ok(ApiKey {
        id: row.try_get("id")?,
        organization_id: row.try_get("organization_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        user_id: row.try_get("user_id")?,
        customer_id: row.try_get("customer_id")?,
        billing_id: row.try_get("billing_id")?,
        prefix: row.try_get("prefix")?,
        masked_key: row.try_get("masked_key")?,
        status: KeyStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("status {status:?}")))?,
        scopes: from_json(row, "scopes")?,
        metadata: from_json(row, "metadata")?,
        rate_limit,
        credits,
        credits_refilled_at: row.try_get("credits_refilled_at")?,
        credits_version: row.try_get("credits_version")?,
        usage_count: row.try_get("usage_count")?,
        revision: row.try_get("revision")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        last_used_at: row.try_get("last_used_at")?,
        expires_at: row.try_get("expires_at")?,
        deleted_at: row.try_get("deleted_at")?,
    })
}
