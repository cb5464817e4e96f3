//! The verifier: finds the key behind a presented secret through caches that every write
//! invalidates, and gives the verdict with rate limits, credits and usage kept in memory.
//!
//! One cache lookup a secret: the cache maps a secret's digest to its key's record, the key's
//! in-memory uses, its owner's budget (rate limiter and credit lease) and the generation of every
//! entity the record was built from when it was loaded.
//!
//! Consistency: the cache follows the store's change records (`crate::feed`), never a handler.
//! Applying a record bumps, under the `gate`, `epoch` and its entity's generation, which makes
//! every cached record built from the entity stale whichever secret it is cached under. A cache
//! miss reads `epoch` before it reads the store and fills the cache only if `epoch` is unchanged,
//! under the same gate, with the generations read there; so a read that raced a change can never
//! put the old state back once the change's record is applied.
//!
//! Two more lines of defence: while the feed is not live (its connection was lost, or it is
//! re-reading what it missed) neither the cache nor the set of known digests is used, every
//! lookup goes to the store; and
//! a cached record older than `max_age_ms` is read again, so a fault in the feed can never make a
//! revocation permanent.
//!
//! Floods of unknown keys: every stored secret's digest is also held as a 64-bit prefix in `known`
//! (loaded at start, added to on every create and rotation, 8 bytes a secret). A well-formed key
//! whose prefix is not there is `NOT_FOUND` without touching the store, so an attacker cycling
//! through fresh keys costs what a malformed key costs.

mod budget;
mod runtime;

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use dashmap::DashSet;

use crate::domain::Millis;
use crate::domain::api_key::ApiKey;
use crate::domain::key::{KeyDigest, KeyHasher, Secret};
use crate::domain::limits::RateLimitState;
use crate::domain::owner::Owner;
use crate::domain::verification::{Presented, VerifyCode, check_key, expires_soon};
use crate::store::{Change, ChangeKind, Entity, StoreError, VerifierStore};
use budget::Budget;
pub use budget::{LEASE_IDLE_MS, RateLimitCheck};
pub use runtime::KeyUsage;
use runtime::{Generation, KeyUse, Runtimes};

/// The most secrets whose keys are remembered.
const CACHE_CAPACITY: u64 = 250_000;
/// How long a cached record is trusted before it is read again, when not configured: the
/// backstop behind the change feed.
pub const DEFAULT_MAX_AGE_MS: i64 = 60_000;

/// The hasher of the in-memory maps: their keys are digests and ids, so a fast keyed hash will do.
pub(crate) type FastHash = foldhash::fast::RandomState;

/// Where a secret's digest leads, as the cache holds it: the key as loaded when each entity it
/// was built from was at the generation beside it.
#[derive(Debug)]
struct Found {
    key: Arc<CachedKey>,
    secret_expires_at: Option<Millis>,
    uses: Arc<KeyUse>,
    budget: Arc<Budget>,
    generations: Vec<(Arc<Generation>, u64)>,
    /// When the record was read from the store.
    loaded_at: Millis,
    /// How many of the key's uses this instance had written to the store by then: the record's
    /// `usage_count` holds those, and the verdict adds the ones written since.
    flushed_at_load: i64,
}

/// A key record as the caches hold it, with the static parts of its JSON rendering, written
/// once by the API layer on first use. A cached record is replaced, never changed, so the
/// rendering is dropped with it whenever a write invalidates the key.
#[derive(Debug)]
pub struct CachedKey {
    key: ApiKey,
    rendering: OnceLock<[Box<str>; 3]>,
}

impl CachedKey {
    fn new(key: ApiKey) -> Self {
        Self { key, rendering: OnceLock::new() }
    }

    /// The rendering of this record, made by `render` the first time it succeeds.
    pub fn rendering<E>(
        &self,
        render: impl FnOnce(&ApiKey) -> Result<[Box<str>; 3], E>,
    ) -> Result<&[Box<str>; 3], E> {
        if let Some(rendering) = self.rendering.get() {
            return Ok(rendering);
        }
        let rendering = render(&self.key)?;
        Ok(self.rendering.get_or_init(|| rendering))
    }
}

impl Deref for CachedKey {
    type Target = ApiKey;

    fn deref(&self) -> &ApiKey {
        &self.key
    }
}

