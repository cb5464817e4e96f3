//! The request and response bodies of the HTTP API, as `openapi.yaml` names them.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
use utoipa::{IntoParams, ToResponse, ToSchema};
use uuid::Uuid;

use crate::domain::api_key::{ApiKey, ApiKeyPatch, KeyStatus, NewApiKey};
use crate::domain::limits::{Credits, RateLimit, RateLimitState};
use crate::domain::organization::Organization;
use crate::domain::scope::Scope;
use crate::domain::verification::{ScopeCheck, VerifyCode};
use crate::verifier::KeyUsage;

/// A link to a resource on this server.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Link {
    /// A path on this server
    pub href: String,
}

/// HAL links: `self`, and `next` on a page that has one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Links {
    #[serde(rename = "self")]
    pub self_: Link,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub next: Option<Link>,
}

impl Links {
    pub fn to(href: impl Into<String>) -> Self {
        Self { self_: Link { href: href.into() }, next: None }
    }
}

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
    pub status: KeyStatus,
    pub scopes: Vec<Scope>,
    #[schema(schema_with = metadata_schema)]
    pub metadata: Map<String, Value>,
    #[schema(required = true)]
    pub rate_limit: Option<RateLimit>,
    #[schema(required = true)]
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
            scopes: key.scopes,
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

/// The same JSON as [`ApiKeyBody`], written from the static parts of a cached key's rendering
/// (made once per cached record by [`render_key`]) with its usage spliced in: the verify hot
/// path answers without copying the record (a test keeps the two byte-identical).
#[derive(Debug, Clone, Copy)]
pub struct ApiKeyJson<'a> {
    pub rendering: &'a [Box<str>; 3],
    pub usage: KeyUsage,
}

impl ApiKeyJson<'_> {
    /// Appends the key's JSON to `out`.
    pub fn write(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let [before_credits, before_last_used, rest] = self.rendering;
        out.extend_from_slice(before_credits.as_bytes());
        serde_json::to_writer(&mut *out, &self.usage.credits)?;
        out.extend_from_slice(b",\"usage_count\":");
        serde_json::to_writer(&mut *out, &self.usage.usage_count)?;
        out.extend_from_slice(before_last_used.as_bytes());
        serde_json::to_writer(&mut *out, &self.usage.last_used_at)?;
        out.extend_from_slice(rest.as_bytes());
        Ok(())
    }
}

