//! Several instances on one PostgreSQL database: credits are never overspent between them, and
//! usage counts from all of them add up.

use std::sync::Arc;

use keyward::types::VerifyCode;
use keyward_testing::{TestApp, spawn_peer, spawn_postgres_app};
use serde_json::json;

async fn instances(n: usize) -> Vec<Arc<TestApp>> {
    let first = spawn_postgres_app().await;
    let mut all = Vec::new();
    for _ in 1..n {
        all.push(Arc::new(spawn_peer(&first).await));
    }
    all.insert(0, Arc::new(first));
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_instances_with_sixteen_verifiers_each_spend_exactly_the_credits_there_are() {
    let apps = instances(4).await;
    let body = json!({"name": "budget", "credits": {"remaining": 1_000}});
    let key = Arc::new(apps[0].create_raw(&body).await.0);

    let verifiers = apps.iter().flat_map(|app| {
        (0..16).map(|_| {
            let (app, key) = (app.clone(), key.clone());
            tokio::spawn(async move {
                // Each verifier goes on until its instance has nothing left to spend.
                let mut valid = 0;
                loop {
                    match app.verdict_on(&key, None).await {
                        VerifyCode::Valid => valid += 1,
                        VerifyCode::UsageExceeded => return valid,
                        // The key's creation has not reached this instance yet (milliseconds).
                        VerifyCode::NotFound => tokio::task::yield_now().await,
                        other => panic!("unexpected verdict {other:?}"),
                    }
                }
            })
        })
    });
    let valid: usize =
        futures::future::try_join_all(verifiers.collect::<Vec<_>>()).await.unwrap().into_iter().sum();
    assert_eq!(valid, 1_000, "exactly as many VALID verdicts as there were credits");
    for app in &apps {
        assert_eq!(
            app.verdict_on(&key, None).await,
            VerifyCode::UsageExceeded,
            "{} has nothing left",
            app.base_url
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_counted_on_several_instances_adds_up() {
    let mut apps = instances(2).await;
    let body = json!({"name": "counted"});
    let (key, id) = apps[0].create_raw(&body).await;
    for (app, times) in apps.iter().zip([7, 5]) {
        let mut counted = 0;
        while counted < times {
            match app.verdict_on(&key, None).await {
                VerifyCode::Valid => counted += 1,
                // The key's creation has not reached this instance yet (milliseconds); not a use.
                VerifyCode::NotFound => tokio::task::yield_now().await,
                other => panic!("unexpected verdict {other:?}"),
            }
        }
    }
    // Stopping flushes what each instance holds; the counts are increments, so neither is lost.
    let second = Arc::try_unwrap(apps.pop().unwrap()).ok().unwrap();
    let first = Arc::try_unwrap(apps.pop().unwrap()).ok().unwrap();
    drop(second.restart().await);
    let first = first.restart().await;
    let view = first.get_json(&format!("/v1/api_keys/{id}")).await;
    assert_eq!(view["usage_count"], 12, "{view}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_holds_per_instance_so_n_instances_allow_at_most_n_times_the_limit() {
    let apps = instances(2).await;
    let body = json!({"name": "limited", "rate_limit": {"limit": 10, "window_ms": 3_600_000}});
    let key = apps[0].create_raw(&body).await.0;
    let mut total = 0;
    for app in &apps {
        let (mut allowed, mut answered) = (0, 0);
        while answered < 15 {
            match app.verdict_on(&key, None).await {
                VerifyCode::Valid => allowed += 1,
                VerifyCode::RateLimited => {}
                // The key's creation has not reached this instance yet (milliseconds).
                VerifyCode::NotFound => continue,
                other => panic!("unexpected verdict {other:?}"),
            }
            answered += 1;
        }
        assert_eq!(allowed, 10, "each instance lets the limit through and no more");
        total += allowed;
    }
    assert_eq!(total, 20, "two instances: at most twice the limit in a window");
}
