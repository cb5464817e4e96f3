//! `cargo xtask crash-test`: the release server killed with SIGKILL in the middle of concurrent
//! creates, updates, rotations, revocations and credit-spending verifies, restarted on the same
//! database, and checked against what it acknowledged before it died.
//!
//! Each worker owns its keys and changes each one at a time, so a key's history is a line: every
//! acknowledged change must be there after the restart, and at most the one change in flight
//! when the server died is undecided (there, or not). Checked after every kill: every create
//! answered 201 is stored and its secret verifies; no acknowledged update, rotation or revoke is
//! lost and a rotated-away or revoked secret never verifies again; the credits that
//! acknowledged `VALID` verdicts spent are never spendable again; usage counts lose at most the
//! write-behind window; SQLite's `PRAGMA integrity_check` says `ok`.

use std::process::{Child, Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use keyward_server::domain::key::{KeyPrefix, Secret};
use rand::Rng;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;
use tokio::sync::Mutex;

use crate::bench::postgres::Database;
use crate::bench::{Prepared, build_release_server, launch_server};

/// Kill-and-restart rounds per store unless `--rounds` says otherwise.
const DEFAULT_ROUNDS: u32 = 10;
/// Concurrent clients during a round.
const WORKERS: usize = 8;
/// The credits each worker's metered key starts with.
const CREDITS: i64 = 1_000_000;
/// The longest a verify's use may go uncounted after a crash: the write-behind interval (1 s)
/// and the time one flush may take under this load.
const USAGE_WINDOW: Duration = Duration::from_millis(2_000);

struct Settings {
    rounds: u32,
    sqlite: bool,
    postgres: bool,
}

impl Settings {
    fn parse(args: &[&str]) -> Result<Self> {
        let mut settings = Self { rounds: DEFAULT_ROUNDS, sqlite: true, postgres: true };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match *arg {
                "--rounds" => settings.rounds = args.next().context("--rounds needs a value")?.parse()?,
                "--sqlite-only" => settings.postgres = false,
                "--postgres-only" => settings.sqlite = false,
                other => bail!("unknown option `{other}` (try --rounds N, --sqlite-only, --postgres-only)"),
            }
        }
        Ok(settings)
    }
}

pub fn run(args: &[&str]) -> Result<ExitCode> {
    let settings = Settings::parse(args)?;
    let (root, binary) = build_release_server()?;
    let dir = root.join("target/crash-test");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let mut reports = Vec::new();
    if settings.sqlite {
        let url = format!("sqlite://{}", dir.join("keyward.db").display());
        reports.push(runtime.block_on(crash_rounds("SQLite", &binary, &url, settings.rounds))?);
    }
    if settings.postgres {
        let database = runtime.block_on(Database::create())?;
        let outcome = runtime.block_on(crash_rounds("PostgreSQL", &binary, &database.url, settings.rounds));
        runtime.block_on(database.drop_now())?;
        reports.push(outcome?);
    }
    for report in &reports {
        println!("{report}");
    }
    println!("crash-test: every acknowledged write survived every SIGKILL");
    Ok(ExitCode::SUCCESS)
}

/// The running server of a round.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(binary: &std::path::Path, url: &str, admin_key: &str) -> Result<Self> {
        let prepared = Prepared { url: url.to_owned(), admin_key: admin_key.to_owned(), hot: Vec::new() };
        let mut launcher = Command::new("env");
        launcher.arg("KEYWARD_AUTH_FAILURES_PER_MINUTE=100000000");
        let (child, port, _log) = launch_server(launcher, binary, &prepared, Duration::from_secs(30))?;
        Ok(Self { child, base: format!("http://127.0.0.1:{port}") })
    }

    fn kill(mut self) -> Result<()> {
        self.child.kill()?; // SIGKILL: no drain, no final flush, no lease given back.
        self.child.wait()?;
        Ok(())
    }
}

/// What a worker was told about one of its keys.
#[derive(Debug, Clone)]
struct Model {
    id: String,
    secret: String,
    /// Secrets rotated away without grace: none may verify again.
    retired: Vec<String>,
    name: String,
    revoked: bool,
    /// A rotation in flight at a kill committed, so the key's current secret was never shown:
    /// the workers leave the key alone, and only its stored state and old secrets are checked.
    secret_unknown: bool,
    /// The change sent when the server died, unanswered: it may or may not have committed.
    pending: Option<Pending>,
}

