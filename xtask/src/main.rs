//! `cargo xtask`: project automation, one module per subcommand.

mod openapi;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  openapi check    compare openapi.yaml with the document generated from the handlers
  help             print this message";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["openapi", rest @ ..] => openapi::run(rest),
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
