//! The `keyward` command-line client: parses arguments, calls the SDK and prints JSON.

mod args;
mod report;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum, error::ErrorKind};
use futures::TryStreamExt;
use keyward::{
    Client,
    types::{self, ApiKeyStatus, Scope},
    update::{ApiKeyUpdate, Patch},
};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::report::Failure;

/// Manage the API keys of a Keyward server.
#[derive(Debug, Parser)]
#[command(name = "keyward", version)]
struct Cli {
    /// The server's base URL
    #[arg(
        long,
        global = true,
        env = "KEYWARD_URL",
        default_value = "http://127.0.0.1:8080",
        value_parser = args::parse_url,
        help_heading = "Server"
    )]
    url: String,

    /// Your Keyward key, sent as `X-API-KEY`; prefer the environment variable
    #[arg(long, global = true, env = "KEYWARD_KEY", hide_env_values = true, help_heading = "Server")]
    key: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Issue, list, update and revoke API keys
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create an API key and print its secret, shown this once
    Create(CreateArgs),
    /// List API keys, newest first
    List(ListArgs),
    /// Show an API key, redacted
    Get {
        /// The key's id
        id: Uuid,
    },
    /// Update an API key; options left out keep their value
    Update(UpdateArgs),
    /// Revoke an API key
    Delete {
        /// The key's id
        id: Uuid,
    },
}

#[derive(Debug, Args)]
struct CreateArgs {
    /// A name for the key
    #[arg(long)]
    name: types::ApiKeyCreateName,
    /// What the key is for
    #[arg(long)]
    description: Option<types::ApiKeyCreateDescription>,
    /// Your id for the user the key is issued to
    #[arg(long)]
    user_id: Option<types::ApiKeyCreateUserId>,
    /// Your id for the customer the key is issued to
    #[arg(long)]
    customer_id: Option<types::ApiKeyCreateCustomerId>,
    /// Your billing id for the key
    #[arg(long)]
    billing_id: Option<types::ApiKeyCreateBillingId>,
    /// The key's readable start (`kw` if left out)
    #[arg(long)]
    prefix: Option<types::ApiKeyCreatePrefix>,
    /// When the key stops working, in milliseconds since the Unix epoch
    #[arg(long, value_name = "MILLIS", allow_negative_numbers = true)]
    expires_at: Option<i64>,
    /// What the key may do, as resource:access[:target1,target2]; repeatable
    #[arg(long = "scope", value_name = "SCOPE", value_parser = args::parse_scope)]
    scopes: Vec<Scope>,
    /// Your own JSON object, returned as given
    #[arg(long, value_name = "JSON", value_parser = args::parse_metadata)]
    metadata: Option<Map<String, Value>>,
    /// Whether the key may be used (enabled if left out)
    #[arg(long, value_enum)]
    status: Option<Status>,
    /// A rate limit as LIMIT/WINDOW_MS, such as 100/60000 for 100 a minute
    #[arg(long, value_name = "LIMIT/WINDOW_MS", value_parser = args::parse_rate_limit)]
    rate_limit: Option<types::RateLimit>,
    /// A budget of credits that verifications spend
    #[arg(long, value_name = "N")]
    credits: Option<i64>,
    /// With --credits: set the credits back to AMOUNT every INTERVAL_MS
    #[arg(long, value_name = "AMOUNT/INTERVAL_MS", requires = "credits", value_parser = args::parse_refill)]
    refill: Option<types::CreditsRefill>,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// The most keys a page holds (20 if left out)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    limit: Option<u32>,
    /// Only keys with this status
    #[arg(long, value_enum)]
    status: Option<Status>,
    /// Only keys issued to this user
    #[arg(long)]
    user_id: Option<types::ApiKeyListUserId>,
    /// Only keys issued to this customer
    #[arg(long)]
    customer_id: Option<types::ApiKeyListCustomerId>,
    /// List revoked keys too
    #[arg(long)]
    include_deleted: bool,
    /// Show the full redacted keys, not only their ids and names
    #[arg(long)]
    embed: bool,
    /// Follow every page and print all the keys as one JSON array
    #[arg(long)]
    all: bool,
}

