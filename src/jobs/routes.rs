//! Staff endpoints for the job queue: list (by state) and retry.

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::queue::{self, RetryError};
use super::{Kind, State as JobState, job};
use crate::auth::StaffUser;
use crate::http::error::{ApiError, conflict, field_error, not_found};
use crate::http::extract::PathId;
use crate::http::openapi::{ErrorDetail, ValidationErrors};
use crate::http::pagination::{Page, Pagination};
use crate::http::{ApiResult, route};
use crate::state::AppState;

/// The staff routes of `/api/admin/jobs/`.
pub fn router() -> Router<AppState> {
    let router = route(Router::new(), "/api/admin/jobs/", get(list_jobs));
    route(router, "/api/admin/jobs/{id}/retry/", post(retry_job))
}

/// A job as operators see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: i64,
    #[schema(value_type = String, example = "email.send")]
    pub kind: Kind,
    /// `failed` will run again; `dead` waits for an operator.
    pub state: JobState,
    pub attempts: i32,
    pub max_attempts: i32,
    /// The job's input (the raw text when it is not JSON).
    #[schema(value_type = Object)]
    pub payload: Value,
    pub last_error: Option<String>,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub run_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub updated_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "crate::time::serialize_option")]
    #[schema(value_type = Option<String>)]
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<job::Model> for JobView {
    fn from(job: job::Model) -> JobView {
        JobView {
            payload: serde_json::from_str(&job.payload).unwrap_or(Value::String(job.payload)),
            id: job.id,
            kind: job.kind,
            state: job.state,
            attempts: job.attempts,
            max_attempts: job.max_attempts,
            last_error: job.last_error,
            run_at: job.run_at,
            created_at: job.created_at,
            updated_at: job.updated_at,
            finished_at: job.finished_at,
        }
    }
}

/// `?state=` of the job list.
#[derive(Debug, Deserialize)]
pub struct JobFilter {
    state: Option<String>,
}

/// Background jobs, newest first, optionally in one state (e.g. `dead`).
#[utoipa::path(get, path = "/api/admin/jobs/", tag = "operations", security(("jwt" = [])),
    params(
        ("state" = Option<JobState>, Query),
        ("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query),
    ),
    responses(
        (status = 200, description = "A page of jobs", body = Page<JobView>),
        (status = 400, description = "Unknown state", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
    ))]
pub async fn list_jobs(
    State(state): State<AppState>,
    _staff: StaffUser,
    Query(filter): Query<JobFilter>,
    pagination: Pagination,
) -> ApiResult<Json<Page<JobView>>> {
    let wanted = match filter.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(name) => Some(JobState::parse(name).ok_or_else(|| {
            field_error(
                "state",
                format!("Select a valid choice. {name} is not one of the available choices."),
            )
        })?),
    };
    let (count, rows) =
        queue::list(&state.db, wanted, pagination.offset(), pagination.limit()).await?;
    Ok(Json(pagination.page(
        count,
        rows.into_iter().map(JobView::from).collect(),
    )?))
}

/// Run a `dead` or `failed` job again, now, with a fresh set of attempts.
#[utoipa::path(post, path = "/api/admin/jobs/{id}/retry/", tag = "operations", security(("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Queued again", body = JobView),
        (status = 404, description = "No such job", body = ErrorDetail),
        (status = 409, description = "The job is not dead or failed", body = ErrorDetail),
        (status = 403, description = "Not staff", body = ErrorDetail),
    ))]
pub async fn retry_job(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
) -> ApiResult<Json<JobView>> {
    match queue::retry(&state.db, id).await {
        Ok(job) => Ok(Json(job.into())),
        Err(RetryError::NotFound) => Err(not_found()),
        Err(RetryError::NotRetryable(current)) => Err(conflict(format!(
            "Only dead or failed jobs can be retried; this one is {current}."
        ))),
        Err(RetryError::Database(e)) => Err(ApiError::from(e)),
    }
}
