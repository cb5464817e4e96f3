//! Verification end to end: every verdict code, scope queries, rotation with grace, rate limits,
//! exact credits under concurrency, immediate revocation, expiry warnings, and usage written behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use keyward::Client;
use keyward::types::{self, ScopeAccess, VerifyCode};
use keyward_testing::{TestApp, on_both_stores, spawn_app};
use serde_json::{Value, json};

on_both_stores!(
    every_failure_code_is_reported_in_a_200,
    verifying_needs_the_verifications_scope,
    a_scope_query_is_valid_only_when_the_key_satisfies_it_and_its_scopes_hold_too,
    a_malformed_scope_query_is_a_422_naming_it_with_its_offset_and_counts_nothing,
);

fn now_ms() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis())
        .unwrap()
}

async fn verify(client: &Client, key: &str) -> types::VerifyResponse {
    verify_with(client, types::VerifyRequest::builder().key(key)).await
}

async fn verify_with(client: &Client, body: types::builder::VerifyRequest) -> types::VerifyResponse {
    client.api_key_verify().body(body).send().await.expect("verify answers 200").into_inner()
}

/// Rotates the key's secret; the old one keeps working for `grace_period_ms` (none: not at all).
async fn rotate(
    app: &TestApp,
    id: uuid::Uuid,
    grace_period_ms: Option<i64>,
) -> keyward::ResponseValue<types::ApiKeyCreated> {
    let body = types::ApiKeyRotate::builder().grace_period_ms(grace_period_ms);
    app.client.api_key_rotate().api_key_id(id).body(body).send().await.unwrap()
}

/// A key's usage count as stored, read from the SQLite file as another reader would (the server
/// holds the file; a second store would be refused).
struct StoredUsage {
    reader: sqlx::SqlitePool,
    id: uuid::Uuid,
}

impl StoredUsage {
    async fn open(app: &TestApp, id: &str) -> Self {
        let file = format!("sqlite://{}?mode=ro", app.db_path.display());
        Self { reader: sqlx::SqlitePool::connect(&file).await.unwrap(), id: id.parse().unwrap() }
    }

    async fn count(&self) -> i64 {
        sqlx::query_scalar("SELECT usage_count FROM api_keys WHERE id = ?")
            .bind(self.id)
            .fetch_one(&self.reader)
            .await
            .unwrap()
    }

