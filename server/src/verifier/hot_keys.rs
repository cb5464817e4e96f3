//! A small table per worker thread of the keys it found last, in front of the shared cache.
//!
//! The shared cache (moka) does bookkeeping on every read: a clock read, a record of the read
//! sent over a channel, and now and then a round of housekeeping. That costs more than the rest
//! of finding a key. Keys are not used evenly: a gateway presents its own management key on every
//! request, and its busiest customers' keys on most of the others. So each worker thread keeps
//! the last key it found in each of `SLOTS` slots, picked by the digest.
//!
//! An entry is keyed by the secret's digest (never the secret) and by the verifier: several
//! verifiers run in one process in tests. It holds the same entry the shared cache holds and is
//! checked against the key's generation on every use, so a write makes it stale exactly as it
//! makes the cache's copy stale. The shared cache does not see the hits served here; a hot key
//! it has evicted comes back from the store the next time it misses here.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Found;

/// Slots a thread keeps: a few kilobytes, plus the records they hold.
const SLOTS: usize = 64;

thread_local! {
    static TABLE: RefCell<[Option<Entry>; SLOTS]> = const { RefCell::new([const { None }; SLOTS]) };
}

/// Tells verifiers apart within the process.
static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);

struct Entry {
    owner: u64,
    digest: [u8; 32],
    found: Arc<Found>,
}

/// A fresh owner id, one per verifier.
pub(super) fn new_owner() -> u64 {
    NEXT_OWNER.fetch_add(1, Ordering::Relaxed)
}

/// The digest picks the slot: it is uniformly spread, being a hash.
fn slot(digest: &[u8; 32]) -> usize {
    usize::from(digest[0]) % SLOTS
}

/// This thread's entry for `digest` under `owner`, if no write came to the key since.
pub(super) fn recall(owner: u64, digest: &[u8; 32]) -> Option<Arc<Found>> {
    TABLE.with_borrow(|table| {
        table[slot(digest)]
            .as_ref()
            .filter(|entry| entry.owner == owner && entry.digest == *digest && entry.found.is_current())
            .map(|entry| entry.found.clone())
    })
}

/// Keeps `found` in this thread's slot for `digest`, in place of whatever was there.
pub(super) fn remember(owner: u64, digest: &[u8; 32], found: &Arc<Found>) {
    let entry = Entry { owner, digest: *digest, found: found.clone() };
    // The entry it displaces, maybe the last hold on a record, is freed after the borrow ends.
    let displaced = TABLE.with_borrow_mut(|table| table[slot(digest)].replace(entry));
    drop(displaced);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::api_key::NewApiKey;
    use crate::domain::key::KeyHasher;
    use crate::verifier::CachedKey;
    use crate::verifier::runtime::Runtimes;
    use uuid::Uuid;

    fn found(runtimes: &Runtimes) -> (Arc<Found>, [u8; 32]) {
        let new = NewApiKey { name: "hot".into(), ..Default::default() };
        let (issued, _) = new.issue(Uuid::now_v7(), &KeyHasher::default(), 1_000).unwrap();
        let runtime = runtimes.get(issued.api_key.id);
        let generation = runtime.generation();
        let key = Arc::new(CachedKey::new(issued.api_key));
        (Arc::new(Found { key, secret_expires_at: None, runtime, generation }), issued.digest.0)
    }

    #[test]
    fn a_remembered_key_is_recalled_by_its_verifier_until_a_write_makes_it_stale() {
        let runtimes = Runtimes::default();
        let (found, digest) = found(&runtimes);
        let (owner, other) = (new_owner(), new_owner());
        remember(owner, &digest, &found);
        assert!(recall(owner, &digest).is_some_and(|hit| Arc::ptr_eq(&hit, &found)));
        assert!(recall(other, &digest).is_none(), "another verifier's entry");
        let mut near = digest;
        near[31] ^= 1; // same slot, another digest
        assert!(recall(owner, &near).is_none());
        found.runtime.next_generation();
        assert!(recall(owner, &digest).is_none(), "a write came to the key");
    }

    #[test]
    fn a_key_in_the_same_slot_takes_the_place_of_the_last_one() {
        let runtimes = Runtimes::default();
        let owner = new_owner();
        let (first, digest) = found(&runtimes);
        let (second, _) = found(&runtimes);
        let mut other = digest;
        other[1] ^= 1; // the slot is picked by the first byte
        remember(owner, &digest, &first);
        remember(owner, &other, &second);
        assert!(recall(owner, &digest).is_none());
        assert!(recall(owner, &other).is_some_and(|hit| Arc::ptr_eq(&hit, &second)));
    }
}
