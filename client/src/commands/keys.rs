//! `keyward keys …`: issue, list, show, update, rotate, revoke and verify API keys; and how a key, a list of keys and a verdict read as tables.

use std::io;

use clap::{Args, Subcommand, ValueEnum};
use keyward::{
    types::{
        self, ApiKey, ApiKeyList, ApiKeyStatus, Credits, RateLimit, Scope, ScopeCheck,
        VerifyRequestScopeQuery, VerifyResponse,
    },
    update::{ApiKeyUpdate, Patch},
};
use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter, Serializer};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::Global;
use crate::args;
use crate::listing::{self, Page};
use crate::output::{Column, fields, secret_block, table};
use crate::report::Failure;
use crate::terminal;
use crate::when::{self, local_time, local_time_short, now, relative, window};

/// The commands of this group: `keyward keys …`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Issue, list, show, update, rotate, revoke and verify API keys
    #[command(subcommand)]
    Keys(Box<KeysCommand>),
}

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
    pub limit: Option<u32>,
    /// Only keys with this status
    #[arg(long, value_enum)]
    pub status: Option<Status>,
    /// Only keys issued to this customer
    #[arg(long)]
    pub customer_id: Option<String>,
    /// List revoked keys too
    #[arg(long)]
    pub include_deleted: bool,
    /// Follow every page and print all the keys
    #[arg(long, conflicts_with = "page_token")]
    pub all: bool,
    /// Start at this page, from the hint a previous listing printed
    #[arg(long, value_name = "TOKEN")]
    pub page_token: Option<String>,
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
    pub id: Uuid,
    /// Show the key even if it was revoked
    #[arg(long)]
    pub include_deleted: bool,
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
    /// A scope query the key must also satisfy, such as 'invoices:read OR invoices:write';
    /// AND binds tighter than OR, a target is written invoices:read["inv_1"], and the access is
    /// after the last colon (unlike --scope, where a third part is the target)
    #[arg(long, value_name = "QUERY", value_parser = args::parse_scope_query)]
    query: Option<VerifyRequestScopeQuery>,
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
        let filters: &$crate::commands::keys::ListFilters = &$filters;
        let mut request = $request;
        if let Some(limit) = filters.limit {
            request = request.limit(limit);
        }
        if let Some(status) = filters.status {
            request = request.status(keyward::types::ApiKeyStatus::from(status));
        }
        if let Some(customer_id) = filters.customer_id.clone() {
            request = request.customer_id(customer_id);
        }
        if let Some(token) = filters.page_token.clone() {
            request = request.page_token(token);
        }
        keyward::PagedRequest::pages(request.include_deleted(filters.include_deleted).embed(true))
    }};
}
pub(crate) use filtered_pages;

