//! The worker loop: claim due jobs, run them with bounded concurrency under a renewed lease,
//! record outcomes, schedule periodic jobs, and on shutdown finish or release what is running.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::{JoinHandle, JoinSet};
use tracing::Instrument;

use super::queue::{self, FailOutcome, NewJob};
use super::{JobContext, JobError, Registry, Stop, job};
use crate::settings::Settings;
use crate::state::AppState;

/// How a worker behaves.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Unique per worker: recorded in `locked_by`.
    pub id: String,
    /// Jobs run at once (`EMPORIUM_WORKERS`).
    pub concurrency: usize,
    /// How often to look for due jobs when idle.
    pub poll_interval: Duration,
    /// How long a claim lasts without renewal; renewed every third of it while a job runs.
    pub lease: Duration,
    /// First retry delay; doubles per attempt.
    pub retry_base: Duration,
    /// How long running jobs may finish after shutdown is asked for.
    pub grace: Duration,
}

impl WorkerConfig {
    /// The configuration from the settings, with a fresh worker id.
    pub fn from_settings(settings: &Settings) -> WorkerConfig {
        WorkerConfig {
            id: format!(
                "{}-{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            concurrency: settings.workers,
            poll_interval: settings.job_poll_interval,
            lease: settings.job_lease,
            retry_base: settings.job_retry_base,
            grace: settings.shutdown_timeout,
        }
    }
}

/// Aborts a spawned task when dropped, so an aborted worker slot stops its job too.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A worker: one per `emporium worker` process, and one inside `emporium serve`.
pub struct Worker {
    state: AppState,
    registry: Arc<Registry>,
    config: WorkerConfig,
}

type InFlight = Arc<Mutex<HashMap<i64, job::Model>>>;

impl Worker {
    /// A worker over `state`'s database running `registry`'s kinds.
    pub fn new(state: AppState, registry: Registry, config: WorkerConfig) -> Worker {
        Worker {
            state,
            registry: Arc::new(registry),
            config,
        }
    }

    /// Runs until `shutdown` completes, then lets running jobs finish for `grace` and gives
    /// back (releases) the ones still running after it.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let in_flight: InFlight = Arc::default();
        let mut running: JoinSet<()> = JoinSet::new();
        let mut scheduled: HashMap<&'static str, u128> = HashMap::new();
        // Claims that failed in a row (the database down): the wait doubles with each.
        let mut failures: u32 = 0;
        let (stop, loops) = self.start_loops();
        tracing::info!(worker = %self.config.id, concurrency = self.config.concurrency, "worker started");
        loop {
            self.schedule_periodic(&mut scheduled).await;
            let free = self.config.concurrency.saturating_sub(running.len());
            let mut claimed = 0;
            if free > 0 {
                match queue::claim(
                    &self.state.db,
                    &self.config.id,
                    free as u64,
                    self.config.lease,
                )
                .await
                {
                    Ok(jobs) => {
                        if failures > 0 {
                            tracing::info!("the job queue answers again");
                            failures = 0;
                        }
                        claimed = jobs.len();
                        for job in jobs {
                            self.spawn(&mut running, &in_flight, job);
                        }
                    }
                    Err(e) => {
                        failures = failures.saturating_add(1);
                        let wait = backoff(self.config.poll_interval, failures);
                        tracing::warn!(error = %e, retry_in = ?wait, "could not claim jobs; will try again");
                    }
                }
            }
            // A full batch means more may be waiting: claim again at once if a slot is free.
            if claimed > 0 && claimed == free {
                continue;
            }
            tokio::select! {
                () = &mut shutdown => break,
                Some(_) = running.join_next(), if !running.is_empty() => {}
                () = tokio::time::sleep(backoff(self.config.poll_interval, failures)) => {}
            }
        }

        tracing::info!(worker = %self.config.id, running = running.len(), "worker stopping");
        let _ = stop.send(true);
        let deadline = tokio::time::sleep(self.config.grace);
        tokio::pin!(deadline);
        while !running.is_empty() {
            tokio::select! {
                _ = running.join_next() => {}
                () = &mut deadline => {
                    running.abort_all();
                    while running.join_next().await.is_some() {}
                    let left: Vec<job::Model> = in_flight
                        .lock()
                        .map(|mut map| map.drain().map(|(_, job)| job).collect())
                        .unwrap_or_default();
                    for job in left {
                        if let Err(e) = queue::release(&self.state.db, &job, &self.config.id).await {
                            tracing::warn!(job = job.id, error = %e, "could not release job; its lease will expire");
                        } else {
                            tracing::info!(job = job.id, kind = %job.kind, "released unfinished job");
                        }
                    }
                    break;
                }
            }
        }
        self.stop_loops(loops).await;
        tracing::info!(worker = %self.config.id, "worker stopped");
    }

    /// Starts the registry's background loops; they stop when the sender fires.
    fn start_loops(&self) -> (tokio::sync::watch::Sender<bool>, JoinSet<()>) {
        let (stop, signal) = Stop::new();
        let mut loops = JoinSet::new();
        for background in self.registry.loops() {
            let span = tracing::info_span!("loop", name = background.name);
            loops.spawn((background.start)(self.state.clone(), signal.clone()).instrument(span));
        }
        (stop, loops)
    }

    /// Waits for the loops to return, at most the grace period, then aborts them.
    async fn stop_loops(&self, mut loops: JoinSet<()>) {
        let waited = tokio::time::timeout(self.config.grace, async {
            while loops.join_next().await.is_some() {}
        })
        .await;
        if waited.is_err() {
            tracing::warn!("background loops still running after the grace period; stopping them");
            loops.abort_all();
            while loops.join_next().await.is_some() {}
        }
    }

