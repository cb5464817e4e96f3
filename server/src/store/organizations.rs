//! Organizations, each stored with its root key: the trait, and its SQL for both databases.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use super::api_keys::insert_key_rows;
use super::backend::{Backend, SqlStore, Statement};
use super::changes::{Change, ChangeKind, ChangeNote, Entity, NewChange};
use super::write::Write;
use crate::domain::Millis;
use crate::domain::actor::Actor;
use crate::domain::api_key::IssuedKey;
use crate::domain::organization::Organization;

/// Organizations.
#[async_trait]
pub trait OrganizationStore: Send + Sync {
    /// How many organizations exist (zero on a fresh store).
    async fn organization_count(&self) -> Result<i64, StoreError>;
    /// Stores an organization and its root key, unless an organization exists: of instances
    /// starting at once on an empty store, exactly one does. The change records, the
    /// organization's then its root key's.
    async fn organization_bootstrap(
        &self,
        organization: &Organization,
        root: &IssuedKey,
        actor: Actor,
    ) -> Result<Option<Vec<Change>>, StoreError>;
    /// Stores an organization and its root key together; the change records, the
    /// organization's then its root key's.
    async fn organization_create(
        &self,
        organization: &Organization,
        root: &IssuedKey,
        actor: Actor,
    ) -> Result<Vec<Change>, StoreError>;
    async fn organization_get(&self, id: Uuid) -> Result<Organization, StoreError>;
    /// Every organization, oldest first (the first is the one made at the first start).
    async fn organization_list(&self) -> Result<Vec<Organization>, StoreError>;
}

#[async_trait]
impl<B: Backend> OrganizationStore for SqlStore<B> {
    async fn organization_count(&self) -> Result<i64, StoreError> {
        let (count,): (i64,) = self.one(Statement::new("SELECT COUNT(*) FROM organizations")).await?;
        Ok(count)
    }

    async fn organization_bootstrap(
        &self,
        organization: &Organization,
        root: &IssuedKey,
        actor: Actor,
    ) -> Result<Option<Vec<Change>>, StoreError> {
        // No other write interleaves: the count and the insert agree.
        let mut write = self.write_alone().await?;
        let (count,): (i64,) =
            B::fetch_optional(write.conn(), Statement::new("SELECT COUNT(*) FROM organizations"))
                .await?
                .ok_or(StoreError::NotFound)?;
        if count > 0 {
            return Ok(None);
        }
        let changes = insert_organization(&mut write, organization, root, actor).await?;
        write.commit().await?;
        Ok(Some(changes))
    }

    async fn organization_create(
        &self,
        organization: &Organization,
        root: &IssuedKey,
        actor: Actor,
    ) -> Result<Vec<Change>, StoreError> {
        let mut write = self.write().await?;
        let changes = insert_organization(&mut write, organization, root, actor).await?;
        write.commit().await?;
        Ok(changes)
    }

    async fn organization_get(&self, id: Uuid) -> Result<Organization, StoreError> {
        let query = Statement::new("SELECT id, name, created_at FROM organizations WHERE id = $1").arg(id);
        let (id, name, created_at): (Uuid, String, Millis) = self.one(query).await?;
        Ok(Organization { id, name, created_at })
    }

    async fn organization_list(&self) -> Result<Vec<Organization>, StoreError> {
        let rows: Vec<(Uuid, String, Millis)> = self
            .all(Statement::new("SELECT id, name, created_at FROM organizations ORDER BY created_at, id"))
            .await?;
        Ok(rows.into_iter().map(|(id, name, created_at)| Organization { id, name, created_at }).collect())
    }
}

/// Inserts an organization and its root key, a change record each.
async fn insert_organization<B: Backend>(
    write: &mut Write<'_, B>,
    organization: &Organization,
    root: &IssuedKey,
    actor: Actor,
) -> Result<Vec<Change>, StoreError> {
    write
        .execute(
            Statement::new("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
                .arg(organization.id)
                .arg(organization.name.as_str())
                .arg(organization.created_at),
        )
        .await?;
    let mut records = vec![NewChange {
        organization_id: organization.id,
        entity: Entity::Organization(organization.id),
        note: ChangeNote::new(ChangeKind::Created, actor, &[]),
        digests: Vec::new(),
        at: organization.created_at,
    }];
    records.extend(insert_key_rows(write, std::slice::from_ref(root), actor).await?);
    // Numbered last, so the lock that orders change records is held for the least time.
    write.record(records).await
}
