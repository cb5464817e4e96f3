//! The application layer between HTTP and the store: every change goes through here. A write
//! is checked, committed with its change record, and applied to this instance's verifier, in a
//! task of its own that the request awaits: a client that disconnects cannot cancel it halfway.

mod api_keys;
mod organizations;
mod pages;
mod verification;

use std::future::Future;
use std::sync::Arc;

use crate::background::Board;
use crate::domain::Millis;
use crate::domain::clock::Clock;
use crate::domain::key::KeyHasher;
use crate::domain::validation::FieldError;
use crate::store::{Change, Store, StoreError};
use crate::verifier::Verifier;

pub use api_keys::{KeyFilter, Precondition};
pub use pages::{Page, PageRequest};
pub use verification::Refusal;

/// How long a request that names a change (its consistency token) waits for this instance to
/// apply it: past a lost signal, the follower's poll reads it within a second.
const CONSISTENCY_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// How many requests with a key this instance does not know may wait for their token at once.
const UNKNOWN_WAITS: usize = 16;

/// How long readiness waits for the store to answer.
const READY_DEADLINE: std::time::Duration = std::time::Duration::from_millis(500);

/// How often a write is retried when another writer changed the key in between.
const WRITE_ATTEMPTS: usize = 8;

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("verifier", &self.verifier).finish_non_exhaustive()
    }
}

/// A kind of record an operation names, and may not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    ApiKey,
    Organization,
}

impl Resource {
    /// What a person calls it.
    pub fn name(self) -> &'static str {
        match self {
            Resource::ApiKey => "API key",
            Resource::Organization => "organization",
        }
    }
}

/// What went wrong in an operation; it knows nothing of HTTP.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The record the operation names does not exist (for the caller).
    #[error("no such {}", .0.name())]
    NotFound(Resource),
    #[error("the input is invalid")]
    Invalid(Vec<FieldError>),
    #[error("the record is at revision {current}, not the one expected")]
    RevisionMismatch { current: i64 },
    #[error("the key was revoked and cannot change")]
    Revoked,
    /// A presented key does not authenticate its caller.
    #[error("the presented key does not authenticate: {0:?}")]
    Unauthenticated(Refusal),
    /// The change would leave the organization without a usable key that can manage keys.
    #[error("the change would leave the organization without a key that can manage keys")]
    LastManager,
    /// The store is busy (concurrent writers, a lock held too long): trying again may succeed.
    #[error("the store is busy: {0}")]
    Contention(&'static str),
    /// The store refused a value the checks let through: the request's fault, never retried.
    #[error("the store refused a value: {0}")]
    Rejected(String),
    /// The store cannot be reached now (a read cut off, or a call refused before it began).
    #[error("the store cannot be reached: {0}")]
    Unavailable(String),
    /// The connection to the store broke during a call of a write.
    #[error("the connection to the store was lost: {0}")]
    Lost(String),
    /// A write's connection broke: it may or may not have been made.
    #[error("the write's outcome is unknown: {0}")]
    OutcomeUnknown(String),
    /// This instance has not applied, within [`CONSISTENCY_WAIT`], a change a request names.
    #[error("this instance has not applied change {0} yet")]
    Behind(i64),
    /// A request names a change the store never made.
    #[error("no change {0} was ever made")]
    UnknownChange(i64),
    #[error("the operation's task failed: {0}")]
    Aborted(String),
    #[error(transparent)]
    Store(StoreError),
}

impl AppError {
    /// The error of a store call that reads a `resource` by its id: a missing record is named.
    fn reading(resource: Resource) -> impl FnOnce(StoreError) -> AppError {
        move |error| match error {
            StoreError::NotFound => AppError::NotFound(resource),
            other => other.into(),
        }
    }
}

/// A store's `NotFound` becomes this layer's only where the call that met it names its resource
/// ([`AppError::reading`]); one that reaches this conversion is unexpected, a fault of ours
/// rather than a missing record of a kind the caller never asked for.
impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Contention(why) => AppError::Contention(why),
            StoreError::Rejected(why) => AppError::Rejected(why),
            StoreError::LastManager => AppError::LastManager,
            StoreError::Unavailable(why) => AppError::Unavailable(why),
            StoreError::Lost(why) => AppError::Lost(why),
            other => AppError::Store(other),
        }
    }
}

/// What a write returns, with the `seq` of the change record it committed: its consistency token.
/// A write that changed nothing has the newest record's `seq` at the time it read instead, so
/// whatever it showed is in every state at least that fresh.
#[derive(Debug)]
pub struct Written<T> {
    pub value: T,
    pub seq: i64,
}

