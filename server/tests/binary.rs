//! The real `keyward-server` binary: first start, restart, SIGTERM, and logs that never hold a secret.
//!
//! Each test runs the binary Cargo built for this package in a fresh temporary directory, on a port
//! found free a moment before, with `RUST_LOG=debug` so that every log line the server can write is
//! written. Its stdout and stderr are read line by line on two threads; a test waits for a line, never
//! for a length of time, and a [`Server`] dropped by a failing test kills its process.
#![cfg(unix)]

#[path = "support/postgres.rs"]
mod postgres;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use keyward_server::domain::key::Secret;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout_at};

/// How long a start may take, migrations included.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the server may take to exit once sent SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// The stderr line that says the server is listening (logged after the bind, at info).
const LISTENING: &str = "keyward listening";
/// The stdout line that shows a minted root key.
const ADMIN_LINE: &str = "admin key: ";
/// What `tower_http`'s trace layer logs, at debug, when a request reaches the router.
const REQUEST_STARTED: &str = "started processing request";
/// What the server logs once SIGTERM or Ctrl-C arrived.
const SHUTTING_DOWN: &str = "shutting down: draining in-flight requests";

#[tokio::test]
async fn the_first_start_prints_the_admin_key_once_and_a_restart_does_not() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let launch = Launch::new(dir.path());

    let (server, admin_key) = launch.first_start().await;
    assert!(Secret::parse(&admin_key).is_ok(), "the printed admin key is not well-formed: {admin_key}");
    let keys = server.assert_key_works(&admin_key).await;
    assert!(
        keys["api_keys"].as_array().is_some_and(|keys| keys.iter().any(|k| k["name"] == "root")),
        "the admin key does not list the root key: {keys}"
    );
    let health = server.request(Method::GET, "/v1/health").header("x-api-key", &admin_key).send().await;
    let health = health.expect("the health request is answered");
    assert_eq!(health.status(), StatusCode::OK);
    let health: Value = health.json().await.expect("the health body is JSON");
    assert_eq!(health["status"], "ok", "{health}");
    let first = server.stop().await;
    first.assert_success("the first start");
    assert_eq!(first.admin_lines(), 1, "the first start prints the admin key once\n{}", first.transcript());
    assert!(launch.database_path().is_file(), "--database-url did not create {:?}", launch.database_path());

    let restarted = launch.start().await;
    restarted.assert_key_works(&admin_key).await;
    let second = restarted.stop().await;
    second.assert_success("the restart");
    assert_eq!(second.admin_lines(), 0, "a restart printed an admin key\n{}", second.transcript());

    let elsewhere = tempfile::tempdir().expect("a temporary directory");
    let launch = Launch::with_default_database(elsewhere.path());
    let (server, admin_key) = launch.first_start().await;
    server.assert_key_works(&admin_key).await;
    server.stop().await.assert_success("a start on the default database");
    assert!(
        elsewhere.path().join("keyward.db").is_file(),
        "the default sqlite://keyward.db is not keyward.db in the current directory"
    );
}

#[tokio::test]
async fn keyward_admin_key_is_adopted_on_first_start() {
    let admin_key = Secret::generate(&Default::default()).expose().to_owned();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = Launch::new(dir.path()).env("KEYWARD_ADMIN_KEY", &admin_key).start().await;
    server.assert_key_works(&admin_key).await;
    let adopted = server.stop().await;
    adopted.assert_success("a start with KEYWARD_ADMIN_KEY");
    assert_eq!(adopted.admin_lines(), 0, "an adopted key was printed\n{}", adopted.transcript());
    adopted.assert_holds_none_of(&[&admin_key]);

    let mut malformed = admin_key.clone();
    let last = malformed.pop().expect("a key is not empty");
    malformed.push(if last == 'a' { 'b' } else { 'a' });
    assert!(Secret::parse(&malformed).is_err(), "a key with a wrong checksum parses");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let launch = Launch::new(dir.path()).env("KEYWARD_ADMIN_KEY", &malformed);
    let refused = launch.spawn().finish(START_TIMEOUT, "the refused start to exit").await;
    assert!(
        !refused.status.success(),
        "a malformed KEYWARD_ADMIN_KEY was accepted\n{}",
        refused.transcript()
    );
    assert!(
        refused.stderr.iter().any(|line| line.contains("KEYWARD_ADMIN_KEY is not a well-formed Keyward key")),
        "the refusal does not say what is wrong\n{}",
        refused.transcript()
    );
    refused.assert_holds_none_of(&[&malformed]);
    assert!(!launch.database_path().exists(), "a refused start created the database");
}

