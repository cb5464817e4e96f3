//! Revocation holds: a write whose client gave up still reaches the verifier, on SQLite and on
//! PostgreSQL, and a change made through one instance reaches another over the change feed,
//! also after the other lost its database connection.

use std::time::{Duration, Instant};

use keyward::types::VerifyCode;
use keyward_testing::{
    TestApp, assert_problem, spawn_app, spawn_app_trusting_cache_for, spawn_peer, spawn_peer_at,
    spawn_postgres_app,
};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::partition::{Proxy, through, upstream};

/// How long a change may take to reach a verifier here: generous for a loaded CI machine, and
/// still far from "until a restart", which is what a lost invalidation used to mean.
const PROPAGATION: Duration = Duration::from_secs(1);

/// The code of `app`'s verdict on `key`, asked to check `scopes`: it must answer 200.
async fn verdict(app: &TestApp, key: &str, scopes: Value) -> VerifyCode {
    let verdict = app.verify_json(&json!({"key": key, "scopes": scopes}), None).await;
    verdict.unwrap_or_else(|status| panic!("verify answered {status}")).code
}

/// Polls `app` until `key` gets `wanted`, and says how long that took; fails after `within`.
async fn until(app: &TestApp, key: &str, scopes: Value, wanted: VerifyCode, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let got = verdict(app, key, scopes.clone()).await;
        if got == wanted {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "still {got:?}, not {wanted:?}, after {within:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Holds a write lock that keeps the server's next write to key `id` waiting until released.
pub enum WriteBlocker {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl WriteBlocker {
    pub async fn hold(app: &TestApp, id: &str) -> Self {
        if app.database_url.starts_with("sqlite:") {
            let mut connection = sqlx::SqliteConnection::connect(&app.database_url).await.unwrap();
            sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut connection).await.unwrap();
            WriteBlocker::Sqlite(connection)
        } else {
            let mut connection = sqlx::PgConnection::connect(&app.database_url).await.unwrap();
            sqlx::raw_sql("BEGIN").execute(&mut connection).await.unwrap();
            sqlx::query("SELECT 1 FROM api_keys WHERE id = $1::uuid FOR UPDATE")
                .bind(id)
                .execute(&mut connection)
                .await
                .unwrap();
            WriteBlocker::Postgres(connection)
        }
    }

    pub async fn release(self) {
        match self {
            WriteBlocker::Sqlite(mut c) => sqlx::raw_sql("ROLLBACK").execute(&mut c).await.map(drop),
            WriteBlocker::Postgres(mut c) => sqlx::raw_sql("ROLLBACK").execute(&mut c).await.map(drop),
        }
        .unwrap();
    }
}

/// Sends a write with a client that gives up after 0.7 s while the database holds it back, then
/// lets the database go: the write commits and the key gets `wanted`, though nobody waited.
async fn an_abandoned_write_still_reaches_the_verifier(
    app: TestApp,
    method: Method,
    body: Option<Value>,
    wanted: VerifyCode,
) {
    let (key, id) = app.create_raw(&json!({"name": "abandoned"})).await;
    for _ in 0..3 {
        assert_eq!(verdict(&app, &key, json!([])).await, VerifyCode::Valid, "warming the cache");
    }
    let blocker = WriteBlocker::hold(&app, &id).await;
    let mut write = app.request(method, &format!("/v1/api_keys/{id}")).timeout(Duration::from_millis(700));
    if let Some(body) = body {
        write = write.json(&body);
    }
    let gave_up = write.send().await;
    assert!(gave_up.is_err_and(|e| e.is_timeout()), "the write was to be held past the client's patience");
    assert_eq!(verdict(&app, &key, json!([])).await, VerifyCode::Valid, "nothing committed yet");
    blocker.release().await;
    let took = until(&app, &key, json!([]), wanted, PROPAGATION * 5).await;
    println!("{wanted:?} {took:?} after the database let the abandoned write through");
    let view = app.get_json(&format!("/v1/api_keys/{id}?include_deleted=true")).await;
    assert!(view["deleted"] == true || view["status"] == "disabled", "the write committed: {view}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_whose_client_gave_up_stops_the_key_on_sqlite() {
    an_abandoned_write_still_reaches_the_verifier(
        spawn_app().await,
        Method::DELETE,
        None,
        VerifyCode::Revoked,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disable_whose_client_gave_up_stops_the_key_on_sqlite() {
    let body = Some(json!({"status": "disabled"}));
    an_abandoned_write_still_reaches_the_verifier(
        spawn_app().await,
        Method::PATCH,
        body,
        VerifyCode::Disabled,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_whose_client_gave_up_stops_the_key_on_postgres() {
    let app = spawn_postgres_app().await;
    an_abandoned_write_still_reaches_the_verifier(app, Method::DELETE, None, VerifyCode::Revoked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disable_whose_client_gave_up_stops_the_key_on_postgres() {
    let app = spawn_postgres_app().await;
    let body = Some(json!({"status": "disabled"}));
    an_abandoned_write_still_reaches_the_verifier(app, Method::PATCH, body, VerifyCode::Disabled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_made_through_one_instance_reaches_the_other_at_once() {
    let a = spawn_postgres_app().await;
    let b = spawn_peer(&a).await;
    let read = json!([{"resource": "invoices", "access": "read"}]);
    let scoped = json!({"name": "peer", "scopes": [{"resource": "invoices", "access": "write"}]});

    let (created_on_a, _) = a.create_raw(&scoped).await;
    let took = until(&b, &created_on_a, read.clone(), VerifyCode::Valid, PROPAGATION).await;
    println!("a key created on A verified on B after {took:?}");

    let cases: [(&str, Method, Value, VerifyCode); 4] = [
        ("revoke", Method::DELETE, Value::Null, VerifyCode::Revoked),
        ("disable", Method::PATCH, json!({"status": "disabled"}), VerifyCode::Disabled),
        (
            "narrow",
            Method::PATCH,
            json!({"scopes": [{"resource": "reports", "access": "read"}]}),
            VerifyCode::InsufficientScope,
        ),
        ("rotate", Method::POST, json!({"grace_period_ms": 0}), VerifyCode::Revoked),
    ];
    for (what, method, body, wanted) in cases {
        let (key, id) = a.create_raw(&scoped).await;
        for app in [&a, &b, &b] {
            until(app, &key, read.clone(), VerifyCode::Valid, PROPAGATION).await;
        }
        let path =
            if what == "rotate" { format!("/v1/api_keys/{id}/rotate") } else { format!("/v1/api_keys/{id}") };
        let mut request = a.request(method, &path);
        if !body.is_null() {
            request = request.json(&body);
        }
        assert!(request.send().await.unwrap().status().is_success(), "{what} through A");
        assert_eq!(verdict(&a, &key, read.clone()).await, wanted, "{what}: A, which wrote, at once");
        let took = until(&b, &key, read.clone(), wanted, PROPAGATION).await;
        println!("{what} through A reached B after {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_cut_off_from_the_database_never_answers_a_stale_valid_once_back() {
    let a = spawn_postgres_app().await;
    let b = spawn_peer(&a).await;
    let (key, id) = a.create_raw(&json!({"name": "cut off"})).await;
    until(&b, &key, json!([]), VerifyCode::Valid, PROPAGATION).await;
    assert_eq!(verdict(&b, &key, json!([])).await, VerifyCode::Valid, "B's cache holds the key");

    // Cut every connection the instances have (pools and LISTENs), then revoke through A, whose
    // pool reconnects, while B is still finding out.
    let mut admin = sqlx::PgConnection::connect(&a.database_url).await.unwrap();
    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'keyward-server'",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!terminated.is_empty(), "the instances' connections were found");
    let revoked = a.request(Method::DELETE, &format!("/v1/api_keys/{id}")).send().await.unwrap();
    assert_eq!(revoked.status(), 200, "A reconnects and revokes");

    // From the moment B answers again, it never says VALID.
    let took = until(&b, &key, json!([]), VerifyCode::Revoked, PROPAGATION * 5).await;
    println!("B answered REVOKED {took:?} after the revoke, its connections cut");
    b.wait_until_ready().await;
    for _ in 0..20 {
        assert_eq!(verdict(&b, &key, json!([])).await, VerifyCode::Revoked);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_left_no_record_is_still_seen_once_the_cached_copy_is_too_old() {
    // The backstop behind the feed: a change made behind Keyward's back (no change record, so
    // no feed can carry it) is read once the cached record is older than the maximum age.
    let app = spawn_app_trusting_cache_for(300).await;
    let (key, id) = app.create_raw(&json!({"name": "backstop"})).await;
    assert_eq!(verdict(&app, &key, json!([])).await, VerifyCode::Valid);
    let mut behind = sqlx::SqliteConnection::connect(&app.database_url).await.unwrap();
    let key_id: uuid::Uuid = id.parse().unwrap();
    sqlx::query("UPDATE api_keys SET status = 'disabled' WHERE id = ?")
        .bind(key_id)
        .execute(&mut behind)
        .await
        .unwrap();
    let took = until(&app, &key, json!([]), VerifyCode::Disabled, Duration::from_secs(5)).await;
    println!("the unrecorded change was seen after {took:?}");
}

/// What `app` says of `key` now: the verdict, or the status of a refusal (503 while it cannot
/// reach the store).
async fn answer(app: &TestApp, key: &str) -> Result<VerifyCode, u16> {
    app.verify_json(&json!({"key": key}), None).await.map(|verdict| verdict.code).map_err(|s| s.as_u16())
}

/// The bound the documents state: a poll a second and 750 ms for its read to answer (1.75 s),
/// with room for a busy machine's scheduling.
const PARTITION_NOTICED: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_partitioned_from_the_database_stops_answering_valid_within_two_seconds() {
    let b = spawn_postgres_app().await;
    let proxy = Proxy::start(upstream(&b.database_url)).await;
    let a = spawn_peer_at(&b, through(&b.database_url, proxy.addr)).await;
    let (key, id) = b.create_raw(&json!({"name": "partitioned"})).await;
    until(&a, &key, json!([]), VerifyCode::Valid, PROPAGATION).await;
    assert_eq!(answer(&a, &key).await, Ok(VerifyCode::Valid), "A's cache holds the key");

    // Cut A off (its sockets stay open, nothing goes through), then revoke through B.
    proxy.cut();
    let cut_at = Instant::now();
    let revoked = b.request(Method::DELETE, &format!("/v1/api_keys/{id}")).send().await.unwrap();
    assert_eq!(revoked.status(), 200);
    let stopped_valid = loop {
        let answered = answer(&a, &key).await;
        if answered != Ok(VerifyCode::Valid) {
            assert_eq!(answered, Err(503), "A cannot know the key is revoked, so it says it cannot tell");
            break cut_at.elapsed();
        }
        assert!(
            cut_at.elapsed() < PARTITION_NOTICED * 2,
            "A still answers VALID after {:?}",
            cut_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    println!("partitioned, A stopped answering VALID after {stopped_valid:?} (bound {PARTITION_NOTICED:?})");
    assert!(stopped_valid <= PARTITION_NOTICED, "{stopped_valid:?}");

    // While cut off, what needs the store fails fast with a 503 that says why; ready says so too.
    let started = Instant::now();
    let write =
        a.request(Method::POST, "/v1/api_keys").json(&json!({"name": "during"})).send().await.unwrap();
    let problem = assert_problem(write, 503, "system.store_unavailable").await;
    assert!(problem["detail"].as_str().unwrap().contains("cannot be reached"), "{problem}");
    let ready = a.anonymous(Method::GET, "/v1/ready").send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let failing_fast = started.elapsed();
    println!("a write and a readiness check while cut off took {failing_fast:?} together");
    assert!(failing_fast < Duration::from_secs(1), "{failing_fast:?}");

    // Healed, A catches up and says REVOKED, never VALID again.
    proxy.heal();
    let healed_at = Instant::now();
    loop {
        match answer(&a, &key).await {
            Ok(VerifyCode::Revoked) => break,
            Ok(VerifyCode::Valid) => panic!("A answered VALID for a revoked key after the partition"),
            _ => {}
        }
        assert!(healed_at.elapsed() < Duration::from_secs(15), "A never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("healed, A answered REVOKED after {:?}", healed_at.elapsed());
    a.wait_until_ready().await;
    for _ in 0..20 {
        assert_eq!(answer(&a, &key).await, Ok(VerifyCode::Revoked));
    }
}
