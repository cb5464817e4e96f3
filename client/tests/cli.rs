//! The `keyward` binary against a real server on `127.0.0.1:0`: output, paging and errors.

use std::process::Output;

use keyward_server::bootstrap::Bootstrap;
use keyward_server::config::Config;
use keyward_server::startup::Application;
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;

/// A server on a free port over a fresh database, stopped when dropped.
struct TestServer {
    url: String,
    root_key: String,
    _stop: oneshot::Sender<()>,
    _dir: TempDir,
}

async fn spawn_server() -> TestServer {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let database_url = format!("sqlite://{}", dir.path().join("keyward.db").display());
    let app = Application::build(&Config::for_tests(database_url)).await.expect("the server starts");
    let Bootstrap::Minted(secret) = app.bootstrap() else {
        panic!("a fresh store mints a root key");
    };
    let root_key = secret.expose().to_owned();
    let url = format!("http://{}", app.local_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestServer { url, root_key, _stop: stop, _dir: dir }
}

impl TestServer {
    /// Runs `keyward ARGS` with this server's URL and root key in the environment.
    async fn keyward(&self, args: &[&str]) -> Output {
        self.keyward_with_key(Some(&self.root_key), args).await
    }

    async fn keyward_with_key(&self, key: Option<&str>, args: &[&str]) -> Output {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_keyward"));
        command.args(args).env("KEYWARD_URL", &self.url).env_remove("KEYWARD_KEY");
        if let Some(key) = key {
            command.env("KEYWARD_KEY", key);
        }
        command.output().await.expect("the keyward binary runs")
    }
}

/// The stdout of a successful run, as JSON.
fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "keyward failed with {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON document")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn keys_create_prints_the_created_key_with_its_secret() {
    let server = spawn_server().await;
    let created = json(
        &server
            .keyward(&[
                "keys",
                "create",
                "--name",
                "ci",
                "--user-id",
                "u1",
                "--scope",
                "invoices:write:inv_1,inv_2",
                "--metadata",
                r#"{"team":"billing"}"#,
            ])
            .await,
    );
    let secret = created["key"].as_str().expect("the secret is in `key`");
    assert!(secret.starts_with("kw"), "{secret}");
    let api_key = &created["api_key"];
    assert_eq!(api_key["name"], "ci");
    assert_eq!(api_key["user_id"], "u1");
    assert_eq!(api_key["metadata"]["team"], "billing");
    assert_eq!(api_key["scopes"][0]["resource"], "invoices");
    assert_eq!(api_key["scopes"][0]["targets"][1], "inv_2");
}

#[tokio::test]
async fn keys_create_and_update_set_rate_limits_and_credits() {
    let server = spawn_server().await;
    let created = json(
        &server
            .keyward(&[
                "keys",
                "create",
                "--name",
                "metered",
                "--rate-limit",
                "100/60000",
                "--credits",
                "500",
                "--refill",
                "500/86400000",
            ])
            .await,
    );
    let api_key = &created["api_key"];
    assert_eq!(api_key["rate_limit"], serde_json::json!({"limit": 100, "window_ms": 60000}));
    assert_eq!(api_key["credits"]["remaining"], 500);
    assert_eq!(api_key["credits"]["refill"], serde_json::json!({"amount": 500, "interval_ms": 86400000}));
    let id = api_key["id"].as_str().unwrap();
    let updated =
        json(&server.keyward(&["keys", "update", id, "--rate-limit", "5/1000", "--credits", "7"]).await);
    assert_eq!(updated["rate_limit"]["limit"], 5);
    assert_eq!(updated["credits"]["remaining"], 7);
    assert!(updated["credits"].get("refill").is_none());
    let refused = server.keyward(&["keys", "create", "--name", "x", "--rate-limit", "0/1000"]).await;
    assert!(!refused.status.success());
}

#[tokio::test]
async fn keys_update_clears_what_its_clear_flags_name_and_keeps_the_rest() {
    let server = spawn_server().await;
    let created = json(
        &server
            .keyward(&[
                "keys",
                "create",
                "--name",
                "full",
                "--description",
                "described",
                "--rate-limit",
                "100/60000",
                "--credits",
                "500",
                "--expires-at",
                "4102444800000",
                "--scope",
                "queues:read",
                "--metadata",
                "{\"plan\": \"pro\"}",
            ])
            .await,
    );
    let id = created["api_key"]["id"].as_str().unwrap();
    let cleared = json(
        &server
            .keyward(&["keys", "update", id, "--clear-rate-limit", "--clear-credits", "--clear-expiry"])
            .await,
    );
    assert!(
        cleared["rate_limit"].is_null() && cleared["credits"].is_null() && cleared["expires_at"].is_null()
    );
    assert_eq!(cleared["description"], "described", "kept: {cleared}");
    assert_eq!(cleared["scopes"].as_array().map(Vec::len), Some(1), "kept: {cleared}");
    let emptied = json(
        &server
            .keyward(&["keys", "update", id, "--clear-description", "--clear-scopes", "--clear-metadata"])
            .await,
    );
    assert!(emptied["description"].is_null(), "{emptied}");
    assert_eq!(emptied["scopes"], serde_json::json!([]));
    assert_eq!(emptied["metadata"], serde_json::json!({}));
    assert_eq!(emptied["name"], "full");
    let contradictory = server.keyward(&["keys", "update", id, "--credits", "5", "--clear-credits"]).await;
    assert_eq!(contradictory.status.code(), Some(2), "setting and clearing one field is a usage error");
}

