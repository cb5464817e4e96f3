//! Fuzz target: the whole router in-process over a SQLite file: any method, path, query,
//! `Accept`, content type, credential and body gets a status other than 500, every error is a
//! problem document, and `pretty=true` on a JSON response still gives JSON.
#![no_main]

use std::sync::LazyLock;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Method, Request, header};
use keyward_server::config::Config;
use keyward_server::domain::key::{KeyPrefix, Secret};
use keyward_server::startup::Application;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    router: Router,
    admin_key: String,
    /// A key the fuzzer may change or revoke (never the admin key it authenticates with).
    victim: String,
    _dir: tempfile::TempDir,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let admin_key = Secret::generate(&KeyPrefix::default()).expose().to_owned();
    let mut config = Config::for_tests(format!("sqlite://{}", dir.path().join("fuzz.db").display()));
    config.admin_key = Some(admin_key.clone());
    let (router, victim) = runtime.block_on(async {
        let app = Application::build(&config).await.unwrap();
        let router = app.router();
        let create = Request::post("/v1/api_keys")
            .header("x-api-key", &admin_key)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"name":"victim"}"#))
            .unwrap();
        let response = router.clone().oneshot(create).await.unwrap();
        let body: serde_json::Value =
            serde_json::from_slice(&to_bytes(response.into_body(), 1 << 20).await.unwrap()).unwrap();
        (router, body["api_key"]["id"].as_str().unwrap().to_owned())
    });
    Fixture { runtime, router, admin_key, victim, _dir: dir }
});

#[derive(Debug, Arbitrary)]
struct Input {
    method: u8,
    path: u8,
    raw_path: String,
    id: u8,
    query: String,
    accept: Option<String>,
    content_type: Option<String>,
    credential: u8,
    body: Vec<u8>,
}

const PATHS: [&str; 11] = [
    "/v1/health",
    "/v1/ready",
    "/openapi.yaml",
    "/v1/organizations",
    "/v1/organization",
    "/v1/api_keys",
    "/v1/api_keys/{id}",
    "/v1/api_keys/{id}/rotate",
    "/v1/keys/verify",
    "/v1/users/ann/api_keys",
    "/v1/users/ann/api_keys/{id}",
];

fuzz_target!(|input: Input| {
    let fixture = &*FIXTURE;
    let methods = [Method::GET, Method::POST, Method::PATCH, Method::DELETE, Method::PUT];
    let method = methods[usize::from(input.method % 5)].clone();
    let id = match input.id % 3 {
        0 => fixture.victim.clone(),
        1 => "0190c8c2-3f4a-7d1e-9b6a-2f1c3d4e5a6b".to_owned(),
        _ => input.raw_path.clone(),
    };
    let path = match PATHS.get(usize::from(input.path)) {
        Some(template) => template.replace("{id}", &id),
        None => input.raw_path.clone(),
    };
    let uri = if input.query.is_empty() { path } else { format!("{path}?{}", input.query) };
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(accept) = &input.accept {
        request = request.header(header::ACCEPT, accept);
    }
    if let Some(content_type) = &input.content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    request = match input.credential % 3 {
        0 => request.header("x-api-key", &fixture.admin_key),
        1 => {
            request.header(header::AUTHORIZATION, format!("Bearer {}", String::from_utf8_lossy(&input.body)))
        }
        _ => request,
    };
    let Ok(request) = request.body(Body::from(input.body.clone())) else { return };
    let wants_pretty = input.query.split('&').any(|pair| pair == "pretty=true");
    fixture.runtime.block_on(async {
        let response = fixture.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        assert_ne!(status.as_u16(), 500, "a request made the server fail");
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if status.is_client_error() || status.is_server_error() {
            assert_eq!(
                content_type, "application/problem+json",
                "every error is a problem document ({status})"
            );
        }
        let body = to_bytes(response.into_body(), 16 << 20).await.unwrap();
        if content_type.starts_with("application/json")
            || content_type.starts_with("application/problem+json")
        {
            let parsed = serde_json::from_slice::<serde_json::Value>(&body);
            assert!(parsed.is_ok(), "a JSON response is JSON (pretty: {wants_pretty})");
        }
    });
});
