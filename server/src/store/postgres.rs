//! The PostgreSQL store: several instances on one database, a pool with a statement timeout,
//! migrations at start-up, and change records announced with `NOTIFY` by the writing transaction.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool, Postgres};
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

/// The channel change records are announced on; the payload is the record's `seq`.
const CHANNEL: &str = "keyward_changes";
/// The advisory lock writers hold from numbering a change record to committing it.
const FEED_LOCK: i64 = 0x6b65_7977_6172_6401;
/// The advisory lock that makes the first start's bootstrap one instance's alone.
const BOOTSTRAP_LOCK: i64 = 0x6b65_7977_6172_6402;
/// Keys inserted by one statement of a batch insert (26 values each, under 65535).
const INSERT_CHUNK: usize = 1_000;
/// The longest any one statement may run.
const STATEMENT_TIMEOUT: &str = "10s";

/// A store in a PostgreSQL database, shared by any number of instances.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// The change feed's own connections (its `LISTEN` and its reads), apart from the requests':
    /// the follower's deadline then measures the database, never a wait for a busy pool.
    feed: PgPool,
}

impl PostgresStore {
    /// Connects to the database at `url` and migrates it (sqlx's migrator takes an advisory
    /// lock, so instances starting at once migrate one after the other).
    /// A write waits up to `lock_wait` for a row or advisory lock (`lock_timeout`).
    pub async fn connect(url: &str, lock_wait: Duration) -> Result<Self, StoreError> {
        let lock_timeout = format!("{}ms", lock_wait.as_millis().max(1));
        let options = PgConnectOptions::from_str(url)?
            .options([("statement_timeout", STATEMENT_TIMEOUT), ("lock_timeout", lock_timeout.as_str())])
            .application_name("keyward-server");
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        // Its LISTEN and a reader, and room for a connection a cut-off read left behind while it
        // closes; connected now, so that its first read need not connect within its deadline.
        let feed = PgPoolOptions::new()
            .max_connections(4)
            .min_connections(2)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Ok(Self { pool, feed })
    }

    async fn insert_keys(tx: &mut PgConnection, keys: &[IssuedKey]) -> Result<i64, StoreError> {
        let mut last = 0;
        for chunk in keys.chunks(INSERT_CHUNK) {
            sql::insert_keys::<Postgres>(chunk).build().execute(&mut *tx).await?;
            sql::insert_secrets::<Postgres>(chunk).build().execute(&mut *tx).await?;
            let changes: Vec<_> = chunk
                .iter()
                .map(|i| NewChange::new(&i.api_key, ChangeKind::Created, &[&i.digest], i.api_key.created_at))
                .collect();
            lock_feed(tx).await?;
            let seqs: Vec<i64> =
                sql::insert_changes::<Postgres>(&changes).build_query_scalar().fetch_all(&mut *tx).await?;
            last = seqs.into_iter().max().unwrap_or(last);
        }
        notify(tx, last).await?;
        Ok(last)
    }

    async fn insert_key(tx: &mut PgConnection, issued: &IssuedKey) -> Result<KeyChange, StoreError> {
        let seq = Self::insert_keys(tx, std::slice::from_ref(issued)).await?;
        NewChange::new(&issued.api_key, ChangeKind::Created, &[&issued.digest], issued.api_key.created_at)
            .stored(seq)
    }

    async fn insert_organization(
        tx: &mut PgConnection,
        organization: &Organization,
        root: &IssuedKey,
    ) -> Result<KeyChange, StoreError> {
        sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(organization.id)
            .bind(&organization.name)
            .bind(organization.created_at)
            .execute(&mut *tx)
            .await?;
        Self::insert_key(tx, root).await
    }

    /// Overwrites the key's mutable columns if it is still at `expected` and not revoked.
    async fn overwrite(tx: &mut PgConnection, key: &ApiKey, expected: i64) -> Result<bool, StoreError> {
        let updated = sql::overwrite_key::<Postgres>(key, expected).build().execute(&mut *tx).await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Numbers and stores a change record and announces it, inside the caller's transaction.
    async fn record(tx: &mut PgConnection, change: NewChange) -> Result<KeyChange, StoreError> {
        lock_feed(tx).await?;
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO key_changes (organization_id, api_key_id, kind, digests, at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING seq",
        )
        .bind(change.organization_id)
        .bind(change.api_key_id)
        .bind(change.kind.as_str())
        .bind(&change.digests)
        .bind(change.at)
        .fetch_one(&mut *tx)
        .await?;
        notify(tx, seq).await?;
        change.stored(seq)
    }
}

/// Held until the transaction ends: records are numbered and committed one writer at a time.
async fn lock_feed(tx: &mut PgConnection) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(FEED_LOCK).execute(&mut *tx).await?;
    Ok(())
}

/// Sent when the transaction commits, and not at all if it rolls back.
async fn notify(tx: &mut PgConnection, seq: i64) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(seq.to_string()).execute(&mut *tx).await?;
    Ok(())
}

