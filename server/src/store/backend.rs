//! What the two databases do differently, stated once ([`Backend`]), so that every resource's SQL
//! is written once, over [`SqlStore`]: statements with `$N` placeholders (PostgreSQL's, which
//! sqlx's SQLite also reads) and their values ([`Statement`]), rows both databases decode
//! ([`RowType`]). A backend binds values, runs statements, and says how its database locks,
//! announces and counts.

use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use serde::Serialize;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use sqlx::{Arguments, Database, Encode, FromRow, Pool, Transaction, Type};
use uuid::Uuid;

use super::{ChangeSignals, Reachability, StoreError, UsageDelta};

/// A database connection of backend `B` (a transaction's, or one taken from the pool).
pub type Connection<B> = <<B as Backend>::Db as Database>::Connection;

/// What differs between SQLite and PostgreSQL, and nothing else.
#[async_trait]
pub trait Backend: Send + Sync + Sized + 'static {
    type Db: Database;

    /// The requests' connections.
    fn pool(&self) -> &Pool<Self::Db>;
    /// The change feed's own connections, so that its reads never wait behind the requests'.
    fn feed(&self) -> &Pool<Self::Db>;

    /// Runs a statement; how many rows it changed.
    fn execute(conn: &mut Connection<Self>, statement: Statement) -> BoxFuture<'_, Result<u64, StoreError>>;
    /// Runs a query; every row it returned.
    fn fetch_all<T: RowType>(
        conn: &mut Connection<Self>,
        statement: Statement,
    ) -> BoxFuture<'_, Result<Vec<T>, StoreError>>;
    /// Runs a query; its first row, if any.
    fn fetch_optional<T: RowType>(
        conn: &mut Connection<Self>,
        statement: Statement,
    ) -> BoxFuture<'_, Result<Option<T>, StoreError>>;

    /// A transaction that no other writer's can interleave with: of instances bootstrapping an
    /// empty store at once, one checks and inserts while the others wait (SQLite: `BEGIN
    /// IMMEDIATE`; PostgreSQL: an advisory lock).
    async fn begin_alone(&self) -> Result<Transaction<'static, Self::Db>, StoreError>;
    /// Makes writes to one organization that check its other keys take turns (PostgreSQL locks
    /// the organization's row; SQLite's one writer already does).
    async fn lock_organization(conn: &mut Connection<Self>, id: Uuid) -> Result<(), StoreError>;
    /// Called before change records are numbered: records must commit in `seq` order, so that a
    /// follower reading `seq > last` never skips one that commits later (PostgreSQL: an advisory
    /// lock held until the transaction ends; SQLite's one writer already does).
    async fn before_numbering(conn: &mut Connection<Self>) -> Result<(), StoreError>;
    /// Called in the transaction before it commits: tells followers elsewhere once it has
    /// (PostgreSQL: `NOTIFY`, sent at commit and not at all on a rollback).
    async fn announce(conn: &mut Connection<Self>, seq: i64) -> Result<(), StoreError>;
    /// Called after a commit: tells this process's followers (SQLite's in-process channel).
    fn committed(&self, seq: i64);
    /// A subscription to the signal sent when change records commit.
    async fn change_signals(&self) -> Result<Box<dyn ChangeSignals>, StoreError>;

    /// Adds usage counts and last uses as increments (PostgreSQL: one `UNNEST` statement;
    /// SQLite: `VALUES` in chunks under its limit of bound values).
    async fn add_usage(conn: &mut Connection<Self>, deltas: &[UsageDelta]) -> Result<(), StoreError>;
}

/// The store over a backend: every resource's SQL, written once (`api_keys.rs`,
/// `organizations.rs`, `changes.rs`, `usage.rs`, `credits.rs`, `settings.rs`). Every call but
/// the change feed's fails fast while the feed's follower finds the database out of reach
/// (`guard.rs`).
#[derive(Debug)]
pub struct SqlStore<B> {
    pub(super) backend: B,
    pub(super) reachability: Arc<Reachability>,
}

impl<B: Backend> SqlStore<B> {
    pub(super) fn new(backend: B) -> Self {
        Self { backend, reachability: Arc::default() }
    }

    /// Runs a query on a pooled connection; every row it returned.
    pub(super) async fn all<T: RowType>(&self, statement: Statement) -> Result<Vec<T>, StoreError> {
        self.reachability
            .read(async { B::fetch_all(&mut *self.backend.pool().acquire().await?, statement).await })
            .await
    }

    /// Runs a query on a pooled connection; its first row, if any.
    pub(super) async fn optional<T: RowType>(&self, statement: Statement) -> Result<Option<T>, StoreError> {
        self.reachability
            .read(async { B::fetch_optional(&mut *self.backend.pool().acquire().await?, statement).await })
            .await
    }

