//! `cargo xtask bench`'s PostgreSQL part: warm verify beside the trivial route on PostgreSQL,
//! key creation per second on PostgreSQL beside SQLite, one credit-limited key verified through
//! two instances beside a key without credits, and how long a revocation made through one
//! instance takes to reach the other.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use super::{
    Figures, HOT_KEYS, Pairs, PollingIdle, Prepared, Scripts, Server, Settings, median, parse_wrk,
    prepare_store, prepare_store_at, ratio_lines, wrk_run, wrk_warmup,
};

/// The PostgreSQL server the bench makes its database on (a user that may create databases).
const URL_VARIABLE: &str = "KEYWARD_BENCH_POSTGRES_URL";
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Revocations timed between two instances.
const REVOKES: usize = 120;

/// A database of the bench's own, dropped at the end.
pub(crate) struct Database {
    admin_url: String,
    name: String,
    pub(crate) url: String,
}

impl Database {
    pub(crate) async fn create() -> Result<Self> {
        let admin_url = std::env::var(URL_VARIABLE).unwrap_or_else(|_| DEFAULT_URL.to_owned());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .with_context(|| format!("PostgreSQL at {admin_url} (set {URL_VARIABLE})"))?;
        let name = format!("keyward_bench_{}", std::process::id());
        // The name is ours: a fixed prefix and a number.
        sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
            .execute(&mut admin)
            .await?;
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await?;
        let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
        let url = format!("{base}/{name}");
        Ok(Self { admin_url, name, url })
    }

    pub(crate) async fn drop_now(self) -> Result<()> {
        let mut admin = PgConnection::connect(&self.admin_url).await?;
        let name = &self.name;
        sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
            .execute(&mut admin)
            .await?;
        Ok(())
    }
}

/// Runs every PostgreSQL scenario and returns the report's section on them.
pub(super) fn run(binary: &Path, work: &Path, settings: &Settings, polling: bool) -> Result<String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let database = runtime.block_on(Database::create())?;
    let outcome = scenarios(&runtime, binary, work, settings, polling, &database.url);
    runtime.block_on(database.drop_now())?;
    outcome
}

fn scenarios(
    runtime: &tokio::runtime::Runtime,
    binary: &Path,
    work: &Path,
    settings: &Settings,
    polling: bool,
    url: &str,
) -> Result<String> {
    let mut out = String::from("\n### PostgreSQL\n\n");
    let prepared = prepare_store_at(url, HOT_KEYS)?;
    let a = Server::start(binary, &prepared)?;
    let scripts = Scripts::write(&work.join("postgres-scripts"), &prepared)?;
    wrk_warmup(&format!("http://127.0.0.1:{}/v1/keys/verify", a.port), &scripts.hot)?;

    // Warm verify beside the trivial route, in alternating pairs as on SQLite.
    let mut pairs = Pairs::default();
    for _ in 0..settings.pairs {
        let _held = polling.then(PollingIdle::hold).transpose()?;
        pairs.trivial.push(wrk_run("PostgreSQL: trivial route", settings, &a, "/v1/health", None)?);
        let valid = wrk_run(
            "PostgreSQL: verify, one valid key",
            settings,
            &a,
            "/v1/keys/verify",
            Some(&scripts.valid),
        )?;
        pairs.valid.push(valid);
    }
    figure_lines(&mut out, &[median(&pairs.trivial), median(&pairs.valid)]);
    ratio_lines(&mut out, "PostgreSQL: verify (one valid key) / trivial route", &pairs);

    // Key creation per second, PostgreSQL beside SQLite.
    let _held = polling.then(PollingIdle::hold).transpose()?;
    let create = write_create_script(work, &prepared)?;
    let on_postgres = wrk_run("PostgreSQL: create a key", settings, &a, "/v1/api_keys", Some(&create))?;
    let sqlite = prepare_store(&work.join("creates"), 1)?;
    let on_sqlite = {
        let server = Server::start(binary, &sqlite)?;
        let script = write_create_script(&work.join("creates"), &sqlite)?;
        wrk_run("SQLite: create a key", settings, &server, "/v1/api_keys", Some(&script))?
    };
    let _ = writeln!(
        out,
        "\nkey creation: PostgreSQL {:.0}/s (p50 {:.2} ms), SQLite {:.0}/s (p50 {:.2} ms)",
        on_postgres.requests_per_second, on_postgres.p50_ms, on_sqlite.requests_per_second, on_sqlite.p50_ms
    );

    // One credit-limited key through two instances, beside a key without credits.
    let b = Server::start(binary, &prepared)?;
    let (credited, plain) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let with = create_key(
            &client,
            &a,
            &prepared,
            json!({"name": "credited", "credits": {"remaining": 1_000_000_000_000_i64}}),
        )
        .await?;
        let without = create_key(&client, &a, &prepared, json!({"name": "plain"})).await?;
        anyhow::Ok((with, without))
    })?;
    let both = |key: &str, name: &str| -> Result<f64> {
        let script = work.join(format!("{name}.lua"));
        std::fs::write(&script, verify_script(&prepared.admin_key, key))?;
        two_instances(settings, &[&a, &b], &script)
    };
    let plain_rps = both(&plain, "plain")?;
    let credited_rps = both(&credited, "credited")?;
    let _ = writeln!(
        out,
        "\none key verified through two instances at once (wrk -c{} against each): without credits {plain_rps:.0} req/s, \
         credit-limited {credited_rps:.0} req/s ({:.2} of it)",
        settings.connections / 2,
        credited_rps / plain_rps
    );

    // Revocation propagation, A to B.
    let times = runtime.block_on(propagation(&a, &b, &prepared))?;
    let _ = writeln!(
        out,
        "\nrevocation through A until B answers REVOKED, {} revokes (from sending the DELETE): p50 {:.2} ms, \
         p99 {:.2} ms, max {:.2} ms",
        times.len(),
        percentile(&times, 0.50),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or_default()
    );
    Ok(out)
}

