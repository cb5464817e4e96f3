//! The `keyward` command-line client: parses the command line, connects with the SDK and runs one command.

mod args;
mod commands;
mod listing;
mod output;
mod profile;
mod report;
mod terminal;
mod when;

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use keyward::{Client, ResponseValue, types::Problem};

use crate::output::Format;
use crate::profile::Config;
use crate::report::Failure;

/// The server `keyward` talks to when neither a flag, the environment nor a
/// profile names one.
const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// The profile used unless `--profile` or `KEYWARD_PROFILE` names another.
const DEFAULT_PROFILE: &str = "default";

const AFTER_HELP: &str = "\
Settings: a flag wins over its environment variable, which wins over the
profile `keyward login` saved (in $KEYWARD_CONFIG, else
$XDG_CONFIG_HOME/keyward/config.toml, else ~/.config/keyward/config.toml).
https:// URLs are checked against the system's roots (or the file
SSL_CERT_FILE names) and --ca-cert.

Output: tables on a terminal, JSON when piped; --output json|yaml|table.
Tables fit the terminal's width, or COLUMNS; ids are never cut. Control
and bidirectional formatting characters in values show as \\u{1b}.

Reading your own writes: each write (keys create, update, rotate and
delete; org create) prints `consistency token: ct1_…` on stderr, after its
output. Give that token to a later command (--consistency-token or
KEYWARD_CONSISTENCY_TOKEN) and it is answered only once the write is
applied, on whichever instance it reaches, this one or another on the same
database:
  keyward keys update ID --status disabled 2> written
  token=$(sed -n 's/^consistency token: //p' written)
  keyward --url http://other:8080 keys get ID --consistency-token \"$token\"

Exit codes:
  0  success
  1  refused by the server (invalid values, a conflict, a stale --if-match,
     a --consistency-token it did not issue)
  2  usage: a wrong command line (a --consistency-token not of the form
     Keyward's take), or no key
  3  not found
  4  authentication: a missing or wrong key, a missing scope, too many failures
  5  the server failed, is not ready, or cannot be reached
  6  keys verify: the key is not valid";

/// Manage the API keys of a Keyward server.
#[derive(Debug, Parser)]
#[command(name = "keyward", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(flatten)]
    global: Global,

    #[command(subcommand)]
    command: Command,
}

/// The options every command takes: where and how to connect, and how to print.
#[derive(Debug, Args)]
pub struct Global {
    /// The server's base URL [default: the profile's, else http://127.0.0.1:8080]
    #[arg(long, global = true, env = "KEYWARD_URL", value_parser = args::parse_url, help_heading = "Connection")]
    url: Option<String>,

    /// Your Keyward key, sent as `X-API-KEY`; prefer the environment variable or `keyward login`
    #[arg(long, global = true, env = "KEYWARD_KEY", hide_env_values = true, help_heading = "Connection")]
    key: Option<String>,

    /// The profile of the config file to use
    #[arg(long, global = true, env = "KEYWARD_PROFILE", default_value = DEFAULT_PROFILE, help_heading = "Connection")]
    profile: String,

    /// A PEM file of CA certificates to trust beside the system's, for a private CA
    #[arg(long, global = true, env = "KEYWARD_CA_CERT", value_name = "PEM", help_heading = "Connection")]
    ca_cert: Option<PathBuf>,

    /// How long each attempt of a request may take, such as 10s [default: 30s]
    #[arg(long, global = true, env = "KEYWARD_TIMEOUT", value_name = "DURATION", value_parser = args::parse_timeout, help_heading = "Connection")]
    timeout: Option<Duration>,

    /// How many times a request that is safe to repeat is retried [default: 2]
    #[arg(long, global = true, env = "KEYWARD_RETRIES", value_name = "N", help_heading = "Connection")]
    retries: Option<u32>,

    /// A token a write printed (every write prints one on stderr, as `consistency token: …`):
    /// this command is answered only once that write is applied, whichever instance answers it
    #[arg(
        long,
        global = true,
        env = "KEYWARD_CONSISTENCY_TOKEN",
        value_name = "TOKEN",
        help_heading = "Connection"
    )]
    consistency_token: Option<String>,

    /// How to print results [default: table on a terminal, else json]
    #[arg(short, long, global = true, env = "KEYWARD_OUTPUT", value_enum)]
    output: Option<Format>,
}

/// Declares [`Command`], every command of `keyward`, from the command groups: `Variant: module`,
/// each module a file of `commands/` with its arguments (a clap `Command` enum, flattened here,
/// so its commands are `keyward`'s own), its `run` and its views.
macro_rules! groups {
    ($($variant:ident: $module:ident),* $(,)?) => {
        /// Every command of `keyward`, each group's from its file under `commands/`.
        #[derive(Debug, Subcommand)]
        enum Command {
            $(
                #[command(flatten)]
                $variant(commands::$module::Command),
            )*
        }

        impl Command {
            /// Runs the command with the options every command takes.
            async fn run(self, global: &Global) -> Result<(), Failure> {
                match self {
                    $(Self::$variant(command) => commands::$module::run(command, global).await,)*
                }
            }
        }
    };
}

