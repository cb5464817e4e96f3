//! The HTTP API: the router of every operation, its layers, and the OpenAPI document it implies.

pub mod access;
pub mod api_keys;
pub mod auth;
pub mod bounds;
pub mod consistency;
pub mod docs;
pub mod error;
pub mod extract;
pub mod limits;
pub mod middleware;
pub mod model;
pub mod organizations;
mod responses;
pub mod system;
pub mod users;
pub mod verify;
mod wording;

use std::sync::Arc;

use axum::Router;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;
use error::ApiError;
use model::*;

/// What every handler can reach: the application layer (and through it, the verifier).
#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Keyward", version = "0.1.0"),
    components(schemas(Problem, ProblemError), responses(
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        NotAcceptable,
        Conflict,
        PreconditionFailed,
        PayloadTooLarge,
        UnsupportedMediaType,
        UnprocessableEntity,
        HeadersTooLarge,
        TooManyRequests,
        ServiceUnavailable,
    )),
    modifiers(&SecuritySchemes),
    security(("api_key" = []), ("bearer" = [])),
)]
struct ApiDoc;

/// `api_key` (the `X-API-KEY` header) and `bearer`, both carrying a Keyward key.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(
                auth::API_KEY_HEADER.as_str().to_uppercase(),
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

fn router_parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(system::health_view))
        .routes(routes!(system::ready_view))
        .routes(routes!(system::openapi_view))
        .routes(routes!(organizations::organization_create))
        .routes(routes!(organizations::organization_view))
        .routes(routes!(api_keys::api_key_list, api_keys::api_key_create))
        .routes(routes!(api_keys::api_key_view, api_keys::api_key_update, api_keys::api_key_delete))
        .routes(routes!(api_keys::api_key_rotate))
        .routes(routes!(verify::api_key_verify))
        .routes(routes!(users::user_api_key_list))
        .routes(routes!(users::user_api_key_view))
        .split_for_parts();
    // The bounds and the shared responses go in once every route has added its schemas,
    // parameters and operations.
    bounds::Bounds.modify(&mut document);
    responses::SharedResponses.modify(&mut document);
    // A rotation's body may be left out (`OptionalJson`); utoipa would say so only by making
    // the schema nullable, which `null` is not.
    if let Some(body) = document
        .paths
        .paths
        .get_mut("/v1/api_keys/{api_key_id}/rotate")
        .and_then(|item| item.post.as_mut())
        .and_then(|operation| operation.request_body.as_mut())
        && let utoipa::openapi::RefOr::T(body) = body
    {
        body.required = None;
    }
    (router, document)
}

/// The OpenAPI document the handlers describe; the contract test compares it with `openapi.yaml`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    router_parts().1
}

/// The whole application: every operation, with its layers.
pub fn router(state: AppState, request_limits: limits::RequestLimits) -> Router {
    let (routes, _) = router_parts();
    routes
        .merge(docs::router())
        .fallback(|| async {
            ApiError::NotFound {
                code: "request.route_not_found",
                detail: "no operation has this path".into(),
            }
        })
        .layer(
            ServiceBuilder::new()
                .layer(TraceLayer::new_for_http())
                .layer(axum::middleware::from_fn(middleware::pretty))
                .layer(axum::middleware::from_fn(middleware::problem_bodies))
                .layer(CatchPanicLayer::new())
                .layer(request_limits)
                .layer(axum::middleware::from_fn(middleware::negotiate)),
        )
        .with_state(state)
}
