//! `keyward org …`: the caller's organization, and a new one with its root key shown once.

use crate::{failed, json, spawn_server};

#[tokio::test(flavor = "multi_thread")]
async fn org_get_shows_the_callers_organization() {
    let server = spawn_server().await;
    let organization = json(&server.keyward(&["org", "get"]).await);
    assert_eq!(organization["name"], "default");
}

#[tokio::test(flavor = "multi_thread")]
async fn org_create_prints_the_new_root_key_which_works_in_the_new_organization() {
    let server = spawn_server().await;
    let created = json(&server.keyward(&["org", "create", "--name", "acme"]).await);
    assert_eq!(created["organization"]["name"], "acme");
    let root = created["key"].as_str().unwrap();
    let theirs = json(&server.run(&["org", "get"]).key(Some(root)).output().await);
    assert_eq!(theirs["id"], created["organization"]["id"]);

    let (code, stderr) =
        failed(&server.run(&["org", "create", "--name", "nested"]).key(Some(root)).output().await);
    assert_eq!(code, 4, "a tenant's root key is no instance admin: {stderr}");
}
