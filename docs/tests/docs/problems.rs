//! Every error example of the reference is a real answer of that operation: for each problem an
//! operation's page shows, a real server is brought to make it (no key, a revoked one, a body
//! too large, a bound broken, a second request past a limit of one in flight…) from the request
//! the page shows, and answers with the example's status, code, fields and `errors`.

use keyward_docs::spec::{Operation, problem_code};
use keyward_server::domain::key::{KeyPrefix, Secret};
use keyward_testing::{Fixtures, TestApp, hold_the_only_request_slot, spawn_app, spawn_app_configured};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{SampleParts, Samples, api, sample_body};
use crate::shapes::shape_differences;

/// A problem no test here can make a server answer on demand, why, and the operations the
/// server's code can answer it from; a page that shows it elsewhere is wrong.
struct NotProvoked {
    code: &'static str,
    why: &'static str,
    answers: fn(&Operation) -> bool,
}

/// Whether an operation reads the store, and so can find it busy or out of reach (`ready_view`
/// reports a store that does not answer as `system.not_ready`).
fn reads_the_store(operation: &Operation) -> bool {
    !["health_view", "ready_view", "openapi_view"].contains(&operation.id.as_str())
}

/// Whether an operation takes a consistency token, and so can be behind the write it names.
fn takes_a_token(operation: &Operation) -> bool {
    operation.parameters.iter().any(|p| p.name.eq_ignore_ascii_case("Keyward-Consistency-Token"))
}

