//! `cargo xtask clients`: clients for two other languages generated from `openapi.yaml` alone,
//! as a team consuming the contract would make them, each checked and driven against the live
//! release server.
//!
//! - TypeScript: openapi-typescript (types) and openapi-fetch (calls), pinned by
//!   `docs/node/package-lock.json`; `xtask/clients/drive.ts` is compiled with `tsc --strict`
//!   against the generated types and run with node.
//! - Python: openapi-python-client, pinned here, into a virtual environment under `target/`;
//!   the generated package is imported by `xtask/clients/drive.py`.
//!
//! Each generator must report no error and no warning but the one thing it cannot express (the
//! YAML body of `GET /openapi.yaml`). Each driver creates, lists, views, updates, verifies,
//! rotates and deletes a key through its client.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use keyward_server::domain::key::{KeyPrefix, Secret};

use crate::bench::{Prepared, build_release_server, launch_server};

/// The Python generator, from PyPI.
const PYTHON_GENERATOR: &str = "openapi-python-client==0.29.1";
/// What the Python generator cannot express, and says so: a response body in YAML.
const PYTHON_CANNOT_EXPRESS: &str = "Unsupported content_type application/yaml";

pub fn run(args: &[&str]) -> Result<ExitCode> {
    if let Some(arg) = args.first() {
        bail!("unknown argument `{arg}` (cargo xtask clients takes none)");
    }
    let (root, binary) = build_release_server()?;
    let out = root.join("target/clients");
    let _ = std::fs::remove_dir_all(&out);
    let (typescript, python) = (out.join("typescript"), out.join("python"));
    std::fs::create_dir_all(&typescript)?;
    generate_typescript(&root, &typescript)?;
    generate_python(&root, &python)?;

    let admin_key = Secret::generate(&KeyPrefix::default()).expose().to_owned();
    let prepared = Prepared {
        url: format!("sqlite://{}", out.join("keyward.db").display()),
        admin_key: admin_key.clone(),
        hot: Vec::new(),
    };
    let (mut server, port, _log) =
        launch_server(Command::new("env"), &binary, &prepared, Duration::from_secs(30))?;
    let url = format!("http://127.0.0.1:{port}");
    let drives = [
        (
            "typescript",
            Command::new("node")
                .arg(typescript.join("drive.js"))
                .current_dir(&typescript)
                .env("KEYWARD_URL", &url)
                .env("KEYWARD_KEY", &admin_key)
                .output(),
        ),
        (
            "python",
            Command::new(python_venv(&root).join("bin/python"))
                .arg(root.join("xtask/clients/drive.py"))
                .env("PYTHONPATH", &python)
                .env("KEYWARD_URL", &url)
                .env("KEYWARD_KEY", &admin_key)
                .output(),
        ),
    ];
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    let _ = server.wait();
    let mut failed = false;
    for (language, output) in drives {
        let output = output.with_context(|| format!("running the {language} driver"))?;
        print!("{}", String::from_utf8_lossy(&output.stdout));
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        failed |= !output.status.success();
    }
    if failed {
        println!("clients: FAILED");
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "clients: TypeScript and Python clients generated without warnings, compiled, and drove the server"
    );
    Ok(ExitCode::SUCCESS)
}

/// Generates the types with openapi-typescript and compiles the driver against them.
fn generate_typescript(root: &Path, out: &Path) -> Result<()> {
    let bin = root.join("docs/node/node_modules/.bin");
    if !bin.join("openapi-typescript").exists() {
        bail!("the Node tools are missing: npm ci --prefix docs/node");
    }
    let generated = checked(
        Command::new(bin.join("openapi-typescript"))
            .arg(root.join("openapi.yaml"))
            .arg("-o")
            .arg(out.join("keyward.d.ts")),
        "openapi-typescript",
    )?;
    let noise: Vec<&str> = generated
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("openapi-typescript ") && !l.contains("→"))
        .collect();
    if !noise.is_empty() {
        bail!("openapi-typescript warned:\n{}", noise.join("\n"));
    }
    std::fs::copy(root.join("xtask/clients/drive.ts"), out.join("drive.ts"))?;
    std::fs::write(out.join("package.json"), "{\"type\": \"module\"}\n")?;
    symlink_dir(&root.join("docs/node/node_modules"), &out.join("node_modules"))?;
    checked(
        Command::new(bin.join("tsc"))
            .args(["--strict", "--noUnusedLocals", "--module", "nodenext", "--moduleResolution", "nodenext"])
            .args(["--target", "es2022", "--types", "node", "drive.ts"])
            .current_dir(out),
        "tsc",
    )?;
    println!(
        "typescript: openapi-typescript generated target/clients/typescript/keyward.d.ts; tsc --strict compiled the driver"
    );
    Ok(())
}

/// Generates the Python package with openapi-python-client, allowing only what it cannot express.
fn generate_python(root: &Path, out: &Path) -> Result<()> {
    let venv = python_venv(root);
    let generator = venv.join("bin/openapi-python-client");
    if !generator.exists() {
        println!("installing {PYTHON_GENERATOR} into {}", venv.display());
        checked(Command::new("python3").arg("-m").arg("venv").arg(&venv), "python3 -m venv")?;
        checked(
            Command::new(venv.join("bin/python"))
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", PYTHON_GENERATOR])
                .stdin(Stdio::null()),
            "pip install",
        )?;
    }
    let generated = checked(
        Command::new(&generator)
            .arg("generate")
            .arg("--path")
            .arg(root.join("openapi.yaml"))
            .arg("--output-path")
            .arg(out)
            .arg("--config")
            .arg(root.join("xtask/clients/python.yaml"))
            .arg("--overwrite"),
        "openapi-python-client",
    )?;
    let warnings = generated.matches("WARNING").count();
    let expressible = generated.matches(PYTHON_CANNOT_EXPRESS).count();
    if warnings != expressible || generated.contains("ERROR") {
        bail!("openapi-python-client warned about more than the YAML body it cannot express:\n{generated}");
    }
    checked(
        Command::new(venv.join("bin/python"))
            .args(["-c", "import keyward_client.api.api_keys"])
            .env("PYTHONPATH", out),
        "importing the generated package",
    )?;
    println!(
        "python: openapi-python-client generated target/clients/python ({expressible} warning: the YAML body of GET /openapi.yaml, which it cannot express); it imports"
    );
    Ok(())
}

fn python_venv(root: &Path) -> PathBuf {
    root.join("target/clients-venv")
}

/// Runs `command`; its stdout and stderr together, or an error with them if it failed.
fn checked(command: &mut Command, what: &str) -> Result<String> {
    let Output { status, stdout, stderr } = command.output().with_context(|| format!("running {what}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&stdout), String::from_utf8_lossy(&stderr));
    if !status.success() {
        bail!("{what} failed:\n{text}");
    }
    Ok(text)
}

fn symlink_dir(target: &Path, link: &Path) -> Result<()> {
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(target, link).with_context(|| format!("linking {}", link.display()))
}
