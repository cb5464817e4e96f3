//! What the verifier keeps in memory beside its cache: each key's uses and last use between
//! flushes (written behind, as increments), each owner's budget (`budget.rs`: its rate limiter
//! and credit lease), and each entity's generation, which moves on whenever the entity changes in
//! the store.

use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dashmap::DashMap;
use uuid::Uuid;

use super::FastHash;
use super::budget::{Budget, Lease};
use crate::domain::Millis;
use crate::domain::api_key::ApiKey;
use crate::domain::limits::Credits;
use crate::domain::owner::Owner;
use crate::store::{Entity, ReturnedLease, UsageDelta};

/// The in-memory uses of one key.
#[derive(Debug, Default)]
pub struct KeyUse {
    uses: AtomicI64,
    /// Uses this instance has written to the store, in all.
    flushed: AtomicI64,
    last_used: AtomicI64,
    dirty: AtomicBool,
}

impl KeyUse {
    /// Uses this instance has written to the store, in all.
    pub fn flushed(&self) -> i64 {
        self.flushed.load(Ordering::Acquire)
    }

    /// Whether forgetting these uses loses nothing: they are flushed, and the key has not been
    /// used for `idle_ms`.
    fn is_idle(&self, now: Millis, idle_ms: i64) -> bool {
        !self.dirty.load(Ordering::Acquire) && now - self.last_used.load(Ordering::Acquire) >= idle_ms
    }
}

/// How many times an entity has changed in the store since this instance first held it: a
/// record built from an older generation of it is stale.
#[derive(Debug, Default)]
pub struct Generation(AtomicU64);

impl Generation {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    pub fn next(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// What a flush takes: the keys' uses since the last one, and the leases to give back.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Drained {
    pub uses: Vec<UsageDelta>,
    leases: Vec<(Owner, Lease)>,
}

impl Drained {
    pub fn is_empty(&self) -> bool {
        self.uses.is_empty() && self.leases.is_empty()
    }

    /// How many rows it writes: a key's uses or an owner's lease each.
    pub fn len(&self) -> usize {
        self.uses.len() + self.leases.len()
    }

    /// The leases, as the store takes them back.
    pub fn returned(&self) -> Vec<ReturnedLease> {
        self.leases.iter().map(|&(owner, lease)| ReturnedLease { owner, credits: lease.snapshot() }).collect()
    }
}

/// Every key's uses, owner's budget and entity's generation held in memory, and which keys and
/// owners have something to write since the last flush.
#[derive(Default)]
pub struct Runtimes {
    keys: DashMap<Uuid, Arc<KeyUse>, FastHash>,
    budgets: DashMap<Owner, Arc<Budget>, FastHash>,
    generations: DashMap<Entity, Arc<Generation>, FastHash>,
    /// Keys with uses not drained yet.
    dirty: Mutex<Vec<Uuid>>,
    /// Owners holding a lease, to give back once it lies idle.
    leased: Mutex<Vec<Owner>>,
}

impl Runtimes {
    pub fn key(&self, id: Uuid) -> Arc<KeyUse> {
        held(&self.keys, id)
    }

    pub fn budget(&self, owner: Owner) -> Arc<Budget> {
        held(&self.budgets, owner)
    }

    pub fn generation(&self, entity: Entity) -> Arc<Generation> {
        held(&self.generations, entity)
    }

    /// The entity's generation, if a cached record may hold it (one that holds none is of no
    /// record cached, so there is nothing to make stale).
    pub fn existing_generation(&self, entity: Entity) -> Option<Arc<Generation>> {
        self.generations.get(&entity).map(|generation| generation.clone())
    }

    /// Forgets the state of keys and owners idle for `idle_ms` (see [`KeyUse::is_idle`] and
    /// [`Budget::is_idle`]), and the generations, that nothing else holds: a record in the
    /// verifier's cache holds its key's uses, its owner's budget and its entities' generations,
    /// so only what is out of it goes, and its next use starts from the store, where everything
    /// was flushed. Returns how many were forgotten.
    pub fn sweep(&self, now: Millis, idle_ms: i64) -> usize {
        forget_unheld(&self.keys, |key| key.is_idle(now, idle_ms))
            + forget_unheld(&self.budgets, |budget| budget.is_idle(now, idle_ms))
            + forget_unheld(&self.generations, |_| true)
    }

    /// Counts one use of the key at `now`.
    pub fn touch(&self, key: &KeyUse, id: Uuid, now: Millis) {
        key.uses.fetch_add(1, Ordering::AcqRel);
        key.last_used.fetch_max(now, Ordering::AcqRel);
        self.mark(key, id);
    }

    fn mark(&self, key: &KeyUse, id: Uuid) {
        if !key.dirty.swap(true, Ordering::AcqRel) {
            self.dirty.lock().unwrap_or_else(|e| e.into_inner()).push(id);
        }
    }

    /// Lists the owner's budget among those to drain, if it holds a lease and is not listed.
    pub fn list_lease(&self, budget: &Budget, owner: Owner) {
        if !budget.listed.load(Ordering::Acquire)
            && budget.holds_lease()
            && !budget.listed.swap(true, Ordering::AcqRel)
        {
            self.leased.lock().unwrap_or_else(|e| e.into_inner()).push(owner);
        }
    }

