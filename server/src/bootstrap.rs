//! First start: the `default` organization and its root key, minted or adopted from the operator.

use crate::domain::Millis;
use crate::domain::actor::Actor;
use crate::domain::api_key::{IssuedKey, NewApiKey};
use crate::domain::key::{KeyHasher, Secret};
use crate::domain::organization::{DEFAULT_ORGANIZATION, Organization};
use crate::domain::scope::Role;
use crate::domain::validation::FieldError;
use crate::store::{Change, Store, StoreError};

/// The name every root key gets.
pub const ROOT_KEY_NAME: &str = "root";

/// What happened at start-up.
#[derive(Debug)]
pub enum Bootstrap {
    /// The store already had organizations; nothing was created.
    Existing,
    /// The default organization was created with a freshly minted root key, to print once.
    Minted(Secret),
    /// The default organization was created with the operator's `KEYWARD_ADMIN_KEY`.
    Adopted,
}

/// The root key of `organization`; the first organization's also administers the instance.
pub fn root_key(
    organization: &Organization,
    hasher: &KeyHasher,
    instance_admin: bool,
    now: Millis,
) -> Result<(IssuedKey, Secret), Vec<FieldError>> {
    root_key_as(None, organization, hasher, instance_admin, now)
}

fn root_key_as(
    secret: Option<Secret>,
    organization: &Organization,
    hasher: &KeyHasher,
    instance_admin: bool,
    now: Millis,
) -> Result<(IssuedKey, Secret), Vec<FieldError>> {
    let role = if instance_admin { Role::InstanceAdmin } else { Role::Root };
    let (mut root, secret) = NewApiKey {
        name: ROOT_KEY_NAME.to_owned(),
        description: Some(format!("Root key of the organization {}", organization.name)),
        scopes: role.scopes().to_vec(),
        ..Default::default()
    }
    .issue_as(secret, organization.id, hasher, now)?;
    // Stored as its role, so that it holds the scopes a later version gives root keys.
    root.api_key.scopes = role.stored();
    Ok((root, secret))
}

/// On an empty store, creates the `default` organization and its instance-admin root key at
/// `now`, made by the server itself; with the change records it left. Of instances starting at
/// once on one empty database, exactly one creates them (and prints the key). The server calls it
/// through the application layer (`App::bootstrap`); tools that fill a store call it directly.
pub async fn ensure_default_organization(
    store: &dyn Store,
    hasher: &KeyHasher,
    admin_key: Option<Secret>,
    now: Millis,
) -> Result<(Bootstrap, Vec<Change>), StoreError> {
    if store.organization_count().await? > 0 {
        if let Some(admin_key) = admin_key
            && store.api_key_by_digest(&hasher.digest(&admin_key)).await?.is_none()
        {
            tracing::warn!(
                "KEYWARD_ADMIN_KEY is set but the store already has organizations; it was not adopted"
            );
        }
        return Ok((Bootstrap::Existing, Vec::new()));
    }
    let organization = Organization::parse_new(DEFAULT_ORGANIZATION, now)
        .map_err(|e| StoreError::Corrupt(format!("default organization: {e:?}")))?;
    let adopted = admin_key.is_some();
    let (root, secret) = root_key_as(admin_key, &organization, hasher, true, now)
        .map_err(|e| StoreError::Corrupt(format!("root key: {e:?}")))?;
    let Some(changes) = store.organization_bootstrap(&organization, &root, Actor::System).await? else {
        tracing::info!("another instance created the default organization first");
        return Ok((Bootstrap::Existing, Vec::new()));
    };
    tracing::info!(organization_id = %organization.id, "created the default organization and its root key");
    Ok((if adopted { Bootstrap::Adopted } else { Bootstrap::Minted(secret) }, changes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::ApiKeyBody;
    use crate::api::verify::json::{ApiKeyJson, render_key};
    use crate::domain::scope::{can_manage_keys, instance_admin_scopes, root_scopes, ungrantable};
    use crate::domain::verification::{ScopeCheck, Wanted, check_key};
    use crate::verifier::KeyUsage;

    #[test]
    fn a_root_key_stores_its_role_and_is_shown_and_verified_with_the_role_s_scopes() {
        let organization = Organization::parse_new("acme", 1_000).unwrap();
        for (instance_admin, listed) in [(false, root_scopes()), (true, instance_admin_scopes())] {
            let (root, _) = root_key(&organization, &KeyHasher::default(), instance_admin, 1_000).unwrap();
            let key = root.api_key;
            let role = if instance_admin { Role::InstanceAdmin } else { Role::Root };
            assert_eq!(key.scopes[0], role.marker(), "the role is stored, first");
            assert_eq!(
                &key.scopes[1..],
                listed,
                "with the scopes it stands for today, for the store's query"
            );

            // Shown exactly as a root key was before it stored its role: the listed scopes.
            let shown = ApiKeyBody::from(key.clone());
            assert_eq!(shown.scopes, listed);
            let usage = KeyUsage { usage_count: 0, last_used_at: None, credits: None };
            let mut spliced = Vec::new();
            ApiKeyJson { rendering: &render_key(&key).unwrap(), usage }.write(&mut spliced).unwrap();
            assert_eq!(String::from_utf8(spliced).unwrap(), serde_json::to_string(&shown).unwrap());

            // Only the marker, as a key whose listed scopes a migration dropped: still root.
            let mut marked = key.clone();
            marked.scopes = vec![role.marker()];
            assert!(can_manage_keys(&marked.scopes));
            assert!(ungrantable(&marked.scopes, &listed).is_empty());
            let wanted: Vec<_> = listed
                .iter()
                .map(|s| ScopeCheck { resource: s.resource.clone(), access: s.access, target: None })
                .collect();
            let wanted = Wanted { scopes: &wanted, query: None };
            assert_eq!(check_key(&marked, None, wanted, 1_000), Ok(()));
            assert_eq!(ApiKeyBody::from(marked).scopes, listed);
        }
    }
}
