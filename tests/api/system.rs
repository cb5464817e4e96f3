//! Health and the served contract, both open without a key.

use keyward::types::HealthStatus;
use keyward_testing::{TestApp, spawn_app};

#[tokio::test]
async fn health_answers_without_a_key() {
    let app = spawn_app().await;
    let anonymous = keyward::Client::builder(&app.base_url).build().expect("a client without a key");
    let health = anonymous.health_view().send().await.unwrap().into_inner();
    assert_eq!(health.status, HealthStatus::Ok);
    assert_eq!(health.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(health.links.self_.href, "/v1/health");
}

#[tokio::test]
async fn the_server_serves_the_committed_contract() {
    let app = spawn_app().await;
    let response = app.anonymous(reqwest::Method::GET, "/openapi.yaml").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/yaml");
    let served = response.text().await.unwrap();
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    assert_eq!(served, committed);
}

#[tokio::test]
async fn pretty_true_indents_any_json_response_including_problems() {
    let app = spawn_app().await;
    let compact = anonymous_text(&app, "/v1/health").await;
    assert!(!compact.contains('\n'));
    let pretty = anonymous_text(&app, "/v1/health?pretty=true").await;
    assert!(pretty.contains("\n  \"status\": \"ok\""), "{pretty}");
    let problem = anonymous_text(&app, "/v1/api_keys?pretty=true").await;
    assert!(problem.contains("\n  \"code\": \"auth.missing_key\""), "{problem}");
}

/// The body of a `GET` of `path` sent without a key.
async fn anonymous_text(app: &TestApp, path: &str) -> String {
    app.anonymous(reqwest::Method::GET, path).send().await.unwrap().text().await.unwrap()
}