#[derive(Debug, Clone)]
enum Pending {
    Update(String),
    Rotate,
    Revoke,
}

/// A worker's metered key and the `VALID` verdicts it was given.
#[derive(Debug, Clone, Default)]
struct Meter {
    id: String,
    secret: String,
    /// Credits spent by acknowledged `VALID` verdicts, over every round.
    spent: i64,
    /// When each acknowledged verify of this round was answered.
    answered: Vec<Instant>,
    /// Verifies acknowledged in earlier rounds (their uses were checked then).
    earlier_uses: i64,
    /// Verifies sent and never answered, over every round: they may have been counted.
    unanswered: i64,
}

#[derive(Default)]
struct Journal {
    keys: Vec<Model>,
    meter: Meter,
}

/// The rounds on one store; returns a line of figures.
async fn crash_rounds(store: &str, binary: &std::path::Path, url: &str, rounds: u32) -> Result<String> {
    let admin_key = Secret::generate(&KeyPrefix::default()).expose().to_owned();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let mut server = Server::start(binary, url, &admin_key)?;
    let mut journals = Vec::new();
    for _ in 0..WORKERS {
        let created = call(
            &http,
            &server.base,
            &admin_key,
            Method::POST,
            "/v1/api_keys",
            Some(json!({
                "name": "metered",
                "credits": {"remaining": CREDITS},
            })),
        )
        .await?;
        ensure!(created.0 == StatusCode::CREATED, "metered key: {}", created.1);
        let meter = Meter {
            id: created.1["api_key"]["id"].as_str().context("id")?.to_owned(),
            secret: created.1["key"].as_str().context("key")?.to_owned(),
            ..Meter::default()
        };
        journals.push(Arc::new(Mutex::new(Journal { keys: Vec::new(), meter })));
    }
    let (mut acknowledged, mut worst_uses_lost, mut forfeited) = (0u64, 0i64, 0i64);
    let mut undecided = 0usize;
    for round in 1..=rounds {
        let stop = Arc::new(AtomicBool::new(false));
        let mut workers = Vec::new();
        for journal in &journals {
            let (http, base, admin, stop, journal) =
                (http.clone(), server.base.clone(), admin_key.clone(), stop.clone(), journal.clone());
            workers.push(tokio::spawn(async move { work(&http, &base, &admin, &stop, &journal).await }));
        }
        let load = Duration::from_millis(rand::rng().random_range(400..1_500));
        tokio::time::sleep(load).await;
        let killed_at = Instant::now();
        server.kill()?;
        stop.store(true, Ordering::SeqCst);
        for worker in workers {
            acknowledged += worker.await??;
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{path}")).await?;
            let verdict: String =
                sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut connection).await?;
            ensure!(verdict == "ok", "round {round}: PRAGMA integrity_check says {verdict}");
            connection.close().await?;
        }
        server = Server::start(binary, url, &admin_key)?;
        forfeited = 0;
        for journal in &journals {
            let mut journal = journal.lock().await;
            undecided += journal.keys.iter().filter(|k| k.pending.is_some()).count();
            let (lost, lease) = check(&http, &server.base, &admin_key, &mut journal, killed_at)
                .await
                .with_context(|| format!("{store}, round {round}"))?;
            worst_uses_lost = worst_uses_lost.max(lost);
            forfeited += lease;
        }
        println!(
            "{store}: round {round} of {rounds}: killed after {load:?} of load; every acknowledged write is there"
        );
    }
    server.kill()?;
    let keys = keys_in(&journals).await;
    Ok(format!(
        "{store}: {rounds} SIGKILLs, {acknowledged} acknowledged requests, {keys} keys checked after each; \
         {undecided} changes in flight at a kill (undecided, settled by the store); usage lost at most \
         {worst_uses_lost} verifies of a key's last {USAGE_WINDOW:?}; credits forfeited with unspent \
         leases by the end: {forfeited} of {} (never a spent one back)",
        CREDITS * WORKERS as i64
    ))
}

