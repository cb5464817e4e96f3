//! `keyward health`, `ready` and `openapi`, the operations that need no key, and `completions`; and how health reads as a table.

use clap::{CommandFactory, Subcommand};
use clap_complete::Shell;
use futures::StreamExt;
use keyward::ApiError;
use keyward::types::Health;

use crate::output::{self, fields, write_stdout};
use crate::report::Failure;
use crate::{Cli, Context, Global};

/// The commands of this group: `keyward health`, `ready`, `openapi` and `completions`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Whether the server is up
    Health,
    /// Whether the server should get traffic: its store answers and it follows the change feed
    Ready,
    /// Print the OpenAPI document the server implements
    Openapi,
    /// Print a completion script for your shell, such as `keyward completions bash > ~/.local/share/bash-completion/completions/keyward`
    Completions {
        /// The shell
        shell: Shell,
    },
}

pub async fn run(command: Command, global: &Global) -> Result<(), Failure> {
    match command {
        Command::Health => health(&global.context(false)?).await,
        Command::Ready => ready(&global.context(false)?).await,
        Command::Openapi => openapi(&global.context(false)?).await,
        Command::Completions { shell } => {
            completions(shell);
            Ok(())
        }
    }
}

/// `GET /v1/health`: is the server up?
async fn health(context: &Context) -> Result<(), Failure> {
    let health = context.call(context.client.health_view().send()).await?;
    context.print(&health, || health_fields(&health));
    Ok(())
}

/// `GET /v1/ready`: should this instance get traffic? (exits 5 if not)
async fn ready(context: &Context) -> Result<(), Failure> {
    let ready = context.call(context.client.ready_view().send()).await?;
    context.print(&ready, || health_fields(&ready));
    Ok(())
}

/// `GET /openapi.yaml`: the contract the server implements, as it serves it.
async fn openapi(context: &Context) -> Result<(), Failure> {
    let mut body = context.call(context.client.openapi_view().send()).await?.into_inner();
    let mut document = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| Failure::Api { error: ApiError::Transport(e), url: context.url.clone() })?;
        document.extend_from_slice(&chunk);
    }
    write_stdout(&String::from_utf8_lossy(&document));
    Ok(())
}

/// The completion script of `keyward` for `shell`, which needs no server nor profile.
fn completions(shell: Shell) {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "keyward", &mut script);
    output::write_stdout(&String::from_utf8_lossy(&script));
}

/// What `/v1/health` or `/v1/ready` answered.
fn health_fields(health: &Health) -> String {
    fields([("Status", health.status.to_string()), ("Version", health.version.clone())])
}
