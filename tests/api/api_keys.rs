//! Creating, listing, viewing, updating and revoking keys through the generated client.

use std::collections::HashSet;

use futures::TryStreamExt;
use keyward::types::{self, ApiKeyStatus, ScopeAccess};
use keyward::update::ApiKeyUpdate;
use keyward_testing::{
    TestApp, assert_problem, change_count, newest_change, on_both_stores, problem_of, scope, spawn_app,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_stores!(
    an_update_that_changes_nothing_writes_nothing,
    an_organizations_last_key_manager_cannot_lock_it_out,
    of_two_last_managers_demoting_each_other_at_once_exactly_one_succeeds,
    a_root_key_is_another_manager_and_keeps_its_role_when_given_the_scopes_it_shows,
    every_write_leaves_a_record_naming_its_key_the_key_that_made_it_and_the_fields_it_changed,
);

#[tokio::test]
async fn creating_a_key_returns_201_with_its_location_etag_and_secret() {
    let app = spawn_app().await;
    let response = app
        .client
        .api_key_create()
        .body(
            types::ApiKeyCreate::builder()
                .name("billing worker")
                .description(Some("reads invoices".parse().unwrap()))
                .user_id(Some("user-1".parse().unwrap()))
                .customer_id(Some("cus_9".parse().unwrap()))
                .billing_id(Some("bill_3".parse().unwrap()))
                .prefix(Some("acme".parse().unwrap()))
                .scopes(vec![scope("invoices", ScopeAccess::Read)])
                .metadata(serde_json::json!({"plan": "pro", "seats": 3}).as_object().unwrap().clone()),
        )
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::CREATED);
    let created = response.into_inner();
    let key = &created.api_key;
    assert!(created.key.starts_with("acme_"), "{}", created.key);
    assert_eq!(key.prefix, "acme");
    assert!(key.masked_key.starts_with(&created.key[..9]) && key.masked_key.ends_with('*'));
    assert_eq!(key.name, "billing worker");
    assert_eq!(key.user_id.as_deref(), Some("user-1"));
    assert_eq!(key.customer_id.as_deref(), Some("cus_9"));
    assert_eq!(key.billing_id.as_deref(), Some("bill_3"));
    assert_eq!(key.status, ApiKeyStatus::Enabled);
    assert_eq!(key.metadata["seats"], 3);
    assert_eq!(key.revision, 1);
    assert!(!key.deleted && key.deleted_at.is_none() && key.last_used_at.is_none());
    assert_eq!(key.links.self_.href, format!("/v1/api_keys/{}", key.id));
    assert_eq!(created.links.self_.href, key.links.self_.href);

    let raw = app
        .request(reqwest::Method::POST, "/v1/api_keys")
        .json(&serde_json::json!({"name": "raw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 201);
    let location = raw.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(raw.headers()["etag"], "\"1\"");
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(location, format!("/v1/api_keys/{}", body["api_key"]["id"].as_str().unwrap()));
}

#[tokio::test]
async fn a_new_key_works_at_once_with_exactly_its_scopes() {
    let app = spawn_app().await;
    let (_, reader) = app.client_scoped(&[("api_keys", ScopeAccess::Read)]).await;

    assert!(reader.api_key_list().send().await.is_ok());
    let (status, problem) =
        problem_of(reader.api_key_create().body(types::ApiKeyCreate::builder().name("x")).send().await);
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(problem.code, "auth.missing_scope");
}

#[tokio::test]
async fn viewing_a_key_shows_it_redacted_with_an_etag() {
    let app = spawn_app().await;
    let created = app.create_key("ci").await;
    let response = app.client.api_key_view().api_key_id(created.api_key.id).send().await.unwrap();
    assert_eq!(response.headers()["etag"], "\"1\"");
    let key = response.into_inner();
    assert_eq!(key.id, created.api_key.id);
    assert_eq!(key.masked_key, created.api_key.masked_key);
    assert!(!serde_json::to_string(&key).unwrap().contains(&created.key));
}

#[tokio::test]
async fn listing_pages_through_every_key_newest_first_by_the_next_link() {
    let app = spawn_app().await;
    let mut made = Vec::new();
    for i in 0..7 {
        made.push(app.create_key(&format!("key {i}")).await.api_key.id);
    }
    let first = app.client.api_key_list().limit(3).send().await.unwrap().into_inner();
    assert_eq!(first.api_keys.len(), 3);
    assert!(first.embedded.is_none(), "without _embed only ids and names are listed");
    assert_eq!(first.api_keys[0].id, made[6], "newest first");
    let next = first.links.next.as_ref().expect("a next link").href.clone();
    assert!(next.starts_with("/v1/api_keys?limit=3&") && next.contains("page_token="), "{next}");

    let all: Vec<_> = app.client.api_key_list().limit(3).stream().try_collect().await.unwrap();
    let ids: Vec<_> = all.iter().map(|k| k.id).collect();
    let mut expected = made.clone();
    expected.reverse();
    expected.push(all.last().unwrap().id); // the root key, created before the others
    assert_eq!(ids, expected);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len(), "no key is listed twice");

    let last_page = app.client.api_key_list().limit(100).send().await.unwrap().into_inner();
    assert!(last_page.links.next.is_none());
}

#[tokio::test]
async fn listing_with_embed_gives_the_full_redacted_keys() {
    let app = spawn_app().await;
    let created = app.create_key("embedded").await;
    let page = app.client.api_key_list().embed(true).send().await.unwrap().into_inner();
    let embedded = page.embedded.expect("_embedded with _embed=true");
    assert_eq!(embedded.api_keys.len(), page.api_keys.len());
    let key = embedded.api_keys.iter().find(|k| k.id == created.api_key.id).unwrap();
    assert_eq!(key.masked_key, created.api_key.masked_key);
}

#[tokio::test]
async fn listing_filters_by_status_user_and_customer() {
    let app = spawn_app().await;
    let alice =
        app.create(types::ApiKeyCreate::builder().name("a").user_id(Some("alice".parse().unwrap()))).await;
    let bob = app
        .create(
            types::ApiKeyCreate::builder()
                .name("b")
                .user_id(Some("bob".parse().unwrap()))
                .customer_id(Some("acme".parse().unwrap()))
                .status(ApiKeyStatus::Disabled),
        )
        .await;

    let ids = |page: types::ApiKeyList| page.api_keys.into_iter().map(|k| k.id).collect::<Vec<_>>();
    let by_user = app.client.api_key_list().user_id("alice").send().await.unwrap().into_inner();
    assert_eq!(ids(by_user), vec![alice.api_key.id]);
    let by_customer = app.client.api_key_list().customer_id("acme").send().await.unwrap().into_inner();
    assert_eq!(ids(by_customer), vec![bob.api_key.id]);
    let disabled =
        app.client.api_key_list().status(ApiKeyStatus::Disabled).send().await.unwrap().into_inner();
    assert_eq!(ids(disabled), vec![bob.api_key.id]);
}

fn rate_limit(limit: u32, window_ms: u64) -> types::RateLimit {
    types::RateLimit { limit: limit.try_into().unwrap(), window_ms: window_ms.try_into().unwrap() }
}

/// A key with every field an update can clear or empty set.
async fn key_with_everything_set(app: &keyward_testing::TestApp) -> uuid::Uuid {
    let metadata: serde_json::Map<String, serde_json::Value> =
        serde_json::from_value(serde_json::json!({"plan": "pro"})).unwrap();
    let created = app
        .create(
            types::ApiKeyCreate::builder()
                .name("full")
                .description(Some("described".parse().unwrap()))
                .expires_at(Some(4_102_444_800_000))
                .scopes(vec![scope("queues", ScopeAccess::Read)])
                .metadata(metadata)
                .rate_limit(Some(rate_limit(10, 60_000)))
                .credits(Some(types::Credits { remaining: 100, refill: None })),
        )
        .await;
    created.api_key.id
}

#[tokio::test]
async fn the_sdk_clears_each_nullable_field_and_empties_scopes_and_metadata_one_at_a_time() {
    let app = spawn_app().await;
    let id = key_with_everything_set(&app).await;
    let update = |body: ApiKeyUpdate| {
        let client = app.client.clone();
        async move { client.api_key_update().api_key_id(id).body(body).send().await.unwrap().into_inner() }
    };
    let key = update(ApiKeyUpdate::new().clear_description()).await;
    assert_eq!((key.description, key.expires_at.is_some()), (None, true), "only the description went");
    let key = update(ApiKeyUpdate::new().clear_expiry()).await;
    assert_eq!((key.expires_at, key.rate_limit.is_some()), (None, true), "only the expiry went");
    let key = update(ApiKeyUpdate::new().clear_rate_limit()).await;
    assert!(key.rate_limit.is_none() && key.credits.is_some(), "only the rate limit went: {key:?}");
    let key = update(ApiKeyUpdate::new().clear_credits()).await;
    assert!(key.credits.is_none() && !key.scopes.is_empty(), "only the credits went: {key:?}");
    let key = update(ApiKeyUpdate::new().scopes(Vec::new())).await;
    assert!(key.scopes.is_empty() && !key.metadata.is_empty(), "only the scopes went: {key:?}");
    let key = update(ApiKeyUpdate::new().metadata(serde_json::Map::new())).await;
    assert!(key.metadata.is_empty(), "the metadata is empty: {key:?}");
    let viewed = app.client.api_key_view().api_key_id(id).send().await.unwrap().into_inner();
    assert_eq!(viewed.name, "full", "a field no update named is kept");
    assert!(viewed.description.is_none() && viewed.expires_at.is_none() && viewed.rate_limit.is_none());
    assert!(viewed.credits.is_none() && viewed.scopes.is_empty() && viewed.metadata.is_empty());
    assert_eq!(viewed.revision, 7, "six updates, each one revision");
}

#[tokio::test]
async fn the_sdk_sets_what_it_cleared_again() {
    let app = spawn_app().await;
    let id = key_with_everything_set(&app).await;
    let cleared = ApiKeyUpdate::new().clear_rate_limit().clear_credits().clear_expiry().clear_description();
    app.client.api_key_update().api_key_id(id).body(cleared).send().await.unwrap();
    let set = ApiKeyUpdate::new()
        .description("again")
        .expires_at(4_102_444_800_001)
        .rate_limit(rate_limit(3, 1_000))
        .credits(types::Credits { remaining: 5, refill: None });
    let key = app.client.api_key_update().api_key_id(id).body(set).send().await.unwrap().into_inner();
    assert_eq!(key.description.as_deref(), Some("again"));
    assert_eq!(key.expires_at, Some(4_102_444_800_001));
    assert_eq!(key.rate_limit.map(|r| (r.limit.get(), r.window_ms.get())), Some((3, 1_000)));
    assert_eq!(key.credits.map(|c| c.remaining), Some(5));
}

#[tokio::test]
async fn updating_a_key_changes_only_the_fields_sent_and_bumps_its_etag() {
    let app = spawn_app().await;
    let created = app
        .create(
            types::ApiKeyCreate::builder()
                .name("before")
                .description(Some("kept".parse().unwrap()))
                .scopes(vec![scope("queues", ScopeAccess::Read)]),
        )
        .await;
    let response = app
        .client
        .api_key_update()
        .api_key_id(created.api_key.id)
        .if_match("\"1\"".to_owned())
        .body(
            ApiKeyUpdate::new()
                .name("after")
                .scopes(vec![scope("queues", ScopeAccess::Write)])
                .expires_at(4_102_444_800_000),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["etag"], "\"2\"");
    let key = response.into_inner();
    assert_eq!(key.name, "after");
    assert_eq!(key.description.as_deref(), Some("kept"));
    assert_eq!(key.scopes[0].access, ScopeAccess::Write);
    assert_eq!(key.expires_at, Some(4_102_444_800_000));
    assert_eq!(key.revision, 2);
    assert!(key.updated_at >= key.created_at);

    let cleared = app
        .request(reqwest::Method::PATCH, &format!("/v1/api_keys/{}", key.id))
        .json(&serde_json::json!({"description": null, "expires_at": null}))
        .send()
        .await
        .unwrap();
    let cleared: serde_json::Value = cleared.json().await.unwrap();
    assert_eq!(cleared["description"], serde_json::Value::Null);
    assert_eq!(cleared["expires_at"], serde_json::Value::Null);
    assert_eq!(cleared["name"], "after");
}

#[tokio::test]
async fn a_stale_if_match_gets_412_and_changes_nothing() {
    let app = spawn_app().await;
    let created = app.create_key("guarded").await;
    let id = created.api_key.id;
    app.client.api_key_update().api_key_id(id).body(ApiKeyUpdate::new().name("first")).send().await.unwrap();

    let stale = app
        .client
        .api_key_update()
        .api_key_id(id)
        .if_match("\"1\"".to_owned())
        .body(ApiKeyUpdate::new().name("second"))
        .send()
        .await;
    let (status, problem) = problem_of(stale);
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(problem.code, "api_keys.revision_mismatch");
    let key = app.client.api_key_view().api_key_id(id).send().await.unwrap().into_inner();
    assert_eq!((key.name.as_str(), key.revision), ("first", 2));
}

#[tokio::test]
async fn a_disabled_key_stops_working_at_once_and_works_again_when_enabled() {
    let app = spawn_app().await;
    let (created, holder) = app.client_scoped(&[("api_keys", ScopeAccess::Read)]).await;
    let set_status = |status| {
        app.client
            .api_key_update()
            .api_key_id(created.api_key.id)
            .body(ApiKeyUpdate::new().status(status))
            .send()
    };
    set_status(ApiKeyStatus::Disabled).await.unwrap();
    let (status, problem) = problem_of(holder.api_key_list().send().await);
    assert_eq!((status, problem.code.as_str()), (StatusCode::UNAUTHORIZED, "auth.key_disabled"));
    set_status(ApiKeyStatus::Enabled).await.unwrap();
    assert!(holder.api_key_list().send().await.is_ok());
}

#[tokio::test]
async fn a_change_a_key_makes_to_itself_applies_to_its_very_next_request() {
    let app = spawn_app().await;
    let (created, holder) = app
        .client_scoped(&[
            ("api_keys", ScopeAccess::Read),
            ("api_keys", ScopeAccess::Update),
            ("api_keys", ScopeAccess::Delete),
        ])
        .await;
    let id = created.api_key.id;
    let own_update = |body: ApiKeyUpdate| holder.api_key_update().api_key_id(id).body(body).send();
    let (update, delete) = (ScopeAccess::Update, ScopeAccess::Delete);
    // The key makes each change itself, right after using it: the server holds it in every
    // cache it has, and nothing else ran in between.
    assert!(holder.api_key_list().send().await.is_ok());
    own_update(ApiKeyUpdate::new().scopes(vec![scope("api_keys", update), scope("api_keys", delete)]))
        .await
        .unwrap();
    let (status, problem) = problem_of(holder.api_key_list().send().await);
    assert_eq!((status, problem.code.as_str()), (StatusCode::FORBIDDEN, "auth.missing_scope"));

    own_update(ApiKeyUpdate::new().status(ApiKeyStatus::Disabled)).await.unwrap();
    let (status, problem) = problem_of(holder.api_key_delete().api_key_id(id).send().await);
    assert_eq!((status, problem.code.as_str()), (StatusCode::UNAUTHORIZED, "auth.key_disabled"));

    let enable = ApiKeyUpdate::new().status(ApiKeyStatus::Enabled);
    app.client.api_key_update().api_key_id(id).body(enable).send().await.unwrap();
    holder.api_key_delete().api_key_id(id).send().await.unwrap();
    let (status, problem) = problem_of(holder.api_key_delete().api_key_id(id).send().await);
    assert_eq!((status, problem.code.as_str()), (StatusCode::UNAUTHORIZED, "auth.key_revoked"));
}

#[tokio::test]
async fn revoking_a_key_stops_it_hides_it_and_keeps_its_record() {
    let app = spawn_app().await;
    let (created, holder) = app.client_scoped(&[("api_keys", ScopeAccess::Read)]).await;
    let id = created.api_key.id;

    let revoked = app.client.api_key_delete().api_key_id(id).send().await.unwrap().into_inner();
    assert!(revoked.deleted);
    assert!(revoked.deleted_at.is_some());

    let (status, problem) = problem_of(holder.api_key_list().send().await);
    assert_eq!((status, problem.code.as_str()), (StatusCode::UNAUTHORIZED, "auth.key_revoked"));

    let listed: Vec<_> = app.client.api_key_list().stream().try_collect().await.unwrap();
    assert!(listed.iter().all(|k| k.id != id), "revoked keys are not listed by default");
    let with_deleted: Vec<_> =
        app.client.api_key_list().include_deleted(true).stream().try_collect().await.unwrap();
    assert!(with_deleted.iter().any(|k| k.id == id));

    let (status, _) = problem_of(app.client.api_key_view().api_key_id(id).send().await);
    assert_eq!(status, StatusCode::NOT_FOUND, "a revoked key is hidden by default");
    let viewed =
        app.client.api_key_view().api_key_id(id).include_deleted(true).send().await.unwrap().into_inner();
    assert!(viewed.deleted && viewed.deleted_at.is_some());

    let (status, _) = problem_of(app.client.api_key_delete().api_key_id(id).send().await);
    assert_eq!(status, StatusCode::NOT_FOUND, "revoking twice is a 404");
    let (status, problem) = problem_of(
        app.client.api_key_update().api_key_id(id).body(ApiKeyUpdate::new().name("zombie")).send().await,
    );
    assert_eq!((status, problem.code.as_str()), (StatusCode::CONFLICT, "api_keys.key_revoked"));
}

#[tokio::test]
async fn an_expired_key_cannot_authenticate() {
    let app = spawn_app().await;
    let created = app
        .create(
            types::ApiKeyCreate::builder()
                .name("short-lived")
                .expires_at(Some(1))
                .scopes(vec![scope("api_keys", ScopeAccess::Read)]),
        )
        .await;
    let (status, problem) = problem_of(app.client_with(&created.key).api_key_list().send().await);
    assert_eq!((status, problem.code.as_str()), (StatusCode::UNAUTHORIZED, "auth.key_expired"));
}

#[tokio::test]
async fn a_key_can_grant_a_management_scope_only_if_it_holds_it() {
    let app = spawn_app().await;
    let (_, creator) = app.client_scoped(&[("api_keys", ScopeAccess::Create)]).await;

    let escalate = creator
        .api_key_create()
        .body(
            types::ApiKeyCreate::builder()
                .name("admin?")
                .scopes(vec![scope("organizations", ScopeAccess::Create)]),
        )
        .send()
        .await;
    let (status, problem) = problem_of(escalate);
    assert_eq!((status, problem.code.as_str()), (StatusCode::FORBIDDEN, "api_keys.scope_not_grantable"));

    let own = creator
        .api_key_create()
        .body(
            types::ApiKeyCreate::builder()
                .name("fine")
                .scopes(vec![scope("api_keys", ScopeAccess::Create), scope("my_api", ScopeAccess::Write)]),
        )
        .send()
        .await;
    assert!(own.is_ok(), "{own:?}");
}

#[tokio::test]
async fn the_bearer_scheme_works_like_the_api_key_header() {
    let app = spawn_app().await;
    let response =
        app.anonymous(reqwest::Method::GET, "/v1/api_keys").bearer_auth(&app.root_key).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

async fn an_update_that_changes_nothing_writes_nothing(app: TestApp) {
    let created = app.create_json(&json!({"name": "same", "description": "d"})).await;
    let path = format!("/v1/api_keys/{}", created["api_key"]["id"].as_str().unwrap());
    let before = change_count(&app).await;
    for body in [
        json!({}),
        json!({"name": "same"}),
        json!({"description": "d", "status": "enabled", "credits": null}),
    ] {
        let response = app.request(reqwest::Method::PATCH, &path).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 200, "{body}");
        assert_eq!(response.headers()["etag"], "\"1\"", "{body}");
        let key: Value = response.json().await.unwrap();
        assert_eq!(
            (key["revision"].as_i64(), &key["updated_at"]),
            (Some(1), &created["api_key"]["updated_at"])
        );
    }
    assert_eq!(change_count(&app).await, before, "no change record");
    let renamed =
        app.request(reqwest::Method::PATCH, &path).json(&json!({"name": "other"})).send().await.unwrap();
    assert_eq!(renamed.headers()["etag"], "\"2\"");
    assert_eq!(change_count(&app).await, before + 1, "a real change leaves its record");
}

/// A second organization (its root key the only one that can manage its keys) and that key.
async fn lone_organization(app: &TestApp) -> (String, String) {
    let (created, _) = app.second_organization("alone").await;
    (created.key, created.api_key.id.to_string())
}

async fn an_organizations_last_key_manager_cannot_lock_it_out(app: TestApp) {
    let (root, id) = lone_organization(&app).await;
    let path = format!("/v1/api_keys/{id}");
    let as_root = |method: reqwest::Method| app.anonymous(method, &path).header("x-api-key", &root);
    let response = as_root(reqwest::Method::DELETE).send().await.unwrap();
    let problem = assert_problem(response, 409, "api_keys.last_manager").await;
    assert!(problem["detail"].as_str().unwrap().contains("lock the organization out"), "{problem}");
    for body in [
        json!({"status": "disabled"}),
        json!({"scopes": [{"resource": "api_keys", "access": "read"}]}),
        json!({"scopes": []}),
        json!({"expires_at": 1_000}),
        json!({"expires_at": 4_102_444_800_000_i64}),
    ] {
        let response = as_root(reqwest::Method::PATCH).json(&body).send().await.unwrap();
        assert_problem(response, 409, "api_keys.last_manager").await;
    }
    // What keeps its power to manage keys for good is allowed: a rename, more scopes.
    let response = as_root(reqwest::Method::PATCH)
        .json(&json!({"name": "still root", "scopes": [
            {"resource": "api_keys", "access": "write"},
            {"resource": "verifications", "access": "write"},
            {"resource": "organizations", "access": "read"},
            {"resource": "invoices", "access": "read"},
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // A manager that will expire is none to count on; one that will not lets the first go, and
    // is then the last.
    let expiring = app
        .anonymous(reqwest::Method::POST, "/v1/api_keys")
        .header("x-api-key", &root)
        .json(&json!({"name": "expiring", "expires_at": 4_102_444_800_000_i64,
            "scopes": [{"resource": "api_keys", "access": "write"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(expiring.status(), 201);
    let response = as_root(reqwest::Method::DELETE).send().await.unwrap();
    assert_problem(response, 409, "api_keys.last_manager").await;
    let second = app
        .anonymous(reqwest::Method::POST, "/v1/api_keys")
        .header("x-api-key", &root)
        .json(&json!({"name": "second", "scopes": [{"resource": "api_keys", "access": "write"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 201);
    let second: Value = second.json().await.unwrap();
    let response = as_root(reqwest::Method::DELETE).send().await.unwrap();
    assert_eq!(response.status(), 200, "another key can manage keys");
    let second_path = format!("/v1/api_keys/{}", second["api_key"]["id"].as_str().unwrap());
    let response = app
        .anonymous(reqwest::Method::DELETE, &second_path)
        .header("x-api-key", second["key"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_problem(response, 409, "api_keys.last_manager").await;
}

/// A root key stores its role, not its scopes (`domain::scope::Role`): it is still the other key
/// manager the store's check counts on, and setting the scopes it is shown with changes nothing.
async fn a_root_key_is_another_manager_and_keeps_its_role_when_given_the_scopes_it_shows(app: TestApp) {
    let (root, root_id) = lone_organization(&app).await;
    let request =
        |method: reqwest::Method, path: &str| app.anonymous(method, path).header("x-api-key", &root);
    let manager = request(reqwest::Method::POST, "/v1/api_keys")
        .json(&json!({"name": "manager", "scopes": [{"resource": "api_keys", "access": "write"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(manager.status(), 201);
    let manager: Value = manager.json().await.unwrap();
    let manager_path = format!("/v1/api_keys/{}", manager["api_key"]["id"].as_str().unwrap());
    let response = request(reqwest::Method::DELETE, &manager_path).send().await.unwrap();
    assert_eq!(response.status(), 200, "the root key manages keys");

    let root_path = format!("/v1/api_keys/{root_id}");
    let shown: Value = request(reqwest::Method::GET, &root_path).send().await.unwrap().json().await.unwrap();
    let response = request(reqwest::Method::PATCH, &root_path)
        .json(&json!({"scopes": shown["scopes"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let patched: Value = response.json().await.unwrap();
    assert_eq!(patched["revision"], shown["revision"], "nothing changed: {patched}");
    assert_eq!(patched["scopes"], shown["scopes"]);
}

async fn of_two_last_managers_demoting_each_other_at_once_exactly_one_succeeds(app: TestApp) {
    for round in 0..10 {
        let (root, root_id) = lone_organization(&app).await;
        let created = app
            .anonymous(reqwest::Method::POST, "/v1/api_keys")
            .header("x-api-key", &root)
            .json(&json!({"name": format!("second {round}"), "scopes": [{"resource": "api_keys", "access": "write"}]}))
            .send()
            .await
            .unwrap();
        let second: Value = created.json().await.unwrap();
        let second_id = second["api_key"]["id"].as_str().unwrap().to_owned();
        let revoke = |id: String| {
            let request = app
                .anonymous(reqwest::Method::DELETE, &format!("/v1/api_keys/{id}"))
                .header("x-api-key", &root);
            async move { request.send().await.unwrap().status().as_u16() }
        };
        let disable = |id: String| {
            let request = app
                .anonymous(reqwest::Method::PATCH, &format!("/v1/api_keys/{id}"))
                .header("x-api-key", second["key"].as_str().unwrap())
                .json(&json!({"status": "disabled"}));
            async move { request.send().await.unwrap().status().as_u16() }
        };
        let (a, b) = tokio::join!(revoke(second_id), disable(root_id));
        let mut statuses = [a, b];
        statuses.sort_unstable();
        // The loser is refused as the last manager, or (when the winner took its key away
        // first) cannot authenticate at all.
        assert!(matches!(statuses, [200, 401] | [200, 409]), "round {round}: {statuses:?}");
    }
}

async fn every_write_leaves_a_record_naming_its_key_the_key_that_made_it_and_the_fields_it_changed(
    app: TestApp,
) {
    let root = app.client.api_key_list().stream_embedded().try_collect::<Vec<_>>().await.unwrap();
    let caller = format!("api_key:{}", root.iter().find(|k| k.name == "root").expect("the root key").id);
    let created = app.create_json(&json!({"name": "recorded"})).await;
    let id: uuid::Uuid = created["api_key"]["id"].as_str().unwrap().parse().unwrap();
    let record = |kind: &str, fields: &str| {
        ("api_key".to_owned(), id, kind.to_owned(), caller.clone(), fields.to_owned())
    };
    assert_eq!(newest_change(&app).await, record("created", "[]"));

    let path = format!("/v1/api_keys/{id}");
    let patch = json!({"name": "renamed", "metadata": {"plan": "pro"}});
    app.request(reqwest::Method::PATCH, &path).json(&patch).send().await.unwrap().error_for_status().unwrap();
    let (entity, entity_id, kind, actor, fields) = newest_change(&app).await;
    let fields: Vec<String> = serde_json::from_str(&fields).unwrap();
    assert_eq!((entity, entity_id, kind, actor), ("api_key".into(), id, "updated".into(), caller.clone()));
    assert_eq!(fields, ["name", "metadata"], "the fields the patch changed, no other");

    app.request(reqwest::Method::DELETE, &path).send().await.unwrap().error_for_status().unwrap();
    let (.., kind, actor, fields) = newest_change(&app).await;
    assert_eq!(
        (kind.as_str(), actor, serde_json::from_str::<Vec<String>>(&fields).unwrap()),
        ("revoked", caller, vec!["deleted_at".to_owned()])
    );
}