pub async fn run(command: Command, global: &Global) -> Result<(), Failure> {
    let Command::Keys(command) = command;
    let context = &global.context(true)?;
    let client = &context.client;
    match *command {
        KeysCommand::Create(args) => {
            let created = context.call(client.api_key_create().body(create_body(args)).send()).await?;
            context.print_written(&created, || {
                key_fields(&created.api_key) + &secret_block("The new key's secret", &created.key)
            });
        }
        KeysCommand::List(args) => {
            let mut request = client.api_key_list();
            if let Some(user_id) = args.user_id {
                request = request.user_id(user_id);
            }
            listing::print(
                context,
                filtered_pages!(request, args.filters),
                args.filters.all,
                "keys",
                key_rows,
            )
            .await?;
        }
        KeysCommand::Get(args) => {
            let key = context
                .call(client.api_key_view().api_key_id(args.id).include_deleted(args.include_deleted).send())
                .await?;
            context.print(&key, || key_fields(&key));
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
            context.print_written(&key, || key_fields(&key));
        }
        KeysCommand::Rotate(args) => {
            let body = types::ApiKeyRotate { grace_period_ms: args.grace };
            let rotated = context.call(client.api_key_rotate().api_key_id(args.id).body(body).send()).await?;
            context.print_written(&rotated, || {
                key_fields(&rotated.api_key) + &secret_block("The key's new secret", &rotated.key)
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
            let body =
                types::VerifyRequest { key, scopes: args.scopes, scope_query: args.query, cost: args.cost };
            let verdict = context.call(client.api_key_verify().body(body).send()).await?;
            context.print(&verdict, || verdict_fields(&verdict));
            if !verdict.valid {
                return Err(Failure::NotValid(verdict.code.to_string()));
            }
        }
    }
    Ok(())
}

impl Page for ApiKeyList {
    type Item = ApiKey;

    fn into_items(self) -> Vec<ApiKey> {
        self.embedded.map(|embedded| embedded.api_keys).unwrap_or_default()
    }
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

// The views: how a key, a list of keys and a verdict read as tables for people.

/// The columns of `keys list`, the first to be left out last. A time cut short still shows its
/// date (`2026-12-10…`).
const KEY_COLUMNS: [Column; 6] = [
    Column::whole("ID"),
    Column::cut("NAME", 8),
    Column::whole("STATUS"),
    Column::whole("KEY"),
    Column::cut("EXPIRES", 11),
    Column::cut("LAST USED", 11),
];

/// `keys list`: one key a row, newest first.
pub fn key_rows(keys: &[ApiKey]) -> String {
    if keys.is_empty() {
        return "No API keys.\n".to_owned();
    }
    table(KEY_COLUMNS, key_cells(keys, now()))
}

/// The cells of each key's row in `keys list`, at `now`.
fn key_cells(keys: &[ApiKey], now: i64) -> impl Iterator<Item = [String; 6]> + '_ {
    keys.iter().map(move |key| {
        [
            key.id.to_string(),
            key.name.clone(),
            status(key, now).to_owned(),
            short_mask(&key.masked_key),
            key.expires_at.map_or_else(|| "never".to_owned(), |at| local_time_short(at, now)),
            key.last_used_at.map_or_else(|| "never".to_owned(), |at| local_time_short(at, now)),
        ]
    })
}

/// One key, a field a line.
pub fn key_fields(key: &ApiKey) -> String {
    let now = now();
    let optional = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());
    let time = |at: Option<i64>, none: &str| at.map_or_else(|| none.to_owned(), |at| local_time(at, now));
    let mut rows = vec![
        ("ID", key.id.to_string()),
        ("Name", key.name.clone()),
        ("Description", optional(&key.description)),
        ("Status", status(key, now).to_owned()),
        ("Key", short_mask(&key.masked_key)),
        ("User", optional(&key.user_id)),
        ("Customer", optional(&key.customer_id)),
        ("Billing", optional(&key.billing_id)),
        ("Scopes", scopes(&key.scopes)),
        ("Rate limit", key.rate_limit.as_ref().map_or_else(|| "none".to_owned(), rate_limit)),
        ("Credits", key.credits.as_ref().map_or_else(|| "unlimited".to_owned(), credits)),
        ("Expires", time(key.expires_at, "never")),
        ("Last used", time(key.last_used_at, "never")),
        ("Uses", key.usage_count.to_string()),
        ("Created", local_time(key.created_at, now)),
        ("Updated", local_time(key.updated_at, now)),
        ("Revision", key.revision.to_string()),
    ];
    if key.deleted {
        rows.push(("Revoked", time(key.deleted_at, "yes")));
    }
    if !key.metadata.is_empty() {
        rows.push(("Metadata", metadata(&key.metadata)));
    }
    fields(rows)
}

/// A verdict: `VALID` or why not, then the key it names and its limits.
fn verdict_fields(response: &VerifyResponse) -> String {
    let now = now();
    let mut rows = vec![("Verdict", response.code.to_string())];
    if let Some(key) = &response.api_key {
        rows.push(("Key", format!("{} ({})", key.name, key.id)));
        rows.push(("Scopes", scopes(&key.scopes)));
    }
    if let Some(state) = &response.rate_limit {
        rows.push((
            "Rate limit",
            format!("{} of {} left, resets {}", state.remaining, state.limit, relative(state.reset_at, now)),
        ));
    }
    if let Some(state) = &response.credits {
        rows.push(("Credits", format!("{} left", state.remaining)));
    }
    if let Some(warning) = &response.expiry_warning {
        rows.push(("Warning", format!("{} ({})", warning.message, local_time(warning.expires_at, now))));
    }
    fields(rows)
}

/// `kw_7Qk2…`: a masked key without its run of `*`, which a table has no room for.
fn short_mask(masked: &str) -> String {
    format!("{}…", masked.trim_end_matches('*'))
}

/// Metadata as one line of JSON, `{"team":"billing"}`, whose strings keep their control
/// characters for the table to escape as it escapes every value: `\u{1b}` here as in a name,
/// not JSON's `\u001b`, and U+202E (which JSON leaves as it is) escaped too.
fn metadata(metadata: &Map<String, Value>) -> String {
    /// JSON's compact form, but a control character is written as itself.
    struct RawControls;

    impl Formatter for RawControls {
        fn write_char_escape<W: ?Sized + io::Write>(
            &mut self,
            writer: &mut W,
            escape: CharEscape,
        ) -> io::Result<()> {
            let raw = match escape {
                CharEscape::Backspace => 0x08,
                CharEscape::Tab => b'\t',
                CharEscape::LineFeed => b'\n',
                CharEscape::FormFeed => 0x0c,
                CharEscape::CarriageReturn => b'\r',
                CharEscape::AsciiControl(byte) => byte,
                quote_or_solidus => return CompactFormatter.write_char_escape(writer, quote_or_solidus),
            };
            writer.write_all(&[raw])
        }
    }

    let mut json = Vec::new();
    metadata
        .serialize(&mut Serializer::with_formatter(&mut json, RawControls))
        .expect("JSON serializes into memory");
    String::from_utf8(json).expect("JSON of strings is UTF-8")
}

/// `revoked`, `disabled`, `expired` or `enabled`: what a verify would say first of these, in
/// the order the contract documents for a verdict (revoked, disabled, expired).
fn status(key: &ApiKey, now: i64) -> &'static str {
    if key.deleted {
        "revoked"
    } else if key.status == ApiKeyStatus::Disabled {
        "disabled"
    } else if key.expires_at.is_some_and(|at| at <= now) {
        "expired"
    } else {
        "enabled"
    }
}

