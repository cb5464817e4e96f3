//! `keyward health`, `ready` and `openapi` need no key; `completions` prints a script for each shell.

use keyward_server::config::Config;

use crate::{failed, json, spawn_server, spawn_server_configured, stdout};

#[tokio::test(flavor = "multi_thread")]
async fn health_and_ready_answer_without_a_key() {
    let server = spawn_server().await;
    let health = json(&server.run(&["health"]).key(None).output().await);
    assert_eq!(health["status"], "ok");
    let ready = json(&server.run(&["ready"]).key(None).output().await);
    assert_eq!(ready["status"], "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn openapi_prints_the_served_contract() {
    let server = spawn_server().await;
    let output = server.run(&["openapi"]).key(None).output().await;
    assert!(output.status.success());
    assert_eq!(stdout(&output), keyward_server::contract::OPENAPI_YAML);
}

#[tokio::test(flavor = "multi_thread")]
async fn completions_are_printed_for_bash_zsh_and_fish() {
    let server = spawn_server().await;
    for shell in ["bash", "zsh", "fish"] {
        let output = server.run(&["completions", shell]).key(None).url(None).output().await;
        assert!(output.status.success(), "{shell}");
        let script = stdout(&output);
        assert!(script.contains("keyward") && script.contains("rotate"), "{shell}: {script}");
    }
    let (code, _) = failed(&server.run(&["completions", "tcsh"]).output().await);
    assert_eq!(code, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_overloaded_server_exits_5_once_retries_are_spent() {
    let server = spawn_server_configured(|config: &mut Config| config.max_in_flight = 1).await;
    let _holder = hold_the_only_request_slot(&server.url, &server.root_key).await;
    // The slot is taken once the server has read the held request's head; until then a list passes.
    for _ in 0..100 {
        let output = server.keyward(&["keys", "list", "--retries", "0"]).await;
        if output.status.success() {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            continue;
        }
        let (code, stderr) = failed(&output);
        assert_eq!(code, 5, "{stderr}");
        assert!(stderr.starts_with("error: 503 ") && stderr.contains("(system.overloaded)"), "{stderr}");
        return;
    }
    panic!("the held request never took the slot");
}

/// Opens an authenticated request whose body never ends, which holds the
/// server's one request slot until the connection is dropped.
async fn hold_the_only_request_slot(url: &str, key: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let address = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("the server accepts");
    let head = format!(
        "POST /v1/api_keys HTTP/1.1\r\nhost: {address}\r\nx-api-key: {key}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.expect("the request starts");
    stream
}
