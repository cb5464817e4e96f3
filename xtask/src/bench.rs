//! `cargo xtask bench`: the release server under wrk on loopback, server and load on separate
//! cores, verify throughput and latency as ratios to a trivial route measured in the same run.
//!
//! Idle cores poll while wrk runs (see [`PollingIdle`]); the headline pair is also measured with
//! them halting, the VM's default, in the same pairs, and both are reported.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use keyward_server::bootstrap::ensure_default_organization;
use keyward_server::domain::actor::Actor;
use keyward_server::domain::api_key::{IssuedKey, NewApiKey};
use keyward_server::domain::key::{KeyHasher, KeyPrefix, Secret};
use keyward_server::domain::now_millis;
use keyward_server::domain::scope::{Access, Scope};
use keyward_server::store;

pub(crate) mod postgres;

/// Distinct valid keys the "many keys" scenarios pick from at random.
const HOT_KEYS: usize = 1_000;
/// Distinct well-formed unknown keys the flood scenario cycles through.
const UNKNOWN_KEYS: usize = 400_000;
/// Keys inserted per transaction when filling a store.
const BATCH: usize = 10_000;
/// The kernel's CPU latency request (PM QoS): an idle core that must wake within 0 µs polls.
const PM_QOS: &str = "/dev/cpu_dma_latency";

struct Settings {
    seconds: u32,
    connections: u32,
    big_store: usize,
    pairs: usize,
    /// Whether the PostgreSQL scenarios run too.
    postgres: bool,
}

/// Keeps every core polling when it idles, for as long as it lives: a CPU latency request of
/// 0 µs through the kernel's PM QoS file, as tuned's latency profiles make; closing the file
/// withdraws it.
///
/// Why: on this VM an idle core halts, and waking a halted core is an interrupt between virtual
/// CPUs, a VM exit that the waker pays. wrk idles whenever it has read every answer, so the
/// server's write of the next answer pays to wake it, the more often the longer the server
/// takes per request: a cost of the load generator's core, not of the route, that makes a
/// slower route look slower still. With polling idle the waker only sets a flag.
struct PollingIdle {
    _request: std::fs::File,
}

impl PollingIdle {
    fn hold() -> std::io::Result<Self> {
        let mut file = std::fs::OpenOptions::new().write(true).open(PM_QOS)?;
        file.write_all(&0i32.to_ne_bytes())?;
        Ok(Self { _request: file })
    }
}

/// The headline pair's runs in one idle mode, alternated: the trivial route, then verify with
/// one valid key.
#[derive(Default)]
struct Pairs {
    trivial: Vec<Figures>,
    valid: Vec<Figures>,
}

impl Pairs {
    /// Each pair's verify throughput over its trivial route's, in the order they ran.
    fn ratios(&self) -> Vec<f64> {
        self.trivial
            .iter()
            .zip(&self.valid)
            .map(|(t, v)| v.requests_per_second / t.requests_per_second)
            .collect()
    }
}

/// One wrk run's figures (or the medians of several runs).
struct Figures {
    name: String,
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
    /// The server's CPU time (user + system) per request served.
    cpu_us: f64,
}