    /// Enqueues each periodic job once per period: the unique key names the period, so every
    /// worker may try and exactly one row is made.
    async fn schedule_periodic(&self, scheduled: &mut HashMap<&'static str, u128>) {
        let now_ms = u128::from(chrono::Utc::now().timestamp_millis().max(0).unsigned_abs());
        for periodic in self.registry.periodic() {
            let every_ms = periodic.every.as_millis().max(1);
            let period = now_ms / every_ms;
            if scheduled.get(periodic.kind) == Some(&period) {
                continue;
            }
            let mut job = NewJob::new(periodic.kind, Value::Object(Default::default()));
            job.unique_key = Some(format!("{}@{}", periodic.kind, period));
            match queue::insert_unique(&self.state.db, job).await {
                Ok(_) => {
                    scheduled.insert(periodic.kind, period);
                }
                Err(e) => {
                    tracing::warn!(kind = periodic.kind, error = %e, "could not schedule periodic job")
                }
            }
        }
    }

    fn spawn(&self, running: &mut JoinSet<()>, in_flight: &InFlight, job: job::Model) {
        if let Ok(mut map) = in_flight.lock() {
            map.insert(job.id, job.clone());
        }
        let span =
            tracing::info_span!("job", id = job.id, kind = %job.kind, attempt = job.attempts);
        let (state, registry, config, in_flight) = (
            self.state.clone(),
            self.registry.clone(),
            self.config.clone(),
            in_flight.clone(),
        );
        running.spawn(
            async move {
                execute(&state, &registry, &config, &job).await;
                if let Ok(mut map) = in_flight.lock() {
                    map.remove(&job.id);
                }
            }
            .instrument(span),
        );
    }
}

/// The wait before the next claim after `failures` failed claims in a row: the poll interval,
/// doubled per failure, at most [`MAX_CLAIM_BACKOFF`].
fn backoff(poll_interval: Duration, failures: u32) -> Duration {
    poll_interval
        .saturating_mul(2_u32.saturating_pow(failures.min(16)))
        .min(MAX_CLAIM_BACKOFF.max(poll_interval))
}

/// The longest wait between two claims while the database does not answer.
const MAX_CLAIM_BACKOFF: Duration = Duration::from_secs(30);

/// Runs one claimed job and records its outcome.
async fn execute(state: &AppState, registry: &Registry, config: &WorkerConfig, job: &job::Model) {
    let started = Instant::now();
    let result = match (
        registry.handler(&job.kind),
        serde_json::from_str::<Value>(&job.payload),
    ) {
        (None, _) => Err(JobError::Permanent(format!(
            "unknown job kind {:?}",
            job.kind.as_str()
        ))),
        (_, Err(e)) => Err(JobError::Permanent(format!("payload is not JSON: {e}"))),
        (Some(handler), Ok(payload)) => {
            let ctx = JobContext {
                state: state.clone(),
                job_id: job.id,
                attempt: job.attempts,
            };
            let mut task = AbortOnDrop(tokio::spawn(handler(ctx, payload).in_current_span()));
            let mut beat = tokio::time::interval((config.lease / 3).max(Duration::from_millis(10)));
            beat.tick().await;
            loop {
                tokio::select! {
                    joined = &mut task.0 => break match joined {
                        Ok(result) => result,
                        Err(e) if e.is_panic() => Err(JobError::Retry("the job panicked".to_owned())),
                        Err(e) => Err(JobError::Retry(format!("the job was cancelled: {e}"))),
                    },
                    _ = beat.tick() => {
                        match queue::heartbeat(&state.db, job.id, &config.id, config.lease).await {
                            Ok(true) => {}
                            Ok(false) => tracing::warn!("lost the lease on a running job"),
                            Err(e) => tracing::warn!(error = %e, "could not renew the lease"),
                        }
                    }
                }
            }
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    let outcome = match &result {
        Ok(()) => match queue::complete(&state.db, job.id, &config.id).await {
            Ok(()) => "done",
            Err(e) => {
                tracing::error!(error = %e, "job succeeded but could not be recorded; it will run again after its lease");
                "unrecorded"
            }
        },
        Err(error) => {
            match queue::fail(&state.db, job, &config.id, error, config.retry_base).await {
                Ok(FailOutcome::Retry) => {
                    tracing::warn!(%error, "job failed; will retry");
                    "retry"
                }
                Ok(FailOutcome::Dead) => {
                    tracing::error!(%error, "job failed for good; kept as dead");
                    "dead"
                }
                Err(e) => {
                    tracing::error!(%error, db_error = %e, "job failed and could not be recorded; it will run again after its lease");
                    "unrecorded"
                }
            }
        }
    };
    metrics::counter!("jobs_total", "kind" => job.kind.to_string(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!("job_duration_seconds", "kind" => job.kind.to_string()).record(elapsed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_back_off_while_the_database_is_down_and_not_past_thirty_seconds() {
        let poll = Duration::from_secs(1);
        assert_eq!(backoff(poll, 0), poll);
        assert_eq!(backoff(poll, 1), Duration::from_secs(2));
        assert_eq!(backoff(poll, 3), Duration::from_secs(8));
        assert_eq!(backoff(poll, 5), Duration::from_secs(30));
        assert_eq!(backoff(poll, u32::MAX), Duration::from_secs(30));
        let slow = Duration::from_secs(60);
        assert_eq!(
            backoff(slow, 4),
            slow,
            "never shorter than the poll interval"
        );
    }
}
