//! The `api_keys` operations: create, list, view, update and revoke keys.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use uuid::Uuid;

use super::AppState;
use super::auth::Caller;
use super::consistency;
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQueries, ApiQuery, OptionalJson};
use super::model::*;
use crate::app::{KeyFilter, PageRequest, Precondition};
use crate::domain::api_key::{ApiKey, ApiKeyPatch, NewApiKey};
use crate::domain::bounds::{GRACE_PERIOD_MS, PAGE_SIZE};
use crate::domain::scope::{API_KEYS, Access};
use crate::domain::validation::Checker;

/// Keys on a page when `limit` is left out.
const DEFAULT_LIMIT: u32 = 20;

/// Create an API key
#[utoipa::path(
    post,
    path = "/v1/api_keys",
    tag = "API keys",
    params(PrettyParams, ConsistencyParams),
    request_body = ApiKeyCreate,
    responses(
        (status = 201, description = "The key was created", body = ApiKeyCreated, headers(
            ("Location" = String, description = "The path of the new key"),
            ("ETag" = String, description = "The key's revision, for `If-Match`"),
            ("Cache-Control" = String, description = "`no-store`: the body holds a secret that no cache may keep"),
            ("Keyward-Consistency-Token" = String, description = "The write's consistency token"),
        ), links(
            ("api_key_view" = (operation_id = "api_key_view", parameters(("api_key_id" = "$response.body#/api_key/id")))),
            ("api_key_update" = (operation_id = "api_key_update", parameters(("api_key_id" = "$response.body#/api_key/id")))),
            ("api_key_rotate" = (operation_id = "api_key_rotate", parameters(("api_key_id" = "$response.body#/api_key/id")))),
            ("api_key_delete" = (operation_id = "api_key_delete", parameters(("api_key_id" = "$response.body#/api_key/id")))),
        )),
    )
)]
#[tracing::instrument(skip_all, fields(organization_id = %caller.organization_id))]
pub async fn api_key_create(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(_pretty): ApiQuery<PrettyParams>,
    ApiJson(body): ApiJson<ApiKeyCreate>,
) -> Result<Response, ApiError> {
    caller.require(API_KEYS, Access::Create)?;
    let new = NewApiKey::from(body);
    caller.require_grantable(&new.scopes)?;
    let written = state.app.api_key_create(caller.actor(), caller.organization_id, new).await?;
    let (key, secret) = written.value;
    let headers = [
        (header::LOCATION, header_value(&api_key_path(key.id))),
        (header::ETAG, header_value(&key.etag())),
        NO_STORE,
        consistency::header(written.seq),
    ];
    let created = ApiKeyCreated {
        key: secret.expose().to_owned(),
        links: Links::to(api_key_path(key.id)),
        api_key: key.into(),
    };
    Ok((StatusCode::CREATED, headers, Json(created)).into_response())
}

/// List API keys
#[utoipa::path(
    get,
    path = "/v1/api_keys",
    tag = "API keys",
    params(ListParams, UserFilter, ConsistencyParams),
    responses(
        (status = 200, description = "A page of API keys", body = ApiKeyList),
    )
)]
#[tracing::instrument(skip_all, fields(organization_id = %caller.organization_id))]
pub async fn api_key_list(
    caller: Caller,
    State(state): State<AppState>,
    uri: Uri,
    ApiQueries(params, filter): ApiQueries<ListParams, UserFilter>,
) -> Result<Json<ApiKeyList>, ApiError> {
    caller.require(API_KEYS, Access::Read)?;
    list_page(&state, &caller, &uri, params, filter.user_id, false).await.map(Json)
}

/// Show an API key, redacted
#[utoipa::path(
    get,
    path = "/v1/api_keys/{api_key_id}",
    tag = "API keys",
    params(("api_key_id" = Uuid, Path, description = "The id of the API key"), ViewParams, ConsistencyParams),
    responses(
        (status = 200, description = "The API key", body = ApiKeyBody, headers(
            ("ETag" = String, description = "The key's revision, for `If-Match`"),
        )),
        (status = 404, response = NotFound),
    )
)]
#[tracing::instrument(skip_all, fields(organization_id = %caller.organization_id, %api_key_id))]
pub async fn api_key_view(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(api_key_id): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<ViewParams>,
) -> Result<Response, ApiError> {
    caller.require(API_KEYS, Access::Read)?;
    let include_deleted = params.include_deleted.unwrap_or(false);
    let key = state.app.api_key_view(caller.organization_id, api_key_id, include_deleted).await?;
    Ok(with_etag(key))
}

