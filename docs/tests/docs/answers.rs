//! Every success example of the reference is a real answer: for each, a fresh server is brought to
//! the state the example shows (the key it shows, the keys a page lists), is sent the request the
//! operation's pages show, and answers with the example's fields, types and constants.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keyward_docs::spec::Operation;
use keyward_testing::fixtures::{self, Scoping};
use keyward_testing::{Fixtures, TestApp, spawn_app};
use serde_json::{Map, Value, json};

use crate::helpers::{Samples, api, sample_body, shown_value};
use crate::shapes::shape_differences;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_success_example_has_the_shape_of_the_real_answer_to_the_request_its_page_shows() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for operation in &api().operations {
        let status = operation.success_status().expect("every operation documents a success");
        let response = operation
            .responses
            .iter()
            .find(|r| r.status == status.to_string())
            .expect("the success response");
        for media in &response.content {
            let schema = media.schema.as_ref().expect("a success body has a schema");
            for example in &media.examples {
                assert!(
                    !example.synthesized,
                    "{}: openapi.yaml gives no {status} {} example, so the reference made one up",
                    operation.id, media.media_type
                );
                let server = spawn_app().await;
                let (real_status, real) = answer(&server, operation, &example.value).await;
                checked += 1;
                let name = example.name.as_deref().unwrap_or("example");
                let mut wrong = shape_differences(api(), schema, &example.value, &real);
                if real_status != status {
                    wrong.insert(0, format!("the server answered {real_status}, not {status}"));
                }
                if !wrong.is_empty() {
                    failures.push(format!(
                        "{} ({name}):\n  {}\nthe server answered:\n{}",
                        operation.id,
                        wrong.join("\n  "),
                        serde_json::to_string_pretty(&real).unwrap_or_default()
                    ));
                }
            }
        }
    }
    println!("{checked} success examples compared with real answers");
    assert!(checked >= api().operations.len(), "every operation has a success example");
    assert!(
        failures.is_empty(),
        "{} success examples are no real answer:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The real answer to the request `operation`'s pages show, made to `server` once it holds what
/// `example` shows.
async fn answer(server: &TestApp, operation: &Operation, example: &Value) -> (u16, Value) {
    let mut body = sample_body(operation);
    // The path's fixtures, of the names the example shows (the answer repeats them, a user's in
    // its links) and of keys like the one it shows.
    let mut fixtures = Fixtures::of(server, &server.root_key);
    for parameter in operation.path_parameters() {
        if fixtures::parameter(&parameter.name, &operation.path).scoping == Scoping::Named {
            fixtures = fixtures.given(&parameter.name, shown_value(&parameter.example));
        }
    }
    if let Some(shown) = shown_key(example) {
        fixtures = fixtures.keys_like(key_like(shown));
    }
    let filled = fixtures.fill(&operation.path).await;
    let user_id = filled.value("user_id");
    if let Some(made) = filled.fixture("api_key_id") {
        let shown =
            shown_key(example).unwrap_or_else(|| panic!("{}: the example shows no key", operation.id));
        let secret = made.answer.as_ref().and_then(|a| a["key"].as_str()).expect("the key's secret");
        use_like(server, shown, &made.value, secret).await;
    }
    if let Some(items) = example.get("api_keys").and_then(Value::as_array) {
        make_listed_keys(server, items, example.pointer("/_links/next").is_some(), user_id).await;
    }
    if let Some(code) = example.get("code").and_then(Value::as_str).filter(|_| example.get("valid").is_some())
    {
        match code {
            // The request's key is the example's, which no server minted: a NOT_FOUND.
            "NOT_FOUND" => {}
            "VALID" => {
                let shown = shown_key(example).expect("a VALID verdict shows its key");
                let (secret, _) = server.create_raw(&key_like(shown)).await;
                body.as_mut().expect("a verify request has a body")["key"] = json!(secret);
            }
            other => panic!("{}: teach this test to bring about a {other} verdict", operation.id),
        }
    }

    let mut request = server.sample(operation, &filled.ids(), &server.root_key);
    if let Some(body) = &body {
        request = request.body(body.to_string());
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let yaml = response
        .headers()
        .get("content-type")
        .is_some_and(|t| t.to_str().unwrap_or_default().contains("yaml"));
    let text = response.text().await.expect("a body");
    let value =
        if yaml { yaml_to_json(&text) } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, value)
}

/// The key an example shows: the example itself, or its `api_key`.
fn shown_key(example: &Value) -> Option<&Value> {
    if example.get("masked_key").is_some() { Some(example) } else { example.get("api_key") }
}

/// An `api_key_create` body for a key like `shown`: its name, owner, scopes, limits and so on;
/// an expiry as far from now as the shown one is from its creation.
fn key_like(shown: &Value) -> Value {
    let mut body = Map::new();
    for field in [
        "name",
        "description",
        "user_id",
        "customer_id",
        "billing_id",
        "prefix",
        "scopes",
        "metadata",
        "status",
        "rate_limit",
        "credits",
    ] {
        if let Some(value) = shown.get(field).filter(|v| !v.is_null()) {
            body.insert(field.to_owned(), value.clone());
        }
    }
    if let (Some(expires_at), Some(created_at)) = (shown["expires_at"].as_i64(), shown["created_at"].as_i64())
    {
        body.insert("expires_at".to_owned(), json!(now_ms() + (expires_at - created_at)));
    }
    Value::Object(body)
}

/// When `shown` was used, verifies the key `id` (its secret `secret`) once and waits for that
/// use to be recorded.
async fn use_like(server: &TestApp, shown: &Value, id: &str, secret: &str) {
    if shown["last_used_at"].is_null() {
        return;
    }
    let verdict = server.verify_json(&json!({"key": secret}), None).await;
    assert!(verdict.is_ok(), "verifying a key made for an example: {verdict:?}");
    wait_for_use(server, id).await;
}

/// Waits until the key's view shows a use (usage reaches the store a moment after a verify).
async fn wait_for_use(server: &TestApp, id: &str) {
    for _ in 0..100 {
        let key = server.get_json(&format!("/v1/api_keys/{id}")).await;
        if !key["last_used_at"].is_null() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the use of key {id} was not recorded within 5 s");
}

/// Creates the keys a list page shows, oldest first so that the page lists them in its order
/// (newest first), after one more when the page has a next one.
async fn make_listed_keys(server: &TestApp, items: &[Value], more: bool, user_id: Option<&str>) {
    let mut names: Vec<&str> =
        items.iter().rev().map(|item| item["name"].as_str().expect("a name")).collect();
    if more {
        names.insert(0, "an older key");
    }
    for name in names {
        let mut body = json!({"name": name});
        if let Some(user_id) = user_id {
            body["user_id"] = json!(user_id);
        }
        server.create_json(&body).await;
    }
}

fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).expect("a clock after 1970");
    i64::try_from(since.as_millis()).expect("a time in range")
}

/// A YAML document as JSON values.
fn yaml_to_json(text: &str) -> Value {
    yaml_serde::from_str(text).expect("the server's YAML parses")
}
