//! API keys and their secrets' digests: the trait, and its SQL for both databases.

use async_trait::async_trait;
use sqlx::types::Json;
use uuid::Uuid;

use super::StoreError;
use super::backend::{Backend, SqlStore, Statement, Value};
use super::changes::{Change, ChangeKind, ChangeNote, Entity, NewChange};
use super::row::{FoundRow, KeyRow, digest, key_columns};
use super::write::Write;
use crate::domain::Millis;
use crate::domain::actor::Actor;
use crate::domain::api_key::{ApiKey, IssuedKey, KeyStatus};
use crate::domain::key::KeyDigest;
use crate::domain::scope::{Scope, can_manage_keys};

/// Keys inserted by one statement of a batch insert (26 values each, under SQLite's 32,766 and
/// PostgreSQL's 65,535 bound values).
const INSERT_CHUNK: usize = 1_000;

/// A key found by the digest of a presented secret.
#[derive(Debug, Clone)]
pub struct FoundKey {
    pub api_key: ApiKey,
    pub digest: KeyDigest,
    /// When this secret stops working (after a rotation's grace period); `None` for the current one.
    pub secret_expires_at: Option<Millis>,
}

impl FoundKey {
    /// Every entity the record was built from: a change to any of them makes it stale.
    pub fn entities(&self) -> Vec<Entity> {
        vec![Entity::ApiKey(self.api_key.id)]
    }
}

/// One page of a key listing, newest first.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub user_id: Option<String>,
    pub customer_id: Option<String>,
    pub status: Option<KeyStatus>,
    pub include_deleted: bool,
    /// Only keys older than this one (the cursor).
    pub before: Option<Uuid>,
    pub limit: u32,
}

/// API keys. Storage only: the checks and decisions around a write (preconditions, patches,
/// retries) are the application layer's.
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    async fn api_key_insert(&self, key: &IssuedKey, actor: Actor) -> Result<Change, StoreError>;
    /// Stores many keys in one transaction (imports, benchmarks), a change record each.
    async fn api_key_insert_batch(&self, keys: &[IssuedKey], actor: Actor) -> Result<(), StoreError>;
    async fn api_key_get(&self, organization_id: Uuid, id: Uuid) -> Result<ApiKey, StoreError>;
    async fn api_key_list(&self, organization_id: Uuid, query: &ListQuery)
    -> Result<Vec<ApiKey>, StoreError>;
    /// Writes `key` over the stored record if that is still at revision `expected` and not
    /// revoked, with a change record saying `note`; `None` when it was not. With `keep_manager`
    /// at a time, the write is refused ([`StoreError::LastManager`]) unless another key of the
    /// organization can manage keys and works past that time (`Millis::MAX`: never expires); of
    /// such writes racing on one organization, the check and the write of each are one step, so
    /// two cannot each leave the other last.
    async fn api_key_write(
        &self,
        key: &ApiKey,
        expected: i64,
        note: &ChangeNote,
        keep_manager: Option<Millis>,
    ) -> Result<Option<Change>, StoreError>;
    /// Like `api_key_write`, and gives the key a new current secret; its older secrets stop
    /// working at `grace_until` at the latest.
    async fn api_key_rotate(
        &self,
        key: &ApiKey,
        expected: i64,
        new_digest: &KeyDigest,
        grace_until: Millis,
        note: &ChangeNote,
    ) -> Result<Option<Change>, StoreError>;
}

/// Keys found by their secrets: what verifying needs of them.
#[async_trait]
pub trait KeyLookup: Send + Sync {
    /// The digest of every stored secret, current or rotated.
    async fn secret_digests(&self) -> Result<Vec<KeyDigest>, StoreError>;
    /// The key one of whose secrets has this digest, in any organization.
    async fn api_key_by_digest(&self, digest: &KeyDigest) -> Result<Option<FoundKey>, StoreError>;
}

#[async_trait]
impl<B: Backend> KeyLookup for SqlStore<B> {
    async fn secret_digests(&self) -> Result<Vec<KeyDigest>, StoreError> {
        let rows: Vec<(Vec<u8>,)> = self.all(Statement::new("SELECT digest FROM api_key_secrets")).await?;
        rows.iter().map(|(d,)| digest(d)).collect()
    }

