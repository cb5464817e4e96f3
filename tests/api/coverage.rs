//! Every status `openapi.yaml` documents for every operation is provoked for real, and answered
//! with the documented content type: a new status in the spec fails here until a scenario exists.

use keyward_testing::fixtures::Filled;
use keyward_testing::{
    Fixtures, TestApp, hold_the_only_request_slot, on_both_stores, spawn_app_configured, spawn_postgres_app,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;

on_both_stores!(every_documented_status_of_every_operation_is_returned_for_real);

/// A documented operation, as read from `openapi.yaml`.
pub struct Operation {
    pub id: String,
    pub method: Method,
    pub path: String,
    pub statuses: Vec<(u16, Option<String>)>,
    /// Whether it needs a credential (`security` not set to `[]`).
    pub secured: bool,
}

pub fn documented_operations() -> Vec<Operation> {
    let spec = keyward_contract::committed_spec();
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = resolve(&spec, &operation["responses"]);
            let statuses = responses
                .as_object()
                .unwrap()
                .iter()
                .map(|(status, response)| {
                    let response = resolve(&spec, response);
                    let content_type = response["content"].as_object().and_then(|c| c.keys().next().cloned());
                    (status.parse().expect("numeric statuses only"), content_type)
                })
                .collect();
            let secured =
                operation.get("security").is_none_or(|s| s.as_array().is_some_and(|s| !s.is_empty()));
            operations.push(Operation {
                secured,
                id: operation["operationId"].as_str().unwrap().to_owned(),
                method: method.to_uppercase().parse().unwrap(),
                path: path.clone(),
                statuses,
            });
        }
    }
    operations
}

fn resolve(spec: &Value, value: &Value) -> Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            spec.pointer(pointer).cloned().unwrap_or_else(|| panic!("dangling {reference}"))
        }
        None => value.clone(),
    }
}

/// A valid body for the operations that take one.
pub fn valid_body(operation: &str) -> Option<Value> {
    match operation {
        "api_key_create" | "organization_create" => Some(json!({"name": "coverage"})),
        "api_key_update" => Some(json!({"name": "covered"})),
        "api_key_rotate" => Some(json!({"grace_period_ms": 0})),
        "api_key_verify" => Some(json!({"key": "not-a-key"})),
        _ => None,
    }
}

/// The operation's path filled in with live fixtures of the root key's organization.
async fn live_path(app: &TestApp, operation: &Operation) -> Filled {
    Fixtures::of(app, &app.root_key).fill(&operation.path).await
}

/// The servers the scenarios need beside the main one.
struct Harness {
    app: TestApp,
    unscoped_key: String,
    /// A server that allows one failed authentication a minute, already spent.
    limited: TestApp,
    /// A server that takes one request at a time, held by a body that never ends.
    saturated: TestApp,
    _holder: tokio::task::JoinHandle<reqwest::Result<StatusCode>>,
}

impl Harness {
    async fn start(app: TestApp) -> Self {
        let (unscoped_key, _) = app.create_raw(&json!({"name": "no scopes"})).await;
        let limited = spawn_app_configured(|config| config.auth_failures_per_minute = 1).await;
        let spent = limited.anonymous(Method::GET, "/v1/organization").send().await.unwrap();
        assert_eq!(spent.status(), StatusCode::UNAUTHORIZED, "the one failure allowed");
        let saturated = spawn_app_configured(|config| config.max_in_flight = 1).await;
        let holder = hold_the_only_request_slot(&saturated).await;
        Self { app, unscoped_key, limited, saturated, _holder: holder }
    }
}

