//! The bodies of `api_key_verify`; the verdict is written by hand (`api/verify/json.rs`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiKeyBody, schemas};
use crate::api::verify::json::ApiKeyJson;
use crate::domain::limits::RateLimitState;
use crate::domain::verification::{ScopeCheck, VerifyCode};

/// The body of `api_key_verify`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The key your API was presented
    pub key: String,
    /// Scopes the key must hold, each on `target` if given
    #[serde(default)]
    #[schema(value_type = Vec<schemas::ScopeCheck>)]
    pub scopes: Vec<ScopeCheck>,
    /// A boolean expression over scopes the key must also satisfy, such as
    /// `invoices:read OR invoices:write` (the grammar is in `openapi.yaml`)
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(nullable = false)]
    pub scope_query: Option<String>,
    /// Credits this verification spends (1 if left out)
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(nullable = false)]
    pub cost: Option<i64>,
}

/// The verdict on a presented key.
#[derive(Debug, ToSchema)]
pub struct VerifyResponse<'a> {
    pub valid: bool,
    #[schema(value_type = schemas::VerifyCode)]
    pub code: VerifyCode,
    #[schema(value_type = ApiKeyBody, required = false)]
    pub api_key: Option<ApiKeyJson<'a>>,
    #[schema(value_type = Option<schemas::RateLimitState>, nullable = false)]
    pub rate_limit: Option<RateLimitState>,
    #[schema(nullable = false)]
    pub credits: Option<CreditsState>,
    #[schema(nullable = false)]
    pub expiry_warning: Option<ExpiryWarning>,
    /// Sent when the presented secret was replaced by a rotation and works only until its
    /// grace period ends: tell its holder to switch to the new one
    #[schema(nullable = false)]
    pub rotated: Option<RotatedSecret>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreditsState {
    pub remaining: i64,
}

/// A rotated-away secret still in its grace period.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedSecret {
    /// When the presented secret stops working (epoch milliseconds)
    pub grace_ends_at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExpiryWarning {
    pub expires_at: i64,
    pub message: String,
}