    async fn api_key_by_digest(&self, wanted: &KeyDigest) -> Result<Option<FoundKey>, StoreError> {
        let query = Statement::new(
            "SELECT api_keys.*, s.digest AS secret_digest, s.expires_at AS secret_expires_at \
             FROM api_key_secrets s JOIN api_keys ON api_keys.id = s.api_key_id WHERE s.digest = $1",
        )
        .arg(&wanted.0[..]);
        let row: Option<FoundRow> = self.optional(query).await?;
        row.map(FoundKey::try_from).transpose()
    }
}

#[async_trait]
impl<B: Backend> ApiKeyStore for SqlStore<B> {
    async fn api_key_insert(&self, key: &IssuedKey, actor: Actor) -> Result<Change, StoreError> {
        let mut write = self.write().await?;
        let mut changes = insert_keys(&mut write, std::slice::from_ref(key), actor).await?;
        write.commit().await?;
        changes.pop().ok_or_else(|| StoreError::Corrupt("a key was stored without its change".into()))
    }

    async fn api_key_insert_batch(&self, keys: &[IssuedKey], actor: Actor) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut write = self.write().await?;
        insert_keys(&mut write, keys, actor).await?;
        write.commit().await?;
        Ok(())
    }

    async fn api_key_get(&self, organization_id: Uuid, id: Uuid) -> Result<ApiKey, StoreError> {
        let query = Statement::new("SELECT * FROM api_keys WHERE organization_id = $1 AND id = $2")
            .arg(organization_id)
            .arg(id);
        self.one::<KeyRow>(query).await?.try_into()
    }

    async fn api_key_list(
        &self,
        organization_id: Uuid,
        query: &ListQuery,
    ) -> Result<Vec<ApiKey>, StoreError> {
        let mut sql = Statement::new("SELECT * FROM api_keys WHERE organization_id = ");
        sql.bind(organization_id);
        if let Some(user_id) = &query.user_id {
            sql.push(" AND user_id = ").bind(user_id.as_str());
        }
        if let Some(customer_id) = &query.customer_id {
            sql.push(" AND customer_id = ").bind(customer_id.as_str());
        }
        if let Some(status) = query.status {
            sql.push(" AND status = ").bind(status.as_str());
        }
        if !query.include_deleted {
            sql.push(" AND deleted_at IS NULL");
        }
        if let Some(before) = query.before {
            sql.push(" AND id < ").bind(before);
        }
        sql.push(" ORDER BY id DESC LIMIT ").bind(i64::from(query.limit));
        let rows: Vec<KeyRow> = self.all(sql).await?;
        rows.into_iter().map(ApiKey::try_from).collect()
    }

    async fn api_key_write(
        &self,
        key: &ApiKey,
        expected: i64,
        note: &ChangeNote,
        keep_manager: Option<Millis>,
    ) -> Result<Option<Change>, StoreError> {
        let mut write = self.write().await?;
        if keep_manager.is_some() {
            // Guarded writes on one organization take their turns: each one's check sees the
            // last one's write.
            B::lock_organization(write.conn(), key.organization_id).await?;
        }
        if !overwrite(&mut write, key, expected).await? {
            return Ok(None);
        }
        if let Some(until) = keep_manager
            && !another_manager(&mut write, key, until).await?
        {
            return Err(StoreError::LastManager);
        }
        let change = write.record_one(key_change(key, note.clone(), Vec::new())).await?;
        write.commit().await?;
        Ok(Some(change))
    }

    async fn api_key_rotate(
        &self,
        key: &ApiKey,
        expected: i64,
        new_digest: &KeyDigest,
        grace_until: Millis,
        note: &ChangeNote,
    ) -> Result<Option<Change>, StoreError> {
        let mut write = self.write().await?;
        if !overwrite(&mut write, key, expected).await? {
            return Ok(None);
        }
        let old: Vec<(Vec<u8>,)> = B::fetch_all(
            write.conn(),
            Statement::new("SELECT digest FROM api_key_secrets WHERE api_key_id = $1").arg(key.id),
        )
        .await?;
        write
            .execute(
                Statement::new(
                    "UPDATE api_key_secrets SET expires_at = \
                     CASE WHEN expires_at IS NULL OR expires_at > $1 THEN $1 ELSE expires_at END \
                     WHERE api_key_id = $2",
                )
                .arg(grace_until)
                .arg(key.id),
            )
            .await?;
        write
            .execute(
                Statement::new(
                    "INSERT INTO api_key_secrets (digest, api_key_id, created_at, expires_at) \
                     VALUES ($1, $2, $3, NULL)",
                )
                .arg(&new_digest.0[..])
                .arg(key.id)
                .arg(key.updated_at),
            )
            .await?;
        let mut digests = vec![new_digest.clone()];
        for (old,) in &old {
            digests.push(digest(old)?);
        }
        let change = write.record_one(key_change(key, note.clone(), digests)).await?;
        write.commit().await?;
        Ok(Some(change))
    }
}

