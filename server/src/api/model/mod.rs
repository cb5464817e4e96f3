//! The request and response bodies of the HTTP API, as `openapi.yaml` names them: one module a
//! resource, and here what every operation shares (links, problem documents, `pretty`).

mod api_keys;
mod organizations;
pub mod schemas;
mod system;
mod verify;

pub use api_keys::*;
pub use organizations::*;
pub use system::*;
pub use verify::*;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToResponse, ToSchema};

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
    NotFound => "Nothing at this path, no such object in the caller's organization or no such operation",
    NotAcceptable => "The `Accept` header allows no JSON",
    Conflict => "The change conflicts with the object's state, such as a revoked key, or would leave its organization without a working key that can manage keys",
    PreconditionFailed => "The resource changed since the `If-Match` revision",
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

/// `Keyward-Consistency-Token`, the header every secured operation takes (read in `Caller`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct ConsistencyParams {
    /// A token a write answered with; this request is answered only once this instance has applied that write
    #[serde(rename = "Keyward-Consistency-Token")]
    #[param(nullable = false, pattern = "^ct1_[0-7][0-9a-f]{15}$")]
    pub token: Option<String>,
}

/// `pretty`, the one query parameter every JSON operation takes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PrettyParams {
    /// Indent the JSON response
    #[param(nullable = false)]
    pub pretty: Option<bool>,
}
