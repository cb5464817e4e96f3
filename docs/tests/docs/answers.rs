//! Every success example of the reference is a real answer: for each, a fresh server is brought to
//! the state the example shows (the key it shows, the keys a page lists), is sent the request the
//! operation's pages show, and answers with the example's fields, types and constants.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keyward_docs::spec::Operation;
use serde_json::{Map, Value, json};

use crate::helpers::{TestServer, api, sample_body, spawn_server};
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
                let server = spawn_server().await;
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
async fn answer(server: &TestServer, operation: &Operation, example: &Value) -> (u16, Value) {
    let mut ids: Vec<(&str, String)> = Vec::new();
    let mut body = sample_body(operation);
    let user_id = operation
        .path_parameters()
        .find(|p| p.name == "user_id")
        .map(|p| p.example.as_str().expect("a user id is a string").to_owned());

    if operation.path_parameters().any(|p| p.name == "api_key_id") {
        let shown =
            shown_key(example).unwrap_or_else(|| panic!("{}: the example shows no key", operation.id));
        let (id, _) = make_key_like(server, shown, user_id.as_deref(), true).await;
        ids.push(("api_key_id", id));
    }
    if let Some(items) = example.get("api_keys").and_then(Value::as_array) {
        make_listed_keys(server, items, example.pointer("/_links/next").is_some(), user_id.as_deref()).await;
    }
    if let Some(code) = example.get("code").and_then(Value::as_str).filter(|_| example.get("valid").is_some())
    {
        match code {
            // The request's key is the example's, which no server minted: a NOT_FOUND.
            "NOT_FOUND" => {}
            "VALID" => {
                let shown = shown_key(example).expect("a VALID verdict shows its key");
                let (_, secret) = make_key_like(server, shown, None, false).await;
                body.as_mut().expect("a verify request has a body")["key"] = json!(secret);
            }
            other => panic!("{}: teach this test to bring about a {other} verdict", operation.id),
        }
    }

    let ids: Vec<(&str, &str)> = ids.iter().map(|(name, id)| (*name, id.as_str())).collect();
    let mut request = server.sample(operation, &ids, &server.root_key);
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

/// Creates a key like `shown` (its name, owner, scopes, limits and so on; an expiry as far from
/// now as the shown one is from its creation) and, when `use_it` and `shown` was used, verifies
/// it once and waits for that use to be recorded. Returns its id and secret.
async fn make_key_like(
    server: &TestServer,
    shown: &Value,
    user_id: Option<&str>,
    use_it: bool,
) -> (String, String) {
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
    if let Some(user_id) = user_id {
        body.insert("user_id".to_owned(), json!(user_id));
    }
    if let (Some(expires_at), Some(created_at)) = (shown["expires_at"].as_i64(), shown["created_at"].as_i64())
    {
        body.insert("expires_at".to_owned(), json!(now_ms() + (expires_at - created_at)));
    }
    let created = server.create_key_from(&Value::Object(body)).await;
    let id = created["api_key"]["id"].as_str().expect("an id").to_owned();
    let secret = created["key"].as_str().expect("a secret").to_owned();
    if use_it && !shown["last_used_at"].is_null() {
        let (status, verdict) =
            server.call("POST", "/v1/keys/verify", &server.root_key, Some(&json!({"key": secret}))).await;
        assert_eq!(status, 200, "verifying a key made for an example: {verdict}");
        wait_for_use(server, &id).await;
    }
    (id, secret)
}

/// Waits until the key's view shows a use (usage reaches the store a moment after a verify).
async fn wait_for_use(server: &TestServer, id: &str) {
    for _ in 0..100 {
        let (_, key) = server.call("GET", &format!("/v1/api_keys/{id}"), &server.root_key, None).await;
        if !key["last_used_at"].is_null() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the use of key {id} was not recorded within 5 s");
}

/// Creates the keys a list page shows, oldest first so that the page lists them in its order
/// (newest first), after one more when the page has a next one.
async fn make_listed_keys(server: &TestServer, items: &[Value], more: bool, user_id: Option<&str>) {
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
        server.create_key_from(&body).await;
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
