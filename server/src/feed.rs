//! The change feed's follower: applies the store's change records to this instance's verifier,
//! in `seq` order, woken by the store's signal and by a poll that bounds a lost one.
//!
//! The follower keeps the verifier live only while it knows it has seen every record: when the
//! signal is lost (PostgreSQL's `LISTEN` connection dropped) or a read fails, the verifier stops
//! using its cache until the follower has subscribed again and re-read every record since the
//! last one it applied.
//!
//! Every read of the follower has a deadline ([`READ_DEADLINE`]): a database that does not answer
//! in time (stopped, or cut off by a partition that keeps the sockets open and forwards nothing)
//! is out of reach. The follower then goes dark and says so to [`Reachability`], so that every
//! other call to the store fails fast instead of waiting for it; it goes on trying, and the
//! first read that succeeds brings both back. With a poll every [`POLL_EVERY`], a lost database
//! is noticed within `POLL_EVERY + READ_DEADLINE`, 1.75 s, of the last read that succeeded: the
//! bound the documents state as two seconds, leaving room for a busy machine's scheduling.
//!
//! A writer applies its own record as soon as it commits (`crate::app`), so its instance never
//! answers from the old state after the write returns; the follower applies it again, which
//! costs that key one cache miss.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::{Reachability, Signal, Store, StoreError};
use crate::verifier::Verifier;

/// How often the store is read for records whose signal went missing.
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// How long one read of the feed (or a subscription) may take before the database is taken to
/// be out of reach.
const READ_DEADLINE: Duration = Duration::from_millis(750);
/// How long subscribing (a connection and its `LISTEN`) may take before the database is taken to
/// be out of reach: a new connection may need a handshake a read does not.
const SUBSCRIBE_DEADLINE: Duration = Duration::from_secs(3);
/// Records read at a time while catching up.
const BATCH: i64 = 1_000;
/// The wait before subscribing again after a failure.
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// Follows the change records of one store into one verifier.
pub struct Follower {
    store: Arc<dyn Store>,
    verifier: Arc<Verifier>,
    reachability: Arc<Reachability>,
    /// One catch-up at a time, so records are applied in order.
    reading: tokio::sync::Mutex<()>,
}

impl Follower {
    /// A follower that goes on from the last record the verifier's state includes; it tells
    /// `store` whether the database answers (its own reads are never held back by that).
    pub fn new(store: Arc<dyn Store>, verifier: Arc<Verifier>) -> Self {
        let reachability = store.reachability();
        Self { store, verifier, reachability, reading: tokio::sync::Mutex::new(()) }
    }

    /// `call` under `deadline`; a database that does not answer in time, or whose connection
    /// broke, is marked out of reach, and one that answers as reachable again.
    async fn timed<T>(
        &self,
        deadline: Duration,
        call: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let result = match tokio::time::timeout(deadline, call).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Unavailable(format!(
                "the database did not answer within {} ms",
                deadline.as_millis()
            ))),
        };
        match &result {
            Err(StoreError::Unavailable(_) | StoreError::Lost(_)) => self.reachability.set(false),
            // Any answer, even an error, says the database is there.
            _ => self.reachability.set(true),
        }
        result
    }

    /// The `seq` of the last record applied.
    pub fn applied(&self) -> i64 {
        self.verifier.applied()
    }

    /// Applies every record after the last one applied.
    pub async fn catch_up(&self) -> Result<i64, StoreError> {
        let _reading = self.reading.lock().await;
        let mut last = self.applied();
        loop {
            let changes = self.timed(READ_DEADLINE, self.store.changes_since(last, BATCH)).await?;
            for change in &changes {
                self.verifier.apply(change);
                last = change.seq;
            }
            self.verifier.applied_through(last);
            if (changes.len() as i64) < BATCH {
                return Ok(last);
            }
        }
    }

    /// Follows the feed until `stop`: subscribe, re-read what may have been missed, go live,
    /// then apply what each signal or poll finds; on any loss, go dark and start over.
    pub async fn run(self: Arc<Self>, poll_every: Duration, stop: CancellationToken) {
        // A read cut off by the stop changes nothing: the feed is only read.
        stop.run_until_cancelled(self.follow(poll_every)).await;
    }

    async fn follow(self: Arc<Self>, poll_every: Duration) {
        let mut first = true;
        loop {
            if !first {
                tokio::time::sleep(RETRY_AFTER).await;
            }
            first = false;
            let mut signals = match self.timed(SUBSCRIBE_DEADLINE, self.store.change_signals()).await {
                Ok(signals) => signals,
                Err(error) => {
                    self.verifier.set_live(false);
                    tracing::warn!(%error, "cannot subscribe to the change feed; verifying from the store");
                    continue;
                }
            };
            if let Err(error) = self.catch_up().await {
                self.verifier.set_live(false);
                tracing::warn!(%error, "cannot read the change feed; verifying from the store");
                continue;
            }
            if !self.verifier.is_live() {
                self.verifier.set_live(true);
                tracing::info!(seq = self.applied(), "following the change feed");
            }
            let mut poll = tokio::time::interval(poll_every);
            poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let outcome = tokio::select! {
                    signal = signals.next() => match signal {
                        Signal::Changed(seq) if seq <= self.applied() => Ok(()),
                        Signal::Changed(_) => self.catch_up().await.map(drop),
                        Signal::Lost => {
                            tracing::warn!("the change feed's signal was lost; re-reading the feed");
                            break;
                        }
                    },
                    _ = poll.tick() => self.catch_up().await.map(drop),
                };
                if let Err(error) = outcome {
                    tracing::warn!(%error, "cannot read the change feed; verifying from the store");
                    break;
                }
            }
            self.verifier.set_live(false);
        }
    }
}

impl std::fmt::Debug for Follower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follower").field("applied", &self.applied()).finish_non_exhaustive()
    }
}