/// Scopes as the CLI takes them: `invoices:write:inv_1,inv_2 api_keys:read`.
fn scopes(scopes: &[Scope]) -> String {
    if scopes.is_empty() {
        return "none".to_owned();
    }
    scopes
        .iter()
        .map(|scope| {
            let mut text = format!("{}:{}", *scope.resource, scope.access);
            if !scope.targets.is_empty() {
                let targets: Vec<&str> = scope.targets.iter().map(|target| target.as_str()).collect();
                text.push(':');
                text.push_str(&targets.join(","));
            }
            text
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `100/min`, as `--rate-limit` takes it.
fn rate_limit(limit: &RateLimit) -> String {
    format!("{}/{}", limit.limit, window(i64::try_from(limit.window_ms.get()).unwrap_or(i64::MAX)))
}

/// `420 left, back to 1000 every day`.
fn credits(credits: &Credits) -> String {
    match &credits.refill {
        Some(refill) => {
            format!(
                "{} left, back to {} every {}",
                credits.remaining,
                refill.amount,
                window(refill.interval_ms)
            )
        }
        None => format!("{} left", credits.remaining),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::output::table_at;
    use crate::terminal::is_escaped;

    const NOW: i64 = 1_800_000_000_000;

    /// A key as the API would send it, with `fields` over the defaults.
    fn key(fields: Value) -> ApiKey {
        let mut key = json!({
            "id": "0b6f3c52-8a41-4f7e-9c1d-2e5a7b9d4f10",
            "organization_id": "7d2e9a14-3b5c-4e8f-a1d6-9c0b2f4e6a83",
            "name": "billing worker",
            "description": null,
            "prefix": "kw",
            "masked_key": "kw_7Qk2****************************",
            "status": "enabled",
            "scopes": [],
            "metadata": {},
            "user_id": null,
            "customer_id": null,
            "billing_id": null,
            "rate_limit": null,
            "credits": null,
            "expires_at": null,
            "last_used_at": null,
            "usage_count": 0,
            "revision": 1,
            "deleted": false,
            "deleted_at": null,
            "created_at": NOW - 86_400_000,
            "updated_at": NOW - 86_400_000,
            "_links": {"self": {"href": "/v1/api_keys/0b6f3c52-8a41-4f7e-9c1d-2e5a7b9d4f10"}}
        });
        for (name, value) in fields.as_object().expect("fields are an object") {
            key[name] = value.clone();
        }
        serde_json::from_value(key).expect("a key as the API sends one")
    }

    /// Whether `text` holds no control or bidirectional formatting character but its line breaks.
    fn shows_none_raw(text: &str) -> bool {
        text.chars().all(|c| c == '\n' || !is_escaped(c))
    }

    #[test]
    fn a_key_shows_every_control_and_bidi_character_it_holds_escaped() {
        let shown = key_fields(&key(json!({
            "name": "esc\u{1b}[31mred\u{0}",
            "description": "line\r\nover\u{9b}",
            "user_id": "u\u{202e}1",
            "customer_id": "cus\u{7}",
            "billing_id": "bill\u{2066}",
            "metadata": {"note\u{1b}": "a\u{1b}[2Jb\rc\u{202e}d\u{0}", "plain": "café 日本 🔑"}
        })));
        assert!(shows_none_raw(&shown), "{shown:?}");
        let field = |label: &str| {
            shown
                .lines()
                .find_map(|line| line.strip_prefix(label))
                .map(str::trim)
                .unwrap_or_else(|| panic!("no {label} in {shown}"))
                .to_owned()
        };
        assert_eq!(field("Name"), "esc\\u{1b}[31mred\\u{0}");
        assert_eq!(field("Description"), "line\\u{d}\\u{a}over\\u{9b}");
        assert_eq!(field("User"), "u\\u{202e}1");
        assert_eq!(field("Customer"), "cus\\u{7}");
        assert_eq!(field("Billing"), "bill\\u{2066}");
        assert_eq!(
            field("Metadata"),
            r#"{"note\u{1b}":"a\u{1b}[2Jb\u{d}c\u{202e}d\u{0}","plain":"café 日本 🔑"}"#,
            "one form of escape, JSON's own escapes of quotes kept"
        );
    }

    #[test]
    fn metadata_keeps_json_s_quoting_of_quotes_and_backslashes() {
        let quoted: Map<String, Value> =
            serde_json::from_value(json!({"path": "C:\\keys", "say": "\"hi\"", "n": [1, null]})).unwrap();
        assert_eq!(metadata(&quoted), r#"{"path":"C:\\keys","say":"\"hi\"","n":[1,null]}"#);
    }

    #[test]
    fn a_key_list_shows_names_escaped() {
        let shown = key_rows(&[key(json!({"name": "esc\u{1b}[31mred\u{202e}"}))]);
        assert!(shows_none_raw(&shown), "{shown:?}");
        assert!(shown.contains("esc\\u{1b}[31mred\\u{202e}"), "{shown}");
    }

    #[test]
    fn a_verdict_shows_names_escaped() {
        let verdict: VerifyResponse = serde_json::from_value(json!({
            "valid": true,
            "code": "VALID",
            "api_key": serde_json::to_value(key(json!({"name": "v\u{1b}]0;title\u{7}"}))).unwrap(),
            "rate_limit": null,
            "credits": null
        }))
        .expect("a verdict as the API sends one");
        let shown = view_of_verdict(&verdict);
        assert!(shows_none_raw(&shown) && shown.contains("v\\u{1b}]0;title\\u{7}"), "{shown:?}");
    }

    fn view_of_verdict(response: &VerifyResponse) -> String {
        verdict_fields(response)
    }

    /// A page of keys as people name them, each expiring and used at some time.
    #[test]
    fn a_keys_status_is_what_a_verify_would_say_first_in_the_documented_order() {
        let past = NOW - 1;
        let cases = [
            (json!({"deleted": true, "status": "disabled", "expires_at": past}), "revoked"),
            (json!({"status": "disabled", "expires_at": past}), "disabled"),
            (json!({"expires_at": past}), "expired"),
            (json!({"expires_at": NOW + 1}), "enabled"),
        ];
        for (fields, shown) in cases {
            assert_eq!(status(&key(fields.clone()), NOW), shown, "{fields}");
        }
    }

    fn a_page_of_keys() -> Vec<ApiKey> {
        let names = [
            "billing worker (EU) for the nightly invoice run",
            "ci",
            "deploy — staging and production, rotated every month by the platform team",
            "日本のパートナー向けキー",
        ];
        names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                key(json!({
                    "id": format!("0b6f3c52-8a41-4f7e-9c1d-2e5a7b9d4f1{i}"),
                    "name": name,
                    "expires_at": NOW + 3 * 86_400_000,
                    "last_used_at": if i % 2 == 0 { json!(NOW - 7_200_000) } else { json!(null) },
                    "status": if i == 1 { "disabled" } else { "enabled" }
                }))
            })
            .collect()
    }

    fn key_table(keys: &[ApiKey], width: Option<u16>) -> String {
        table_at(width, KEY_COLUMNS, key_cells(keys, NOW))
    }

    /// Every id of `keys` whole on its own row of `shown`, under the header.
    fn ids_are_whole(keys: &[ApiKey], shown: &str) {
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 1 + keys.len(), "a line a key:\n{shown}");
        for (key, line) in keys.iter().zip(&lines[1..]) {
            let id = key.id.to_string();
            assert!(line.starts_with(&id), "{id} is not whole on its line:\n{shown}");
        }
    }

    /// The number of columns `line` takes on a terminal (these are all one column wide but
    /// the CJK ideographs and kana, which take two).
    fn columns(line: &str) -> usize {
        line.chars().map(|c| if ('\u{3000}'..='\u{9fff}').contains(&c) { 2 } else { 1 }).sum()
    }

    /// The table of [`a_page_of_keys`] at `width` columns, once every id in it is whole and
    /// every line fits.
    fn fitted_key_table(width: u16) -> String {
        let keys = a_page_of_keys();
        let shown = key_table(&keys, Some(width));
        ids_are_whole(&keys, &shown);
        for line in shown.lines() {
            assert!(columns(line) <= usize::from(width), "{} columns: {line:?}\n{shown}", columns(line));
        }
        shown
    }

    #[test]
    fn at_80_columns_a_key_table_keeps_every_id_whole_and_fits() {
        let shown = fitted_key_table(80);
        let first = shown.lines().nth(1).unwrap();
        assert!(first.contains("billing…") && first.contains("enabled"), "names are cut, not ids: {shown}");
        assert!(
            first.contains("kw_7Qk2…") && first.contains("2027-01-1"),
            "the expiry's date shows: {shown}"
        );
    }

    #[test]
    fn at_40_columns_ids_stay_whole_and_the_other_columns_are_left_out() {
        fitted_key_table(40);
    }

    #[test]
    fn a_wide_terminal_shows_the_whole_table_as_a_pipe_does() {
        let keys = a_page_of_keys();
        let natural = key_table(&keys, None);
        assert_eq!(key_table(&keys, Some(250)), natural);
        assert!(natural.contains(&format!("{}  ", keys[2].name)), "{natural}");
        assert!(natural.contains("(in 3 days)") && natural.contains("(2 hours ago)"), "{natural}");
    }

    #[test]
    fn a_terminal_that_reports_0_columns_gets_the_table_at_its_natural_width() {
        let keys = a_page_of_keys();
        for width in [Some(0), Some(1), Some(12), None] {
            let shown = key_table(&keys, width);
            ids_are_whole(&keys, &shown);
            assert_eq!(shown, key_table(&keys, None), "{width:?} is no width at all");
        }
    }

    #[test]
    fn every_width_keeps_ids_whole_and_fits_all_but_an_id_alone() {
        let keys = a_page_of_keys();
        for width in 20..=250 {
            let shown = key_table(&keys, Some(width));
            ids_are_whole(&keys, &shown);
            for line in shown.lines() {
                let over = columns(line) > usize::from(width);
                assert!(!over || line.len() == 36, "{width} columns: {line:?}\n{shown}");
            }
        }
    }

    #[test]
    fn a_key_s_fields_keep_its_id_and_labels_whole_at_any_width() {
        let key = key(json!({"description": "what the nightly invoice run of the billing worker uses"}));
        let id = key.id.to_string();
        for width in [Some(0), Some(30), Some(40), Some(80), None] {
            let shown = crate::output::fields_at(
                width,
                [("ID", id.clone()), ("Description", key.description.clone().unwrap())],
            );
            assert!(shown.lines().any(|line| line == format!("ID           {id}")), "{width:?}:\n{shown}");
            assert!(
                shown.lines().nth(1).is_some_and(|line| line.starts_with("Description  what")),
                "{width:?}:\n{shown}"
            );
        }
    }
}
