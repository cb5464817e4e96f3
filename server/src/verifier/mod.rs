//! The verifier: finds the key behind a presented secret through caches that every write
//! invalidates, and gives the verdict with rate limits, credits and usage kept in memory.
//!
//! Consistency: a write (update, revoke, rotate, create) first commits to the store and then, under
//! the `gate`, bumps `epoch` and drops the cached entries it touched. A cache miss reads `epoch`
//! before it reads the store and fills the cache only if `epoch` is unchanged, under the same gate;
//! so a read that raced a write can never put the old state back after the write returned.
//!
//! Floods of unknown keys: every stored secret's digest is also held as a 64-bit prefix in `known`
//! (loaded at start, added to on every create and rotation, 8 bytes a secret). A well-formed key
//! whose prefix is not there is `NOT_FOUND` without touching the store, so an attacker cycling
//! through fresh keys costs what a malformed key costs.

mod runtime;

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use dashmap::DashSet;
use uuid::Uuid;

use crate::domain::Millis;
use crate::domain::api_key::ApiKey;
use crate::domain::key::{KeyDigest, KeyHasher, Secret};
use crate::domain::verification::{ScopeCheck, VerifyCode, check_key, expires_soon};
use crate::store::{Store, StoreError};
use runtime::{KeyRuntime, Runtimes};
pub use runtime::{KeyUsage, RateLimitState};

/// The most digests (known or unknown) remembered.
const DIGEST_CAPACITY: u64 = 1_000_000;
/// The most key records remembered.
const RECORD_CAPACITY: u64 = 250_000;

/// Where a known digest leads.
#[derive(Debug, Clone, Copy)]
struct Lookup {
    key_id: Uuid,
    organization_id: Uuid,
    secret_expires_at: Option<Millis>,
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
}

/// The outcome of verifying a presented key.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub code: VerifyCode,
    /// The key, once found in the caller's organization.
    pub key: Option<Arc<CachedKey>>,
    pub rate_limit: Option<RateLimitState>,
    pub credits_remaining: Option<i64>,
    /// When the key expires, if within the warning window.
    pub expires_soon: Option<Millis>,
    /// The key's usage and credits with what is held in memory, once the key is found.
    pub usage: Option<KeyUsage>,
}

impl Verdict {
    fn bare(code: VerifyCode) -> Self {
        Self { code, key: None, rate_limit: None, credits_remaining: None, expires_soon: None, usage: None }
    }
}

/// Key lookups for authentication and verification.
pub struct Verifier {
    store: Arc<dyn Store>,
    hasher: KeyHasher,
    known: DashSet<u64>,
    digests: moka::sync::Cache<[u8; 32], Lookup>,
    records: moka::sync::Cache<Uuid, Arc<CachedKey>>,
    epoch: AtomicU64,
    gate: Mutex<()>,
    runtimes: Runtimes,
}

impl Verifier {
    /// A verifier over `store`, knowing every stored secret's digest prefix.
    pub async fn load(store: Arc<dyn Store>, hasher: KeyHasher) -> Result<Self, StoreError> {
        let known = DashSet::new();
        for digest in store.secret_digests().await? {
            known.insert(prefix(&digest));
        }
        Ok(Self {
            store,
            hasher,
            known,
            digests: moka::sync::Cache::new(DIGEST_CAPACITY),
            records: moka::sync::Cache::new(RECORD_CAPACITY),
            epoch: AtomicU64::new(0),
            gate: Mutex::new(()),
            runtimes: Runtimes::default(),
        })
    }

    pub fn hasher(&self) -> &KeyHasher {
        &self.hasher
    }

