//! Headless Chromium loads the index and every operation page the server serves, with no console
//! error or failed request, switches the language tabs, and saves screenshots under `target/`.

use std::path::PathBuf;
use std::process::Stdio;

use keyward_testing::spawn_app;
use tokio::process::Command;

use crate::helpers::{api, require_tool, target_dir};

#[tokio::test]
async fn chromium_loads_every_operation_page_cleanly_and_switches_the_language_tabs() {
    let node_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node");
    require_tool("node", "--version", "install Node.js");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    require_tool(&chromium, "--version", "apt-get install chromium chromium-driver, or set CHROMIUM");
    assert!(
        node_dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: run `npm ci --prefix docs/node` (.ci/run does)"
    );

    let server = spawn_app().await;
    let shots = target_dir().join("docs-screenshots");
    let mut pages = vec![String::new()];
    pages.extend(api().operations.iter().map(|operation| format!("operations/{}.html", operation.id)));
    let output = Command::new("node")
        .arg(node_dir.join("check-pages.mjs"))
        .arg(format!("{}/docs/", server.base_url))
        .arg(&shots)
        .args(&pages)
        .env("CHROMIUM", &chromium)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(output.status.success(), "the browser check failed:\n{stdout}\n{stderr}");
    assert!(shots.join("operation-light.png").is_file() && shots.join("operation-dark.png").is_file());
}
