//! `keyward keys …` and `keyward users keys …`: issue, list, show, update, rotate, revoke and verify API keys.

use clap::{Args, Subcommand, ValueEnum};
use futures::{StreamExt, stream::BoxStream};
use keyward::{
    Error,
    types::{self, ApiKey, ApiKeyList, ApiKeyStatus, Problem, Scope, ScopeCheck},
    update::{ApiKeyUpdate, Patch},
};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::args;
use crate::output::{self, secret_block};
use crate::report::Failure;
use crate::terminal;
use crate::view;
use crate::{Context, when};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key and print its secret, shown this once
    Create(CreateArgs),
    /// List API keys, newest first
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Show an API key, redacted
    Get(GetArgs),
    /// Update an API key; options left out keep their value
    Update(UpdateArgs),
    /// Issue a new secret for an API key, shown this once
    Rotate(RotateArgs),
    /// Revoke an API key
    #[command(visible_alias = "revoke")]
    Delete {
        /// The key's id
        id: Uuid,
    },
    /// Ask whether a key is valid, as your API would (exits 6 if it is not)
    Verify(VerifyArgs),
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// The API keys issued to one user
    #[command(subcommand)]
    Keys(UserKeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserKeysCommand {
    /// List a user's API keys, newest first
    #[command(visible_alias = "ls")]
    List {
        /// Your id for the user
        user_id: String,
        #[command(flatten)]
        filters: ListFilters,
    },
    /// Show one of a user's API keys (not found unless it is theirs)
    Get {
        /// Your id for the user
        user_id: String,
        #[command(flatten)]
        key: GetArgs,
    },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
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
    #[command(flatten)]
    expiry: Expiry,
    /// What the key may do, as resource:access[:target1,target2]; repeatable
    #[arg(long = "scope", value_name = "SCOPE", value_parser = args::parse_scope)]
    scopes: Vec<Scope>,
    /// Your own JSON object, returned as given
    #[arg(long, value_name = "JSON", value_parser = args::parse_metadata)]
    metadata: Option<Map<String, Value>>,
    /// Whether the key may be used (enabled if left out)
    #[arg(long, value_enum)]
    status: Option<Status>,
    /// At most LIMIT verifications per WINDOW: 100/min, 10/30s, 5000/day, or a window in milliseconds
    #[arg(long, value_name = "LIMIT/WINDOW", value_parser = args::parse_rate_limit)]
    rate_limit: Option<types::RateLimit>,
    /// A budget of credits that verifications spend
    #[arg(long, value_name = "N")]
    credits: Option<i64>,
    /// With --credits: set the credits back to AMOUNT every INTERVAL, such as 1000/day
    #[arg(long, value_name = "AMOUNT/INTERVAL", requires = "credits", value_parser = args::parse_refill)]
    refill: Option<types::CreditsRefill>,
}

/// When a key stops working, as a time or as a duration from now.
#[derive(Debug, Args)]
pub struct Expiry {
    /// When the key stops working: RFC 3339 (2027-01-31T12:00:00Z), a date, or epoch milliseconds
    #[arg(long, value_name = "TIME", allow_negative_numbers = true, value_parser = args::parse_time, conflicts_with = "expires_in")]
    expires_at: Option<i64>,
    /// How long from now the key works, such as 30d, 12h or 1w
    #[arg(long, value_name = "DURATION", value_parser = args::parse_expires_in)]
    expires_in: Option<i64>,
}

impl Expiry {
    /// The expiry as epoch milliseconds, if one was given.
    fn at(&self) -> Option<i64> {
        self.expires_at.or_else(|| self.expires_in.map(|ms| when::now().saturating_add(ms)))
    }
}

/// The filters of a listing.
#[derive(Debug, Args)]
pub struct ListFilters {
    /// The most keys a page holds (20 if left out)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    limit: Option<u32>,
    /// Only keys with this status
    #[arg(long, value_enum)]
    status: Option<Status>,
    /// Only keys issued to this customer
    #[arg(long)]
    customer_id: Option<String>,
    /// List revoked keys too
    #[arg(long)]
    include_deleted: bool,
    /// Follow every page and print all the keys
    #[arg(long, conflicts_with = "page_token")]
    all: bool,
    /// Start at this page, from the hint a previous listing printed
    #[arg(long, value_name = "TOKEN")]
    page_token: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only keys issued to this user
    #[arg(long)]
    user_id: Option<String>,
    #[command(flatten)]
    filters: ListFilters,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// The key's id
    id: Uuid,
    /// Show the key even if it was revoked
    #[arg(long)]
    include_deleted: bool,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
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
    #[command(flatten)]
    expiry: Expiry,
    /// The key never expires
    #[arg(long, conflicts_with_all = ["expires_at", "expires_in"])]
    clear_expiry: bool,
    /// Your own JSON object, replacing the old one
    #[arg(long, value_name = "JSON", value_parser = args::parse_metadata, conflicts_with = "clear_metadata")]
    metadata: Option<Map<String, Value>>,
    /// Empty the metadata
    #[arg(long)]
    clear_metadata: bool,
    /// A new rate limit: 100/min, 10/30s, 5000/day, or a window in milliseconds
    #[arg(long, value_name = "LIMIT/WINDOW", value_parser = args::parse_rate_limit, conflicts_with = "clear_rate_limit")]
    rate_limit: Option<types::RateLimit>,
    /// Remove the rate limit
    #[arg(long)]
    clear_rate_limit: bool,
    /// A new budget of credits that verifications spend
    #[arg(long, value_name = "N", conflicts_with = "clear_credits")]
    credits: Option<i64>,
    /// With --credits: set the credits back to AMOUNT every INTERVAL, such as 1000/day
    #[arg(long, value_name = "AMOUNT/INTERVAL", requires = "credits", value_parser = args::parse_refill)]
    refill: Option<types::CreditsRefill>,
    /// Remove the credit budget
    #[arg(long)]
    clear_credits: bool,
    /// Update only if the key is still at this revision (`3`) or `ETag` (`"3"`)
    #[arg(long, value_name = "ETAG", value_parser = args::parse_if_match)]
    if_match: Option<String>,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The key's id
    id: Uuid,
    /// How long the old secret keeps working, such as 1h (at most 30d; none if left out)
    #[arg(long, value_name = "DURATION", value_parser = args::parse_expires_in)]
    grace: Option<i64>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The key to verify; `-` or nothing reads it from stdin, which keeps it
    /// out of the process list and the shell's history
    secret: Option<String>,
    /// A scope the key must hold, as resource:access[:target]; repeatable
    #[arg(long = "scope", value_name = "SCOPE", value_parser = args::parse_scope_check)]
    scopes: Vec<ScopeCheck>,
    /// Credits this verification spends (1 if left out)
    #[arg(long, value_name = "N")]
    cost: Option<i64>,
}

/// Whether a key may be used.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Status {
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

/// The pages of a key listing (`api_key_list` or `user_api_key_list`, whose builders are two
/// types with the same filters) with `filters` applied, each key embedded in full.
macro_rules! filtered_pages {
    ($request:expr, $filters:expr) => {{
        let filters: &ListFilters = &$filters;
        let mut request = $request;
        if let Some(limit) = filters.limit {
            request = request.limit(limit);
        }
        if let Some(status) = filters.status {
            request = request.status(ApiKeyStatus::from(status));
        }
        if let Some(customer_id) = filters.customer_id.clone() {
            request = request.customer_id(customer_id);
        }
        if let Some(token) = filters.page_token.clone() {
            request = request.page_token(token);
        }
        request.include_deleted(filters.include_deleted).embed(true).pages()
    }};
}

pub async fn run(context: &Context, command: KeysCommand) -> Result<(), Failure> {
    let client = &context.client;
    match command {
        KeysCommand::Create(args) => {
            let created = context.call(client.api_key_create().body(create_body(args)).send()).await?;
            context.print_written(&created, || {
                view::key_fields(&created.api_key) + &secret_block("The new key's secret", &created.key)
            });
        }
        KeysCommand::List(args) => {
            let mut request = client.api_key_list();
            if let Some(user_id) = args.user_id {
                request = request.user_id(user_id);
            }
            list(context, filtered_pages!(request, args.filters), args.filters.all).await?;
        }
        KeysCommand::Get(args) => {
            let key = context
                .call(client.api_key_view().api_key_id(args.id).include_deleted(args.include_deleted).send())
                .await?;
            context.print(&key, || view::key_fields(&key));
        }
        KeysCommand::Update(args) => {
            let if_match = args.if_match.clone();
            let (id, body) = (args.id, update_body(args));
            if changes_nothing(&body) {
                return Err(Failure::Usage(format!(
                    "keys update needs something to change: {}",
                    change_options().join(", ")
                )));
            }
            let mut request = client.api_key_update().api_key_id(id).body(body);
            if let Some(etag) = if_match {
                request = request.if_match(etag);
            }
            let key = context.call(request.send()).await?;
            context.print_written(&key, || view::key_fields(&key));
        }
        KeysCommand::Rotate(args) => {
            let body = types::ApiKeyRotate { grace_period_ms: args.grace };
            let rotated = context.call(client.api_key_rotate().api_key_id(args.id).body(body).send()).await?;
            context.print_written(&rotated, || {
                view::key_fields(&rotated.api_key) + &secret_block("The key's new secret", &rotated.key)
            });
        }
        KeysCommand::Delete { id } => {
            let key = context.call(client.api_key_delete().api_key_id(id).send()).await?;
            context
                .print_written(&key, || format!("Revoked {} ({}).\n", terminal::escape(&key.name), key.id));
        }
        KeysCommand::Verify(args) => {
            let secret = match args.secret.filter(|s| s != "-") {
                Some(secret) => secret,
                None => args::read_stdin_line("key to verify").map_err(Failure::Usage)?,
            };
            let key =
                secret.try_into().map_err(|e| Failure::Usage(format!("the key cannot be verified: {e}")))?;
            let body = types::VerifyRequest { key, scopes: args.scopes, cost: args.cost };
            let verdict = context.call(client.api_key_verify().body(body).send()).await?;
            context.print(&verdict, || view::verdict(&verdict));
            if !verdict.valid {
                return Err(Failure::NotValid(verdict.code.to_string()));
            }
        }
    }
    Ok(())
}

pub async fn run_users(context: &Context, command: UsersCommand) -> Result<(), Failure> {
    let client = &context.client;
    let UsersCommand::Keys(command) = command;
    match command {
        UserKeysCommand::List { user_id, filters } => {
            let request = client.user_api_key_list().user_id(user_id);
            list(context, filtered_pages!(request, filters), filters.all).await?;
        }
        UserKeysCommand::Get { user_id, key } => {
            let request = client
                .user_api_key_view()
                .user_id(user_id)
                .api_key_id(key.id)
                .include_deleted(key.include_deleted);
            let key = context.call(request.send()).await?;
            context.print(&key, || view::key_fields(&key));
        }
    }
    Ok(())
}

/// Prints the keys of the first page, or of every page with `all`; with more
/// pages left, says on stderr how to get them.
async fn list(
    context: &Context,
    mut pages: BoxStream<'_, Result<ApiKeyList, Error<Problem>>>,
    all: bool,
) -> Result<(), Failure> {
    let mut keys: Vec<ApiKey> = Vec::new();
    let mut next = None;
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(e) => return Err(Failure::api(e, &context.url).await),
        };
        next = page.next_page_token();
        keys.extend(page.embedded.map(|embedded| embedded.api_keys).unwrap_or_default());
        if !all {
            break;
        }
    }
    context.print(&keys, || view::key_rows(&keys));
    if let Some(token) = next.filter(|_| !all) {
        output::write_stderr_line(&format!("more keys: run again with --page-token {token}, or with --all"));
    }
    Ok(())
}

