//! `cargo xtask docs [--out DIR]`: writes the API reference generated from `openapi.yaml` to a folder.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

const USAGE: &str = "\
usage: cargo xtask docs [--out DIR]

Generates the API reference (HTML and Markdown) from openapi.yaml and writes it
to DIR, target/site by default. The server serves the same site at /docs.";

/// Runs `cargo xtask docs <args>`.
pub(crate) fn run(args: &[&str]) -> anyhow::Result<ExitCode> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("xtask sits in the workspace")?;
    let out = match args {
        [] => root.join("target/site"),
        ["--out", dir] => PathBuf::from(dir),
        ["help" | "-h" | "--help"] => {
            println!("{USAGE}");
            return Ok(ExitCode::SUCCESS);
        }
        _ => {
            eprintln!("{USAGE}");
            return Ok(ExitCode::from(2));
        }
    };
    let spec_path = root.join("openapi.yaml");
    let spec = std::fs::read_to_string(&spec_path)
        .with_context(|| format!("cannot read {}", spec_path.display()))?;
    let site = keyward_docs::build_site(&spec).context("cannot generate the reference")?;
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    site.write_to(&out).with_context(|| format!("cannot write to {}", out.display()))?;
    println!(
        "wrote {} files to {}; open {}",
        site.paths().count(),
        out.display(),
        out.join("index.html").display()
    );
    Ok(ExitCode::SUCCESS)
}
