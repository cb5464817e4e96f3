//! The `keyward-server` binary: parse the settings, start the application, print a new root key
//! once; or run one of the operator's commands.

use clap::Parser;
use keyward_server::bootstrap::Bootstrap;
use keyward_server::config::Config;
use keyward_server::operator;
use keyward_server::startup::{self, Application};
use keyward_server::telemetry;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    telemetry::init(config.log_format);
    tracing::info!(version = env!("CARGO_PKG_VERSION"), settings = ?config, "keyward-server starting");
    if let Some(command) = &config.command {
        print!("{}", operator::run(&config, command).await?);
        return Ok(());
    }
    let app = Application::build(&config).await?;
    let stop = startup::shutdown_signal()?;
    match app.bootstrap() {
        Bootstrap::Minted(secret) => {
            println!("admin key: {}", secret.expose());
            println!("(shown once: store it now; Keyward keeps only its digest)");
        }
        Bootstrap::Adopted => tracing::info!("adopted KEYWARD_ADMIN_KEY as the root key"),
        Bootstrap::Existing => {}
    }
    let database = keyward_server::store::redacted(&config.database_url);
    tracing::info!(address = %app.local_addr(), %database, "keyward listening");
    app.run_until(stop).await?;
    Ok(())
}
