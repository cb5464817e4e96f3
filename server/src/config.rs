//! The server's settings: command-line flags, each with an environment twin.

use std::fmt;
use std::net::SocketAddr;

use clap::{Parser, ValueEnum};

use crate::store::redacted;
use crate::verifier::DEFAULT_MAX_AGE_MS;

/// Keyward: API keys for your API, on one binary and one SQLite file or PostgreSQL.
#[derive(Clone, Parser)]
#[command(name = "keyward-server", version, about)]
pub struct Config {
    /// The address to listen on.
    #[arg(long, env = "KEYWARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// The database: `sqlite://PATH` (created if missing; one server process), or
    /// `postgres://USER:PASSWORD@HOST/DB` (any number of instances).
    #[arg(long, env = "KEYWARD_DATABASE_URL", default_value = "sqlite://keyward.db")]
    pub database_url: String,

    /// How long a cached key is trusted before it is read from the store again, in milliseconds:
    /// the backstop behind the change feed, which invalidates caches at once.
    #[arg(long, env = "KEYWARD_CACHE_MAX_AGE_MS", default_value_t = DEFAULT_MAX_AGE_MS,
          value_parser = clap::value_parser!(i64).range(1..=86_400_000))]
    pub cache_max_age_ms: i64,

    /// On first start, adopt this well-formed key as the root key instead of minting one.
    #[arg(long, env = "KEYWARD_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,

    /// A secret that keys the stored digests (HMAC-SHA-256); keep it for the life of the database.
    #[arg(long, env = "KEYWARD_PEPPER", hide_env_values = true)]
    pub pepper: Option<String>,

    /// How logs are written to stderr (`RUST_LOG` picks what is logged).
    #[arg(long, env = "KEYWARD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Config {
    /// Settings for a server on a free loopback port over the given database, for tests.
    pub fn for_tests(database_url: impl Into<String>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: database_url.into(),
            cache_max_age_ms: DEFAULT_MAX_AGE_MS,
            admin_key: None,
            pepper: None,
            log_format: LogFormat::Text,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database_url", &redacted(&self.database_url))
            .field("cache_max_age_ms", &self.cache_max_age_ms)
            .field("admin_key", &self.admin_key.as_ref().map(|_| "<redacted>"))
            .field("pepper", &self.pepper.as_ref().map(|_| "<redacted>"))
            .field("log_format", &self.log_format)
            .finish()
    }
}
