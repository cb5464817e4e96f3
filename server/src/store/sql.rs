//! The statements both stores build the same way, generic over the database: the rows of a key
//! insert (keys, secrets, change records), the conditional overwrite of a key, a key listing's
//! filters, and the query for an organization's other keys that can manage keys.

use serde_json::{Map, Value};
use sqlx::types::Json;
use sqlx::{Database, Encode, QueryBuilder, Type};
use uuid::Uuid;

use super::ListQuery;
use super::row::{NewChange, key_columns};
use crate::domain::api_key::{ApiKey, IssuedKey};
use crate::domain::scope::Scope;

/// The scopes of the keys of an organization (`$1`) other than one (`$2`) that are not revoked, are
/// enabled, do not expire until after `$3` (`i64::MAX`: never expire), and hold some scope on
/// `api_keys`: those that may manage keys, as `can_manage_keys` then tells.
pub const OTHER_KEY_MANAGERS: &str = "SELECT scopes FROM api_keys \
     WHERE organization_id = $1 AND id <> $2 AND deleted_at IS NULL AND status = 'enabled' \
     AND (expires_at IS NULL OR expires_at > $3) AND CAST(scopes AS TEXT) LIKE '%\"api_keys\"%'";

/// `INSERT INTO api_keys … VALUES …` for `keys`.
pub fn insert_keys<'a, DB: Database>(keys: &'a [IssuedKey]) -> QueryBuilder<DB>
where
    Uuid: Encode<'a, DB> + Type<DB>,
    &'a str: Encode<'a, DB> + Type<DB>,
    Option<&'a str>: Encode<'a, DB> + Type<DB>,
    Json<&'a Vec<Scope>>: Encode<'a, DB> + Type<DB>,
    Json<&'a Map<String, Value>>: Encode<'a, DB> + Type<DB>,
    Option<i32>: Encode<'a, DB> + Type<DB>,
    Option<i64>: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let mut sql = QueryBuilder::new(concat!("INSERT INTO api_keys (", key_columns!(), ") "));
    sql.push_values(keys, |mut row, issued| {
        let key = &issued.api_key;
        let refill = key.credits.and_then(|c| c.refill);
        row.push_bind(key.id)
            .push_bind(key.organization_id)
            .push_bind(key.name.as_str())
            .push_bind(key.description.as_deref())
            .push_bind(key.user_id.as_deref())
            .push_bind(key.customer_id.as_deref())
            .push_bind(key.billing_id.as_deref())
            .push_bind(key.prefix.as_str())
            .push_bind(key.masked_key.as_str())
            .push_bind(key.status.as_str())
            .push_bind(Json(&key.scopes))
            .push_bind(Json(&key.metadata))
            .push_bind(key.rate_limit.map(|r| r.limit))
            .push_bind(key.rate_limit.map(|r| r.window_ms))
            .push_bind(key.credits.map(|c| c.remaining))
            .push_bind(refill.map(|r| r.amount))
            .push_bind(refill.map(|r| r.interval_ms))
            .push_bind(key.credits_refilled_at)
            .push_bind(key.credits_version)
            .push_bind(key.usage_count)
            .push_bind(key.revision)
            .push_bind(key.created_at)
            .push_bind(key.updated_at)
            .push_bind(key.last_used_at)
            .push_bind(key.expires_at)
            .push_bind(key.deleted_at);
    });
    sql
}

/// `INSERT INTO api_key_secrets … VALUES …`: each key's first secret.
pub fn insert_secrets<'a, DB: Database>(keys: &'a [IssuedKey]) -> QueryBuilder<DB>
where
    &'a [u8]: Encode<'a, DB> + Type<DB>,
    Uuid: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
    Option<i64>: Encode<'a, DB> + Type<DB>,
{
    let mut sql =
        QueryBuilder::new("INSERT INTO api_key_secrets (digest, api_key_id, created_at, expires_at) ");
    sql.push_values(keys, |mut row, issued| {
        row.push_bind(&issued.digest.0[..])
            .push_bind(issued.api_key.id)
            .push_bind(issued.api_key.created_at)
            .push_bind(None::<i64>);
    });
    sql
}

