//! Tenant isolation: every operation on another organization's key is a 404, never a 403.

use futures::TryStreamExt;
use keyward::types;
use reqwest::StatusCode;

use crate::helpers::{problem_of, spawn_app};

#[tokio::test]
async fn another_organizations_key_is_invisible_to_every_operation() {
    let app = spawn_app().await;
    let (_, acme) = app.second_organization("acme").await;
    let theirs = acme
        .api_key_create()
        .body(types::ApiKeyCreate::builder().name("acme key").user_id(Some("ann".parse().unwrap())))
        .send()
        .await
        .unwrap()
        .into_inner();
    let id = theirs.api_key.id;
    let ours = &app.client;

    let not_found = |result: Result<_, keyward::Error<types::Problem>>, operation: &str| {
        let (status, problem) = problem_of(result);
        assert_eq!(status, StatusCode::NOT_FOUND, "{operation}");
        assert_eq!(problem.code, "api_keys.key_not_found", "{operation}");
    };
    not_found(ours.api_key_view().api_key_id(id).send().await.map(|_| ()), "api_key_view");
    not_found(
        ours.api_key_update()
            .api_key_id(id)
            .body(types::ApiKeyUpdate::builder().name(Some("hijacked".parse().unwrap())))
            .send()
            .await
            .map(|_| ()),
        "api_key_update",
    );
    not_found(ours.api_key_delete().api_key_id(id).send().await.map(|_| ()), "api_key_delete");
    not_found(
        ours.user_api_key_view().user_id("ann").api_key_id(id).send().await.map(|_| ()),
        "user_api_key_view",
    );

    let listed: Vec<_> = ours.api_key_list().include_deleted(true).stream().try_collect().await.unwrap();
    assert!(listed.iter().all(|k| k.id != id), "api_key_list");
    let users: Vec<_> = ours.user_api_key_list().user_id("ann").stream().try_collect().await.unwrap();
    assert!(users.is_empty(), "user_api_key_list");

    let untouched = acme.api_key_view().api_key_id(id).send().await.unwrap().into_inner();
    assert_eq!((untouched.name.as_str(), untouched.deleted), ("acme key", false));
    let own_org = acme.organization_view().send().await.unwrap().into_inner();
    assert_eq!(own_org.name, "acme");
}
