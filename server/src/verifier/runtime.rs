//! What Keyward keeps in memory per key: uses and last use between flushes (written behind, as
//! increments), the rate limiter, and the credits this instance leased from the store.
//!
//! Credits are never spent from a copy of the balance: an instance first takes a lease out of
//! the stored balance with a compare-and-swap (a share of it, see `CreditBalance::lease`), then
//! spends the lease in memory. So instances together never spend more than the balance, and a
//! crash forfeits at most the unspent lease; it never makes a spent credit spendable again. An
//! unspent lease goes back to the store once it has lain idle for a flush, and at shutdown.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashmap::DashMap;
use governor::clock::Clock;
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use uuid::Uuid;

use super::FastHash;
use crate::domain::Millis;
use crate::domain::api_key::ApiKey;
use crate::domain::limits::{CreditBalance, Credits, RateLimit, RateLimitState};
use crate::store::{CreditStore, CreditsSnapshot, StoreError, UsageDelta};

/// How many times a lease is tried when other instances' leases keep changing the balance.
const LEASE_ATTEMPTS: usize = 64;
/// How long an unspent lease lies idle before it goes back to the store.
pub const LEASE_IDLE_MS: i64 = 1_000;

type Limiter = RateLimiter<NotKeyed, InMemoryState, VerifyTime, StateInformationMiddleware>;

/// A rate limiter's clock: the application's time as the verifies that check the limit read it
/// (so the injected clock moves windows too, and tests never sleep through one), in
/// milliseconds, never going backwards.
#[derive(Debug, Clone, Default)]
struct VerifyTime(Arc<AtomicI64>);

impl Clock for VerifyTime {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_millis(self.0.load(Ordering::Acquire).max(0).unsigned_abs())
    }
}

/// A rate limit check: whether it passed, and the window as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitCheck {
    pub allowed: bool,
    pub state: RateLimitState,
}

/// The in-memory state of one key.
#[derive(Default)]
pub struct KeyRuntime {
    uses: AtomicI64,
    /// Uses this instance has written to the store, in all.
    flushed: AtomicI64,
    last_used: AtomicI64,
    dirty: AtomicBool,
    /// Moves on whenever the key changes in the store; a cached record of an older one is stale.
    generation: AtomicU64,
    limiter: Mutex<Option<(RateLimit, Arc<Limiter>)>>,
    lease: Mutex<Option<Lease>>,
    /// One lease taken from the store at a time, per key.
    leasing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for KeyRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRuntime")
            .field("uses", &self.uses)
            .field("last_used", &self.last_used)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// Credits this instance took out of the stored balance and has not spent yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lease {
    /// The `credits_version` of the balance it was taken from.
    version: i64,
    /// The start of the refill period it was taken in (the balance's `refilled_at`), and its end.
    period: Millis,
    period_end: Option<Millis>,
    available: i64,
    /// What the store held right after this instance's last lease.
    unleased: i64,
    last_spent: Millis,
}

impl Lease {
    /// Whether it may pay for a verification of a key at `version` at `now`: it is of that
    /// version or a newer one, and its refill period has not ended (a refill resets the stored
    /// balance, so credits of an earlier period are gone).
    fn serves(&self, version: i64, now: Millis) -> bool {
        self.version >= version && self.period_end.is_none_or(|end| now < end)
    }
}

