//! The clock the application reads: the system's, or one a test moves forward instead of
//! sleeping (rotation grace, credit refills, expiry).

use std::sync::atomic::{AtomicI64, Ordering};

use super::{Millis, now_millis};

/// Where the application gets the time from.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Millis;
}

/// The system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        now_millis()
    }
}

/// The system's clock plus an offset that only grows: time goes on as usual, and `advance`
/// jumps ahead, so a test can pass a grace period or a refill interval without waiting for it.
#[derive(Debug, Default)]
pub struct AdvancingClock {
    ahead: AtomicI64,
}

impl AdvancingClock {
    /// Moves the clock `ms` milliseconds ahead.
    pub fn advance(&self, ms: Millis) {
        self.ahead.fetch_add(ms.max(0), Ordering::AcqRel);
    }
}

impl Clock for AdvancingClock {
    fn now(&self) -> Millis {
        now_millis() + self.ahead.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_advancing_clock_jumps_ahead_and_never_back() {
        let clock = AdvancingClock::default();
        let before = clock.now();
        clock.advance(60_000);
        clock.advance(-5_000);
        let after = clock.now();
        assert!(after - before >= 60_000 && after - before < 70_000, "{before} → {after}");
    }
}
