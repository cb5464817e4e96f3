//! The `system` operations: health, and the contract itself.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use super::extract::ApiQuery;
use super::model::*;
use crate::contract::OPENAPI_YAML;

/// Report that the server is up
#[utoipa::path(
    get,
    path = "/v1/health",
    tag = "System",
    security(()),
    params(PrettyParams),
    responses(
        (status = 200, description = "The server is up", body = Health),
        (status = 400, response = BadRequest),
        (status = 406, response = NotAcceptable),
        (status = 431, response = HeadersTooLarge),
    )
)]
pub async fn health_view(ApiQuery(_pretty): ApiQuery<PrettyParams>) -> Result<Json<Health>, ApiError> {
    Ok(Json(healthy("/v1/health")))
}

/// Report whether this instance should get traffic
#[utoipa::path(
    get,
    path = "/v1/ready",
    tag = "System",
    security(()),
    params(PrettyParams),
    responses(
        (status = 200, description = "The store answers and the change feed is followed", body = Health),
        (status = 400, response = BadRequest),
        (status = 406, response = NotAcceptable),
        (status = 431, response = HeadersTooLarge),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub async fn ready_view(
    State(state): State<AppState>,
    ApiQuery(_pretty): ApiQuery<PrettyParams>,
) -> Result<Json<Health>, ApiError> {
    state.app.ready().await.map_err(|detail| ApiError::ServiceUnavailable { detail })?;
    Ok(Json(healthy("/v1/ready")))
}

/// The body of a healthy answer, linking to `path`.
fn healthy(path: &str) -> Health {
    Health { status: HealthStatus::Ok, version: env!("CARGO_PKG_VERSION").to_owned(), links: Links::to(path) }
}

/// Fetch this OpenAPI document
#[utoipa::path(
    get,
    path = "/openapi.yaml",
    tag = "System",
    security(()),
    responses(
        (status = 200, description = "The OpenAPI document, a YAML mapping", body = Object, content_type = "application/yaml"),
        (status = 400, response = BadRequest),
        (status = 431, response = HeadersTooLarge),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub async fn openapi_view(ApiQuery(NoParams {}): ApiQuery<NoParams>) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/yaml"))], OPENAPI_YAML).into_response()
}

/// The query of an operation that takes no parameter: any one given is refused as unknown.
#[derive(Debug, serde::Deserialize)]
pub struct NoParams {}
