//! `keyward login` and `keyward logout`: check a server URL and key, and keep them in a profile of the config file.

use clap::{Args, Subcommand};
use reqwest::StatusCode;

use crate::args;
use crate::output;
use crate::profile::{self, Config, Profile};
use crate::report::Failure;
use crate::terminal;
use crate::{Connection, Global};

/// The commands of this group: `keyward login` and `logout`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a URL and key and save them as a profile (the file only its owner may read)
    Login(LoginArgs),
    /// Remove a profile from the config file
    Logout,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Read the key from stdin instead of --key or KEYWARD_KEY
    #[arg(long, conflicts_with = "key")]
    key_stdin: bool,
}

pub async fn run(command: Command, global: &Global) -> Result<(), Failure> {
    match command {
        // The profile named may be new: login makes it.
        Command::Login(args) => login(Connection::resolve(global, true)?, args).await,
        // Logout needs no connection: the profile it removes is all it reads.
        Command::Logout => logout(&global.profile),
    }
}

/// Checks the key by reading its organization, then saves the URL, the key
/// and the CA certificate as the profile.
async fn login(connection: Connection, args: LoginArgs) -> Result<(), Failure> {
    let path = profile::path()?;
    let mut config = Config::load(&path)?;
    let mut connection = connection;
    if args.key_stdin {
        connection.key = Some(args::read_stdin_line("key").map_err(Failure::Usage)?);
    }
    let Some(key) = connection.key.clone() else {
        return Err(Failure::Usage(
            "login needs a key: pass --key, --key-stdin or set KEYWARD_KEY".to_owned(),
        ));
    };
    let ca_cert = connection.ca_cert.as_ref().map(|path| std::path::absolute(path).unwrap_or(path.clone()));
    let profile_name = connection.profile.clone();
    let url = connection.url.clone();
    let context = connection.connect(true)?;
    let organization = match context.call(context.client.organization_view().send()).await {
        Ok(organization) => Some(organization),
        // A key without `organizations:read` still signs in; it just cannot say whose it is.
        Err(Failure::Api { error, .. }) if error.status() == Some(StatusCode::FORBIDDEN) => None,
        Err(failure) => return Err(failure),
    };
    config.profiles.insert(profile_name.clone(), Profile { url: Some(url.clone()), key: Some(key), ca_cert });
    config.save(&path)?;
    let whose = organization.as_ref().map_or_else(
        || "a key that may not read its organization".to_owned(),
        |organization| format!("organization {} ({})", terminal::escape(&organization.name), organization.id),
    );
    let message = format!(
        "Logged in to {url} with {whose}.\nSaved as profile '{profile_name}' in {}.\n",
        path.display()
    );
    context.print(&serde_json::json!({"profile": profile_name, "url": url, "config": path, "organization": organization}), || message);
    Ok(())
}

/// Removes the profile from the config file.
fn logout(profile_name: &str) -> Result<(), Failure> {
    let path = profile::path()?;
    let mut config = Config::load(&path)?;
    if config.profiles.remove(profile_name).is_none() {
        return Err(Failure::Usage(format!("there is no profile '{profile_name}' in {}", path.display())));
    }
    config.save(&path)?;
    output::write_stderr_line(&format!("Removed profile '{profile_name}' from {}.", path.display()));
    Ok(())
}
