//! Reading your own writes on any instance: every write answers with a consistency token, and a
//! request that sends it back is answered only once its instance has applied that write.

use std::time::{Duration, Instant};

use keyward::types::{self, VerifyCode};
use keyward_testing::{
    TestApp, assert_problem, on_both_stores, problem_fields, scope, spawn_app, spawn_peer, spawn_postgres_app,
};
use reqwest::Method;
use serde_json::{Value, json};

on_both_stores!(
    a_token_this_service_never_gave_or_a_malformed_one_is_a_400,
    a_token_tells_nothing_to_a_caller_whose_key_does_not_work,
);

/// The bound a change takes to reach another instance without a token: the follower's poll, when
/// the signal is lost (ARCHITECTURE.md, "Consistency model").
const WITHOUT_TOKEN_BOUND: Duration = Duration::from_secs(1);

fn token_of(response: &reqwest::Response) -> String {
    let token = response.headers().get("keyward-consistency-token").expect("a write answers with a token");
    token.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_write_answers_with_a_token_and_a_later_write_with_a_greater_one() {
    let app = spawn_app().await;
    let created = app.request(Method::POST, "/v1/api_keys").json(&json!({"name": "t"})).send().await.unwrap();
    let mut tokens = vec![token_of(&created)];
    let created: Value = created.json().await.unwrap();
    let path = format!("/v1/api_keys/{}", created["api_key"]["id"].as_str().unwrap());
    let writes = [
        (Method::PATCH, path.clone(), json!({"name": "u"})),
        (Method::POST, format!("{path}/rotate"), json!({})),
        (Method::DELETE, path.clone(), Value::Null),
        (Method::POST, "/v1/organizations".to_owned(), json!({"name": "o"})),
    ];
    for (method, path, body) in writes {
        let mut request = app.request(method, &path);
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert!(response.status().is_success(), "{path}");
        tokens.push(token_of(&response));
    }
    let mut sorted = tokens.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, tokens, "each write's token is greater than the last");
    let read =
        app.request(Method::GET, "/v1/api_keys").header("keyward-consistency-token", &tokens[4]).send().await;
    assert_eq!(read.unwrap().status(), 200, "a read that sends the newest token is answered");
}

async fn a_token_this_service_never_gave_or_a_malformed_one_is_a_400(app: TestApp) {
    for token in ["ct1_7fffffffffffffff", "not-a-token", "ct1_12"] {
        let started = Instant::now();
        let response = app
            .request(Method::GET, "/v1/api_keys")
            .header("keyward-consistency-token", token)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 400, "request.invalid_consistency_token").await;
        assert_eq!(problem_fields(&problem), ["Keyward-Consistency-Token"], "{token}");
        assert!(started.elapsed() < Duration::from_secs(1), "refused without waiting: {token}");
    }
}

