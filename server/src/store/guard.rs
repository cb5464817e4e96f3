//! A store that fails fast while the database is out of reach: the change feed's follower, which
//! reads the database every second under a deadline, says whether it answers ([`Reachability`]);
//! while it does not, every other call to the store is [`StoreError::Unavailable`] at once
//! instead of waiting for a connection that will not come, and reads already waiting are let go
//! (writes under way are not: one may have committed). The feed's own reads are not guarded: they
//! are how it finds the database again.

use std::future::Future;

use tokio::sync::watch;

use super::StoreError;

/// Whether the database answers, as the follower last found.
#[derive(Debug)]
pub struct Reachability {
    answers: watch::Sender<bool>,
}

impl Default for Reachability {
    fn default() -> Self {
        Self { answers: watch::Sender::new(true) }
    }
}

impl Reachability {
    /// Says whether the database answered in time.
    pub fn set(&self, answers: bool) {
        self.answers.send_if_modified(|now| std::mem::replace(now, answers) != answers);
    }

    pub fn answers(&self) -> bool {
        *self.answers.borrow()
    }
}

impl Reachability {
    /// Fails at once while the database is out of reach: for a write, which is never given up
    /// on once sent (it may have committed, and its caller must not be told it did nothing).
    pub(super) fn check(&self) -> Result<(), StoreError> {
        if self.answers() { Ok(()) } else { Err(out_of_reach()) }
    }

    /// Runs a read unless the database is known to be out of reach, and gives up on it as soon
    /// as it is found to be (a read changes nothing, so leaving it is safe).
    pub(super) async fn read<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let mut answers = self.answers.subscribe();
        if !*answers.borrow_and_update() {
            return Err(out_of_reach());
        }
        let lost = async move {
            if answers.wait_for(|answers| !answers).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            biased;
            // A read whose connection broke changed nothing: it is simply out of reach.
            result = call => result.map_err(|error| match error {
                StoreError::Lost(why) => StoreError::Unavailable(why),
                other => other,
            }),
            () = lost => Err(out_of_reach()),
        }
    }
}

fn out_of_reach() -> StoreError {
    StoreError::Unavailable("the database did not answer the change feed's last read in time".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_fails_at_once_while_the_database_is_out_of_reach_and_a_waiting_read_is_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("g.db").display());
        let store = super::super::connect(&url).await.unwrap();
        let reachability = store.reachability();
        assert!(store.ping().await.is_ok());

        reachability.set(false);
        assert!(matches!(store.ping().await, Err(StoreError::Unavailable(_))));
        assert!(matches!(store.pepper_check("f").await, Err(StoreError::Unavailable(_))), "a write too");
        assert!(
            store.changes_since(0, 1).await.is_ok(),
            "the feed's reads are how it finds the database again"
        );
        reachability.set(true);
        assert!(store.ping().await.is_ok());

        let never = reachability.read(std::future::pending::<Result<(), StoreError>>());
        let cut = async {
            tokio::task::yield_now().await;
            reachability.set(false);
        };
        let (result, ()) = tokio::join!(never, cut);
        assert!(matches!(result, Err(StoreError::Unavailable(_))));
    }
}
