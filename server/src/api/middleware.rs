//! Cross-cutting HTTP behaviour: content negotiation (406), problem bodies for every error, `pretty=true`.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, PROBLEM_JSON, problem, problem_response};

/// The largest response body `pretty=true` re-indents.
const PRETTY_LIMIT: usize = 16 * 1024 * 1024;

/// Answers 406 when `Accept` allows neither JSON nor problem documents (but for `/openapi.yaml`
/// and the API reference under `/docs`).
pub async fn negotiate(request: Request, next: Next) -> Response {
    let accepts_json = request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .all(|value| value.to_str().map(accepts_json).unwrap_or(false));
    let path = request.uri().path();
    let exempt = path == "/openapi.yaml" || path == "/docs" || path.starts_with("/docs/");
    if accepts_json || exempt { next.run(request).await } else { ApiError::NotAcceptable.into_response() }
}

/// Whether an `Accept` header value admits `application/json` or `application/problem+json`.
fn accepts_json(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let p = p.trim().to_ascii_lowercase();
            p.strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()).is_some_and(|q| q <= 0.0)
        });
        !refused
            && matches!(
                media.as_str(),
                "*/*" | "application/*" | "application/json" | "application/problem+json"
            )
    })
}

/// Gives every error response a problem document, whoever produced it (the router's 404 and
/// 405, a panic caught, a layer's rejection), keeping its headers such as `Allow`.
pub async fn problem_bodies(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let (code, detail) = match status {
        StatusCode::NOT_FOUND => ("request.route_not_found", "no operation has this path".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => (
            "request.method_not_allowed",
            "the method is not allowed on this path; the Allow header lists those that are".to_owned(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => {
            ("request.body_too_large", "the request body is too large".to_owned())
        }
        StatusCode::INTERNAL_SERVER_ERROR => {
            tracing::error!("a handler failed without an error of ours (a panic?)");
            ("internal", "the server failed to handle the request; it has been logged".to_owned())
        }
        other => ("request.error", other.canonical_reason().unwrap_or("error").to_lowercase()),
    };
    let fresh = problem_response(&problem(status, code, Some(detail), Vec::new()));
    let (fresh_parts, body) = fresh.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, fresh_parts.headers[header::CONTENT_TYPE].clone());
    Response::from_parts(parts, body)
}

/// Re-indents a JSON response when the query says `pretty=true`.
pub async fn pretty(request: Request, next: Next) -> Response {
    let wants_pretty = request
        .uri()
        .query()
        .is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "pretty" && v == "true"));
    let response = next.run(request).await;
    let is_json = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes();
        v.starts_with(b"application/json") || v.starts_with(PROBLEM_JSON.as_bytes())
    });
    if !wants_pretty || !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, PRETTY_LIMIT).await else {
        return ApiError::Internal("a response body could not be read".into()).into_response();
    };
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(value) => {
            let mut indented = serde_json::to_vec_pretty(&value).unwrap_or_else(|_| bytes.to_vec());
            indented.push(b'\n');
            indented
        }
        Err(_) => bytes.to_vec(),
    };
    parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::accepts_json;

    #[test]
    fn json_is_acceptable_through_wildcards_but_not_at_q_zero() {
        for ok in ["*/*", "application/json", "text/html, application/*;q=0.5", "application/problem+json"] {
            assert!(accepts_json(ok), "{ok}");
        }
        for refused in ["text/html", "application/xml", "application/json;q=0", "image/*"] {
            assert!(!accepts_json(refused), "{refused}");
        }
    }
}