#[tokio::test]
async fn keys_get_update_and_delete_act_on_one_key() {
    let server = spawn_server().await;
    let created = json(&server.keyward(&["keys", "create", "--name", "ci"]).await);
    let id = created["api_key"]["id"].as_str().unwrap().to_owned();
    let revision = created["api_key"]["revision"].to_string();

    let shown = json(&server.keyward(&["keys", "get", &id]).await);
    assert_eq!(shown["name"], "ci");
    assert!(shown.get("key").is_none(), "the secret is never shown again");

    let updated = json(
        &server
            .keyward(&[
                "keys",
                "update",
                &id,
                "--name",
                "deploy",
                "--status",
                "disabled",
                "--if-match",
                &revision,
            ])
            .await,
    );
    assert_eq!(updated["name"], "deploy");
    assert_eq!(updated["status"], "disabled");

    let stale = server.keyward(&["keys", "update", &id, "--name", "again", "--if-match", &revision]).await;
    assert_eq!(stale.status.code(), Some(1));
    assert!(stderr(&stale).starts_with("error: 412 "), "{}", stderr(&stale));

    let deleted = json(&server.keyward(&["keys", "delete", &id]).await);
    assert_eq!(deleted["deleted"], true);
}

#[tokio::test]
async fn keys_list_all_follows_every_page() {
    let server = spawn_server().await;
    for name in ["a", "b", "c", "d", "e"] {
        json(&server.keyward(&["keys", "create", "--name", name, "--user-id", "paged"]).await);
    }

    let page = json(&server.keyward(&["keys", "list", "--user-id", "paged", "--limit", "2"]).await);
    assert_eq!(page["api_keys"].as_array().unwrap().len(), 2);
    assert!(page["_links"]["next"]["href"].is_string(), "{page}");

    let all = json(&server.keyward(&["keys", "list", "--user-id", "paged", "--limit", "2", "--all"]).await);
    let names: Vec<&str> = all.as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["e", "d", "c", "b", "a"]);

    let embedded = json(
        &server.keyward(&["keys", "list", "--user-id", "paged", "--limit", "2", "--all", "--embed"]).await,
    );
    let embedded = embedded.as_array().unwrap();
    assert_eq!(embedded.len(), 5);
    assert!(embedded.iter().all(|k| k["masked_key"].is_string() && k["user_id"] == "paged"));
}

#[tokio::test]
async fn an_unknown_key_id_prints_the_problem_and_exits_1() {
    let server = spawn_server().await;
    let output = server.keyward(&["keys", "get", "00000000-0000-4000-8000-000000000000"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = stderr(&output);
    assert!(stderr.starts_with("error: 404 Not Found"), "{stderr}");
    assert!(stderr.contains("(api_keys."), "the problem's code is shown: {stderr}");
}

#[tokio::test]
async fn a_wrong_key_is_a_401_and_is_never_echoed() {
    let server = spawn_server().await;
    let output = server.keyward_with_key(Some("kw_not_a_real_key"), &["keys", "list"]).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr(&output);
    assert!(stderr.starts_with("error: 401 "), "{stderr}");
    assert!(!stderr.contains("kw_not_a_real_key"), "{stderr}");
}

#[tokio::test]
async fn a_missing_key_is_a_usage_error() {
    let server = spawn_server().await;
    let output = server.keyward_with_key(None, &["keys", "list"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("KEYWARD_KEY"), "{}", stderr(&output));
}

#[tokio::test]
async fn an_unreachable_server_is_reported_in_lowercase() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["--url", "http://127.0.0.1:1", "keys", "list"])
        .env("KEYWARD_KEY", "kw_unused")
        .output()
        .await
        .expect("the keyward binary runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr(&output);
    assert!(stderr.starts_with("error: cannot connect to http://127.0.0.1:1: "), "{stderr}");
    assert!(!stderr.trim_end().ends_with('.'), "{stderr}");
}
