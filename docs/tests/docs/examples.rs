//! Every operation's examples, in each language, run exactly as the pages show them against a real
//! server, substituting only the base URL, the credential and the ids of live fixtures (the
//! table `keyward-testing` shares with the end-to-end suite).

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use keyward_docs::spec::Operation;
use keyward_docs::{LANGUAGES, Language};
use keyward_testing::{Fixtures, TestApp, spawn_app};
use tokio::process::Command;
use tokio::task::JoinSet;

use crate::helpers::{api, page, require_tool, sample_in_html, shown_url, target_dir};

/// The environment variable every example reads the credential from.
const CREDENTIAL: &str = "KEYWARD_KEY";

/// What a run of one example gave.
struct Outcome {
    operation: String,
    language: &'static str,
    expected: u16,
    status: Option<u16>,
    output: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_in_every_language_gets_its_documented_success_status() {
    for language in &LANGUAGES {
        let (program, flag, install) = interpreter(language);
        require_tool(program, flag, install);
    }
    assert_eq!(
        keyward_docs::credential_variable(api()),
        CREDENTIAL,
        "the variable the pages tell readers to set"
    );
    let server = Arc::new(spawn_app().await);
    let mut runs = JoinSet::new();
    for language in LANGUAGES {
        let server = Arc::clone(&server);
        runs.spawn(async move {
            let mut outcomes = Vec::new();
            for operation in &api().operations {
                outcomes.push(run_example(&server, operation, &language).await);
            }
            outcomes
        });
    }
    let mut failures = Vec::new();
    let mut ran = 0;
    while let Some(outcomes) = runs.join_next().await {
        for outcome in outcomes.expect("a language's runs finish") {
            ran += 1;
            if outcome.status != Some(outcome.expected) {
                failures.push(format!(
                    "{} in {}: expected {}, got {:?}\n{}",
                    outcome.operation, outcome.language, outcome.expected, outcome.status, outcome.output
                ));
            }
        }
    }
    println!("{ran} examples ran against a real server");
    assert_eq!(ran, api().operations.len() * LANGUAGES.len());
    assert!(failures.is_empty(), "{} of {ran} examples failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

/// The program that runs an example, how to ask its version, and how to install it.
fn interpreter(language: &Language) -> (&'static str, &'static str, &'static str) {
    match language.id {
        "curl" => ("curl", "--version", "apt-get install curl"),
        "javascript" => ("node", "--version", "install Node.js 18 or later (for fetch)"),
        "python" => ("python3", "--version", "apt-get install python3"),
        "go" => ("go", "version", "apt-get install golang-go"),
        other => panic!("no interpreter known for {other}"),
    }
}

/// Runs one example as its page shows it, with real ids, and reads the status it prints first.
async fn run_example(server: &TestApp, operation: &Operation, language: &Language) -> Outcome {
    let shown = sample_in_html(page(&format!("operations/{}.html", operation.id)), language);
    // The URL the example calls, as shown and as run: only the base URL and the path's ids
    // differ, those of live fixtures of the root key's organization.
    let real_path = Fixtures::of(server, &server.root_key).fill(&operation.path).await.path;
    let shown_url = shown_url(operation);
    assert!(shown.contains(&shown_url), "{} {}: the example calls {shown_url}", operation.id, language.label);
    let code = shown.replace(&shown_url, &format!("{}{real_path}", server.base_url));
    assert!(!code.contains(&api().server_url), "{} {}: only the URL differs", operation.id, language.label);

    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join(format!("example.{}", language.extension));
    std::fs::write(&file, &code).expect("the example is written");
    let output = command(language, &file)
        .env(CREDENTIAL, &server.root_key)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|err| panic!("cannot run the {} example: {err}", language.label));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let status = output.status.success().then(|| first_status(&stdout)).flatten();
    Outcome {
        operation: operation.id.clone(),
        language: language.label,
        expected: operation.success_status().expect("every operation documents a success"),
        status,
        output: format!("--- example ---\n{code}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"),
    }
}

fn command(language: &Language, file: &Path) -> Command {
    let mut command = match language.id {
        "curl" => Command::new("sh"),
        "javascript" => Command::new("node"),
        "python" => Command::new("python3"),
        "go" => {
            let mut go = Command::new("go");
            // The standard library only: nothing to download, and a cache that outlives the test.
            go.arg("run")
                .env("GOCACHE", target_dir().join("go-build"))
                .env("GOPATH", target_dir().join("go-path"))
                .env("GOPROXY", "off")
                .env("GOTOOLCHAIN", "local");
            go
        }
        other => panic!("no way to run {other}"),
    };
    command.arg(file);
    command
}

/// The status an example printed first: `HTTP/1.1 201 Created`, `201 Created` or `201 Created`.
fn first_status(stdout: &str) -> Option<u16> {
    let first = stdout.lines().next()?;
    first.split_whitespace().find(|word| word.len() == 3).and_then(|word| word.parse().ok())
}
