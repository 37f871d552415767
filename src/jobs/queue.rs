//! Queries on the `jobs` table: enqueue, claim, record outcomes, and the operator's views.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::job::{self, Column, Entity as Jobs};
use super::{Job, JobContext, JobError, Kind, State};
use crate::{db, time};

/// How many attempts a job gets unless it says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 5;

/// A row to insert into the queue: a [`Job`] made ready by [`NewJob::of`], or — for the
/// worker's periodic ticks and for tests of old or unknown rows — a kind and a raw payload.
#[derive(Clone, Debug)]
pub struct NewJob {
    /// The kind's stored name.
    pub kind: Kind,
    /// Its input.
    pub payload: Value,
    /// Not before this time (now when `None`).
    pub run_at: Option<DateTime<Utc>>,
    /// Attempts before it is `dead`.
    pub max_attempts: i32,
    /// At most one job with this key ever exists (periodic ticks, de-duplication).
    pub unique_key: Option<String>,
}

impl NewJob {
    /// A row of `kind` with `payload`, due now, with the default attempts.
    pub fn new(kind: impl Into<String>, payload: Value) -> NewJob {
        NewJob {
            kind: Kind(kind.into()),
            payload,
            run_at: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            unique_key: None,
        }
    }

    /// The row for `job`, due now.
    pub fn of<J: Job>(job: &J) -> Result<NewJob, DbErr> {
        let payload = serde_json::to_value(job)
            .map_err(|e| DbErr::Custom(format!("the {} payload: {e}", J::KIND)))?;
        Ok(NewJob {
            max_attempts: J::MAX_ATTEMPTS,
            ..NewJob::new(J::KIND, payload)
        })
    }

    /// The same row, due at `at`.
    pub fn at(self, at: DateTime<Utc>) -> NewJob {
        NewJob {
            run_at: Some(at),
            ..self
        }
    }
}

fn active(job: NewJob) -> job::ActiveModel {
    let now = time::now();
    job::ActiveModel {
        kind: Set(job.kind),
        payload: Set(job.payload.to_string()),
        state: Set(State::Queued),
        attempts: Set(0),
        max_attempts: Set(job.max_attempts.max(1)),
        run_at: Set(job.run_at.unwrap_or(now)),
        locked_by: Set(None),
        locked_until: Set(None),
        last_error: Set(None),
        unique_key: Set(job.unique_key),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
        ..Default::default()
    }
}

/// Enqueues `job` on `conn` — pass the business transaction so that the job exists if and only
/// if that transaction commits. Returns the job's id.
pub async fn enqueue<C: ConnectionTrait, J: Job>(conn: &C, job: &J) -> Result<i64, DbErr> {
    insert(conn, NewJob::of(job)?).await
}

/// Inserts a prepared row (see [`NewJob`]) on `conn`. Returns the job's id.
pub async fn insert<C: ConnectionTrait>(conn: &C, job: NewJob) -> Result<i64, DbErr> {
    Ok(active(job).insert(conn).await?.id)
}

/// Inserts several prepared rows in one statement on `conn` (the business transaction).
pub async fn insert_many<C: ConnectionTrait>(conn: &C, jobs: Vec<NewJob>) -> Result<(), DbErr> {
    if jobs.is_empty() {
        return Ok(());
    }
    Jobs::insert_many(jobs.into_iter().map(active))
        .exec(conn)
        .await?;
    Ok(())
}