impl KeyRuntime {
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn next_generation(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether forgetting this state loses nothing: everything is flushed, the key has not been
    /// used for `idle_ms`, nor within its rate limit's window (so its limiter is full again).
    fn is_idle(&self, now: Millis, idle_ms: i64) -> bool {
        if self.dirty.load(Ordering::Acquire) {
            return false;
        }
        let window =
            self.limiter.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map_or(0, |(c, _)| c.window_ms);
        now - self.last_used.load(Ordering::Acquire) >= idle_ms.max(window)
    }

    /// Takes one verification from the key's rate limit.
    pub fn check_rate(&self, config: RateLimit, now: Millis) -> RateLimitCheck {
        let limiter = {
            let mut slot = self.limiter.lock().unwrap_or_else(|e| e.into_inner());
            match slot.as_ref() {
                Some((held, limiter)) if *held == config => limiter.clone(),
                _ => {
                    let limiter = Arc::new(new_limiter(config));
                    *slot = Some((config, limiter.clone()));
                    limiter
                }
            }
        };
        let period = period(config);
        limiter.clock().0.fetch_max(now, Ordering::AcqRel);
        match limiter.check() {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let refill = period.saturating_mul(config.limit.unsigned_abs() - remaining);
                let state = RateLimitState {
                    limit: config.limit,
                    remaining: i32::try_from(remaining).unwrap_or(i32::MAX),
                    reset_at: now + millis_ceil(refill),
                };
                RateLimitCheck { allowed: true, state }
            }
            Err(not_until) => {
                let state = RateLimitState {
                    limit: config.limit,
                    remaining: 0,
                    reset_at: now + millis_ceil(not_until.wait_time_from(limiter.clock().now())),
                };
                RateLimitCheck { allowed: false, state }
            }
        }
    }

    /// Uses this instance has written to the store, in all.
    pub fn flushed(&self) -> i64 {
        self.flushed.load(Ordering::Acquire)
    }

    /// The key's usage and credits: the record's, read when this instance had written
    /// `flushed_at_load` of its uses, with this instance's uses since added.
    pub fn usage(&self, key: &ApiKey, flushed_at_load: i64) -> KeyUsage {
        let mut usage = KeyUsage::stored(key);
        usage.usage_count += self.uses.load(Ordering::Acquire) + self.flushed() - flushed_at_load;
        let last_used = self.last_used.load(Ordering::Acquire);
        if last_used > 0 {
            usage.last_used_at = Some(usage.last_used_at.map_or(last_used, |at| at.max(last_used)));
        }
        let lease = *self.lease.lock().unwrap_or_else(|e| e.into_inner());
        if let (Some(lease), Some(credits)) = (lease, usage.credits.as_mut())
            && lease.version == key.credits_version
        {
            // Both only go down within a version and period: the smaller is the fresher.
            credits.remaining = credits.remaining.min(lease.unleased) + lease.available;
        }
        usage
    }

    /// Spends `cost` of the key's credits at `now`: from this instance's lease, taking a new one
    /// from the store when it does not cover `cost`. `Ok(Ok(remaining))` when spent,
    /// `Ok(Err(remaining))` when too few credits remain; `remaining` is this instance's view:
    /// its unspent lease and what the store held after its last lease.
    pub async fn spend(
        &self,
        store: &dyn CreditStore,
        key: &ApiKey,
        cost: i64,
        now: Millis,
    ) -> Result<Result<i64, i64>, StoreError> {
        if let Some(remaining) = self.spend_leased(key.credits_version, cost, now) {
            return Ok(Ok(remaining));
        }
        let _leasing = self.leasing.lock().await;
        for _ in 0..LEASE_ATTEMPTS {
            // Another verification may have leased while this one waited.
            if let Some(remaining) = self.spend_leased(key.credits_version, cost, now) {
                return Ok(Ok(remaining));
            }
            let available = self.available(key.credits_version, now);
            let Some(stored) = store.credits_get(key.id).await? else {
                // The budget was removed; the change feed brings the new record at once.
                return Ok(Err(available));
            };
            let mut balance = stored.balance;
            let Some(taken) = balance.lease(cost - available, now) else {
                return Ok(Err(available + balance.credits.remaining));
            };
            if store.credits_swap(key.id, &stored, &balance).await? {
                self.add_lease(stored.version, &balance, taken, now);
            }
        }
        Err(StoreError::Contention("the credit balance kept changing under other instances"))
    }