/// The change record of a write to `key`.
fn key_change(key: &ApiKey, note: ChangeNote, digests: Vec<KeyDigest>) -> NewChange {
    NewChange {
        organization_id: key.organization_id,
        entity: Entity::ApiKey(key.id),
        note,
        digests,
        at: key.updated_at,
    }
}

/// Inserts keys and their first secrets with multi-row statements, and a change record each.
async fn insert_keys<B: Backend>(
    write: &mut Write<'_, B>,
    keys: &[IssuedKey],
    actor: Actor,
) -> Result<Vec<Change>, StoreError> {
    let mut changes = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(INSERT_CHUNK) {
        let records = insert_key_rows(write, chunk, actor).await?;
        changes.extend(write.record(records).await?);
    }
    Ok(changes)
}

/// Inserts keys (at most [`INSERT_CHUNK`]) and their first secrets; the change records the
/// write owes for them, for the caller to record.
pub(super) async fn insert_key_rows<B: Backend>(
    write: &mut Write<'_, B>,
    keys: &[IssuedKey],
    actor: Actor,
) -> Result<Vec<NewChange>, StoreError> {
    let rows: Vec<Vec<_>> =
        keys.iter().map(|issued| key_columns(&issued.api_key)).collect::<Result<_, _>>()?;
    let names: Vec<&str> = rows[0].iter().map(|column| column.name).collect();
    let mut insert = Statement::new(format!("INSERT INTO api_keys ({}) VALUES ", names.join(", ")));
    insert.push_rows(rows.into_iter().map(|row| row.into_iter().map(|column| column.value).collect()));
    write.execute(insert).await?;

    let mut secrets =
        Statement::new("INSERT INTO api_key_secrets (digest, api_key_id, created_at, expires_at) VALUES ");
    secrets.push_rows(keys.iter().map(|issued| {
        vec![
            Value::from(&issued.digest.0[..]),
            issued.api_key.id.into(),
            issued.api_key.created_at.into(),
            Value::Int(None),
        ]
    }));
    write.execute(secrets).await?;

    Ok(keys
        .iter()
        .map(|issued| NewChange {
            organization_id: issued.api_key.organization_id,
            entity: Entity::ApiKey(issued.api_key.id),
            note: ChangeNote::new(ChangeKind::Created, actor, &[]),
            digests: vec![issued.digest.clone()],
            at: issued.api_key.created_at,
        })
        .collect())
}

/// Overwrites every column a write may change, if the stored key is still at revision
/// `expected` and not revoked.
async fn overwrite<B: Backend>(
    write: &mut Write<'_, B>,
    key: &ApiKey,
    expected: i64,
) -> Result<bool, StoreError> {
    let mut update = Statement::new("UPDATE api_keys SET ");
    for (i, column) in key_columns(key)?.into_iter().filter(|c| c.written).enumerate() {
        update.push(if i == 0 { "" } else { ", " }).push(column.name).push(" = ").bind(column.value);
    }
    update.push(" WHERE organization_id = ").bind(key.organization_id);
    update.push(" AND id = ").bind(key.id);
    update.push(" AND revision = ").bind(expected);
    update.push(" AND deleted_at IS NULL");
    Ok(write.execute(update).await? == 1)
}

/// Whether a key of `key`'s organization other than `key` can manage keys past `until`: the
/// keys that are not revoked, are enabled, do not expire until after `until` (`i64::MAX`: never
/// expire) and hold some scope on `api_keys`, as `can_manage_keys` then tells.
async fn another_manager<B: Backend>(
    write: &mut Write<'_, B>,
    key: &ApiKey,
    until: Millis,
) -> Result<bool, StoreError> {
    let query = Statement::new(
        "SELECT scopes FROM api_keys \
         WHERE organization_id = $1 AND id <> $2 AND deleted_at IS NULL AND status = 'enabled' \
         AND (expires_at IS NULL OR expires_at > $3) AND CAST(scopes AS TEXT) LIKE '%\"api_keys\"%'",
    )
    .arg(key.organization_id)
    .arg(key.id)
    .arg(until);
    let candidates: Vec<(Json<Vec<Scope>>,)> = B::fetch_all(write.conn(), query).await?;
    Ok(candidates.iter().any(|(scopes,)| can_manage_keys(&scopes.0)))
}
