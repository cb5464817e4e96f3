//! Organizations: the tenants, each with its own keys.

use uuid::Uuid;

use super::Millis;
use super::validation::{Checker, FieldError};

/// A tenant. Every key belongs to exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub created_at: Millis,
}

/// The name of the organization made on first start.
pub const DEFAULT_ORGANIZATION: &str = "default";

impl Organization {
    /// A new organization named `name`, checked.
    pub fn parse_new(name: &str, now: Millis) -> Result<Self, Vec<FieldError>> {
        let mut checker = Checker::default();
        checker.name("name", name);
        checker.finish(Self { id: Uuid::now_v7(), name: name.to_owned(), created_at: now })
    }
}
