//! What an owner's keys share in memory: the rate limiter, and the credits this instance leased
//! from the owner's stored balance.
//!
//! Credits are never spent from a copy of the balance: an instance first takes a lease out of
//! the stored balance with a compare-and-swap (a share of it, see `CreditBalance::lease`), then
//! spends the lease in memory. So instances together never spend more than the balance, and a
//! crash forfeits at most the unspent lease; it never makes a spent credit spendable again. An
//! unspent lease goes back to the store once it has lain idle for a flush, and at shutdown.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use crate::domain::Millis;
use crate::domain::limits::{CreditBalance, RateLimit, RateLimitState};
use crate::domain::owner::Owner;
use crate::store::{CreditStore, CreditsSnapshot, StoreError};

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

/// The in-memory state of one owner's limits.
#[derive(Default)]
pub struct Budget {
    /// When the limiter or the lease was last used.
    last_used: AtomicI64,
    /// Whether the runtimes list it among the owners holding a lease to give back.
    pub(super) listed: AtomicBool,
    limiter: Mutex<Option<(RateLimit, Arc<Limiter>)>>,
    lease: Mutex<Option<Lease>>,
    /// One lease taken from the store at a time, per owner.
    leasing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget").field("last_used", &self.last_used).finish_non_exhaustive()
    }
}

/// Credits this instance took out of the stored balance and has not spent yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Lease {
    /// The `credits_version` of the balance it was taken from.
    pub version: i64,
    /// The start of the refill period it was taken in (the balance's `refilled_at`), and its end.
    pub period: Millis,
    pub period_end: Option<Millis>,
    pub available: i64,
    /// What the store held right after this instance's last lease.
    pub unleased: i64,
    pub last_spent: Millis,
}

impl Lease {
    /// Whether it may pay for a verification against a balance at `version` at `now`: it is of
    /// that version or a newer one, and its refill period has not ended (a refill resets the
    /// stored balance, so credits of an earlier period are gone).
    fn serves(&self, version: i64, now: Millis) -> bool {
        self.version >= version && self.period_end.is_none_or(|end| now < end)
    }

    /// What giving it back returns to the store.
    pub fn snapshot(&self) -> CreditsSnapshot {
        CreditsSnapshot { remaining: self.available, refilled_at: self.period, version: self.version }
    }
}

impl Budget {
    /// Whether forgetting this state loses nothing: no lease is held, and neither the limiter
    /// nor a lease has been used for `idle_ms`, nor within the limit's window (so the limiter
    /// is full again).
    pub(super) fn is_idle(&self, now: Millis, idle_ms: i64) -> bool {
        if self.holds_lease() {
            return false;
        }
        let window =
            self.limiter.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map_or(0, |(c, _)| c.window_ms);
        now - self.last_used.load(Ordering::Acquire) >= idle_ms.max(window)
    }