/// The parts of a key's JSON (as [`ApiKeyBody`] writes it) that do not change with use: all
/// before `credits`, from `revision` to `last_used_at`, and from `expires_at` to the end.
pub fn render_key(key: &ApiKey) -> serde_json::Result<[Box<str>; 3]> {
    fn field(out: &mut Vec<u8>, lead: &[u8], value: &impl Serialize) -> serde_json::Result<()> {
        out.extend_from_slice(lead);
        serde_json::to_writer(&mut *out, value)
    }
    let mut first = Vec::with_capacity(512);
    field(&mut first, b"{\"id\":", &key.id)?;
    field(&mut first, b",\"organization_id\":", &key.organization_id)?;
    field(&mut first, b",\"name\":", &key.name)?;
    field(&mut first, b",\"description\":", &key.description)?;
    field(&mut first, b",\"user_id\":", &key.user_id)?;
    field(&mut first, b",\"customer_id\":", &key.customer_id)?;
    field(&mut first, b",\"billing_id\":", &key.billing_id)?;
    field(&mut first, b",\"prefix\":", &key.prefix)?;
    field(&mut first, b",\"masked_key\":", &key.masked_key)?;
    field(&mut first, b",\"status\":", &key.status)?;
    field(&mut first, b",\"scopes\":", &key.scopes)?;
    field(&mut first, b",\"metadata\":", &key.metadata)?;
    field(&mut first, b",\"rate_limit\":", &key.rate_limit)?;
    first.extend_from_slice(b",\"credits\":");
    let mut second = Vec::with_capacity(96);
    field(&mut second, b",\"revision\":", &key.revision)?;
    field(&mut second, b",\"created_at\":", &key.created_at)?;
    field(&mut second, b",\"updated_at\":", &key.updated_at)?;
    second.extend_from_slice(b",\"last_used_at\":");
    let mut third = Vec::with_capacity(160);
    field(&mut third, b",\"expires_at\":", &key.expires_at)?;
    field(&mut third, b",\"deleted\":", &key.deleted_at.is_some())?;
    field(&mut third, b",\"deleted_at\":", &key.deleted_at)?;
    field(&mut third, b",\"_links\":{\"self\":{\"href\":", &api_key_path(key.id))?;
    third.extend_from_slice(b"}}}");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).map(String::into_boxed_str);
    // serde_json writes UTF-8 only, and every lead above is ASCII.
    match (text(first), text(second), text(third)) {
        (Ok(first), Ok(second), Ok(third)) => Ok([first, second, third]),
        _ => Err(serde::ser::Error::custom("a key's JSON is not UTF-8")),
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
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(max_length = 1024, nullable = false)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(min_length = 1, max_length = 128, nullable = false)]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(min_length = 1, max_length = 128, nullable = false)]
    pub customer_id: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(min_length = 1, max_length = 128, nullable = false)]
    pub billing_id: Option<String>,
    /// The key's readable start (`kw` if left out)
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(min_length = 1, max_length = 12, pattern = "^[a-z][a-z0-9]*$", nullable = false)]
    pub prefix: Option<String>,
    /// When the key stops working; a time already past makes it expired at once
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(minimum = 0, nullable = false)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub scopes: Vec<Scope>,
    #[serde(default)]
    #[schema(schema_with = bounded_metadata_schema)]
    pub metadata: Map<String, Value>,
    #[serde(default)]
    pub status: KeyStatus,
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(nullable = false)]
    pub rate_limit: Option<RateLimit>,
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(nullable = false)]
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
    #[schema(min_length = 1, max_length = 128, nullable = false)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 1024)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(nullable = false)]
    pub status: Option<KeyStatus>,
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(max_items = 50, nullable = false)]
    pub scopes: Option<Vec<Scope>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub expires_at: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(schema_with = bounded_metadata_schema)]
    pub metadata: Option<Map<String, Value>>,
    /// `null` removes the rate limit
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<RateLimit>)]
    pub rate_limit: Option<Option<RateLimit>>,
    /// Sets the credits and their refill; `null` removes the limit
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Credits>)]
    pub credits: Option<Option<Credits>>,
}

/// The body of `api_key_rotate`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRotate {
    /// How long the old secret keeps working (0 if left out; at most 30 days)
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(minimum = 0, maximum = 2_592_000_000_i64, nullable = false)]
    pub grace_period_ms: Option<i64>,
}

/// The body of `api_key_verify`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The key your API was presented
    #[schema(max_length = 512)]
    pub key: String,
    /// Scopes the key must hold, each on `target` if given
    #[serde(default)]
    #[schema(max_items = 50)]
    pub scopes: Vec<ScopeCheck>,
    /// Credits this verification spends (1 if left out)
    #[serde(default, deserialize_with = "crate::domain::non_null")]
    #[schema(minimum = 0, maximum = 1_000_000_000, nullable = false)]
    pub cost: Option<i64>,
}

/// The verdict on a presented key.
#[derive(Debug, ToSchema)]
pub struct VerifyResponse<'a> {
    pub valid: bool,
    pub code: VerifyCode,
    #[schema(value_type = ApiKeyBody, required = false)]
    pub api_key: Option<ApiKeyJson<'a>>,
    #[schema(nullable = false)]
    pub rate_limit: Option<RateLimitState>,
    #[schema(nullable = false)]
    pub credits: Option<CreditsState>,
    #[schema(nullable = false)]
    pub expiry_warning: Option<ExpiryWarning>,
}