#[tokio::test]
async fn no_log_line_holds_a_secret() {
    for log_format in ["text", "json"] {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (server, admin_key) =
            Launch::new(dir.path()).arg("--log-format").arg(log_format).first_start().await;
        let mut secrets = vec![admin_key.clone()];

        let created = server
            .request(Method::POST, "/v1/api_keys")
            .header("x-api-key", &admin_key)
            .json(&json!({
                "name": "billing worker",
                "customer_id": "cus_42",
                "scopes": [{"resource": "invoices", "access": "read"}],
            }))
            .send()
            .await;
        let worker = expect_json(created, StatusCode::CREATED).await;
        let worker_key = worker["key"].as_str().expect("a created key has its secret").to_owned();
        let worker_id = worker["api_key"]["id"].as_str().expect("a created key has an id").to_owned();
        secrets.push(worker_key.clone());

        let created = server
            .request(Method::POST, "/v1/api_keys")
            .bearer_auth(&admin_key)
            .json(&json!({"name": "deploy bot", "prefix": "acme", "metadata": {"team": "ops"}}))
            .send()
            .await;
        let bot = expect_json(created, StatusCode::CREATED).await;
        secrets.push(bot["key"].as_str().expect("a created key has its secret").to_owned());

        let created = server
            .request(Method::POST, "/v1/organizations")
            .bearer_auth(&admin_key)
            .json(&json!({"name": "acme"}))
            .send()
            .await;
        let organization = expect_json(created, StatusCode::CREATED).await;
        let organization_key = organization["key"].as_str().expect("a new organization has a root key");
        secrets.push(organization_key.to_owned());

        let path = format!("/v1/api_keys/{worker_id}");
        let viewed = server.request(Method::GET, &path).header("x-api-key", &admin_key).send().await;
        expect_json(viewed, StatusCode::OK).await;
        let listed =
            server.request(Method::GET, "/v1/api_keys?_embed=true").bearer_auth(&admin_key).send().await;
        expect_json(listed, StatusCode::OK).await;
        let updated = server
            .request(Method::PATCH, &path)
            .header("x-api-key", &admin_key)
            .json(&json!({"name": "renamed worker", "description": "reads invoices"}))
            .send()
            .await;
        expect_json(updated, StatusCode::OK).await;
        let lacking_scope =
            server.request(Method::GET, "/v1/api_keys").header("x-api-key", &worker_key).send().await;
        expect_json(lacking_scope, StatusCode::FORBIDDEN).await;
        let deleted = server.request(Method::DELETE, &path).bearer_auth(&admin_key).send().await;
        expect_json(deleted, StatusCode::OK).await;

        let unknown = Secret::generate(&Default::default()).expose().to_owned();
        let mut malformed = Secret::generate(&Default::default()).expose().to_owned();
        malformed.pop();
        secrets.extend([unknown.clone(), malformed.clone()]);
        let revoked = server.request(Method::GET, "/v1/api_keys").bearer_auth(&worker_key).send().await;
        expect_json(revoked, StatusCode::UNAUTHORIZED).await;
        for wrong in [&unknown, &malformed] {
            let by_header = server.request(Method::GET, &path).header("x-api-key", wrong).send().await;
            expect_json(by_header, StatusCode::UNAUTHORIZED).await;
            let by_bearer = server.request(Method::POST, "/v1/api_keys").bearer_auth(wrong);
            let by_bearer = by_bearer.json(&json!({"name": "never"})).send().await;
            expect_json(by_bearer, StatusCode::UNAUTHORIZED).await;
        }

        let stopped = server.stop().await;
        stopped.assert_success(log_format);
        assert_eq!(stopped.admin_lines(), 1, "{}", stopped.transcript());
        let admin_line =
            stopped.stdout.iter().find(|line| line.starts_with(ADMIN_LINE)).expect("one admin line");
        assert!(admin_line.contains(random_part(&admin_key)), "the needles would not find a printed key");
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        stopped.assert_holds_none_of(&secrets);

        let logs = stopped.stderr.join("\n");
        for message in ["api key created", "api key updated", "api key revoked", "organization created"] {
            assert!(logs.contains(message), "the {log_format} log does not mention {message:?}\n{logs}");
        }
        assert!(logs.contains("DEBUG"), "RUST_LOG=debug wrote no debug line\n{logs}");
        if log_format == "json" {
            for line in &stopped.stderr {
                let parsed: Result<Value, _> = serde_json::from_str(line);
                assert!(parsed.is_ok_and(|v| v.is_object()), "a --log-format json line is not JSON: {line}");
            }
        }
    }
}

