//! The bodies and parameters of the key operations: a key's view, lists, create, update, rotate.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Links, schemas};
use crate::domain::api_key::{ApiKey, ApiKeyPatch, KeyStatus, NewApiKey};
use crate::domain::bounds::MAX_METADATA_ENTRIES;
use crate::domain::limits::{Credits, RateLimit};
use crate::domain::scope::{Scope, into_resolved};

/// An API key, redacted; the secret itself is never shown again.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ApiKey)]
pub struct ApiKeyBody {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    #[schema(required = true)]
    pub description: Option<String>,
    #[schema(required = true)]
    pub user_id: Option<String>,
    #[schema(required = true)]
    pub customer_id: Option<String>,
    #[schema(required = true)]
    pub billing_id: Option<String>,
    pub prefix: String,
    pub masked_key: String,
    #[schema(value_type = schemas::ApiKeyStatus)]
    pub status: KeyStatus,
    #[schema(value_type = Vec<schemas::Scope>)]
    pub scopes: Vec<Scope>,
    #[schema(schema_with = metadata_schema)]
    pub metadata: Map<String, Value>,
    #[schema(value_type = Option<schemas::RateLimit>, required = true)]
    pub rate_limit: Option<RateLimit>,
    #[schema(value_type = Option<schemas::Credits>, required = true)]
    pub credits: Option<Credits>,
    /// How many verifications presented this key (a few may still be in flight to the store)
    pub usage_count: i64,
    pub revision: i64,
    pub created_at: i64,
    pub updated_at: i64,
    #[schema(required = true)]
    pub last_used_at: Option<i64>,
    #[schema(required = true)]
    pub expires_at: Option<i64>,
    pub deleted: bool,
    #[schema(required = true)]
    pub deleted_at: Option<i64>,
    #[serde(rename = "_links")]
    pub links: Links,
}

impl From<ApiKey> for ApiKeyBody {
    fn from(key: ApiKey) -> Self {
        Self {
            links: Links::to(api_key_path(key.id)),
            id: key.id,
            organization_id: key.organization_id,
            name: key.name,
            description: key.description,
            user_id: key.user_id,
            customer_id: key.customer_id,
            billing_id: key.billing_id,
            prefix: key.prefix,
            masked_key: key.masked_key,
            status: key.status,
            scopes: into_resolved(key.scopes),
            metadata: key.metadata,
            rate_limit: key.rate_limit,
            credits: key.credits,
            usage_count: key.usage_count,
            revision: key.revision,
            created_at: key.created_at,
            updated_at: key.updated_at,
            last_used_at: key.last_used_at,
            expires_at: key.expires_at,
            deleted: key.deleted_at.is_some(),
            deleted_at: key.deleted_at,
        }
    }
}

/// The path of an API key's resource.
pub fn api_key_path(id: Uuid) -> String {
    format!("/v1/api_keys/{id}")
}

/// A new key and its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreated {
    /// The full secret; store it now, it is never shown again
    pub key: String,
    pub api_key: ApiKeyBody,
    #[serde(rename = "_links")]
    pub links: Links,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeySummary {
    pub id: Uuid,
    pub name: String,
    #[serde(rename = "_links")]
    pub links: Links,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyEmbedded {
    pub api_keys: Vec<ApiKeyBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    pub api_keys: Vec<ApiKeySummary>,
    #[serde(rename = "_embedded", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub embedded: Option<ApiKeyEmbedded>,
    #[serde(rename = "_links")]
    pub links: Links,
}

/// The body of `api_key_create`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCreate {
    pub name: String,
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(nullable = false)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(nullable = false)]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(nullable = false)]
    pub customer_id: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(nullable = false)]
    pub billing_id: Option<String>,
    /// The key's readable start (`kw` if left out)
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(min_length = 1, max_length = 12, pattern = "^[a-z][a-z0-9]*$", nullable = false)]
    pub prefix: Option<String>,
    /// When the key stops working; a time already past makes it expired at once
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(nullable = false)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Vec<schemas::Scope>)]
    pub scopes: Vec<Scope>,
    #[serde(default)]
    #[schema(schema_with = bounded_metadata_schema)]
    pub metadata: Map<String, Value>,
    #[serde(default)]
    #[schema(value_type = schemas::ApiKeyStatus)]
    pub status: KeyStatus,
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(value_type = Option<schemas::RateLimit>, nullable = false)]
    pub rate_limit: Option<RateLimit>,
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(value_type = Option<schemas::Credits>, nullable = false)]
    pub credits: Option<Credits>,
}