    /// Spends from the lease held, if it serves and covers `cost`.
    fn spend_leased(&self, version: i64, cost: i64, now: Millis) -> Option<i64> {
        let mut slot = self.lease.lock().unwrap_or_else(|e| e.into_inner());
        let lease = slot.as_mut().filter(|lease| lease.serves(version, now))?;
        if lease.available < cost {
            return None;
        }
        lease.available -= cost;
        lease.last_spent = now;
        Some(lease.available + lease.unleased)
    }

    /// The unspent credits of a lease that serves, dropping one that no longer does.
    fn available(&self, version: i64, now: Millis) -> i64 {
        let mut slot = self.lease.lock().unwrap_or_else(|e| e.into_inner());
        match *slot {
            Some(lease) if lease.serves(version, now) => lease.available,
            _ => {
                *slot = None;
                0
            }
        }
    }

    /// Adds `taken` credits, just leased from `balance` (as now stored), to the lease held.
    fn add_lease(&self, version: i64, balance: &CreditBalance, taken: i64, now: Millis) {
        let mut slot = self.lease.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = Lease {
            version,
            period: balance.refilled_at,
            period_end: balance.period_end(),
            available: taken,
            unleased: balance.credits.remaining,
            last_spent: now,
        };
        *slot = Some(match *slot {
            Some(held) if held.version == version && held.period == fresh.period => {
                Lease { available: held.available + taken, ..fresh }
            }
            _ => fresh,
        });
    }

    /// Takes the lease back for returning to the store, if it has lain idle since `idle_since`.
    fn idle_lease(&self, idle_since: Millis) -> Option<Lease> {
        let mut slot = self.lease.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some_and(|lease| lease.last_spent <= idle_since) { slot.take() } else { None }
    }

    fn holds_lease(&self) -> bool {
        self.lease.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }
}

/// Every key's runtime, and which have changed since the last flush.
#[derive(Default)]
pub struct Runtimes {
    entries: DashMap<Uuid, Arc<KeyRuntime>, FastHash>,
    dirty: Mutex<Vec<Uuid>>,
}

impl Runtimes {
    pub fn get(&self, id: Uuid) -> Arc<KeyRuntime> {
        if let Some(runtime) = self.entries.get(&id) {
            return runtime.clone();
        }
        self.entries.entry(id).or_default().clone()
    }

    /// Forgets the state of keys idle for `idle_ms` (see [`KeyRuntime::is_idle`]) that nothing
    /// else holds: a key in the verifier's cache holds its runtime, so only keys out of it go,
    /// and their next use starts from the store, where everything was flushed.
    /// Returns how many were forgotten.
    pub fn sweep(&self, now: Millis, idle_ms: i64) -> usize {
        let before = self.entries.len();
        // `retain` checks each entry under its shard's write lock, and `get` clones under the
        // read lock, so no runtime gains a holder between the check and the removal.
        self.entries.retain(|_, runtime| Arc::strong_count(runtime) > 1 || !runtime.is_idle(now, idle_ms));
        before.saturating_sub(self.entries.len())
    }

    /// The key's runtime, if it has one yet.
    pub fn existing(&self, id: Uuid) -> Option<Arc<KeyRuntime>> {
        self.entries.get(&id).map(|runtime| runtime.clone())
    }

    /// Counts one use at `now`.
    pub fn touch(&self, runtime: &KeyRuntime, id: Uuid, now: Millis) {
        runtime.uses.fetch_add(1, Ordering::AcqRel);
        runtime.last_used.fetch_max(now, Ordering::AcqRel);
        self.mark(runtime, id);
    }

    fn mark(&self, runtime: &KeyRuntime, id: Uuid) {
        if !runtime.dirty.swap(true, Ordering::AcqRel) {
            self.dirty.lock().unwrap_or_else(|e| e.into_inner()).push(id);
        }
    }

