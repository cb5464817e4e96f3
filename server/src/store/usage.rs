//! Usage written behind: counts, last uses and unspent credit leases given back, as increments
//! so that instances add up. The trait, and its SQL for both databases.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use super::backend::{Backend, SqlStore, Statement};
use super::credits::balance_row;
use crate::domain::Millis;
use crate::domain::owner::Owner;

/// A key's uses gathered in memory since the last flush, written behind in batches, as
/// increments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageDelta {
    pub api_key_id: Uuid,
    pub uses: i64,
    pub last_used_at: Millis,
}

/// Leased credits left unspent, given back to their owner's balance: added only if it is still
/// of that `version` and refill period (`refilled_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReturnedLease {
    pub owner: Owner,
    pub credits: CreditsSnapshot,
}

/// Credits of a balance at a `credits_version` and refill period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditsSnapshot {
    pub remaining: i64,
    pub refilled_at: Millis,
    pub version: i64,
}

/// Usage. No change record: usage is not a change of a key's record, and no cache follows it.
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Adds usage gathered in memory, counts and last uses, and gives unspent leases back, in
    /// one transaction.
    async fn usage_record(&self, uses: &[UsageDelta], returned: &[ReturnedLease]) -> Result<(), StoreError>;
}

#[async_trait]
impl<B: Backend> UsageStore for SqlStore<B> {
    async fn usage_record(&self, uses: &[UsageDelta], returned: &[ReturnedLease]) -> Result<(), StoreError> {
        self.reachability.check()?;
        let mut tx = self.backend.pool().begin().await?;
        B::add_usage(&mut tx, uses).await?;
        for lease in returned {
            let (table, id) = balance_row(lease.owner);
            let give_back = Statement::new(format!(
                "UPDATE {table} SET credits_remaining = credits_remaining + $1 \
                 WHERE id = $2 AND credits_version = $3 AND credits_refilled_at = $4 \
                 AND credits_remaining IS NOT NULL",
            ))
            .arg(lease.credits.remaining)
            .arg(id)
            .arg(lease.credits.version)
            .arg(lease.credits.refilled_at);
            B::execute(&mut tx, give_back).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