#[tokio::test]
async fn every_request_leaves_one_access_line_and_every_response_its_request_id() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (server, admin_key) = Launch::new(dir.path())
        .arg("--log-format")
        .arg("json")
        .arg("--pepper")
        .arg("p3pp3r-s3cr3t")
        .first_start()
        .await;
    let created = server
        .request(Method::POST, "/v1/api_keys")
        .header("x-api-key", &admin_key)
        .header("x-request-id", "trace-42")
        .json(&json!({"name": "logged"}))
        .send()
        .await
        .expect("answered");
    assert_eq!(created.headers()["x-request-id"], "trace-42", "a well-formed id is kept");
    let created = expect_json(Ok(created), StatusCode::CREATED).await;
    let id = created["api_key"]["id"].as_str().expect("an id").to_owned();
    let viewed = server
        .request(Method::GET, &format!("/v1/api_keys/{id}"))
        .header("x-api-key", &admin_key)
        .header("x-request-id", "not well formed")
        .send()
        .await
        .expect("answered");
    let generated = viewed.headers()["x-request-id"].to_str().expect("ASCII").to_owned();
    assert_eq!(generated.len(), 32, "a malformed id is replaced by a new one: {generated}");
    let refused = server.request(Method::GET, "/v1/api_keys").header("x-api-key", "kw_wrong").send().await;
    let refused = refused.expect("answered");
    assert!(refused.headers().contains_key("x-request-id"), "errors carry an id too");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let stopped = server.stop().await;
    stopped.assert_success("the server");
    stopped.assert_holds_none_of(&[
        admin_key.as_str(),
        created["key"].as_str().expect("a secret"),
        "p3pp3r-s3cr3t",
    ]);

    let lines: Vec<Value> =
        stopped.stderr.iter().filter_map(|line| serde_json::from_str(line).ok()).collect();
    let access: Vec<&Value> = lines.iter().filter(|l| l["target"] == "keyward::access").collect();
    let by_id =
        |id: &str| access.iter().filter(|l| l["fields"]["request_id"] == id).copied().collect::<Vec<_>>();
    let create = by_id("trace-42");
    assert_eq!(create.len(), 1, "one line a request: {access:?}");
    let fields = &create[0]["fields"];
    assert_eq!((fields["method"].as_str(), fields["route"].as_str()), (Some("POST"), Some("/v1/api_keys")));
    assert_eq!(fields["status"], 201);
    assert!(
        fields["latency_us"].is_u64()
            && fields["client"].as_str().is_some_and(|c| c.starts_with("127.0.0.1:"))
    );
    assert!(fields["api_key_id"].is_string(), "the acting key is named: {fields}");
    let view = by_id(&generated);
    assert_eq!(view.len(), 1);
    assert_eq!(view[0]["fields"]["route"], "/v1/api_keys/{api_key_id}", "the route template, not the path");
    let failed: Vec<&&Value> = access.iter().filter(|l| l["fields"]["status"] == 401).collect();
    assert_eq!(failed.len(), 1, "{access:?}");
    assert_eq!(failed[0]["level"], "WARN");
    assert_eq!(
        failed[0]["fields"]["path"], "/v1/api_keys",
        "a failed authentication is logged with its path"
    );

    let start =
        lines.iter().find(|l| l["fields"]["message"] == "keyward-server starting").expect("a start-up line");
    assert_eq!(start["fields"]["version"], env!("CARGO_PKG_VERSION"));
    let settings = start["fields"]["settings"].as_str().expect("the effective settings");
    assert!(settings.contains("lock_wait_ms: 5000") && settings.contains("<redacted>"), "{settings}");
}

