//! API keys: the record Keyward keeps, what creating and updating one may change, and when one works.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::Millis;
use super::key::{KeyDigest, KeyHasher, Secret};
use super::limits::{Credits, RateLimit};
use super::scope::{Scope, can_manage_keys, resolved};
use super::validation::{Checker, FieldError};
use super::verification::usable;

/// Whether a key may be used; a revoked key is `deleted`, whatever its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    #[default]
    Enabled,
    Disabled,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Enabled => "enabled",
            KeyStatus::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "enabled" => Some(KeyStatus::Enabled),
            "disabled" => Some(KeyStatus::Disabled),
            _ => None,
        }
    }
}

/// An API key as stored, without its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub user_id: Option<String>,
    pub customer_id: Option<String>,
    pub billing_id: Option<String>,
    pub prefix: String,
    pub masked_key: String,
    pub status: KeyStatus,
    pub scopes: Vec<Scope>,
    pub metadata: Map<String, Value>,
    pub rate_limit: Option<RateLimit>,
    pub credits: Option<Credits>,
    /// When the credits were last set or refilled.
    pub credits_refilled_at: Millis,
    /// Grows whenever the credits are set through the API, so older in-memory balances are dropped.
    pub credits_version: i64,
    pub usage_count: i64,
    pub revision: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub last_used_at: Option<Millis>,
    pub expires_at: Option<Millis>,
    pub deleted_at: Option<Millis>,
}

impl ApiKey {
    /// Whether the key works at `now` and can manage its organization's keys.
    pub fn manages_keys_at(&self, now: Millis) -> bool {
        usable(self, None, now).is_ok() && can_manage_keys(&self.scopes)
    }

    /// The strong entity tag of this revision, quoted as HTTP wants it.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.revision)
    }

    /// The fields, by their names in the API, whose values differ in `after`: what a change
    /// record says a write changed (its revision and times follow from any change).
    pub fn changed_fields(&self, after: &ApiKey) -> Vec<&'static str> {
        let credits_set = |k: &ApiKey| (k.credits, k.credits_refilled_at, k.credits_version);
        [
            ("name", self.name != after.name),
            ("description", self.description != after.description),
            ("status", self.status != after.status),
            ("scopes", self.scopes != after.scopes),
            ("metadata", self.metadata != after.metadata),
            ("rate_limit", self.rate_limit != after.rate_limit),
            ("credits", credits_set(self) != credits_set(after)),
            ("expires_at", self.expires_at != after.expires_at),
            ("masked_key", self.masked_key != after.masked_key),
            ("deleted_at", self.deleted_at != after.deleted_at),
        ]
        .into_iter()
        .filter_map(|(field, changed)| changed.then_some(field))
        .collect()
    }
}

/// A key about to be stored: its record and the digest of its secret.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub api_key: ApiKey,
    pub digest: KeyDigest,
}

/// What a caller asks for when creating a key, not yet checked.
#[derive(Debug, Clone, Default)]
pub struct NewApiKey {
    pub name: String,
    pub description: Option<String>,
    pub user_id: Option<String>,
    pub customer_id: Option<String>,
    pub billing_id: Option<String>,
    pub prefix: Option<String>,
    pub expires_at: Option<Millis>,
    pub scopes: Vec<Scope>,
    pub metadata: Map<String, Value>,
    pub status: KeyStatus,
    pub rate_limit: Option<RateLimit>,
    pub credits: Option<Credits>,
}

impl NewApiKey {
    /// Checks the request and mints the key: its record, its digest, and the secret to show once.
    pub fn issue(
        self,
        organization_id: Uuid,
        hasher: &KeyHasher,
        now: Millis,
    ) -> Result<(IssuedKey, Secret), Vec<FieldError>> {
        self.issue_as(None, organization_id, hasher, now)
    }