/// How many keys the workers made in all.
async fn keys_in(journals: &[Arc<Mutex<Journal>>]) -> usize {
    let mut total = 0;
    for journal in journals {
        total += journal.lock().await.keys.len();
    }
    total
}

/// One worker's load until `stop`: its own keys, one change at a time each; returns how many
/// requests it had answered.
async fn work(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    stop: &AtomicBool,
    journal: &Mutex<Journal>,
) -> Result<u64> {
    let mut answered = 0;
    let mut journal = journal.lock().await;
    while !stop.load(Ordering::SeqCst) {
        let roll = rand::rng().random_range(0..100);
        let live: Vec<usize> = (0..journal.keys.len())
            .filter(|&i| !journal.keys[i].revoked && !journal.keys[i].secret_unknown)
            .collect();
        let target = (!live.is_empty()).then(|| live[rand::rng().random_range(0..live.len())]);
        let outcome = match (roll, target) {
            (0..40, _) => {
                let meter = &mut journal.meter;
                let body = json!({"key": meter.secret, "cost": 1});
                match call(http, base, admin, Method::POST, "/v1/keys/verify", Some(body)).await {
                    Ok((StatusCode::OK, verdict)) => {
                        if verdict["code"] == "VALID" {
                            meter.spent += 1;
                        }
                        meter.answered.push(Instant::now());
                        Ok(())
                    }
                    Ok((status, body)) => Err(anyhow::anyhow!("verify answered {status}: {body}")),
                    Err(gone) => {
                        meter.unanswered += 1;
                        Err(gone)
                    }
                }
            }
            (40..60, _) | (_, None) => {
                let name = format!("key {}", journal.keys.len());
                let body = json!({"name": name});
                match call(http, base, admin, Method::POST, "/v1/api_keys", Some(body)).await {
                    Ok((StatusCode::CREATED, created)) => {
                        journal.keys.push(Model {
                            id: created["api_key"]["id"].as_str().context("id")?.to_owned(),
                            secret: created["key"].as_str().context("key")?.to_owned(),
                            retired: Vec::new(),
                            name,
                            revoked: false,
                            secret_unknown: false,
                            pending: None,
                        });
                        Ok(())
                    }
                    Ok((status, body)) => Err(anyhow::anyhow!("create answered {status}: {body}")),
                    Err(gone) => Err(gone),
                }
            }
            (roll, Some(i)) => {
                let key = &mut journal.keys[i];
                let path = format!("/v1/api_keys/{}", key.id);
                let (method, path, body, pending) = match roll {
                    60..85 => {
                        let name = format!(
                            "{} v{}",
                            key.name.split(" v").next().unwrap_or("key"),
                            rand::random::<u32>()
                        );
                        (Method::PATCH, path, Some(json!({"name": name})), Pending::Update(name))
                    }
                    85..95 => (
                        Method::POST,
                        format!("{path}/rotate"),
                        Some(json!({"grace_period_ms": 0})),
                        Pending::Rotate,
                    ),
                    _ => (Method::DELETE, path, None, Pending::Revoke),
                };
                key.pending = Some(pending.clone());
                match call(http, base, admin, method, &path, body).await {
                    Ok((StatusCode::OK, answer)) => {
                        match pending {
                            Pending::Update(name) => key.name = name,
                            Pending::Rotate => {
                                let old = std::mem::replace(
                                    &mut key.secret,
                                    answer["key"].as_str().context("the new secret")?.to_owned(),
                                );
                                key.retired.push(old);
                            }
                            Pending::Revoke => key.revoked = true,
                        }
                        key.pending = None;
                        Ok(())
                    }
                    Ok((StatusCode::SERVICE_UNAVAILABLE, _)) => {
                        // A busy store: the change was not made, and may be tried again.
                        key.pending = None;
                        Ok(())
                    }
                    Ok((status, body)) => Err(anyhow::anyhow!("{path} answered {status}: {body}")),
                    Err(gone) => Err(gone),
                }
            }
        };
        match outcome {
            Ok(()) => answered += 1,
            // The server died under the request, or is dying: the round is over for this worker.
            Err(_) if stop.load(Ordering::SeqCst) => break,
            Err(error) => {
                // Killed before `stop` was raised: the connection broke mid-request.
                if error.downcast_ref::<reqwest::Error>().is_some() {
                    break;
                }
                return Err(error);
            }
        }
    }
    Ok(answered)
}