/// Update an API key
#[utoipa::path(
    patch,
    path = "/v1/api_keys/{api_key_id}",
    tag = "API keys",
    params(
        ("api_key_id" = Uuid, Path, description = "The id of the API key"),
        ("If-Match" = Option<String>, Header, nullable = false, description = "Update only if the key's `ETag` is still this"),
        PrettyParams,
        ConsistencyParams,
    ),
    request_body = ApiKeyUpdate,
    responses(
        (status = 200, description = "The updated API key", body = ApiKeyBody, headers(
            ("ETag" = String, description = "The key's revision, for `If-Match`"),
            ("Keyward-Consistency-Token" = String, description = "The write's consistency token"),
        ), links(
            ("api_key_view" = (operation_id = "api_key_view", parameters(("api_key_id" = "$response.body#/id")))),
            ("api_key_rotate" = (operation_id = "api_key_rotate", parameters(("api_key_id" = "$response.body#/id")))),
            ("api_key_delete" = (operation_id = "api_key_delete", parameters(("api_key_id" = "$response.body#/id")))),
        )),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
    )
)]
#[tracing::instrument(skip_all, fields(organization_id = %caller.organization_id, %api_key_id))]
pub async fn api_key_update(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(api_key_id): ApiPath<Uuid>,
    headers: HeaderMap,
    ApiQuery(_pretty): ApiQuery<PrettyParams>,
    ApiJson(body): ApiJson<ApiKeyUpdate>,
) -> Result<Response, ApiError> {
    caller.require(API_KEYS, Access::Update)?;
    let patch = ApiKeyPatch::from(body);
    if let Some(scopes) = &patch.scopes {
        caller.require_grantable(scopes)?;
    }
    let precondition = precondition(&headers);
    let written = state
        .app
        .api_key_update(caller.actor(), caller.organization_id, api_key_id, precondition, patch)
        .await?;
    let mut response = with_etag(written.value);
    response.headers_mut().extend([consistency::header(written.seq)]);
    Ok(response)
}

