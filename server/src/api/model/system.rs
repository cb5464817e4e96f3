//! The bodies of the system operations: health and readiness.

use serde::Serialize;
use utoipa::ToSchema;

use super::Links;

/// The one status a healthy server reports.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    #[schema(inline)]
    pub status: HealthStatus,
    /// The server's version
    pub version: String,
    #[serde(rename = "_links")]
    pub links: Links,
}
