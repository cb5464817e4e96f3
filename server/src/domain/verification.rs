//! Verification: the verdict on a presented key, checked in the documented order.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Millis;
use super::api_key::{ApiKey, KeyStatus};
use super::scope::{Access, Scope, resolved};
use super::scope_query::ScopeQuery;

/// Keys expiring within this window get an expiry warning.
pub const EXPIRY_WARNING_MS: Millis = 7 * 24 * 60 * 60 * 1000;

/// The verdict; only `VALID` means the key may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::VariantArray)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerifyCode {
    Valid,
    Malformed,
    NotFound,
    Disabled,
    Expired,
    Revoked,
    RateLimited,
    UsageExceeded,
    InsufficientScope,
}

/// A verification asked for: the key a caller of `organization_id` presents, the scopes it must
/// hold and the scope query it must satisfy, and what the verification costs in credits.
#[derive(Clone, Copy)]
pub struct Presented<'a> {
    pub organization_id: Uuid,
    /// The key as presented: a secret, never printed.
    pub key: &'a str,
    pub wanted: Wanted<'a>,
    pub cost: i64,
}

impl std::fmt::Debug for Presented<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presented")
            .field("organization_id", &self.organization_id)
            .field("key", &"<redacted>")
            .field("wanted", &self.wanted)
            .field("cost", &self.cost)
            .finish()
    }
}

/// The scopes a verification asks for: every check of `scopes`, and `query` if given.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wanted<'a> {
    pub scopes: &'a [ScopeCheck],
    pub query: Option<&'a ScopeQuery>,
}

impl Wanted<'_> {
    /// Whether a key holding `held` (resolved) has all of it.
    pub fn held_by(&self, held: &[Scope]) -> bool {
        self.scopes.iter().all(|check| check.held_by(held)) && self.query.is_none_or(|q| q.holds(held))
    }
}

/// A scope the presented key must hold, on `target` if given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeCheck {
    pub resource: String,
    pub access: Access,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "super::non_null")]
    pub target: Option<String>,
}

impl ScopeCheck {
    /// Whether a scope of `held` (a key's, resolved) grants it.
    pub fn held_by(&self, held: &[Scope]) -> bool {
        held.iter().any(|scope| scope.grants(&self.resource, self.access, self.target.as_deref()))
    }
}

/// Why a key, presented by one of its secrets, cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// The presented secret was rotated away and its grace period is over.
    Rotated,
    Revoked,
    Disabled,
    Expired,
}

impl Unusable {
    /// The verdict a verification gives for it: a rotated-away secret is as good as revoked.
    pub fn code(self) -> VerifyCode {
        match self {
            Unusable::Rotated | Unusable::Revoked => VerifyCode::Revoked,
            Unusable::Disabled => VerifyCode::Disabled,
            Unusable::Expired => VerifyCode::Expired,
        }
    }
}

/// The first check of its record that a key fails at `now`, presented by a secret that stops
/// working at `secret_expires_at` (`None`: its current secret), in the documented order: the
/// secret rotated away, revoked, disabled, expired. The one statement of that order: verification,
/// authentication and the write path's check for a key that can still manage keys all ask it.
pub fn usable(key: &ApiKey, secret_expires_at: Option<Millis>, now: Millis) -> Result<(), Unusable> {
    if secret_expires_at.is_some_and(|at| at <= now) {
        Err(Unusable::Rotated)
    } else if key.deleted_at.is_some() {
        Err(Unusable::Revoked)
    } else if key.status == KeyStatus::Disabled {
        Err(Unusable::Disabled)
    } else if key.expires_at.is_some_and(|at| at <= now) {
        Err(Unusable::Expired)
    } else {
        Ok(())
    }
}

/// The checks that need only the key's record: [`usable`], then the scopes asked for (the
/// listed ones and the query).
pub fn check_key(
    key: &ApiKey,
    secret_expires_at: Option<Millis>,
    wanted: Wanted<'_>,
    now: Millis,
) -> Result<(), VerifyCode> {
    usable(key, secret_expires_at, now).map_err(Unusable::code)?;
    if wanted.held_by(resolved(&key.scopes)) { Ok(()) } else { Err(VerifyCode::InsufficientScope) }
}

/// "the key expires in 1 hour and 30 minutes": the time left until `expires_at`, in the two
/// largest units it spans (days and hours, hours and minutes, or minutes), rounded down.
pub fn expiry_message(expires_at: Millis, now: Millis) -> String {
    const MINUTE: Millis = 60_000;
    const HOUR: Millis = 60 * MINUTE;
    const DAY: Millis = 24 * HOUR;
    fn count(n: Millis, unit: &str) -> String {
        if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") }
    }
    fn two(first: Millis, first_unit: &str, second: Millis, second_unit: &str) -> String {
        if second == 0 {
            count(first, first_unit)
        } else {
            format!("{} and {}", count(first, first_unit), count(second, second_unit))
        }
    }
    let left = (expires_at - now).max(0);
    let when = if left < MINUTE {
        "less than a minute".to_owned()
    } else if left < HOUR {
        count(left / MINUTE, "minute")
    } else if left < DAY {
        two(left / HOUR, "hour", left % HOUR / MINUTE, "minute")
    } else {
        two(left / DAY, "day", left % DAY / HOUR, "hour")
    };
    format!("the key expires in {when}")
}

