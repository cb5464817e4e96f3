//! A small table per worker thread of the keys it found last, in front of the shared cache.
//!
//! The shared cache (moka) does bookkeeping on every read: a clock read, a record of the read
//! sent over a channel, and now and then a round of housekeeping. That costs more than the rest
//! of finding a key. Keys are not used evenly: a gateway presents its own management key on every
//! request, and its busiest customers' keys on most of the others. So each worker thread keeps
//! the keys it found last: the two most recently used of each of `SETS` sets, picked by the
//! digest. Two ways a set keep a gateway's own key from being pushed out by the one customer key
//! in a few dozen that shares its set.
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

/// Sets a thread keeps, of two entries each: a few kilobytes, plus the records they hold.
const SETS: usize = 32;

/// The two entries of a set, the more recently used first.
type Ways = [Option<Entry>; 2];

thread_local! {
    static TABLE: RefCell<[Ways; SETS]> = const { RefCell::new([const { [None, None] }; SETS]) };
}

/// Tells verifiers apart within the process.
static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);

struct Entry {
    owner: u64,
    digest: [u8; 32],
    found: Arc<Found>,
}

impl Entry {
    fn is(&self, owner: u64, digest: &[u8; 32]) -> bool {
        self.owner == owner && self.digest == *digest
    }
}

/// A fresh owner id, one per verifier.
pub(super) fn new_owner() -> u64 {
    NEXT_OWNER.fetch_add(1, Ordering::Relaxed)
}

/// The digest picks the set: it is uniformly spread, being a hash.
fn set(digest: &[u8; 32]) -> usize {
    usize::from(digest[0]) % SETS
}

/// Puts the entry for `digest` first in its set, if it is there, and says whether it is.
fn bring_first(ways: &mut Ways, owner: u64, digest: &[u8; 32]) -> bool {
    match ways.iter().position(|way| way.as_ref().is_some_and(|entry| entry.is(owner, digest))) {
        Some(0) => true,
        Some(_) => {
            ways.swap(0, 1);
            true
        }
        None => false,
    }
}

/// This thread's entry for `digest` under `owner`, if no write came to the key since.
pub(super) fn recall(owner: u64, digest: &[u8; 32]) -> Option<Arc<Found>> {
    TABLE.with_borrow_mut(|table| {
        let ways = &mut table[set(digest)];
        if !bring_first(ways, owner, digest) {
            return None;
        }
        let entry = ways[0].as_ref()?;
        entry.found.is_current().then(|| entry.found.clone())
    })
}

/// Keeps `found` first in its set: in place of a stale entry for the same digest, or else
/// pushing out the less recently used of the two.
pub(super) fn remember(owner: u64, digest: &[u8; 32], found: &Arc<Found>) {
    let entry = Some(Entry { owner, digest: *digest, found: found.clone() });
    // What is pushed out, maybe the last hold on a record, is freed after the borrow ends.
    let displaced = TABLE.with_borrow_mut(|table| {
        let ways = &mut table[set(digest)];
        if bring_first(ways, owner, digest) {
            return std::mem::replace(&mut ways[0], entry);
        }
        let last = ways[1].take();
        ways[1] = std::mem::replace(&mut ways[0], entry);
        last
    });
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
        near[31] ^= 1; // same set, another digest
        assert!(recall(owner, &near).is_none());
        found.runtime.next_generation();
        assert!(recall(owner, &digest).is_none(), "a write came to the key");
    }

    #[test]
    fn a_set_keeps_its_two_most_recently_used_keys() {
        let runtimes = Runtimes::default();
        let owner = new_owner();
        let (gateway, digest) = found(&runtimes);
        let in_same_set = |n: u8| {
            let mut other = digest;
            other[1] ^= n; // the set is picked by the first byte
            other
        };
        remember(owner, &digest, &gateway);
        let (customer, _) = found(&runtimes);
        remember(owner, &in_same_set(1), &customer);
        assert!(recall(owner, &digest).is_some(), "two keys of one set are both kept");
        let (another, _) = found(&runtimes);
        remember(owner, &in_same_set(2), &another);
        assert!(recall(owner, &digest).is_some(), "the key used last stays");
        assert!(recall(owner, &in_same_set(1)).is_none(), "the one used least recently is pushed out");
        assert!(recall(owner, &in_same_set(2)).is_some_and(|hit| Arc::ptr_eq(&hit, &another)));
    }

    #[test]
    fn a_key_remembered_again_replaces_its_stale_entry() {
        let runtimes = Runtimes::default();
        let owner = new_owner();
        let (stale, digest) = found(&runtimes);
        let (other, _) = found(&runtimes);
        let mut neighbour = digest;
        neighbour[1] ^= 1;
        remember(owner, &digest, &stale);
        remember(owner, &neighbour, &other);
        stale.runtime.next_generation();
        assert!(recall(owner, &digest).is_none());
        let (fresh, _) = found(&runtimes);
        remember(owner, &digest, &fresh);
        assert!(recall(owner, &digest).is_some_and(|hit| Arc::ptr_eq(&hit, &fresh)));
        assert!(recall(owner, &neighbour).is_some(), "the neighbour was not pushed out");
    }
}