fn figure_lines(out: &mut String, figures: &[Figures]) {
    out.push_str(
        "| scenario | requests/s | p50 ms | p99 ms | server CPU µs/request |\n|---|---:|---:|---:|---:|\n",
    );
    for f in figures {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.3} | {:.3} | {:.2} |",
            f.name, f.requests_per_second, f.p50_ms, f.p99_ms, f.cpu_us
        );
    }
    out.push('\n');
}

fn write_create_script(dir: &Path, prepared: &Prepared) -> Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("create.lua");
    std::fs::write(
        &path,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
             wrk.headers[\"X-API-KEY\"] = \"{}\"\nwrk.body = '{{\"name\":\"bench\"}}'\n",
            prepared.admin_key
        ),
    )?;
    Ok(path)
}

fn verify_script(admin_key: &str, key: &str) -> String {
    format!(
        "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
         wrk.headers[\"X-API-KEY\"] = \"{admin_key}\"\nwrk.body = '{{\"key\":\"{key}\"}}'\n"
    )
}

/// Runs one wrk against each server at once (all on core 1) and adds up their throughput.
fn two_instances(settings: &Settings, servers: &[&Server], script: &Path) -> Result<f64> {
    let children = servers
        .iter()
        .map(|server| {
            Command::new("taskset")
                .args(["-c", "1", "wrk", "-t1", "--latency"])
                .arg(format!("-c{}", (settings.connections / 2).max(1)))
                .arg(format!("-d{}s", settings.seconds))
                .arg("-s")
                .arg(script)
                .arg(format!("http://127.0.0.1:{}/v1/keys/verify", server.port))
                .stdout(Stdio::piped())
                .spawn()
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    let mut total = 0.0;
    for child in children {
        let output = child.wait_with_output()?;
        let text = String::from_utf8_lossy(&output.stdout);
        let figures = parse_wrk("two instances", &text).with_context(|| format!("wrk's output:\n{text}"))?;
        if figures.non_2xx > 0 {
            bail!("{} responses were not 2xx", figures.non_2xx);
        }
        total += figures.requests_per_second;
    }
    Ok(total)
}

async fn create_key(
    client: &reqwest::Client,
    server: &Server,
    prepared: &Prepared,
    body: Value,
) -> Result<String> {
    let created: Value = client
        .post(format!("http://127.0.0.1:{}/v1/api_keys", server.port))
        .header("x-api-key", &prepared.admin_key)
        .json(&body)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(created["key"].as_str().context("a key")?.to_owned())
}

/// Times `REVOKES` revocations through `a` until `b` answers REVOKED, each key warm in `b`'s
/// cache first; milliseconds, sorted.
async fn propagation(a: &Server, b: &Server, prepared: &Prepared) -> Result<Vec<f64>> {
    let client = reqwest::Client::new();
    let code = async |server: &Server, key: &str| -> Result<String> {
        let verdict: Value = client
            .post(format!("http://127.0.0.1:{}/v1/keys/verify", server.port))
            .header("x-api-key", &prepared.admin_key)
            .json(&json!({"key": key}))
            .send()
            .await?
            .json()
            .await?;
        Ok(verdict["code"].as_str().unwrap_or_default().to_owned())
    };
    let mut times = Vec::with_capacity(REVOKES);
    for _ in 0..REVOKES {
        let created: Value = client
            .post(format!("http://127.0.0.1:{}/v1/api_keys", a.port))
            .header("x-api-key", &prepared.admin_key)
            .json(&json!({"name": "revoked"}))
            .send()
            .await?
            .json()
            .await?;
        let key = created["key"].as_str().context("a key")?;
        let id = created["api_key"]["id"].as_str().context("an id")?;
        let warm = Instant::now();
        while code(b, key).await? != "VALID" {
            if warm.elapsed() > Duration::from_secs(5) {
                bail!("a key created on A never verified on B");
            }
        }
        code(b, key).await?;
        let start = Instant::now();
        client
            .delete(format!("http://127.0.0.1:{}/v1/api_keys/{id}", a.port))
            .header("x-api-key", &prepared.admin_key)
            .send()
            .await?
            .error_for_status()?;
        while code(b, key).await? != "REVOKED" {
            if start.elapsed() > Duration::from_secs(5) {
                bail!("a revoke through A did not reach B within 5 s");
            }
        }
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let times: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&times, 0.50), 50.0);
        assert_eq!(percentile(&times, 0.99), 99.0);
        assert_eq!(percentile(&[3.0], 0.99), 3.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
