//! Organizations: creating a tenant with its root key, and showing one.

use uuid::Uuid;

use super::{App, AppError, Resource, Written};
use crate::bootstrap::{Bootstrap, ensure_default_organization, root_key};
use crate::domain::actor::Actor;
use crate::domain::api_key::ApiKey;
use crate::domain::key::Secret;
use crate::domain::organization::Organization;

impl App {
    /// First start: on an empty store, the `default` organization and its root key (minted, or
    /// `admin_key` adopted), made by the server itself at the application's clock, and applied
    /// to this instance's verifier at once, as every write is.
    pub async fn bootstrap(&self, admin_key: Option<Secret>) -> Result<Bootstrap, AppError> {
        let (outcome, changes) =
            ensure_default_organization(self.store.as_ref(), self.hasher(), admin_key, self.now()).await?;
        self.committed_all(&changes);
        Ok(outcome)
    }

    /// Creates an organization named `name` and its root key, made by `actor`; the key's secret
    /// is shown once.
    pub async fn organization_create(
        &self,
        actor: Actor,
        name: &str,
    ) -> Result<Written<(Organization, ApiKey, Secret)>, AppError> {
        let now = self.now();
        let organization = Organization::parse_new(name, now).map_err(AppError::Invalid)?;
        let (root, secret) = root_key(&organization, self.hasher(), false, now).map_err(AppError::Invalid)?;
        let app = self.clone();
        self.detached(async move {
            let changes = app.store.organization_create(&organization, &root, actor).await?;
            let seq = app.committed_all(&changes);
            tracing::info!(new_organization_id = %organization.id, "organization created");
            Ok(Written { value: (organization, root.api_key, secret), seq })
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
            let change = app.store.api_key_insert(&root, Actor::Operator).await?;
            app.committed(&change);
            tracing::info!(organization_id = %organization.id, api_key_id = %root.api_key.id, "root key minted by the operator");
            Ok((organization, root.api_key, secret))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::clock::AdvancingClock;
    use crate::domain::now_millis;
    use crate::store::ListQuery;
    use crate::verifier::Verifier;

    #[tokio::test]
    async fn the_first_start_writes_at_the_applications_clock_and_its_root_key_works_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            crate::store::connect(&format!("sqlite://{}", dir.path().join("b.db").display())).await.unwrap();
        let verifier = Arc::new(Verifier::load(store.clone(), Default::default(), 60_000).await.unwrap());
        verifier.set_live(true);
        let clock = Arc::new(AdvancingClock::default());
        const AHEAD: i64 = 30 * 86_400_000;
        clock.advance(AHEAD);
        let app = App::new(store.clone(), verifier.clone(), clock);

        let Bootstrap::Minted(secret) = app.bootstrap(None).await.unwrap() else {
            panic!("a root key minted")
        };
        let organization = store.organization_list().await.unwrap().remove(0);
        let root = store
            .api_key_list(organization.id, &ListQuery { limit: 10, ..Default::default() })
            .await
            .unwrap();
        assert!(organization.created_at >= now_millis() + AHEAD - 60_000, "{organization:?}");
        assert_eq!(root[0].created_at, organization.created_at, "one clock, the application's");
        let found = verifier.resolve(&secret, app.now()).await.unwrap().expect("its record applied at once");
        assert_eq!(found.key.id, root[0].id);
        assert!(matches!(app.bootstrap(None).await.unwrap(), Bootstrap::Existing));
    }
}