    /// Like [`NewApiKey::issue`], but adopts `secret` when given instead of minting one
    /// (an operator's `KEYWARD_ADMIN_KEY`); its own prefix then wins over `prefix`.
    pub fn issue_as(
        self,
        secret: Option<Secret>,
        organization_id: Uuid,
        hasher: &KeyHasher,
        now: Millis,
    ) -> Result<(IssuedKey, Secret), Vec<FieldError>> {
        let mut checker = Checker::default();
        checker.name("name", &self.name);
        checker.description("description", self.description.as_deref());
        checker.label("user_id", self.user_id.as_deref());
        checker.label("customer_id", self.customer_id.as_deref());
        checker.label("billing_id", self.billing_id.as_deref());
        let prefix = checker.prefix("prefix", self.prefix.as_deref());
        checker.time("expires_at", self.expires_at);
        checker.scopes("scopes", &self.scopes);
        checker.metadata("metadata", &self.metadata);
        checker.rate_limit("rate_limit", self.rate_limit.as_ref());
        checker.credits("credits", self.credits.as_ref());
        checker.finish(())?;

        let secret = secret.unwrap_or_else(|| Secret::generate(&prefix));
        let api_key = ApiKey {
            id: Uuid::now_v7(),
            organization_id,
            name: self.name,
            description: self.description,
            user_id: self.user_id,
            customer_id: self.customer_id,
            billing_id: self.billing_id,
            prefix: secret.prefix().to_owned(),
            masked_key: secret.masked(),
            status: self.status,
            scopes: self.scopes,
            metadata: self.metadata,
            rate_limit: self.rate_limit,
            credits: self.credits,
            credits_refilled_at: now,
            credits_version: 0,
            usage_count: 0,
            revision: 1,
            created_at: now,
            updated_at: now,
            last_used_at: None,
            expires_at: self.expires_at,
            deleted_at: None,
        };
        let digest = hasher.digest(&secret);
        Ok((IssuedKey { api_key, digest }, secret))
    }
}

/// A partial update: `None` keeps a field, `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiKeyPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub status: Option<KeyStatus>,
    pub scopes: Option<Vec<Scope>>,
    pub expires_at: Option<Option<Millis>>,
    pub metadata: Option<Map<String, Value>>,
    pub rate_limit: Option<Option<RateLimit>>,
    pub credits: Option<Option<Credits>>,
}

impl ApiKeyPatch {
    /// Checks every field the patch sets.
    pub fn check(self) -> Result<Self, Vec<FieldError>> {
        let mut checker = Checker::default();
        if let Some(name) = &self.name {
            checker.name("name", name);
        }
        checker.description("description", self.description.as_ref().and_then(|d| d.as_deref()));
        checker.time("expires_at", self.expires_at.flatten());
        if let Some(scopes) = &self.scopes {
            checker.scopes("scopes", scopes);
        }
        if let Some(metadata) = &self.metadata {
            checker.metadata("metadata", metadata);
        }
        checker.rate_limit("rate_limit", self.rate_limit.flatten().as_ref());
        checker.credits("credits", self.credits.flatten().as_ref());
        checker.finish(self)
    }

    /// Applies the patch to `key` at `now`, bumping its revision, and says whether anything
    /// changed: a patch that sets every field to what it holds leaves the key as it was.
    /// Setting credits always changes them: it starts a new budget, whatever was spent.
    pub fn apply(&self, key: &mut ApiKey, now: Millis) -> bool {
        let mut changed = replace(&mut key.name, self.name.as_ref());
        changed |= replace(&mut key.description, self.description.as_ref());
        changed |= replace(&mut key.status, self.status.as_ref());
        // Scopes are compared as the key holds them: setting a root key's own scopes keeps its role.
        if let Some(scopes) = &self.scopes
            && resolved(&key.scopes) != scopes.as_slice()
        {
            changed = true;
            key.scopes.clone_from(scopes);
        }
        changed |= replace(&mut key.expires_at, self.expires_at.as_ref());
        changed |= replace(&mut key.metadata, self.metadata.as_ref());
        changed |= replace(&mut key.rate_limit, self.rate_limit.as_ref());
        if let Some(credits) = self.credits
            && (credits.is_some() || key.credits.is_some())
        {
            changed = true;
            key.credits = credits;
            key.credits_refilled_at = now;
            key.credits_version += 1;
        }
        if changed {
            key.revision += 1;
            key.updated_at = now;
        }
        changed
    }
}

