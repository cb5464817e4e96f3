//! What the server holds reaches a terminal with its control and bidirectional formatting characters escaped, JSON and YAML exactly, and tables fit the terminal with ids whole.

use serde_json::{Value, json as value};

use crate::{failed, json, spawn_server, stderr, stdout};

/// Control and bidirectional formatting characters the server keeps in metadata values and
/// in your ids: an escape sequence that turns the terminal red, one that sets its title, a
/// carriage return that would overwrite the start of the line, and the right-to-left
/// override that shows what follows it reversed.
const RED: &str = "esc\u{1b}[31mred";
const TITLE: &str = "t\u{1b}]0;owned\u{7}";
const RETURN: &str = "fake\rreal";
const REVERSED: &str = "invoice\u{202e}fdp.exe";

/// Whether `text` holds a control or bidirectional formatting character other than the line
/// breaks between its lines.
fn holds_a_raw_control(text: &str) -> bool {
    text.chars().any(|c| {
        c != '\n'
            && (c.is_control()
                || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_s_control_characters_reach_a_terminal_escaped_and_json_gives_them_back_exactly() {
    let server = spawn_server().await;
    let metadata =
        value!({"note": RED, "title": TITLE, "line": RETURN, "file": REVERSED, "plain": "café 日本 🔑"});
    let (id, _) = server
        .create_key(&[
            "--name",
            "ci",
            "--user-id",
            REVERSED,
            "--customer-id",
            RED,
            "--billing-id",
            RETURN,
            "--metadata",
            &metadata.to_string(),
        ])
        .await;

    let shown = stdout(&server.keyward(&["keys", "get", &id, "--output", "table"]).await);
    assert!(!holds_a_raw_control(&shown), "{shown:?}");
    let field = |label: &str| crate::field(&shown, label).to_owned();
    assert_eq!(field("User"), "invoice\\u{202e}fdp.exe");
    assert_eq!(field("Customer"), "esc\\u{1b}[31mred");
    assert_eq!(field("Billing"), "fake\\u{d}real");
    let shown_metadata = field("Metadata");
    for escaped in
        ["esc\\u{1b}[31mred", "t\\u{1b}]0;owned\\u{7}", "fake\\u{d}real", "invoice\\u{202e}fdp.exe"]
    {
        assert!(shown_metadata.contains(escaped), "{escaped} in {shown_metadata}");
    }
    assert!(shown_metadata.contains("café 日本 🔑"), "ordinary Unicode as it is: {shown_metadata}");

    let as_json = json(&server.keyward(&["keys", "get", &id, "--output", "json"]).await);
    assert_eq!(as_json["metadata"], metadata, "JSON holds the server's values exactly");
    assert_eq!(as_json["user_id"], REVERSED);
    assert_eq!(as_json["customer_id"], RED);
    assert_eq!(as_json["billing_id"], RETURN);
    let as_yaml = stdout(&server.keyward(&["keys", "get", &id, "--output", "yaml"]).await);
    let parsed: Value = yaml_serde::from_str(&as_yaml).expect("stdout is YAML");
    assert_eq!(parsed, as_json, "YAML reads back to the same strings");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_table_of_keys_reaches_a_terminal_without_a_raw_control_character() {
    let server = spawn_server().await;
    let metadata = value!({"note": RED, "file": REVERSED}).to_string();
    let (id, _) = server
        .create_key(&["--name", "ci", "--user-id", RED, "--customer-id", RETURN, "--metadata", &metadata])
        .await;

    let runs: [&[&str]; 5] = [
        &["keys", "list", "--output", "table"],
        &["keys", "list", "--customer-id", RETURN, "--output", "table"],
        &["users", "keys", "list", RED, "--output", "table"],
        &["users", "keys", "get", RED, &id, "--output", "table"],
        &["keys", "update", &id, "--metadata", &metadata, "--output", "table"],
    ];
    for args in runs {
        let output = server.keyward(args).await;
        let shown = stdout(&output);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        assert!(shown.contains(&id), "{args:?} shows the key: {shown}");
        assert!(!holds_a_raw_control(&shown), "{args:?}: {shown:?}");
    }
    let listed = json(&server.keyward(&["users", "keys", "list", RED, "--output", "json"]).await);
    assert_eq!(listed[0]["user_id"], RED, "the filter matched the exact id");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_field_the_server_names_with_a_control_character_reaches_stderr_escaped() {
    let server = spawn_server().await;
    // No store keeps a NUL in text, so the server refuses it, naming the entry that holds it.
    let metadata = r#"{"note\u001b[31m\u202e": "nul\u0000"}"#;
    let (code, stderr) =
        failed(&server.keyward(&["keys", "create", "--name", "ci", "--metadata", metadata]).await);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.starts_with("error: 422 "), "{stderr}");
    assert!(!holds_a_raw_control(&stderr), "{stderr:?}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("metadata.note\\u{1b}[31m\\u{202e}: "), "the field is named, escaped: {stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn at_80_columns_keys_list_keeps_every_id_whole_on_one_line() {
    let server = spawn_server().await;
    let names = [
        "billing worker (EU) for the nightly invoice run",
        "deploy — staging and production, rotated every month by the platform team",
        "ci",
    ];
    let mut ids = Vec::new();
    for name in names {
        ids.push(server.create_key(&["--name", name, "--expires-in", "30d", "--user-id", "wide"]).await.0);
    }
    for columns in ["80", "40"] {
        let shown = stdout(
            &server
                .run(&["keys", "list", "--user-id", "wide", "-o", "table"])
                .env("COLUMNS", columns)
                .output()
                .await,
        );
        assert_eq!(shown.lines().count(), 1 + ids.len(), "a line a key at {columns}:\n{shown}");
        for id in &ids {
            assert!(
                shown.lines().any(|line| line.starts_with(id.as_str())),
                "{id} whole at {columns}:\n{shown}"
            );
        }
        let width: usize = columns.parse().unwrap();
        assert!(shown.lines().all(|line| line.chars().count() <= width), "within {columns}:\n{shown}");
    }
    let natural = stdout(
        &server.run(&["keys", "list", "--user-id", "wide", "-o", "table"]).env("COLUMNS", "0").output().await,
    );
    assert!(natural.contains(names[1]), "COLUMNS=0 says nothing: the table at its natural width:\n{natural}");
}
