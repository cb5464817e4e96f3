//! The row types both stores decode, and the encoding of a change record's digests.

use serde_json::{Map, Value};
use sqlx::types::Json;
use uuid::Uuid;

use super::{ChangeKind, FoundKey, KeyChange, StoreError, StoredCredits};
use crate::domain::Millis;
use crate::domain::api_key::{ApiKey, KeyStatus};
use crate::domain::key::KeyDigest;
use crate::domain::limits::{CreditBalance, Credits, CreditsRefill, RateLimit};
use crate::domain::scope::Scope;

/// The columns of `api_keys`, in the order the stores bind them on insert.
macro_rules! key_columns {
    () => {
        "id, organization_id, name, description, user_id, customer_id, billing_id, prefix, \
         masked_key, status, scopes, metadata, rate_limit_limit, rate_limit_window_ms, \
         credits_remaining, credits_refill_amount, credits_refill_interval_ms, credits_refilled_at, \
         credits_version, usage_count, revision, created_at, updated_at, last_used_at, \
         expires_at, deleted_at"
    };
}
pub(crate) use key_columns;

/// The columns of `key_changes`.
macro_rules! change_columns {
    () => {
        "seq, organization_id, api_key_id, kind, digests, at"
    };
}
pub(crate) use change_columns;

/// A row of `api_keys` as either database returns it.
#[derive(Debug, sqlx::FromRow)]
pub struct KeyRow {
    id: Uuid,
    organization_id: Uuid,
    name: String,
    description: Option<String>,
    user_id: Option<String>,
    customer_id: Option<String>,
    billing_id: Option<String>,
    prefix: String,
    masked_key: String,
    status: String,
    scopes: Json<Vec<Scope>>,
    metadata: Json<Map<String, Value>>,
    rate_limit_limit: Option<i32>,
    rate_limit_window_ms: Option<i64>,
    credits_remaining: Option<i64>,
    credits_refill_amount: Option<i64>,
    credits_refill_interval_ms: Option<i64>,
    credits_refilled_at: i64,
    credits_version: i64,
    usage_count: i64,
    revision: i64,
    created_at: i64,
    updated_at: i64,
    last_used_at: Option<i64>,
    expires_at: Option<i64>,
    deleted_at: Option<i64>,
}

impl TryFrom<KeyRow> for ApiKey {
    type Error = StoreError;

    fn try_from(row: KeyRow) -> Result<Self, StoreError> {
        let rate_limit = match (row.rate_limit_limit, row.rate_limit_window_ms) {
            (Some(limit), Some(window_ms)) => Some(RateLimit { limit, window_ms }),
            _ => None,
        };
        let refill = refill(row.credits_refill_amount, row.credits_refill_interval_ms);
        let status = KeyStatus::parse(&row.status)
            .ok_or_else(|| StoreError::Corrupt(format!("status {:?}", row.status)))?;
        Ok(ApiKey {
            id: row.id,
            organization_id: row.organization_id,
            name: row.name,
            description: row.description,
            user_id: row.user_id,
            customer_id: row.customer_id,
            billing_id: row.billing_id,
            prefix: row.prefix,
            masked_key: row.masked_key,
            status,
            scopes: row.scopes.0,
            metadata: row.metadata.0,
            rate_limit,
            credits: row.credits_remaining.map(|remaining| Credits { remaining, refill }),
            credits_refilled_at: row.credits_refilled_at,
            credits_version: row.credits_version,
            usage_count: row.usage_count,
            revision: row.revision,
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
            deleted_at: row.deleted_at,
        })
    }
}

impl FoundKey {
    /// A key row with the found secret's `secret_digest` and `secret_expires_at` beside it.
    pub fn from_row<'r, R: sqlx::Row>(row: &'r R) -> Result<Self, StoreError>
    where
        KeyRow: sqlx::FromRow<'r, R>,
        &'r str: sqlx::ColumnIndex<R>,
        Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        Option<Millis>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    {
        let key = <KeyRow as sqlx::FromRow<'r, R>>::from_row(row)?;
        let found: Vec<u8> = row.try_get("secret_digest")?;
        Ok(FoundKey {
            api_key: key.try_into()?,
            digest: digest(&found)?,
            secret_expires_at: row.try_get("secret_expires_at")?,
        })
    }
}

