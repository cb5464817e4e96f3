//! Output for people and for programs: tables with local and relative times, YAML, and the secret block.

use crate::{json, spawn_server, stdout};

#[tokio::test(flavor = "multi_thread")]
async fn keys_list_as_a_table_shows_status_masked_key_expiry_and_last_use() {
    let server = spawn_server().await;
    let (_, secret) = server.create_key(&["--name", "expiring", "--expires-in", "3d"]).await;
    json(&server.keyward(&["keys", "verify", &secret]).await);
    let (revoked, _) = server.create_key(&["--name", "gone"]).await;
    json(&server.keyward(&["keys", "delete", &revoked]).await);

    let table = stdout(&server.keyward(&["keys", "list", "--include-deleted", "-o", "table"]).await);
    let lines: Vec<&str> = table.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["ID", "NAME", "STATUS", "KEY", "EXPIRES", "LAST", "USED"], "{table}");
    let expiring = lines.iter().find(|line| line.contains("expiring")).expect("a row per key");
    assert!(expiring.contains("enabled"), "{table}");
    assert!(expiring.contains("in 2 days") || expiring.contains("in 3 days"), "{table}");
    assert!(expiring.contains("just now"), "last used by the verify: {table}");
    assert!(expiring.contains("kw_") && expiring.contains('…'), "masked, shortened: {table}");
    assert!(!table.contains(&secret), "{table}");
    let gone = lines.iter().find(|line| line.contains("gone")).unwrap();
    assert!(gone.contains("revoked") && gone.contains("never"), "{table}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_as_a_table_shows_local_times_and_limits_as_the_cli_takes_them() {
    let server = spawn_server().await;
    let (id, _) = server
        .create_key(&[
            "--name",
            "limited",
            "--rate-limit",
            "100/min",
            "--credits",
            "1000",
            "--refill",
            "1000/day",
            "--expires-at",
            "2030-01-01T00:00:00Z",
        ])
        .await;
    let shown = stdout(&server.keyward(&["keys", "get", &id, "-o", "table"]).await);
    let field = |label: &str| crate::field(&shown, label).to_owned();
    assert_eq!(field("Name"), "limited");
    assert_eq!(field("Rate limit"), "100/min");
    assert_eq!(field("Credits"), "1000 left, back to 1000 every day");
    assert!(field("Expires").starts_with("2030-01-01 00:00 UTC (in "), "{shown}");
    assert_eq!(field("Last used"), "never");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_created_key_as_a_table_shows_its_secret_once_clearly_marked() {
    let server = spawn_server().await;
    let output = stdout(&server.keyward(&["keys", "create", "--name", "shown", "-o", "table"]).await);
    let secret_line =
        output.lines().find(|line| line.trim().starts_with("kw_")).expect("the secret on its own line");
    let secret = secret_line.trim();
    assert_eq!(output.matches(secret).count(), 1, "{output}");
    assert!(output.contains("shown this once"), "{output}");
    let verdict = json(&server.keyward(&["keys", "verify", secret]).await);
    assert_eq!(verdict["code"], "VALID");
}

#[tokio::test(flavor = "multi_thread")]
async fn yaml_output_is_the_same_document_as_json() {
    let server = spawn_server().await;
    let (id, _) = server.create_key(&["--name", "yaml", "--metadata", r#"{"tier": 2}"#]).await;
    let as_json = json(&server.keyward(&["keys", "get", &id]).await);
    let as_yaml = stdout(&server.keyward(&["keys", "get", &id, "--output", "yaml"]).await);
    let parsed: serde_json::Value = yaml_serde::from_str(&as_yaml).expect("stdout is YAML");
    assert_eq!(parsed, as_json);
}