/// A key found by its secret, and when that secret stops working (after a rotation).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub key: Arc<CachedKey>,
    pub secret_expires_at: Option<Millis>,
    uses: Arc<KeyUse>,
    budget: Arc<Budget>,
    flushed_at_load: i64,
}

/// The outcome of verifying a presented key.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub code: VerifyCode,
    /// The key, once found in the caller's organization.
    pub key: Option<Arc<CachedKey>>,
    pub rate_limit: Option<RateLimitState>,
    pub credits_remaining: Option<i64>,
    /// When the key expires, if within the warning window and the key has not already stopped
    /// working (revoked or expired).
    pub expires_soon: Option<Millis>,
    /// When the presented secret stops working, if a rotation replaced it and its grace period
    /// is still running.
    pub grace_ends_at: Option<Millis>,
    /// The key's usage and credits with what is held in memory, once the key is found.
    pub usage: Option<KeyUsage>,
}

impl Found {
    /// Whether no change came to any entity it was built from since it was loaded, and it is
    /// younger than `max_age_ms`.
    fn is_current(&self, now: Millis, max_age_ms: i64) -> bool {
        now - self.loaded_at < max_age_ms
            && self.generations.iter().all(|(generation, at)| generation.get() == *at)
    }

    fn resolved(&self) -> Resolved {
        Resolved {
            key: self.key.clone(),
            secret_expires_at: self.secret_expires_at,
            uses: self.uses.clone(),
            budget: self.budget.clone(),
            flushed_at_load: self.flushed_at_load,
        }
    }
}

impl Verdict {
    fn bare(code: VerifyCode) -> Self {
        Self {
            code,
            key: None,
            rate_limit: None,
            credits_remaining: None,
            expires_soon: None,
            grace_ends_at: None,
            usage: None,
        }
    }
}

/// Key lookups for authentication and verification.
pub struct Verifier {
    store: Arc<dyn VerifierStore>,
    hasher: KeyHasher,
    known: DashSet<u64, FastHash>,
    found: moka::sync::Cache<[u8; 32], Arc<Found>, FastHash>,
    epoch: AtomicU64,
    gate: Mutex<()>,
    runtimes: Runtimes,
    /// Whether the change feed is followed: while it is not, the cache is bypassed.
    live: AtomicBool,
    /// The `seq` of the last change record applied in order (by the feed's follower), for
    /// requests that wait to see a change (their consistency token).
    applied: tokio::sync::watch::Sender<i64>,
    max_age_ms: i64,
}

impl Verifier {
    /// A verifier over `store`, knowing every stored secret's digest prefix, with the `seq` of the
    /// last change record that knowledge includes as applied: the feed follows on from there.
    pub async fn load(
        store: Arc<dyn VerifierStore>,
        hasher: KeyHasher,
        max_age_ms: i64,
    ) -> Result<Self, StoreError> {
        // The feed's starting point is read before the digests: a change in between is applied
        // again, which is harmless, and none is missed.
        let seq = store.last_change().await?;
        let known = DashSet::with_hasher(FastHash::default());
        for digest in store.secret_digests().await? {
            known.insert(prefix(&digest));
        }
        let verifier = Self {
            store,
            hasher,
            known,
            found: moka::sync::Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .build_with_hasher(FastHash::default()),
            epoch: AtomicU64::new(0),
            gate: Mutex::new(()),
            runtimes: Runtimes::default(),
            live: AtomicBool::new(false),
            applied: tokio::sync::watch::Sender::new(seq),
            max_age_ms,
        };
        Ok(verifier)
    }

    pub fn hasher(&self) -> &KeyHasher {
        &self.hasher
    }

    /// The key behind `secret` at `now`, in any organization: from the cache, else the store.
    pub async fn resolve(&self, secret: &Secret, now: Millis) -> Result<Option<Resolved>, StoreError> {
        let digest = self.hasher.digest(secret);
        Ok(self.find(&digest, now).await?.map(|found| found.resolved()))
    }

