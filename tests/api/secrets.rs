//! Show-once: after creation no response and no byte of the database holds a key's secret.

use futures::TryStreamExt;
use keyward::update::ApiKeyUpdate;
use keyward_testing::spawn_app;
use serde_json::json;

#[tokio::test]
async fn every_response_that_shows_a_secret_forbids_caching_it() {
    let app = spawn_app().await;
    let created =
        app.request(reqwest::Method::POST, "/v1/api_keys").json(&json!({"name": "c"})).send().await.unwrap();
    assert_eq!(created.headers()["cache-control"], "no-store", "create");
    let created: serde_json::Value = created.json().await.unwrap();
    let rotate = format!("/v1/api_keys/{}/rotate", created["api_key"]["id"].as_str().unwrap());
    let rotated = app.request(reqwest::Method::POST, &rotate).json(&json!({})).send().await.unwrap();
    assert_eq!(rotated.headers()["cache-control"], "no-store", "rotate");
    let organization = app
        .request(reqwest::Method::POST, "/v1/organizations")
        .json(&json!({"name": "o"}))
        .send()
        .await
        .unwrap();
    assert_eq!(organization.status(), 201);
    assert_eq!(organization.headers()["cache-control"], "no-store", "organization create");
}

#[tokio::test]
async fn a_rotation_without_a_body_works_as_an_empty_one() {
    let app = spawn_app().await;
    let created = app.create_key("bodiless").await;
    let rotate = format!("/v1/api_keys/{}/rotate", created.api_key.id);
    let response = app.request(reqwest::Method::POST, &rotate).send().await.unwrap();
    assert_eq!(response.status(), 200, "no body, no content type");
    let response = app
        .request(reqwest::Method::POST, &rotate)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "an empty JSON body");
    let rotated: serde_json::Value = response.json().await.unwrap();
    assert_eq!(rotated["api_key"]["revision"], 3);
    let response = app.send_body(reqwest::Method::POST, &rotate, "text/plain", "x").await;
    assert_eq!(response.status(), 415);
}

#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    app.create_key("written").await;
    let mode = std::fs::metadata(&app.db_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    for journal in ["keyward.db-wal", "keyward.db-shm"] {
        let path = app.db_path.with_file_name(journal);
        if let Ok(metadata) = std::fs::metadata(&path) {
            assert_eq!(metadata.permissions().mode() & 0o077, 0, "{journal}");
        }
    }
}

#[tokio::test]
async fn no_later_response_or_database_byte_holds_the_secret() {
    let app = spawn_app().await;
    let created = app.create_key("secret keeper").await;
    let secret = created.key.clone();
    let id = created.api_key.id;
    let organization = app.second_organization("acme").await.0;

    let mut later = Vec::new();
    for path in [
        format!("/v1/api_keys/{id}"),
        "/v1/api_keys?_embed=true&include_deleted=true".to_owned(),
        "/v1/organization".to_owned(),
    ] {
        later.push(app.request(reqwest::Method::GET, &path).send().await.unwrap().text().await.unwrap());
    }
    let updated = app
        .client
        .api_key_update()
        .api_key_id(id)
        .body(ApiKeyUpdate::new().name("renamed"))
        .send()
        .await
        .unwrap()
        .into_inner();
    later.push(serde_json::to_string(&updated).unwrap());
    let revoked = app.client.api_key_delete().api_key_id(id).send().await.unwrap().into_inner();
    later.push(serde_json::to_string(&revoked).unwrap());
    let all: Vec<_> =
        app.client.api_key_list().include_deleted(true).stream_embedded().try_collect().await.unwrap();
    later.push(serde_json::to_string(&all).unwrap());

    for secret in [&secret, &organization.key, &app.root_key] {
        let random_part = &secret[secret.find('_').unwrap() + 1..];
        for body in &later {
            assert!(!body.contains(random_part), "a response repeated a secret: {body}");
        }
        let mut stored = std::fs::read(&app.db_path).unwrap();
        if let Ok(wal) = std::fs::read(app.db_path.with_extension("db-wal")) {
            stored.extend(wal);
        }
        assert!(!stored.is_empty());
        assert!(
            !stored.windows(random_part.len()).any(|w| w == random_part.as_bytes()),
            "the database holds a secret"
        );
        assert!(
            !stored.windows(12).any(|w| w == &random_part.as_bytes()[10..22]),
            "the database holds part of a secret"
        );
    }
}
