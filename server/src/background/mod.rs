//! Background work: one driver that starts every task, starts again one that died, stops them
//! all together and waits for each to finish the work in hand, and tells `/v1/ready` how they
//! are. Each task is a file of its own under `tasks/`.

pub mod tasks;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long a task that died waits before it is started again.
const RESTART_AFTER: Duration = Duration::from_secs(1);

/// What a task's run is.
pub type TaskFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A background task: a loop that does its work between waits and returns once `stop` is
/// cancelled, at a wait, never in the middle of its work.
pub trait Task: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn run(&self, stop: CancellationToken) -> TaskFuture;
}

/// How each task is, for `/v1/ready`.
#[derive(Debug, Default)]
pub struct Board {
    down: Mutex<BTreeMap<&'static str, String>>,
}

impl Board {
    /// What is wrong with the tasks, one line a task that is not running; empty when all are.
    pub fn problems(&self) -> Vec<String> {
        let down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        down.iter().map(|(name, why)| format!("the background task {name} is not running: {why}")).collect()
    }

    fn set_down(&self, name: &'static str, why: String) {
        self.down.lock().unwrap_or_else(|e| e.into_inner()).insert(name, why);
    }

    fn set_up(&self, name: &'static str) {
        self.down.lock().unwrap_or_else(|e| e.into_inner()).remove(name);
    }
}

/// The running tasks.
pub struct Driver {
    stop: CancellationToken,
    supervisors: Vec<(&'static str, JoinHandle<()>)>,
}

impl Driver {
    /// Starts every task, each watched by a supervisor that starts it again if it dies.
    pub fn start(board: Arc<Board>, tasks: Vec<Arc<dyn Task>>) -> Self {
        let stop = CancellationToken::new();
        let supervisors = tasks
            .into_iter()
            .map(|task| (task.name(), tokio::spawn(supervise(task, board.clone(), stop.clone()))))
            .collect();
        Self { stop, supervisors }
    }

    /// Tells every task to stop and waits, `within` at most in all, for each to finish the work
    /// in hand; a task still running then is aborted, and said to be.
    pub async fn stop(self, within: Duration) {
        self.stop.cancel();
        let deadline = tokio::time::Instant::now() + within;
        for (name, mut supervisor) in self.supervisors {
            if tokio::time::timeout_at(deadline, &mut supervisor).await.is_err() {
                tracing::warn!(task = name, "a background task did not stop in time; aborted");
                supervisor.abort();
                let _ = supervisor.await;
            }
        }
    }
}

/// Runs `task` until `stop`, starting it again after [`RESTART_AFTER`] when it ends on its own
/// or panics, and keeps `board` up to date.
async fn supervise(task: Arc<dyn Task>, board: Arc<Board>, stop: CancellationToken) {
    let name = task.name();
    loop {
        let outcome = tokio::spawn(task.run(stop.clone())).await;
        if stop.is_cancelled() {
            return;
        }
        let why = match outcome {
            Ok(()) => "it ended on its own".to_owned(),
            Err(error) if error.is_panic() => "it panicked".to_owned(),
            Err(error) => error.to_string(),
        };
        tracing::error!(task = name, why, "a background task stopped; starting it again");
        board.set_down(name, why);
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(RESTART_AFTER) => {}
        }
        board.set_up(name);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Panics on its first run, then waits for the stop.
    struct Flaky(Arc<AtomicUsize>);

    impl Task for Flaky {
        fn name(&self) -> &'static str {
            "flaky"
        }

        fn run(&self, stop: CancellationToken) -> TaskFuture {
            let runs = self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                assert!(runs > 0, "the first run fails");
                stop.cancelled().await;
            })
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_task_that_dies_is_reported_then_started_again_and_all_stop_together() {
        let runs = Arc::new(AtomicUsize::new(0));
        let board = Arc::new(Board::default());
        let driver = Driver::start(board.clone(), vec![Arc::new(Flaky(runs.clone()))]);
        let until = |done: &dyn Fn() -> bool| {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while !done() {
                assert!(std::time::Instant::now() < deadline, "timed out");
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        until(&|| !board.problems().is_empty());
        assert_eq!(board.problems(), ["the background task flaky is not running: it panicked"]);
        until(&|| runs.load(Ordering::SeqCst) == 2);
        until(&|| board.problems().is_empty());
        driver.stop(Duration::from_secs(1)).await;
    }
}
