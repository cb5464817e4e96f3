//! The PostgreSQL backend: several instances on one database, a pool with a statement timeout,
//! migrations at start-up, and change records announced with `NOTIFY` by the writing transaction.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::backend::{Backend, RowType, SqlStore, Statement, bind, runs_statements};
use super::{ChangeSignals, Signal, StoreError, UsageDelta};

/// The channel change records are announced on; the payload is the record's `seq`.
const CHANNEL: &str = "keyward_changes";
/// The advisory lock writers hold from numbering a change record to committing it.
const FEED_LOCK: i64 = 0x6b65_7977_6172_6401;
/// The advisory lock that makes the first start's bootstrap one instance's alone.
const BOOTSTRAP_LOCK: i64 = 0x6b65_7977_6172_6402;
/// The longest any one statement may run.
const STATEMENT_TIMEOUT: &str = "10s";

/// A store in a PostgreSQL database, shared by any number of instances.
pub type PostgresStore = SqlStore<PostgresBackend>;

/// PostgreSQL's side of the store.
#[derive(Debug, Clone)]
pub struct PostgresBackend {
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
        Ok(SqlStore::new(PostgresBackend { pool, feed }))
    }
}

#[async_trait]
impl Backend for PostgresBackend {
    type Db = Postgres;

    runs_statements!(PgConnection, PgArguments, Statement::into_parts);

    async fn begin_alone(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(BOOTSTRAP_LOCK).execute(&mut *tx).await?;
        Ok(tx)
    }

    async fn lock_organization(conn: &mut PgConnection, id: Uuid) -> Result<(), StoreError> {
        sqlx::query("SELECT id FROM organizations WHERE id = $1 FOR UPDATE").bind(id).execute(conn).await?;
        Ok(())
    }

    async fn before_numbering(conn: &mut PgConnection) -> Result<(), StoreError> {
        // Held until the transaction ends: records are numbered and committed one writer at a time.
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(FEED_LOCK).execute(conn).await?;
        Ok(())
    }

    async fn announce(conn: &mut PgConnection, seq: i64) -> Result<(), StoreError> {
        // Sent when the transaction commits, and not at all if it rolls back.
        sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(seq.to_string()).execute(conn).await?;
        Ok(())
    }

    fn committed(&self, _: i64) {
        // The NOTIFY the transaction carried reaches every instance, this one's follower too.
    }

    async fn change_signals(&self) -> Result<Box<dyn ChangeSignals>, StoreError> {
        let mut listener = PgListener::connect_with(&self.feed).await?;
        listener.listen(CHANNEL).await?;
        Ok(Box::new(Notifications(listener)))
    }

    async fn add_usage(conn: &mut PgConnection, deltas: &[UsageDelta]) -> Result<(), StoreError> {
        let ids: Vec<Uuid> = deltas.iter().map(|d| d.api_key_id).collect();
        let uses: Vec<i64> = deltas.iter().map(|d| d.uses).collect();
        let at: Vec<i64> = deltas.iter().map(|d| d.last_used_at).collect();
        // One statement for the whole flush.
        sqlx::query(
            "UPDATE api_keys SET usage_count = api_keys.usage_count + v.uses, \
             last_used_at = GREATEST(COALESCE(api_keys.last_used_at, 0), v.at) \
             FROM UNNEST($1::uuid[], $2::int8[], $3::int8[]) AS v(id, uses, at) WHERE api_keys.id = v.id",
        )
        .bind(&ids)
        .bind(&uses)
        .bind(&at)
        .execute(conn)
        .await?;
        Ok(())
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