    /// Runs a query on a pooled connection; its one row.
    pub(super) async fn one<T: RowType>(&self, statement: Statement) -> Result<T, StoreError> {
        self.optional(statement).await?.ok_or(StoreError::NotFound)
    }

    /// Runs a statement on a pooled connection, outside any write's transaction; how many rows
    /// it changed. Only for what is no change of record (usage, leases, settings).
    pub(super) async fn execute(&self, statement: Statement) -> Result<u64, StoreError> {
        self.reachability.check()?;
        B::execute(&mut *self.backend.pool().acquire().await?, statement).await
    }
}

/// The methods of [`Backend`] that are the same for both databases but for their types: the
/// pools (a backend's `pool` and `feed` fields), and those that bind a statement's values and
/// run it, which generic code could only name through a bound for every type of value and row.
macro_rules! runs_statements {
    ($connection:ty, $arguments:ty, $parts:path) => {
        fn pool(&self) -> &sqlx::Pool<Self::Db> {
            &self.pool
        }

        fn feed(&self) -> &sqlx::Pool<Self::Db> {
            &self.feed
        }

        fn execute(
            conn: &mut $connection,
            statement: Statement,
        ) -> futures::future::BoxFuture<'_, Result<u64, StoreError>> {
            Box::pin(async move {
                let (text, values) = $parts(statement);
                let arguments = bind::<$arguments>(values)?;
                let done = sqlx::query_with(sqlx::AssertSqlSafe(text), arguments).execute(conn).await?;
                Ok(done.rows_affected())
            })
        }

        runs_statements!(@query $connection, $arguments, $parts, fetch_all -> Vec<T>);
        runs_statements!(@query $connection, $arguments, $parts, fetch_optional -> Option<T>);
    };
    // A query's method: the rows it returns as `sqlx`'s method of the same name does.
    (@query $connection:ty, $arguments:ty, $parts:path, $fetch:ident -> $rows:ty) => {
        fn $fetch<T: RowType>(
            conn: &mut $connection,
            statement: Statement,
        ) -> futures::future::BoxFuture<'_, Result<$rows, StoreError>> {
            Box::pin(async move {
                let (text, values) = $parts(statement);
                let arguments = bind::<$arguments>(values)?;
                Ok(sqlx::query_as_with(sqlx::AssertSqlSafe(text), arguments).$fetch(conn).await?)
            })
        }
    };
}
pub(super) use runs_statements;

/// `values` as a database's arguments.
pub(super) fn bind<A>(values: Vec<Value>) -> Result<A, StoreError>
where
    A: Arguments,
    Uuid: for<'q> Encode<'q, A::Database> + Type<A::Database>,
    Option<String>: for<'q> Encode<'q, A::Database> + Type<A::Database>,
    Option<i64>: for<'q> Encode<'q, A::Database> + Type<A::Database>,
    Option<i32>: for<'q> Encode<'q, A::Database> + Type<A::Database>,
    Vec<u8>: for<'q> Encode<'q, A::Database> + Type<A::Database>,
    Json<serde_json::Value>: for<'q> Encode<'q, A::Database> + Type<A::Database>,
{
    let mut arguments = A::default();
    for value in values {
        match value {
            Value::Uuid(v) => arguments.add(v),
            Value::Text(v) => arguments.add(v),
            Value::Int(v) => arguments.add(v),
            Value::Int4(v) => arguments.add(v),
            Value::Bytes(v) => arguments.add(v),
            Value::Json(v) => arguments.add(Json(v)),
        }
        .map_err(|e| StoreError::Corrupt(format!("a value does not bind: {e}")))?;
    }
    Ok(arguments)
}

/// A row both databases decode (a `sqlx::FromRow` for each).
pub trait RowType:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static
{
}

impl<T> RowType for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static
{
}

/// A value bound to a statement, typed even when it is `NULL` (PostgreSQL types every
/// parameter).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Uuid(Uuid),
    Text(Option<String>),
    Int(Option<i64>),
    Int4(Option<i32>),
    Bytes(Vec<u8>),
    /// JSON: `JSONB` on PostgreSQL, text on SQLite.
    Json(serde_json::Value),
}

impl Value {
    /// `value` as JSON.
    pub fn json(value: &impl Serialize) -> Result<Self, StoreError> {
        serde_json::to_value(value)
            .map(Value::Json)
            .map_err(|e| StoreError::Corrupt(format!("a value does not serialize: {e}")))
    }
}

