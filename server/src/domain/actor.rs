//! Who made a change: the key a request presented, the operator at the server's command line, or
//! the server itself (the first start's bootstrap). Every change record names one.

use std::fmt;

use uuid::Uuid;

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A request, authenticated by this API key.
    ApiKey(Uuid),
    /// The operator, through one of `keyward-server`'s commands.
    Operator,
    /// The server itself: the first start's organization and root key.
    System,
    /// Not known: a change recorded before change records named their actor.
    Unrecorded,
}

impl Actor {
    /// The actor from its stored form (what `Display` writes).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "operator" => Some(Actor::Operator),
            "system" => Some(Actor::System),
            "unrecorded" => Some(Actor::Unrecorded),
            _ => text.strip_prefix("api_key:").and_then(|id| id.parse().ok()).map(Actor::ApiKey),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::ApiKey(id) => write!(f, "api_key:{id}"),
            Actor::Operator => f.write_str("operator"),
            Actor::System => f.write_str("system"),
            Actor::Unrecorded => f.write_str("unrecorded"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_actor_reads_back_as_it_was_written() {
        for actor in [Actor::ApiKey(Uuid::now_v7()), Actor::Operator, Actor::System, Actor::Unrecorded] {
            assert_eq!(Actor::parse(&actor.to_string()), Some(actor));
        }
        assert_eq!(Actor::parse("api_key:not-a-uuid"), None);
        assert_eq!(Actor::parse("someone"), None);
    }
}
