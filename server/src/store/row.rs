//! The rows of `api_keys` as both databases decode them, and as they are written: each column
//! beside the value it takes ([`key_columns`]), never matched by position across two lists.

use serde_json::Map;
use sqlx::types::Json;
use uuid::Uuid;

use super::backend::Value;
use super::{FoundKey, StoreError, StoredCredits};
use crate::domain::Millis;
use crate::domain::api_key::{ApiKey, KeyStatus};
use crate::domain::key::KeyDigest;
use crate::domain::limits::{CreditBalance, Credits, CreditsRefill, RateLimit};
use crate::domain::scope::Scope;

/// A column of `api_keys` and the value a key stores in it.
#[derive(Debug)]
pub struct Column {
    pub name: &'static str,
    pub value: Value,
    /// Whether a write after the insert sets it (the rest are set once, or by usage alone).
    pub written: bool,
}

/// Every column of `api_keys` with `key`'s value for it: the one list an insert and an overwrite
/// are made from.
pub fn key_columns(key: &ApiKey) -> Result<Vec<Column>, StoreError> {
    let once = |name, value: Value| Column { name, value, written: false };
    let written = |name, value: Value| Column { name, value, written: true };
    let refill = key.credits.and_then(|c| c.refill);
    Ok(vec![
        once("id", key.id.into()),
        once("organization_id", key.organization_id.into()),
        written("name", key.name.as_str().into()),
        written("description", key.description.as_deref().into()),
        once("user_id", key.user_id.as_deref().into()),
        once("customer_id", key.customer_id.as_deref().into()),
        once("billing_id", key.billing_id.as_deref().into()),
        once("prefix", key.prefix.as_str().into()),
        written("masked_key", key.masked_key.as_str().into()),
        written("status", key.status.as_str().into()),
        written("scopes", Value::json(&key.scopes)?),
        written("metadata", Value::json(&key.metadata)?),
        written("rate_limit_limit", key.rate_limit.map(|r| r.limit).into()),
        written("rate_limit_window_ms", key.rate_limit.map(|r| r.window_ms).into()),
        written("credits_remaining", key.credits.map(|c| c.remaining).into()),
        written("credits_refill_amount", refill.map(|r| r.amount).into()),
        written("credits_refill_interval_ms", refill.map(|r| r.interval_ms).into()),
        written("credits_refilled_at", key.credits_refilled_at.into()),
        written("credits_version", key.credits_version.into()),
        once("usage_count", key.usage_count.into()),
        written("revision", key.revision.into()),
        once("created_at", key.created_at.into()),
        written("updated_at", key.updated_at.into()),
        once("last_used_at", key.last_used_at.into()),
        written("expires_at", key.expires_at.into()),
        written("deleted_at", key.deleted_at.into()),
    ])
}

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
    metadata: Json<Map<String, serde_json::Value>>,
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

/// A key row with one of its secrets beside it: the key a presented secret was found for.
#[derive(Debug, sqlx::FromRow)]
pub struct FoundRow {
    #[sqlx(flatten)]
    key: KeyRow,
    secret_digest: Vec<u8>,
    secret_expires_at: Option<Millis>,
}

impl TryFrom<FoundRow> for FoundKey {
    type Error = StoreError;

    fn try_from(row: FoundRow) -> Result<Self, StoreError> {
        Ok(FoundKey {
            api_key: row.key.try_into()?,
            digest: digest(&row.secret_digest)?,
            secret_expires_at: row.secret_expires_at,
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
pub const CREDITS_COLUMNS: &str = "credits_remaining, credits_refill_amount, credits_refill_interval_ms, credits_refilled_at, credits_version";

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

pub fn split_digests(bytes: &[u8]) -> Result<Vec<KeyDigest>, StoreError> {
    if !bytes.len().is_multiple_of(32) {
        return Err(StoreError::Corrupt("a change record's digests are not 32 bytes each".into()));
    }
    bytes.chunks(32).map(digest).collect()
}