impl VerifyResponse<'_> {
    /// Appends the verdict's JSON to `out`: compact, fields in declaration order, absent ones
    /// left out (what `#[derive(Serialize)]` with `skip_serializing_if = "Option::is_none"` writes).
    pub fn write(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.extend_from_slice(if self.valid {
            b"{\"valid\":true,\"code\":"
        } else {
            b"{\"valid\":false,\"code\":"
        });
        serde_json::to_writer(&mut *out, &self.code)?;
        if let Some(api_key) = &self.api_key {
            out.extend_from_slice(b",\"api_key\":");
            api_key.write(out)?;
        }
        if let Some(rate_limit) = &self.rate_limit {
            out.extend_from_slice(b",\"rate_limit\":");
            serde_json::to_writer(&mut *out, rate_limit)?;
        }
        if let Some(credits) = &self.credits {
            out.extend_from_slice(b",\"credits\":");
            serde_json::to_writer(&mut *out, credits)?;
        }
        if let Some(expiry_warning) = &self.expiry_warning {
            out.extend_from_slice(b",\"expiry_warning\":");
            serde_json::to_writer(&mut *out, expiry_warning)?;
        }
        out.push(b'}');
        Ok(())
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreditsState {
    pub remaining: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExpiryWarning {
    pub expires_at: i64,
    pub message: String,
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
    #[schema(min_length = 1, max_length = 128)]
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

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI that names the kind of problem
    #[serde(rename = "type")]
    pub type_: String,
    /// The HTTP status phrase
    pub title: String,
    /// The HTTP status code
    pub status: i32,
    /// What went wrong, for a person
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub detail: Option<String>,
    /// A stable machine-readable code such as `api_keys.key_not_found`
    pub code: String,
    /// One entry per invalid field
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemError>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemError {
    /// A structured code for the error
    pub code: String,
    /// What is wrong, for a person
    pub message: String,
    /// The request fields the error is tied to
    pub fields: Vec<String>,
}

/// Error responses, one per status, as `openapi.yaml` declares them.
macro_rules! problem_responses {
    ($($name:ident => $description:literal,)*) => {$(
        #[derive(ToResponse)]
        #[response(description = $description, content_type = "application/problem+json")]
        #[allow(dead_code)]
        pub struct $name(Problem);
    )*};
}

problem_responses! {
    BadRequest => "The request is malformed (syntax, a query or path parameter)",
    Unauthorized => "No key, or not a valid one",
    Forbidden => "The key lacks the scope the operation needs",
    NotFound => "No such key in the caller's organization",
    NotAcceptable => "The `Accept` header allows no JSON",
    Conflict => "The key was revoked and cannot change",
    PreconditionFailed => "The key changed since the `If-Match` revision",
    PayloadTooLarge => "The body is over 64 KiB",
    UnsupportedMediaType => "The body is not `application/json`",
    UnprocessableEntity => "The body is JSON but not a valid request; `errors` names the fields",
    HeadersTooLarge => "The request headers add up to more than 16 KiB",
}

/// 429: too many failed authentications from the client's address.
#[derive(ToResponse)]
#[response(
    description = "Too many failed authentications from this client address; valid keys keep working",
    content_type = "application/problem+json",
    headers(
        ("Retry-After" = i32, description = "Seconds until a failed authentication is allowed again"),
        ("RateLimit-Policy" = String, description = "The policy: failures allowed (`q`) per window of `w` seconds"),
        ("RateLimit" = String, description = "What is left of the policy (`r`) and seconds until it refills (`t`)"),
    )
)]
#[allow(dead_code)]
pub struct TooManyRequests(Problem);

/// 503: this instance cannot take the request now.
#[derive(ToResponse)]
#[response(
    description = "This instance cannot take the request now (not ready, at its limit of requests in flight, or the store is busy); `detail` says why",
    content_type = "application/problem+json",
    headers(("Retry-After" = i32, description = "Seconds to wait before trying again")),
)]
#[allow(dead_code)]
pub struct ServiceUnavailable(Problem);

/// `pretty`, the one query parameter every JSON operation takes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PrettyParams {
    /// Indent the JSON response
    #[param(nullable = false)]
    pub pretty: Option<bool>,
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
    #[param(minimum = 1, maximum = 100, nullable = false)]
    pub limit: Option<i32>,
    /// The cursor from the previous page's `_links.next`
    #[param(pattern = "^[A-Za-z0-9_-]{22}$", nullable = false)]
    pub page_token: Option<String>,
    /// Only keys with this status
    #[param(nullable = false)]
    pub status: Option<KeyStatus>,
    /// Only keys issued to this customer
    #[param(min_length = 1, max_length = 128, nullable = false)]
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
    #[param(min_length = 1, max_length = 128, nullable = false)]
    pub user_id: Option<String>,
}

/// `metadata` in responses: any JSON object.
fn metadata_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(true)))
}

/// `metadata` in requests: a JSON object of at most 64 entries.
fn bounded_metadata_schema() -> ObjectBuilder {
    metadata_schema().max_properties(Some(64))
}

