//! A one-entry memo per thread of the management key that authenticated last.
//!
//! The key that calls Keyward is nearly always the same one: an API gateway verifying its
//! customers' keys presents its own management key on every request. Remembering, per worker
//! thread, the last such key found saves the shared cache a lookup on every request. The memo
//! is keyed by the secret's digest (never the secret) and by the verifier (several run in one
//! process in tests), and holds the same entry the cache holds, checked against the key's
//! generation on every use: a write makes it stale exactly as it makes the cache's copy stale.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Found;

thread_local! {
    static LAST: RefCell<Option<Memo>> = const { RefCell::new(None) };
}

/// Tells verifiers apart within the process.
static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);

struct Memo {
    owner: u64,
    digest: [u8; 32],
    found: Arc<Found>,
}

/// A fresh owner id, one per verifier.
pub(super) fn new_owner() -> u64 {
    NEXT_OWNER.fetch_add(1, Ordering::Relaxed)
}

/// The entry this thread remembered for `digest` under `owner`, if still current.
pub(super) fn recall(owner: u64, digest: &[u8; 32]) -> Option<Arc<Found>> {
    LAST.with_borrow(|last| {
        last.as_ref()
            .filter(|memo| memo.owner == owner && memo.digest == *digest && memo.found.is_current())
            .map(|memo| memo.found.clone())
    })
}

/// Remembers `found` as this thread's last caller under `owner`.
pub(super) fn remember(owner: u64, digest: &[u8; 32], found: &Arc<Found>) {
    LAST.set(Some(Memo { owner, digest: *digest, found: found.clone() }));
}
