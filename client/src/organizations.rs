//! `keyward org …`: show the caller's organization, or create one with its root key.

use clap::Subcommand;
use keyward::types;

use crate::Context;
use crate::output::secret_block;
use crate::report::Failure;
use crate::view;

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

pub async fn run(context: &Context, command: OrgCommand) -> Result<(), Failure> {
    let client = &context.client;
    match command {
        OrgCommand::Get => {
            let organization = context.call(client.organization_view().send()).await?;
            context.print(&organization, || view::organization(&organization));
        }
        OrgCommand::Create { name } => {
            let body = types::OrganizationCreate { name };
            let created = context.call(client.organization_create().body(body).send()).await?;
            context.print_written(&created, || {
                view::organization(&created.organization)
                    + &secret_block("The organization's root key", &created.key)
            });
        }
    }
    Ok(())
}