    /// Takes what changed since the last drain, and the leases unspent since `idle_since`
    /// (every lease, at shutdown). A key whose lease is kept stays marked, so a later drain
    /// returns it once it lies idle.
    pub fn drain(&self, idle_since: Millis) -> Vec<UsageDelta> {
        let ids = std::mem::take(&mut *self.dirty.lock().unwrap_or_else(|e| e.into_inner()));
        ids.into_iter()
            .filter_map(|id| {
                let runtime = self.entries.get(&id)?.clone();
                runtime.dirty.store(false, Ordering::Release);
                let uses = runtime.uses.swap(0, Ordering::AcqRel);
                let last_used_at = runtime.last_used.load(Ordering::Acquire);
                let returned = runtime.idle_lease(idle_since).map(|lease| CreditsSnapshot {
                    remaining: lease.available,
                    refilled_at: lease.period,
                    version: lease.version,
                });
                if runtime.holds_lease() {
                    self.mark(&runtime, id);
                }
                // A key kept marked only for its lease has nothing to write until it is returned.
                (uses > 0 || returned.is_some()).then_some(UsageDelta {
                    api_key_id: id,
                    uses,
                    last_used_at,
                    returned,
                })
            })
            .collect()
    }

    /// Counts what a flush wrote as written.
    pub fn written(&self, deltas: &[UsageDelta]) {
        for delta in deltas {
            if let Some(runtime) = self.entries.get(&delta.api_key_id) {
                runtime.flushed.fetch_add(delta.uses, Ordering::AcqRel);
            }
        }
    }

    /// Puts back what a failed flush took, so the next one writes it; a lease it was to return
    /// is forfeited (the store keeps it, as after a crash), never spent twice.
    pub fn restore(&self, deltas: &[UsageDelta]) {
        for delta in deltas {
            let runtime = self.get(delta.api_key_id);
            runtime.uses.fetch_add(delta.uses, Ordering::AcqRel);
            self.mark(&runtime, delta.api_key_id);
        }
    }

    /// A stored key's usage and credits with what is held in memory added.
    pub fn usage_of(&self, key: &ApiKey) -> KeyUsage {
        match self.entries.get(&key.id).map(|r| r.clone()) {
            Some(runtime) => runtime.usage(key, runtime.flushed()),
            None => KeyUsage::stored(key),
        }
    }
}

/// What a key's record says of its use once the in-memory part is added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUsage {
    pub usage_count: i64,
    pub last_used_at: Option<Millis>,
    pub credits: Option<Credits>,
}

impl KeyUsage {
    /// The usage as the store holds it, nothing in memory added.
    pub fn stored(key: &ApiKey) -> Self {
        Self { usage_count: key.usage_count, last_used_at: key.last_used_at, credits: key.credits }
    }

    /// Writes the usage into the key's record.
    pub fn apply(self, key: &mut ApiKey) {
        key.usage_count = self.usage_count;
        key.last_used_at = self.last_used_at;
        key.credits = self.credits;
    }
}

/// The time one verification's worth of the limit takes to come back.
fn period(config: RateLimit) -> Duration {
    let window = Duration::from_millis(config.window_ms.unsigned_abs());
    (window / config.limit.unsigned_abs().max(1)).max(Duration::from_nanos(1))
}

fn new_limiter(config: RateLimit) -> Limiter {
    let burst = NonZeroU32::new(config.limit.unsigned_abs()).unwrap_or(NonZeroU32::MIN);
    let quota = Quota::with_period(period(config)).expect("a period of at least 1ns").allow_burst(burst);
    RateLimiter::direct_with_clock(quota, VerifyTime::default())
        .with_middleware::<StateInformationMiddleware>()
}

