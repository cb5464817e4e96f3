//! `cargo xtask openapi check`: fails with a diff when `openapi.yaml` and the handlers disagree.

use std::process::ExitCode;

use anyhow::Context as _;
use keyward_contract::{canonicalize, committed_spec, diff};

const USAGE: &str = "\
usage: cargo xtask openapi <command>

commands:
  check    compare openapi.yaml with the document generated from the handlers";

/// Runs `cargo xtask openapi <args>`.
pub(crate) fn run(args: &[&str]) -> anyhow::Result<ExitCode> {
    match args {
        ["check"] => check(),
        ["help" | "-h" | "--help"] => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            eprintln!("{USAGE}");
            Ok(ExitCode::from(2))
        }
    }
}

/// Compares both documents in their canonical form; see `keyward_server::contract`.
fn check() -> anyhow::Result<ExitCode> {
    let generated = serde_json::to_value(keyward_server::api::openapi())
        .context("cannot serialize the document generated from the handlers")?;
    let diff = diff(&canonicalize(&committed_spec()), &canonicalize(&generated));
    if diff.is_empty() {
        println!("openapi.yaml matches the handlers");
        return Ok(ExitCode::SUCCESS);
    }
    print!("{diff}");
    eprintln!(
        "\nopenapi.yaml and the handlers disagree (`-` is openapi.yaml, `+` the handlers, both in \
         canonical form): change the handlers, or change openapi.yaml by hand if the contract should change"
    );
    Ok(ExitCode::FAILURE)
}
