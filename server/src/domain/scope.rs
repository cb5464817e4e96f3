//! Scopes: what a key may do to a resource, and whether one set of scopes covers another.
//!
//! A root key stores its role instead of its scopes (a [`Role`]'s marker, a resource no request
//! may name), and every function here that reads what a key holds resolves the role to the scopes
//! this version gives it: a root key holds the scopes of resources added after it was made.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use strum::VariantArray;

/// Resources that Keyward itself guards; granting a scope on one needs holding it.
pub const MANAGEMENT_RESOURCES: [&str; 3] = [API_KEYS, ORGANIZATIONS, VERIFICATIONS];
/// The resource of the API key management operations.
pub const API_KEYS: &str = "api_keys";
/// The resource of organizations; `create` on it makes a key an instance admin.
pub const ORGANIZATIONS: &str = "organizations";
/// The resource of key verification.
pub const VERIFICATIONS: &str = "verifications";

/// The kind of access a scope grants; `write` is all four others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::VariantArray)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Read,
    Create,
    Update,
    Delete,
    Write,
}

impl Access {
    /// Its name, as requests and responses write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Create => "create",
            Access::Update => "update",
            Access::Delete => "delete",
            Access::Write => "write",
        }
    }

    /// The access named `name`, exactly as [`Self::as_str`] writes it.
    pub fn parse(name: &str) -> Option<Access> {
        Access::VARIANTS.iter().copied().find(|access| access.as_str() == name)
    }

    /// Whether holding `self` grants `wanted`.
    pub fn grants(self, wanted: Access) -> bool {
        self == wanted || self == Access::Write
    }
}

/// `{resource, access, targets}`: access to a resource, on the listed targets or all when empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    pub resource: String,
    pub access: Access,
    #[serde(default)]
    pub targets: Vec<String>,
}

impl Scope {
    pub fn new(resource: &str, access: Access) -> Self {
        Self { resource: resource.to_owned(), access, targets: Vec::new() }
    }

    /// Whether this scope grants `access` to `resource` (on `target`, or on all targets).
    pub fn grants(&self, resource: &str, access: Access, target: Option<&str>) -> bool {
        self.resource == resource
            && self.access.grants(access)
            && (self.targets.is_empty() || target.is_some_and(|t| self.targets.iter().any(|held| held == t)))
    }

    /// Whether this scope grants everything `other` does.
    pub fn covers(&self, other: &Scope) -> bool {
        if self.resource != other.resource || !self.access.grants(other.access) {
            return false;
        }
        self.targets.is_empty()
            || (!other.targets.is_empty() && other.targets.iter().all(|t| self.targets.contains(t)))
    }

    /// Whether the resource is one Keyward guards itself.
    pub fn is_management(&self) -> bool {
        MANAGEMENT_RESOURCES.contains(&self.resource.as_str())
    }
}

/// A key that holds a role rather than a list of scopes: an organization's root key, or the
/// first organization's, which also administers the instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Root,
    InstanceAdmin,
}

static ROOT_SCOPES: LazyLock<Vec<Scope>> = LazyLock::new(root_scopes);
static INSTANCE_ADMIN_SCOPES: LazyLock<Vec<Scope>> = LazyLock::new(instance_admin_scopes);

