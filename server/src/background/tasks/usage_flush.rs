//! The task that writes the usage gathered in memory to the store every second, and now and then
//! forgets what idle keys and recovered client addresses hold in memory.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::api::limits::AuthFailures;
use crate::background::{Task, TaskFuture};
use crate::domain::clock::Clock;
use crate::verifier::{LEASE_IDLE_MS, Verifier};

/// How often the in-memory state of idle keys is swept (every this many flushes).
const SWEEP_EVERY_FLUSHES: u32 = 60;
/// How long a key out of the cache stays unused before its in-memory state is forgotten.
const RUNTIME_IDLE_MS: i64 = 10 * 60 * 1000;

/// Writes usage behind every `every`.
pub struct UsageFlush {
    pub verifier: Arc<Verifier>,
    pub clock: Arc<dyn Clock>,
    pub auth_failures: Arc<AuthFailures>,
    pub every: Duration,
}

impl Task for UsageFlush {
    fn name(&self) -> &'static str {
        "usage_flush"
    }

    fn run(&self, stop: CancellationToken) -> TaskFuture {
        let (verifier, clock, auth_failures, every) =
            (self.verifier.clone(), self.clock.clone(), self.auth_failures.clone(), self.every);
        Box::pin(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for round in 1u32.. {
                // The stop is heeded here, between flushes: a flush under way, which has taken
                // the counts out of memory, always gets to write them or put them back.
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = ticks.tick() => {}
                }
                match verifier.flush(clock.now() - LEASE_IDLE_MS).await {
                    Err(error) => tracing::warn!(%error, "usage flush failed; it will be retried"),
                    Ok(_) if round % SWEEP_EVERY_FLUSHES == 0 => {
                        auth_failures.forget_recovered();
                        // A walk over every key's state (~50 ms for a million): off the workers.
                        let (sweeper, now) = (verifier.clone(), clock.now());
                        match tokio::task::spawn_blocking(move || sweeper.sweep(now, RUNTIME_IDLE_MS)).await {
                            Ok(forgotten) => tracing::debug!(forgotten, "idle keys' in-memory state swept"),
                            Err(error) => tracing::error!(%error, "the sweep of idle keys failed"),
                        }
                    }
                    Ok(_) => {}
                }
            }
        })
    }
}
