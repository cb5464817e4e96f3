//! `cargo xtask fuzz-api`: schemathesis, an independent fuzzer, against the release server and
//! `openapi.yaml`, with two organizations as peers so object-level authorization is checked.
//!
//! The run, once on a fresh SQLite file and once on a fresh PostgreSQL database (`--sqlite-only`,
//! `--postgres-only`): build the release server, start it with a root key of its own ("alice"), create a second organization through the API ("bob"), give each a decoy key,
//! write the two identities as a Web Fuzzing Commons auth file, and run schemathesis with
//! `xtask/fuzz-api/schemathesis.toml` (every check, every phase, a fixed seed). The hooks in
//! `xtask/fuzz-api/hooks.py` turn writes aimed at either root key onto its organization's decoy,
//! so the run cannot revoke, disable or narrow the credentials it tests with; afterwards both
//! must still work, and the server must not have panicked.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use keyward_server::domain::key::{KeyPrefix, Secret};
use serde_json::{Value, json};

use crate::bench::postgres::Database;
use crate::bench::{Prepared, build_release_server, launch_server};

/// The schemathesis release the run is pinned to (PyPI), installed into `target/` once.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";
/// Examples per operation and phase: a bounded run for CI unless `--max-examples` says more.
const DEFAULT_MAX_EXAMPLES: u32 = 100;
const DEFAULT_SEED: u64 = 20261207;

struct Settings {
    max_examples: u32,
    seed: u64,
    sqlite: bool,
    postgres: bool,
}

impl Settings {
    fn parse(args: &[&str]) -> Result<Self> {
        let mut settings =
            Self { max_examples: DEFAULT_MAX_EXAMPLES, seed: DEFAULT_SEED, sqlite: true, postgres: true };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match *arg {
                "--sqlite-only" => settings.postgres = false,
                "--postgres-only" => settings.sqlite = false,
                "--max-examples" => {
                    settings.max_examples = args.next().context("--max-examples needs a value")?.parse()?
                }
                "--seed" => settings.seed = args.next().context("--seed needs a value")?.parse()?,
                other => bail!(
                    "unknown option `{other}` (try --max-examples N, --seed N, --sqlite-only, --postgres-only)"
                ),
            }
        }
        Ok(settings)
    }
}

/// One organization's credential as the run sees it.
struct Identity {
    name: &'static str,
    key: String,
    key_id: String,
    decoy_id: String,
}

pub fn run(args: &[&str]) -> Result<ExitCode> {
    let settings = Settings::parse(args)?;
    let (root, binary) = build_release_server()?;
    let schemathesis = install_schemathesis(&root)?;
    let mut passed = true;
    if settings.sqlite {
        let dir = fresh_dir(&root, "sqlite")?;
        let url = format!("sqlite://{}", dir.join("keyward.db").display());
        passed &= fuzz("SQLite", &root, &binary, &schemathesis, &settings, &dir, &url)?;
    }
    if settings.postgres {
        let dir = fresh_dir(&root, "postgres")?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let database = runtime.block_on(Database::create())?;
        let outcome = fuzz("PostgreSQL", &root, &binary, &schemathesis, &settings, &dir, &database.url);
        runtime.block_on(database.drop_now())?;
        passed &= outcome?;
    }
    Ok(if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `target/fuzz-api/<store>`, emptied.
fn fresh_dir(root: &Path, store: &str) -> Result<PathBuf> {
    let dir = root.join("target/fuzz-api").join(store);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// One schemathesis run against a server on `url`; whether it passed.
fn fuzz(
    store: &str,
    root: &Path,
    binary: &Path,
    schemathesis: &Path,
    settings: &Settings,
    dir: &Path,
    url: &str,
) -> Result<bool> {
    let admin_key = Secret::generate(&KeyPrefix::default()).expose().to_owned();
    let prepared = Prepared { url: url.to_owned(), admin_key: admin_key.clone(), hot: Vec::new() };
    // The fuzzer sends thousands of requests without or with bad credentials on purpose (to check
    // each is refused) from one address: the failed-authentication limit is tested elsewhere
    // (tests/api/limits.rs), so here it is out of the way.
    let mut launcher = Command::new("env");
    launcher.arg("KEYWARD_AUTH_FAILURES_PER_MINUTE=100000000");
    let (mut server, port, server_log) = launch_server(launcher, binary, &prepared, Duration::from_secs(30))?;
    let base = format!("http://127.0.0.1:{port}");
    let outcome = (|| -> Result<bool> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let identities = runtime.block_on(identities(&base, &admin_key))?;
        let wfc = dir.join("auth.json");
        std::fs::write(&wfc, serde_json::to_vec_pretty(&wfc_document(&identities))?)?;
        let protected: Vec<String> =
            identities.iter().map(|i| format!("{}={}", i.key_id, i.decoy_id)).collect();
        println!(
            "schemathesis on {store}: seed {}, {} examples per operation and phase",
            settings.seed, settings.max_examples
        );
        let status = Command::new(schemathesis)
            .arg("--config-file")
            .arg(root.join("xtask/fuzz-api/schemathesis.toml"))
            .arg("run")
            .arg(root.join("openapi.yaml"))
            .args(["--url", &base])
            .args(["--checks", "all"])
            .args(["--report", "junit"])
            .args(["--seed", &settings.seed.to_string()])
            .args(["--max-examples", &settings.max_examples.to_string()])
            .arg("--report-dir")
            .arg(dir.join("report"))
            .env("KEYWARD_FUZZ_WFC", &wfc)
            .env("KEYWARD_FUZZ_HOOKS", root.join("xtask/fuzz-api/hooks.py"))
            .env("KEYWARD_FUZZ_PROTECTED", protected.join(","))
            .env("NO_COLOR", "1")
            .current_dir(dir)
            .status()
            .context("running schemathesis")?;
        let alive = runtime.block_on(identities_still_work(&base, &identities))?;
        Ok(status.success() && alive)
    })();
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    let _ = server.wait();
    let log = server_log.finish();
    std::fs::write(dir.join("server.log"), &log)?;
    if log.contains("panicked") {
        bail!("the server panicked during the run on {store}; see {}/server.log", dir.display());
    }
    let passed = outcome?;
    if passed {
        println!("fuzz-api on {store}: no failures, both identities still work");
    } else {
        println!(
            "fuzz-api on {store}: FAILED (schemathesis's report above; server log in {}/server.log)",
            dir.display()
        );
    }
    Ok(passed)
}

/// The schemathesis executable of a private virtual environment under `target/`, made once.
fn install_schemathesis(root: &Path) -> Result<PathBuf> {
    let venv = root.join("target/schemathesis-venv");
    let executable = venv.join("bin/schemathesis");
    let pinned = || -> bool {
        Command::new(venv.join("bin/python"))
            .args(["-m", "pip", "show", "--disable-pip-version-check", "schemathesis"])
            .output()
            .is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout).contains(SCHEMATHESIS.split("==").nth(1).unwrap_or(""))
            })
    };
    if executable.exists() && pinned() {
        return Ok(executable);
    }
    println!("installing {SCHEMATHESIS} into {}", venv.display());
    let made = Command::new("python3").arg("-m").arg("venv").arg(&venv).status()?;
    if !made.success() {
        bail!("python3 -m venv failed (apt-get install -y python3-venv)");
    }
    let installed = Command::new(venv.join("bin/python"))
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", SCHEMATHESIS])
        .stdin(Stdio::null())
        .status()?;
    if !installed.success() {
        bail!("pip install {SCHEMATHESIS} failed");
    }
    Ok(executable)
}