/// Whether a key of `key`'s organization other than `key` can manage keys past `until`.
async fn another_manager(tx: &mut PgConnection, key: &ApiKey, until: Millis) -> Result<bool, StoreError> {
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
impl Store for PostgresStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn pepper_check(&self, fingerprint: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO settings (name, value) VALUES ('pepper', $1) ON CONFLICT (name) DO NOTHING")
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
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(BOOTSTRAP_LOCK).execute(&mut *tx).await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organizations").fetch_one(&mut *tx).await?;
        if count > 0 {
            return Ok(None);
        }
        let change = Self::insert_organization(&mut tx, organization, root).await?;
        tx.commit().await?;
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
        Ok(change)
    }

    async fn organization_get(&self, id: Uuid) -> Result<Organization, StoreError> {
        let (id, name, created_at) = sqlx::query_as::<_, (Uuid, String, Millis)>(
            "SELECT id, name, created_at FROM organizations WHERE id = $1",
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
        Ok(change)
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
        rows.iter().map(|d| digest(d)).collect()
    }

    async fn api_key_by_digest(&self, wanted: &KeyDigest) -> Result<Option<FoundKey>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            ", secret_digest, secret_expires_at FROM api_keys JOIN (SELECT digest AS secret_digest, \
             api_key_id, expires_at AS secret_expires_at FROM api_key_secrets WHERE digest = $1) s \
             ON id = s.api_key_id"
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
            " FROM api_keys WHERE organization_id = $1 AND id = $2"
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
        let mut sql = sql::list_keys::<Postgres>(organization_id, query);
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
        if keep_manager.is_some() {
            // Guarded writes on one organization take their turns: each one's check sees the
            // last one's write.
            sqlx::query("SELECT id FROM organizations WHERE id = $1 FOR UPDATE")
                .bind(key.organization_id)
                .execute(&mut *tx)
                .await?;
        }
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
        let old: Vec<Vec<u8>> = sqlx::query_scalar(
            "UPDATE api_key_secrets SET expires_at = LEAST(COALESCE(expires_at, $1), $1) \
             WHERE api_key_id = $2 RETURNING digest",
        )
        .bind(grace_until)
        .bind(key.id)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO api_key_secrets (digest, api_key_id, created_at, expires_at) VALUES ($1, $2, $3, NULL)",
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
        Ok(Some(change))
    }

    async fn usage_record(&self, deltas: &[UsageDelta]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let ids: Vec<Uuid> = deltas.iter().map(|d| d.api_key_id).collect();
        let uses: Vec<i64> = deltas.iter().map(|d| d.uses).collect();
        let at: Vec<i64> = deltas.iter().map(|d| d.last_used_at).collect();
        // One statement for the whole flush: increments, so instances' counts add up.
        sqlx::query(
            "UPDATE api_keys SET usage_count = api_keys.usage_count + v.uses, \
             last_used_at = GREATEST(COALESCE(api_keys.last_used_at, 0), v.at) \
             FROM UNNEST($1::uuid[], $2::int8[], $3::int8[]) AS v(id, uses, at) WHERE api_keys.id = v.id",
        )
        .bind(&ids)
        .bind(&uses)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        for delta in deltas {
            if let Some(returned) = delta.returned {
                sqlx::query(
                    "UPDATE api_keys SET credits_remaining = credits_remaining + $1 \
                     WHERE id = $2 AND credits_version = $3 AND credits_refilled_at = $4 \
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
            sqlx::query_as(concat!("SELECT ", credits_columns!(), " FROM api_keys WHERE id = $1"))
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
            "UPDATE api_keys SET credits_remaining = $1, credits_refilled_at = $2 \
             WHERE id = $3 AND credits_version = $4 AND credits_remaining = $5 AND credits_refilled_at = $6",
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
            " FROM key_changes WHERE seq > $1 ORDER BY seq LIMIT $2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.feed)
        .await?;
        rows.into_iter().map(KeyChange::try_from).collect()
    }

    async fn last_change(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0)::int8 FROM key_changes")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn change_signals(&self) -> Result<Box<dyn ChangeSignals>, StoreError> {
        let mut listener = PgListener::connect_with(&self.feed).await?;
        listener.listen(CHANNEL).await?;
        Ok(Box::new(Notifications(listener)))
    }
}

/// PostgreSQL's change signal: `LISTEN keyward_changes` on a connection of its own.
struct Notifications(PgListener);

#[async_trait]
impl ChangeSignals for Notifications {
    async fn next(&mut self) -> Signal {
        // `try_recv` says when the connection was lost (notifications sent meanwhile are gone)
        // instead of reconnecting behind our back; the follower subscribes anew and re-reads.
        match self.0.try_recv().await {
            Ok(Some(notification)) => match notification.payload().parse() {
                Ok(seq) => Signal::Changed(seq),
                Err(_) => Signal::Lost,
            },
            Ok(None) | Err(_) => Signal::Lost,
        }
    }
}