#[tokio::test]
async fn an_operator_lists_the_organizations_and_mints_a_root_key_printed_once() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let launch = Launch::new(dir.path());
    let (server, admin_key) = launch.first_start().await;
    let created = server
        .request(Method::POST, "/v1/organizations")
        .header("x-api-key", &admin_key)
        .json(&json!({"name": "acme"}))
        .send()
        .await;
    let acme = expect_json(created, StatusCode::CREATED).await;
    let acme_id = acme["organization"]["id"].as_str().expect("an id").to_owned();
    server.stop().await.assert_success("the server");

    let listed = launch.command(&["organizations"]);
    assert!(listed.status.success(), "{listed:?}");
    let listed = String::from_utf8(listed.stdout).expect("UTF-8");
    let names: Vec<&str> = listed.lines().skip(1).filter_map(|l| l.split('\t').nth(2)).collect();
    assert_eq!(names, ["default", "acme"], "{listed}");
    assert!(listed.contains(&acme_id), "{listed}");

    let minted = launch.command(&["root-key", "--organization", &acme_id]);
    assert!(minted.status.success(), "{minted:?}");
    let printed = String::from_utf8(minted.stdout).expect("UTF-8");
    let key = printed.lines().next().and_then(|l| l.rsplit(": ").next()).expect("the key").to_owned();
    assert!(Secret::parse(&key).is_ok(), "{printed}");
    assert!(!String::from_utf8_lossy(&minted.stderr).contains(random_part(&key)), "the key is printed once");

    let server = launch.start().await;
    let organization = server.request(Method::GET, "/v1/organization").header("x-api-key", &key).send().await;
    let organization = expect_json(organization, StatusCode::OK).await;
    assert_eq!(organization["id"], acme_id.as_str(), "the new key is acme's");
    server.assert_key_works(&key).await;
    server.stop().await.assert_success("the restart");

    let unknown = launch.command(&["root-key", "--organization", "0190c8c2-3f4a-7d1e-9b6a-2f1c3d4e5a6b"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no organization has the id"), "{unknown:?}");
}

#[tokio::test]
async fn sigterm_drains_an_in_flight_request() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (mut server, admin_key) = Launch::new(dir.path()).first_start().await;
    // Once it has answered a request the server is serving, so its SIGTERM handler is in place.
    expect_json(server.request(Method::GET, "/v1/health").send().await, StatusCode::OK).await;

    let body = json!({"name": "created while draining"}).to_string();
    let (head, tail) = body.split_at(body.len() / 2);
    let request = format!(
        "POST /v1/api_keys HTTP/1.1\r\nHost: {host}\r\nX-API-KEY: {admin_key}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n{head}",
        host = server.address,
        length = body.len(),
    );
    let mut connection = tokio::net::TcpStream::connect(&server.address).await.expect("the server accepts");
    connection.write_all(request.as_bytes()).await.expect("the request's start is sent");
    // The request is in flight once the router has it: the server now waits for the rest of the body.
    server
        .wait_for(
            Stream::Stderr,
            |line| line.contains(REQUEST_STARTED) && line.contains("method=POST"),
            "the POST",
        )
        .await;
    server.terminate();
    server.wait_for(Stream::Stderr, |line| line.contains(SHUTTING_DOWN), "SIGTERM to be noticed").await;
    let mut response = Vec::new();
    let exchanged = match connection.write_all(tail.as_bytes()).await {
        Ok(()) => connection.read_to_end(&mut response).await.map(drop),
        Err(e) => Err(e),
    };
    let response = String::from_utf8_lossy(&response);

    let stopped = server.finish(STOP_TIMEOUT, "the server to exit after draining").await;
    assert!(
        exchanged.is_ok() && response.starts_with("HTTP/1.1 201 "),
        "the request in flight at SIGTERM was not completed ({exchanged:?}): {response}\n{}",
        stopped.transcript()
    );
    stopped.assert_success("a drained shutdown");
}

/// One of the two streams the server writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

/// What the reader threads report.
enum Event {
    Line(Stream, String),
    Closed,
}

#[tokio::test]
async fn a_second_server_on_the_same_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let launch = Launch::new(dir.path());
    let mut first = launch.start().await;
    first.admin_key().await;
    let second = launch.spawn();
    let refused = second.finish(START_TIMEOUT, "the second server to give up").await;
    assert!(!refused.status.success(), "{}", refused.transcript());
    assert!(
        refused
            .stderr
            .iter()
            .any(|l| l.contains("in use by another keyward-server") && l.contains("PostgreSQL")),
        "the refusal says why and what to do instead\n{}",
        refused.transcript()
    );
    assert_eq!(refused.admin_lines(), 0);
    first.stop().await.assert_success("the first server, untouched");
}