#[derive(Debug, Args)]
struct UpdateArgs {
    /// The key's id
    id: Uuid,
    /// A new name
    #[arg(long)]
    name: Option<String>,
    /// A new description
    #[arg(long, conflicts_with = "clear_description")]
    description: Option<String>,
    /// Remove the description
    #[arg(long)]
    clear_description: bool,
    /// Enable or disable the key
    #[arg(long, value_enum)]
    status: Option<Status>,
    /// The key's new scopes, replacing the old ones, as
    /// resource:access[:target1,target2]; repeatable
    #[arg(long = "scope", value_name = "SCOPE", value_parser = args::parse_scope, conflicts_with = "clear_scopes")]
    scopes: Vec<Scope>,
    /// Take every scope away
    #[arg(long)]
    clear_scopes: bool,
    /// When the key stops working, in milliseconds since the Unix epoch
    #[arg(long, value_name = "MILLIS", allow_negative_numbers = true, conflicts_with = "clear_expiry")]
    expires_at: Option<i64>,
    /// The key never expires
    #[arg(long)]
    clear_expiry: bool,
    /// Your own JSON object, replacing the old one
    #[arg(long, value_name = "JSON", value_parser = args::parse_metadata, conflicts_with = "clear_metadata")]
    metadata: Option<Map<String, Value>>,
    /// Empty the metadata
    #[arg(long)]
    clear_metadata: bool,
    /// A new rate limit as LIMIT/WINDOW_MS, such as 100/60000 for 100 a minute
    #[arg(long, value_name = "LIMIT/WINDOW_MS", value_parser = args::parse_rate_limit, conflicts_with = "clear_rate_limit")]
    rate_limit: Option<types::RateLimit>,
    /// Remove the rate limit
    #[arg(long)]
    clear_rate_limit: bool,
    /// A new budget of credits that verifications spend
    #[arg(long, value_name = "N", conflicts_with = "clear_credits")]
    credits: Option<i64>,
    /// With --credits: set the credits back to AMOUNT every INTERVAL_MS
    #[arg(long, value_name = "AMOUNT/INTERVAL_MS", requires = "credits", value_parser = args::parse_refill)]
    refill: Option<types::CreditsRefill>,
    /// Remove the credit budget
    #[arg(long)]
    clear_credits: bool,
    /// Update only if the key is still at this revision (`3`) or `ETag` (`"3"`)
    #[arg(long, value_name = "ETAG", value_parser = args::parse_if_match)]
    if_match: Option<String>,
}

/// Whether a key may be used.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Status {
    Enabled,
    Disabled,
}

