//! Usage and credits: counts added as increments, leases taken by compare-and-swap and given
//! back to their own balance.

use keyward_server::domain::api_key::ApiKeyPatch;
use keyward_server::domain::limits::Credits;
use keyward_server::domain::owner::Owner;
use keyward_server::store::{CreditsSnapshot, ReturnedLease, UsageDelta};

use crate::{ACTOR, Fixture, issue, update};

on_every_store!(
    usage_adds_up_and_a_returned_lease_goes_back_only_to_its_own_balance,
    concurrent_leases_never_take_the_same_credits_twice,
);

async fn usage_adds_up_and_a_returned_lease_goes_back_only_to_its_own_balance(f: Fixture) {
    let (key, _) = issue(f.org, "u", Some(Credits { remaining: 100, refill: None }));
    let id = key.api_key.id;
    f.store.api_key_insert(&key, ACTOR).await.unwrap();
    let record = |uses, at, returned, version| {
        let store = f.store.clone();
        async move {
            let uses = UsageDelta { api_key_id: id, uses, last_used_at: at };
            let credits = CreditsSnapshot { remaining: returned, refilled_at: 10, version };
            store
                .usage_record(&[uses], &[ReturnedLease { owner: Owner::ApiKey(id), credits }])
                .await
                .unwrap();
        }
    };
    record(3, 500, 2, 0).await;
    record(2, 400, 1, 0).await;
    let stored = f.store.api_key_get(f.org, id).await.unwrap();
    assert_eq!((stored.usage_count, stored.last_used_at), (5, Some(500)), "last use never goes back");
    assert_eq!(stored.credits.unwrap().remaining, 103, "returned leases are added");

    let set =
        ApiKeyPatch { credits: Some(Some(Credits { remaining: 7, refill: None })), ..Default::default() };
    update(f.store.as_ref(), &stored, set, 600).await;
    record(1, 700, 90, 0).await;
    let stored = f.store.api_key_get(f.org, id).await.unwrap();
    assert_eq!(stored.credits.unwrap().remaining, 7, "a lease of the old budget is not added to the new");
    assert_eq!(stored.usage_count, 6);
}

async fn concurrent_leases_never_take_the_same_credits_twice(f: Fixture) {
    let (key, _) = issue(f.org, "leased", Some(Credits { remaining: 1_000, refill: None }));
    let owner = Owner::ApiKey(key.api_key.id);
    f.store.api_key_insert(&key, ACTOR).await.unwrap();
    let leasers = (0..8).map(|_| {
        let store = f.store.clone();
        tokio::spawn(async move {
            let mut taken = 0;
            loop {
                let stored = store.credits_get(owner).await.unwrap().expect("a budget");
                let mut balance = stored.balance;
                let Some(lease) = balance.lease(1, 20) else { return taken };
                if store.credits_swap(owner, &stored, &balance).await.unwrap() {
                    taken += lease;
                }
            }
        })
    });
    let taken: i64 = futures::future::try_join_all(leasers).await.unwrap().into_iter().sum();
    assert_eq!(taken, 1_000, "every credit leased exactly once");
    let left = f.store.credits_get(owner).await.unwrap().unwrap();
    assert_eq!(left.balance.credits.remaining, 0);
    let (plain, _) = issue(f.org, "plain", None);
    f.store.api_key_insert(&plain, ACTOR).await.unwrap();
    assert_eq!(
        f.store.credits_get(Owner::ApiKey(plain.api_key.id)).await.unwrap(),
        None,
        "no budget, no balance"
    );
}
