//! Per-key limits: a rate limit, and a credit budget that verifications spend and refills restore.

use serde::{Deserialize, Serialize};

use super::Millis;

/// A key's rate limit window as a verification left it, as verdicts report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RateLimitState {
    pub limit: i32,
    /// Verifications left in the current window
    pub remaining: i32,
    /// When the next verification is allowed again (if none is left) or the window is full again
    pub reset_at: i64,
}

/// At most `limit` verifications per `window_ms`, smoothed (GCRA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub limit: i32,
    pub window_ms: i64,
}

/// Every `interval_ms`, `remaining` is set back to `amount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditsRefill {
    pub amount: i64,
    pub interval_ms: i64,
}

/// A usage budget; each verification spends its `cost`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credits {
    pub remaining: i64,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "super::non_null")]
    pub refill: Option<CreditsRefill>,
}

/// A key's credits as they stand: the budget and when it was last refilled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditBalance {
    pub credits: Credits,
    pub refilled_at: Millis,
}

/// The share of a balance one lease takes: with several instances leasing, what one of them
/// holds unspent is never more than this fraction of what was left.
pub const LEASE_SHARE: i64 = 16;
/// The most credits one lease takes, whatever the balance: what a crash can forfeit at most
/// (unless a single verification costs more).
pub const MAX_LEASE: i64 = 1_000;

/// A verification asked for more credits than remain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsufficientCredits {
    pub remaining: i64,
}

impl CreditBalance {
    /// Applies any refills due by `now`: `remaining` goes back to `amount` once per interval passed.
    pub fn refill(&mut self, now: Millis) {
        if let Some(refill) = self.credits.refill {
            let elapsed = now - self.refilled_at;
            if elapsed >= refill.interval_ms {
                let periods = elapsed / refill.interval_ms;
                self.refilled_at += periods * refill.interval_ms;
                self.credits.remaining = refill.amount;
            }
        }
    }

    /// When the refill period this balance is in ends; `None` without a refill.
    pub fn period_end(&self) -> Option<Millis> {
        self.credits.refill.map(|refill| self.refilled_at + refill.interval_ms)
    }

    /// Takes a lease for an instance to spend in memory at `now` (after any refill due): at least
    /// `need`, and more when the balance is large (a share of it, at most [`MAX_LEASE`]), so a
    /// busy key costs a store round trip per lease, not per verification. `None` (taking
    /// nothing) when fewer than `need` remain.
    pub fn lease(&mut self, need: i64, now: Millis) -> Option<i64> {
        self.refill(now);
        let remaining = self.credits.remaining;
        if need > remaining {
            return None;
        }
        let taken = (remaining / LEASE_SHARE).clamp(1, MAX_LEASE).max(need).min(remaining);
        self.credits.remaining -= taken;
        Some(taken)
    }

    /// Spends `cost` at `now` (after any refill due), never going below zero.
    pub fn spend(&mut self, cost: i64, now: Millis) -> Result<i64, InsufficientCredits> {
        self.refill(now);
        if cost > self.credits.remaining {
            return Err(InsufficientCredits { remaining: self.credits.remaining });
        }
        self.credits.remaining -= cost;
        Ok(self.credits.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn balance(remaining: i64, refill: Option<(i64, i64)>) -> CreditBalance {
        CreditBalance {
            credits: Credits {
                remaining,
                refill: refill.map(|(amount, interval_ms)| CreditsRefill { amount, interval_ms }),
            },
            refilled_at: 0,
        }
    }

    #[test]
    fn spending_never_goes_below_zero() {
        let mut b = balance(3, None);
        assert_eq!(b.spend(2, 10), Ok(1));
        assert_eq!(b.spend(2, 10), Err(InsufficientCredits { remaining: 1 }));
        assert_eq!(b.spend(1, 10), Ok(0));
        assert_eq!(b.spend(0, 10), Ok(0), "a zero-cost check passes even at zero");
        assert_eq!(b.spend(1, 10), Err(InsufficientCredits { remaining: 0 }));
    }

    #[test]
    fn a_lease_takes_a_share_at_least_what_is_needed_and_never_more_than_remains() {
        let mut b = balance(1_000, None);
        assert_eq!(b.lease(1, 0), Some(62), "a sixteenth of the balance");
        assert_eq!(b.credits.remaining, 938);
        assert_eq!(b.lease(500, 0), Some(500), "at least what one verification needs");
        let mut big = balance(1_000_000_000, None);
        assert_eq!(big.lease(1, 0), Some(MAX_LEASE), "never more than a crash may forfeit");
        let mut small = balance(3, None);
        assert_eq!(small.lease(1, 0), Some(1));
        assert_eq!(small.lease(5, 0), None, "fewer remain than needed: nothing is taken");
        assert_eq!(small.credits.remaining, 2);
        let mut refilled = balance(0, Some((32, 1_000)));
        assert_eq!(refilled.lease(1, 1_500), Some(2), "the refill due comes first");
        assert_eq!((refilled.credits.remaining, refilled.period_end()), (30, Some(2_000)));
    }

    #[test]
    fn a_refill_restores_the_amount_once_per_interval_passed() {
        let mut b = balance(0, Some((5, 1_000)));
        assert!(b.spend(1, 999).is_err());
        assert_eq!(b.spend(1, 1_000), Ok(4));
        assert_eq!(b.spend(1, 1_999), Ok(3), "no second refill within the interval");
        assert_eq!(b.spend(1, 3_500), Ok(4), "several intervals refill to the amount, not beyond");
        assert_eq!(b.refilled_at, 3_000);
    }
}
