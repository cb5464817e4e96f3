//! `cargo xtask`: project automation, one module per subcommand.

mod bench;
mod clients;
mod crash_test;
mod docs;
mod fuzz_api;
mod instructions;
mod openapi;
#[cfg(test)]
mod tidy;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  openapi check    compare openapi.yaml with the document generated from the handlers
  docs [--out DIR] generate the API reference from openapi.yaml (target/site by default)
  bench [--seconds N] [--connections N] [--big-store KEYS] [--pairs N]
                   the release server under wrk: verify against a trivial route, 1k vs 1M keys
  clients          generate TypeScript and Python clients from openapi.yaml, compile them, drive the server
  crash-test [--rounds N] [--sqlite-only | --postgres-only]
                   SIGKILL the release server under load, restart, check every acknowledged write
  fuzz-api [--max-examples N] [--seed N] [--sqlite-only | --postgres-only]
                   schemathesis against the release server: every check, two organizations as peers
  instructions [--requests N]
                   instructions per request under callgrind: verify against the trivial route
  help             print this message";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["openapi", rest @ ..] => openapi::run(rest),
        ["docs", rest @ ..] => docs::run(rest),
        ["bench", rest @ ..] => bench::run(rest),
        ["clients", rest @ ..] => clients::run(rest),
        ["crash-test", rest @ ..] => crash_test::run(rest),
        ["fuzz-api", rest @ ..] => fuzz_api::run(rest),
        ["instructions", rest @ ..] => instructions::run(rest),
        ["help" | "-h" | "--help"] => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        [] => {
            eprintln!("{USAGE}");
            Ok(ExitCode::from(2))
        }
        [command, ..] => {
            eprintln!("error: unknown command `{command}`\n\n{USAGE}");
            Ok(ExitCode::from(2))
        }
    };
    result.unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        ExitCode::FAILURE
    })
}
