//! `keyward org …`: show the caller's organization, or create one with its root key; and how an organization reads as a table.

use clap::Subcommand;
use keyward::types::{self, Organization};

use crate::Global;
use crate::output::{fields, secret_block};
use crate::report::Failure;
use crate::when::{local_time, now};

/// The commands of this group: `keyward org …`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Your organization, or a new one
    #[command(subcommand, visible_alias = "organization")]
    Org(OrgCommand),
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Show the organization your key belongs to
    Get,
    /// Create an organization and print its root key, shown this once
    /// (needs an instance-admin key)
    Create {
        /// The organization's name
        #[arg(long)]
        name: types::OrganizationCreateName,
    },
}

pub async fn run(command: Command, global: &Global) -> Result<(), Failure> {
    let Command::Org(command) = command;
    let context = &global.context(true)?;
    let client = &context.client;
    match command {
        OrgCommand::Get => {
            let organization = context.call(client.organization_view().send()).await?;
            context.print(&organization, || organization_fields(&organization));
        }
        OrgCommand::Create { name } => {
            let body = types::OrganizationCreate { name };
            let created = context.call(client.organization_create().body(body).send()).await?;
            context.print_written(&created, || {
                organization_fields(&created.organization)
                    + &secret_block("The organization's root key", &created.key)
            });
        }
    }
    Ok(())
}

/// An organization, a field a line.
fn organization_fields(organization: &Organization) -> String {
    fields([
        ("ID", organization.id.to_string()),
        ("Name", organization.name.clone()),
        ("Created", local_time(organization.created_at, now())),
    ])
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::terminal::is_escaped;

    const NOW: i64 = 1_800_000_000_000;

    /// Whether `text` holds no control or bidirectional formatting character but its line breaks.
    fn shows_none_raw(text: &str) -> bool {
        text.chars().all(|c| c == '\n' || !is_escaped(c))
    }

    #[test]
    fn an_organization_shows_its_name_escaped() {
        let organization: Organization = serde_json::from_value(json!({
            "id": "7d2e9a14-3b5c-4e8f-a1d6-9c0b2f4e6a83",
            "name": "acme\u{202e}\r",
            "created_at": NOW,
            "_links": {"self": {"href": "/v1/organizations/7d2e9a14-3b5c-4e8f-a1d6-9c0b2f4e6a83"}}
        }))
        .expect("an organization as the API sends one");
        let shown = super::organization_fields(&organization);
        assert!(shows_none_raw(&shown) && shown.contains("acme\\u{202e}\\u{d}"), "{shown:?}");
    }
}
