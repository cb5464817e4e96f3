//! The `keyward` binary against a real server on `127.0.0.1:0`: every command, every output format and every class of error.

mod consistency;
mod keys;
mod organizations;
mod output;
mod profiles;
mod system;
mod terminal;
mod tls;
mod transcripts;
mod users;

use std::process::{Output, Stdio};

use keyward_server::config::Config;
use keyward_testing::TestApp;
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;

/// The suites' one server harness (`keyward_testing`: the real server on a free port over a
/// fresh SQLite file, stopped when dropped), with a config directory of its own so that no test
/// reads another's profile.
pub struct TestServer {
    pub url: String,
    pub root_key: String,
    pub dir: TempDir,
    _app: TestApp,
}

pub async fn spawn_server() -> TestServer {
    with_config_dir(keyward_testing::spawn_app().await)
}

pub async fn spawn_server_configured(configure: fn(&mut Config)) -> TestServer {
    with_config_dir(keyward_testing::spawn_app_configured(configure).await)
}

fn with_config_dir(app: TestApp) -> TestServer {
    let dir = tempfile::tempdir().expect("a temporary directory");
    TestServer { url: app.base_url.clone(), root_key: app.root_key.clone(), dir, _app: app }
}

/// How to run the binary: its arguments, environment and stdin.
pub struct Run<'a> {
    server: &'a TestServer,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    key: Option<String>,
    url: Option<String>,
    stdin: Option<String>,
}

impl TestServer {
    /// `keyward ARGS` with this server's URL and root key in the environment.
    pub async fn keyward(&self, args: &[&str]) -> Output {
        self.run(args).output().await
    }

    /// A run of `keyward ARGS` to set up further before it starts.
    pub fn run(&self, args: &[&str]) -> Run<'_> {
        Run {
            server: self,
            args: args.iter().map(|arg| arg.to_string()).collect(),
            env: Vec::new(),
            key: Some(self.root_key.clone()),
            url: Some(self.url.clone()),
            stdin: None,
        }
    }

    /// The config file the binary reads in this server's tests.
    pub fn config_path(&self) -> std::path::PathBuf {
        self.dir.path().join("config").join("keyward.toml")
    }

    /// Creates a key through the CLI and returns its id and secret.
    pub async fn create_key(&self, args: &[&str]) -> (String, String) {
        let mut all = vec!["keys", "create"];
        all.extend_from_slice(args);
        let created = json(&self.keyward(&all).await);
        (created["api_key"]["id"].as_str().unwrap().to_owned(), created["key"].as_str().unwrap().to_owned())
    }
}

impl Run<'_> {
    /// Sends `key` as `KEYWARD_KEY`, or none.
    pub fn key(mut self, key: Option<&str>) -> Self {
        self.key = key.map(str::to_owned);
        self
    }

    /// Sets `KEYWARD_URL`, or leaves it unset.
    pub fn url(mut self, url: Option<&str>) -> Self {
        self.url = url.map(str::to_owned);
        self
    }

    pub fn env(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.env.push((name, value.into()));
        self
    }

    pub fn stdin(mut self, input: &str) -> Self {
        self.stdin = Some(input.to_owned());
        self
    }

    pub async fn output(self) -> Output {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_keyward"));
        command
            .args(&self.args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TZ", "UTC")
            .env("KEYWARD_CONFIG", self.server.config_path())
            .stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(key) = &self.key {
            command.env("KEYWARD_KEY", key);
        }
        if let Some(url) = &self.url {
            command.env("KEYWARD_URL", url);
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("the keyward binary runs");
        if let Some(input) = self.stdin {
            let mut stdin = child.stdin.take().expect("a piped stdin");
            stdin.write_all(input.as_bytes()).await.expect("stdin takes the input");
        }
        child.wait_with_output().await.expect("the keyward binary finishes")
    }
}

/// The stdout of a successful run, as JSON.
pub fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "keyward failed with {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON document")
}

/// The value of a one-key view's line labelled `label` (`Name`, `Rate limit`), trimmed.
pub fn field<'a>(shown: &'a str, label: &str) -> &'a str {
    shown
        .lines()
        .find_map(|line| line.strip_prefix(label))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {label} in {shown}"))
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The exit code of a run that failed, and its stderr.
pub fn failed(output: &Output) -> (i32, String) {
    assert!(output.stdout.is_empty(), "a failure prints nothing on stdout: {}", stdout(output));
    (output.status.code().expect("an exit code"), stderr(output))
}