fn create_body(args: CreateArgs) -> types::ApiKeyCreate {
    types::ApiKeyCreate {
        billing_id: args.billing_id,
        customer_id: args.customer_id,
        description: args.description,
        expires_at: args.expiry.at(),
        metadata: args.metadata.unwrap_or_default(),
        name: args.name,
        prefix: args.prefix,
        scopes: args.scopes,
        status: args.status.map(Into::into),
        user_id: args.user_id,
        rate_limit: args.rate_limit,
        credits: args.credits.map(|remaining| types::Credits { remaining, refill: args.refill }),
    }
}

fn update_body(args: UpdateArgs) -> ApiKeyUpdate {
    ApiKeyUpdate {
        name: args.name,
        description: patch(args.description, args.clear_description),
        status: args.status.map(Into::into),
        scopes: if args.clear_scopes {
            Some(Vec::new())
        } else {
            Some(args.scopes).filter(|s| !s.is_empty())
        },
        expires_at: patch(args.expiry.at(), args.clear_expiry),
        metadata: if args.clear_metadata { Some(Map::new()) } else { args.metadata },
        rate_limit: patch(args.rate_limit, args.clear_rate_limit),
        credits: patch(
            args.credits.map(|remaining| types::Credits { remaining, refill: args.refill }),
            args.clear_credits,
        ),
    }
}

/// Whether `body` would change nothing: every field left out. The server would still count it
/// a write and raise the key's revision, so it is not sent.
fn changes_nothing(body: &ApiKeyUpdate) -> bool {
    serde_json::to_value(body).is_ok_and(|body| body.as_object().is_some_and(Map::is_empty))
}

/// The options of `keys update` that change something, as `--name`: all but the id, the
/// condition (`--if-match`) and `--refill`, which goes with `--credits`.
fn change_options() -> Vec<String> {
    let command = UpdateArgs::augment_args(clap::Command::new("update"));
    command
        .get_arguments()
        .filter(|arg| !matches!(arg.get_id().as_str(), "if_match" | "refill"))
        .filter_map(|arg| arg.get_long().map(|long| format!("--{long}")))
        .collect()
}

/// A field of an update: set to `value` if given, cleared if `clear`, else kept.
fn patch<T>(value: Option<T>, clear: bool) -> Patch<T> {
    match (value, clear) {
        (Some(value), _) => Patch::Set(value),
        (None, true) => Patch::Clear,
        (None, false) => Patch::Keep,
    }
}