    /// Waits, 10 s at most, until at least `uses` were written behind.
    async fn wait_for(&self, uses: i64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.count().await < uses {
            assert!(std::time::Instant::now() < deadline, "usage never reached the store");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn a_valid_key_verifies_with_its_redacted_record_and_metadata() {
    let app = spawn_app().await;
    let (key, id) = app.create_raw(&json!({"name": "svc", "metadata": {"tier": "gold"}})).await;
    let verdict = verify(&app.client, &key).await;
    assert!(verdict.valid);
    assert_eq!(verdict.code, VerifyCode::Valid);
    let record = verdict.api_key.expect("the key's record");
    assert_eq!(record.id.to_string(), id);
    assert_eq!(record.metadata["tier"], "gold");
    assert!(verdict.expiry_warning.is_none() && verdict.rate_limit.is_none() && verdict.credits.is_none());
}

async fn every_failure_code_is_reported_in_a_200(app: TestApp) {
    let code = |verdict: types::VerifyResponse| {
        assert!(!verdict.valid || verdict.code == VerifyCode::Valid);
        verdict.code
    };

    assert_eq!(code(verify(&app.client, "hello").await), VerifyCode::Malformed);
    assert_eq!(code(verify(&app.client, "").await), VerifyCode::Malformed);
    let unknown = keyward_server::domain::key::Secret::generate(&Default::default());
    assert_eq!(code(verify(&app.client, unknown.expose()).await), VerifyCode::NotFound);

    let (_, acme) = app.second_organization("acme").await;
    let theirs = acme.api_key_create().body(types::ApiKeyCreate::builder().name("t")).send().await.unwrap();
    let theirs = theirs.into_inner();
    assert_eq!(
        code(verify(&app.client, &theirs.key).await),
        VerifyCode::NotFound,
        "another organization's key"
    );
    assert_eq!(code(verify(&acme, &theirs.key).await), VerifyCode::Valid);

    let (disabled, _) = app.create_raw(&json!({"name": "d", "status": "disabled"})).await;
    assert_eq!(code(verify(&app.client, &disabled).await), VerifyCode::Disabled);
    let (expired, _) = app.create_raw(&json!({"name": "e", "expires_at": 1})).await;
    assert_eq!(code(verify(&app.client, &expired).await), VerifyCode::Expired);
    let (revoked, revoked_id) = app.create_raw(&json!({"name": "r"})).await;
    app.request(reqwest::Method::DELETE, &format!("/v1/api_keys/{revoked_id}")).send().await.unwrap();
    assert_eq!(code(verify(&app.client, &revoked).await), VerifyCode::Revoked);

    let (scoped, _) = app
        .create_raw(
            &json!({"name": "s", "scopes": [{"resource": "queues", "access": "read", "targets": ["q1"]}]}),
        )
        .await;
    let check = |resource: &str, access, target: Option<&str>| types::ScopeCheck {
        resource: resource.parse().unwrap(),
        access,
        target: target.map(|t| t.parse().unwrap()),
    };
    let ask = |checks| types::VerifyRequest::builder().key(scoped.clone()).scopes(checks);
    assert_eq!(
        code(verify_with(&app.client, ask(vec![check("queues", ScopeAccess::Read, Some("q1"))])).await),
        VerifyCode::Valid
    );
    for wanted in [
        check("queues", ScopeAccess::Read, Some("q2")),
        check("queues", ScopeAccess::Read, None),
        check("queues", ScopeAccess::Delete, Some("q1")),
        check("topics", ScopeAccess::Read, Some("q1")),
    ] {
        assert_eq!(code(verify_with(&app.client, ask(vec![wanted])).await), VerifyCode::InsufficientScope);
    }

    let (limited, _) =
        app.create_raw(&json!({"name": "l", "rate_limit": {"limit": 1, "window_ms": 60000}})).await;
    assert_eq!(code(verify(&app.client, &limited).await), VerifyCode::Valid);
    assert_eq!(code(verify(&app.client, &limited).await), VerifyCode::RateLimited);
    let (broke, _) = app.create_raw(&json!({"name": "c", "credits": {"remaining": 0}})).await;
    assert_eq!(code(verify(&app.client, &broke).await), VerifyCode::UsageExceeded);
}

async fn verifying_needs_the_verifications_scope(app: TestApp) {
    let (_, reader) = app.client_scoped(&[("api_keys", ScopeAccess::Write)]).await;
    let result = reader.api_key_verify().body(types::VerifyRequest::builder().key("kw_x")).send().await;
    let (status, problem) = keyward_testing::problem_of(result);
    assert_eq!((status.as_u16(), problem.code.as_str()), (403, "auth.missing_scope"));
    let (_, verifier) = app.client_scoped(&[("verifications", ScopeAccess::Create)]).await;
    assert_eq!(verify(&verifier, "kw_x").await.code, VerifyCode::Malformed);
}

/// The verdict on `key` asked for `scopes` and the scope query `query`.
async fn verdict_with_query(
    app: &TestApp,
    key: &str,
    scopes: Vec<types::ScopeCheck>,
    query: &str,
) -> VerifyCode {
    let query: types::VerifyRequestScopeQuery = query.parse().expect("a query within the bounds");
    let body = types::VerifyRequest::builder().key(key).scopes(scopes).scope_query(Some(query));
    verify_with(&app.client, body).await.code
}

async fn a_scope_query_is_valid_only_when_the_key_satisfies_it_and_its_scopes_hold_too(app: TestApp) {
    let odd_target = r#"a "quoted" (draft) [v2]: name"#;
    let (key, _) = app
        .create_raw(&json!({"name": "queried", "scopes": [
            {"resource": "invoices", "access": "read"},
            {"resource": "billing:eu:reports", "access": "write"},
            {"resource": "files", "access": "read", "targets": ["inv 1", odd_target]},
        ]}))
        .await;
    let odd = format!("files:read[{}]", serde_json::to_string(odd_target).unwrap());
    let satisfied = [
        "invoices:write OR invoices:read".to_owned(),
        "invoices:read and billing:eu:reports:delete".to_owned(),
        r#"files:read["inv 1"] AND (nothing:read OR invoices:read)"#.to_owned(),
        "nothing:read AND nothing:write OR invoices:read".to_owned(),
        odd.clone(),
    ];
    for query in &satisfied {
        assert_eq!(verdict_with_query(&app, &key, vec![], query).await, VerifyCode::Valid, "{query}");
    }
    let unsatisfied = [
        "invoices:read AND invoices:write".to_owned(),
        "files:read".to_owned(),
        r#"files:read["inv 2"]"#.to_owned(),
        "invoices:read AND (nothing:read OR nothing:write)".to_owned(),
        "nothing:read OR nothing:write AND invoices:read".to_owned(),
        format!("{odd} AND billing:us:reports:read OR nothing:read"),
    ];
    for query in &unsatisfied {
        assert_eq!(
            verdict_with_query(&app, &key, vec![], query).await,
            VerifyCode::InsufficientScope,
            "{query}"
        );
    }

    let check = |resource: &str, access| types::ScopeCheck {
        resource: resource.parse().unwrap(),
        access,
        target: None,
    };
    let both = [
        (vec![check("invoices", ScopeAccess::Read)], "billing:eu:reports:read", VerifyCode::Valid),
        (vec![check("invoices", ScopeAccess::Write)], "invoices:read", VerifyCode::InsufficientScope),
        (vec![check("invoices", ScopeAccess::Read)], "invoices:write", VerifyCode::InsufficientScope),
    ];
    for (scopes, query, expected) in both {
        assert_eq!(verdict_with_query(&app, &key, scopes, query).await, expected, "{query}");
    }

    let root = app.root_key.clone();
    let role = "api_keys:delete AND verifications:create AND (organizations:read OR nothing:read)";
    assert_eq!(
        verdict_with_query(&app, &root, vec![], role).await,
        VerifyCode::Valid,
        "a root key holds its role's"
    );
}

async fn a_malformed_scope_query_is_a_422_naming_it_with_its_offset_and_counts_nothing(app: TestApp) {
    let (key, id) = app
        .create_raw(&json!({
            "name": "counted",
            "scopes": [{"resource": "invoices", "access": "read"}],
            "rate_limit": {"limit": 1, "window_ms": 60000},
            "credits": {"remaining": 5},
        }))
        .await;
    let too_deep = format!("{}invoices:read{}", "(".repeat(33), ")".repeat(33));
    let too_long = format!("invoices:read{}", " ".repeat(988));
    let cases: Vec<(String, &str, &str)> = vec![
        ("invoices:read OR".into(), "invalid_scope_query", "at offset 16: expected a scope"),
        ("(invoices:read".into(), "invalid_scope_query", "at offset 14: expected `AND`, `OR` or the `)`"),
        (
            "invoices:read invoices:write".into(),
            "invalid_scope_query",
            "at offset 14: expected `AND`, `OR` or the end",
        ),
        ("invoices:Read".into(), "invalid_scope_query", "at offset 9: expected an access"),
        (
            r#"invoices:read["inv 1]"#.into(),
            "invalid_scope_query",
            "at offset 21: expected `\"` to close the target",
        ),
        ("invoices:read\u{0}".into(), "invalid_scope_query", "at offset 9: expected an access"),
        (too_deep, "too_deep", "at offset 32: expected at most 32 nested parentheses"),
        (too_long, "too_long", "at offset 1000: expected the end of the query within 1000 characters"),
    ];
    for (query, code, message) in &cases {
        let body = json!({"key": key, "scope_query": query});
        let response =
            app.request(reqwest::Method::POST, "/v1/keys/verify").json(&body).send().await.unwrap();
        let problem = keyward_testing::assert_problem(response, 422, "request.invalid_body").await;
        assert_eq!(keyward_testing::problem_fields(&problem), vec!["scope_query".to_owned()], "{problem}");
        assert_eq!(problem["errors"][0]["code"], *code, "{problem}");
        let said = problem["errors"][0]["message"].as_str().unwrap();
        assert!(said.starts_with(message), "{query:?}: {said}");
    }

    let view = app.get_json(&format!("/v1/api_keys/{id}")).await;
    assert_eq!(view["usage_count"], 0, "no refused verify was counted");
    assert_eq!(view["credits"]["remaining"], 5, "nor spent a credit");
    let verdict = verify(&app.client, &key).await;
    assert_eq!(verdict.code, VerifyCode::Valid, "nor took the rate limit's one verification");
    assert_eq!(verdict.credits.map(|c| c.remaining), Some(4));
}

#[tokio::test]
async fn a_rate_limited_key_reports_its_window() {
    let app = spawn_app().await;
    let (key, _) =
        app.create_raw(&json!({"name": "l", "rate_limit": {"limit": 3, "window_ms": 60000}})).await;
    let before = now_ms();
    let remaining: Vec<i32> = {
        let mut seen = Vec::new();
        for _ in 0..3 {
            let verdict = verify(&app.client, &key).await;
            assert_eq!(verdict.code, VerifyCode::Valid);
            seen.push(verdict.rate_limit.expect("the window").remaining);
        }
        seen
    };
    assert_eq!(remaining, vec![2, 1, 0]);
    let refused = verify(&app.client, &key).await;
    assert_eq!(refused.code, VerifyCode::RateLimited);
    let window = refused.rate_limit.unwrap();
    assert_eq!((window.limit, window.remaining), (3, 0));
    assert!(window.reset_at > before && window.reset_at <= now_ms() + 20_000, "{window:?}");
}

#[tokio::test]
async fn a_rate_limited_key_is_allowed_again_once_its_window_has_passed_by_the_servers_clock() {
    let app = spawn_app().await;
    let (key, _) =
        app.create_raw(&json!({"name": "l", "rate_limit": {"limit": 2, "window_ms": 60000}})).await;
    for _ in 0..2 {
        assert_eq!(verify(&app.client, &key).await.code, VerifyCode::Valid);
    }
    for (advance_ms, remaining, what) in
        [(30_000, 0, "half the window: one back"), (60_000, 1, "the whole window back")]
    {
        assert_eq!(verify(&app.client, &key).await.code, VerifyCode::RateLimited);
        app.clock.advance(advance_ms);
        let verdict = verify(&app.client, &key).await;
        assert_eq!(
            (verdict.code, verdict.rate_limit.unwrap().remaining),
            (VerifyCode::Valid, remaining),
            "{what}"
        );
    }
}

#[tokio::test]
async fn credits_are_spent_exactly_under_32_concurrent_verifiers() {
    let app = spawn_app().await;
    let (key, id) = app.create_raw(&json!({"name": "budget", "credits": {"remaining": 200}})).await;
    let valid = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let client = app.client.clone();
        let (key, valid) = (key.clone(), valid.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let verdict = verify(&client, &key).await;
                match verdict.code {
                    VerifyCode::Valid => valid.fetch_add(1, Ordering::SeqCst),
                    VerifyCode::UsageExceeded => {
                        assert_eq!(verdict.credits.unwrap().remaining, 0);
                        break;
                    }
                    other => panic!("unexpected {other:?}"),
                };
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(valid.load(Ordering::SeqCst), 200, "exactly the budget is spent");
    let record: Value = app.get_json(&format!("/v1/api_keys/{id}")).await;
    assert_eq!(record["credits"]["remaining"], 0);
}

#[tokio::test]
async fn a_cost_spends_that_many_credits_and_never_below_zero() {
    let app = spawn_app().await;
    let (key, _) = app.create_raw(&json!({"name": "c", "credits": {"remaining": 10}})).await;
    let spend =
        |cost| verify_with(&app.client, types::VerifyRequest::builder().key(key.clone()).cost(Some(cost)));
    let remaining = |v: types::VerifyResponse| (v.code, v.credits.unwrap().remaining);
    assert_eq!(remaining(spend(4).await), (VerifyCode::Valid, 6));
    assert_eq!(remaining(spend(4).await), (VerifyCode::Valid, 2));
    assert_eq!(remaining(spend(4).await), (VerifyCode::UsageExceeded, 2));
    assert_eq!(remaining(spend(0).await), (VerifyCode::Valid, 2));
    assert_eq!(remaining(spend(2).await), (VerifyCode::Valid, 0));
}

#[tokio::test]
async fn credits_refill_after_their_interval_and_setting_them_takes_effect_at_once() {
    let app = spawn_app().await;
    let (key, id) = app
        .create_raw(
            &json!({"name": "r", "credits": {"remaining": 1, "refill": {"amount": 2, "interval_ms": 1000}}}),
        )
        .await;
    assert_eq!(verify(&app.client, &key).await.code, VerifyCode::Valid);
    assert_eq!(verify(&app.client, &key).await.code, VerifyCode::UsageExceeded);
    app.clock.advance(1_100);
    let refilled = verify(&app.client, &key).await;
    assert_eq!((refilled.code, refilled.credits.unwrap().remaining), (VerifyCode::Valid, 1));

    let patch = json!({"credits": {"remaining": 50}});
    app.request(reqwest::Method::PATCH, &format!("/v1/api_keys/{id}")).json(&patch).send().await.unwrap();
    let topped = verify(&app.client, &key).await;
    assert_eq!((topped.code, topped.credits.unwrap().remaining), (VerifyCode::Valid, 49));
    let unlimited = json!({"credits": null});
    app.request(reqwest::Method::PATCH, &format!("/v1/api_keys/{id}")).json(&unlimited).send().await.unwrap();
    let free = verify(&app.client, &key).await;
    assert_eq!((free.code, free.credits.is_none()), (VerifyCode::Valid, true));
}

#[tokio::test]
async fn rotation_keeps_the_old_secret_for_its_grace_period_then_revokes_it() {
    let app = spawn_app().await;
    let created = app.create_key("rotating").await;
    let old = created.key.clone();
    let rotated = rotate(&app, created.api_key.id, Some(600_000)).await;
    assert_eq!(rotated.headers()["etag"], "\"2\"");
    let rotated = rotated.into_inner();
    assert_ne!(rotated.key, old);
    assert_eq!(rotated.api_key.id, created.api_key.id);
    assert_ne!(rotated.api_key.masked_key, created.api_key.masked_key);
    assert_eq!(verify(&app.client, &rotated.key).await.code, VerifyCode::Valid);
    let grace_ends_at = rotated.api_key.updated_at + 600_000;
    let during = verify(&app.client, &old).await;
    assert_eq!(during.code, VerifyCode::Valid, "within the grace period");
    assert_eq!(during.rotated.map(|r| r.grace_ends_at), Some(grace_ends_at), "the verdict says to switch");
    assert!(verify(&app.client, &rotated.key).await.rotated.is_none(), "the new secret is current");

    app.clock.advance(600_100);
    assert_eq!(verify(&app.client, &old).await.code, VerifyCode::Revoked, "after the grace period");
    assert_eq!(verify(&app.client, &rotated.key).await.code, VerifyCode::Valid);
}

#[tokio::test]
async fn rotation_without_grace_revokes_the_old_secret_at_once_even_for_management() {
    let app = spawn_app().await;
    let (created, holder) = app.client_scoped(&[("api_keys", ScopeAccess::Read)]).await;
    assert!(holder.api_key_list().send().await.is_ok());
    let rotated = rotate(&app, created.api_key.id, None).await.into_inner();
    assert_eq!(verify(&app.client, &created.key).await.code, VerifyCode::Revoked);
    let (status, problem) = keyward_testing::problem_of(holder.api_key_list().send().await);
    assert_eq!((status.as_u16(), problem.code.as_str()), (401, "auth.key_revoked"));
    assert!(app.client_with(&rotated.key).api_key_list().send().await.is_ok());
}

#[tokio::test]
async fn a_revoke_is_seen_by_every_verify_that_starts_after_it_returns() {
    let app = spawn_app().await;
    for round in 0..15 {
        let (key, id) = app.create_raw(&json!({"name": format!("round {round}")})).await;
        assert_eq!(verify(&app.client, &key).await.code, VerifyCode::Valid, "warm the cache");
        let revoked = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let mut hammers = Vec::new();
        for _ in 0..4 {
            let (client, key, revoked, stop) =
                (app.client.clone(), key.clone(), revoked.clone(), stop.clone());
            hammers.push(tokio::spawn(async move {
                let mut after = 0;
                while !stop.load(Ordering::SeqCst) {
                    let started_after_revoke = revoked.load(Ordering::SeqCst);
                    let code = verify(&client, &key).await.code;
                    if started_after_revoke {
                        assert_eq!(code, VerifyCode::Revoked, "a verify after the revoke saw the old state");
                        after += 1;
                    }
                }
                after
            }));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let response =
            app.request(reqwest::Method::DELETE, &format!("/v1/api_keys/{id}")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        revoked.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(30)).await;
        stop.store(true, Ordering::SeqCst);
        let mut checked = 0;
        for hammer in hammers {
            checked += hammer.await.unwrap();
        }
        assert!(checked > 0, "some verifies ran after the revoke");
    }
}

#[tokio::test]
async fn disabling_or_narrowing_a_key_is_seen_by_the_next_verify() {
    let app = spawn_app().await;
    let (key, id) =
        app.create_raw(&json!({"name": "n", "scopes": [{"resource": "queues", "access": "write"}]})).await;
    let wants_delete = || {
        types::VerifyRequest::builder().key(key.clone()).scopes(vec![types::ScopeCheck {
            resource: "queues".parse().unwrap(),
            access: ScopeAccess::Delete,
            target: None,
        }])
    };
    assert_eq!(verify_with(&app.client, wants_delete()).await.code, VerifyCode::Valid);
    let narrow = json!({"scopes": [{"resource": "queues", "access": "read"}]});
    app.request(reqwest::Method::PATCH, &format!("/v1/api_keys/{id}")).json(&narrow).send().await.unwrap();
    assert_eq!(verify_with(&app.client, wants_delete()).await.code, VerifyCode::InsufficientScope);
    app.request(reqwest::Method::PATCH, &format!("/v1/api_keys/{id}"))
        .json(&json!({"status": "disabled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(verify(&app.client, &key).await.code, VerifyCode::Disabled);
}

#[tokio::test]
async fn a_change_during_a_rotation_grace_is_seen_through_both_secrets() {
    let app = spawn_app().await;
    let created = app.create_key("two secrets").await;
    let rotated = rotate(&app, created.api_key.id, Some(60_000)).await.into_inner();
    let secrets = [created.key.clone(), rotated.key.clone()];
    for secret in &secrets {
        assert_eq!(verify(&app.client, secret).await.code, VerifyCode::Valid, "each secret is now cached");
    }
    let id = created.api_key.id;
    app.request(reqwest::Method::PATCH, &format!("/v1/api_keys/{id}"))
        .json(&json!({"status": "disabled"}))
        .send()
        .await
        .unwrap();
    for secret in &secrets {
        assert_eq!(verify(&app.client, secret).await.code, VerifyCode::Disabled);
    }
    app.request(reqwest::Method::DELETE, &format!("/v1/api_keys/{id}")).send().await.unwrap();
    for secret in &secrets {
        assert_eq!(verify(&app.client, secret).await.code, VerifyCode::Revoked);
    }
}

#[tokio::test]
async fn a_new_key_verifies_at_once() {
    let app = spawn_app().await;
    for i in 0..30 {
        let created = app.create_key(&format!("fresh {i}")).await;
        assert_eq!(verify(&app.client, &created.key).await.code, VerifyCode::Valid);
    }
}

#[tokio::test]
async fn expiry_is_checked_at_verify_time_not_cache_time() {
    let app = spawn_app().await;
    let expires_at = now_ms() + 3_600_000;
    let (key, _) = app.create_raw(&json!({"name": "brief", "expires_at": expires_at})).await;
    assert_eq!(verify(&app.client, &key).await.code, VerifyCode::Valid, "cached while valid");
    app.clock.advance(3_600_100);
    assert_eq!(verify(&app.client, &key).await.code, VerifyCode::Expired);
}

#[tokio::test]
async fn a_key_expiring_within_seven_days_carries_a_warning_and_header() {
    let app = spawn_app().await;
    let soon = now_ms() + 3 * 24 * 3_600_000;
    let (key, _) = app.create_raw(&json!({"name": "soon", "expires_at": soon})).await;
    let response =
        app.client.api_key_verify().body(types::VerifyRequest::builder().key(key)).send().await.unwrap();
    assert_eq!(response.headers()["keyward-key-expires"], soon.to_string().as_str());
    let warning = response.into_inner().expiry_warning.expect("a warning");
    assert_eq!(warning.expires_at, soon);
    assert!(warning.message.starts_with("the key expires in 2 days and 23 hours"), "{}", warning.message);

    let (minutes, id) =
        app.create_raw(&json!({"name": "minutes", "expires_at": now_ms() + 5 * 60_000 + 30_000})).await;
    let verdict = verify(&app.client, &minutes).await;
    assert_eq!(verdict.expiry_warning.map(|w| w.message).as_deref(), Some("the key expires in 5 minutes"));
    let revoked = app.request(reqwest::Method::DELETE, &format!("/v1/api_keys/{id}")).send().await.unwrap();
    assert_eq!(revoked.status(), 200);
    let response =
        app.client.api_key_verify().body(types::VerifyRequest::builder().key(minutes)).send().await.unwrap();
    assert!(response.headers().get("keyward-key-expires").is_none(), "no warning on a revoked key");
    let verdict = response.into_inner();
    assert_eq!((verdict.code, verdict.expiry_warning.is_none()), (VerifyCode::Revoked, true));

    let (later, _) =
        app.create_raw(&json!({"name": "later", "expires_at": now_ms() + 30 * 24 * 3_600_000})).await;
    let response =
        app.client.api_key_verify().body(types::VerifyRequest::builder().key(later)).send().await.unwrap();
    assert!(response.headers().get("keyward-key-expires").is_none());
    assert!(response.into_inner().expiry_warning.is_none());
}

#[tokio::test]
async fn usage_is_counted_written_behind_within_seconds_and_flushed_at_shutdown() {
    let app = spawn_app().await;
    let (key, id) = app.create_raw(&json!({"name": "used"})).await;
    for _ in 0..5 {
        verify(&app.client, &key).await;
    }
    let view = |app: &TestApp| {
        let request = app.request(reqwest::Method::GET, &format!("/v1/api_keys/{id}"));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let seen = view(&app).await;
    assert_eq!(seen["usage_count"], 5, "the API shows usage not yet flushed");
    assert!(seen["last_used_at"].as_i64().is_some());

    let stored = StoredUsage::open(&app, &id).await;
    stored.wait_for(5).await;

    for _ in 0..3 {
        verify(&app.client, &key).await;
    }
    let app = app.restart().await;
    assert_eq!(stored.count().await, 8, "the shutdown flush wrote the rest");
    assert_eq!(view(&app).await["usage_count"], 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_while_a_usage_flush_waits_on_the_store_loses_no_count() {
    let app = spawn_app().await;
    let (key, id) = app.create_raw(&json!({"name": "counted"})).await;
    let stored = StoredUsage::open(&app, &id).await;
    for _ in 0..7 {
        verify(&app.client, &key).await;
    }
    // Another writer holds the database: the next flush takes the counts out of memory, then
    // waits for the lock, and the server is told to stop while it waits.
    let blocker = crate::revocation::WriteBlocker::hold(&app, &id).await;
    tokio::time::sleep(keyward_testing::FLUSH_EVERY * 2).await;
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        blocker.release().await;
    });
    let app = app.restart().await;
    release.await.unwrap();
    assert_eq!(stored.count().await, 7, "every count was written, the one in flight at the stop included");
    drop(app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verdict_and_the_view_agree_on_usage_after_it_was_written_behind() {
    let app = spawn_app().await;
    let (key, id) = app.create_raw(&json!({"name": "counted"})).await;
    for _ in 0..5 {
        verify(&app.client, &key).await;
    }
    StoredUsage::open(&app, &id).await.wait_for(5).await;
    let verdict = verify(&app.client, &key).await;
    let view = app.get_json(&format!("/v1/api_keys/{id}")).await;
    assert_eq!(verdict.api_key.expect("the key").usage_count, 6, "the verdict counts the flushed uses too");
    assert_eq!(view["usage_count"], 6);
}
