//! Every operation `openapi.yaml` documents × every kind of caller: no credential, a malformed
//! one and a revoked one are 401; one without the needed scope is 403; another organization's
//! never sees this organization's objects and never changes them, and is answered 404 (never 403)
//! on a path that names one. The list comes from the document and every path parameter's fixture
//! from `keyward-testing`'s table, so a new operation, or a new kind of object in a path, is
//! covered the day it is written down.

use keyward_testing::fixtures::Filled;
use keyward_testing::{Fixtures, TestApp, assert_problem, on_both_stores};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::coverage::{Operation, documented_operations, valid_body};

on_both_stores!(every_operation_refuses_every_caller_it_should,);

/// The operation's request on `path`, with its valid body, presenting `key` (if any).
fn request(app: &TestApp, operation: &Operation, path: &str, key: Option<&str>) -> reqwest::RequestBuilder {
    let mut request = app.anonymous(operation.method.clone(), path);
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    match valid_body(&operation.id) {
        Some(body) => request.json(&body),
        None => request,
    }
}

/// What the paths that show `filled`'s fixtures and the key `bystander` answer `key` now.
async fn views(app: &TestApp, filled: &Filled, bystander: &str, key: &str) -> Vec<(String, Value)> {
    let mut seen = Vec::new();
    for view in filled.views().into_iter().chain([format!("/v1/api_keys/{bystander}")]) {
        let (status, body) = app.call(Method::GET, &view, key, None).await;
        assert_eq!(status, StatusCode::OK, "{view}: {body}");
        seen.push((view, body));
    }
    seen
}

/// Sends `operation` on `owner`'s fixtures presenting `intruder`, another organization's key,
/// and asserts it is answered as the table says, and shows and changes none of them, nor a key
/// of `owner`'s that the path does not name.
async fn intrude(app: &TestApp, operation: &Operation, owner: &str, intruder: &str, who: &str) {
    let filled = Fixtures::of(app, owner).fill(&operation.path).await;
    let bystander = app.create_json_as(owner, &json!({"name": "bystander", "user_id": "ann"})).await;
    let bystander = bystander["api_key"]["id"].as_str().unwrap().to_owned();
    let label = format!("{} {} by {who}", operation.method, operation.id);
    let before = views(app, &filled, &bystander, owner).await;
    let response = request(app, operation, &filled.path, Some(intruder)).send().await.unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    for id in filled.made().chain([bystander.as_str()]) {
        assert!(!body.contains(id), "{label} saw {id}: {body}");
    }
    if filled.names_an_owned_object() {
        // An object of another organization is a 404, never a 403 that would say it exists.
        assert_eq!(status, StatusCode::NOT_FOUND, "{label} on {}: {body}", filled.path);
    } else if !filled.fixtures.is_empty() {
        // Names each organization has its own of: answered about the caller's own, of which
        // there are none.
        assert!(status.is_success(), "{label} on {}: {body}", filled.path);
    }
    let after = views(app, &filled, &bystander, owner).await;
    assert_eq!(after, before, "{label} left {} as it was", filled.path);
}

async fn every_operation_refuses_every_caller_it_should(app: TestApp) {
    let root = app.root_key.clone();
    let (unscoped, _) = app.create_raw(&json!({"name": "no scopes"})).await;
    let (revoked, revoked_id) = app.create_raw(&json!({"name": "revoked"})).await;
    let response = app.request(Method::DELETE, &format!("/v1/api_keys/{revoked_id}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (other, _) = app.second_organization("elsewhere").await;

    let operations: Vec<Operation> = documented_operations().into_iter().filter(|o| o.secured).collect();
    assert!(operations.iter().any(|o| o.id == "api_key_rotate"), "the document is read whole");
    for operation in &operations {
        // Fresh fixtures of this organization for each operation to aim at.
        let path = Fixtures::of(&app, &root).fill(&operation.path).await.path;
        let label = |who: &str| format!("{} {} by {who}", operation.method, operation.id);

        let cases: [(&str, Option<&str>, u16, &str); 4] = [
            ("nobody", None, 401, "auth.missing_key"),
            ("a malformed key", Some("kw_not-a-key"), 401, "auth.malformed_key"),
            ("a revoked key", Some(&revoked), 401, "auth.key_revoked"),
            ("a key without scopes", Some(&unscoped), 403, "auth.missing_scope"),
        ];
        for (who, key, status, code) in cases {
            let response = request(&app, operation, &path, key).send().await.unwrap();
            assert_eq!(response.status().as_u16(), status, "{}", label(who));
            assert_problem(response, status, code).await;
        }

        // Both ways: the other organization on this one's fixtures, and this one on the other's.
        intrude(&app, operation, &root, &other.key, "another organization").await;
        intrude(&app, operation, &other.key, &root, "this organization, on another's").await;
    }

    // Verify takes the key in its body: another organization's verdict on our key is NOT_FOUND.
    let (ours, _) = app.create_raw(&json!({"name": "verified elsewhere"})).await;
    let verify = app.anonymous(Method::POST, "/v1/keys/verify").header("x-api-key", &other.key);
    let verdict: Value = verify.json(&json!({"key": ours})).send().await.unwrap().json().await.unwrap();
    assert_eq!(verdict["code"], "NOT_FOUND", "{verdict}");
    assert!(verdict["api_key"].is_null(), "{verdict}");
}
