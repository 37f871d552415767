//! A gate in front of expensive blocking work (password hashing, image resizing): at most `concurrent` tasks
//! run at once, at most `waiting` more wait for a turn, and anyone beyond that is refused at
//! once with [`GateError::Busy`] — which the API answers with `503` and `Retry-After` — instead
//! of queueing without bound. A flood then costs a fixed amount of memory and threads.

use std::sync::Arc;

use tokio::sync::Semaphore;

/// Why gated work did not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// Every slot is taken and the waiting line is full.
    #[error("too many requests are waiting for this work")]
    Busy,
    /// The blocking task died (it panicked).
    #[error("blocking task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Bounded concurrency with a bounded waiting line.
#[derive(Clone, Debug)]
pub struct Gate {
    /// One permit per task that may be running or waiting.
    admitted: Arc<Semaphore>,
    /// One permit per task that may be running.
    running: Arc<Semaphore>,
}

impl Gate {
    /// A gate that runs `concurrent` tasks at once (at least one) and lets `waiting` wait.
    pub fn new(concurrent: usize, waiting: usize) -> Gate {
        let concurrent = concurrent.max(1);
        Gate {
            admitted: Arc::new(Semaphore::new(concurrent.saturating_add(waiting))),
            running: Arc::new(Semaphore::new(concurrent)),
        }
    }

    /// Runs `work` on the blocking pool when a slot is free. The permits travel with the
    /// blocking task, so a caller that gives up (a client that hung up) does not free its slot
    /// before the work itself has ended.
    pub async fn run_blocking<T, F>(&self, work: F) -> Result<T, GateError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let admitted = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| GateError::Busy)?;
        self.run_when_free(Some(admitted), work).await
    }

    /// Like [`Gate::run_blocking`], but waits for a running slot however long that takes,
    /// without taking a place in the line: for background work (a job), which has no client to
    /// refuse and whose own number the worker bounds. It still never runs beside more than
    /// `concurrent` others.
    pub async fn run_blocking_in_turn<T, F>(&self, work: F) -> Result<T, GateError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.run_when_free(None, work).await
    }

    /// Waits for a running slot and runs `work` on the blocking pool, holding the slot (and the
    /// place in the line, if any) until the work has ended.
    async fn run_when_free<T, F>(
        &self,
        admitted: Option<tokio::sync::OwnedSemaphorePermit>,
        work: F,
    ) -> Result<T, GateError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let running = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| GateError::Busy)?;
        Ok(tokio::task::spawn_blocking(move || {
            let result = work();
            drop((running, admitted));
            result
        })
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn at_most_the_limit_runs_and_the_overflow_is_refused_at_once() {
        let gate = Gate::new(2, 3);
        let now_running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (gate, now_running, peak) = (gate.clone(), now_running.clone(), peak.clone());
                tokio::spawn(async move {
                    gate.run_blocking(move || {
                        let n = now_running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(50));
                        now_running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        let mut done = 0;
        let mut busy = 0;
        for task in tasks {
            match task.await.expect("task") {
                Ok(()) => done += 1,
                Err(GateError::Busy) => busy += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(peak.load(Ordering::SeqCst) <= 2);
        assert!((2..=5).contains(&done), "{done} ran");
        assert_eq!(done + busy, 20);
    }

    #[tokio::test]
    async fn work_in_turn_waits_for_a_slot_instead_of_being_refused() {
        let gate = Gate::new(1, 0);
        let now_running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (gate, now_running, peak) = (gate.clone(), now_running.clone(), peak.clone());
                tokio::spawn(async move {
                    gate.run_blocking_in_turn(move || {
                        let n = now_running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        now_running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task").expect("ran in turn");
        }
        assert_eq!(peak.load(Ordering::SeqCst), 1);
    }
}
