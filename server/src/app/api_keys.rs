//! API keys: create, view, list, update, revoke and rotate, each write with its change record.

use uuid::Uuid;

use super::{App, AppError, Page, PageRequest, Resource, WRITE_ATTEMPTS, Written};
use crate::domain::Millis;
use crate::domain::actor::Actor;
use crate::domain::api_key::{ApiKey, ApiKeyPatch, KeyStatus, NewApiKey};
use crate::domain::key::{KeyPrefix, Secret};
use crate::store::{ChangeKind, ChangeNote, ListQuery};

/// A key listing's filters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyFilter {
    pub user_id: Option<String>,
    pub customer_id: Option<String>,
    pub status: Option<KeyStatus>,
    /// Revoked keys too (`Some(false)`: said, and not wanted).
    pub include_deleted: Option<bool>,
}

impl KeyFilter {
    /// Every filter that is set, as query parameters, so that a page's link to the next carries
    /// all of them: a filter added here and not named below does not compile.
    pub fn parameters(&self) -> Vec<(&'static str, String)> {
        let KeyFilter { user_id, customer_id, status, include_deleted } = self;
        [
            ("status", status.map(|s| s.as_str().to_owned())),
            ("user_id", user_id.clone()),
            ("customer_id", customer_id.clone()),
            ("include_deleted", include_deleted.map(|b| b.to_string())),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
        .collect()
    }
}

/// The condition an update is made under (`If-Match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Update whatever the revision.
    None,
    /// Update only if the key is at this revision.
    Revision(i64),
    /// The caller's precondition can never hold (a weak or malformed tag).
    Never,
}

impl Precondition {
    fn check(self, key: &ApiKey) -> Result<(), AppError> {
        match self {
            Precondition::None => Ok(()),
            Precondition::Revision(expected) if expected == key.revision => Ok(()),
            Precondition::Revision(_) | Precondition::Never => {
                Err(AppError::RevisionMismatch { current: key.revision })
            }
        }
    }
}

impl App {
    /// Checks and stores a new key of `organization_id`, made by `actor`; its secret is returned
    /// to show once.
    pub async fn api_key_create(
        &self,
        actor: Actor,
        organization_id: Uuid,
        new: NewApiKey,
    ) -> Result<Written<(ApiKey, Secret)>, AppError> {
        let (issued, secret) =
            new.issue(organization_id, self.hasher(), self.now()).map_err(AppError::Invalid)?;
        let app = self.clone();
        self.detached(async move {
            let change = app.store.api_key_insert(&issued, actor).await?;
            app.committed(&change);
            tracing::info!(api_key_id = %issued.api_key.id, "api key created");
            Ok(Written { value: (issued.api_key, secret), seq: change.seq })
        })
        .await
    }

    /// A key of `organization_id`, with the usage held in memory; a revoked one only when
    /// `include_deleted`.
    pub async fn api_key_view(
        &self,
        organization_id: Uuid,
        id: Uuid,
        include_deleted: bool,
    ) -> Result<ApiKey, AppError> {
        let mut key = self.api_key_read(organization_id, id).await?;
        if key.deleted_at.is_some() && !include_deleted {
            return Err(AppError::NotFound(Resource::ApiKey));
        }
        self.verifier.overlay(&mut key);
        Ok(key)
    }

    /// A page of keys of `organization_id`, newest first, with the usage held in memory.
    pub async fn api_key_list(
        &self,
        organization_id: Uuid,
        request: &PageRequest<KeyFilter>,
    ) -> Result<Page<ApiKey>, AppError> {
        let KeyFilter { user_id, customer_id, status, include_deleted } = request.filter.clone();
        let query = ListQuery {
            user_id,
            customer_id,
            status,
            include_deleted: include_deleted.unwrap_or(false),
            before: request.after,
            limit: request.limit.saturating_add(1),
        };
        let mut keys = self.store.api_key_list(organization_id, &query).await?;
        for key in &mut keys {
            self.verifier.overlay(key);
        }
        Ok(Page::of(keys, request.limit, |key| key.id))
    }

    /// Applies `patch` to a key that is not revoked, if `precondition` holds.
    pub async fn api_key_update(
        &self,
        actor: Actor,
        organization_id: Uuid,
        id: Uuid,
        precondition: Precondition,
        patch: ApiKeyPatch,
    ) -> Result<Written<ApiKey>, AppError> {
        let patch = patch.check().map_err(AppError::Invalid)?;
        let note = (ChangeKind::Updated, actor);
        self.write(organization_id, id, note, "api key updated", move |key, now| {
            if key.deleted_at.is_some() {
                return Err(AppError::Revoked);
            }
            precondition.check(key)?;
            Ok(patch.apply(key, now))
        })
        .await
    }