impl From<Uuid> for Value {
    fn from(value: Uuid) -> Self {
        Value::Uuid(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(Some(value.to_owned()))
    }
}

impl From<Option<&str>> for Value {
    fn from(value: Option<&str>) -> Self {
        Value::Text(value.map(str::to_owned))
    }
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Int(Some(value))
    }
}

impl From<Option<i64>> for Value {
    fn from(value: Option<i64>) -> Self {
        Value::Int(value)
    }
}

impl From<Option<i32>> for Value {
    fn from(value: Option<i32>) -> Self {
        Value::Int4(value)
    }
}

impl From<&[u8]> for Value {
    fn from(value: &[u8]) -> Self {
        Value::Bytes(value.to_vec())
    }
}

/// A statement's text, with `$1`, `$2`… where its values go, and those values in order.
#[derive(Debug, Clone, Default)]
pub struct Statement {
    text: String,
    values: Vec<Value>,
}

impl Statement {
    /// A statement whose text already holds its placeholders; give their values with [`Self::arg`].
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into(), values: Vec::new() }
    }

    /// Gives the next placeholder of the text its value.
    pub fn arg(mut self, value: impl Into<Value>) -> Self {
        self.values.push(value.into());
        self
    }

    /// Appends text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        self.text.push('$');
        self.text.push_str(&self.values.len().to_string());
        self
    }

    /// Appends `(v1, v2, …), (…)`: a row of placeholders for each row of values.
    pub fn push_rows(&mut self, rows: impl IntoIterator<Item = Vec<Value>>) -> &mut Self {
        for (i, row) in rows.into_iter().enumerate() {
            self.push(if i == 0 { "(" } else { ", (" });
            for (j, value) in row.into_iter().enumerate() {
                if j > 0 {
                    self.push(", ");
                }
                self.bind(value);
            }
            self.push(")");
        }
        self
    }

    pub fn into_parts(self) -> (String, Vec<Value>) {
        (self.text, self.values)
    }

    /// The parts, with `?` for every placeholder when each of `$1`…`$n` stands once and in
    /// order, as [`Self::bind`] writes them; otherwise as [`Self::into_parts`].
    ///
    /// SQLite looks a named placeholder up by name, in a list as long as the statement's
    /// placeholders, both when it parses the text and when each value is bound: a batch insert
    /// of 26,000 `$N` spends nearly all its time there. It numbers anonymous `?` as they come.
    pub fn into_anonymous_parts(self) -> (String, Vec<Value>) {
        let mut text = String::with_capacity(self.text.len());
        let mut rest = self.text.as_str();
        let mut next = 1;
        while let Some(at) = rest.find('$') {
            let digits = rest[at + 1..].bytes().take_while(u8::is_ascii_digit).count();
            if rest[at + 1..at + 1 + digits].parse() != Ok(next) {
                return self.into_parts();
            }
            text.push_str(&rest[..at]);
            text.push('?');
            rest = &rest[at + 1 + digits..];
            next += 1;
        }
        if next != self.values.len() + 1 {
            return self.into_parts();
        }
        text.push_str(rest);
        (text, self.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_the_order_of_their_values() {
        let mut statement = Statement::new("UPDATE t SET a = $1").arg(7i64);
        statement.push(" WHERE b = ").bind("x").push(" AND (c, d) IN ");
        statement.push_rows([
            vec![Value::from(1i64), Value::from(2i64)],
            vec![Value::from(3i64), Value::from(4i64)],
        ]);
        let (text, values) = statement.into_parts();
        assert_eq!(text, "UPDATE t SET a = $1 WHERE b = $2 AND (c, d) IN ($3, $4), ($5, $6)");
        assert_eq!(values.len(), 6);
        assert_eq!(values[1], Value::Text(Some("x".into())));
    }

    #[test]
    fn placeholders_that_each_stand_once_in_order_become_anonymous() {
        let mut statement = Statement::new("UPDATE t SET a = $1").arg(7i64);
        statement.push(" WHERE (c, d) IN ");
        statement.push_rows([vec![Value::from(1i64), Value::from(2i64)]]);
        let (text, values) = statement.into_anonymous_parts();
        assert_eq!(text, "UPDATE t SET a = ? WHERE (c, d) IN (?, ?)");
        assert_eq!(values.len(), 3);
    }

    #[test]
    fn placeholders_that_repeat_or_stand_out_of_order_stay_numbered() {
        for text in ["SELECT $1, $1", "SELECT $2, $1", "SELECT $1, $12"] {
            let statement = Statement::new(text).arg(1i64).arg(2i64);
            assert_eq!(statement.into_anonymous_parts().0, text);
        }
        let unbound = Statement::new("SELECT $1, $2").arg(1i64);
        assert_eq!(unbound.into_anonymous_parts().0, "SELECT $1, $2");
    }
}
