//! What Keyward keeps in memory per key between flushes: uses, last use, the rate limiter and
//! the credit balance; drained to the store in batches (write-behind).

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use uuid::Uuid;

use super::FastHash;
use crate::domain::Millis;
use crate::domain::api_key::ApiKey;
use crate::domain::limits::{CreditBalance, Credits, RateLimit};
use crate::store::{CreditsSnapshot, UsageDelta};

type Limiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// A rate limit check: whether it passed, and the window as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitState {
    pub allowed: bool,
    pub limit: i32,
    pub remaining: i32,
    pub reset_at: Millis,
}

/// The in-memory state of one key.
#[derive(Default)]
pub struct KeyRuntime {
    uses: AtomicI64,
    last_used: AtomicI64,
    dirty: AtomicBool,
    /// Moves on whenever the key changes in the store; a cached record of an older one is stale.
    generation: AtomicU64,
    limiter: Mutex<Option<(RateLimit, Arc<Limiter>)>>,
    credits: Mutex<Option<CreditRuntime>>,
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

/// A credit balance spent in memory, tied to the `credits_version` it was loaded at.
#[derive(Debug, Clone, Copy)]
struct CreditRuntime {
    version: i64,
    balance: CreditBalance,
    changed: bool,
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
    pub fn check_rate(&self, config: RateLimit, now: Millis) -> RateLimitState {
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
        match limiter.check() {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let refill = period.saturating_mul(config.limit.unsigned_abs() - remaining);
                RateLimitState {
                    allowed: true,
                    limit: config.limit,
                    remaining: i32::try_from(remaining).unwrap_or(i32::MAX),
                    reset_at: now + millis_ceil(refill),
                }
            }
            Err(not_until) => RateLimitState {
                allowed: false,
                limit: config.limit,
                remaining: 0,
                reset_at: now + millis_ceil(not_until.wait_time_from(limiter.clock().now())),
            },
        }
    }

    /// The key's stored usage and credits with this in-memory part added.
    pub fn usage(&self, key: &ApiKey) -> KeyUsage {
        let mut usage = KeyUsage::stored(key);
        usage.usage_count += self.uses.load(Ordering::Acquire);
        let last_used = self.last_used.load(Ordering::Acquire);
        if last_used > 0 {
            usage.last_used_at = Some(usage.last_used_at.map_or(last_used, |at| at.max(last_used)));
        }
        let held = *self.credits.lock().unwrap_or_else(|e| e.into_inner());
        if let (Some(held), Some(credits)) = (held, usage.credits.as_mut())
            && held.version == key.credits_version
        {
            credits.remaining = held.balance.credits.remaining;
        }
        usage
    }

    /// Spends `cost` credits: the in-memory balance unless the credits were set since (a new
    /// `version`), in which case the stored `balance` is taken afresh.
    pub fn spend(&self, balance: CreditBalance, version: i64, cost: i64, now: Millis) -> Result<i64, i64> {
        let mut slot = self.credits.lock().unwrap_or_else(|e| e.into_inner());
        let held = match slot.as_mut() {
            Some(held) if held.version >= version => held,
            _ => slot.insert(CreditRuntime { version, balance, changed: false }),
        };
        let before = held.balance;
        let outcome = held.balance.spend(cost, now).map_err(|e| e.remaining);
        if held.balance != before {
            held.changed = true;
        }
        outcome
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

    /// Takes what changed since the last drain.
    pub fn drain(&self) -> Vec<UsageDelta> {
        let ids = std::mem::take(&mut *self.dirty.lock().unwrap_or_else(|e| e.into_inner()));
        ids.into_iter()
            .filter_map(|id| {
                let runtime = self.entries.get(&id)?.clone();
                runtime.dirty.store(false, Ordering::Release);
                let uses = runtime.uses.swap(0, Ordering::AcqRel);
                let last_used_at = runtime.last_used.load(Ordering::Acquire);
                let credits = {
                    let mut slot = runtime.credits.lock().unwrap_or_else(|e| e.into_inner());
                    slot.as_mut().filter(|c| c.changed).map(|c| {
                        c.changed = false;
                        CreditsSnapshot {
                            remaining: c.balance.credits.remaining,
                            refilled_at: c.balance.refilled_at,
                            version: c.version,
                        }
                    })
                };
                Some(UsageDelta { api_key_id: id, uses, last_used_at, credits })
            })
            .collect()
    }

    /// Puts back what a failed flush took, so the next one writes it.
    pub fn restore(&self, deltas: &[UsageDelta]) {
        for delta in deltas {
            let runtime = self.get(delta.api_key_id);
            runtime.uses.fetch_add(delta.uses, Ordering::AcqRel);
            if delta.credits.is_some()
                && let Some(held) = runtime.credits.lock().unwrap_or_else(|e| e.into_inner()).as_mut()
            {
                held.changed = true;
            }
            self.mark(&runtime, delta.api_key_id);
        }
    }

    /// A stored key's usage and credits with what is held in memory added.
    pub fn usage_of(&self, key: &ApiKey) -> KeyUsage {
        match self.entries.get(&key.id).map(|r| r.clone()) {
            Some(runtime) => runtime.usage(key),
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
    RateLimiter::direct(quota).with_middleware::<StateInformationMiddleware>()
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
            (0..3).map(|_| runtime.check_rate(config, 0)).map(|s| (s.allowed, s.remaining)).collect();
        assert_eq!(remaining, vec![(true, 2), (true, 1), (true, 0)]);
        let refused = runtime.check_rate(config, 0);
        assert!(!refused.allowed);
        assert!(refused.reset_at > 0 && refused.reset_at <= 20_000, "{refused:?}");
    }

    #[test]
    fn credits_set_anew_replace_the_balance_held_in_memory() {
        let runtime = KeyRuntime::default();
        let balance =
            |remaining| CreditBalance { credits: Credits { remaining, refill: None }, refilled_at: 0 };
        assert_eq!(runtime.spend(balance(5), 0, 2, 0), Ok(3));
        assert_eq!(runtime.spend(balance(5), 0, 2, 0), Ok(1), "the stale stored balance is ignored");
        assert_eq!(runtime.spend(balance(10), 1, 2, 0), Ok(8), "a new version starts from the store");
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
        runtimes.drain();
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
        let drained = runtimes.drain();
        assert_eq!(drained, vec![UsageDelta { api_key_id: id, uses: 2, last_used_at: 20, credits: None }]);
        assert!(runtimes.drain().is_empty());
        runtimes.restore(&drained);
        assert_eq!(runtimes.drain()[0].uses, 2);
    }
}