impl Role {
    /// The resource of the role's marker: it starts with `@`, which no resource a request names
    /// may (`Checker::resource`), so no key but one made as root holds it.
    fn resource(self) -> &'static str {
        match self {
            Role::Root => "@root",
            Role::InstanceAdmin => "@instance_admin",
        }
    }

    /// The scope a key of this role stores to say so.
    pub fn marker(self) -> Scope {
        Scope::new(self.resource(), Access::Write)
    }

    /// The scopes a key of this role holds, as this version defines them.
    pub fn scopes(self) -> &'static [Scope] {
        match self {
            Role::Root => &ROOT_SCOPES,
            Role::InstanceAdmin => &INSTANCE_ADMIN_SCOPES,
        }
    }

    /// What a key of this role stores as its scopes: the marker, then the scopes it stands for
    /// today. Those are read by nothing here (the marker wins), but by the store's query for an
    /// organization's other key managers, which looks for `"api_keys"` in the stored text, and by
    /// an older version of Keyward, for which the marker grants nothing.
    pub fn stored(self) -> Vec<Scope> {
        let mut stored = Vec::with_capacity(1 + self.scopes().len());
        stored.push(self.marker());
        stored.extend_from_slice(self.scopes());
        stored
    }

    /// The role `scope` is the marker of, if any.
    fn of(scope: &Scope) -> Option<Role> {
        [Role::Root, Role::InstanceAdmin].into_iter().find(|role| scope.resource == role.resource())
    }
}

/// What a key that stores `stored` holds: its role's scopes if it stores a role's marker, else
/// `stored` itself. Every check of what a key holds, and every view of it, reads this.
pub fn resolved(stored: &[Scope]) -> &[Scope] {
    match stored.iter().find_map(Role::of) {
        Some(role) => role.scopes(),
        None => stored,
    }
}

/// [`resolved`], for a key's scopes about to be shown: `stored` itself unless it holds a role.
pub fn into_resolved(stored: Vec<Scope>) -> Vec<Scope> {
    match stored.iter().find_map(Role::of) {
        Some(role) => role.scopes().to_vec(),
        None => stored,
    }
}

/// Whether a key that stores `held` (resolved) grants `access` to `resource` on all its targets.
pub fn any_grants(held: &[Scope], resource: &str, access: Access) -> bool {
    resolved(held).iter().any(|s| s.grants(resource, access, None))
}

/// The management scopes in `wanted` that no scope a key that stores `held` holds covers.
pub fn ungrantable<'a>(held: &[Scope], wanted: &'a [Scope]) -> Vec<&'a Scope> {
    let held = resolved(held);
    wanted.iter().filter(|w| w.is_management() && !held.iter().any(|h| h.covers(w))).collect()
}

/// Whether a key that stores `held` may read, create, update and delete every key of its
/// organization: what an organization must keep at least one usable key for, or it is locked out.
pub fn can_manage_keys(held: &[Scope]) -> bool {
    [Access::Read, Access::Create, Access::Update, Access::Delete]
        .into_iter()
        .all(|access| any_grants(held, API_KEYS, access))
}

/// The scopes of an organization's root key.
pub fn root_scopes() -> Vec<Scope> {
    vec![
        Scope::new(API_KEYS, Access::Write),
        Scope::new(VERIFICATIONS, Access::Write),
        Scope::new(ORGANIZATIONS, Access::Read),
    ]
}