/// When the key expires, if that is within [`EXPIRY_WARNING_MS`] of `now`.
pub fn expires_soon(key: &ApiKey, now: Millis) -> Option<Millis> {
    key.expires_at.filter(|&at| at > now && at - now <= EXPIRY_WARNING_MS)
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::domain::api_key::NewApiKey;
    use crate::domain::key::KeyHasher;

    fn key_expiring_at(expires_at: Millis) -> ApiKey {
        let new = NewApiKey { name: "ci".into(), expires_at: Some(expires_at), ..Default::default() };
        new.issue(Uuid::now_v7(), &KeyHasher::default(), 1_000).unwrap().0.api_key
    }

    #[test]
    fn a_key_is_unusable_once_revoked_disabled_or_expired() {
        let mut key = key_expiring_at(5_000);
        assert_eq!(usable(&key, None, 4_999), Ok(()));
        assert_eq!(usable(&key, None, 5_000), Err(Unusable::Expired));
        key.status = KeyStatus::Disabled;
        assert_eq!(usable(&key, None, 0), Err(Unusable::Disabled));
        key.deleted_at = Some(2_000);
        assert_eq!(usable(&key, None, 0), Err(Unusable::Revoked));
    }

    #[test]
    fn a_secret_past_its_grace_period_fails_first_and_verifies_as_revoked() {
        let mut key = key_expiring_at(5_000);
        assert_eq!(usable(&key, Some(3_000), 2_999), Ok(()));
        assert_eq!(usable(&key, Some(3_000), 3_000), Err(Unusable::Rotated));
        key.status = KeyStatus::Disabled;
        key.deleted_at = Some(2_000);
        assert_eq!(usable(&key, Some(3_000), 6_000), Err(Unusable::Rotated));
        assert_eq!(check_key(&key, Some(3_000), Wanted::default(), 6_000), Err(VerifyCode::Revoked));
    }

    #[test]
    fn the_verdict_follows_the_documented_order() {
        let mut key = key_expiring_at(5_000);
        let checks = [ScopeCheck { resource: "queues".into(), access: Access::Read, target: None }];
        let wanted = Wanted { scopes: &checks, query: None };
        assert_eq!(check_key(&key, None, Wanted::default(), 4_000), Ok(()));
        assert_eq!(check_key(&key, None, wanted, 4_000), Err(VerifyCode::InsufficientScope));
        assert_eq!(check_key(&key, None, wanted, 5_000), Err(VerifyCode::Expired));
        key.status = KeyStatus::Disabled;
        assert_eq!(check_key(&key, None, wanted, 5_000), Err(VerifyCode::Disabled));
        key.deleted_at = Some(2_000);
        assert_eq!(check_key(&key, None, wanted, 5_000), Err(VerifyCode::Revoked));
    }

    #[test]
    fn a_scope_query_is_part_of_the_scope_check_and_must_hold_beside_the_listed_scopes() {
        let mut key = key_expiring_at(5_000);
        key.scopes = vec![Scope::new("invoices", Access::Read), Scope::new("reports", Access::Write)];
        let either = ScopeQuery::parse("invoices:write OR reports:delete").unwrap();
        let neither = ScopeQuery::parse("invoices:write OR reports:create AND users:read").unwrap();
        let checks = [ScopeCheck { resource: "invoices".into(), access: Access::Read, target: None }];
        let missing = [ScopeCheck { resource: "users".into(), access: Access::Read, target: None }];
        let both = |scopes, query| Wanted { scopes, query: Some(query) };
        assert_eq!(check_key(&key, None, both(&checks, &either), 4_000), Ok(()));
        assert_eq!(check_key(&key, None, both(&[], &neither), 4_000), Err(VerifyCode::InsufficientScope));
        assert_eq!(check_key(&key, None, both(&missing, &either), 4_000), Err(VerifyCode::InsufficientScope));
        assert_eq!(check_key(&key, None, both(&checks, &neither), 5_000), Err(VerifyCode::Expired));
    }

    #[test]
    fn the_expiry_warning_says_the_time_left_in_words() {
        let at = |left: Millis| expiry_message(1_000_000 + left, 1_000_000);
        assert_eq!(at(30_000), "the key expires in less than a minute");
        assert_eq!(at(60_000), "the key expires in 1 minute");
        assert_eq!(at(5 * 60_000 + 59_000), "the key expires in 5 minutes");
        assert_eq!(at(60 * 60_000), "the key expires in 1 hour");
        assert_eq!(at(90 * 60_000), "the key expires in 1 hour and 30 minutes");
        assert_eq!(at(26 * 60 * 60_000), "the key expires in 1 day and 2 hours");
        assert_eq!(at(7 * 24 * 60 * 60_000), "the key expires in 7 days");
    }

    #[test]
    fn a_verification_asked_for_never_prints_the_key_presented() {
        let key = "kw_7Qk2mVx9LrT4bN8cZp1wY6hJ3sD5fG0a0GUhBA";
        let presented = Presented { organization_id: Uuid::nil(), key, wanted: Wanted::default(), cost: 1 };
        let printed = format!("{presented:?}");
        assert!(!printed.contains("7Qk2"), "{printed}");
        assert!(printed.contains("<redacted>"), "{printed}");
    }
}