pub fn run(args: &[&str]) -> Result<ExitCode> {
    let mut settings =
        Settings { seconds: 10, connections: 32, big_store: 1_000_000, pairs: 5, postgres: true };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().context("a value after the flag").and_then(|v| Ok(v.parse()?));
        match *arg {
            "--seconds" => settings.seconds = value()?,
            "--connections" => settings.connections = value()?,
            "--big-store" => settings.big_store = value()? as usize,
            "--pairs" => settings.pairs = (value()? as usize).max(1),
            "--no-postgres" => settings.postgres = false,
            other => bail!(
                "unknown argument `{other}` (flags: --seconds N, --connections N, --big-store KEYS, --pairs N, \
                 --no-postgres)"
            ),
        }
    }
    require_tools(&[("wrk", "wrk"), ("taskset", "util-linux")])?;
    let (root, binary) = build_release_server()?;
    let work = root.join("target/bench");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;

    let polling = match PollingIdle::hold() {
        Ok(_) => true,
        Err(e) => {
            println!("cannot hold {PM_QOS} ({e}): idle cores halt in every run");
            false
        }
    };
    let (mut pairs, mut halting) = (Pairs::default(), polling.then(Pairs::default));
    let mut figures = Vec::new();
    let small = prepare_store(&work.join("small"), HOT_KEYS)?;
    {
        let server = Server::start(&binary, &small)?;
        let scripts = Scripts::write(&work, &small)?;
        let wrk =
            |name: &str, script: Option<&Path>, path: &str| wrk_run(name, &settings, &server, path, script);
        // A short warm-up so every scenario starts with a warm cache and a warm process.
        wrk_warmup(&format!("http://127.0.0.1:{}/v1/keys/verify", server.port), &scripts.hot)?;
        // The headline pair, alternated: a slow spell of the shared machine then hits both sides
        // of a pair, and the ratio is the median of the pairs' ratios. Each pair runs with idle
        // cores polling, then (where polling could be held) again with them halting.
        for _ in 0..settings.pairs {
            let held = polling.then(PollingIdle::hold).transpose()?;
            pairs.trivial.push(wrk("trivial route (GET /v1/health)", None, "/v1/health")?);
            pairs.valid.push(wrk("verify, one valid key", Some(&scripts.valid), "/v1/keys/verify")?);
            drop(held);
            if let Some(halting) = halting.as_mut() {
                halting.trivial.push(wrk("trivial route, idle cores halting", None, "/v1/health")?);
                let valid = wrk(
                    "verify, one valid key, idle cores halting",
                    Some(&scripts.valid),
                    "/v1/keys/verify",
                )?;
                halting.valid.push(valid);
            }
        }
        let _held = polling.then(PollingIdle::hold).transpose()?;
        figures.push(median(&pairs.trivial));
        figures.push(median(&pairs.valid));
        figures.push(wrk("verify, malformed key", Some(&scripts.malformed), "/v1/keys/verify")?);
        figures.push(wrk(
            "verify, well-formed unknown keys (a flood of fresh ones)",
            Some(&scripts.unknown),
            "/v1/keys/verify",
        )?);
        figures.push(wrk(
            &format!("verify, {HOT_KEYS} valid keys at random, {HOT_KEYS} stored"),
            Some(&scripts.hot),
            "/v1/keys/verify",
        )?);
    }
    let big = prepare_store(&work.join("big"), settings.big_store)?;
    {
        let _held = polling.then(PollingIdle::hold).transpose()?;
        let server = Server::start(&binary, &big)?;
        let scripts = Scripts::write(&work.join("big-scripts"), &big)?;
        wrk_warmup(&format!("http://127.0.0.1:{}/v1/keys/verify", server.port), &scripts.hot)?;
        let stored = settings.big_store;
        figures.push(wrk_run(
            &format!("verify, {HOT_KEYS} valid keys at random, {stored} stored"),
            &settings,
            &server,
            "/v1/keys/verify",
            Some(&scripts.hot),
        )?);
        figures.push(wrk_run(
            &format!("verify, well-formed unknown keys, {stored} stored"),
            &settings,
            &server,
            "/v1/keys/verify",
            Some(&scripts.unknown),
        )?);
    }
    let mut report = report(&figures, &pairs, halting.as_ref(), &settings);
    if settings.postgres {
        report += &postgres::run(&binary, &work, &settings, polling)?;
    }
    println!("\n{report}");
    std::fs::write(work.join("report.md"), &report)?;
    println!("(also written to target/bench/report.md)");
    Ok(ExitCode::SUCCESS)
}

/// Builds `keyward-server` in release mode: the workspace root and the binary.
pub(crate) fn build_release_server() -> Result<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("the workspace root")?.to_owned();
    println!("building the release server ...");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "-p", "keyward-server"])
        .current_dir(&root)
        .status()?;
    if !status.success() {
        bail!("the release build failed");
    }
    let binary = root.join("target/release/keyward-server");
    Ok((root, binary))
}

/// A database with its admin key, and some of its keys' secrets for the scripts.
pub(crate) struct Prepared {
    pub url: String,
    pub admin_key: String,
    pub hot: Vec<String>,
}

