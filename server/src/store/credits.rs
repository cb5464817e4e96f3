//! Credit balances, an owner's each, taken out in leases by compare-and-swap: the trait, and its
//! SQL for both databases.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use super::backend::{Backend, SqlStore, Statement};
use super::row::{CREDITS_COLUMNS, CreditsRow};
use crate::domain::limits::CreditBalance;
use crate::domain::owner::Owner;

/// An owner's credit balance as stored, with the version of the budget it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredCredits {
    pub balance: CreditBalance,
    pub version: i64,
}

/// Credit balances. A lease is no change of its owner's record: it leaves no change record.
#[async_trait]
pub trait CreditStore: Send + Sync {
    /// The owner's stored credit balance; `None` when it has no budget.
    async fn credits_get(&self, owner: Owner) -> Result<Option<StoredCredits>, StoreError>;
    /// Stores `new` as the owner's balance if it is still exactly `old` (compare and swap): how
    /// instances take leases without ever taking the same credits twice.
    async fn credits_swap(
        &self,
        owner: Owner,
        old: &StoredCredits,
        new: &CreditBalance,
    ) -> Result<bool, StoreError>;
}

/// The table whose row holds an owner's balance, and the row's id. Every table that holds one
/// names its columns alike (`CREDITS_COLUMNS`).
pub(super) fn balance_row(owner: Owner) -> (&'static str, Uuid) {
    match owner {
        Owner::ApiKey(id) => ("api_keys", id),
    }
}

#[async_trait]
impl<B: Backend> CreditStore for SqlStore<B> {
    async fn credits_get(&self, owner: Owner) -> Result<Option<StoredCredits>, StoreError> {
        let (table, id) = balance_row(owner);
        let query = Statement::new(format!("SELECT {CREDITS_COLUMNS} FROM {table} WHERE id = $1")).arg(id);
        let row: Option<CreditsRow> = self.optional(query).await?;
        Ok(row.and_then(CreditsRow::stored))
    }

    async fn credits_swap(
        &self,
        owner: Owner,
        old: &StoredCredits,
        new: &CreditBalance,
    ) -> Result<bool, StoreError> {
        let (table, id) = balance_row(owner);
        let swap = Statement::new(format!(
            "UPDATE {table} SET credits_remaining = $1, credits_refilled_at = $2 \
             WHERE id = $3 AND credits_version = $4 AND credits_remaining = $5 AND credits_refilled_at = $6",
        ))
        .arg(new.credits.remaining)
        .arg(new.refilled_at)
        .arg(id)
        .arg(old.version)
        .arg(old.balance.credits.remaining)
        .arg(old.balance.refilled_at);
        Ok(self.execute(swap).await? == 1)
    }
}
