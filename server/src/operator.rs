//! The operator's commands of the `keyward-server` binary: list the organizations, mint a root key.

use std::sync::Arc;

use uuid::Uuid;

use crate::app::{App, AppError, Resource};
use crate::config::{Command, Config};
use crate::domain::clock::SystemClock;
use crate::startup::open_store;
use crate::verifier::Verifier;

/// Runs `command` and returns what it prints.
pub async fn run(config: &Config, command: &Command) -> anyhow::Result<String> {
    match command {
        Command::Organizations => organizations(config).await,
        Command::RootKey { organization } => root_key(config, *organization).await,
    }
}

/// The application over the configured store, with the server's pepper checked, to run one
/// command through the same write path as the API.
async fn open(config: &Config) -> anyhow::Result<App> {
    let (store, hasher) = open_store(config).await?;
    let verifier = Verifier::load(store.clone(), hasher, config.cache_max_age_ms).await?;
    Ok(App::new(store, Arc::new(verifier), Arc::new(SystemClock)))
}

/// `keyward-server organizations`: a header, then one line an organization (id, creation time in
/// epoch milliseconds, name), oldest first.
pub async fn organizations(config: &Config) -> anyhow::Result<String> {
    let app = open(config).await?;
    let mut out = String::from("ID\tCREATED_AT_MS\tNAME\n");
    for organization in app.organization_list().await? {
        let created = organization.created_at;
        out.push_str(&format!("{}\t{created}\t{}\n", organization.id, organization.name.escape_debug()));
    }
    Ok(out)
}

/// `keyward-server root-key --organization ID`: a new root key, to print once.
pub async fn root_key(config: &Config, organization: Uuid) -> anyhow::Result<String> {
    let app = open(config).await?;
    let (organization, key, secret) = app.root_key_create(organization).await.map_err(|e| match e {
        AppError::NotFound(Resource::Organization) => anyhow::anyhow!(
            "no organization has the id {organization} (`keyward-server organizations` lists them)"
        ),
        other => anyhow::Error::from(other),
    })?;
    Ok(format!(
        "root key of the organization {} ({}), key id {}: {}\n(shown once: store it now; Keyward keeps only its digest)\n",
        organization.name.escape_debug(),
        organization.id,
        key.id,
        secret.expose()
    ))
}
