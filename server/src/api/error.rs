//! The API's error enum and its rendering as RFC 9457 problem documents.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::model::{Problem, ProblemError};
use crate::app::{AppError, Refusal, Resource};
use crate::domain::validation::FieldError;
use crate::domain::verification::Unusable;

/// The `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers).
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
/// The name of the failed-authentication policy in those fields.
pub const AUTH_FAILURES_POLICY: &str = "auth_failures";

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Everything that can go wrong in a request, each with its status and stable code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query or path parameter, or the JSON syntax of the body, is invalid.
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String, errors: Vec<FieldError> },
    #[error("{detail}")]
    Unauthorized { code: &'static str, detail: String },
    #[error("{detail}")]
    Forbidden { code: &'static str, detail: String },
    #[error("{detail}")]
    NotFound { code: &'static str, detail: String },
    #[error("the method is not allowed on this path")]
    MethodNotAllowed,
    #[error("the Accept header allows neither application/json nor application/problem+json")]
    NotAcceptable,
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    #[error("the key is at revision {current}, not the one If-Match names")]
    PreconditionFailed { current: i64 },
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{detail}")]
    UnsupportedMediaType { detail: String },
    /// The body is JSON but not a valid request.
    #[error("{detail}")]
    Unprocessable { detail: String, errors: Vec<FieldError> },
    /// This instance cannot serve now (starting, or re-reading the change feed).
    #[error("{detail}")]
    ServiceUnavailable { detail: String },
    /// A write gave up on a busy store (contention or a lock held too long); retry after a while.
    #[error("the store is busy with other writes; try again in {retry_after_s} s")]
    Busy { retry_after_s: u64 },
    /// The store cannot be reached from this instance; retry after a while (or elsewhere).
    #[error("the store cannot be reached from this instance; try again in {retry_after_s} s")]
    StoreUnavailable { retry_after_s: u64 },
    /// This instance has not yet applied the change a request's consistency token names.
    #[error(
        "this instance has not yet applied the change the consistency token names; try again in {retry_after_s} s"
    )]
    Behind { retry_after_s: u64 },
    /// More requests are in flight than this instance takes at once.
    #[error("this instance is at its limit of {limit} requests in flight; try again shortly")]
    Overloaded { limit: usize },
    /// Too many failed authentications from this client address.
    #[error(
        "too many failed authentications from this address: at most {quota} a minute; try again in {retry_after_s} s"
    )]
    TooManyAuthFailures { quota: u32, retry_after_s: u64 },
    /// The request's headers add up to more than the server reads.
    #[error("the request headers add up to more than {limit} bytes")]
    HeadersTooLarge { limit: usize },
    /// The request took longer than the server allows (a slow body, a slow store).
    #[error("the request did not complete within {limit_ms} ms")]
    RequestTimeout { limit_ms: u64 },
    /// A write's connection to the store broke: it may or may not have been made. Not a 503,
    /// which says nothing was done and invites a retry.
    #[error(
        "the connection to the store broke during the write: it may or may not have been made; read the \
         resource to find out before you try again"
    )]
    OutcomeUnknown,
    /// A fault of ours: the caller sees a generic message, the log sees this one.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn key_not_found() -> Self {
        ApiError::NotFound { code: "api_keys.key_not_found", detail: "no such API key".into() }
    }

    pub fn invalid_query(errors: Vec<FieldError>) -> Self {
        ApiError::BadRequest {
            code: "request.invalid_query",
            detail: "a query or path parameter is invalid".into(),
            errors,
        }
    }

    pub fn invalid_body(errors: Vec<FieldError>) -> Self {
        ApiError::Unprocessable { detail: "the request body is not valid".into(), errors }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::ServiceUnavailable { .. }
            | ApiError::Busy { .. }
            | ApiError::StoreUnavailable { .. }
            | ApiError::Behind { .. }
            | ApiError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyAuthFailures { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::Internal(_) | ApiError::OutcomeUnknown => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Unauthorized { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::NotFound { code, .. }
            | ApiError::Conflict { code, .. } => code,
            ApiError::MethodNotAllowed => "request.method_not_allowed",
            ApiError::NotAcceptable => "request.not_acceptable",
            ApiError::PreconditionFailed { .. } => "api_keys.revision_mismatch",
            ApiError::PayloadTooLarge { .. } => "request.body_too_large",
            ApiError::UnsupportedMediaType { .. } => "request.unsupported_media_type",
            ApiError::Unprocessable { .. } => "request.invalid_body",
            ApiError::ServiceUnavailable { .. } => "system.not_ready",
            ApiError::Busy { .. } => "system.busy",
            ApiError::StoreUnavailable { .. } => "system.store_unavailable",
            ApiError::Behind { .. } => "system.behind",
            ApiError::Overloaded { .. } => "system.overloaded",
            ApiError::TooManyAuthFailures { .. } => "auth.too_many_failures",
            ApiError::HeadersTooLarge { .. } => "request.headers_too_large",
            ApiError::RequestTimeout { .. } => "request.timeout",
            ApiError::OutcomeUnknown => "system.outcome_unknown",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The problem document the client sees.
    pub fn to_problem(&self) -> Problem {
        let status = self.status();
        let detail = match self {
            ApiError::Internal(_) => "the server failed to handle the request; it has been logged".to_owned(),
            other => other.to_string(),
        };
        let errors = match self {
            ApiError::BadRequest { errors, .. } | ApiError::Unprocessable { errors, .. } => errors
                .iter()
                .map(|e| ProblemError {
                    code: e.code.to_owned(),
                    message: e.message.clone(),
                    fields: vec![e.field.clone()],
                })
                .collect(),
            _ => Vec::new(),
        };
        problem(status, self.code(), Some(detail), errors)
    }
}

/// A problem document for `status` with a stable `code`.
pub fn problem(status: StatusCode, code: &str, detail: Option<String>, errors: Vec<ProblemError>) -> Problem {
    Problem {
        type_: format!("/docs/problems#{code}"),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: i32::from(status.as_u16()),
        detail,
        code: code.to_owned(),
        errors,
    }
}

/// Renders a problem document as an `application/problem+json` response.
pub fn problem_response(problem: &Problem) -> Response {
    let status = u16::try_from(problem.status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(message) = &self {
            tracing::error!(error = %message, "request failed");
        }
        let mut response = problem_response(&self.to_problem());
        match &self {
            ApiError::Unauthorized { .. } => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"keyward\""));
            }
            ApiError::PreconditionFailed { current } => {
                if let Ok(etag) = HeaderValue::from_str(&format!("\"{current}\"")) {
                    response.headers_mut().insert(header::ETAG, etag);
                }
            }
            // The rest of the body was not read: the connection cannot carry another request,
            // and saying so keeps a client from sending one on it as it closes.
            ApiError::PayloadTooLarge { .. } | ApiError::RequestTimeout { .. } => {
                response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            ApiError::ServiceUnavailable { .. } | ApiError::Overloaded { .. } => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(1));
            }
            ApiError::Busy { retry_after_s }
            | ApiError::StoreUnavailable { retry_after_s }
            | ApiError::Behind { retry_after_s } => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_s));
            }
            ApiError::TooManyAuthFailures { quota, retry_after_s } => {
                // draft-ietf-httpapi-ratelimit-headers: the policy (quota per window) and what is
                // left of it (nothing, until `t` seconds from now).
                let headers = response.headers_mut();
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_s));
                if let Ok(policy) =
                    HeaderValue::from_str(&format!("\"{AUTH_FAILURES_POLICY}\";q={quota};w=60"))
                {
                    headers.insert(RATELIMIT_POLICY, policy);
                }
                if let Ok(state) =
                    HeaderValue::from_str(&format!("\"{AUTH_FAILURES_POLICY}\";r=0;t={retry_after_s}"))
                {
                    headers.insert(RATELIMIT, state);
                }
            }
            _ => {}
        }
        response
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::NotFound(Resource::ApiKey) => ApiError::key_not_found(),
            // An organization is named only by the caller's key or by the operator.
            AppError::NotFound(Resource::Organization) => {
                ApiError::Internal("the caller's organization is missing".into())
            }
            AppError::Unauthenticated(refusal) => {
                let (code, detail) = match refusal {
                    Refusal::Malformed => ("auth.malformed_key", "the key is not a well-formed Keyward key"),
                    Refusal::Unknown => ("auth.invalid_key", "the key is not known"),
                    Refusal::Unusable(Unusable::Rotated) => {
                        ("auth.key_revoked", "the key was rotated and its grace period is over")
                    }
                    Refusal::Unusable(Unusable::Revoked) => ("auth.key_revoked", "the key was revoked"),
                    Refusal::Unusable(Unusable::Disabled) => ("auth.key_disabled", "the key is disabled"),
                    Refusal::Unusable(Unusable::Expired) => ("auth.key_expired", "the key has expired"),
                };
                ApiError::Unauthorized { code, detail: detail.to_owned() }
            }
            AppError::Invalid(errors) => ApiError::invalid_body(errors),
            AppError::RevisionMismatch { current } => ApiError::PreconditionFailed { current },
            AppError::Revoked => ApiError::Conflict {
                code: "api_keys.key_revoked",
                detail: "the key was revoked and cannot change".into(),
            },
            AppError::Contention(why) => {
                tracing::warn!(why, "a write gave up on a busy store");
                ApiError::Busy { retry_after_s: 1 }
            }
            AppError::Behind(_) => ApiError::Behind { retry_after_s: 1 },
            AppError::UnknownChange(_) => {
                super::consistency::invalid("names a change this service never made")
            }
            AppError::LastManager => ApiError::Conflict {
                code: "api_keys.last_manager",
                detail: "this is the organization's last working key that can manage keys and never \
                         expires: revoking, disabling, expiring or narrowing it would lock the organization \
                         out; first create another key that can manage keys and never expires (an operator \
                         can mint one with `keyward-server root-key`)"
                    .into(),
            },
            AppError::Rejected(why) => {
                tracing::warn!(why, "the store refused a value the checks let through");
                ApiError::Unprocessable {
                    detail: "a value of the request cannot be stored".into(),
                    errors: Vec::new(),
                }
            }
            AppError::Unavailable(why) | AppError::Lost(why) => {
                tracing::warn!(why, "the store cannot be reached");
                ApiError::StoreUnavailable { retry_after_s: 1 }
            }
            AppError::OutcomeUnknown(why) => {
                tracing::error!(
                    why,
                    "a write's connection to the store broke; whether it was made is unknown"
                );
                ApiError::OutcomeUnknown
            }
            other @ (AppError::Aborted(_) | AppError::Store(_)) => ApiError::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_record_is_named_by_its_resource() {
        let key = ApiError::from(AppError::NotFound(Resource::ApiKey));
        assert!(
            matches!(&key, ApiError::NotFound { code: "api_keys.key_not_found", detail } if detail == "no such API key"),
            "{key:?}"
        );
        let organization = AppError::NotFound(Resource::Organization);
        assert_eq!(organization.to_string(), "no such organization");
        assert!(matches!(ApiError::from(organization), ApiError::Internal(_)), "never \"no such API key\"");
        // A store's miss that no operation named is a fault of ours, not a missing key.
        assert!(matches!(
            ApiError::from(AppError::from(crate::store::StoreError::NotFound)),
            ApiError::Internal(_)
        ));
    }

    #[test]
    fn a_refused_key_is_a_401_whose_code_says_why() {
        let cases = [
            (Refusal::Malformed, "auth.malformed_key", "the key is not a well-formed Keyward key"),
            (Refusal::Unknown, "auth.invalid_key", "the key is not known"),
            (
                Refusal::Unusable(Unusable::Rotated),
                "auth.key_revoked",
                "the key was rotated and its grace period is over",
            ),
            (Refusal::Unusable(Unusable::Revoked), "auth.key_revoked", "the key was revoked"),
            (Refusal::Unusable(Unusable::Disabled), "auth.key_disabled", "the key is disabled"),
            (Refusal::Unusable(Unusable::Expired), "auth.key_expired", "the key has expired"),
        ];
        for (refusal, code, detail) in cases {
            let error = ApiError::from(AppError::Unauthenticated(refusal));
            assert!(
                matches!(&error, ApiError::Unauthorized { code: c, detail: d } if *c == code && d == detail),
                "{refusal:?}: {error:?}"
            );
        }
    }
}