// A new group of commands is one line here (and its file under `commands/`); the order is the
// order of `keyward --help`.
groups! {
    Keys: keys,
    Users: users,
    Org: organizations,
    Login: login,
    System: system,
}

/// Where and how to connect, from flags, the environment and the profile.
#[derive(Debug)]
pub struct Connection {
    pub url: String,
    pub key: Option<String>,
    pub ca_cert: Option<PathBuf>,
    pub profile: String,
    timeout: Option<Duration>,
    retries: Option<u32>,
    consistency_token: Option<String>,
    format: Format,
}

/// A connected client and how to print.
pub struct Context {
    pub client: Client,
    pub url: String,
    pub format: Format,
}

impl Global {
    /// A client for the server, connected as these options and the profile they name say;
    /// `needs_key` makes a missing key a usage error.
    pub fn context(&self, needs_key: bool) -> Result<Context, Failure> {
        Connection::resolve(self, false)?.connect(needs_key)
    }
}

impl Connection {
    /// Reads the profile under the flags and environment variables given; a profile named but
    /// not in the file is a usage error, unless `may_be_new` (`keyward login` makes it).
    fn resolve(global: &Global, may_be_new: bool) -> Result<Connection, Failure> {
        let mut profile = profile::Profile::default();
        if let Ok(path) = profile::path()
            && path.exists()
        {
            if let Some(warning) = profile::exposure(&path) {
                output::write_stderr_line(&warning);
            }
            let mut config = Config::load(&path)?;
            match config.profiles.remove(&global.profile) {
                Some(found) => profile = found,
                None if global.profile != DEFAULT_PROFILE && !may_be_new => {
                    return Err(Failure::Usage(format!(
                        "there is no profile '{}' in {}; run keyward login --profile {}",
                        global.profile,
                        path.display(),
                        global.profile
                    )));
                }
                None => {}
            }
        }
        Ok(Connection {
            url: global.url.clone().or(profile.url).unwrap_or_else(|| DEFAULT_URL.to_owned()),
            key: global.key.clone().filter(|key| !key.trim().is_empty()).or(profile.key),
            ca_cert: global.ca_cert.clone().or(profile.ca_cert),
            profile: global.profile.clone(),
            timeout: global.timeout,
            retries: global.retries,
            consistency_token: global
                .consistency_token
                .as_deref()
                .map(str::trim)
                .filter(|token| !token.is_empty())
                .map(str::to_owned),
            format: Format::choose(global.output),
        })
    }

    /// A client for the server; `needs_key` makes a missing key a usage error.
    fn connect(self, needs_key: bool) -> Result<Context, Failure> {
        let mut builder = Client::builder(&self.url);
        match &self.key {
            Some(key) => builder = builder.key(key),
            None if needs_key => {
                return Err(Failure::Usage(
                    "a key is required: pass --key, set KEYWARD_KEY or run keyward login".to_owned(),
                ));
            }
            None => {}
        }
        if let Some(path) = &self.ca_cert {
            let pem = std::fs::read(path).map_err(|e| {
                Failure::Setup(format!("cannot read the CA certificate {}: {e}", path.display()))
            })?;
            builder = builder.ca_certificate_pem(&pem);
        }
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(retries) = self.retries {
            builder = builder.retries(retries);
        }
        if let Some(token) = &self.consistency_token {
            builder = builder.consistency_token(token);
        }
        let client = builder.build().map_err(|e| Failure::Setup(report::chain(&e)))?;
        Ok(Context { client, url: self.url, format: self.format })
    }
}

impl Context {
    /// Prints `document` in the chosen format, or `table()` for people.
    pub fn print<T: serde::Serialize>(&self, document: &T, table: impl FnOnce() -> String) {
        output::print(self.format, document, table);
    }

    /// Prints what a write answered, as [`Context::print`] does, then on stderr the
    /// consistency token the client now holds (`consistency token: ct1_…`): what a later
    /// command passes as `--consistency-token` to be answered only once the write is applied.
    pub fn print_written<T: serde::Serialize>(&self, document: &T, table: impl FnOnce() -> String) {
        self.print(document, table);
        if let Some(token) = self.client.consistency_token() {
            output::write_stderr_line(&format!("consistency token: {token}"));
        }
    }

    /// Sends a request and takes its answer, or the failure with this
    /// server's URL.
    pub async fn call<T>(
        &self,
        request: impl Future<Output = Result<ResponseValue<T>, keyward::Error<Problem>>>,
    ) -> Result<T, Failure> {
        match request.await {
            Ok(response) => Ok(response.into_inner()),
            Err(e) => Err(Failure::api(e, &self.url).await),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.run(&cli.global).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            output::write_stderr_line(&failure.line());
            ExitCode::from(failure.exit())
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;
    use clap::error::ErrorKind;

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
        let Command::Keys(commands::keys::Command::Keys(command)) = cli.command else {
            panic!("expected keys")
        };
        assert!(matches!(*command, commands::keys::KeysCommand::Create(_)));
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

    #[test]
    fn an_expiry_is_a_time_or_a_duration_not_both() {
        let err = Cli::try_parse_from([
            "keyward",
            "keys",
            "create",
            "--name",
            "n",
            "--expires-at",
            "2027-01-01T00:00:00Z",
            "--expires-in",
            "30d",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
    }
}
