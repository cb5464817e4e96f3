//! The API reference generated from `openapi.yaml`, served at `/docs`: built once, when the router is.
//!
//! These routes are not API operations: they sit outside the `OpenApiRouter`,
//! so the contract test does not see them, and content negotiation lets any
//! `Accept` through. The pages' examples call the server the browser asked (its
//! `Host`, and `https` when `X-Forwarded-Proto` says so), not the document's
//! `servers` entry; a request without a usable `Host` gets the document's.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use keyward_docs::{BaseUrl, Site};

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
        .route("/docs/", get(|headers: HeaderMap| async move { page("", &headers) }))
        .route(
            "/docs/{*path}",
            get(|Path(path): Path<String>, headers: HeaderMap| async move { page(&path, &headers) }),
        )
}

/// The proxy header that tells the scheme the browser used, when a proxy terminates TLS.
const FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// The server the browser asked: `http://` (or `https://` behind a proxy that says so) and the
/// `Host` header, when it is a well-formed host and port.
fn base_url(headers: &HeaderMap) -> Option<BaseUrl> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let https = headers
        .get(FORWARDED_PROTO)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    BaseUrl::new(if https { "https" } else { "http" }, host.trim())
}

/// The site's file at `path`, its examples calling the server the request was made to, or a
/// 404 problem document.
fn page(path: &str, request: &HeaderMap) -> Response {
    let site = match &*SITE {
        Ok(site) => site,
        Err(err) => {
            return ApiError::Internal(format!("the API reference cannot be generated: {err}"))
                .into_response();
        }
    };
    let found = match base_url(request) {
        Some(base) => site.resolve_for(path, &base).map(|(file, bytes)| (file, bytes.into_owned())),
        None => site.resolve(path).map(|(file, bytes)| (file, bytes.to_vec())),
    };
    let Some((file, bytes)) = found else {
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
        // A page names the server it was asked for: a cache keeps one copy per such name.
        (header::VARY, HeaderValue::from_static("host, x-forwarded-proto")),
        (HeaderName::from_static("referrer-policy"), HeaderValue::from_static("no-referrer")),
    ];
    (headers, bytes).into_response()
}
