//! `keyward users keys …`: one user's keys, and nobody else's.

use crate::{failed, json, spawn_server};

#[tokio::test(flavor = "multi_thread")]
async fn users_keys_list_and_get_show_only_that_users_keys() {
    let server = spawn_server().await;
    let (alice_key, _) = server.create_key(&["--name", "alice's", "--user-id", "alice"]).await;
    let (bob_key, _) = server.create_key(&["--name", "bob's", "--user-id", "bob"]).await;

    let listed = json(&server.keyward(&["users", "keys", "list", "alice"]).await);
    let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|k| k["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [alice_key.as_str()]);

    let shown = json(&server.keyward(&["users", "keys", "get", "alice", &alice_key]).await);
    assert_eq!(shown["name"], "alice's");
    let (code, stderr) = failed(&server.keyward(&["users", "keys", "get", "alice", &bob_key]).await);
    assert_eq!(code, 3, "bob's key is not alice's: {stderr}");
}