    /// The key behind `secret`, in any organization, from the caches or else the store.
    pub async fn resolve(&self, secret: &Secret) -> Result<Option<Resolved>, StoreError> {
        let digest = self.hasher.digest(secret);
        if !self.known.contains(&prefix(&digest)) {
            return Ok(None);
        }
        if let Some(Lookup { key_id, organization_id, secret_expires_at }) = self.digests.get(&digest.0) {
            if let Some(key) = self.records.get(&key_id) {
                return Ok(Some(Resolved { key, secret_expires_at }));
            }
            let epoch = self.epoch.load(Ordering::Acquire);
            let key = match self.store.api_key_get(organization_id, key_id).await {
                Ok(key) => Arc::new(CachedKey::new(key)),
                Err(StoreError::NotFound) => return Ok(None),
                Err(e) => return Err(e),
            };
            self.fill(epoch, || self.records.insert(key_id, key.clone()));
            return Ok(Some(Resolved { key, secret_expires_at }));
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let found = self.store.api_key_by_digest(&digest).await?.filter(|f| f.digest.matches(&digest.0));
        let Some(found) = found else {
            return Ok(None);
        };
        let key = Arc::new(CachedKey::new(found.api_key));
        let lookup = Lookup {
            key_id: key.id,
            organization_id: key.organization_id,
            secret_expires_at: found.secret_expires_at,
        };
        self.fill(epoch, || {
            self.digests.insert(digest.0, lookup);
            self.records.insert(key.id, key.clone());
        });
        Ok(Some(Resolved { key, secret_expires_at: found.secret_expires_at }))
    }

    /// Verifies `presented` for a caller of `organization_id`, in the documented order.
    pub async fn verify(
        &self,
        organization_id: Uuid,
        presented: &str,
        wanted: &[ScopeCheck],
        cost: i64,
        now: Millis,
    ) -> Result<Verdict, StoreError> {
        let Ok(secret) = Secret::parse(presented) else {
            return Ok(Verdict::bare(VerifyCode::Malformed));
        };
        let Some(resolved) = self.resolve(&secret).await? else {
            return Ok(Verdict::bare(VerifyCode::NotFound));
        };
        let key = resolved.key;
        if key.organization_id != organization_id {
            return Ok(Verdict::bare(VerifyCode::NotFound));
        }
        let runtime = self.runtimes.get(key.id);
        self.runtimes.touch(&runtime, key.id, now);
        let mut verdict = Verdict {
            code: VerifyCode::Valid,
            key: Some(key.clone()),
            rate_limit: None,
            credits_remaining: None,
            expires_soon: expires_soon(&key, now),
            usage: None,
        };
        judge(&mut verdict, &key, resolved.secret_expires_at, &runtime, wanted, cost, now);
        verdict.usage = Some(runtime.usage(&key));
        Ok(verdict)
    }

    /// Counts a use of a key that authenticated a management request.
    pub fn record_use(&self, key_id: Uuid, now: Millis) {
        let runtime = self.runtimes.get(key_id);
        self.runtimes.touch(&runtime, key_id, now);
    }

    /// Adds what is held in memory (uses, last use, credits) to a key read from the store.
    pub fn overlay(&self, key: &mut ApiKey) {
        self.runtimes.usage_of(key).apply(key);
    }

    /// Forgets a key's cached record after it changed in the store.
    pub fn forget_key(&self, id: Uuid) {
        let _gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.records.invalidate(&id);
    }

    /// Learns a secret just stored (a new key's, or a rotation's), before its secret is shown.
    pub fn remember_digest(&self, digest: &KeyDigest) {
        self.known.insert(prefix(digest));
    }

    /// Forgets where a digest leads (a rotated secret, whose grace period now ends).
    pub fn forget_digest(&self, digest: &KeyDigest) {
        let _gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.digests.invalidate(&digest.0);
    }

    /// Writes the usage gathered in memory to the store; on failure it is kept for the next flush.
    pub async fn flush(&self) -> Result<usize, StoreError> {
        let deltas = self.runtimes.drain();
        if deltas.is_empty() {
            return Ok(0);
        }
        match self.store.usage_record(&deltas).await {
            Ok(()) => Ok(deltas.len()),
            Err(e) => {
                self.runtimes.restore(&deltas);
                Err(e)
            }
        }
    }

    /// Fills a cache unless a write happened since `epoch` was read.
    fn fill(&self, epoch: u64, insert: impl FnOnce()) {
        let _gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        if self.epoch.load(Ordering::Acquire) == epoch {
            insert();
        }
    }
}

/// The checks after the key is found, in the documented order: the record (revoked, disabled,
/// expired, scopes), then the rate limit, then the credits.
fn judge(
    verdict: &mut Verdict,
    key: &ApiKey,
    secret_expires_at: Option<Millis>,
    runtime: &KeyRuntime,
    wanted: &[ScopeCheck],
    cost: i64,
    now: Millis,
) {
    if let Err(code) = check_key(key, secret_expires_at, wanted, now) {
        verdict.code = code;
        return;
    }
    if let Some(rate_limit) = key.rate_limit {
        let state = runtime.check_rate(rate_limit, now);
        verdict.rate_limit = Some(state);
        if !state.allowed {
            verdict.code = VerifyCode::RateLimited;
            return;
        }
    }
    if let Some(balance) = key.credit_balance() {
        match runtime.spend(balance, key.credits_version, cost, now) {
            Ok(remaining) => verdict.credits_remaining = Some(remaining),
            Err(remaining) => {
                verdict.credits_remaining = Some(remaining);
                verdict.code = VerifyCode::UsageExceeded;
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
            .field("digests", &self.digests.entry_count())
            .field("records", &self.records.entry_count())
            .finish()
    }
}