/// Fills a fresh SQLite store in `dir` with `count` keys (see [`prepare_store_at`]).
pub(crate) fn prepare_store(dir: &Path, count: usize) -> Result<Prepared> {
    std::fs::create_dir_all(dir)?;
    prepare_store_at(&format!("sqlite://{}", dir.join("keyward.db").display()), count)
}

/// Fills the fresh store at `url` with `count` keys of the default organization, the way the
/// API would create them (same domain code, same store), but in large transactions.
pub(crate) fn prepare_store_at(url: &str, count: usize) -> Result<Prepared> {
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let prepared = runtime.block_on(async {
        let store = store::connect(url).await?;
        let hasher = KeyHasher::default();
        let admin = Secret::generate(&KeyPrefix::default());
        ensure_default_organization(store.as_ref(), &hasher, Some(admin.clone()), now_millis()).await?;
        let organization_id = store
            .api_key_by_digest(&hasher.digest(&admin))
            .await?
            .context("the admin key was stored")?
            .api_key
            .organization_id;
        let mut hot = Vec::with_capacity(HOT_KEYS);
        let mut batch = Vec::with_capacity(BATCH);
        for i in 0..count {
            let new = NewApiKey {
                name: format!("bench key {i}"),
                customer_id: Some(format!("cus_{}", i % 5_000)),
                scopes: vec![Scope::new("bench", Access::Read)],
                ..Default::default()
            };
            let (issued, secret): (IssuedKey, Secret) =
                new.issue(organization_id, &hasher, now_millis()).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            if hot.len() < HOT_KEYS {
                hot.push(secret.expose().to_owned());
            }
            batch.push(issued);
            if batch.len() == BATCH {
                store.api_key_insert_batch(&batch, Actor::Operator).await?;
                batch.clear();
            }
        }
        store.api_key_insert_batch(&batch, Actor::Operator).await?;
        anyhow::Ok(Prepared { url: url.to_owned(), admin_key: admin.expose().to_owned(), hot })
    })?;
    println!("stored {count} keys in {:.1}s", started.elapsed().as_secs_f64());
    Ok(prepared)
}

/// The wrk Lua scripts of one store.
struct Scripts {
    valid: PathBuf,
    malformed: PathBuf,
    unknown: PathBuf,
    hot: PathBuf,
}

impl Scripts {
    fn write(dir: &Path, prepared: &Prepared) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let headers = format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.headers[\"X-API-KEY\"] = \"{}\"\n",
            prepared.admin_key
        );
        let fixed = |name: &str, key: &str| -> Result<PathBuf> {
            let path = dir.join(name);
            std::fs::write(&path, format!("{headers}wrk.body = '{{\"key\":\"{key}\"}}'\n"))?;
            Ok(path)
        };
        let cycling = |name: &str, keys: &[String], random: bool| -> Result<PathBuf> {
            let list = dir.join(format!("{name}.keys"));
            std::fs::write(&list, keys.join("\n") + "\n")?;
            let pick = if random { "keys[math.random(#keys)]" } else { "keys[(i % #keys) + 1]" };
            let script = format!(
                "{headers}local keys = {{}}\nfor line in io.lines(\"{}\") do keys[#keys + 1] = line end\n\
                 local i = 0\nrequest = function()\n  i = i + 1\n  local key = {pick}\n  \
                 return wrk.format(nil, nil, nil, '{{\"key\":\"' .. key .. '\"}}')\nend\n",
                list.display()
            );
            let path = dir.join(name);
            std::fs::write(&path, script)?;
            Ok(path)
        };
        let unknown: Vec<String> =
            (0..UNKNOWN_KEYS).map(|_| Secret::generate(&KeyPrefix::default()).expose().to_owned()).collect();
        Ok(Self {
            valid: fixed("valid.lua", &prepared.hot[0])?,
            malformed: fixed("malformed.lua", "kw_thisisnotakeyatallbutitlooksabitlikeone")?,
            unknown: cycling("unknown.lua", &unknown, false)?,
            hot: cycling("hot.lua", &prepared.hot, true)?,
        })
    }
}

/// What a server launched by [`launch_server`] wrote to stderr, read as it comes (a pipe left
/// unread would fill and stop the server at its next log line).
pub(crate) struct ServerLog {
    text: Arc<Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
}

