//! A fresh PostgreSQL database for one test, dropped when the test ends.
//!
//! The server to use is `KEYWARD_TEST_POSTGRES_URL` (a user that may create databases), by
//! default the local one `.ci/run` makes sure of. There is no skipping: without a reachable
//! PostgreSQL the test fails and says how to provide one.

use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection};

/// The variable that names the PostgreSQL server tests create their databases on.
pub const URL_VARIABLE: &str = "KEYWARD_TEST_POSTGRES_URL";
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database of its own for one test.
pub struct TestDatabase {
    pub url: String,
    name: String,
    admin_url: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let admin_url = std::env::var(URL_VARIABLE).unwrap_or_else(|_| DEFAULT_URL.to_owned());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|error| {
            panic!(
                "PostgreSQL is not reachable at {admin_url} ({error}). These tests need one: start \
                 it (`bash .ci/run` installs and starts PostgreSQL), or set {URL_VARIABLE} to a \
                 server where the user may create databases."
            )
        });
        let name = format!("keyward_test_{}", uuid::Uuid::new_v4().simple());
        // The name is ours: a fixed prefix and a UUID's hex digits.
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("the test database is created");
        let _ = admin.close().await;
        Self { url: with_database(&admin_url, &name), name, admin_url }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside any async context it could borrow: a thread with its own runtime.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                sqlx::raw_sql(AssertSqlSafe(drop)).execute(&mut admin).await?;
                admin.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let (before_query, query) = rest.split_once('?').map_or((rest, None), |(b, q)| (b, Some(q)));
    let authority = before_query.split_once('/').map_or(before_query, |(a, _)| a);
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}