/// Sends the request that should get `status` from `operation`.
async fn provoke(harness: &Harness, operation: &Operation, status: u16) -> reqwest::Response {
    let (app, unscoped_key) = (&harness.app, harness.unscoped_key.as_str());
    let filled = live_path(app, operation).await;
    let path = filled.path.clone();
    let request = |path: &str| {
        let mut request = app.request(operation.method.clone(), path);
        if let Some(body) = valid_body(&operation.id) {
            request = request.json(&body);
        }
        request
    };
    match status {
        200 | 201 => request(&path).send().await,
        400 => request(&format!("{path}?pretty=maybe")).send().await,
        401 => {
            let mut anonymous = app.anonymous(operation.method.clone(), &path);
            if let Some(body) = valid_body(&operation.id) {
                anonymous = anonymous.json(&body);
            }
            anonymous.send().await
        }
        403 => {
            let mut request =
                app.anonymous(operation.method.clone(), &path).header("x-api-key", unscoped_key);
            if let Some(body) = valid_body(&operation.id) {
                request = request.json(&body);
            }
            request.send().await
        }
        404 => request(&filled.naming_nothing()).send().await,
        406 => request(&path).header("accept", "text/html").send().await,
        409 if operation.id == "api_key_delete" => {
            // An organization's only key that can manage keys revoking itself.
            let (other, _) = app.second_organization("alone").await;
            let root = format!("/v1/api_keys/{}", other.api_key.id);
            app.anonymous(Method::DELETE, &root).header("x-api-key", &other.key).send().await
        }
        409 => {
            let key_path = path.trim_end_matches("/rotate");
            app.request(Method::DELETE, key_path).send().await.unwrap();
            request(&path).send().await
        }
        412 => request(&path).header("if-match", "\"999\"").send().await,
        413 => {
            let body = json!({"name": "x".repeat(80 * 1024)});
            app.request(operation.method.clone(), &path).json(&body).send().await
        }
        415 => {
            app.request(operation.method.clone(), &path)
                .header("content-type", "text/plain")
                .body("{}")
                .send()
                .await
        }
        422 => app.request(operation.method.clone(), &path).json(&json!({"name": ""})).send().await,
        429 => {
            let mut failing = harness.limited.anonymous(operation.method.clone(), &path);
            if let Some(body) = valid_body(&operation.id) {
                failing = failing.json(&body);
            }
            failing.send().await
        }
        431 => request(&path).header("x-padding", "x".repeat(20 * 1024)).send().await,
        503 if operation.id == "ready_view" => not_ready().await,
        503 => {
            let mut request = harness.saturated.request(operation.method.clone(), &path);
            if let Some(body) = valid_body(&operation.id) {
                request = request.json(&body);
            }
            request.send().await
        }
        other => {
            panic!("no scenario provokes {other} from {}: add one to tests/api/coverage.rs", operation.id)
        }
    }
    .unwrap()
}

/// `GET /v1/ready` from an instance whose change feed cannot be read: a PostgreSQL instance
/// whose `changes` table was taken away under it.
async fn not_ready() -> reqwest::Result<reqwest::Response> {
    let app = spawn_postgres_app().await;
    let mut admin = sqlx::PgConnection::connect(&app.database_url).await.unwrap();
    sqlx::query("ALTER TABLE changes RENAME TO changes_gone").execute(&mut admin).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let response = app.anonymous(Method::GET, "/v1/ready").send().await?;
        if response.status() != StatusCode::OK || std::time::Instant::now() > deadline {
            return Ok(response);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn every_documented_status_of_every_operation_is_returned_for_real(app: TestApp) {
    let harness = Harness::start(app).await;

    // On drift, say so first: the scenarios below would only fail on its consequences.
    let generated = serde_json::to_value(keyward_server::api::openapi()).unwrap();
    let contract = keyward_contract::committed_spec();
    let drift = keyward_contract::diff(
        &keyward_contract::canonicalize(&contract),
        &keyward_contract::canonicalize(&generated),
    );
    assert!(
        drift.is_empty(),
        "openapi.yaml and the handlers disagree (`-` openapi.yaml, `+` the handlers):\n{drift}"
    );
    let operations = documented_operations();
    // Operations, not links (which name an operation too, deeper in).
    let declared =
        keyward_contract::OPENAPI_YAML.lines().filter(|l| l.starts_with("      operationId:")).count();
    assert_eq!(operations.len(), declared, "every operation of openapi.yaml is read");
    let mut checked = 0;
    for operation in &operations {
        for (status, content_type) in &operation.statuses {
            let response = provoke(&harness, operation, *status).await;
            let label = format!("{} {} -> {status}", operation.id, operation.method);
            assert_eq!(response.status(), StatusCode::from_u16(*status).unwrap(), "{label}");
            let got = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(got.as_deref(), content_type.as_deref(), "{label}");
            checked += 1;
        }
    }
    assert!(checked > 60, "only {checked} statuses were checked");
}
