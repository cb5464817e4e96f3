//! The `verification` operation: the hot path that tells an API whether a presented key is valid.

pub mod json;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

use self::json::{ApiKeyJson, render_key};
use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery};
use super::model::*;
use crate::domain::bounds::{COST, MAX_SCOPES, PRESENTED_KEY, RESOURCE};
use crate::domain::scope::{Access, VERIFICATIONS};
use crate::domain::scope_query::ScopeQuery;
use crate::domain::validation::Checker;
use crate::domain::verification::{Presented, VerifyCode, Wanted, expiry_message};

/// The header that carries an expiry warning.
pub const KEY_EXPIRES_HEADER: HeaderName = HeaderName::from_static("keyward-key-expires");

/// Verify a presented key
#[utoipa::path(
    post,
    path = "/v1/keys/verify",
    tag = "Verification",
    params(PrettyParams, ConsistencyParams),
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "The verdict", body = VerifyResponse, headers(
            ("Keyward-Key-Expires" = String, description = "When the key expires (epoch milliseconds), sent when that is within 7 days"),
        )),
    )
)]
pub async fn api_key_verify(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(_pretty): ApiQuery<PrettyParams>,
    ApiJson(body): ApiJson<VerifyRequest>,
) -> Result<Response, ApiError> {
    caller.require(VERIFICATIONS, Access::Create)?;
    let cost = body.cost.unwrap_or(1);
    let query = check(&state, &body, cost)?;
    let now = caller.at;
    let wanted = Wanted { scopes: &body.scopes, query: query.as_deref() };
    let presented = Presented { organization_id: caller.organization_id, key: &body.key, wanted, cost };
    let verdict = state.app.verify(&presented, now).await?;
    let expiry = verdict.expires_soon;
    let response = VerifyResponse {
        valid: verdict.code == VerifyCode::Valid,
        code: verdict.code,
        api_key: match (verdict.key.as_deref(), verdict.usage) {
            (Some(key), Some(usage)) => Some(ApiKeyJson {
                rendering: key.rendering(render_key).map_err(|e| ApiError::Internal(e.to_string()))?,
                usage,
            }),
            _ => None,
        },
        rate_limit: verdict.rate_limit,
        credits: verdict.credits_remaining.map(|remaining| CreditsState { remaining }),
        expiry_warning: expiry
            .map(|expires_at| ExpiryWarning { expires_at, message: expiry_message(expires_at, now) }),
        rotated: verdict.grace_ends_at.map(|grace_ends_at| RotatedSecret { grace_ends_at }),
    };
    // Sized for a typical verdict with its key, so the body is written without regrowing.
    let mut body = Vec::with_capacity(1024);
    response.write(&mut body).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut http = Response::new(Body::from(body));
    http.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(expires_at) = expiry {
        http.headers_mut().insert(KEY_EXPIRES_HEADER, HeaderValue::from(expires_at));
    }
    Ok(http)
}

/// The bounds of a verify request that deserialization does not check; its scope query, parsed.
fn check(state: &AppState, body: &VerifyRequest, cost: i64) -> Result<Option<Arc<ScopeQuery>>, ApiError> {
    let mut checker = Checker::default();
    checker.length("key", &body.key, PRESENTED_KEY);
    checker.range("cost", cost, COST);
    if body.scopes.len() > MAX_SCOPES {
        checker.fail("scopes", "too_many", format!("must hold at most {MAX_SCOPES} scopes"));
    }
    for (i, wanted) in body.scopes.iter().enumerate() {
        checker.resource(&format!("scopes[{i}].resource"), &wanted.resource);
        checker.text(&format!("scopes[{i}].resource"), &wanted.resource, RESOURCE);
        checker.label(&format!("scopes[{i}].target"), wanted.target.as_deref());
    }
    let query = body.scope_query.as_deref().and_then(|text| {
        state.app.scope_query(text).map_err(|e| checker.fail("scope_query", e.code(), e.to_string())).ok()
    });
    checker.finish(query).map_err(ApiError::invalid_body)
}
