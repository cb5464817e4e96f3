//! One user's keys, under the user's own path.

use futures::TryStreamExt;
use keyward::types;
use keyward_testing::{TestApp, on_both_stores, problem_of};
use reqwest::StatusCode;

on_both_stores!(
    a_users_list_holds_only_that_users_keys,
    a_user_sees_their_own_key_and_a_404_for_anyone_elses,
    a_users_revoked_key_is_a_404_unless_deleted_keys_are_asked_for,
);

async fn key_for(app: &keyward_testing::TestApp, user: &str) -> types::ApiKeyCreated {
    app.create(
        types::ApiKeyCreate::builder().name(format!("{user}'s key")).user_id(Some(user.parse().unwrap())),
    )
    .await
}

async fn a_users_list_holds_only_that_users_keys(app: TestApp) {
    let mine = [key_for(&app, "ann").await, key_for(&app, "ann").await];
    key_for(&app, "ben").await;

    let listed: Vec<_> =
        app.client.user_api_key_list().user_id("ann").limit(1).stream().try_collect().await.unwrap();
    let mut ids: Vec<_> = listed.iter().map(|k| k.id).collect();
    ids.sort();
    let mut expected: Vec<_> = mine.iter().map(|k| k.api_key.id).collect();
    expected.sort();
    assert_eq!(ids, expected);

    let page = app.client.user_api_key_list().user_id("ann").limit(1).send().await.unwrap().into_inner();
    let next = page.links.next.expect("a second page").href;
    assert!(next.starts_with("/v1/users/ann/api_keys?") && !next.contains("user_id="), "{next}");
}

async fn a_user_sees_their_own_key_and_a_404_for_anyone_elses(app: TestApp) {
    let anns = key_for(&app, "ann").await;
    let bens = key_for(&app, "ben").await;

    let key = app.client.user_api_key_view().user_id("ann").api_key_id(anns.api_key.id).send().await.unwrap();
    assert_eq!(key.headers()["etag"], "\"1\"");
    assert_eq!(key.into_inner().user_id.as_deref(), Some("ann"));

    let (status, problem) =
        problem_of(app.client.user_api_key_view().user_id("ann").api_key_id(bens.api_key.id).send().await);
    assert_eq!((status, problem.code.as_str()), (StatusCode::NOT_FOUND, "api_keys.key_not_found"));
}

async fn a_users_revoked_key_is_a_404_unless_deleted_keys_are_asked_for(app: TestApp) {
    let anns = key_for(&app, "ann").await;
    app.client.api_key_delete().api_key_id(anns.api_key.id).send().await.unwrap();
    let view = || app.client.user_api_key_view().user_id("ann").api_key_id(anns.api_key.id);
    let (status, _) = problem_of(view().send().await);
    assert_eq!(status, StatusCode::NOT_FOUND);
    let shown = view().include_deleted(true).send().await.unwrap().into_inner();
    assert!(shown.deleted && shown.deleted_at.is_some());
}
