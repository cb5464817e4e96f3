//! Organizations: creating a tenant with its root key, and showing one.

use uuid::Uuid;

use super::{App, AppError};
use crate::bootstrap::root_key;
use crate::domain::api_key::ApiKey;
use crate::domain::key::Secret;
use crate::domain::organization::Organization;

impl App {
    /// Creates an organization named `name` and its root key, whose secret is shown once.
    pub async fn organization_create(&self, name: &str) -> Result<(Organization, ApiKey, Secret), AppError> {
        let now = self.now();
        let organization = Organization::parse_new(name, now).map_err(AppError::Invalid)?;
        let (root, secret) = root_key(&organization, self.hasher(), false, now).map_err(AppError::Invalid)?;
        let app = self.clone();
        self.detached(async move {
            let change = app.store.organization_create(&organization, &root).await?;
            app.committed(&change);
            tracing::info!(new_organization_id = %organization.id, "organization created");
            Ok((organization, root.api_key, secret))
        })
        .await
    }

    pub async fn organization_view(&self, id: Uuid) -> Result<Organization, AppError> {
        Ok(self.store.organization_get(id).await?)
    }
}
