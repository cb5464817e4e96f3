//! Show-once: after creation no response and no byte of the database holds a key's secret.

use futures::TryStreamExt;
use keyward::update::ApiKeyUpdate;

use crate::helpers::spawn_app;

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