    /// Revokes a key; its secrets stop working on every instance.
    pub async fn api_key_revoke(
        &self,
        actor: Actor,
        organization_id: Uuid,
        id: Uuid,
    ) -> Result<Written<ApiKey>, AppError> {
        self.write(organization_id, id, (ChangeKind::Revoked, actor), "api key revoked", |key, now| {
            if key.deleted_at.is_some() {
                return Err(AppError::NotFound(Resource::ApiKey));
            }
            key.deleted_at = Some(now);
            key.updated_at = now;
            key.revision += 1;
            Ok(true)
        })
        .await
    }

    /// Gives a key a new secret, returned to show once; the older ones keep working for
    /// `grace_ms` at the most.
    pub async fn api_key_rotate(
        &self,
        actor: Actor,
        organization_id: Uuid,
        id: Uuid,
        grace_ms: i64,
    ) -> Result<Written<(ApiKey, Secret)>, AppError> {
        let app = self.clone();
        self.detached(async move {
            for _ in 0..WRITE_ATTEMPTS {
                let mut key = app.api_key_read(organization_id, id).await?;
                if key.deleted_at.is_some() {
                    return Err(AppError::Revoked);
                }
                let before = key.clone();
                let expected = key.revision;
                let secret = Secret::generate(&KeyPrefix::parse(&key.prefix).unwrap_or_default());
                let digest = app.hasher().digest(&secret);
                let now = app.now();
                key.masked_key = secret.masked();
                key.updated_at = now;
                key.revision += 1;
                let mut fields = before.changed_fields(&key);
                fields.push("key");
                let note = ChangeNote::new(ChangeKind::Rotated, actor, &fields);
                if let Some(change) =
                    app.store.api_key_rotate(&key, expected, &digest, now + grace_ms, &note).await?
                {
                    app.committed(&change);
                    tracing::info!(api_key_id = %id, grace_period_ms = grace_ms, "api key rotated");
                    app.verifier.overlay(&mut key);
                    return Ok(Written { value: (key, secret), seq: change.seq });
                }
            }
            Err(AppError::Contention("the key kept changing under concurrent writers"))
        })
        .await
    }

    /// The stored key of `organization_id` (a revoked one too); a missing key is named.
    async fn api_key_read(&self, organization_id: Uuid, id: Uuid) -> Result<ApiKey, AppError> {
        self.store.api_key_get(organization_id, id).await.map_err(AppError::reading(Resource::ApiKey))
    }

    /// Reads the key, lets `change` decide and alter it, and writes it back if no other writer
    /// came in between (else reads again), with a change record of `kind` by `actor` naming the
    /// fields it changed; logs `done`. A change
    /// that says it altered nothing writes nothing: no revision, no change record.
    async fn write(
        &self,
        organization_id: Uuid,
        id: Uuid,
        (kind, actor): (ChangeKind, Actor),
        done: &'static str,
        change: impl Fn(&mut ApiKey, Millis) -> Result<bool, AppError> + Send + 'static,
    ) -> Result<Written<ApiKey>, AppError> {
        let app = self.clone();
        self.detached(async move {
            for _ in 0..WRITE_ATTEMPTS {
                let mut key = app.api_key_read(organization_id, id).await?;
                let before = key.clone();
                let expected = key.revision;
                let now = app.now();
                let was_manager = key.manages_keys_at(now);
                let was_lasting = was_manager && key.expires_at.is_none();
                if !change(&mut key, now)? {
                    // The token of a write that changed nothing: the newest record when it read.
                    let seq = app.store.last_change().await?;
                    app.verifier.overlay(&mut key);
                    return Ok(Written { value: key, seq });
                }
                // A change that takes away a key's lasting power to manage keys (revoking,
                // disabling, narrowing, giving it an expiry) needs another key that never expires
                // with it; one that takes away a power that was to end anyway needs another key
                // that works now.
                let is_manager = key.manages_keys_at(now);
                let keep_manager = if was_lasting && !(is_manager && key.expires_at.is_none()) {
                    Some(Millis::MAX)
                } else if was_manager && !is_manager {
                    Some(now)
                } else {
                    None
                };
                let note = ChangeNote::new(kind, actor, &before.changed_fields(&key));
                if let Some(record) = app.store.api_key_write(&key, expected, &note, keep_manager).await? {
                    app.committed(&record);
                    tracing::info!(api_key_id = %id, revision = key.revision, "{done}");
                    app.verifier.overlay(&mut key);
                    return Ok(Written { value: key, seq: record.seq });
                }
            }
            Err(AppError::Contention("the key kept changing under concurrent writers"))
        })
        .await
    }
}
