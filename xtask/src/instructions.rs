//! `cargo xtask instructions`: instructions per request of the release server under callgrind,
//! verify against the trivial route. Unlike throughput on a shared machine, the counts repeat to
//! about 1.5%, so they show a hot-path change of a few percent that wrk's noise would hide.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::bench::{Prepared, build_release_server, launch_server, prepare_store, require_tools};

/// Verifies sent before counting, so the caches, the allocator and the runtime are warm.
const WARM_UP: usize = 300;

/// One kind of request, sent `requests` times on one keep-alive connection.
struct Scenario {
    name: &'static str,
    request: Vec<u8>,
}

pub fn run(args: &[&str]) -> Result<ExitCode> {
    let mut requests = 2_000;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match *arg {
            "--requests" => requests = args.next().context("a value after --requests")?.parse()?,
            other => bail!("unknown argument `{other}` (flags: --requests N)"),
        }
    }
    require_tools(&[("valgrind", "valgrind"), ("callgrind_control", "valgrind")])?;
    let (root, binary) = build_release_server()?;
    let work = root.join("target/instructions");
    let _ = std::fs::remove_dir_all(&work);
    let prepared = prepare_store(&work, 1)?;
    let verify = |key: &str| {
        let body = format!("{{\"key\":\"{key}\"}}");
        format!(
            "POST /v1/keys/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-KEY: {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            prepared.admin_key,
            body.len()
        )
        .into_bytes()
    };
    let scenarios = [
        Scenario {
            name: "trivial route (GET /v1/health)",
            request: b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".to_vec(),
        },
        Scenario { name: "verify, one valid key", request: verify(&prepared.hot[0]) },
        Scenario {
            name: "verify, malformed key",
            request: verify("kw_thisisnotakeyatallbutitlooksabitlikeone"),
        },
    ];

    let server = Callgrind::start(&binary, &work, &prepared)?;
    let mut connection = Connection::open(server.port)?;
    for _ in 0..WARM_UP {
        connection.exchange(&scenarios[1].request)?;
    }
    let mut counts = Vec::new();
    for scenario in &scenarios {
        server.control("-z")?;
        for _ in 0..requests {
            connection.exchange(&scenario.request)?;
        }
        let total = server.dump_total()?;
        let per_request = total as f64 / requests as f64;
        println!("{}: {per_request:.0} instructions/request", scenario.name);
        counts.push((scenario.name, per_request));
    }
    let baseline = counts[0].1;
    let mut report = format!(
        "instructions per request, server under valgrind --tool=callgrind, {requests} requests of each \
         kind on one keep-alive connection after {WARM_UP} warm-up verifies (valgrind runs SHA-256 in \
         software: ~3,450 instructions a key that the CPU's SHA extensions do in ~60 ns)\n\n\
         | scenario | instructions/request | trivial route / scenario |\n|---|---:|---:|\n"
    );
    for (name, count) in &counts {
        report.push_str(&format!("| {name} | {count:.0} | {:.3} |\n", baseline / count));
    }
    println!("\n{report}");
    std::fs::write(work.join("report.md"), &report)?;
    println!("(also written to target/instructions/report.md)");
    Ok(ExitCode::SUCCESS)
}

/// The release server under callgrind, stopped on drop.
struct Callgrind {
    child: Child,
    port: u16,
    dumps: PathBuf,
}

impl Callgrind {
    fn start(binary: &Path, dir: &Path, prepared: &Prepared) -> Result<Self> {
        let dumps = dir.join("dumps");
        std::fs::create_dir_all(&dumps)?;
        let mut valgrind = Command::new("valgrind");
        valgrind
            .arg("--tool=callgrind")
            .arg(format!("--log-file={}", dir.join("valgrind.log").display()))
            .arg(format!("--callgrind-out-file={}/callgrind.out.%p", dumps.display()));
        // Under valgrind the server takes seconds to start.
        let (child, port, _log) = launch_server(valgrind, binary, prepared, Duration::from_secs(120))?;
        Ok(Self { child, port, dumps })
    }

    fn control(&self, flag: &str) -> Result<()> {
        let status = Command::new("callgrind_control")
            .arg(flag)
            .arg(self.child.id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("callgrind_control {flag} failed");
        }
        Ok(())
    }

    /// Dumps the counters and reads the total instructions since they were last zeroed.
    fn dump_total(&self) -> Result<u64> {
        let before = self.dump_files()?.len();
        self.control("-d")?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let files = self.dump_files()?;
            if files.len() > before
                && let Some(newest) = files.last()
                && let Some(total) = total_of(&std::fs::read_to_string(newest)?)
            {
                return Ok(total);
            }
            if Instant::now() > deadline {
                bail!("callgrind wrote no dump");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The dumps asked for so far, oldest first: `callgrind.out.<pid>.<n>`, numbered in order
    /// (the file without a number is the one written at exit).
    fn dump_files(&self) -> Result<Vec<PathBuf>> {
        let lead = format!("callgrind.out.{}.", self.child.id());
        let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(&self.dumps)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter_map(|path| {
                let number = path.file_name()?.to_str()?.strip_prefix(&lead)?.parse().ok()?;
                Some((number, path))
            })
            .collect();
        files.sort();
        Ok(files.into_iter().map(|(_, path)| path).collect())
    }
}

impl Drop for Callgrind {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// The `summary:` (or `totals:`) line of a callgrind dump: instructions executed.
fn total_of(dump: &str) -> Option<u64> {
    dump.lines()
        .find_map(|line| line.strip_prefix("summary: ").or_else(|| line.strip_prefix("totals: ")))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
}

/// One keep-alive HTTP/1.1 connection that sends a request and reads its whole answer.
struct Connection {
    reader: BufReader<TcpStream>,
}

impl Connection {
    fn open(port: u16) -> Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        Ok(Self { reader: BufReader::new(stream) })
    }

    fn exchange(&mut self, request: &[u8]) -> Result<()> {
        self.reader.get_mut().write_all(request)?;
        let mut status = String::new();
        self.reader.read_line(&mut status)?;
        if !status.starts_with("HTTP/1.1 200") {
            bail!("unexpected answer: {}", status.trim());
        }
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse()?;
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::total_of;

    #[test]
    fn the_total_is_read_from_a_callgrind_dump() {
        let dump = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\n\nfn=(1) main\n5 10\n\nsummary: 524098\n\ntotals: 524098\n";
        assert_eq!(total_of(dump), Some(524_098));
        assert_eq!(total_of("events: Ir\n"), None);
    }
}
