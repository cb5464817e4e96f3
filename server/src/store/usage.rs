//! Usage written behind: counts, last uses and unspent credit leases given back, as increments
//! so that instances add up. The trait, and its SQL for both databases.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use super::backend::{Backend, SqlStore, Statement};
use crate::domain::Millis;

/// Usage gathered in memory since the last flush, written behind in batches, as increments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageDelta {
    pub api_key_id: Uuid,
    pub uses: i64,
    pub last_used_at: Millis,
    /// Leased credits left unspent, given back: added to the balance only if it is still of
    /// that `version` and refill period (`refilled_at`).
    pub returned: Option<CreditsSnapshot>,
}

/// Credits of a key at a `credits_version` and refill period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditsSnapshot {
    pub remaining: i64,
    pub refilled_at: Millis,
    pub version: i64,
}

/// Usage. No change record: usage is not a change of a key's record, and no cache follows it.
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Adds usage gathered in memory: counts, last use, and unspent leases given back.
    async fn usage_record(&self, deltas: &[UsageDelta]) -> Result<(), StoreError>;
}

#[async_trait]
impl<B: Backend> UsageStore for SqlStore<B> {
    async fn usage_record(&self, deltas: &[UsageDelta]) -> Result<(), StoreError> {
        self.reachability.check()?;
        let mut tx = self.backend.pool().begin().await?;
        B::add_usage(&mut tx, deltas).await?;
        for delta in deltas {
            if let Some(returned) = delta.returned {
                let give_back = Statement::new(
                    "UPDATE api_keys SET credits_remaining = credits_remaining + $1 \
                     WHERE id = $2 AND credits_version = $3 AND credits_refilled_at = $4 \
                     AND credits_remaining IS NOT NULL",
                )
                .arg(returned.remaining)
                .arg(delta.api_key_id)
                .arg(returned.version)
                .arg(returned.refilled_at);
                B::execute(&mut tx, give_back).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
