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

pub mod background;
pub mod job;
pub mod lease;
pub mod queue;
pub mod routes;
pub mod worker;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::state::AppState;
pub use background::{Background, LoopFuture, Stop};
pub use job::{Kind, State};

/// A kind of background job: the type is its payload (stored as JSON), [`Job::KIND`] the name
/// rows are stored under, [`Job::run`] its handler. Enqueue one with [`queue::enqueue`].
///
/// The name and the payload's JSON shape are a promise to rows already in the queue: a job
/// enqueued by an older version must still run, so rename neither, and give a new field a
/// `#[serde(default)]`.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The stored name, `app.verb` (`email.send`).
    const KIND: &'static str;
    /// Attempts before the job is `dead`.
    const MAX_ATTEMPTS: i32 = queue::DEFAULT_MAX_ATTEMPTS;

    /// Does the work. Must be idempotent: a job runs again if its worker dies after the work
    /// but before recording it.
    fn run(self, ctx: JobContext) -> impl Future<Output = Result<(), JobError>> + Send;
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

/// Reads a stored payload as `J`; a payload that does not fit is a permanent failure.
fn payload<J: Job>(value: Value) -> Result<J, JobError> {
    serde_json::from_value(value)
        .map_err(|e| JobError::Permanent(format!("payload does not parse as {}: {e}", J::KIND)))
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

/// A job that is scheduled every `every`, with an empty payload (`{}`).
#[derive(Clone, Debug)]
pub struct Periodic {
    /// The job kind to enqueue.
    pub kind: &'static str,
    /// The period.
    pub every: Duration,
}

/// The job kinds a worker knows, and the periodic ones it schedules. Assembled at start-up
/// (`startup::job_registry`), where every app's kinds are named.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Handler>,
    periodic: Vec<Periodic>,
    background: Vec<Background>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers the job kind `J`.
    pub fn register<J: Job>(&mut self) -> &mut Registry {
        let handler: Handler =
            Arc::new(|ctx, value| Box::pin(async move { payload::<J>(value)?.run(ctx).await }));
        self.handlers.insert(J::KIND, handler);
        self
    }

    /// Registers `J` and schedules it once every `every`; its payload is `{}`, so `J` must read
    /// from an empty object.
    pub fn every<J: Job>(&mut self, every: Duration) -> &mut Registry {
        self.register::<J>();
        self.schedule(J::KIND, every)
    }

    /// Schedules the registered kind called `kind` once every `every`.
    pub fn schedule(&mut self, kind: &'static str, every: Duration) -> &mut Registry {
        self.periodic.push(Periodic { kind, every });
        self
    }

    /// Registers a handler of raw payloads under a name of the caller's choosing, outside the
    /// [`Job`] trait: for the queue's own tests, which need jobs that record or misbehave in
    /// particular ways. Application code registers [`Job`] types.
    #[doc(hidden)]
    pub fn register_raw<F, Fut>(&mut self, kind: &'static str, handler: F) -> &mut Registry
    where
        F: Fn(JobContext, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |ctx, payload| Box::pin(handler(ctx, payload)));
        self.handlers.insert(kind, handler);
        self
    }

    /// Runs `start(state, stop)` beside the jobs of every worker, from its start to its
    /// shutdown (see [`background`]).
    pub fn background<F, Fut>(&mut self, name: &'static str, start: F) -> &mut Registry
    where
        F: Fn(AppState, Stop) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let start: background::Start = Arc::new(move |state, stop| Box::pin(start(state, stop)));
        self.background.push(Background { name, start });
        self
    }

    /// The background loops.
    pub fn loops(&self) -> &[Background] {
        &self.background
    }

    fn handler(&self, kind: &Kind) -> Option<Handler> {
        self.handlers.get(kind.as_str()).cloned()
    }

    /// The registered kinds' stored names.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.handlers.keys().copied().collect()
    }

    /// The periodic jobs.
    pub fn periodic(&self) -> &[Periodic] {
        &self.periodic
    }
}
