//! Abuse limits: failed authentications per address, oversized headers, slow bodies, requests in
//! flight and writes that wait on a busy store, each answered with a problem document.

use std::time::{Duration, Instant};

use futures::StreamExt;
use keyward_testing::{
    TestApp, assert_problem, hold_the_only_request_slot, on_both_stores, spawn_app_configured,
    spawn_postgres_app_configured,
};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::revocation::WriteBlocker;

on_both_stores!(metadata_too_large_or_too_deep_is_a_422_naming_it_and_nothing_is_stored);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_that_keeps_failing_authentication_gets_429s_while_a_valid_key_keeps_working() {
    let app = spawn_app_configured(|config| config.auth_failures_per_minute = 3).await;
    for _ in 0..3 {
        let failed =
            app.anonymous(Method::GET, "/v1/organization").header("x-api-key", "kw_nope").send().await;
        assert_problem(failed.unwrap(), 401, "auth.malformed_key").await;
    }
    let throttled = app.anonymous(Method::GET, "/v1/api_keys").send().await.unwrap();
    let headers = throttled.headers().clone();
    let problem = assert_problem(throttled, 429, "auth.too_many_failures").await;
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(headers["ratelimit-policy"], "\"auth_failures\";q=3;w=60");
    assert_eq!(headers["ratelimit"].to_str().unwrap(), format!("\"auth_failures\";r=0;t={retry_after}"));
    assert!(problem["detail"].as_str().unwrap().contains("at most 3 a minute"), "{problem}");

    let valid = app.request(Method::GET, "/v1/organization").send().await.unwrap();
    assert_eq!(valid.status(), StatusCode::OK, "a good key from the same address is never held back");
    let verdict = app.post_json("/v1/keys/verify", &json!({"key": "kw_notakey"})).await;
    assert_eq!(verdict["code"], "MALFORMED", "a presented key in a verify is a verdict, not a failed login");
}

#[tokio::test]
async fn headers_over_16_kib_get_a_431_problem_and_smaller_ones_pass() {
    let app = spawn_app_configured(|_| {}).await;
    let padded = app.request(Method::GET, "/v1/organization").header("x-padding", "x".repeat(17 * 1024));
    assert_problem(padded.send().await.unwrap(), 431, "request.headers_too_large").await;
    let fine = app.request(Method::GET, "/v1/organization").header("x-padding", "x".repeat(8 * 1024));
    assert_eq!(fine.send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_a_byte_at_a_time_is_cut_off_with_a_408_at_the_request_deadline() {
    let app = spawn_app_configured(|config| config.request_timeout_ms = 300).await;
    let trickle = futures::stream::iter(std::iter::repeat_n(b" ".to_vec(), 1_000)).then(|byte| async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok::<_, std::io::Error>(byte)
    });
    let started = Instant::now();
    let response = app
        .send_body(Method::POST, "/v1/api_keys", "application/json", reqwest::Body::wrap_stream(trickle))
        .await;
    assert_problem(response, 408, "request.timeout").await;
    assert!(started.elapsed() < Duration::from_secs(10), "the trickle of 50 s was cut short");
    let listed: serde_json::Value = app.get_json("/v1/api_keys").await;
    assert_eq!(listed["api_keys"].as_array().map(Vec::len), Some(1), "nothing was created: {listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_at_its_request_limit_answers_503_with_retry_after_but_liveness_still_answers() {
    let app = spawn_app_configured(|config| {
        config.max_in_flight = 1;
        config.request_timeout_ms = 1_000;
    })
    .await;
    let holder = hold_the_only_request_slot(&app).await;
    let refused = app.request(Method::GET, "/v1/organization").send().await.unwrap();
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_problem(refused, 503, "system.overloaded").await;
    let health = app.anonymous(Method::GET, "/v1/health").send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK, "liveness is not a request to shed");
    let cut_off = holder.await.unwrap().unwrap();
    assert_eq!(cut_off, StatusCode::REQUEST_TIMEOUT, "the endless request is cut off at its deadline");
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.request(Method::GET, "/v1/organization").send().await.unwrap().status() != StatusCode::OK {
        assert!(Instant::now() < deadline, "the slot came back with the deadline");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A key is updated while another writer holds the lock it needs for longer than the server
/// waits: the update is a 503 with `Retry-After`, and nothing of it is stored.
async fn a_write_held_back_past_the_lock_wait_is_a_503_and_changes_nothing(app: TestApp) {
    let created = app.create_json(&json!({"name": "before"})).await;
    let id = created["api_key"]["id"].as_str().unwrap().to_owned();
    let blocker = WriteBlocker::hold(&app, &id).await;
    let update = app.request(Method::PATCH, &format!("/v1/api_keys/{id}")).json(&json!({"name": "after"}));
    let response = update.send().await.unwrap();
    assert_eq!(response.headers()["retry-after"], "1");
    assert_problem(response, 503, "system.busy").await;
    blocker.release().await;
    let view = app.get_json(&format!("/v1/api_keys/{id}")).await;
    assert_eq!(view["name"], "before", "{view}");
    let retried = app.request(Method::PATCH, &format!("/v1/api_keys/{id}")).json(&json!({"name": "after"}));
    assert_eq!(retried.send().await.unwrap().status(), StatusCode::OK, "a retry goes through");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_held_back_by_another_writer_is_a_503_on_sqlite() {
    let app = spawn_app_configured(|config| config.lock_wait_ms = 200).await;
    a_write_held_back_past_the_lock_wait_is_a_503_and_changes_nothing(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_held_back_by_another_writer_is_a_503_on_postgres() {
    let app = spawn_postgres_app_configured(|config| config.lock_wait_ms = 200).await;
    a_write_held_back_past_the_lock_wait_is_a_503_and_changes_nothing(app).await;
}

async fn metadata_too_large_or_too_deep_is_a_422_naming_it_and_nothing_is_stored(app: TestApp) {
    let deep = (0..6).fold(json!(1), |inner, _| json!({ "n": inner }));
    for metadata in [json!({ "big": "x".repeat(9 * 1024) }), json!({ "deep": deep })] {
        let response = app
            .request(Method::POST, "/v1/api_keys")
            .json(&json!({"name": "meta", "metadata": metadata}))
            .send();
        let problem = assert_problem(response.await.unwrap(), 422, "request.invalid_body").await;
        assert_eq!(keyward_testing::problem_fields(&problem), ["metadata"], "{problem}");
    }
    let listed = app.get_json("/v1/api_keys").await;
    assert_eq!(listed["api_keys"].as_array().map(Vec::len), Some(1), "only the root key: {listed}");
}