impl From<ApiKeyCreate> for NewApiKey {
    fn from(body: ApiKeyCreate) -> Self {
        Self {
            name: body.name,
            description: body.description,
            user_id: body.user_id,
            customer_id: body.customer_id,
            billing_id: body.billing_id,
            prefix: body.prefix,
            expires_at: body.expires_at,
            scopes: body.scopes,
            metadata: body.metadata,
            status: body.status,
            rate_limit: body.rate_limit,
            credits: body.credits,
        }
    }
}

/// The body of `api_key_update`: a field left out keeps its value, `null` clears a nullable one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyUpdate {
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(value_type = Option<schemas::ApiKeyStatus>, nullable = false)]
    pub status: Option<KeyStatus>,
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(value_type = Option<Vec<schemas::Scope>>, nullable = false)]
    pub scopes: Option<Vec<Scope>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub expires_at: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(schema_with = bounded_metadata_schema)]
    pub metadata: Option<Map<String, Value>>,
    /// `null` removes the rate limit
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<schemas::RateLimit>)]
    pub rate_limit: Option<Option<RateLimit>>,
    /// Sets the credits and their refill; `null` removes the limit
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<schemas::Credits>)]
    pub credits: Option<Option<Credits>>,
}

/// The body of `api_key_rotate`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRotate {
    /// How long the old secret keeps working (0 if left out; at most 30 days)
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(nullable = false)]
    pub grace_period_ms: Option<i64>,
}

impl From<ApiKeyUpdate> for ApiKeyPatch {
    fn from(body: ApiKeyUpdate) -> Self {
        Self {
            name: body.name,
            description: body.description,
            status: body.status,
            scopes: body.scopes,
            expires_at: body.expires_at,
            metadata: body.metadata,
            rate_limit: body.rate_limit,
            credits: body.credits,
        }
    }
}

/// The parameters of a key's view.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ViewParams {
    /// Show the key even if it was revoked
    #[param(nullable = false)]
    pub include_deleted: Option<bool>,
    /// Indent the JSON response
    #[param(nullable = false)]
    pub pretty: Option<bool>,
}

/// The paging and filtering parameters of the key lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// The most keys a page holds (20 if left out)
    #[param(nullable = false)]
    pub limit: Option<i32>,
    /// The cursor from the previous page's `_links.next`
    #[param(pattern = "^[A-Za-z0-9_-]{22}$", nullable = false)]
    pub page_token: Option<String>,
    /// Only keys with this status
    #[param(value_type = Option<schemas::ApiKeyStatus>, nullable = false)]
    pub status: Option<KeyStatus>,
    /// Only keys issued to this customer
    #[param(nullable = false)]
    pub customer_id: Option<String>,
    /// List revoked keys too
    #[param(nullable = false)]
    pub include_deleted: Option<bool>,
    /// Embed the full redacted keys under `_embedded`
    #[serde(rename = "_embed")]
    #[param(rename = "_embed", nullable = false)]
    pub embed: Option<bool>,
    /// Indent the JSON response
    #[param(nullable = false)]
    pub pretty: Option<bool>,
}

/// The `user_id` filter of `api_key_list` (a path parameter on the user's own list).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    /// Only keys issued to this user
    #[param(nullable = false)]
    pub user_id: Option<String>,
}

/// `metadata` in responses: any JSON object.
fn metadata_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(true)))
}

/// `metadata` in requests: a JSON object of at most so many entries.
fn bounded_metadata_schema() -> ObjectBuilder {
    metadata_schema().max_properties(Some(MAX_METADATA_ENTRIES))
}

/// Deserializes a field that may be left out (`None`) or `null` (`Some(None)`).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}