/// `INSERT INTO key_changes … VALUES … RETURNING seq`.
pub fn insert_changes<'a, DB: Database>(changes: &'a [NewChange]) -> QueryBuilder<DB>
where
    Uuid: Encode<'a, DB> + Type<DB>,
    &'a str: Encode<'a, DB> + Type<DB>,
    &'a [u8]: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let mut sql =
        QueryBuilder::new("INSERT INTO key_changes (organization_id, api_key_id, kind, digests, at) ");
    sql.push_values(changes, |mut row, change| {
        row.push_bind(change.organization_id)
            .push_bind(change.api_key_id)
            .push_bind(change.kind.as_str())
            .push_bind(change.digests.as_slice())
            .push_bind(change.at);
    });
    sql.push(" RETURNING seq");
    sql
}

/// `UPDATE api_keys SET …` of every column a write may change, if the stored key is still at
/// revision `expected` and not revoked.
pub fn overwrite_key<'a, DB: Database>(key: &'a ApiKey, expected: i64) -> QueryBuilder<DB>
where
    Uuid: Encode<'a, DB> + Type<DB>,
    &'a str: Encode<'a, DB> + Type<DB>,
    Option<&'a str>: Encode<'a, DB> + Type<DB>,
    Json<&'a Vec<Scope>>: Encode<'a, DB> + Type<DB>,
    Json<&'a Map<String, Value>>: Encode<'a, DB> + Type<DB>,
    Option<i32>: Encode<'a, DB> + Type<DB>,
    Option<i64>: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let refill = key.credits.and_then(|c| c.refill);
    let mut sql = QueryBuilder::new("UPDATE api_keys SET ");
    let mut set = sql.separated(", ");
    set.push("name = ").push_bind_unseparated(key.name.as_str());
    set.push("description = ").push_bind_unseparated(key.description.as_deref());
    set.push("status = ").push_bind_unseparated(key.status.as_str());
    set.push("scopes = ").push_bind_unseparated(Json(&key.scopes));
    set.push("expires_at = ").push_bind_unseparated(key.expires_at);
    set.push("metadata = ").push_bind_unseparated(Json(&key.metadata));
    set.push("rate_limit_limit = ").push_bind_unseparated(key.rate_limit.map(|r| r.limit));
    set.push("rate_limit_window_ms = ").push_bind_unseparated(key.rate_limit.map(|r| r.window_ms));
    set.push("credits_remaining = ").push_bind_unseparated(key.credits.map(|c| c.remaining));
    set.push("credits_refill_amount = ").push_bind_unseparated(refill.map(|r| r.amount));
    set.push("credits_refill_interval_ms = ").push_bind_unseparated(refill.map(|r| r.interval_ms));
    set.push("credits_refilled_at = ").push_bind_unseparated(key.credits_refilled_at);
    set.push("credits_version = ").push_bind_unseparated(key.credits_version);
    set.push("masked_key = ").push_bind_unseparated(key.masked_key.as_str());
    set.push("revision = ").push_bind_unseparated(key.revision);
    set.push("updated_at = ").push_bind_unseparated(key.updated_at);
    set.push("deleted_at = ").push_bind_unseparated(key.deleted_at);
    sql.push(" WHERE organization_id = ").push_bind(key.organization_id);
    sql.push(" AND id = ").push_bind(key.id);
    sql.push(" AND revision = ").push_bind(expected);
    sql.push(" AND deleted_at IS NULL");
    sql
}

/// One page of an organization's keys, newest first, with the query's filters.
pub fn list_keys<'a, DB: Database>(organization_id: Uuid, query: &'a ListQuery) -> QueryBuilder<DB>
where
    Uuid: Encode<'a, DB> + Type<DB>,
    &'a str: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let mut sql =
        QueryBuilder::new(concat!("SELECT ", key_columns!(), " FROM api_keys WHERE organization_id = "));
    sql.push_bind(organization_id);
    if let Some(user_id) = &query.user_id {
        sql.push(" AND user_id = ").push_bind(user_id.as_str());
    }
    if let Some(customer_id) = &query.customer_id {
        sql.push(" AND customer_id = ").push_bind(customer_id.as_str());
    }
    if let Some(status) = query.status {
        sql.push(" AND status = ").push_bind(status.as_str());
    }
    if !query.include_deleted {
        sql.push(" AND deleted_at IS NULL");
    }
    if let Some(before) = query.before {
        sql.push(" AND id < ").push_bind(before);
    }
    sql.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(query.limit));
    sql
}
