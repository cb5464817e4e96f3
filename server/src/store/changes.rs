//! The change records: every write leaves one per entity it changed, in its own transaction
//! (`write.rs`), in the table `changes`, the system's one outbox. Every instance's caches follow
//! them in `seq` order; the audit log and webhooks will read the same records.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::types::Json;
use uuid::Uuid;

use super::backend::{Backend, SqlStore, Statement, Value};
use super::row::split_digests;
use super::{Reachability, StoreError};
use crate::domain::Millis;
use crate::domain::actor::Actor;
use crate::domain::key::KeyDigest;

/// What a change record says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// The entity was stored (a key with its first secret, an organization).
    Created,
    /// Anything of the record changed but a key's secrets (name, status, scopes, limits, expiry…).
    Updated,
    /// The key was revoked.
    Revoked,
    /// The key got a new secret; the older ones stop at the end of their grace.
    Rotated,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Updated => "updated",
            ChangeKind::Revoked => "revoked",
            ChangeKind::Rotated => "rotated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [ChangeKind::Created, ChangeKind::Updated, ChangeKind::Revoked, ChangeKind::Rotated]
            .into_iter()
            .find(|kind| kind.as_str() == s)
    }
}

/// What a change record is about: the kind of entity, and its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    ApiKey(Uuid),
    Organization(Uuid),
}

impl Entity {
    pub fn kind(self) -> &'static str {
        match self {
            Entity::ApiKey(_) => "api_key",
            Entity::Organization(_) => "organization",
        }
    }

    pub fn id(self) -> Uuid {
        match self {
            Entity::ApiKey(id) | Entity::Organization(id) => id,
        }
    }

    pub fn parse(kind: &str, id: Uuid) -> Option<Self> {
        match kind {
            "api_key" => Some(Entity::ApiKey(id)),
            "organization" => Some(Entity::Organization(id)),
            _ => None,
        }
    }
}

/// What a write says of a change it makes, for the change's record: what happened, who did it,
/// and which fields changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeNote {
    pub kind: ChangeKind,
    pub actor: Actor,
    /// The changed fields, by their names in the API; empty for a created entity.
    pub fields: Vec<String>,
}

impl ChangeNote {
    pub fn new(kind: ChangeKind, actor: Actor, fields: &[&str]) -> Self {
        Self { kind, actor, fields: fields.iter().map(|f| (*f).to_owned()).collect() }
    }
}

/// One committed change, recorded in the transaction that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Grows with every change, in commit order.
    pub seq: i64,
    pub organization_id: Uuid,
    pub entity: Entity,
    pub kind: ChangeKind,
    pub actor: Actor,
    /// The changed fields, by their names in the API; empty for a created entity.
    pub fields: Vec<String>,
    /// The key digests the change concerns: a created key's secret; a rotation's new secret
    /// first, then the older ones.
    pub digests: Vec<KeyDigest>,
    pub at: Millis,
}

/// A change record about to be stored (its `seq` comes from the database).
#[derive(Debug, Clone)]
pub struct NewChange {
    pub organization_id: Uuid,
    pub entity: Entity,
    pub note: ChangeNote,
    pub digests: Vec<KeyDigest>,
    pub at: Millis,
}

impl NewChange {
    /// Each column of its row of `changes` beside the value it takes (`seq` is the database's).
    pub(super) fn columns(&self) -> Result<Vec<(&'static str, Value)>, StoreError> {
        let digests: Vec<u8> = self.digests.iter().flat_map(|d| d.0).collect();
        Ok(vec![
            ("organization_id", self.organization_id.into()),
            ("entity", self.entity.kind().into()),
            ("entity_id", self.entity.id().into()),
            ("kind", self.note.kind.as_str().into()),
            ("actor", self.note.actor.to_string().as_str().into()),
            ("fields", Value::json(&self.note.fields)?),
            ("digests", Value::Bytes(digests)),
            ("at", self.at.into()),
        ])
    }

    pub(super) fn stored(self, seq: i64) -> Change {
        Change {
            seq,
            organization_id: self.organization_id,
            entity: self.entity,
            kind: self.note.kind,
            actor: self.note.actor,
            fields: self.note.fields,
            digests: self.digests,
            at: self.at,
        }
    }
}