/// The credit columns of a row of `api_keys`.
#[derive(Debug, sqlx::FromRow)]
pub struct CreditsRow {
    credits_remaining: Option<i64>,
    credits_refill_amount: Option<i64>,
    credits_refill_interval_ms: Option<i64>,
    credits_refilled_at: i64,
    credits_version: i64,
}

/// The columns `CreditsRow` reads.
macro_rules! credits_columns {
    () => {
        "credits_remaining, credits_refill_amount, credits_refill_interval_ms, credits_refilled_at, \
         credits_version"
    };
}
pub(crate) use credits_columns;

impl CreditsRow {
    /// The stored balance, if the key has a budget.
    pub fn stored(self) -> Option<StoredCredits> {
        let refill = refill(self.credits_refill_amount, self.credits_refill_interval_ms);
        self.credits_remaining.map(|remaining| StoredCredits {
            balance: CreditBalance {
                credits: Credits { remaining, refill },
                refilled_at: self.credits_refilled_at,
            },
            version: self.credits_version,
        })
    }
}

/// A row of `key_changes`.
#[derive(Debug, sqlx::FromRow)]
pub struct ChangeRow {
    seq: i64,
    organization_id: Uuid,
    api_key_id: Uuid,
    kind: String,
    digests: Vec<u8>,
    at: Millis,
}

impl TryFrom<ChangeRow> for KeyChange {
    type Error = StoreError;

    fn try_from(row: ChangeRow) -> Result<Self, StoreError> {
        let kind = ChangeKind::parse(&row.kind)
            .ok_or_else(|| StoreError::Corrupt(format!("change kind {:?}", row.kind)))?;
        Ok(KeyChange {
            seq: row.seq,
            organization_id: row.organization_id,
            api_key_id: row.api_key_id,
            kind,
            digests: split_digests(&row.digests)?,
            at: row.at,
        })
    }
}

/// A change record about to be stored (its `seq` comes from the database).
#[derive(Debug, Clone)]
pub struct NewChange {
    pub organization_id: Uuid,
    pub api_key_id: Uuid,
    pub kind: ChangeKind,
    pub digests: Vec<u8>,
    pub at: Millis,
}

impl NewChange {
    pub fn new(key: &ApiKey, kind: ChangeKind, digests: &[&KeyDigest], at: Millis) -> Self {
        Self {
            organization_id: key.organization_id,
            api_key_id: key.id,
            kind,
            digests: digests.iter().flat_map(|d| d.0).collect(),
            at,
        }
    }

    pub fn stored(self, seq: i64) -> Result<KeyChange, StoreError> {
        Ok(KeyChange {
            seq,
            organization_id: self.organization_id,
            api_key_id: self.api_key_id,
            kind: self.kind,
            digests: split_digests(&self.digests)?,
            at: self.at,
        })
    }
}

/// A refill from its two columns, stored together or not at all.
fn refill(amount: Option<i64>, interval_ms: Option<i64>) -> Option<CreditsRefill> {
    Some(CreditsRefill { amount: amount?, interval_ms: interval_ms? })
}

/// A stored digest as the domain's type.
pub fn digest(bytes: &[u8]) -> Result<KeyDigest, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(KeyDigest)
        .map_err(|_| StoreError::Corrupt("a key digest is not 32 bytes".into()))
}

fn split_digests(bytes: &[u8]) -> Result<Vec<KeyDigest>, StoreError> {
    if !bytes.len().is_multiple_of(32) {
        return Err(StoreError::Corrupt("a change record's digests are not 32 bytes each".into()));
    }
    bytes.chunks(32).map(digest).collect()
}