/// One trial: a write through A (a create, or the revoke of a key B has cached), and what B says
/// of the key at once, with the write's token or without it; the verdict, the one the write
/// should give, and when the write was acknowledged.
async fn trial(a: &TestApp, b: &TestApp, n: usize, with_token: bool) -> (VerifyCode, VerifyCode, Instant) {
    let revoking = n % 2 == 1;
    let (request, wanted, cached_key) = if revoking {
        let created = a.create_json(&json!({"name": format!("trial {n}")})).await;
        let key = created["key"].as_str().unwrap().to_owned();
        let warm = Instant::now();
        while b.verdict_on(&key, None).await != VerifyCode::Valid {
            assert!(warm.elapsed() < Duration::from_secs(5), "B never saw the key");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let id = created["api_key"]["id"].as_str().unwrap();
        (a.request(Method::DELETE, &format!("/v1/api_keys/{id}")), VerifyCode::Revoked, Some(key))
    } else {
        let body = json!({"name": format!("trial {n}")});
        (a.request(Method::POST, "/v1/api_keys").json(&body), VerifyCode::Valid, None)
    };
    let response = request.send().await.unwrap();
    assert!(response.status().is_success());
    let acknowledged = Instant::now();
    let token = token_of(&response);
    let body: Value = response.json().await.unwrap();
    let key = cached_key.unwrap_or_else(|| body["key"].as_str().unwrap().to_owned());
    let got = b.verdict_on(&key, with_token.then_some(token.as_str())).await;
    if got != wanted && !with_token {
        // Stale: how long until B catches up without help, which the bound promises.
        while b.verdict_on(&key, None).await != wanted {
            assert!(acknowledged.elapsed() < WITHOUT_TOKEN_BOUND, "trial {n}: stale past the bound");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    (got, wanted, acknowledged)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_trials_on_two_instances_never_read_stale_with_the_token_and_are_stale_only_within_the_bound_without()
 {
    let a = spawn_postgres_app().await;
    let b = spawn_peer(&a).await;
    let mut stale_with = 0;
    for n in 0..40 {
        let (got, wanted, _) = trial(&a, &b, n, true).await;
        if got != wanted {
            stale_with += 1;
        }
    }
    let (mut stale_without, mut longest) = (0, Duration::ZERO);
    for n in 0..40 {
        let (got, wanted, acknowledged) = trial(&a, &b, n, false).await;
        if got != wanted {
            stale_without += 1;
            longest = longest.max(acknowledged.elapsed());
        }
    }
    println!(
        "40 trials with the token: {stale_with} stale answers; 40 without: {stale_without} stale, each \
         caught up within {longest:?} (bound {WITHOUT_TOKEN_BOUND:?})"
    );
    assert_eq!(stale_with, 0, "an answer to a request holding the token was stale");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_carries_its_newest_token_so_a_client_reads_its_writes_through_another_instance() {
    let a = spawn_postgres_app().await;
    let b = spawn_peer(&a).await;
    for trial in 0..10 {
        let writer = a.client_with(&a.root_key);
        let created = writer
            .api_key_create()
            .body(types::ApiKeyCreate::builder().name(format!("sdk {trial}")))
            .send()
            .await
            .unwrap()
            .into_inner();
        let token = writer.consistency_token().expect("the client kept the write's token");
        // Another client, on the other instance, started at that token: it sees the new key.
        let reader = keyward::Client::builder(&b.base_url)
            .key(&b.root_key)
            .retries(0)
            .consistency_token(&token)
            .build()
            .unwrap();
        let verdict =
            reader.api_key_verify().body(types::VerifyRequest::builder().key(created.key)).send().await;
        assert_eq!(verdict.unwrap().into_inner().code, VerifyCode::Valid, "trial {trial}");
        // And a key made through A authenticates on B at once, for a client holding the token.
        let scopes = vec![scope("organizations", types::ScopeAccess::Read)];
        let made = writer.api_key_create().body(types::ApiKeyCreate::builder().name("holder").scopes(scopes));
        let holder_key = made.send().await.unwrap().into_inner().key;
        let holder = keyward::Client::builder(&b.base_url).key(&holder_key).retries(0).build().unwrap();
        holder.read_after(&writer.consistency_token().unwrap()).unwrap();
        let organization = holder.organization_view().send().await;
        assert!(organization.is_ok(), "trial {trial}: a new key works on B at once: {organization:?}");
    }
}

async fn a_token_tells_nothing_to_a_caller_whose_key_does_not_work(app: TestApp) {
    let created = app.create_json(&json!({"name": "revoked"})).await;
    let revoked = created["key"].as_str().unwrap().to_owned();
    let id = created["api_key"]["id"].as_str().unwrap();
    assert_eq!(
        app.request(Method::DELETE, &format!("/v1/api_keys/{id}")).send().await.unwrap().status(),
        200
    );
    let unknown = keyward_server::domain::key::Secret::generate(&Default::default()).expose().to_owned();
    for key in [unknown.as_str(), revoked.as_str(), "not-a-key"] {
        for token in ["ct1_7fffffffffffffff", "not-a-token"] {
            let response = app
                .anonymous(Method::GET, "/v1/api_keys")
                .header("x-api-key", key)
                .header("keyward-consistency-token", token)
                .send()
                .await
                .unwrap();
            let problem: Value = response.json().await.unwrap();
            assert_eq!(problem["status"], 401, "{key} with {token}: {problem}");
        }
    }
}
