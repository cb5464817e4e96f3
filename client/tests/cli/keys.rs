//! `keyward keys …`: create, list, get, update, rotate, delete and verify, with their friendly inputs and their errors.

use serde_json::json as value;

use crate::{failed, json, spawn_server, stderr, stdout};

#[tokio::test(flavor = "multi_thread")]
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

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_and_refills_read_as_a_count_per_unit() {
    let server = spawn_server().await;
    let created = json(
        &server
            .keyward(&[
                "keys",
                "create",
                "--name",
                "metered",
                "--rate-limit",
                "100/min",
                "--credits",
                "500",
                "--refill",
                "500/day",
            ])
            .await,
    );
    let api_key = &created["api_key"];
    assert_eq!(api_key["rate_limit"], value!({"limit": 100, "window_ms": 60000}));
    assert_eq!(api_key["credits"]["remaining"], 500);
    assert_eq!(api_key["credits"]["refill"], value!({"amount": 500, "interval_ms": 86400000}));
    let id = api_key["id"].as_str().unwrap();
    let updated =
        json(&server.keyward(&["keys", "update", id, "--rate-limit", "5/30s", "--credits", "7"]).await);
    assert_eq!(updated["rate_limit"], value!({"limit": 5, "window_ms": 30000}));
    assert_eq!(updated["credits"]["remaining"], 7);
    assert!(updated["credits"].get("refill").is_none());
    let milliseconds = json(&server.keyward(&["keys", "update", id, "--rate-limit", "5/1500"]).await);
    assert_eq!(milliseconds["rate_limit"]["window_ms"], 1500, "a bare window is milliseconds");

    let (code, stderr) =
        failed(&server.keyward(&["keys", "create", "--name", "x", "--rate-limit", "0/min"]).await);
    assert_eq!(code, 2, "a limit of zero is a usage error: {stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expiry_is_given_as_a_duration_from_now_or_as_a_time() {
    let server = spawn_server().await;
    let before = now_ms();
    let created = json(&server.keyward(&["keys", "create", "--name", "month", "--expires-in", "30d"]).await);
    let expires_at = created["api_key"]["expires_at"].as_i64().unwrap();
    let thirty_days = 30 * 86_400_000;
    assert!(
        (before + thirty_days..=now_ms() + thirty_days).contains(&expires_at),
        "{expires_at} is 30 days from the call"
    );
    let id = created["api_key"]["id"].as_str().unwrap();
    let dated = json(&server.keyward(&["keys", "update", id, "--expires-at", "2030-01-01T00:00:00Z"]).await);
    assert_eq!(dated["expires_at"], 1_893_456_000_000i64);
    let offset =
        json(&server.keyward(&["keys", "update", id, "--expires-at", "2030-01-01T01:00:00+01:00"]).await);
    assert_eq!(offset["expires_at"], 1_893_456_000_000i64);
    let (code, stderr) = failed(&server.keyward(&["keys", "update", id, "--expires-in", "soon"]).await);
    assert_eq!(code, 2);
    assert!(stderr.contains("'soon' is not a duration"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_update_clears_what_its_clear_flags_name_and_keeps_the_rest() {
    let server = spawn_server().await;
    let (id, _) = server
        .create_key(&[
            "--name",
            "full",
            "--description",
            "described",
            "--rate-limit",
            "100/min",
            "--credits",
            "500",
            "--expires-at",
            "4102444800000",
            "--scope",
            "queues:read",
            "--metadata",
            "{\"plan\": \"pro\"}",
        ])
        .await;
    let cleared = json(
        &server
            .keyward(&["keys", "update", &id, "--clear-rate-limit", "--clear-credits", "--clear-expiry"])
            .await,
    );
    assert!(
        cleared["rate_limit"].is_null() && cleared["credits"].is_null() && cleared["expires_at"].is_null()
    );
    assert_eq!(cleared["description"], "described", "kept: {cleared}");
    assert_eq!(cleared["scopes"].as_array().map(Vec::len), Some(1), "kept: {cleared}");
    let emptied = json(
        &server
            .keyward(&["keys", "update", &id, "--clear-description", "--clear-scopes", "--clear-metadata"])
            .await,
    );
    assert!(emptied["description"].is_null(), "{emptied}");
    assert_eq!(emptied["scopes"], value!([]));
    assert_eq!(emptied["metadata"], value!({}));
    assert_eq!(emptied["name"], "full");
    let (code, _) =
        failed(&server.keyward(&["keys", "update", &id, "--credits", "5", "--clear-credits"]).await);
    assert_eq!(code, 2, "setting and clearing one field is a usage error");
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_update_with_nothing_to_change_is_a_usage_error_and_sends_nothing() {
    let server = spawn_server().await;
    let (id, _) = server.create_key(&["--name", "unchanged"]).await;
    let before = json(&server.keyward(&["keys", "get", &id]).await);

    for args in [vec!["keys", "update", &id], vec!["keys", "update", &id, "--if-match", "1"]] {
        let (code, stderr) = failed(&server.keyward(&args).await);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.starts_with("error: keys update needs something to change: --name, "), "{stderr}");
        for option in
            ["--description", "--clear-expiry", "--scope", "--metadata", "--credits", "--clear-credits"]
        {
            assert!(stderr.contains(option), "{option} is named: {stderr}");
        }
        assert!(!stderr.contains("--if-match"), "a condition changes nothing: {stderr}");
    }

    let after = json(&server.keyward(&["keys", "get", &id]).await);
    assert_eq!(after["revision"], before["revision"], "nothing was sent: {after}");
    assert_eq!(after["updated_at"], before["updated_at"]);
}

#[tokio::test(flavor = "multi_thread")]
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

    let (code, stderr) =
        failed(&server.keyward(&["keys", "update", &id, "--name", "again", "--if-match", &revision]).await);
    assert_eq!(code, 1, "a stale If-Match is refused");
    assert!(stderr.starts_with("error: 412 "), "{stderr}");

    let deleted = json(&server.keyward(&["keys", "delete", &id]).await);
    assert_eq!(deleted["deleted"], true);
    let (code, _) = failed(&server.keyward(&["keys", "get", &id]).await);
    assert_eq!(code, 3, "a revoked key is not found");
    let revoked = json(&server.keyward(&["keys", "get", &id, "--include-deleted"]).await);
    assert_eq!(revoked["deleted"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_list_prints_a_page_and_says_how_to_get_the_next() {
    let server = spawn_server().await;
    for name in ["a", "b", "c", "d", "e"] {
        server.create_key(&["--name", name, "--user-id", "paged"]).await;
    }

    let output = server.keyward(&["keys", "list", "--user-id", "paged", "--limit", "2"]).await;
    let names = |keys: &serde_json::Value| -> Vec<String> {
        keys.as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names(&json(&output)), ["e", "d"]);
    let hint = stderr(&output);
    let token = hint
        .split_once("--page-token ")
        .and_then(|(_, rest)| rest.split([',', ' ', '\n']).next())
        .unwrap_or_else(|| panic!("the next page is named on stderr: {hint}"));
    let next = json(
        &server.keyward(&["keys", "list", "--user-id", "paged", "--limit", "2", "--page-token", token]).await,
    );
    assert_eq!(names(&next), ["c", "b"]);

    let all = server.keyward(&["keys", "list", "--user-id", "paged", "--limit", "2", "--all"]).await;
    let all_keys = json(&all);
    assert_eq!(names(&all_keys), ["e", "d", "c", "b", "a"]);
    assert!(
        all_keys.as_array().unwrap().iter().all(|k| k["masked_key"].is_string() && k["user_id"] == "paged")
    );
    assert!(stderr(&all).is_empty(), "nothing is left to hint at: {}", stderr(&all));
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_verify_reads_the_key_from_stdin_and_exits_6_when_it_is_not_valid() {
    let server = spawn_server().await;
    let (_, secret) = server.create_key(&["--name", "verified", "--scope", "invoices:read"]).await;

    let valid = json(&server.run(&["keys", "verify"]).stdin(&format!("{secret}\n")).output().await);
    assert_eq!(valid["code"], "VALID");
    assert_eq!(valid["api_key"]["name"], "verified");

    let scoped = server.keyward(&["keys", "verify", &secret, "--scope", "invoices:write:inv_1"]).await;
    assert_eq!(scoped.status.code(), Some(6), "{}", stderr(&scoped));
    let verdict: serde_json::Value =
        serde_json::from_slice(&scoped.stdout).expect("the verdict is still printed");
    assert_eq!(verdict["code"], "INSUFFICIENT_SCOPE");
    assert!(stderr(&scoped).contains("INSUFFICIENT_SCOPE"), "{}", stderr(&scoped));

    let unknown = server
        .run(&["keys", "verify", "-"])
        .stdin("kw_7Qk2mVx9LrT4bN8cZp1wY6hJ3sD5fG0a0GUhBA\n")
        .output()
        .await;
    assert_eq!(unknown.status.code(), Some(6));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&unknown.stdout).unwrap()["code"], "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_verify_with_a_query_is_valid_only_when_the_key_satisfies_it_and_a_malformed_one_is_refused() {
    let server = spawn_server().await;
    let (_, secret) = server
        .create_key(&["--name", "queried", "--scope", "invoices:read", "--scope", "files:read:inv 1"])
        .await;
    let verify = |args: &[&str]| {
        let mut all = vec!["keys", "verify", secret.as_str()];
        all.extend_from_slice(args);
        server.run(&all).output()
    };
    let code = |output: &std::process::Output| -> serde_json::Value {
        serde_json::from_slice::<serde_json::Value>(&output.stdout).expect("a verdict")["code"].clone()
    };

    let either = verify(&["--query", "invoices:write OR invoices:read"]).await;
    assert_eq!(json(&either)["code"], "VALID", "{}", stderr(&either));
    let targeted = verify(&["--query", r#"files:read["inv 1"] and (invoices:read OR invoices:write)"#]).await;
    assert_eq!(json(&targeted)["code"], "VALID", "{}", stderr(&targeted));

    let unsatisfied = verify(&["--query", r#"files:read["inv 2"] OR invoices:write"#]).await;
    assert_eq!(unsatisfied.status.code(), Some(6), "{}", stderr(&unsatisfied));
    assert_eq!(code(&unsatisfied), "INSUFFICIENT_SCOPE");
    let scopes_too = verify(&["--scope", "invoices:delete", "--query", "invoices:read"]).await;
    assert_eq!(code(&scopes_too), "INSUFFICIENT_SCOPE", "--scope and --query must both hold");

    let malformed = verify(&["--query", "invoices:read OR"]).await;
    assert_eq!(malformed.status.code(), Some(1), "{}", stderr(&malformed));
    let said = stderr(&malformed);
    assert!(said.contains("scope_query: at offset 16: expected a scope"), "{said}");
    assert!(malformed.stdout.is_empty(), "no verdict is printed");
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_rotate_prints_a_new_secret_and_the_old_one_stops_working() {
    let server = spawn_server().await;
    let (id, old) = server.create_key(&["--name", "rotated"]).await;
    let rotated = json(&server.keyward(&["keys", "rotate", &id]).await);
    let new = rotated["key"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(rotated["api_key"]["id"], id.as_str());
    assert_eq!(json(&server.keyward(&["keys", "verify", new]).await)["code"], "VALID");
    let old_verdict = server.keyward(&["keys", "verify", &old]).await;
    assert_eq!(old_verdict.status.code(), Some(6));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&old_verdict.stdout).unwrap()["code"], "REVOKED");

    let graced = json(&server.keyward(&["keys", "rotate", &id, "--grace", "1h"]).await);
    assert_eq!(json(&server.keyward(&["keys", "verify", new]).await)["code"], "VALID", "within its grace");
    assert_ne!(graced["key"], rotated["key"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_value_the_server_refuses_is_one_line_naming_the_field_and_exits_1() {
    let server = spawn_server().await;
    let too_deep = r#"{"a":{"b":{"c":{"d":{"e":{"f":1}}}}}}"#;
    let (code, stderr) =
        failed(&server.keyward(&["keys", "create", "--name", "x", "--metadata", too_deep]).await);
    assert_eq!(code, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: 422 "), "{stderr}");
    assert!(stderr.contains("metadata: "), "the field is named: {stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_key_id_is_not_found_and_exits_3() {
    let server = spawn_server().await;
    let (code, stderr) =
        failed(&server.keyward(&["keys", "get", "00000000-0000-4000-8000-000000000000"]).await);
    assert_eq!(code, 3);
    assert!(stderr.starts_with("error: 404 Not Found"), "{stderr}");
    assert!(stderr.contains("(api_keys."), "the problem's code is shown: {stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_key_exits_4_and_is_never_echoed() {
    let server = spawn_server().await;
    let (code, stderr) = failed(&server.run(&["keys", "list"]).key(Some("kw_not_a_real_key")).output().await);
    assert_eq!(code, 4);
    assert!(stderr.starts_with("error: 401 "), "{stderr}");
    assert!(!stderr.contains("kw_not_a_real_key"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_without_the_scope_exits_4() {
    let server = spawn_server().await;
    let (_, reader) = server.create_key(&["--name", "reader", "--scope", "api_keys:read"]).await;
    let (code, stderr) =
        failed(&server.run(&["keys", "create", "--name", "x"]).key(Some(&reader)).output().await);
    assert_eq!(code, 4);
    assert!(stderr.starts_with("error: 403 "), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_key_is_a_usage_error() {
    let server = spawn_server().await;
    let (code, stderr) = failed(&server.run(&["keys", "list"]).key(None).output().await);
    assert_eq!(code, 2);
    assert!(stderr.contains("KEYWARD_KEY") && stderr.contains("keyward login"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_server_exits_5_in_lowercase() {
    let server = spawn_server().await;
    let (code, stderr) =
        failed(&server.run(&["keys", "list"]).url(Some("http://127.0.0.1:1")).output().await);
    assert_eq!(code, 5);
    assert!(stderr.starts_with("error: cannot connect to http://127.0.0.1:1: "), "{stderr}");
    assert!(!stderr.trim_end().ends_with('.'), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_secret_is_the_only_thing_on_stdout_in_json_besides_the_key() {
    let server = spawn_server().await;
    let output = server.keyward(&["keys", "create", "--name", "piped", "--output", "json"]).await;
    let created = json(&output);
    let secret = created["key"].as_str().unwrap();
    assert_eq!(stdout(&output).matches(secret).count(), 1, "the secret is shown once");
    assert!(!stderr(&output).contains(secret), "and never on stderr");
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}
