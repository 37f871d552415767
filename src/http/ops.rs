//! Operations endpoints: liveness, readiness, Prometheus metrics, the OpenAPI document and its
//! interactive page.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::error::UNAVAILABLE;
use crate::state::AppState;

/// How long readiness waits for the database before calling it down.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

/// Liveness answer.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `"ok"` while the process serves.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: 200 while the process runs. Touches nothing.
#[utoipa::path(get, path = "/health/", tag = "operations",
    responses((status = 200, description = "The process is running", body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: 200 only while the database (and Redis, when configured) answers; 503
/// otherwise, and 200 again as soon as it recovers. The job queue is in the database.
#[utoipa::path(get, path = "/ready/", tag = "operations",
    responses(
        (status = 200, description = "Every dependency answers"),
        (status = 503, description = "A dependency does not answer", body = crate::http::openapi::ErrorDetail),
    ))]
pub async fn ready(State(state): State<AppState>) -> Response {
    let database = match tokio::time::timeout(READY_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {READY_TIMEOUT:?}")),
    };
    let mut checks = serde_json::Map::new();
    let mut failures = Vec::new();
    let mut record = |name: &str, result: Result<(), String>| {
        let answer = match result {
            Ok(()) => "ok",
            Err(cause) => {
                failures.push(format!("{name}: {cause}"));
                "unavailable"
            }
        };
        checks.insert(name.to_owned(), answer.into());
    };
    record("database", database);
    if state.throttle.is_shared() {
        let redis = match tokio::time::timeout(READY_TIMEOUT, state.throttle.ping()).await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no answer within {READY_TIMEOUT:?}")),
        };
        record("redis", redis);
    }
    if failures.is_empty() {
        Json(json!({"status": "ok", "checks": checks})).into_response()
    } else {
        tracing::warn!(failures = %failures.join("; "), "not ready");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"detail": UNAVAILABLE, "checks": checks})),
        )
            .into_response()
    }
}

/// Prometheus text exposition of the process's metrics, with the job queue's depth by state
/// read from the database at each scrape (so it counts every worker's jobs).
pub async fn metrics(State(state): State<AppState>) -> Response {
    match crate::jobs::queue::depth(&state.db).await {
        Ok(depth) => {
            for (job_state, n) in depth {
                #[expect(clippy::cast_precision_loss, reason = "a gauge is a float")]
                metrics::gauge!("jobs_queue_depth", "state" => job_state.as_str()).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not read the job queue depth"),
    }
    state.metrics.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
