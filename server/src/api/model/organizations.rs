//! The bodies of the organization operations.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ApiKeyBody, Links};
use crate::domain::organization::Organization;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Organization)]
pub struct OrganizationBody {
    pub id: Uuid,
    pub name: String,
    pub created_at: i64,
    #[serde(rename = "_links")]
    pub links: Links,
}

impl From<Organization> for OrganizationBody {
    fn from(organization: Organization) -> Self {
        Self {
            id: organization.id,
            name: organization.name,
            created_at: organization.created_at,
            links: Links::to("/v1/organization"),
        }
    }
}

/// The body of `organization_create`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationCreate {
    pub name: String,
}

/// A new organization and its root key, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationCreated {
    pub organization: OrganizationBody,
    /// The root key's full secret; store it now, it is never shown again
    pub key: String,
    pub api_key: ApiKeyBody,
    #[serde(rename = "_links")]
    pub links: Links,
}
