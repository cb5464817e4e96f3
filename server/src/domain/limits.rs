//! Per-key limits: a rate limit, and a credit budget that verifications spend and refills restore.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Millis;

/// At most `limit` verifications per `window_ms`, smoothed (GCRA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub limit: i32,
    #[schema(minimum = 1, maximum = 86_400_000)]
    pub window_ms: i64,
}

/// Every `interval_ms`, `remaining` is set back to `amount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditsRefill {
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount: i64,
    #[schema(minimum = 1000, maximum = 31_622_400_000_i64)]
    pub interval_ms: i64,
}

/// A usage budget; each verification spends its `cost`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credits {
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub remaining: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub refill: Option<CreditsRefill>,
}

/// A key's credits as they stand: the budget and when it was last refilled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditBalance {
    pub credits: Credits,
    pub refilled_at: Millis,
}

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
    fn a_refill_restores_the_amount_once_per_interval_passed() {
        let mut b = balance(0, Some((5, 1_000)));
        assert!(b.spend(1, 999).is_err());
        assert_eq!(b.spend(1, 1_000), Ok(4));
        assert_eq!(b.spend(1, 1_999), Ok(3), "no second refill within the interval");
        assert_eq!(b.spend(1, 3_500), Ok(4), "several intervals refill to the amount, not beyond");
        assert_eq!(b.refilled_at, 3_000);
    }
}
