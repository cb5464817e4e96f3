//! `keyward users keys …`: the API keys issued to one of your users, listed and shown as `keys` shows them.

use clap::Subcommand;

use crate::Global;
use crate::commands::keys::{GetArgs, ListFilters, filtered_pages, key_fields, key_rows};
use crate::listing;
use crate::report::Failure;

/// The commands of this group: `keyward users …`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The API keys of one of your users
    #[command(subcommand)]
    Users(UsersCommand),
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

pub async fn run(command: Command, global: &Global) -> Result<(), Failure> {
    let Command::Users(UsersCommand::Keys(command)) = command;
    let context = &global.context(true)?;
    let client = &context.client;
    match command {
        UserKeysCommand::List { user_id, filters } => {
            let request = client.user_api_key_list().user_id(user_id);
            listing::print(context, filtered_pages!(request, filters), filters.all, "keys", key_rows).await?;
        }
        UserKeysCommand::Get { user_id, key } => {
            let request = client
                .user_api_key_view()
                .user_id(user_id)
                .api_key_id(key.id)
                .include_deleted(key.include_deleted);
            let key = context.call(request.send()).await?;
            context.print(&key, || key_fields(&key));
        }
    }
    Ok(())
}
