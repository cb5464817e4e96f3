//! The server's settings: command-line flags, each with an environment twin.

use std::fmt;
use std::net::SocketAddr;

use clap::{Parser, Subcommand, ValueEnum};

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

    /// Failed authentications one client address may make a minute (in a burst or spread out);
    /// past that it gets 429s until its budget refills. Valid keys are never counted.
    #[arg(long, env = "KEYWARD_AUTH_FAILURES_PER_MINUTE", default_value_t = 60,
          value_parser = clap::value_parser!(u32).range(1..=100_000_000))]
    pub auth_failures_per_minute: u32,

    /// The longest a request may take, reading its body included, in milliseconds (408 after).
    #[arg(long, env = "KEYWARD_REQUEST_TIMEOUT_MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    pub request_timeout_ms: u64,

    /// Requests handled at once; one more is answered 503 with `Retry-After`.
    #[arg(long, env = "KEYWARD_MAX_IN_FLIGHT", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_in_flight: u32,

    /// Open client connections at most; more wait in the listen backlog.
    #[arg(long, env = "KEYWARD_MAX_CONNECTIONS", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,

    /// How long a write waits for a lock another writer holds before it answers 503, in ms.
    #[arg(long, env = "KEYWARD_LOCK_WAIT_MS", default_value_t = 5_000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub lock_wait_ms: u64,

    /// How logs are written to stderr (`RUST_LOG` picks what is logged).
    #[arg(long, env = "KEYWARD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// What to do instead of serving: the operator's commands, run on the same database.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The operator's commands. With SQLite, stop the server first (one process holds the file);
/// with PostgreSQL, run them beside the instances: their caches take the change at once.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// List the instance's organizations, oldest first (the first administers the instance).
    Organizations,
    /// Mint a new root key for an organization and print it once: the way back into an
    /// organization that revoked or lost its keys. Start with the same KEYWARD_PEPPER as the server.
    RootKey {
        /// The organization's id (`keyward-server organizations` lists them).
        #[arg(long)]
        organization: uuid::Uuid,
    },
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
            auth_failures_per_minute: 60,
            request_timeout_ms: 30_000,
            max_in_flight: 1024,
            max_connections: 4096,
            lock_wait_ms: 5_000,
            log_format: LogFormat::Text,
            command: None,
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
            .field("auth_failures_per_minute", &self.auth_failures_per_minute)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("max_in_flight", &self.max_in_flight)
            .field("max_connections", &self.max_connections)
            .field("lock_wait_ms", &self.lock_wait_ms)
            .field("log_format", &self.log_format)
            .field("command", &self.command)
            .finish()
    }
}