    /// Takes the uses since the last drain, and the leases unspent since `idle_since` (every
    /// lease, at shutdown). An owner whose lease is kept stays listed, so a later drain returns
    /// it once it lies idle.
    pub fn drain(&self, idle_since: Millis) -> Drained {
        let uses = taken(&self.dirty)
            .into_iter()
            .filter_map(|id| {
                let key = self.keys.get(&id)?.clone();
                key.dirty.store(false, Ordering::Release);
                let uses = key.uses.swap(0, Ordering::AcqRel);
                let last_used_at = key.last_used.load(Ordering::Acquire);
                (uses > 0).then_some(UsageDelta { api_key_id: id, uses, last_used_at })
            })
            .collect();
        let leases = taken(&self.leased)
            .into_iter()
            .filter_map(|owner| {
                let budget = self.budgets.get(&owner)?.clone();
                budget.listed.store(false, Ordering::Release);
                let lease = budget.idle_lease(idle_since);
                self.list_lease(&budget, owner);
                lease.map(|lease| (owner, lease))
            })
            .collect();
        Drained { uses, leases }
    }

    /// Counts the uses a flush wrote as written.
    pub fn written(&self, uses: &[UsageDelta]) {
        for delta in uses {
            if let Some(key) = self.keys.get(&delta.api_key_id) {
                key.flushed.fetch_add(delta.uses, Ordering::AcqRel);
            }
        }
    }

    /// Puts back what a flush that wrote nothing took, so the next one writes it: the uses, and
    /// the leases (see [`Budget::restore_lease`]).
    pub fn restore(&self, drained: &Drained) {
        for delta in &drained.uses {
            let key = self.key(delta.api_key_id);
            key.uses.fetch_add(delta.uses, Ordering::AcqRel);
            self.mark(&key, delta.api_key_id);
        }
        for &(owner, lease) in &drained.leases {
            let budget = self.budget(owner);
            budget.restore_lease(lease);
            self.list_lease(&budget, owner);
        }
    }

    /// A stored key's usage and credits with what is held in memory added.
    pub fn usage_of(&self, key: &ApiKey) -> KeyUsage {
        let uses = self.keys.get(&key.id).map(|held| held.clone());
        let budget = self.budgets.get(&Owner::of(key)).map(|held| held.clone());
        let flushed = uses.as_ref().map_or(0, |uses| uses.flushed());
        KeyUsage::of(key, uses.as_deref(), flushed, budget.as_deref())
    }
}

/// What the list holds, leaving it empty.
fn taken<T>(list: &Mutex<Vec<T>>) -> Vec<T> {
    std::mem::take(&mut *list.lock().unwrap_or_else(|e| e.into_inner()))
}

/// The map's entry for `id`, made if there is none.
fn held<K: Eq + Hash + Copy, V: Default>(map: &DashMap<K, Arc<V>, FastHash>, id: K) -> Arc<V> {
    if let Some(value) = map.get(&id) {
        return value.clone();
    }
    map.entry(id).or_default().clone()
}

/// Forgets the map's entries that nothing else holds and that are `idle`; returns how many.
fn forget_unheld<K: Eq + Hash, V>(map: &DashMap<K, Arc<V>, FastHash>, idle: impl Fn(&V) -> bool) -> usize {
    let before = map.len();
    // `retain` checks each entry under its shard's write lock, and `held` clones under the
    // read lock, so no entry gains a holder between the check and the removal.
    map.retain(|_, value| Arc::strong_count(value) > 1 || !idle(value));
    before.saturating_sub(map.len())
}

/// What a key's record says of its use once the in-memory part is added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUsage {
    pub usage_count: i64,
    pub last_used_at: Option<Millis>,
    pub credits: Option<Credits>,
}

impl KeyUsage {
    /// The usage as the store holds it, nothing in memory added.
    pub fn stored(key: &ApiKey) -> Self {
        Self { usage_count: key.usage_count, last_used_at: key.last_used_at, credits: key.credits }
    }

    /// The key's usage and credits: the record's, read when this instance had written
    /// `flushed_at_load` of its uses, with this instance's uses since and its owner's unspent
    /// lease added.
    pub fn of(key: &ApiKey, uses: Option<&KeyUse>, flushed_at_load: i64, budget: Option<&Budget>) -> Self {
        let mut usage = KeyUsage::stored(key);
        if let Some(uses) = uses {
            usage.usage_count += uses.uses.load(Ordering::Acquire) + uses.flushed() - flushed_at_load;
            let last_used = uses.last_used.load(Ordering::Acquire);
            if last_used > 0 {
                usage.last_used_at = Some(usage.last_used_at.map_or(last_used, |at| at.max(last_used)));
            }
        }
        if let (Some(lease), Some(credits)) =
            (budget.and_then(|budget| budget.lease_of(key.credits_version)), usage.credits.as_mut())
        {
            // Both only go down within a version and period: the smaller is the fresher.
            credits.remaining = credits.remaining.min(lease.unleased) + lease.available;
        }
        usage
    }