/// The operations of the API, over one store and this instance's verifier.
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    verifier: Arc<Verifier>,
    clock: Arc<dyn Clock>,
    /// Places for requests whose key is unknown to wait for their consistency token.
    unknown_waits: Arc<tokio::sync::Semaphore>,
    /// How long a request waits for its write's task before it answers that the outcome is not
    /// known yet (the task goes on): short of the request's own deadline, whose 408 would say
    /// the request was never acted on.
    write_wait: Option<std::time::Duration>,
    /// How the background tasks are, when this instance runs them.
    background: Option<Arc<Board>>,
    /// The scope queries verifications sent lately, parsed (`verification.rs`).
    scope_queries: verification::ScopeQueries,
}

impl App {
    pub fn new(store: Arc<dyn Store>, verifier: Arc<Verifier>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            verifier,
            clock,
            unknown_waits: Arc::new(tokio::sync::Semaphore::new(UNKNOWN_WAITS)),
            write_wait: None,
            background: None,
            scope_queries: verification::ScopeQueries::default(),
        }
    }

    /// The same, telling readiness how the background tasks on `board` are.
    pub fn with_background(mut self, board: Arc<Board>) -> Self {
        self.background = Some(board);
        self
    }

    /// The same, answering a write still running after `wait` as one whose outcome is unknown.
    pub fn with_write_wait(mut self, wait: std::time::Duration) -> Self {
        self.write_wait = Some(wait);
        self
    }

    /// The time, by the application's clock.
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    pub fn hasher(&self) -> &KeyHasher {
        self.verifier.hasher()
    }

    /// Whether this instance should get traffic: the store answers and the change feed is live.
    pub async fn ready(&self) -> Result<(), String> {
        match tokio::time::timeout(READY_DEADLINE, self.store.ping()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("the store does not answer: {e}")),
            Err(_) => {
                return Err(format!("the store did not answer within {} ms", READY_DEADLINE.as_millis()));
            }
        }
        if let Some(problem) = self.background.as_ref().and_then(|board| board.problems().into_iter().next())
        {
            return Err(problem);
        }
        if !self.verifier.is_live() {
            return Err("the change feed is not followed yet (starting, or re-reading after a lost \
                        connection)"
                .to_owned());
        }
        Ok(())
    }

    /// Waits until this instance has applied every change up to `seq` (a consistency token from
    /// a write's answer), so that what it answers next is at least that fresh: at once if it has
    /// (or if its cache is off, every read going to the store); an error at once if the store
    /// holds no such change; else for at most [`CONSISTENCY_WAIT`].
    pub async fn caught_up_to(&self, seq: i64) -> Result<(), AppError> {
        if !self.is_behind(seq) {
            return Ok(());
        }
        if seq > self.store.last_change().await? {
            return Err(AppError::UnknownChange(seq));
        }
        if self.verifier.reach(seq, CONSISTENCY_WAIT).await { Ok(()) } else { Err(AppError::Behind(seq)) }
    }

    /// Whether this instance's cache may not reflect change `seq` yet (while it is off, every
    /// read goes to the store, which does).
    pub fn is_behind(&self, seq: i64) -> bool {
        self.verifier.applied() < seq && self.verifier.is_live()
    }

    /// Waits at most [`CONSISTENCY_WAIT`] for this instance to apply change `seq`, asking the
    /// store nothing: for a caller not yet known to be anyone. At most [`UNKNOWN_WAITS`] such
    /// callers wait at once; past them, one does not wait, so made-up keys with made-up tokens
    /// cannot hold the requests in flight.
    pub async fn wait_for(&self, seq: i64) {
        if let Ok(_place) = self.unknown_waits.try_acquire() {
            self.verifier.reach(seq, CONSISTENCY_WAIT).await;
        }
    }

    /// Runs a write to its end in a task of its own, whether or not the request that asked for
    /// it is still there to see the answer.
    async fn detached<T: Send + 'static>(
        &self,
        write: impl Future<Output = Result<T, AppError>> + Send + 'static,
    ) -> Result<T, AppError> {
        let task = tokio::spawn(write);
        let joined = match self.write_wait {
            Some(wait) => tokio::time::timeout(wait, task).await.map_err(|_| {
                AppError::OutcomeUnknown(format!("the write was still running after {} ms", wait.as_millis()))
            })?,
            None => task.await,
        };
        let outcome = joined.map_err(|e| AppError::Aborted(e.to_string()))?;
        outcome.map_err(|error| match error {
            // Whether the write committed is unknown: the answer must not invite a retry that
            // would make it twice.
            AppError::Lost(why) => AppError::OutcomeUnknown(why),
            other => other,
        })
    }

    /// What follows a commit: this instance's caches take the change at once.
    fn committed(&self, change: &Change) {
        self.verifier.apply(change);
    }

    /// What follows a commit of several changes; the newest one's `seq`.
    fn committed_all(&self, changes: &[Change]) -> i64 {
        changes.iter().for_each(|change| self.committed(change));
        changes.iter().map(|change| change.seq).max().unwrap_or_default()
    }
}