fn millis_ceil(d: Duration) -> Millis {
    i64::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::limits::Credits;

    #[test]
    fn a_rate_limit_allows_its_burst_then_refuses_with_a_reset_time() {
        let runtime = KeyRuntime::default();
        let config = RateLimit { limit: 3, window_ms: 60_000 };
        let remaining: Vec<_> =
            (0..3).map(|_| runtime.check_rate(config, 0)).map(|s| (s.allowed, s.state.remaining)).collect();
        assert_eq!(remaining, vec![(true, 2), (true, 1), (true, 0)]);
        let refused = runtime.check_rate(config, 0);
        assert!(!refused.allowed);
        let reset_at = refused.state.reset_at;
        assert!(reset_at > 0 && reset_at <= 20_000, "{refused:?}");
        let refilled = runtime.check_rate(config, reset_at);
        assert!(refilled.allowed, "one verification's worth is back at the reset time: {refilled:?}");
        assert!(!runtime.check_rate(config, reset_at).allowed, "and only one");
        assert_eq!(
            runtime.check_rate(config, 60_000 + reset_at).state.remaining,
            2,
            "the window is whole again"
        );
    }

    #[test]
    fn a_lease_serves_its_version_and_newer_records_until_its_refill_period_ends() {
        let lease = Lease {
            version: 2,
            period: 1_000,
            period_end: Some(2_000),
            available: 5,
            unleased: 50,
            last_spent: 1_000,
        };
        assert!(lease.serves(2, 1_999));
        assert!(lease.serves(1, 1_500), "a record older than the lease is still being replaced");
        assert!(!lease.serves(3, 1_500), "credits set anew: the lease is of the old budget");
        assert!(!lease.serves(2, 2_000), "a refill reset the stored balance");
        assert!(Lease { period_end: None, ..lease }.serves(2, i64::MAX));
    }

    #[test]
    fn spending_takes_from_the_lease_and_an_idle_lease_is_given_back_once() {
        let runtime = KeyRuntime::default();
        let balance = CreditBalance { credits: Credits { remaining: 100, refill: None }, refilled_at: 0 };
        runtime.add_lease(0, &balance, 6, 10);
        assert_eq!(runtime.spend_leased(0, 4, 20), Some(102), "2 leased left, 100 unleased");
        assert_eq!(runtime.spend_leased(0, 4, 20), None, "the lease does not cover 4 more");
        assert_eq!(runtime.idle_lease(19), None, "spent from at 20: not idle since 19");
        let returned = runtime.idle_lease(20).expect("idle since 20");
        assert_eq!(returned.available, 2);
        assert!(!runtime.holds_lease());
    }

    #[test]
    fn a_sweep_forgets_only_idle_flushed_unheld_runtimes() {
        let runtimes = Runtimes::default();
        let [idle, dirty, held, limited] = [(); 4].map(|()| Uuid::now_v7());
        for id in [idle, dirty, held, limited] {
            let runtime = runtimes.get(id);
            runtimes.touch(&runtime, id, 1_000);
        }
        let limit = RateLimit { limit: 3, window_ms: 60_000 };
        runtimes.get(limited).check_rate(limit, 1_000);
        runtimes.drain(Millis::MAX);
        runtimes.touch(&runtimes.get(dirty), dirty, 1_000);
        let holder = runtimes.get(held);

        assert_eq!(runtimes.sweep(1_500, 1_000), 0, "nothing has been idle for a second yet");
        assert_eq!(runtimes.sweep(2_000, 1_000), 1);
        assert!(runtimes.existing(idle).is_none());
        for kept in [dirty, held, limited] {
            assert!(runtimes.existing(kept).is_some(), "unflushed, held or within its window");
        }
        drop(holder);
        assert_eq!(runtimes.sweep(61_000, 1_000), 2, "the held one, and the limited one after its window");
        assert!(runtimes.existing(dirty).is_some());
    }

    #[test]
    fn draining_takes_each_change_once() {
        let runtimes = Runtimes::default();
        let id = Uuid::now_v7();
        let runtime = runtimes.get(id);
        runtimes.touch(&runtime, id, 10);
        runtimes.touch(&runtime, id, 20);
        let drained = runtimes.drain(Millis::MAX);
        assert_eq!(drained, vec![UsageDelta { api_key_id: id, uses: 2, last_used_at: 20, returned: None }]);
        assert!(runtimes.drain(Millis::MAX).is_empty());
        runtimes.restore(&drained);
        assert_eq!(runtimes.drain(Millis::MAX)[0].uses, 2);
    }
}