    /// Writes the usage into the key's record.
    pub fn apply(self, key: &mut ApiKey) {
        key.usage_count = self.usage_count;
        key.last_used_at = self.last_used_at;
        key.credits = self.credits;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::limits::{CreditBalance, RateLimit};
    use crate::store::CreditsSnapshot;

    #[test]
    fn a_sweep_forgets_only_idle_flushed_unheld_state() {
        let runtimes = Runtimes::default();
        let [idle, dirty, held] = [(); 3].map(|()| Uuid::now_v7());
        for id in [idle, dirty, held] {
            runtimes.touch(&runtimes.key(id), id, 1_000);
        }
        let limited = Owner::ApiKey(Uuid::now_v7());
        runtimes.budget(limited).check_rate(RateLimit { limit: 3, window_ms: 60_000 }, 1_000);
        runtimes.drain(Millis::MAX);
        runtimes.touch(&runtimes.key(dirty), dirty, 1_000);
        let holder = runtimes.key(held);
        let entity = Entity::ApiKey(held);
        let generation = runtimes.generation(entity);
        runtimes.generation(Entity::ApiKey(idle));

        assert_eq!(runtimes.sweep(1_500, 1_000), 1, "only the generation nothing holds: nothing is idle yet");
        assert_eq!(runtimes.sweep(2_000, 1_000), 1, "the idle key's uses");
        assert!(runtimes.keys.get(&idle).is_none());
        assert!(runtimes.keys.get(&dirty).is_some() && runtimes.keys.get(&held).is_some(), "unflushed, held");
        assert!(runtimes.budgets.get(&limited).is_some(), "within its window");
        assert!(runtimes.existing_generation(entity).is_some(), "held by a cached record");
        drop((holder, generation));
        assert_eq!(
            runtimes.sweep(61_000, 1_000),
            3,
            "the held key, its generation, the budget after its window"
        );
        assert!(runtimes.keys.get(&dirty).is_some());
    }

    #[test]
    fn draining_takes_each_use_once() {
        let runtimes = Runtimes::default();
        let id = Uuid::now_v7();
        let key = runtimes.key(id);
        runtimes.touch(&key, id, 10);
        runtimes.touch(&key, id, 20);
        let drained = runtimes.drain(Millis::MAX);
        assert_eq!(drained.uses, vec![UsageDelta { api_key_id: id, uses: 2, last_used_at: 20 }]);
        assert!(runtimes.drain(Millis::MAX).is_empty());
        runtimes.restore(&drained);
        assert_eq!(runtimes.drain(Millis::MAX).uses[0].uses, 2);
    }

    #[test]
    fn an_owners_lease_is_given_back_once_it_lies_idle_and_only_once() {
        let runtimes = Runtimes::default();
        let owner = Owner::ApiKey(Uuid::now_v7());
        let budget = runtimes.budget(owner);
        let balance = CreditBalance { credits: Credits { remaining: 100, refill: None }, refilled_at: 0 };
        budget.add_lease(0, &balance, 6, 10);
        runtimes.list_lease(&budget, owner);
        runtimes.list_lease(&budget, owner);
        assert!(runtimes.drain(9).is_empty(), "spent from at 10: not idle since 9");
        let credits = CreditsSnapshot { remaining: 6, refilled_at: 0, version: 0 };
        let drained = runtimes.drain(10);
        assert_eq!(drained.returned(), vec![ReturnedLease { owner, credits }], "listed once");
        assert!(runtimes.drain(Millis::MAX).is_empty(), "given back once");

        runtimes.restore(&drained);
        assert_eq!(
            runtimes.drain(10).returned(),
            drained.returned(),
            "a flush that wrote nothing takes it again"
        );
    }

    #[test]
    fn every_lease_taken_while_drains_run_is_given_back_exactly_once() {
        let runtimes = Runtimes::default();
        let owner = Owner::ApiKey(Uuid::now_v7());
        let balance =
            CreditBalance { credits: Credits { remaining: 1_000_000, refill: None }, refilled_at: 0 };
        let given_back = std::thread::scope(|threads| {
            let leasers: Vec<_> = (0..2)
                .map(|_| {
                    threads.spawn(|| {
                        for _ in 0..2_000 {
                            let budget = runtimes.budget(owner);
                            budget.add_lease(0, &balance, 1, 0);
                            runtimes.list_lease(&budget, owner);
                        }
                    })
                })
                .collect();
            // This thread drains while the two others lease.
            let mut given_back = 0;
            while !leasers.iter().all(|leaser| leaser.is_finished()) {
                given_back +=
                    runtimes.drain(Millis::MAX).leases.iter().map(|(_, l)| l.available).sum::<i64>();
            }
            given_back
        });
        let last: i64 = runtimes.drain(Millis::MAX).leases.iter().map(|(_, lease)| lease.available).sum();
        assert_eq!(given_back + last, 4_000, "every credit leased is given back, none twice");
        assert!(runtimes.drain(Millis::MAX).is_empty());
    }
}