/// Deserializes a field that may be left out (`None`) or `null` (`Some(None)`).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::key::KeyHasher;
    use crate::domain::limits::CreditsRefill;
    use crate::domain::scope::{Access, Scope};

    /// The key's JSON as every other response writes it: the owned, derived [`ApiKeyBody`].
    fn body(key: &ApiKey, usage: KeyUsage) -> ApiKeyBody {
        let mut owned = key.clone();
        usage.apply(&mut owned);
        ApiKeyBody::from(owned)
    }

    #[test]
    fn the_spliced_key_json_writes_exactly_what_the_owned_body_writes() {
        let (issued, _) = NewApiKey {
            name: "view".into(),
            description: Some("d".into()),
            customer_id: Some("c".into()),
            scopes: vec![Scope { resource: "q".into(), access: Access::Read, targets: vec!["t".into()] }],
            metadata: serde_json::json!({"a": [1, {"b": null}]}).as_object().unwrap().clone(),
            rate_limit: Some(RateLimit { limit: 5, window_ms: 1000 }),
            credits: Some(Credits {
                remaining: 9,
                refill: Some(CreditsRefill { amount: 9, interval_ms: 5000 }),
            }),
            expires_at: Some(77),
            ..Default::default()
        }
        .issue(Uuid::now_v7(), &KeyHasher::default(), 1)
        .unwrap();
        let mut key = issued.api_key;
        key.deleted_at = Some(3);
        let usage = KeyUsage {
            usage_count: 12,
            last_used_at: Some(99),
            credits: Some(Credits { remaining: 4, refill: None }),
        };
        let rendering = render_key(&key).unwrap();
        for usage in [usage, KeyUsage { usage_count: 0, last_used_at: None, credits: None }] {
            let mut spliced = Vec::new();
            ApiKeyJson { rendering: &rendering, usage }.write(&mut spliced).unwrap();
            let owned = serde_json::to_string(&body(&key, usage)).unwrap();
            assert_eq!(String::from_utf8(spliced).unwrap(), owned);
        }
    }

    #[test]
    fn a_verdict_is_written_as_its_derived_serialization_would_be() {
        #[derive(Serialize)]
        struct Derived {
            valid: bool,
            code: VerifyCode,
            #[serde(skip_serializing_if = "Option::is_none")]
            api_key: Option<ApiKeyBody>,
            #[serde(skip_serializing_if = "Option::is_none")]
            rate_limit: Option<RateLimitState>,
            #[serde(skip_serializing_if = "Option::is_none")]
            credits: Option<CreditsState>,
            #[serde(skip_serializing_if = "Option::is_none")]
            expiry_warning: Option<ExpiryWarning>,
        }
        let (issued, _) = NewApiKey { name: "verdict \"q\" é".into(), ..Default::default() }
            .issue(Uuid::now_v7(), &KeyHasher::default(), 1)
            .unwrap();
        let key = issued.api_key;
        let usage = KeyUsage { usage_count: 3, last_used_at: Some(5), credits: None };
        let rendering = render_key(&key).unwrap();
        let written = |full: bool| {
            let response = VerifyResponse {
                valid: full,
                code: if full { VerifyCode::Valid } else { VerifyCode::NotFound },
                api_key: full.then_some(ApiKeyJson { rendering: &rendering, usage }),
                rate_limit: full.then_some(RateLimitState { limit: 5, remaining: 4, reset_at: 9 }),
                credits: full.then_some(CreditsState { remaining: 7 }),
                expiry_warning: full
                    .then(|| ExpiryWarning { expires_at: 11, message: "the key expires in 0 hours".into() }),
            };
            let mut out = Vec::new();
            response.write(&mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        let derived = |full: bool| {
            serde_json::to_string(&Derived {
                valid: full,
                code: if full { VerifyCode::Valid } else { VerifyCode::NotFound },
                api_key: full.then(|| body(&key, usage)),
                rate_limit: full.then_some(RateLimitState { limit: 5, remaining: 4, reset_at: 9 }),
                credits: full.then_some(CreditsState { remaining: 7 }),
                expiry_warning: full
                    .then(|| ExpiryWarning { expires_at: 11, message: "the key expires in 0 hours".into() }),
            })
            .unwrap()
        };
        assert_eq!(written(true), derived(true));
        assert_eq!(written(false), derived(false));
    }
}