    /// The cache's entry for `digest`, loading it from the store on a miss.
    async fn find(&self, digest: &KeyDigest, now: Millis) -> Result<Option<Arc<Found>>, StoreError> {
        // Read before the cache: a feed that goes down after this is caught by `epoch` below.
        let epoch = self.epoch.load(Ordering::Acquire);
        let live = self.live.load(Ordering::Acquire);
        // While the feed is not followed, `known` may lack keys created elsewhere: ask the store.
        if live && !self.known.contains(&prefix(digest)) {
            return Ok(None);
        }
        if live
            && let Some(found) = self.found.get(&digest.0)
            && found.is_current(now, self.max_age_ms)
        {
            return Ok(Some(found));
        }
        let row = self.store.api_key_by_digest(digest).await?.filter(|f| f.digest.matches(&digest.0));
        let Some(row) = row else {
            return Ok(None);
        };
        let entities = row.entities();
        let key = Arc::new(CachedKey::new(row.api_key));
        let uses = self.runtimes.key(key.id);
        let budget = self.runtimes.budget(Owner::of(&key));
        let flushed_at_load = uses.flushed();
        let generations: Vec<_> =
            entities.into_iter().map(|entity| self.runtimes.generation(entity)).collect();
        // The generations are read under the gate, where writes bump them, and the record is
        // cached only if no write came since `epoch` was read before the store.
        let _gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        let generations = generations.into_iter().map(|generation| {
            let at = generation.get();
            (generation, at)
        });
        let found = Arc::new(Found {
            key,
            secret_expires_at: row.secret_expires_at,
            uses,
            budget,
            generations: generations.collect(),
            loaded_at: now,
            flushed_at_load,
        });
        if live && self.epoch.load(Ordering::Acquire) == epoch {
            self.found.insert(digest.0, found.clone());
        }
        Ok(Some(found))
    }

    /// Verifies the key `presented` at `now`, in the documented order.
    pub async fn verify(&self, presented: &Presented<'_>, now: Millis) -> Result<Verdict, StoreError> {
        let Ok(secret) = Secret::parse(presented.key) else {
            return Ok(Verdict::bare(VerifyCode::Malformed));
        };
        let Some(found) = self.resolve(&secret, now).await? else {
            return Ok(Verdict::bare(VerifyCode::NotFound));
        };
        let key = found.key.clone();
        if key.organization_id != presented.organization_id {
            return Ok(Verdict::bare(VerifyCode::NotFound));
        }
        self.runtimes.touch(&found.uses, key.id, now);
        let mut verdict = Verdict {
            code: VerifyCode::Valid,
            key: Some(key.clone()),
            rate_limit: None,
            credits_remaining: None,
            expires_soon: None,
            grace_ends_at: None,
            usage: None,
        };
        self.judge(&mut verdict, &found, presented, now).await?;
        // A key that stopped working gets no warning that it will.
        if !matches!(verdict.code, VerifyCode::Revoked | VerifyCode::Expired) {
            verdict.expires_soon = expires_soon(&key, now);
            verdict.grace_ends_at = found.secret_expires_at.filter(|&at| at > now);
        }
        let usage = KeyUsage::of(&key, Some(&found.uses), found.flushed_at_load, Some(&found.budget));
        verdict.usage = Some(usage);
        Ok(verdict)
    }

    /// The checks after the key is found, in the documented order: the record's (`check_key`: the
    /// domain's `usable`, then the scopes, listed and queried), then the rate limit, then the
    /// credits, both of the key's owner (its `budget`).
    async fn judge(
        &self,
        verdict: &mut Verdict,
        found: &Resolved,
        presented: &Presented<'_>,
        now: Millis,
    ) -> Result<(), StoreError> {
        let (key, budget) = (&*found.key, &*found.budget);
        if let Err(code) = check_key(key, found.secret_expires_at, presented.wanted, now) {
            verdict.code = code;
            return Ok(());
        }
        if let Some(rate_limit) = key.rate_limit {
            let checked = budget.check_rate(rate_limit, now);
            verdict.rate_limit = Some(checked.state);
            if !checked.allowed {
                verdict.code = VerifyCode::RateLimited;
                return Ok(());
            }
        }
        if key.credits.is_some() {
            let owner = Owner::of(key);
            let store = self.store.as_ref();
            let leased = || self.runtimes.list_lease(budget, owner);
            match budget.spend(store, owner, key.credits_version, presented.cost, now, leased).await? {
                Ok(remaining) => verdict.credits_remaining = Some(remaining),
                Err(remaining) => {
                    verdict.credits_remaining = Some(remaining);
                    verdict.code = VerifyCode::UsageExceeded;
                }
            }
        }
        Ok(())
    }

    /// Counts a use of a key that authenticated a management request.
    pub fn record_use(&self, resolved: &Resolved, now: Millis) {
        self.runtimes.touch(&resolved.uses, resolved.key.id, now);
    }

