//! The API reference generated from `openapi.yaml`, served at `/docs`: built once, when the router is.
//!
//! These routes are not API operations: they sit outside the `OpenApiRouter`,
//! so the contract test does not see them, and content negotiation lets any
//! `Accept` through.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use keyward_docs::Site;

use super::error::ApiError;
use crate::contract::OPENAPI_YAML;

/// Pages load their stylesheet, script and icon from the site itself, and nothing else.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The site, generated from the contract compiled into this binary.
static SITE: LazyLock<Result<Site, String>> =
    LazyLock::new(|| keyward_docs::build_site(OPENAPI_YAML).map_err(|err| err.to_string()));

/// `/docs` (a redirect to `/docs/`), `/docs/` and every file below it.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    if let Err(err) = &*SITE {
        tracing::error!(%err, "the API reference cannot be generated; /docs answers 500");
    }
    Router::new()
        // Relative, so that the redirect also works behind a proxy that mounts Keyward on a prefix.
        .route("/docs", get(|| async { Redirect::permanent("docs/") }))
        .route("/docs/", get(|| async { page("") }))
        .route("/docs/{*path}", get(|Path(path): Path<String>| async move { page(&path) }))
}

/// The site's file at `path`, or a 404 problem document.
fn page(path: &str) -> Response {
    let site = match &*SITE {
        Ok(site) => site,
        Err(err) => {
            return ApiError::Internal(format!("the API reference cannot be generated: {err}"))
                .into_response();
        }
    };
    let Some((file, bytes)) = site.resolve(path) else {
        return ApiError::NotFound {
            code: "request.route_not_found",
            detail: "the API reference has no page at this path".into(),
        }
        .into_response();
    };
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(keyward_docs::content_type(file))),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (HeaderName::from_static("referrer-policy"), HeaderValue::from_static("no-referrer")),
    ];
    (headers, bytes.to_vec()).into_response()
}
