//! Whom a rate limit and a credit balance belong to: the state every verification of the
//! owner's keys shares.

use uuid::Uuid;

use super::api_key::ApiKey;

/// The owner of a limit's window and a credit balance. Today each key owns its own; identities
/// will own the limits their keys share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    ApiKey(Uuid),
}

impl Owner {
    /// The owner of the limits `key` is verified against.
    pub fn of(key: &ApiKey) -> Self {
        Owner::ApiKey(key.id)
    }
}