    /// Adds what is held in memory (uses, last use, credits) to a key read from the store.
    pub fn overlay(&self, key: &mut ApiKey) {
        self.runtimes.usage_of(key).apply(key);
    }

    /// Applies one change record: the cached records built from its entity become stale, under
    /// every secret that leads to them, and a new secret becomes known (before it is shown to
    /// anyone: the writer applies its own record before it answers).
    pub fn apply(&self, change: &Change) {
        match change.kind {
            // Nothing cached was built from an entity that did not exist.
            ChangeKind::Created => {}
            ChangeKind::Updated | ChangeKind::Revoked | ChangeKind::Rotated => self.forget(change.entity),
        }
        if let Some((current, older)) = change.digests.split_first() {
            self.known.insert(prefix(current));
            if change.kind == ChangeKind::Rotated {
                // Stale already; this frees them now instead of at their next use.
                for digest in older {
                    self.found.invalidate(&digest.0);
                }
            }
        }
    }

    /// Makes every cached record built from `entity` stale, and keeps a racing fill out of the
    /// cache.
    fn forget(&self, entity: Entity) {
        let _gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if let Some(generation) = self.runtimes.existing_generation(entity) {
            generation.next();
        }
    }

    /// Says whether the change feed is followed. Going down, it also keeps any fill already
    /// under way out of the cache; coming up (after re-reading what was missed), the cache is
    /// trusted again, but only for what is read from now on.
    pub fn set_live(&self, live: bool) {
        let _gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if self.live.swap(live, Ordering::AcqRel) && !live {
            // Everything cached was loaded under the old feed: nothing of it is trusted again.
            self.found.invalidate_all();
            // Requests waiting for a change need wait no more: every read now goes to the store.
            self.applied.send_modify(|_| {});
        }
    }

    /// Says that every change record up to `seq` has been applied, in order.
    pub fn applied_through(&self, seq: i64) {
        self.applied.send_if_modified(|applied| {
            let newer = seq > *applied;
            if newer {
                *applied = seq;
            }
            newer
        });
    }

    /// The `seq` up to which every change record has been applied.
    pub fn applied(&self) -> i64 {
        *self.applied.borrow()
    }

    /// Whether, within `within`, every change record up to `seq` is applied or the cache is off
    /// (every read then goes to the store, which holds every change).
    pub async fn reach(&self, seq: i64, within: std::time::Duration) -> bool {
        let mut applied = self.applied.subscribe();
        let reached = applied.wait_for(|&applied| applied >= seq || !self.is_live());
        matches!(tokio::time::timeout(within, reached).await, Ok(Ok(_)))
    }

    /// Whether the change feed is followed.
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// Forgets the in-memory state of keys and owners out of the cache and idle for `idle_ms`
    /// (and their rate limit's window), once it is flushed: keeps memory bounded by the keys in
    /// use.
    pub fn sweep(&self, now: Millis, idle_ms: i64) -> usize {
        self.runtimes.sweep(now, idle_ms)
    }

    /// Writes the usage gathered in memory to the store, with the leases unspent since
    /// `idle_since` (`Millis::MAX` at shutdown: all of them); on failure the usage is kept for
    /// the next flush.
    pub async fn flush(&self, idle_since: Millis) -> Result<usize, StoreError> {
        let drained = self.runtimes.drain(idle_since);
        if drained.is_empty() {
            return Ok(0);
        }
        let written = drained.len();
        match self.store.usage_record(&drained.uses, &drained.returned()).await {
            Ok(()) => {
                self.runtimes.written(&drained.uses);
                Ok(written)
            }
            // Usage is written as increments: what may have been written is not sent again (its
            // counts and any lease it gave back are forfeit), so nothing is ever counted twice;
            // what certainly was not is taken again by the next flush.
            Err(e) if e.left_nothing() => {
                self.runtimes.restore(&drained);
                Err(e)
            }
            Err(e) => {
                self.runtimes.written(&drained.uses);
                tracing::warn!(error = %e, rows = written, "a usage flush's outcome is unknown; its counts are not sent again");
                Err(e)
            }
        }
    }
}

/// The first 8 bytes of a digest: enough to tell stored secrets from made-up ones.
fn prefix(digest: &KeyDigest) -> u64 {
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&digest.0[..8]);
    u64::from_le_bytes(bytes)
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("known", &self.known.len())
            .field("found", &self.found.entry_count())
            .finish()
    }
}

#[cfg(test)]
mod tests;
