//! The schemas of the domain's values that the bodies carry, so that the domain needs no utoipa.
//!
//! Scopes, limits, a key's status and the verdict's code: the bodies hold the domain's own types,
//! which serde reads and writes, and each such field names its schema here with
//! `#[schema(value_type = …)]`. These types are never built: their serde attributes repeat the
//! domain's so that utoipa derives the same schema (renames, optional and unknown fields), and
//! their descriptions are the domain's; the comment above each names the type it stands for (the
//! verdict's code is not repeated: its schema lists the domain's own codes). The
//! contract test holds the result to `openapi.yaml`. The bounds (lengths, ranges, patterns) are
//! not here: `api/bounds.rs` writes them from `domain/bounds.rs`.

use strum::VariantArray;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::bounds::{MAX_TARGETS, NAME};
use crate::domain::verification;

// domain::api_key::KeyStatus
/// Whether a key may be used; a revoked key is `deleted`, whatever its status.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApiKeyStatus {
    Enabled,
    Disabled,
}

// domain::scope::Access
/// The kind of access a scope grants; `write` is all four others.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScopeAccess {
    Read,
    Create,
    Update,
    Delete,
    Write,
}

// domain::scope::Scope
/// `{resource, access, targets}`: access to a resource, on the listed targets or all when empty.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    pub resource: String,
    pub access: ScopeAccess,
    #[serde(default)]
    #[schema(schema_with = targets_schema)]
    pub targets: Vec<String>,
}

/// `targets`: at most [`MAX_TARGETS`] names.
fn targets_schema() -> ArrayBuilder {
    let item =
        ObjectBuilder::new().schema_type(Type::String).min_length(Some(NAME.min)).max_length(Some(NAME.max));
    ArrayBuilder::new().items(item).max_items(Some(MAX_TARGETS))
}

// domain::limits::RateLimit
/// At most `limit` verifications per `window_ms`, smoothed (GCRA).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub limit: i32,
    pub window_ms: i64,
}

// domain::limits::CreditsRefill
/// Every `interval_ms`, `remaining` is set back to `amount`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditsRefill {
    pub amount: i64,
    pub interval_ms: i64,
}

// domain::limits::Credits
/// A usage budget; each verification spends its `cost`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credits {
    pub remaining: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub refill: Option<CreditsRefill>,
}

// domain::limits::RateLimitState
/// A key's rate limit window as a verification left it, as verdicts report it.
#[derive(ToSchema)]
pub struct RateLimitState {
    pub limit: i32,
    /// Verifications left in the current window
    pub remaining: i32,
    /// When the next verification is allowed again (if none is left) or the window is full again
    pub reset_at: i64,
}

// domain::verification::VerifyCode
/// The verdict's code: a string, one of the domain's codes (all of them, in their order) as serde
/// writes them, so that a code added to the domain is in the schema too.
pub struct VerifyCode;

impl PartialSchema for VerifyCode {
    fn schema() -> RefOr<Schema> {
        let codes = verification::VerifyCode::VARIANTS
            .iter()
            .map(|code| serde_json::to_value(code).expect("a code is written as a string"));
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("The verdict; only `VALID` means the key may be used."))
            .enum_values(Some(codes))
            .into()
    }
}

impl ToSchema for VerifyCode {}

// domain::verification::ScopeCheck
/// A scope the presented key must hold, on `target` if given.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeCheck {
    pub resource: String,
    pub access: ScopeAccess,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub target: Option<String>,
}