/// What a store's change signal says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Change records up to at least this `seq` have committed.
    Changed(i64),
    /// The signal was lost (a dropped connection): records may have been missed; subscribe again
    /// and re-read.
    Lost,
}

/// Tells a follower that change records committed; a hint to re-read, never the records.
#[async_trait]
pub trait ChangeSignals: Send {
    async fn next(&mut self) -> Signal;
}

/// The change feed: the records, and the signal that more committed.
#[async_trait]
pub trait ChangeStore: Send + Sync {
    /// The change records after `after`, oldest first, at most `limit`.
    async fn changes_since(&self, after: i64, limit: i64) -> Result<Vec<Change>, StoreError>;
    /// The newest change record's `seq` (0 on a fresh store).
    async fn last_change(&self) -> Result<i64, StoreError>;
    /// A subscription to the signal sent when change records commit.
    async fn change_signals(&self) -> Result<Box<dyn ChangeSignals>, StoreError>;
    /// Whether the database answers, as the feed's follower says: while it does not, every
    /// call but these (`changes_since`, `change_signals`: how the follower finds the database
    /// again) fails at once.
    fn reachability(&self) -> Arc<Reachability>;
}

#[async_trait]
impl<B: Backend> ChangeStore for SqlStore<B> {
    async fn changes_since(&self, after: i64, limit: i64) -> Result<Vec<Change>, StoreError> {
        let query = Statement::new(
            "SELECT seq, organization_id, entity, entity_id, kind, actor, fields, digests, at \
             FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .arg(after)
        .arg(limit);
        // On the feed's own connections: its reads never wait behind the requests'.
        let rows: Vec<ChangeRow> = B::fetch_all(&mut *self.backend.feed().acquire().await?, query).await?;
        rows.into_iter().map(Change::try_from).collect()
    }

    async fn last_change(&self) -> Result<i64, StoreError> {
        let (seq,): (i64,) =
            self.one(Statement::new("SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) FROM changes")).await?;
        Ok(seq)
    }

    async fn change_signals(&self) -> Result<Box<dyn ChangeSignals>, StoreError> {
        self.backend.change_signals().await
    }

    fn reachability(&self) -> Arc<Reachability> {
        self.reachability.clone()
    }
}

/// A row of `changes`.
#[derive(Debug, sqlx::FromRow)]
struct ChangeRow {
    seq: i64,
    organization_id: Uuid,
    entity: String,
    entity_id: Uuid,
    kind: String,
    actor: String,
    fields: Json<Vec<String>>,
    digests: Vec<u8>,
    at: Millis,
}

impl TryFrom<ChangeRow> for Change {
    type Error = StoreError;

    fn try_from(row: ChangeRow) -> Result<Self, StoreError> {
        let corrupt =
            |what: &str, value: &str| StoreError::Corrupt(format!("change {} {what} {value:?}", row.seq));
        Ok(Change {
            seq: row.seq,
            organization_id: row.organization_id,
            entity: Entity::parse(&row.entity, row.entity_id)
                .ok_or_else(|| corrupt("entity", &row.entity))?,
            kind: ChangeKind::parse(&row.kind).ok_or_else(|| corrupt("kind", &row.kind))?,
            actor: Actor::parse(&row.actor).ok_or_else(|| corrupt("actor", &row.actor))?,
            fields: row.fields.0,
            digests: split_digests(&row.digests)?,
            at: row.at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_kinds_round_trip_through_their_names() {
        for kind in [ChangeKind::Created, ChangeKind::Updated, ChangeKind::Revoked, ChangeKind::Rotated] {
            assert_eq!(ChangeKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ChangeKind::parse("other"), None);
    }

    #[test]
    fn entities_round_trip_through_their_kinds() {
        let id = Uuid::now_v7();
        for entity in [Entity::ApiKey(id), Entity::Organization(id)] {
            assert_eq!(Entity::parse(entity.kind(), entity.id()), Some(entity));
        }
        assert_eq!(Entity::parse("webhook", id), None);
    }
}
