//! The `users` operations: one user's keys, under the user's own path (as Elastic Cloud's user keys).

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use uuid::Uuid;

use super::AppState;
use super::api_keys::{list_page, with_etag};
use super::auth::Caller;
use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery};
use super::model::*;
use crate::domain::bounds::NAME;
use crate::domain::scope::{API_KEYS, Access};
use crate::domain::validation::Checker;

/// List one user's API keys
#[utoipa::path(
    get,
    path = "/v1/users/{user_id}/api_keys",
    tag = "Users",
    params(("user_id" = String, Path, description = "Your id for the user the keys were issued to"), ListParams, ConsistencyParams),
    responses(
        (status = 200, description = "A page of the user's API keys", body = ApiKeyList),
    )
)]
#[tracing::instrument(skip_all, fields(organization_id = %caller.organization_id))]
pub async fn user_api_key_list(
    caller: Caller,
    State(state): State<AppState>,
    uri: Uri,
    ApiPath(user_id): ApiPath<String>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<ApiKeyList>, ApiError> {
    caller.require(API_KEYS, Access::Read)?;
    list_page(&state, &caller, &uri, params, Some(user_id), true).await.map(Json)
}

/// Show one of a user's API keys
#[utoipa::path(
    get,
    path = "/v1/users/{user_id}/api_keys/{api_key_id}",
    tag = "Users",
    params(
        ("user_id" = String, Path, description = "Your id for the user the keys were issued to"),
        ("api_key_id" = Uuid, Path, description = "The id of the API key"),
        ViewParams,
        ConsistencyParams,
    ),
    responses(
        (status = 200, description = "The API key", body = ApiKeyBody, headers(
            ("ETag" = String, description = "The key's revision, for `If-Match`"),
        )),
        (status = 404, response = NotFound),
    )
)]
#[tracing::instrument(skip_all, fields(organization_id = %caller.organization_id, %api_key_id))]
pub async fn user_api_key_view(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath((user_id, api_key_id)): ApiPath<(String, Uuid)>,
    ApiQuery(params): ApiQuery<ViewParams>,
) -> Result<Response, ApiError> {
    caller.require(API_KEYS, Access::Read)?;
    let mut checker = Checker::default();
    checker.text("user_id", &user_id, NAME);
    checker.finish(()).map_err(ApiError::invalid_query)?;
    let include_deleted = params.include_deleted.unwrap_or(false);
    let key = state.app.api_key_view(caller.organization_id, api_key_id, include_deleted).await?;
    if key.user_id.as_deref() != Some(user_id.as_str()) {
        return Err(ApiError::key_not_found());
    }
    Ok(with_etag(key))
}