/// Puts `new`, when a patch sets it, in `field`, and says whether that changed the field.
fn replace<T: PartialEq + Clone>(field: &mut T, new: Option<&T>) -> bool {
    match new {
        Some(new) if field != new => {
            field.clone_from(new);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(new: NewApiKey) -> Result<(IssuedKey, Secret), Vec<FieldError>> {
        new.issue(Uuid::now_v7(), &KeyHasher::default(), 1_000)
    }

    #[test]
    fn an_issued_key_stores_the_digest_and_mask_but_not_the_secret() {
        let (issued, secret) = issue(NewApiKey { name: "ci".into(), ..Default::default() }).unwrap();
        assert_eq!(issued.digest, KeyHasher::default().digest(&secret));
        assert_eq!(issued.api_key.prefix, "kw");
        assert_eq!(issued.api_key.masked_key, secret.masked());
        assert!(!format!("{:?}", issued).contains(secret.expose()));
    }

    #[test]
    fn a_patch_changes_only_what_it_sets_and_bumps_the_revision() {
        let (issued, _) =
            issue(NewApiKey { name: "ci".into(), description: Some("old".into()), ..Default::default() })
                .unwrap();
        let mut key = issued.api_key;
        let patch = ApiKeyPatch { description: Some(None), ..Default::default() }.check().unwrap();
        assert!(patch.apply(&mut key, 9_000));
        assert_eq!(key.name, "ci");
        assert_eq!(key.description, None);
        assert_eq!(key.revision, 2);
        assert_eq!(key.updated_at, 9_000);
    }

    #[test]
    fn a_patch_that_sets_what_the_key_holds_changes_nothing() {
        let (issued, _) =
            issue(NewApiKey { name: "ci".into(), description: Some("d".into()), ..Default::default() })
                .unwrap();
        let mut key = issued.api_key;
        let before = key.clone();
        let same = ApiKeyPatch {
            name: Some("ci".into()),
            description: Some(Some("d".into())),
            status: Some(KeyStatus::Enabled),
            rate_limit: Some(None),
            credits: Some(None),
            ..Default::default()
        };
        assert!(!same.apply(&mut key, 9_000));
        assert!(!ApiKeyPatch::default().apply(&mut key, 9_000));
        assert_eq!(key, before, "neither the revision nor the update time moved");
    }

    #[test]
    fn a_patch_that_sets_a_root_key_s_own_scopes_keeps_its_role() {
        use crate::domain::scope::{Access, Role};
        let (issued, _) = issue(NewApiKey { name: "root".into(), ..Default::default() }).unwrap();
        let mut key = issued.api_key;
        key.scopes = Role::Root.stored();
        let same = ApiKeyPatch { scopes: Some(Role::Root.scopes().to_vec()), ..Default::default() };
        assert!(!same.apply(&mut key, 9_000), "the scopes it holds are the scopes it is shown with");
        assert_eq!(key.scopes, Role::Root.stored());
        let queues = vec![Scope::new("queues", Access::Read)];
        let other = ApiKeyPatch { scopes: Some(queues.clone()), ..Default::default() };
        assert!(other.apply(&mut key, 9_000));
        assert_eq!(key.scopes, queues, "other scopes replace the role");
    }

    #[test]
    fn an_invalid_request_names_each_bad_field() {
        let errors = issue(NewApiKey {
            name: String::new(),
            prefix: Some("Bad".into()),
            expires_at: Some(-1),
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "prefix", "expires_at"]);
    }
}
