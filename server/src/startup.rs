//! The application: store, bootstrap and router behind a bound listener, run until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use crate::api::limits::{AuthFailures, MAX_HEADER_BYTES, RequestLimits};
use crate::api::{AppState, router};
use crate::app::App;
use crate::background::tasks::feed::FeedTask;
use crate::background::tasks::usage_flush::UsageFlush;
use crate::background::{Board, Driver, Task};
use crate::bootstrap::Bootstrap;
use crate::config::Config;
use crate::domain::Millis;
use crate::domain::clock::{Clock, SystemClock};
use crate::domain::key::{KeyHasher, Secret};
use crate::feed::{self, Follower};
use crate::serve::{ConnectionLimits, serve};
use crate::store::{self, Store};
use crate::verifier::Verifier;

/// How often usage held in memory is written to the store.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// How long shutdown waits for the background tasks to finish the work in hand: past a write
/// that waits the longest `--lock-wait-ms` allows by default.
const TASKS_STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for in-flight requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A built server: its listener is bound, so `local_addr` is known before it runs.
pub struct Application {
    listener: TcpListener,
    router: Router,
    bootstrap: Bootstrap,
    verifier: Arc<Verifier>,
    follower: Arc<Follower>,
    clock: Arc<dyn Clock>,
    auth_failures: Arc<AuthFailures>,
    connection_limits: ConnectionLimits,
    /// How the background tasks are, for `/v1/ready`.
    board: Arc<Board>,
}

impl Application {
    /// Opens the store (migrating it), creates the default organization on first start, binds.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Like [`Application::build`], reading the time from `clock` (tests move it forward).
    pub async fn build_with_clock(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let admin_key = config
            .admin_key
            .as_deref()
            .map(|key| {
                Secret::parse(key.trim()).context("KEYWARD_ADMIN_KEY is not a well-formed Keyward key")
            })
            .transpose()?;
        // Bind first: a start that cannot listen must not create a root key nobody ever sees.
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let (store, hasher) = open_store(config).await?;
        let verifier = Arc::new(Verifier::load(store.clone(), hasher, config.cache_max_age_ms).await?);
        let follower = Arc::new(Follower::new(store.clone(), verifier.clone()));
        // A write still running near the request's deadline is answered as of unknown outcome
        // (500) rather than by the deadline's 408, which would say nothing was done.
        let request_timeout = Duration::from_millis(config.request_timeout_ms);
        let write_wait = request_timeout.saturating_sub(request_timeout / 10);
        let board = Arc::new(Board::default());
        let app = Arc::new(
            App::new(store, verifier.clone(), clock.clone())
                .with_write_wait(write_wait)
                .with_background(board.clone()),
        );
        let bootstrap = app.bootstrap(admin_key).await?;
        let quota =
            std::num::NonZeroU32::new(config.auth_failures_per_minute).unwrap_or(std::num::NonZeroU32::MIN);
        let auth_failures = Arc::new(AuthFailures::per_minute(quota));
        let request_limits = RequestLimits::new(
            config.max_in_flight as usize,
            Duration::from_millis(config.request_timeout_ms),
        );
        let router = router(AppState { app }, request_limits);
        let connection_limits = ConnectionLimits {
            max_connections: config.max_connections as usize,
            header_read_timeout: HEADER_READ_TIMEOUT,
            max_header_bytes: 4 * MAX_HEADER_BYTES,
            drain_timeout: DRAIN_TIMEOUT,
        };
        Ok(Self {
            listener,
            router,
            bootstrap,
            verifier,
            follower,
            clock,
            auth_failures,
            connection_limits,
            board,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// The router with every layer, to drive in-process where a socket adds nothing (fuzzing).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// What start-up did: on a fresh store, the root key to show once.
    pub fn bootstrap(&self) -> &Bootstrap {
        &self.bootstrap
    }

    /// Serves until SIGTERM or Ctrl-C, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let stop = shutdown_signal()?;
        self.run_until(stop).await
    }

    /// Serves until `shutdown` completes, then drains in-flight requests and flushes usage.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let tasks: Vec<Arc<dyn Task>> = vec![
            Arc::new(FeedTask { follower: self.follower.clone(), poll_every: feed::POLL_EVERY }),
            Arc::new(UsageFlush {
                verifier: self.verifier.clone(),
                clock: self.clock.clone(),
                auth_failures: self.auth_failures.clone(),
                every: FLUSH_EVERY,
            }),
        ];
        let driver = Driver::start(self.board.clone(), tasks);
        let served =
            serve(self.listener, self.router, self.connection_limits, self.auth_failures.clone(), shutdown)
                .await;
        // Each task finishes the work in hand (a flush waiting on the store writes its counts)
        // and lets go of what it holds (the store, with SQLite's lock).
        driver.stop(TASKS_STOP_TIMEOUT).await;
        if let Err(error) = self.verifier.flush(Millis::MAX).await {
            tracing::error!(%error, "the final usage flush failed");
        }
        served
    }
}

/// Opens and migrates the configured store and checks that it was made with the configured
/// pepper, whose hasher it returns: what the server and the operator's commands start from.
pub async fn open_store(config: &Config) -> anyhow::Result<(Arc<dyn Store>, KeyHasher)> {
    let database = store::redacted(&config.database_url);
    let store = store::connect_with(&config.database_url, Duration::from_millis(config.lock_wait_ms))
        .await
        .with_context(|| format!("cannot open the database {database}"))?;
    let hasher = KeyHasher::new(config.pepper.as_ref().map(|p| p.as_bytes().to_vec()));
    store.pepper_check(&hasher.fingerprint()).await?;
    Ok((store, hasher))
}

/// A future that completes on SIGTERM or Ctrl-C; the handlers are installed when this is called,
/// so a signal that arrives before serving starts is not lost.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let (mut terminate, mut interrupt) = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::terminate())?, signal(SignalKind::interrupt())?)
    };
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: draining in-flight requests");
    })
}
