//! Durable background jobs: a `jobs` table is the queue.
//!
//! A job is enqueued with [`queue::enqueue`] on any connection — usually the transaction of the
//! business change that causes it, so a rolled-back change enqueues nothing and a committed one
//! always has its job (transactional outbox). Workers ([`worker::Worker`]) claim due jobs with
//! `SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL, MariaDB/MySQL) or inside a `BEGIN IMMEDIATE`
//! transaction (SQLite), hold them under a lease they keep renewing while the job runs, and
//! record the outcome: `done`, `failed` (to be retried after an exponential backoff with
//! jitter), or `dead` after the last attempt or for a job that can never succeed (unknown kind,
//! unreadable payload). A job whose worker died is claimed again once its lease expires.
//! Periodic jobs are rows with a unique key per period, so any number of workers schedule each
//! tick exactly once.

pub mod job;
pub mod queue;
pub mod routes;
pub mod worker;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use axum::Router;
use axum::routing::{get, post};

use crate::http::route;
use crate::state::AppState;

/// The staff routes of `/api/admin/jobs/`.
pub fn router() -> Router<AppState> {
    let router = route(Router::new(), "/api/admin/jobs/", get(routes::list_jobs));
    route(
        router,
        "/api/admin/jobs/{id}/retry/",
        post(routes::retry_job),
    )
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Waiting for its `run_at`.
    Queued,
    /// Claimed by a worker, under lease.
    Running,
    /// Failed; will run again at its `run_at`.
    Failed,
    /// Finished successfully.
    Done,
    /// Gave up: kept for an operator to inspect and retry.
    Dead,
}

impl State {
    /// Every state, for metrics and validation.
    pub const ALL: [State; 5] = [
        State::Queued,
        State::Running,
        State::Failed,
        State::Done,
        State::Dead,
    ];

    /// The name stored in the database and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Running => "running",
            State::Failed => "failed",
            State::Done => "done",
            State::Dead => "dead",
        }
    }

    /// Parses a stored or requested name.
    pub fn parse(name: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// Why a job run did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth trying again later (a mail server or bucket that did not answer).
    #[error("{0}")]
    Retry(String),
    /// Will never succeed as it is (bad payload): the job goes straight to `dead`.
    #[error("{0}")]
    Permanent(String),
}

impl JobError {
    /// A transient failure.
    pub fn retry(cause: impl std::fmt::Display) -> JobError {
        JobError::Retry(cause.to_string())
    }
}

impl From<sea_orm::DbErr> for JobError {
    fn from(error: sea_orm::DbErr) -> JobError {
        JobError::Retry(format!("database: {error}"))
    }
}

/// Reads a job's payload as `T`; a payload that does not fit is a permanent failure.
pub fn payload<T: DeserializeOwned>(value: Value) -> Result<T, JobError> {
    serde_json::from_value(value).map_err(|e| {
        JobError::Permanent(format!(
            "payload does not parse as {}: {e}",
            std::any::type_name::<T>()
        ))
    })
}

/// What a running job can reach.
#[derive(Clone)]
pub struct JobContext {
    /// The application's state: database, mailer, storage, settings.
    pub state: AppState,
    /// The job's id.
    pub job_id: i64,
    /// 1 on the first run, 2 on the first retry, …
    pub attempt: i32,
}

/// A boxed job future.
pub type JobFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;
type Handler = Arc<dyn Fn(JobContext, Value) -> JobFuture + Send + Sync>;

/// A job that is scheduled every `every`.
#[derive(Clone, Debug)]
pub struct Periodic {
    /// The job kind to enqueue.
    pub kind: &'static str,
    /// The period.
    pub every: Duration,
}

/// The job kinds a worker knows, and the periodic ones it schedules.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Handler>,
    periodic: Vec<Periodic>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers the handler of `kind`. Handlers must be idempotent: a job can run twice if its
    /// worker dies after the work but before recording it.
    pub fn register<F, Fut>(&mut self, kind: &'static str, handler: F) -> &mut Registry
    where
        F: Fn(JobContext, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |ctx, payload| Box::pin(handler(ctx, payload)));
        self.handlers.insert(kind, handler);
        self
    }

    /// Schedules `kind` (which must be registered) once every `every`.
    pub fn every(&mut self, kind: &'static str, every: Duration) -> &mut Registry {
        self.periodic.push(Periodic { kind, every });
        self
    }

    fn handler(&self, kind: &str) -> Option<Handler> {
        self.handlers.get(kind).cloned()
    }

    /// The periodic jobs.
    pub fn periodic(&self) -> &[Periodic] {
        &self.periodic
    }
}

/// The job kinds of this layer: delivering email and cleaning up the queue (hourly).
pub fn register_jobs(registry: &mut Registry) {
    registry.register(crate::email::SEND_JOB, crate::email::send_job);
    registry.register(queue::CLEANUP_JOB, queue::cleanup_job);
    registry.every(queue::CLEANUP_JOB, Duration::from_secs(3600));
}
