//! Organizations: creating a tenant with its root key, and showing one.

use uuid::Uuid;

use super::{App, AppError, Resource, Written};
use crate::bootstrap::root_key;
use crate::domain::api_key::ApiKey;
use crate::domain::key::Secret;
use crate::domain::organization::Organization;

impl App {
    /// Creates an organization named `name` and its root key, whose secret is shown once.
    pub async fn organization_create(
        &self,
        name: &str,
    ) -> Result<Written<(Organization, ApiKey, Secret)>, AppError> {
        let now = self.now();
        let organization = Organization::parse_new(name, now).map_err(AppError::Invalid)?;
        let (root, secret) = root_key(&organization, self.hasher(), false, now).map_err(AppError::Invalid)?;
        let app = self.clone();
        self.detached(async move {
            let change = app.store.organization_create(&organization, &root).await?;
            app.committed(&change);
            tracing::info!(new_organization_id = %organization.id, "organization created");
            Ok(Written { value: (organization, root.api_key, secret), seq: change.seq })
        })
        .await
    }

    pub async fn organization_view(&self, id: Uuid) -> Result<Organization, AppError> {
        self.store.organization_get(id).await.map_err(AppError::reading(Resource::Organization))
    }

    /// Every organization of the instance, oldest first: for its operator.
    pub async fn organization_list(&self) -> Result<Vec<Organization>, AppError> {
        Ok(self.store.organization_list().await?)
    }

    /// Mints a new root key for an organization, whose secret is shown once: an operator's way
    /// back into an organization that lost its keys. The first organization's root key also
    /// administers the instance, as the one made at the first start does.
    pub async fn root_key_create(&self, id: Uuid) -> Result<(Organization, ApiKey, Secret), AppError> {
        let organizations = self.store.organization_list().await?;
        let organization = organizations
            .iter()
            .find(|o| o.id == id)
            .cloned()
            .ok_or(AppError::NotFound(Resource::Organization))?;
        let instance_admin = organizations.first().is_some_and(|first| first.id == id);
        let (root, secret) =
            root_key(&organization, self.hasher(), instance_admin, self.now()).map_err(AppError::Invalid)?;
        let app = self.clone();
        self.detached(async move {
            let change = app.store.api_key_insert(&root).await?;
            app.committed(&change);
            tracing::info!(organization_id = %organization.id, api_key_id = %root.api_key.id, "root key minted by the operator");
            Ok((organization, root.api_key, secret))
        })
        .await
    }
}
