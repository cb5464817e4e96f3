//! Reading your own writes from one command to the next: each write prints its consistency token on stderr, and `--consistency-token` (or `KEYWARD_CONSISTENCY_TOKEN`) hands it to a later command.

use std::process::Output;

use keyward::types::{ApiKeyCreated, OrganizationCreated};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::{failed, json, spawn_server, stderr, stdout};

/// The token a write printed, checking that it is all the write printed on stderr: one line,
/// `consistency token: ct1_` and 16 hexadecimal digits.
fn printed_token(output: &Output) -> String {
    assert!(output.status.success(), "keyward failed with {}: {}", output.status, stderr(output));
    let stderr = stderr(output);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {stderr:?}");
    let token = lines[0]
        .strip_prefix("consistency token: ")
        .unwrap_or_else(|| panic!("the line names the token: {stderr:?}"));
    let digits = token.strip_prefix("ct1_").unwrap_or_else(|| panic!("a ct1_ token: {token:?}"));
    assert!(digits.len() == 16 && digits.bytes().all(|b| b.is_ascii_hexdigit()), "{token:?}");
    token.to_owned()
}

/// Checks that `document` is an answer of the API's, a `T`, and nothing beside it.
fn assert_api_document<T: Serialize + DeserializeOwned>(document: &Value) {
    let typed: T = serde_json::from_value(document.clone()).unwrap_or_else(|e| panic!("{e}: {document}"));
    assert_eq!(&serde_json::to_value(typed).unwrap(), document, "the API's document only");
}

/// A run's stdout holds nothing about tokens.
fn assert_no_token_on_stdout(output: &Output) {
    assert!(
        !stdout(output).contains("consistency") && !stdout(output).contains("ct1_"),
        "{}",
        stdout(output)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_write_prints_one_consistency_token_on_stderr_each_greater_than_the_last() {
    let server = spawn_server().await;

    let created = server.keyward(&["keys", "create", "--name", "ci", "--output", "json"]).await;
    let first = printed_token(&created);
    assert_no_token_on_stdout(&created);
    let document = json(&created);
    assert_api_document::<ApiKeyCreated>(&document);
    let id = document["api_key"]["id"].as_str().unwrap().to_owned();

    let updated = server.keyward(&["keys", "update", &id, "--name", "deploy"]).await;
    let second = printed_token(&updated);
    assert!(second > first, "a later write's token is greater: {second} after {first}");
    assert_eq!(json(&updated)["name"], "deploy");

    let rotated = server.keyward(&["keys", "rotate", &id]).await;
    let third = printed_token(&rotated);
    assert!(third > second, "{third} after {second}");
    assert_api_document::<ApiKeyCreated>(&json(&rotated));

    let deleted = server.keyward(&["keys", "delete", &id]).await;
    let fourth = printed_token(&deleted);
    assert!(fourth > third, "{fourth} after {third}");
    assert_eq!(json(&deleted)["deleted"], true);

    let organization = server.keyward(&["org", "create", "--name", "acme"]).await;
    let fifth = printed_token(&organization);
    assert!(fifth > fourth, "{fifth} after {fourth}");
    assert_api_document::<OrganizationCreated>(&json(&organization));

    for output in [&updated, &rotated, &deleted, &organization] {
        assert_no_token_on_stdout(output);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_goes_to_stderr_alone_whatever_the_output_format() {
    let server = spawn_server().await;
    for format in ["json", "yaml", "table"] {
        let output = server.keyward(&["keys", "create", "--name", "formatted", "--output", format]).await;
        printed_token(&output);
        assert_no_token_on_stdout(&output);
        let stdout = stdout(&output);
        match format {
            "table" => {
                assert!(stdout.contains("shown this once"), "the secret block is still shown: {stdout}")
            }
            _ => {
                let document: Value = yaml_serde::from_str(&stdout).expect("stdout is one document");
                assert_api_document::<ApiKeyCreated>(&document);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_print_no_token_and_are_answered_when_given_a_writes_token() {
    let server = spawn_server().await;
    let created = server.keyward(&["keys", "create", "--name", "fresh", "--scope", "invoices:read"]).await;
    let token = printed_token(&created);
    let document = json(&created);
    let (id, secret) = (document["api_key"]["id"].as_str().unwrap(), document["key"].as_str().unwrap());

    let shown = server.keyward(&["keys", "get", id, "--consistency-token", &token]).await;
    assert_eq!(json(&shown)["name"], "fresh");
    assert!(stderr(&shown).is_empty(), "a read prints no token: {}", stderr(&shown));

    let verified = server
        .run(&["keys", "verify", secret])
        .env("KEYWARD_CONSISTENCY_TOKEN", token.as_str())
        .output()
        .await;
    assert_eq!(json(&verified)["code"], "VALID");
    assert!(stderr(&verified).is_empty(), "{}", stderr(&verified));

    let blank = server.run(&["keys", "get", id]).env("KEYWARD_CONSISTENCY_TOKEN", "").output().await;
    assert_eq!(json(&blank)["name"], "fresh", "an empty token is no token");

    let written =
        server.keyward(&["keys", "update", id, "--name", "later", "--consistency-token", &token]).await;
    let later = printed_token(&written);
    assert!(later > token, "a write given a token answers with a greater one: {later} after {token}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_naming_a_change_never_made_is_refused_in_one_line_and_exits_1() {
    let server = spawn_server().await;
    let (id, secret) = server.create_key(&["--name", "kept"]).await;
    let never = "ct1_7fffffffffffffff";

    let (code, stderr) = failed(
        &server.run(&["keys", "verify", &secret]).env("KEYWARD_CONSISTENCY_TOKEN", never).output().await,
    );
    assert_eq!(code, 1, "refused: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: 400 "), "{stderr}");
    assert!(stderr.contains("(request.invalid_consistency_token)"), "{stderr}");
    assert!(stderr.contains("Keyward-Consistency-Token: names a change this service never made"), "{stderr}");

    let (code, stderr) = failed(
        &server
            .run(&["keys", "update", &id, "--name", "changed"])
            .env("KEYWARD_CONSISTENCY_TOKEN", never)
            .output()
            .await,
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "a refused write prints no token: {stderr}");
    assert_eq!(json(&server.keyward(&["keys", "get", &id]).await)["name"], "kept", "the write was not made");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_token_is_a_usage_error_and_nothing_is_sent() {
    let server = spawn_server().await;
    let (id, _) = server.create_key(&["--name", "kept"]).await;
    for token in ["not-a-token", "ct1_\u{1}", "ct1_ZZZZZZZZZZZZZZZZ"] {
        let (code, stderr) = failed(
            &server
                .keyward(&["keys", "update", &id, "--name", "changed", "--consistency-token", token])
                .await,
        );
        assert_eq!(code, 2, "{token:?}: {stderr}");
        assert_eq!(
            stderr, "error: the consistency token is not one Keyward gave (ct1_ and 16 hexadecimal digits)\n",
            "{token:?}"
        );
    }
    assert_eq!(json(&server.keyward(&["keys", "get", &id]).await)["name"], "kept", "nothing was sent");
}