#[tokio::test]
async fn a_pepper_other_than_the_database_s_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let launch = Launch::new(dir.path());
    let (first, admin_key) = launch.clone().arg("--pepper").arg("the first pepper").first_start().await;
    first.assert_key_works(&admin_key).await;
    first.stop().await.assert_success("the first start");

    let other = launch.clone().arg("--pepper").arg("another pepper").spawn();
    let refused = other.finish(START_TIMEOUT, "the start with another pepper to give up").await;
    assert!(!refused.status.success(), "{}", refused.transcript());
    assert!(refused.stderr.iter().any(|l| l.contains("the pepper differs")), "{}", refused.transcript());
    refused.assert_holds_none_of(&["the first pepper", "another pepper"]);

    let again = launch.arg("--pepper").arg("the first pepper").start().await;
    again.assert_key_works(&admin_key).await;
    again.stop().await.assert_success("the start with the right pepper");
}

#[tokio::test]
async fn a_database_password_is_never_printed() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // Nothing listens on port 1: the start fails, and says where it tried.
    let launch = Launch::on_url(dir.path(), "postgres://keyward:hunter2-secret@127.0.0.1:1/keyward");
    let failed = launch.spawn().finish(START_TIMEOUT, "the start to fail").await;
    assert!(!failed.status.success(), "{}", failed.transcript());
    assert!(failed.stderr.iter().any(|l| l.contains("keyward:***@127.0.0.1:1")), "{}", failed.transcript());
    failed.assert_holds_none_of(&["hunter2-secret"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_at_once_on_one_empty_postgres_make_one_root_key() {
    let database = postgres::TestDatabase::create().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let launch = Launch::on_url(dir.path(), &database.url);
    let mut starting: Vec<Server> = (0..3).map(|_| launch.spawn()).collect();
    for server in &mut starting {
        assert!(server.listening().await, "every instance starts\n{}", server.transcript());
    }
    let mut stopped = Vec::new();
    let mut admin_key = None;
    for server in starting {
        stopped.push(server.stop().await);
    }
    for instance in &stopped {
        instance.assert_success("an instance");
        if let Some(line) = instance.stdout.iter().find(|l| l.starts_with(ADMIN_LINE)) {
            admin_key = Some(line[ADMIN_LINE.len()..].trim().to_owned());
        }
    }
    let printed: usize = stopped.iter().map(Stopped::admin_lines).sum();
    assert_eq!(printed, 1, "exactly one instance made and printed the root key");
    let admin_key = admin_key.expect("the printed key");
    let again = launch.start().await;
    let keys = again.assert_key_works(&admin_key).await;
    let roots = keys["api_keys"].as_array().unwrap().iter().filter(|k| k["name"] == "root").count();
    assert_eq!(roots, 1, "one root key in one default organization: {keys}");
    again.stop().await.assert_success("a later start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_through_one_process_reaches_another_within_a_second() {
    let database = postgres::TestDatabase::create().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let admin_key = Secret::generate(&Default::default()).expose().to_owned();
    let launch = Launch::on_url(dir.path(), &database.url).env("KEYWARD_ADMIN_KEY", &admin_key);
    let a = launch.start().await;
    let b = launch.start().await;
    let verdict = |server: &Server, key: &str| {
        let request = server.request(Method::POST, "/v1/keys/verify").header("x-api-key", &admin_key);
        let wanted = json!([{"resource": "invoices", "access": "read"}]);
        let request = request.json(&json!({"key": key, "scopes": wanted}));
        async move { expect_json(request.send().await, StatusCode::OK).await["code"].as_str().unwrap().to_owned() }
    };
    let until = async |server: &Server, key: &str, wanted: &str| {
        let start = std::time::Instant::now();
        loop {
            if verdict(server, key).await == wanted {
                return start.elapsed();
            }
            assert!(start.elapsed() < Duration::from_secs(1), "not {wanted} within 1 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let scoped = json!({"name": "shared", "scopes": [{"resource": "invoices", "access": "write"}]});
    let create = || {
        let request = a.request(Method::POST, "/v1/api_keys").header("x-api-key", &admin_key);
        let request = request.json(&scoped);
        async move {
            let created = expect_json(request.send().await, StatusCode::CREATED).await;
            (
                created["key"].as_str().unwrap().to_owned(),
                created["api_key"]["id"].as_str().unwrap().to_owned(),
            )
        }
    };
    let (key, _) = create().await;
    let took = until(&b, &key, "VALID").await;
    println!("a key created through process A verified VALID on process B after {took:?}");

    let narrowed = json!({"scopes": [{"resource": "reports", "access": "read"}]});
    let cases = [
        ("revoke", Method::DELETE, "", Value::Null, "REVOKED"),
        ("disable", Method::PATCH, "", json!({"status": "disabled"}), "DISABLED"),
        ("narrow the scopes of", Method::PATCH, "", narrowed, "INSUFFICIENT_SCOPE"),
        ("rotate without grace", Method::POST, "/rotate", json!({"grace_period_ms": 0}), "REVOKED"),
    ];
    for (what, method, suffix, body, wanted) in cases {
        let (key, id) = create().await;
        until(&b, &key, "VALID").await;
        assert_eq!(verdict(&b, &key).await, "VALID", "B's cache holds it");
        let path = format!("/v1/api_keys/{id}{suffix}");
        let mut change = a.request(method, &path).header("x-api-key", &admin_key);
        if !body.is_null() {
            change = change.json(&body);
        }
        expect_json(change.send().await, StatusCode::OK).await;
        let took = until(&b, &key, wanted).await;
        println!("{what} a key through process A: B answered {wanted} after {took:?}");
    }
    a.stop().await.assert_success("A");
    b.stop().await.assert_success("B");
}

/// Spends 300 of 1,000 credits, kills the server with SIGKILL at once, restarts it: whatever the
/// crash forfeits, no acknowledged spend comes back.
async fn no_spent_credit_is_spendable_again_after_a_crash(launch: Launch) {
    let admin_key = Secret::generate(&Default::default()).expose().to_owned();
    let launch = launch.env("KEYWARD_ADMIN_KEY", &admin_key);
    let server = launch.start().await;
    let create = server.request(Method::POST, "/v1/api_keys").header("x-api-key", &admin_key);
    let body = json!({"name": "budget", "credits": {"remaining": 1_000}});
    let created = expect_json(create.json(&body).send().await, StatusCode::CREATED).await;
    let (key, id) = (created["key"].as_str().unwrap(), created["api_key"]["id"].as_str().unwrap());
    for _ in 0..300 {
        let verify = server.request(Method::POST, "/v1/keys/verify").header("x-api-key", &admin_key);
        let verdict = expect_json(verify.json(&json!({"key": key})).send().await, StatusCode::OK).await;
        assert_eq!(verdict["code"], "VALID");
    }
    drop(server); // SIGKILL: no flush, no shutdown

    let restarted = launch.start().await;
    let view = restarted.request(Method::GET, &format!("/v1/api_keys/{id}")).header("x-api-key", &admin_key);
    let view = expect_json(view.send().await, StatusCode::OK).await;
    let remaining = view["credits"]["remaining"].as_i64().unwrap();
    println!("after 300 spends and SIGKILL, {remaining} of 1000 credits remain");
    assert!(remaining <= 700, "acknowledged spends came back: {remaining} left");
    assert!(remaining >= 700 - 1_000 / 16, "a crash forfeits at most one lease: {remaining} left");
    restarted.stop().await.assert_success("the restarted server");
}

#[tokio::test]
async fn no_spent_credit_is_spendable_again_after_a_crash_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    no_spent_credit_is_spendable_again_after_a_crash(Launch::new(dir.path())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_spent_credit_is_spendable_again_after_a_crash_on_postgres() {
    let database = postgres::TestDatabase::create().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    no_spent_credit_is_spendable_again_after_a_crash(Launch::on_url(dir.path(), &database.url)).await;
}

/// How to run the binary: its directory, database and extra settings.
#[derive(Clone)]
struct Launch {
    dir: PathBuf,
    /// The `--database-url` file; `None` leaves the default, `keyward.db` in `dir`.
    database: Option<PathBuf>,
    /// A `--database-url` other than a file (PostgreSQL), which wins over `database`.
    url: Option<String>,
    args: Vec<String>,
    envs: Vec<(String, String)>,
}

impl Launch {
    /// Runs in `dir` on `dir/keyward.db`, named with `--database-url`.
    fn new(dir: &Path) -> Self {
        Self { database: Some(dir.join("keyward.db")), ..Self::with_default_database(dir) }
    }

    /// Runs in `dir` without `--database-url`.
    fn with_default_database(dir: &Path) -> Self {
        Self { dir: dir.to_owned(), database: None, url: None, args: Vec::new(), envs: Vec::new() }
    }

    /// Runs in `dir` on the database at `url`.
    fn on_url(dir: &Path, url: &str) -> Self {
        Self { url: Some(url.to_owned()), ..Self::with_default_database(dir) }
    }

    fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    fn env(mut self, name: &str, value: &str) -> Self {
        self.envs.push((name.to_owned(), value.to_owned()));
        self
    }

    fn database_path(&self) -> PathBuf {
        self.database.clone().unwrap_or_else(|| self.dir.join("keyward.db"))
    }

    /// The binary in `dir` on this launch's database, with its arguments and environment (and
    /// no `KEYWARD_` variable of the test's own), reading nothing.
    fn base(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_keyward-server"));
        command.current_dir(&self.dir);
        if let Some(url) = &self.url {
            command.arg("--database-url").arg(url);
        } else if let Some(database) = &self.database {
            command.arg("--database-url").arg(format!("sqlite://{}", database.display()));
        }
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("KEYWARD_") {
                command.env_remove(name);
            }
        }
        command.args(&self.args).envs(self.envs.iter().map(|(k, v)| (k, v))).stdin(Stdio::null());
        command
    }

    /// Runs one of the operator's commands to its end, on this launch's database.
    fn command(&self, args: &[&str]) -> std::process::Output {
        self.base().args(args).output().expect("the keyward-server binary runs")
    }

    /// [`Launch::start`] on a store the start creates, and the admin key it prints.
    async fn first_start(&self) -> (Server, String) {
        let mut server = self.start().await;
        let admin_key = server.admin_key().await;
        (server, admin_key)
    }

    /// Starts the binary and waits until it listens (on a port the kernel picks, which it logs).
    async fn start(&self) -> Server {
        let mut server = self.spawn();
        if !server.listening().await {
            let exited = server.finish(STOP_TIMEOUT, "the failed start to exit").await;
            panic!("keyward-server exited before listening\n{}", exited.transcript());
        }
        server
    }

    /// Runs the binary on `127.0.0.1:0` without waiting for anything; [`Server::listening`]
    /// reads the address it got from its log.
    fn spawn(&self) -> Server {
        let mut command = self.base();
        command.arg("--listen").arg("127.0.0.1:0").env("RUST_LOG", "debug");
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("the keyward-server binary starts");
        let (sender, events) = mpsc::unbounded_channel();
        forward(child.stdout.take().expect("stdout is piped"), Stream::Stdout, sender.clone());
        forward(child.stderr.take().expect("stderr is piped"), Stream::Stderr, sender);
        Server {
            child,
            events,
            open_streams: 2,
            stdout: Vec::new(),
            stderr: Vec::new(),
            address: String::new(),
            http: reqwest::Client::new(),
        }
    }
}

/// Sends each line of `output` as it comes, then `Closed` at the end of the stream.
fn forward(output: impl Read + Send + 'static, stream: Stream, sender: mpsc::UnboundedSender<Event>) {
    std::thread::spawn(move || {
        let mut output = BufReader::new(output);
        let mut line = Vec::new();
        while output.read_until(b'\n', &mut line).is_ok_and(|read| read > 0) {
            let text = String::from_utf8_lossy(&line).trim_end_matches(['\n', '\r']).to_owned();
            let _ = sender.send(Event::Line(stream, text));
            line.clear();
        }
        let _ = sender.send(Event::Closed);
    });
}

/// A running `keyward-server`, killed if dropped before it exits.
struct Server {
    child: Child,
    events: mpsc::UnboundedReceiver<Event>,
    open_streams: usize,
    stdout: Vec<String>,
    stderr: Vec<String>,
    address: String,
    http: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Server {
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("http://{}{path}", self.address))
    }

    /// Whether the server came to listen, and where (from its log line); `false` if it exited
    /// first.
    async fn listening(&mut self) -> bool {
        let deadline = Instant::now() + START_TIMEOUT;
        while let Some((stream, line)) = self.next_line(deadline, "the server to listen").await {
            if stream == Stream::Stderr && line.contains(LISTENING) {
                let at = line.find("127.0.0.1:").expect("the listening line names the address");
                let port: String =
                    line[at + "127.0.0.1:".len()..].chars().take_while(char::is_ascii_digit).collect();
                self.address = format!("127.0.0.1:{port}");
                return true;
            }
        }
        false
    }

    /// The key of the `admin key: <key>` line on stdout.
    async fn admin_key(&mut self) -> String {
        let line = self.wait_for(Stream::Stdout, |l| l.starts_with(ADMIN_LINE), "the admin key").await;
        line[ADMIN_LINE.len()..].trim().to_owned()
    }

    /// Lists keys with `key` and returns the list.
    async fn assert_key_works(&self, key: &str) -> Value {
        let listed = self.request(Method::GET, "/v1/api_keys").header("x-api-key", key).send().await;
        expect_json(listed, StatusCode::OK).await
    }

    /// The first line of `stream` that satisfies `wanted`, read so far or to come.
    async fn wait_for(&mut self, stream: Stream, wanted: impl Fn(&str) -> bool, what: &str) -> String {
        let seen = match stream {
            Stream::Stdout => &self.stdout,
            Stream::Stderr => &self.stderr,
        };
        if let Some(line) = seen.iter().find(|line| wanted(line)) {
            return line.clone();
        }
        let deadline = Instant::now() + START_TIMEOUT;
        while let Some((from_stream, line)) = self.next_line(deadline, what).await {
            if from_stream == stream && wanted(&line) {
                return line;
            }
        }
        panic!("keyward-server exited while waiting for {what}\n{}", self.transcript());
    }

    /// The next line written, kept; `None` once both streams are closed, that is, the server exited.
    async fn next_line(&mut self, deadline: Instant, what: &str) -> Option<(Stream, String)> {
        while self.open_streams > 0 {
            let Ok(event) = timeout_at(deadline, self.events.recv()).await else {
                panic!("timed out waiting for {what}\n{}", self.transcript());
            };
            match event.expect("each reader says Closed before it hangs up") {
                Event::Line(stream, line) => {
                    match stream {
                        Stream::Stdout => self.stdout.push(line.clone()),
                        Stream::Stderr => self.stderr.push(line.clone()),
                    }
                    return Some((stream, line));
                }
                Event::Closed => self.open_streams -= 1,
            }
        }
        None
    }

    /// Sends SIGTERM through the shell's `kill`, which needs neither `unsafe` nor a dependency.
    fn terminate(&self) {
        let sent = Command::new("sh")
            .args(["-c", "kill -TERM \"$1\"", "sh", &self.child.id().to_string()])
            .status()
            .expect("sh runs");
        assert!(sent.success(), "kill -TERM {} failed", self.child.id());
    }

    /// Sends SIGTERM and waits for the server to exit.
    async fn stop(self) -> Stopped {
        // Every test has the server answer a request first, so its SIGTERM handler is in place.
        self.terminate();
        self.finish(STOP_TIMEOUT, "the server to exit after SIGTERM").await
    }

    /// Waits, at most `within`, until the server closes its output, then reaps it.
    async fn finish(mut self, within: Duration, what: &str) -> Stopped {
        let deadline = Instant::now() + within;
        while self.next_line(deadline, what).await.is_some() {}
        let status = self.child.wait().expect("the server is reaped");
        Stopped { status, stdout: std::mem::take(&mut self.stdout), stderr: std::mem::take(&mut self.stderr) }
    }

    fn transcript(&self) -> String {
        transcript(&self.stdout, &self.stderr)
    }
}

/// A server that exited, and all it wrote.
struct Stopped {
    status: ExitStatus,
    stdout: Vec<String>,
    stderr: Vec<String>,
}

impl Stopped {
    fn assert_success(&self, what: &str) {
        assert!(
            self.status.success(),
            "{what}: keyward-server exited with {}\n{}",
            self.status,
            self.transcript()
        );
    }

    fn admin_lines(&self) -> usize {
        self.stdout.iter().filter(|line| line.contains(ADMIN_LINE.trim_end())).count()
    }

    /// Fails if any line but the first `admin key:` one holds a secret or its random part.
    fn assert_holds_none_of(&self, secrets: &[&str]) {
        let admin_line = self.stdout.iter().position(|line| line.starts_with(ADMIN_LINE));
        let stdout = self.stdout.iter().enumerate().filter(|(i, _)| Some(*i) != admin_line).map(|(_, l)| l);
        for line in stdout.chain(&self.stderr) {
            for secret in secrets {
                for needle in [secret, random_part(secret)] {
                    assert!(!line.contains(needle), "the output holds the secret {secret}: {line}");
                }
            }
        }
    }

    fn transcript(&self) -> String {
        transcript(&self.stdout, &self.stderr)
    }
}

fn transcript(stdout: &[String], stderr: &[String]) -> String {
    format!("--- stdout\n{}\n--- stderr\n{}", stdout.join("\n"), stderr.join("\n"))
}

/// The part of a key after its prefix: the secret even when the prefix is cut off.
fn random_part(secret: &str) -> &str {
    secret.split_once('_').map_or(secret, |(_, random)| random)
}

/// The JSON body of a response that must have `status`.
async fn expect_json(response: reqwest::Result<reqwest::Response>, status: StatusCode) -> Value {
    let response = response.expect("the request is answered");
    let actual = response.status();
    let body = response.text().await.expect("the body is read");
    assert_eq!(actual, status, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("the body is not JSON ({e}): {body}"))
}