/// Alice is the default organization's root key; Bob's organization is made through the API.
/// Each gets a decoy key that writes aimed at its root key are turned onto.
async fn identities(base: &str, admin_key: &str) -> Result<Vec<Identity>> {
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, key: &str, body: Value| {
        client.request(method, format!("{base}{path}")).header("X-API-KEY", key).json(&body).send()
    };
    let verdict: Value =
        call(reqwest::Method::POST, "/v1/keys/verify", admin_key, json!({ "key": admin_key }))
            .await?
            .json()
            .await?;
    let alice_id =
        verdict["api_key"]["id"].as_str().context("the root key's verdict names its id")?.to_owned();
    let bob: Value =
        call(reqwest::Method::POST, "/v1/organizations", admin_key, json!({ "name": "bob's company" }))
            .await?
            .error_for_status()?
            .json()
            .await?;
    let bob_key = bob["key"].as_str().context("a new organization's root key")?.to_owned();
    let bob_id = bob["api_key"]["id"].as_str().context("its id")?.to_owned();
    let mut identities = Vec::new();
    for (name, key, key_id) in [("alice", admin_key.to_owned(), alice_id), ("bob", bob_key, bob_id)] {
        let decoy: Value =
            call(reqwest::Method::POST, "/v1/api_keys", &key, json!({ "name": format!("{name}'s decoy") }))
                .await?
                .error_for_status()?
                .json()
                .await?;
        let decoy_id = decoy["api_key"]["id"].as_str().context("the decoy's id")?.to_owned();
        identities.push(Identity { name, key, key_id, decoy_id });
    }
    Ok(identities)
}

/// The Web Fuzzing Commons auth document: each identity as a fixed `X-API-KEY` header.
fn wfc_document(identities: &[Identity]) -> Value {
    let auth: Vec<Value> = identities
        .iter()
        .map(|i| json!({ "name": i.name, "fixedHeaders": [{ "name": "X-API-KEY", "value": i.key }] }))
        .collect();
    json!({ "schemaVersion": "0.2.0", "auth": auth })
}

/// Whether both identities still read their organization: a run that lost one tested nothing
/// with it afterwards.
async fn identities_still_work(base: &str, identities: &[Identity]) -> Result<bool> {
    let client = reqwest::Client::new();
    let mut all = true;
    for identity in identities {
        let status = client
            .get(format!("{base}/v1/organization"))
            .header("X-API-KEY", &identity.key)
            .send()
            .await?
            .status();
        if status != reqwest::StatusCode::OK {
            println!("fuzz-api: {}'s root key stopped working during the run ({status})", identity.name);
            all = false;
        }
    }
    Ok(all)
}