/// Inserts a row with a unique key on its own (not inside another transaction); `None` when
/// a job with that key already exists.
pub async fn insert_unique(db: &DatabaseConnection, job: NewJob) -> Result<Option<i64>, DbErr> {
    match active(job).insert(db).await {
        Ok(row) => Ok(Some(row.id)),
        Err(e) if crate::db::is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Claims up to `limit` due jobs for `worker`, under a lease of `lease`. Each claim counts as an
/// attempt. A job whose lease expired on its last attempt (its worker kept dying) goes `dead`.
pub async fn claim(
    conn: &DatabaseConnection,
    worker: &str,
    limit: u64,
    lease: Duration,
) -> Result<Vec<job::Model>, DbErr> {
    let tx = db::begin_write(conn).await?;
    let now = time::now();
    let runnable = Condition::all()
        .add(Column::State.is_in([State::Queued, State::Failed]))
        .add(Column::RunAt.lte(now));
    let abandoned = Condition::all()
        .add(Column::State.eq(State::Running))
        .add(Column::LockedUntil.lt(now));
    // On SQLite the lock clause is dropped; BEGIN IMMEDIATE already serialises claimers.
    let candidates = Jobs::find()
        .filter(Condition::any().add(runnable).add(abandoned))
        .order_by_asc(Column::RunAt)
        .order_by_asc(Column::Id)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(&tx)
        .await?;
    let until = now + delta(lease);
    let mut claimed = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        let was_running = candidate.state == State::Running;
        let mut row: job::ActiveModel = candidate.clone().into();
        if was_running && candidate.attempts >= candidate.max_attempts {
            row.state = Set(State::Dead);
            row.last_error = Set(Some(format!(
                "the worker running attempt {} stopped without finishing (lease expired)",
                candidate.attempts
            )));
            row.locked_by = Set(None);
            row.locked_until = Set(None);
            row.finished_at = Set(Some(now));
            row.updated_at = Set(now);
            row.update(&tx).await?;
            metrics::counter!("jobs_total", "kind" => candidate.kind.to_string(), "outcome" => "dead")
                .increment(1);
            continue;
        }
        row.state = Set(State::Running);
        row.attempts = Set(candidate.attempts + 1);
        row.locked_by = Set(Some(worker.to_owned()));
        row.locked_until = Set(Some(until));
        row.updated_at = Set(now);
        claimed.push(row.update(&tx).await?);
    }
    tx.commit().await?;
    Ok(claimed)
}

/// A std duration as chrono's (durations here are settings-sized; out of range means 5 minutes).
fn delta(duration: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(duration).unwrap_or(chrono::TimeDelta::minutes(5))
}

/// Only the worker that holds a job may record its outcome.
fn held_by(id: i64, worker: &str) -> Condition {
    Condition::all()
        .add(Column::Id.eq(id))
        .add(Column::LockedBy.eq(worker))
        .add(Column::State.eq(State::Running))
}

/// Extends the lease of a job still held by `worker`; false when it is no longer held.
pub async fn heartbeat(
    conn: &DatabaseConnection,
    id: i64,
    worker: &str,
    lease: Duration,
) -> Result<bool, DbErr> {
    let now = time::now();
    let result = Jobs::update_many()
        .col_expr(Column::LockedUntil, Expr::value(now + delta(lease)))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(held_by(id, worker))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records success.
pub async fn complete(conn: &DatabaseConnection, id: i64, worker: &str) -> Result<(), DbErr> {
    let now = time::now();
    Jobs::update_many()
        .col_expr(Column::State, Expr::value(State::Done))
        .col_expr(Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(
            Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::FinishedAt, Expr::value(Some(now)))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(held_by(id, worker))
        .exec(conn)
        .await?;
    Ok(())
}

/// The delay before retry `attempt` (1-based): `base · 2^(attempt-1)`, capped at one hour, with
/// "equal jitter" (half fixed, half random) so failed jobs do not retry in lockstep.
pub fn backoff(base: Duration, attempt: i32, random: u64) -> Duration {
    let exponent = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    let full = base
        .saturating_mul(2_u32.saturating_pow(exponent))
        .min(Duration::from_secs(3600));
    let half = full / 2;
    let half_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX).max(1);
    half + Duration::from_millis(random % half_ms)
}

fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    // Jitter only: a failure of the OS generator just means no jitter.
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes)
}

/// What happened to a failed run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOutcome {
    /// It will run again.
    Retry,
    /// It will not.
    Dead,
}

