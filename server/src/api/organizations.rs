//! The `organizations` operations: create a tenant with its root key, show the caller's own.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery};
use super::model::*;
use crate::domain::scope::{Access, ORGANIZATIONS};

/// Create an organization and its root key
#[utoipa::path(
    post,
    path = "/v1/organizations",
    tag = "Organizations",
    params(PrettyParams, ConsistencyParams),
    request_body = OrganizationCreate,
    responses(
        (status = 201, description = "The organization was created", body = OrganizationCreated, headers(
            ("Cache-Control" = String, description = "`no-store`: the body holds a secret that no cache may keep"),
            ("Keyward-Consistency-Token" = String, description = "The write's consistency token"),
        )),
    )
)]
#[tracing::instrument(skip_all, fields(organization_id = %caller.organization_id))]
pub async fn organization_create(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(_pretty): ApiQuery<PrettyParams>,
    ApiJson(body): ApiJson<OrganizationCreate>,
) -> Result<Response, ApiError> {
    caller.require(ORGANIZATIONS, Access::Create)?;
    let written = state.app.organization_create(caller.actor(), &body.name).await?;
    let (organization, root, secret) = written.value;
    let created = OrganizationCreated {
        organization: organization.into(),
        key: secret.expose().to_owned(),
        links: Links::to("/v1/organization"),
        api_key: root.into(),
    };
    let headers = [super::api_keys::NO_STORE, super::consistency::header(written.seq)];
    Ok((StatusCode::CREATED, headers, Json(created)).into_response())
}

/// Show the caller's organization
#[utoipa::path(
    get,
    path = "/v1/organization",
    tag = "Organizations",
    params(PrettyParams, ConsistencyParams),
    responses(
        (status = 200, description = "The caller's organization", body = OrganizationBody),
    )
)]
#[tracing::instrument(skip_all, fields(organization_id = %caller.organization_id))]
pub async fn organization_view(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(_pretty): ApiQuery<PrettyParams>,
) -> Result<Json<OrganizationBody>, ApiError> {
    caller.require(ORGANIZATIONS, Access::Read)?;
    let organization = state.app.organization_view(caller.organization_id).await?;
    Ok(Json(organization.into()))
}