impl ServerLog {
    /// Reads `stderr` line by line on a thread of its own.
    fn reading(stderr: impl std::io::Read + Send + 'static) -> Self {
        let text = Arc::new(Mutex::new(String::new()));
        let log = text.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                let _ = writeln!(log, "{line}");
            }
        });
        Self { text, reader }
    }

    /// Everything the server wrote, once it has exited (its stderr closed).
    pub(crate) fn finish(self) -> String {
        let _ = self.reader.join();
        let text = self.text.lock().unwrap_or_else(|e| e.into_inner());
        text.clone()
    }
}

/// Starts `keyward-server` through `launcher` (taskset, valgrind) on a free loopback port, over
/// the prepared store with its admin key, and waits up to `patience` for it to listen.
pub(crate) fn launch_server(
    mut launcher: Command,
    binary: &Path,
    prepared: &Prepared,
    patience: Duration,
) -> Result<(Child, u16, ServerLog)> {
    let (url, admin_key) = (&prepared.url, &prepared.admin_key);
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut child = launcher
        .arg(binary)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", url])
        .env("KEYWARD_ADMIN_KEY", admin_key)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let log = ServerLog::reading(child.stderr.take().context("the server's stderr is piped")?);
    let deadline = Instant::now() + patience;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline || child.try_wait()?.is_some() {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the server did not start: {}", log.finish());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((child, port, log))
}

/// Fails with the package to install when one of `tools` is not on the PATH.
pub(crate) fn require_tools(tools: &[(&str, &str)]) -> Result<()> {
    for (tool, package) in tools {
        if Command::new("which").arg(tool).stdout(Stdio::null()).status().map_or(true, |s| !s.success()) {
            bail!("`{tool}` is not installed (apt-get install -y {package})");
        }
    }
    Ok(())
}

/// A release server pinned to core 0, stopped on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(binary: &Path, prepared: &Prepared) -> Result<Self> {
        let mut taskset = Command::new("taskset");
        taskset.args(["-c", "0"]);
        let (child, port, _log) = launch_server(taskset, binary, prepared, Duration::from_secs(30))?;
        Ok(Self { child, port })
    }

    /// The server's CPU time so far, user and system (`taskset` execs it, so the child is it).
    fn cpu_seconds(&self) -> Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // Fields after the command name (which is in parentheses): utime and stime are the 12th
        // and 13th, in clock ticks.
        let fields: Vec<&str> = stat.rsplit_once(')').context("/proc stat")?.1.split_whitespace().collect();
        let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
        Ok(ticks / clock_ticks_per_second())
    }
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// The medians, field by field, of repeated runs of one scenario.
fn median(runs: &[Figures]) -> Figures {
    let of = |field: fn(&Figures) -> f64| {
        let mut values: Vec<f64> = runs.iter().map(field).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    Figures {
        name: format!("{} (median of {})", runs[0].name, runs.len()),
        requests_per_second: of(|f| f.requests_per_second),
        p50_ms: of(|f| f.p50_ms),
        p99_ms: of(|f| f.p99_ms),
        non_2xx: runs.iter().map(|f| f.non_2xx).sum(),
        cpu_us: of(|f| f.cpu_us),
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

fn wrk_warmup(url: &str, script: &Path) -> Result<()> {
    let status = Command::new("taskset")
        .args(["-c", "1", "wrk", "-t1", "-c8", "-d2s", "-s"])
        .arg(script)
        .arg(url)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("the warm-up run of wrk failed");
    }
    Ok(())
}

/// Runs wrk pinned to core 1 against `path` and reads its figures, with the server's CPU time.
fn wrk_run(
    name: &str,
    settings: &Settings,
    server: &Server,
    path: &str,
    script: Option<&Path>,
) -> Result<Figures> {
    print!("{name} ... ");
    std::io::stdout().flush()?;
    let url = format!("http://127.0.0.1:{}{path}", server.port);
    let cpu_before = server.cpu_seconds()?;
    let mut command = Command::new("taskset");
    command.args(["-c", "1", "wrk", "-t1", "--latency"]);
    command.arg(format!("-c{}", settings.connections)).arg(format!("-d{}s", settings.seconds));
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
    let output = command.arg(url).output()?;
    let cpu = server.cpu_seconds()? - cpu_before;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let mut figures = parse_wrk(name, &text).with_context(|| format!("cannot read wrk's output:\n{text}"))?;
    figures.cpu_us = cpu * 1e6 / (figures.requests_per_second * f64::from(settings.seconds));
    println!(
        "{:.0} req/s, p50 {:.3} ms, p99 {:.3} ms, server CPU {:.2} µs/request",
        figures.requests_per_second, figures.p50_ms, figures.p99_ms, figures.cpu_us
    );
    if figures.non_2xx > 0 {
        bail!("{name}: {} responses were not 2xx", figures.non_2xx);
    }
    Ok(figures)
}

fn parse_wrk(name: &str, text: &str) -> Option<Figures> {
    let mut figures = Figures {
        name: name.to_owned(),
        requests_per_second: 0.0,
        p50_ms: 0.0,
        p99_ms: 0.0,
        non_2xx: 0,
        cpu_us: 0.0,
    };
    for line in text.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("Requests/sec:"), Some(value)) => figures.requests_per_second = value.parse().ok()?,
            (Some("50%"), Some(value)) => figures.p50_ms = duration_ms(value)?,
            (Some("99%"), Some(value)) => figures.p99_ms = duration_ms(value)?,
            (Some("Non-2xx"), _) => figures.non_2xx = line.rsplit(' ').next()?.parse().ok()?,
            _ => {}
        }
    }
    (figures.requests_per_second > 0.0).then_some(figures)
}