/// Records a failure: retried after [`backoff`] while attempts remain, else `dead`.
pub async fn fail(
    conn: &DatabaseConnection,
    job: &job::Model,
    worker: &str,
    error: &JobError,
    retry_base: Duration,
) -> Result<FailOutcome, DbErr> {
    let now = time::now();
    let permanent = matches!(error, JobError::Permanent(_));
    let outcome = if permanent || job.attempts >= job.max_attempts {
        FailOutcome::Dead
    } else {
        FailOutcome::Retry
    };
    let mut update = Jobs::update_many()
        .col_expr(Column::LastError, Expr::value(Some(error.to_string())))
        .col_expr(Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(
            Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::UpdatedAt, Expr::value(now));
    update = match outcome {
        FailOutcome::Dead => update
            .col_expr(Column::State, Expr::value(State::Dead))
            .col_expr(Column::FinishedAt, Expr::value(Some(now))),
        FailOutcome::Retry => {
            let delay = backoff(retry_base, job.attempts, random_u64());
            update
                .col_expr(Column::State, Expr::value(State::Failed))
                .col_expr(Column::RunAt, Expr::value(now + delta(delay)))
        }
    };
    update.filter(held_by(job.id, worker)).exec(conn).await?;
    Ok(outcome)
}

/// Gives a claimed job back without counting the attempt (shutdown before it finished).
pub async fn release(
    conn: &DatabaseConnection,
    job: &job::Model,
    worker: &str,
) -> Result<(), DbErr> {
    Jobs::update_many()
        .col_expr(Column::State, Expr::value(State::Queued))
        .col_expr(
            Column::Attempts,
            Expr::value(job.attempts.saturating_sub(1)),
        )
        .col_expr(Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(
            Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::RunAt, Expr::value(time::now()))
        .filter(held_by(job.id, worker))
        .exec(conn)
        .await?;
    Ok(())
}

/// Why an operator's retry was refused.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    /// No such job.
    #[error("not found")]
    NotFound,
    /// The job is not dead or failed.
    #[error("a {0} job cannot be retried")]
    NotRetryable(State),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Puts a `dead` or `failed` job back in the queue, due now, with a fresh set of attempts.
pub async fn retry(conn: &DatabaseConnection, id: i64) -> Result<job::Model, RetryError> {
    let tx = db::begin_write(conn).await?;
    let now = time::now();
    let result = Jobs::update_many()
        .col_expr(Column::State, Expr::value(State::Queued))
        .col_expr(Column::Attempts, Expr::value(0))
        .col_expr(Column::RunAt, Expr::value(now))
        .col_expr(
            Column::FinishedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::State.is_in([State::Dead, State::Failed]))
        .exec(&tx)
        .await?;
    let row = Jobs::find_by_id(id).one(&tx).await?;
    tx.commit().await?;
    match row {
        None => Err(RetryError::NotFound),
        Some(row) if result.rows_affected == 1 => Ok(row),
        Some(row) => Err(RetryError::NotRetryable(row.state)),
    }
}

/// One page of jobs, newest first, optionally in one state.
pub async fn list(
    conn: &DatabaseConnection,
    state: Option<State>,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<job::Model>), DbErr> {
    let mut query = Jobs::find();
    if let Some(state) = state {
        query = query.filter(Column::State.eq(state));
    }
    db::page(conn, query, |q| q.order_by_desc(Column::Id), offset, limit).await
}

/// How many jobs are in each state.
pub async fn depth(conn: &DatabaseConnection) -> Result<Vec<(State, u64)>, DbErr> {
    let rows: Vec<(String, i64)> = Jobs::find()
        .select_only()
        .column(Column::State)
        .column_as(Column::Id.count(), "n")
        .group_by(Column::State)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(State::ALL
        .into_iter()
        .map(|state| {
            let n = rows
                .iter()
                .find(|(name, _)| name == state.as_str())
                .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0));
            (state, n)
        })
        .collect())
}

/// How many jobs are in `state` (through the index on the state).
pub async fn count_in<C: ConnectionTrait>(conn: &C, state: State) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    Jobs::find()
        .filter(Column::State.eq(state.as_str()))
        .count(conn)
        .await
}

/// The periodic clean-up (hourly): deletes jobs that finished — done, or dead — more than
/// `EMPORIUM_JOB_RETENTION` ago, so the table does not grow with every request that ever
/// queued a job. Operators have that long to look at a dead job and retry it.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Cleanup {}

impl Job for Cleanup {
    const KIND: &'static str = "jobs.cleanup";

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        cleanup(&ctx).await
    }
}

async fn cleanup(ctx: &JobContext) -> Result<(), JobError> {
    let cutoff = time::now() - delta(ctx.state.settings.job_retention);
    let conn = &ctx.state.db;
    let tx = conn.begin().await?;
    Jobs::delete_many()
        .filter(Column::State.is_in([State::Done, State::Dead]))
        .filter(Column::FinishedAt.lt(cutoff))
        .exec(&tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_within_bounds() {
        let base = Duration::from_secs(10);
        for attempt in 1..=6 {
            let full = base * 2_u32.pow(u32::try_from(attempt - 1).expect("small"));
            for random in [0, 1, 12_345, u64::MAX] {
                let delay = backoff(base, attempt, random);
                assert!(delay >= full / 2 && delay <= full, "{attempt}: {delay:?}");
            }
        }
    }

    #[test]
    fn backoff_is_capped_at_an_hour() {
        let delay = backoff(Duration::from_secs(10), 40, u64::MAX);
        assert!(delay <= Duration::from_secs(3600));
    }

    #[test]
    fn states_round_trip() {
        for state in State::ALL {
            assert_eq!(State::parse(state.as_str()), Some(state));
        }
        assert_eq!(State::parse("zombie"), None);
    }
}
