//! The task that follows the change feed into this instance's verifier (`crate::feed`).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::background::{Task, TaskFuture};
use crate::feed::Follower;

/// Follows the feed, polling every `poll_every` behind its signal.
pub struct FeedTask {
    pub follower: Arc<Follower>,
    pub poll_every: Duration,
}

impl Task for FeedTask {
    fn name(&self) -> &'static str {
        "feed"
    }

    fn run(&self, stop: CancellationToken) -> TaskFuture {
        Box::pin(self.follower.clone().run(self.poll_every, stop))
    }
}
