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
use crate::bootstrap::{Bootstrap, ensure_default_organization};
use crate::config::Config;
use crate::domain::Millis;
use crate::domain::clock::{Clock, SystemClock};
use crate::domain::key::{KeyHasher, Secret};
use crate::feed::{self, Follower};
use crate::serve::{ConnectionLimits, serve};
use crate::store::{self, Guarded, Reachability, Store};
use crate::verifier::{LEASE_IDLE_MS, Verifier};

/// How often usage held in memory is written to the store.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// How often the in-memory state of idle keys is swept (every this many flushes).
const SWEEP_EVERY_FLUSHES: u32 = 60;
/// How long a key out of the cache stays unused before its in-memory state is forgotten.
const RUNTIME_IDLE_MS: i64 = 10 * 60 * 1000;
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
        let database = store::redacted(&config.database_url);
        let direct = store::connect_with(&config.database_url, Duration::from_millis(config.lock_wait_ms))
            .await
            .with_context(|| format!("cannot open the database {database}"))?;
        // Everything but the feed's follower reaches the store through the guard the follower
        // keeps: while the database is out of reach, calls fail fast.
        let reachability = Arc::new(Reachability::default());
        let store: Arc<dyn Store> = Arc::new(Guarded::new(direct.clone(), reachability.clone()));
        let hasher = KeyHasher::new(config.pepper.as_ref().map(|p| p.as_bytes().to_vec()));
        store.pepper_check(&hasher.fingerprint()).await?;
        let bootstrap = ensure_default_organization(store.as_ref(), &hasher, admin_key).await?;
        let (verifier, seq) = Verifier::load(store.clone(), hasher, config.cache_max_age_ms).await?;
        let verifier = Arc::new(verifier);
        let follower = Arc::new(Follower::new(direct, verifier.clone(), seq, reachability));
        // A write still running near the request's deadline is answered as of unknown outcome
        // (500) rather than by the deadline's 408, which would say nothing was done.
        let request_timeout = Duration::from_millis(config.request_timeout_ms);
        let write_wait = request_timeout.saturating_sub(request_timeout / 10);
        let app = Arc::new(App::new(store, verifier.clone(), clock.clone()).with_write_wait(write_wait));
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
        Ok(Self { listener, router, bootstrap, verifier, follower, clock, auth_failures, connection_limits })
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
        let follower = tokio::spawn(self.follower.clone().run(feed::POLL_EVERY));
        let flusher =
            tokio::spawn(flush_usage(self.verifier.clone(), self.clock.clone(), self.auth_failures.clone()));
        let served =
            serve(self.listener, self.router, self.connection_limits, self.auth_failures.clone(), shutdown)
                .await;
        for task in [flusher, follower] {
            task.abort();
            // Awaited, so what the tasks hold (the store, with SQLite's lock) is dropped now.
            let _ = task.await;
        }
        if let Err(error) = self.verifier.flush(Millis::MAX).await {
            tracing::error!(%error, "the final usage flush failed");
        }
        served
    }
}

/// Writes the usage gathered in memory to the store every [`FLUSH_EVERY`], and now and then
/// forgets the in-memory state of idle keys once it is written, and the client addresses whose
/// failed-authentication budget is whole again.
async fn flush_usage(verifier: Arc<Verifier>, clock: Arc<dyn Clock>, auth_failures: Arc<AuthFailures>) {
    let mut ticks = tokio::time::interval(FLUSH_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for round in 1u32.. {
        ticks.tick().await;
        match verifier.flush(clock.now() - LEASE_IDLE_MS).await {
            Err(error) => tracing::warn!(%error, "usage flush failed; it will be retried"),
            Ok(_) if round % SWEEP_EVERY_FLUSHES == 0 => {
                auth_failures.forget_recovered();
                // A walk over every key's state (~50 ms for a million): off the async workers.
                let (sweeper, now) = (verifier.clone(), clock.now());
                match tokio::task::spawn_blocking(move || sweeper.sweep(now, RUNTIME_IDLE_MS)).await {
                    Ok(forgotten) => tracing::debug!(forgotten, "idle keys' in-memory state swept"),
                    Err(error) => tracing::error!(%error, "the sweep of idle keys failed"),
                }
            }
            Ok(_) => {}
        }
    }
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