const NOT_PROVOKED: [NotProvoked; 5] = [
    NotProvoked {
        code: "system.not_ready",
        why: "an instance that lost the change feed (PostgreSQL only); only ready_view reports it",
        answers: |op| op.id == "ready_view",
    },
    NotProvoked {
        code: "system.busy",
        why: "a store that stays locked or has no connection free in time; any operation that reads it",
        answers: reads_the_store,
    },
    NotProvoked {
        code: "system.store_unavailable",
        why: "a store out of reach (PostgreSQL down); any operation that reads it",
        answers: reads_the_store,
    },
    NotProvoked {
        code: "system.behind",
        why: "an instance that has not applied another instance's write within 2 s; only operations that take a token",
        answers: takes_a_token,
    },
    NotProvoked {
        code: "request.unreadable_body",
        why: "a body cut short by the client; only operations that read a body",
        answers: |op| op.request_body.is_some(),
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_problem_an_operation_page_shows_is_what_the_server_answers_that_operation() {
    let mut failures = Vec::new();
    let (mut provoked, mut declared) = (0, 0);
    for operation in &api().operations {
        for response in operation.responses.iter().filter(|r| r.status.starts_with(['4', '5'])) {
            for media in &response.content {
                let schema = media.schema.as_ref().expect("a problem has a schema");
                for example in &media.examples {
                    let place = format!(
                        "{} {} ({})",
                        operation.id,
                        response.status,
                        example.name.as_deref().unwrap_or("example")
                    );
                    if example.synthesized {
                        failures.push(format!(
                            "{place}: openapi.yaml gives no example, so the reference made one up"
                        ));
                        continue;
                    }
                    let Some(code) = problem_code(&example.value) else {
                        failures.push(format!("{place}: not a problem document whose type names its code"));
                        continue;
                    };
                    if let Some(known) = NOT_PROVOKED.iter().find(|known| known.code == code) {
                        declared += 1;
                        if !(known.answers)(operation) {
                            failures.push(format!(
                                "{place}: {code} is not answered by this operation ({})",
                                known.why
                            ));
                        }
                        continue;
                    }
                    let Some((status, real)) = provoke(operation, code, &example.value).await else {
                        failures.push(format!(
                            "{place}: teach this test to make the server answer {code}, or take it off the page"
                        ));
                        continue;
                    };
                    provoked += 1;
                    let mut wrong = shape_differences(api(), schema, &example.value, &real);
                    if response.status != status.to_string() {
                        wrong.insert(0, format!("the server answered {status}"));
                    }
                    for field in ["type", "title", "status", "code"] {
                        if real.get(field) != example.value.get(field) {
                            wrong.push(format!(
                                "{field}: the example says {}, the server {}",
                                example.value[field], real[field]
                            ));
                        }
                    }
                    let errors = |problem: &Value| -> Vec<(Value, Value)> {
                        problem["errors"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|e| (e["code"].clone(), e["fields"].clone()))
                            .collect()
                    };
                    if errors(&example.value) != errors(&real) {
                        wrong.push(format!(
                            "errors: the example names {:?}, the server {:?}",
                            errors(&example.value),
                            errors(&real)
                        ));
                    }
                    if !wrong.is_empty() {
                        failures.push(format!(
                            "{place}:\n  {}\nthe server answered:\n{}",
                            wrong.join("\n  "),
                            serde_json::to_string_pretty(&real).unwrap_or_default()
                        ));
                    }
                }
            }
        }
    }
    println!(
        "{provoked} problem examples compared with real answers, {declared} checked against where the server can answer them"
    );
    assert!(provoked > 100, "only {provoked} problems were provoked");
    assert!(
        failures.is_empty(),
        "{} problem examples are wrong:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Makes a real server answer `code` to `operation`'s example request, changed as that takes;
/// `None` when this test does not know how.
async fn provoke(operation: &Operation, code: &str, example: &Value) -> Option<(u16, Value)> {
    let server = match code {
        "auth.too_many_failures" => spawn_app_configured(|config| config.auth_failures_per_minute = 1).await,
        "system.overloaded" => spawn_app_configured(|config| config.max_in_flight = 1).await,
        _ => spawn_app().await,
    };
    let filled = Fixtures::of(&server, &server.root_key).fill(&operation.path).await;
    let ids = filled.ids();
    let root = server.root_key.clone();
    let mut request = server.sample_parts(operation, &ids, Some(&root));
    match code {
        "request.invalid_query" => {
            let joiner = if request.url.contains('?') { '&' } else { '?' };
            request.url.push_str(&format!("{joiner}pretty=maybe"));
        }
        "request.malformed_json" => request.body = Some("{\"name\": ".to_owned()),
        "request.unsupported_media_type" => set_header(&mut request, "Content-Type", "text/plain"),
        "request.body_too_large" => request.body = Some(format!("{{\"name\": \"{}\"}}", "a".repeat(70_000))),
        "request.invalid_body" => request.body = Some(breaking(operation, example).to_string()),
        "request.not_acceptable" => set_header(&mut request, "Accept", "text/html"),
        "request.headers_too_large" => set_header(&mut request, "X-Padding", &"a".repeat(17 * 1024)),
        "auth.missing_key" => request = without_key(&server, operation, &ids),
        "auth.malformed_key" => request = server.sample_parts(operation, &ids, Some("not-a-keyward-key")),
        "auth.unsupported_scheme" => {
            request = without_key(&server, operation, &ids);
            set_header(&mut request, "Authorization", "Basic dXNlcjpwYXNzd29yZA==");
        }
        "auth.invalid_key" | "auth.too_many_failures" => {
            let unknown = Secret::generate(&KeyPrefix::default()).expose().to_owned();
            request = server.sample_parts(operation, &ids, Some(&unknown));
            if code == "auth.too_many_failures" {
                send(&server, request.clone()).await;
            }
        }
        "auth.key_revoked" | "auth.key_disabled" | "auth.key_expired" => {
            let mut body = json!({"name": "a key that cannot be used"});
            if code == "auth.key_disabled" {
                body["status"] = json!("disabled");
            }
            if code == "auth.key_expired" {
                body["expires_at"] = json!(1_700_000_000_000_i64);
            }
            let created = server.create_json(&body).await;
            if code == "auth.key_revoked" {
                let path = format!("/v1/api_keys/{}", created["api_key"]["id"].as_str().expect("an id"));
                assert_eq!(server.call(Method::DELETE, &path, &root, None).await.0, 200);
            }
            request = server.sample_parts(operation, &ids, created["key"].as_str());
        }
        "auth.missing_scope" | "api_keys.scope_not_grantable" => {
            let scopes = if code == "auth.missing_scope" {
                json!([])
            } else {
                json!([{"resource": "api_keys", "access": "write"}])
            };
            let created = server.create_json(&json!({"name": "a key of few scopes", "scopes": scopes})).await;
            request = server.sample_parts(operation, &ids, created["key"].as_str());
            if code == "api_keys.scope_not_grantable" {
                let mut body = sample_body(operation)?;
                body["scopes"] = json!([{"resource": "organizations", "access": "create"}]);
                request.body = Some(body.to_string());
            }
        }
        "api_keys.key_not_found" => {
            request = server.sample_parts(
                operation,
                &[("api_key_id", "0190c8c2-0000-7000-8000-000000000000")],
                Some(&root),
            );
        }
        "api_keys.key_revoked" => {
            let path = format!("/v1/api_keys/{}", filled.value("api_key_id")?);
            assert_eq!(server.call(Method::DELETE, &path, &root, None).await.0, 200);
        }
        "api_keys.revision_mismatch" => set_header(&mut request, "If-Match", "\"999\""),
        "request.invalid_consistency_token" => {
            set_header(&mut request, "Keyward-Consistency-Token", "ct1_nothing")
        }
        "api_keys.last_manager" => {
            // The root key, the organization's one key that can manage keys, disabling or revoking itself.
            let (_, verdict) =
                server.call(Method::POST, "/v1/keys/verify", &root, Some(&json!({"key": root}))).await;
            let root_id = verdict["api_key"]["id"].as_str().expect("the root key's id").to_owned();
            request = server.sample_parts(operation, &[("api_key_id", &root_id)], Some(&root));
            if request.body.is_some() {
                request.body = Some(json!({"status": "disabled"}).to_string());
            }
        }
        "system.overloaded" => {
            // A request that holds the one slot: its headers are in, its body never comes.
            let held = hold_the_only_request_slot(&server).await;
            let answer = send(&server, request).await;
            held.abort();
            return Some(answer);
        }
        _ => return None,
    }
    Some(send(&server, request).await)
}

/// The example request without its credential.
fn without_key(server: &TestApp, operation: &Operation, ids: &[(&str, &str)]) -> SampleParts {
    server.sample_parts(operation, ids, None)
}

/// Sets a header of the request, replacing the example's.
fn set_header(request: &mut SampleParts, name: &str, value: &str) {
    request.headers.retain(|(held, _)| !held.eq_ignore_ascii_case(name));
    request.headers.push((name.to_owned(), value.to_owned()));
}

/// The example body with each field the problem's `errors` name broken as its error code says:
/// too short, too long, out of range.
fn breaking(operation: &Operation, example: &Value) -> Value {
    let mut body = sample_body(operation).unwrap_or_else(|| json!({}));
    for error in example["errors"].as_array().into_iter().flatten() {
        let code = error["code"].as_str().unwrap_or_default();
        for field in error["fields"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            let broken = match code {
                "too_short" => json!(""),
                "too_long" => json!("x".repeat(2048)),
                "out_of_range" => json!(i64::MAX / 2),
                _ => json!([]),
            };
            body[field] = broken;
        }
    }
    body
}

/// Sends the request, and returns the status and the JSON answer.
async fn send(server: &TestApp, request: SampleParts) -> (u16, Value) {
    let response = request.request(&server.http).send().await.expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}