impl From<Status> for ApiKeyStatus {
    fn from(status: Status) -> Self {
        match status {
            Status::Enabled => Self::Enabled,
            Status::Disabled => Self::Disabled,
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(key) = cli.key.as_deref().filter(|key| !key.trim().is_empty()) else {
        Cli::command()
            .error(ErrorKind::MissingRequiredArgument, "a key is required: pass --key or set KEYWARD_KEY")
            .exit();
    };
    let result = match Client::with_key(&cli.url, key) {
        Ok(client) => run(&client, cli.command).await,
        Err(e) => Err(Failure::from(e)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            for line in failure.describe(&cli.url).await {
                eprintln!("{line}");
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(client: &Client, command: Command) -> Result<(), Failure> {
    let Command::Keys(command) = command;
    match command {
        KeysCommand::Create(args) => {
            let created = create(client, args).await?;
            print_json(&created);
            if io::stdout().is_terminal() {
                println!();
                println!("the new key's secret, shown this once (store it now):");
                println!("{}", created.key);
            }
        }
        KeysCommand::List(args) => list(client, args).await?,
        KeysCommand::Get { id } => {
            let key = client.api_key_view().api_key_id(id).send().await?;
            print_json(&key.into_inner());
        }
        KeysCommand::Update(args) => {
            let key = update(client, args).await?;
            print_json(&key);
        }
        KeysCommand::Delete { id } => {
            let key = client.api_key_delete().api_key_id(id).send().await?;
            print_json(&key.into_inner());
        }
    }
    Ok(())
}

async fn create(client: &Client, args: CreateArgs) -> Result<types::ApiKeyCreated, Failure> {
    let body = types::ApiKeyCreate {
        billing_id: args.billing_id,
        customer_id: args.customer_id,
        description: args.description,
        expires_at: args.expires_at,
        metadata: args.metadata.unwrap_or_default(),
        name: args.name,
        prefix: args.prefix,
        scopes: args.scopes,
        status: args.status.map(Into::into),
        user_id: args.user_id,
        rate_limit: args.rate_limit,
        credits: args.credits.map(|remaining| types::Credits { remaining, refill: args.refill }),
    };
    let created = client.api_key_create().body(body).send().await?;
    Ok(created.into_inner())
}

async fn list(client: &Client, args: ListArgs) -> Result<(), Failure> {
    let mut request = client.api_key_list();
    if let Some(limit) = args.limit {
        request = request.limit(limit);
    }
    if let Some(status) = args.status {
        request = request.status(ApiKeyStatus::from(status));
    }
    if let Some(user_id) = args.user_id {
        request = request.user_id(user_id);
    }
    if let Some(customer_id) = args.customer_id {
        request = request.customer_id(customer_id);
    }
    if args.include_deleted {
        request = request.include_deleted(true);
    }
    match (args.all, args.embed) {
        (false, embed) => {
            let page = request.embed(embed).send().await?;
            print_json(&page.into_inner());
        }
        (true, false) => {
            let keys: Vec<_> = request.stream().try_collect().await?;
            print_json(&keys);
        }
        (true, true) => {
            let keys: Vec<_> = request.stream_embedded().try_collect().await?;
            print_json(&keys);
        }
    }
    Ok(())
}

async fn update(client: &Client, args: UpdateArgs) -> Result<types::ApiKey, Failure> {
    let body = ApiKeyUpdate {
        name: args.name,
        description: patch(args.description, args.clear_description),
        status: args.status.map(Into::into),
        scopes: if args.clear_scopes {
            Some(Vec::new())
        } else {
            Some(args.scopes).filter(|s| !s.is_empty())
        },
        expires_at: patch(args.expires_at, args.clear_expiry),
        metadata: if args.clear_metadata { Some(Map::new()) } else { args.metadata },
        rate_limit: patch(args.rate_limit, args.clear_rate_limit),
        credits: patch(
            args.credits.map(|remaining| types::Credits { remaining, refill: args.refill }),
            args.clear_credits,
        ),
    };
    let mut request = client.api_key_update().api_key_id(args.id).body(body);
    if let Some(etag) = args.if_match {
        request = request.if_match(etag);
    }
    Ok(request.send().await?.into_inner())
}

/// A field of an update: set to `value` if given, cleared if `clear`, else kept.
fn patch<T>(value: Option<T>, clear: bool) -> Patch<T> {
    match (value, clear) {
        (Some(value), _) => Patch::Set(value),
        (None, true) => Patch::Clear,
        (None, false) => Patch::Keep,
    }
}

/// Prints `value` as pretty JSON on stdout; a closed stdout ends the command
/// quietly.
fn print_json<T: Serialize>(value: &T) {
    let json = serde_json::to_string_pretty(value).expect("the response types serialize");
    let mut stdout = io::stdout().lock();
    if writeln!(stdout, "{json}").and_then(|()| stdout.flush()).is_err() {
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_bad_scope_is_a_clap_error() {
        let err = Cli::try_parse_from([
            "keyward", "--key", "k", "keys", "create", "--name", "n", "--scope", "api_keys",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ValueValidation);
        assert!(err.to_string().contains("resource:access"), "{err}");
    }

    #[test]
    fn scopes_repeat() {
        let cli = Cli::try_parse_from([
            "keyward",
            "keys",
            "create",
            "--name",
            "ci",
            "--scope",
            "api_keys:read",
            "--scope",
            "invoices:write:a,b",
        ])
        .unwrap();
        let Command::Keys(KeysCommand::Create(args)) = cli.command else {
            panic!("expected keys create");
        };
        assert_eq!(args.scopes.len(), 2);
        assert_eq!(args.scopes[1].targets.len(), 2);
    }

    #[test]
    fn an_invalid_prefix_is_a_clap_error() {
        let err =
            Cli::try_parse_from(["keyward", "keys", "create", "--name", "n", "--prefix", "KW"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ValueValidation);
    }

    #[test]
    fn a_limit_over_100_is_a_clap_error() {
        let err = Cli::try_parse_from(["keyward", "keys", "list", "--limit", "101"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ValueValidation);
    }
}