/// Revoke an API key
#[utoipa::path(
    delete,
    path = "/v1/api_keys/{api_key_id}",
    tag = "API keys",
    params(("api_key_id" = Uuid, Path, description = "The id of the API key"), PrettyParams, ConsistencyParams),
    responses(
        (status = 200, description = "The revoked API key", body = ApiKeyBody, headers(
            ("Keyward-Consistency-Token" = String, description = "The write's consistency token"),
        )),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[tracing::instrument(skip_all, fields(organization_id = %caller.organization_id, %api_key_id))]
pub async fn api_key_delete(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(api_key_id): ApiPath<Uuid>,
    ApiQuery(_pretty): ApiQuery<PrettyParams>,
) -> Result<Response, ApiError> {
    caller.require(API_KEYS, Access::Delete)?;
    let written = state.app.api_key_revoke(caller.actor(), caller.organization_id, api_key_id).await?;
    Ok(([consistency::header(written.seq)], Json(ApiKeyBody::from(written.value))).into_response())
}

/// Rotate an API key's secret
#[utoipa::path(
    post,
    path = "/v1/api_keys/{api_key_id}/rotate",
    tag = "API keys",
    params(("api_key_id" = Uuid, Path, description = "The id of the API key"), PrettyParams, ConsistencyParams),
    request_body(content = ApiKeyRotate, description = "How long the old secret keeps working; the body may be left out (as `{}`)", content_type = "application/json"),
    responses(
        (status = 200, description = "The key with its new secret", body = ApiKeyCreated, headers(
            ("ETag" = String, description = "The key's revision, for `If-Match`"),
            ("Cache-Control" = String, description = "`no-store`: the body holds a secret that no cache may keep"),
            ("Keyward-Consistency-Token" = String, description = "The write's consistency token"),
        ), links(
            ("api_key_view" = (operation_id = "api_key_view", parameters(("api_key_id" = "$response.body#/api_key/id")))),
            ("api_key_update" = (operation_id = "api_key_update", parameters(("api_key_id" = "$response.body#/api_key/id")))),
            ("api_key_delete" = (operation_id = "api_key_delete", parameters(("api_key_id" = "$response.body#/api_key/id")))),
        )),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[tracing::instrument(skip_all, fields(organization_id = %caller.organization_id, %api_key_id))]
pub async fn api_key_rotate(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(api_key_id): ApiPath<Uuid>,
    ApiQuery(_pretty): ApiQuery<PrettyParams>,
    OptionalJson(body): OptionalJson<ApiKeyRotate>,
) -> Result<Response, ApiError> {
    caller.require(API_KEYS, Access::Update)?;
    let grace = body.grace_period_ms.unwrap_or(0);
    let mut checker = Checker::default();
    checker.range("grace_period_ms", grace, GRACE_PERIOD_MS);
    checker.finish(()).map_err(ApiError::invalid_body)?;
    let written = state.app.api_key_rotate(caller.actor(), caller.organization_id, api_key_id, grace).await?;
    let (key, secret) = written.value;
    let etag = header_value(&key.etag());
    let body = ApiKeyCreated {
        key: secret.expose().to_owned(),
        links: Links::to(api_key_path(key.id)),
        api_key: key.into(),
    };
    Ok(([(header::ETAG, etag), NO_STORE, consistency::header(written.seq)], Json(body)).into_response())
}

/// What a response that shows a secret sends: no cache, shared or private, may keep it.
pub(super) const NO_STORE: (header::HeaderName, HeaderValue) =
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store"));

/// A key as the response body, with its `ETag`.
pub(super) fn with_etag(key: ApiKey) -> Response {
    let etag = header_value(&key.etag());
    ([(header::ETAG, etag)], Json(ApiKeyBody::from(key))).into_response()
}

/// One page of the caller's keys, the shared body of `api_key_list` and `user_api_key_list`.
pub(super) async fn list_page(
    state: &AppState,
    caller: &Caller,
    uri: &Uri,
    params: ListParams,
    user_id: Option<String>,
    user_in_path: bool,
) -> Result<ApiKeyList, ApiError> {
    let request = list_request(&params, user_id)?;
    let page = state.app.api_key_list(caller.organization_id, &request).await?;
    let next = page.next_after.map(|last| {
        // A user's own list names the user in its path, not in its query.
        let mut filter = request.filter.clone();
        if user_in_path {
            filter.user_id = None;
        }
        Link { href: next_href(uri.path(), &params, &filter, last) }
    });
    let self_href = uri.path_and_query().map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let keys = page.items;
    let api_keys = keys
        .iter()
        .map(|k| ApiKeySummary { id: k.id, name: k.name.clone(), links: Links::to(api_key_path(k.id)) })
        .collect();
    let embedded = params
        .embed
        .unwrap_or(false)
        .then(|| ApiKeyEmbedded { api_keys: keys.into_iter().map(ApiKeyBody::from).collect() });
    Ok(ApiKeyList { api_keys, embedded, links: Links { self_: Link { href: self_href }, next } })
}

/// Checks the list parameters the query string parser cannot (bounds and patterns).
fn list_request(params: &ListParams, user_id: Option<String>) -> Result<PageRequest<KeyFilter>, ApiError> {
    let mut checker = Checker::default();
    if let Some(limit) = params.limit {
        checker.range("limit", i64::from(limit), PAGE_SIZE);
    }
    let after = params.page_token.as_deref().and_then(|token| {
        let cursor = decode_cursor(token);
        if cursor.is_none() {
            checker.fail("page_token", "invalid_cursor", "must be the page_token of a `_links.next`");
        }
        cursor
    });
    checker.label("customer_id", params.customer_id.as_deref());
    checker.label("user_id", user_id.as_deref());
    let filter = KeyFilter {
        user_id,
        customer_id: params.customer_id.clone(),
        status: params.status,
        include_deleted: params.include_deleted,
    };
    let limit = params.limit.and_then(|l| u32::try_from(l).ok()).unwrap_or(DEFAULT_LIMIT);
    checker.finish(PageRequest { filter, after, limit }).map_err(ApiError::invalid_query)
}

/// The `_links.next` of a page: the same filters and presentation, going on after `last`.
fn next_href(path: &str, params: &ListParams, filter: &KeyFilter, last: Uuid) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(limit) = params.limit {
        query.append_pair("limit", &limit.to_string());
    }
    for (name, value) in filter.parameters() {
        query.append_pair(name, &value);
    }
    for (name, value) in [("_embed", params.embed), ("pretty", params.pretty)] {
        if let Some(value) = value {
            query.append_pair(name, if value { "true" } else { "false" });
        }
    }
    query.append_pair("page_token", &encode_cursor(last));
    format!("{path}?{}", query.finish())
}

/// Cursors are the last key's id in unpadded base64url: 22 characters of `[A-Za-z0-9_-]`.
const CURSOR: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

fn encode_cursor(id: Uuid) -> String {
    CURSOR.encode(id.as_bytes())
}

/// Any 22 characters of the cursor alphabet decode, as the spec's pattern promises.
fn decode_cursor(token: &str) -> Option<Uuid> {
    if token.len() != 22 {
        return None;
    }
    let bytes = CURSOR.decode(token).ok()?;
    Uuid::from_slice(&bytes).ok()
}

/// `If-Match`: `*`, or one strong tag `"N"`; a weak or unknown tag can never match.
fn precondition(headers: &HeaderMap) -> Precondition {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Precondition::None;
    };
    let value = value.to_str().unwrap_or_default().trim();
    if value == "*" {
        return Precondition::None;
    }
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .and_then(|v| v.parse::<i64>().ok())
        .map_or(Precondition::Never, Precondition::Revision)
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cursor_round_trips_and_every_pattern_match_decodes() {
        let id = Uuid::now_v7();
        let token = encode_cursor(id);
        assert_eq!(token.len(), 22);
        assert_eq!(decode_cursor(&token), Some(id));
        assert!(decode_cursor("zzzzzzzzzzzzzzzzzzzzzz").is_some());
        assert!(decode_cursor("__________------------").is_some());
        assert!(decode_cursor("short").is_none());
    }

    #[test]
    fn if_match_takes_a_star_or_one_strong_tag() {
        let with = |v: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::IF_MATCH, HeaderValue::from_static(v));
            precondition(&headers)
        };
        assert_eq!(precondition(&HeaderMap::new()), Precondition::None);
        assert_eq!(with("*"), Precondition::None);
        assert_eq!(with("\"7\""), Precondition::Revision(7));
        assert_eq!(with("W/\"7\""), Precondition::Never);
        assert_eq!(with("7"), Precondition::Never);
    }
}