/// The scopes of the first organization's root key, which also administers the instance.
pub fn instance_admin_scopes() -> Vec<Scope> {
    vec![
        Scope::new(API_KEYS, Access::Write),
        Scope::new(VERIFICATIONS, Access::Write),
        Scope::new(ORGANIZATIONS, Access::Write),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_access_is_named_as_requests_write_it_and_read_back_from_its_name() {
        for &access in Access::VARIANTS {
            assert_eq!(serde_json::to_value(access).unwrap(), access.as_str());
            assert_eq!(Access::parse(access.as_str()), Some(access));
        }
        assert_eq!(Access::parse("Read"), None, "names are lowercase");
    }

    fn scope(resource: &str, access: Access, targets: &[&str]) -> Scope {
        Scope { resource: resource.into(), access, targets: targets.iter().map(|t| t.to_string()).collect() }
    }

    #[test]
    fn write_grants_every_access_and_read_grants_only_read() {
        let write = scope("queues", Access::Write, &[]);
        let read = scope("queues", Access::Read, &[]);
        for access in [Access::Read, Access::Create, Access::Update, Access::Delete] {
            assert!(write.grants("queues", access, None));
        }
        assert!(read.grants("queues", Access::Read, Some("q1")));
        assert!(!read.grants("queues", Access::Delete, None));
        assert!(!read.grants("topics", Access::Read, None));
    }

    #[test]
    fn a_targeted_scope_grants_only_its_targets() {
        let held = scope("queues", Access::Read, &["q1", "q2"]);
        assert!(held.grants("queues", Access::Read, Some("q2")));
        assert!(!held.grants("queues", Access::Read, Some("q3")));
        assert!(!held.grants("queues", Access::Read, None));
        assert!(held.covers(&scope("queues", Access::Read, &["q1"])));
        assert!(!held.covers(&scope("queues", Access::Read, &[])));
    }

    #[test]
    fn only_held_management_scopes_can_be_granted() {
        let held = vec![scope(API_KEYS, Access::Write, &[])];
        let wanted = vec![
            scope(API_KEYS, Access::Read, &[]),
            scope(ORGANIZATIONS, Access::Create, &[]),
            scope("anything", Access::Write, &[]),
        ];
        let refused = ungrantable(&held, &wanted);
        assert_eq!(refused, vec![&wanted[1]]);
    }

    #[test]
    fn managing_keys_takes_every_access_to_all_of_them() {
        assert!(can_manage_keys(&root_scopes()));
        assert!(can_manage_keys(&[
            scope(API_KEYS, Access::Read, &[]),
            scope(API_KEYS, Access::Create, &[]),
            scope(API_KEYS, Access::Update, &[]),
            scope(API_KEYS, Access::Delete, &[]),
        ]));
        assert!(!can_manage_keys(&[scope(API_KEYS, Access::Read, &[])]));
        assert!(!can_manage_keys(&[scope(API_KEYS, Access::Write, &["one"])]));
    }

    #[test]
    fn a_key_that_stores_a_role_holds_the_role_s_scopes_of_this_version() {
        for role in [Role::Root, Role::InstanceAdmin] {
            // As a key made by an older version, whose root keys held fewer scopes, would store it.
            let stored = vec![role.marker(), scope(API_KEYS, Access::Read, &[])];
            assert_eq!(resolved(&stored), role.scopes());
            assert_eq!(resolved(&[role.marker()]), role.scopes());
            assert_eq!(into_resolved(stored.clone()), role.scopes());
            for held in role.scopes() {
                assert!(any_grants(&stored, &held.resource, held.access), "{role:?} holds {held:?}");
                assert!(any_grants(&[role.marker()], &held.resource, held.access), "{role:?} holds {held:?}");
            }
            assert!(ungrantable(&stored, role.scopes()).is_empty(), "{role:?} grants its scopes");
            assert!(can_manage_keys(&[role.marker()]));
            assert!(
                !any_grants(&stored, role.marker().resource.as_str(), Access::Read),
                "a marker is no scope"
            );
            assert_eq!(resolved(&role.stored()), role.scopes());
            assert_eq!(&role.stored()[1..], role.scopes());
        }
        assert_eq!(Role::Root.scopes(), root_scopes());
        assert_eq!(Role::InstanceAdmin.scopes(), instance_admin_scopes());
        let plain = vec![scope("queues", Access::Read, &[])];
        assert_eq!(resolved(&plain), plain.as_slice());
        assert_eq!(into_resolved(plain.clone()), plain);
    }

    #[test]
    fn no_request_can_name_a_role_s_marker() {
        for role in [Role::Root, Role::InstanceAdmin] {
            let mut checker = crate::domain::validation::Checker::default();
            checker.scopes("scopes", &[role.marker()]);
            assert!(checker.finish(()).is_err(), "{role:?}'s marker is refused");
        }
    }

    #[test]
    fn a_root_key_cannot_grant_instance_administration() {
        assert!(!ungrantable(&root_scopes(), &[scope(ORGANIZATIONS, Access::Create, &[])]).is_empty());
        assert!(
            ungrantable(&instance_admin_scopes(), &[scope(ORGANIZATIONS, Access::Create, &[])]).is_empty()
        );
    }
}
