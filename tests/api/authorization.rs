//! Every operation `openapi.yaml` documents × every kind of caller: no credential, a malformed
//! one and a revoked one are 401; one without the needed scope is 403; another organization's
//! is 404 on this organization's key (never 403), never sees it and never changes it. The list comes from the document, so a
//! new operation is covered the day it is written down.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::coverage::{Operation, documented_operations, valid_body};
use crate::helpers::{TestApp, assert_problem, on_both_stores};

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

async fn create(app: &TestApp, key: &str, body: Value) -> Value {
    let response =
        app.anonymous(Method::POST, "/v1/api_keys").header("x-api-key", key).json(&body).send().await;
    let response = response.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn every_operation_refuses_every_caller_it_should(app: TestApp) {
    let root = app.root_key.clone();
    let unscoped =
        create(&app, &root, json!({"name": "no scopes"})).await["key"].as_str().unwrap().to_owned();
    let revoked = create(&app, &root, json!({"name": "revoked"})).await;
    let revoked_id = revoked["api_key"]["id"].as_str().unwrap();
    let response = app.request(Method::DELETE, &format!("/v1/api_keys/{revoked_id}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let revoked = revoked["key"].as_str().unwrap().to_owned();
    let (other, _) = app.second_organization("elsewhere").await;

    let operations: Vec<Operation> = documented_operations().into_iter().filter(|o| o.secured).collect();
    assert!(operations.iter().any(|o| o.id == "api_key_rotate"), "the document is read whole");
    for operation in &operations {
        // A fresh key of this organization, of user `ann`, for each operation to aim at.
        let ours = create(&app, &root, json!({"name": "target", "user_id": "ann"})).await;
        let id = ours["api_key"]["id"].as_str().unwrap();
        let path = operation.path.replace("{api_key_id}", id).replace("{user_id}", "ann");
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

        let response = request(&app, operation, &path, Some(&other.key)).send().await.unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(!body.contains(id), "{} saw our key: {body}", label("another organization"));
        // On our objects another organization gets a 404, never a 403 that would say they exist.
        if operation.path.contains("{api_key_id}") {
            assert_eq!(status, StatusCode::NOT_FOUND, "{}: {body}", label("another organization"));
        }
        let ours_now = app.get_json(&format!("/v1/api_keys/{id}")).await;
        assert_eq!(
            (ours_now["name"].as_str(), ours_now["deleted"].as_bool()),
            (Some("target"), Some(false)),
            "{} left it as it was",
            operation.id
        );
    }

    // Verify takes the key in its body: another organization's verdict on our key is NOT_FOUND.
    let ours = create(&app, &root, json!({"name": "verified elsewhere"})).await;
    let verify = app.anonymous(Method::POST, "/v1/keys/verify").header("x-api-key", &other.key);
    let verdict: Value =
        verify.json(&json!({"key": ours["key"]})).send().await.unwrap().json().await.unwrap();
    assert_eq!(verdict["code"], "NOT_FOUND", "{verdict}");
    assert!(verdict["api_key"].is_null(), "{verdict}");
}