/// A request with `key`; its status and JSON body.
async fn call(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<(StatusCode, Value)> {
    let mut request = http.request(method, format!("{base}{path}")).header("x-api-key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    Ok((status, body))
}

/// Checks the restarted server against one worker's journal, then settles what was undecided
/// (a pending change takes whichever state the store has). Returns the verifies of the metered
/// key that went uncounted and the credits forfeited with the lease the crash took.
async fn check(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    journal: &mut Journal,
    killed_at: Instant,
) -> Result<(i64, i64)> {
    let verdict_of = |secret: String| async move {
        let (_, verdict) =
            call(http, base, admin, Method::POST, "/v1/keys/verify", Some(json!({"key": secret}))).await?;
        anyhow::Ok(verdict["code"].as_str().unwrap_or("").to_owned())
    };
    for key in &mut journal.keys {
        let (status, stored) = call(
            http,
            base,
            admin,
            Method::GET,
            &format!("/v1/api_keys/{}?include_deleted=true", key.id),
            None,
        )
        .await?;
        ensure!(status == StatusCode::OK, "the acknowledged create of {} is gone ({status})", key.id);
        let deleted = stored["deleted"] == true;
        let name = stored["name"].as_str().unwrap_or("");
        match &key.pending {
            Some(Pending::Update(sent)) if name == sent => key.name = sent.clone(),
            _ => ensure!(
                name == key.name,
                "{}: acknowledged name {:?} lost, stored {name:?}",
                key.id,
                key.name
            ),
        }
        match &key.pending {
            Some(Pending::Revoke) => key.revoked = deleted,
            _ => ensure!(
                deleted == key.revoked,
                "{}: stored deleted={deleted}, but the acknowledged history says revoked={} (in flight: {:?})",
                key.id,
                key.revoked,
                key.pending
            ),
        }
        if !key.secret_unknown {
            let current = verdict_of(key.secret.clone()).await?;
            let rotated_in_flight = matches!(key.pending, Some(Pending::Rotate)) && current != "VALID";
            let wanted = if key.revoked { "REVOKED" } else { "VALID" };
            ensure!(
                current == wanted || rotated_in_flight,
                "{}: its acknowledged secret verifies {current}, not {wanted}",
                key.id
            );
            if rotated_in_flight {
                // The rotation committed; its new secret was never shown.
                key.retired.push(key.secret.clone());
                key.secret_unknown = true;
            }
        }
        for old in &key.retired {
            let code = verdict_of(old.clone()).await?;
            ensure!(code != "VALID", "{}: a secret rotated away verifies VALID again", key.id);
        }
        key.pending = None;
    }
    let meter = &mut journal.meter;
    let (status, stored) =
        call(http, base, admin, Method::GET, &format!("/v1/api_keys/{}", meter.id), None).await?;
    ensure!(status == StatusCode::OK, "the metered key is gone ({status})");
    let remaining = stored["credits"]["remaining"].as_i64().context("credits.remaining")?;
    ensure!(
        remaining + meter.spent <= CREDITS,
        "credits spent by acknowledged VALID verdicts came back: {remaining} left after {} spent of {CREDITS}",
        meter.spent
    );
    let forfeited = CREDITS - remaining - meter.spent;
    let uses = stored["usage_count"].as_i64().context("usage_count")?;
    let answered = meter.answered.len() as i64;
    let settled =
        meter.answered.iter().filter(|at| killed_at.duration_since(**at) > USAGE_WINDOW).count() as i64;
    let counted_this_round = uses - meter.earlier_uses;
    ensure!(
        counted_this_round >= settled,
        "usage lost beyond the write-behind window: {counted_this_round} counted, {settled} answered more than {USAGE_WINDOW:?} before the kill"
    );
    ensure!(
        counted_this_round <= answered + meter.unanswered,
        "usage counted {counted_this_round} verifies, but only {answered} were answered and {} sent unanswered",
        meter.unanswered
    );
    let lost = (answered - counted_this_round).max(0);
    meter.earlier_uses = uses;
    meter.answered.clear();
    meter.unanswered = 0;
    Ok((lost, forfeited))
}