/// wrk prints durations as `412.00us`, `1.20ms` or `2.01s`.
fn duration_ms(value: &str) -> Option<f64> {
    let (number, unit) = value.split_at(value.find(|c: char| c.is_ascii_alphabetic())?);
    let number: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        _ => return None,
    })
}

fn report(figures: &[Figures], pairs: &Pairs, halting: Option<&Pairs>, settings: &Settings) -> String {
    let baseline = &figures[0];
    let idle = if halting.is_some() {
        format!("idle cores polling ({PM_QOS} held at 0)")
    } else {
        format!("idle cores halting ({PM_QOS} could not be held)")
    };
    let mut out = format!(
        "wrk -t1 -c{} -d{}s on loopback; server on core 0, wrk on core 1 (taskset); {idle}\n\n\
         | scenario | requests/s | p50 ms | p99 ms | throughput vs trivial route | server CPU µs/request |\n\
         |---|---:|---:|---:|---:|---:|\n",
        settings.connections, settings.seconds
    );
    for f in figures {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.3} | {:.3} | {:.2} | {:.2} |",
            f.name,
            f.requests_per_second,
            f.p50_ms,
            f.p99_ms,
            f.requests_per_second / baseline.requests_per_second,
            f.cpu_us
        );
    }
    out.push('\n');
    ratio_lines(&mut out, "verify (one valid key) / trivial route", pairs);
    if let Some(halting) = halting {
        let (trivial, valid) = (median(&halting.trivial), median(&halting.valid));
        let _ = writeln!(
            out,
            "\nthe same pairs again with idle cores halting (the VM's default), each right after its polling run: \
             trivial route {:.0} req/s, {:.2} µs CPU/request; verify {:.0} req/s, {:.2} µs CPU/request",
            trivial.requests_per_second, trivial.cpu_us, valid.requests_per_second, valid.cpu_us
        );
        ratio_lines(&mut out, "verify / trivial route, idle cores halting", halting);
    }
    let find = |prefix: &str| figures.iter().filter(|f| f.name.starts_with(prefix)).collect::<Vec<_>>();
    let hot = find(&format!("verify, {HOT_KEYS} valid keys at random"));
    if let [small, big] = hot.as_slice() {
        let _ = writeln!(
            out,
            "\np50 latency, {} stored keys vs {HOT_KEYS}: {:.2}x (p99 {:.2}x)",
            settings.big_store,
            big.p50_ms / small.p50_ms,
            big.p99_ms / small.p99_ms
        );
    }
    out
}