    /// Takes one verification from the owner's rate limit.
    pub fn check_rate(&self, config: RateLimit, now: Millis) -> RateLimitCheck {
        self.last_used.fetch_max(now, Ordering::AcqRel);
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

    /// Spends `cost` of the owner's credits, a balance at `version`, at `now`: from this
    /// instance's lease, taking a new one from the store when it does not cover `cost`.
    /// `Ok(Ok(remaining))` when spent, `Ok(Err(remaining))` when too few credits remain;
    /// `remaining` is this instance's view: its unspent lease and what the store held after its
    /// last lease.
    ///
    /// `leased` is called as soon as a lease is taken, before anything else is awaited, so the
    /// lease is listed for giving back even if this future is dropped (a client that went away)
    /// before it returns.
    pub async fn spend(
        &self,
        store: &dyn CreditStore,
        owner: Owner,
        version: i64,
        cost: i64,
        now: Millis,
        leased: impl Fn(),
    ) -> Result<Result<i64, i64>, StoreError> {
        self.last_used.fetch_max(now, Ordering::AcqRel);
        if let Some(remaining) = self.spend_leased(version, cost, now) {
            return Ok(Ok(remaining));
        }
        let _leasing = self.leasing.lock().await;
        for _ in 0..LEASE_ATTEMPTS {
            // Another verification may have leased while this one waited.
            if let Some(remaining) = self.spend_leased(version, cost, now) {
                return Ok(Ok(remaining));
            }
            let available = self.available(version, now);
            let Some(stored) = store.credits_get(owner).await? else {
                // The budget was removed; the change feed brings the new record at once.
                return Ok(Err(available));
            };
            let mut balance = stored.balance;
            let Some(taken) = balance.lease(cost - available, now) else {
                return Ok(Err(available + balance.credits.remaining));
            };
            if store.credits_swap(owner, &stored, &balance).await? {
                self.add_lease(stored.version, &balance, taken, now);
                leased();
            }
        }
        Err(StoreError::Contention("the credit balance kept changing under other instances"))
    }

    /// The lease held, if it is of `version`: what a record of that version adds to its stored
    /// credits.
    pub(super) fn lease_of(&self, version: i64) -> Option<Lease> {
        let lease = *self.lease.lock().unwrap_or_else(|e| e.into_inner());
        lease.filter(|lease| lease.version == version)
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
    pub(super) fn add_lease(&self, version: i64, balance: &CreditBalance, taken: i64, now: Millis) {
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

    /// Holds again a lease a flush that wrote nothing took: merged into the one held if that is of
    /// the same version and refill period, held again if none is; else forfeited (the store
    /// keeps it, as after a crash), never spent twice.
    pub(super) fn restore_lease(&self, lease: Lease) {
        let mut slot = self.lease.lock().unwrap_or_else(|e| e.into_inner());
        *slot = match *slot {
            None => Some(lease),
            Some(held) if held.version == lease.version && held.period == lease.period => {
                Some(Lease { available: held.available + lease.available, ..held })
            }
            held => held,
        };
    }

    /// Takes the lease back for returning to the store, if it has lain idle since `idle_since`.
    pub(super) fn idle_lease(&self, idle_since: Millis) -> Option<Lease> {
        let mut slot = self.lease.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some_and(|lease| lease.last_spent <= idle_since) { slot.take() } else { None }
    }

    pub(super) fn holds_lease(&self) -> bool {
        self.lease.lock().unwrap_or_else(|e| e.into_inner()).is_some()
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
        let budget = Budget::default();
        let config = RateLimit { limit: 3, window_ms: 60_000 };
        let remaining: Vec<_> =
            (0..3).map(|_| budget.check_rate(config, 0)).map(|s| (s.allowed, s.state.remaining)).collect();
        assert_eq!(remaining, vec![(true, 2), (true, 1), (true, 0)]);
        let refused = budget.check_rate(config, 0);
        assert!(!refused.allowed);
        let reset_at = refused.state.reset_at;
        assert!(reset_at > 0 && reset_at <= 20_000, "{refused:?}");
        let refilled = budget.check_rate(config, reset_at);
        assert!(refilled.allowed, "one verification's worth is back at the reset time: {refilled:?}");
        assert!(!budget.check_rate(config, reset_at).allowed, "and only one");
        assert_eq!(
            budget.check_rate(config, 60_000 + reset_at).state.remaining,
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
        let budget = Budget::default();
        let balance = CreditBalance { credits: Credits { remaining: 100, refill: None }, refilled_at: 0 };
        budget.add_lease(0, &balance, 6, 10);
        assert_eq!(budget.spend_leased(0, 4, 20), Some(102), "2 leased left, 100 unleased");
        assert_eq!(budget.spend_leased(0, 4, 20), None, "the lease does not cover 4 more");
        assert_eq!(budget.idle_lease(19), None, "spent from at 20: not idle since 19");
        let returned = budget.idle_lease(20).expect("idle since 20");
        assert_eq!(returned.available, 2);
        assert!(!budget.holds_lease());
    }
}