/// The median of the pairs' ratios, their range, the ratio by server CPU, and every pair.
fn ratio_lines(out: &mut String, label: &str, pairs: &Pairs) {
    let in_order = pairs.ratios();
    let mut ratios = in_order.clone();
    ratios.sort_by(f64::total_cmp);
    let (Some(low), Some(high)) = (ratios.first(), ratios.last()) else { return };
    let cpu = median(&pairs.trivial).cpu_us / median(&pairs.valid).cpu_us;
    let _ = writeln!(
        out,
        "{label}, throughput: median {:.2} of {} alternating pairs (range {low:.2}-{high:.2}); \
         by server CPU per request: {cpu:.2}",
        ratios[ratios.len() / 2],
        ratios.len(),
    );
    let in_order: Vec<String> = in_order.iter().map(|r| format!("{r:.2}")).collect();
    let _ = writeln!(out, "the pairs' ratios in the order they ran: {}", in_order.join(", "));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_output_is_read_into_figures() {
        let text = "  Latency Distribution\n     50%  412.00us\n     75%  600.00us\n     90%    1.00ms\n     99%    2.50ms\n  \
                    1000 requests in 1.00s, 100.00KB read\n  Non-2xx or 3xx responses: 3\nRequests/sec:  68012.34\n";
        let figures = parse_wrk("x", text).unwrap();
        assert_eq!(figures.requests_per_second, 68012.34);
        assert_eq!((figures.p50_ms, figures.p99_ms, figures.non_2xx), (0.412, 2.5, 3));
        assert!((duration_ms("2.01s").unwrap() - 2010.0).abs() < 1e-9);
    }

    fn run(name: &str, requests_per_second: f64, cpu_us: f64) -> Figures {
        Figures { name: name.into(), requests_per_second, p50_ms: 0.3, p99_ms: 1.0, non_2xx: 0, cpu_us }
    }

    /// Three pairs: the trivial route at 100k requests/s and 9 µs, verify as given.
    fn pairs(valid: [(f64, f64); 3]) -> Pairs {
        Pairs {
            trivial: (0..3).map(|_| run("trivial", 100_000.0, 9.0)).collect(),
            valid: valid.iter().map(|&(rps, cpu)| run("verify", rps, cpu)).collect(),
        }
    }

    #[test]
    fn the_report_gives_each_idle_mode_its_median_pair_range_cpu_ratio_and_every_pair_in_order() {
        let polling = pairs([(90_000.0, 12.0), (70_000.0, 12.0), (80_000.0, 12.0)]);
        let halting = pairs([(60_000.0, 15.0), (70_000.0, 14.0), (75_000.0, 12.0)]);
        let figures = [median(&polling.trivial), median(&polling.valid)];
        let settings = Settings { seconds: 10, connections: 32, big_store: 1_000, pairs: 3, postgres: false };
        let report = report(&figures, &polling, Some(&halting), &settings);
        assert!(report.contains("taskset); idle cores polling (/dev/cpu_dma_latency held at 0)"), "{report}");
        assert!(
            report.contains("| verify (median of 3) | 80000 | 0.300 | 1.000 | 0.80 | 12.00 |"),
            "{report}"
        );
        assert!(report.contains(
            "verify (one valid key) / trivial route, throughput: median 0.80 of 3 alternating pairs \
             (range 0.70-0.90); by server CPU per request: 0.75\nthe pairs' ratios in the order they ran: 0.90, 0.70, 0.80"
        ), "{report}");
        assert!(report.contains(
            "verify / trivial route, idle cores halting, throughput: median 0.70 of 3 alternating pairs \
             (range 0.60-0.75); by server CPU per request: 0.64\nthe pairs' ratios in the order they ran: 0.60, 0.70, 0.75"
        ), "{report}");
    }

    #[test]
    fn without_polling_idle_the_report_says_every_run_halted_and_gives_one_headline() {
        let halting = pairs([(90_000.0, 12.0), (70_000.0, 12.0), (80_000.0, 12.0)]);
        let figures = [median(&halting.trivial), median(&halting.valid)];
        let settings = Settings { seconds: 10, connections: 32, big_store: 1_000, pairs: 3, postgres: false };
        let report = report(&figures, &halting, None, &settings);
        assert!(report.contains("idle cores halting (/dev/cpu_dma_latency could not be held)"), "{report}");
        assert!(report.contains("median 0.80 of 3 alternating pairs"), "{report}");
        assert!(!report.contains("the same pairs again"), "{report}");
    }
}
