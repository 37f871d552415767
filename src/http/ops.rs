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
use crate::broker::Broker;
use crate::state::AppState;

/// How long readiness waits for the database before calling it down.
const READY_TIMEOUT: Duration = Duration::from_secs(3);
/// How long readiness waits for the events broker before calling it unavailable.
const BROKER_TIMEOUT: Duration = Duration::from_secs(2);

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
/// otherwise, and 200 again as soon as it recovers. The job queue is in the database. A read
/// replica is shown (`checks.replica`, `replica_lag_seconds`) but never makes it 503.
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
    // With an events broker, the body also says whether it answers (`checks.broker`) and how
    // many events wait for it — but a broker down never makes this 503: the shop keeps
    // selling, and the events wait in the outbox (in the database) until it is back.
    let outbox = match &state.broker {
        Some(broker) => broker_report(broker, &state, &mut checks).await,
        None => serde_json::Map::new(),
    };
    // With a read replica: its state (`checks.replica`: up, lagging or down) and lag. Like the
    // broker, never a reason for 503: reads go to the primary while it is lagging or down.
    let mut outbox = outbox;
    if let Some(replica) = &state.replica {
        let report = replica.report();
        checks.insert("replica".to_owned(), report.state.as_str().into());
        let lag = report.lag.map(|lag| lag.as_secs_f64());
        outbox.insert("replica_lag_seconds".to_owned(), lag.into());
    }
    let mut body = if failures.is_empty() {
        json!({"status": "ok", "checks": checks})
    } else {
        json!({"detail": UNAVAILABLE, "checks": checks})
    };
    if let Some(body) = body.as_object_mut() {
        body.extend(outbox);
    }
    if failures.is_empty() {
        Json(body).into_response()
    } else {
        tracing::warn!(failures = %failures.join("; "), "not ready");
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    }
}

/// Whether the broker answers within [`BROKER_TIMEOUT`] (into `checks`), and the outbox's
/// backlog as fields of the body (none when the database cannot say).
async fn broker_report(
    broker: &Broker,
    state: &AppState,
    checks: &mut serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    let answer = match tokio::time::timeout(BROKER_TIMEOUT, broker.ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the events broker does not answer; events wait in the outbox");
            "unavailable"
        }
        Err(_) => {
            tracing::warn!("the events broker does not answer; events wait in the outbox");
            "unavailable"
        }
    };
    checks.insert("broker".to_owned(), answer.into());
    let mut fields = serde_json::Map::new();
    if let Ok(Ok(backlog)) = tokio::time::timeout(READY_TIMEOUT, broker.backlog(&state.db)).await {
        fields.insert("events_unpublished".to_owned(), backlog.unpublished.into());
        fields.insert(
            "oldest_unpublished_seconds".to_owned(),
            backlog.oldest_seconds.into(),
        );
    }
    fields
}

/// Prometheus text exposition of the process's metrics, with the job queue's depth by state
/// (with a broker, the outbox's backlog; with a read replica, its lag and whether it is used) read from the database at each scrape (so it
/// counts every worker's jobs and events).
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
    if let Some(broker) = &state.broker {
        match broker.backlog(&state.db).await {
            #[expect(clippy::cast_precision_loss, reason = "a gauge is a float")]
            Ok(backlog) => {
                metrics::gauge!("events_unpublished").set(backlog.unpublished as f64);
                metrics::gauge!("events_unpublished_oldest_seconds").set(backlog.oldest_seconds);
            }
            Err(e) => tracing::warn!(error = %e, "could not read the events outbox's backlog"),
        }
    }
    if let Some(replica) = &state.replica {
        let report = replica.report();
        let lag = report.lag.map_or(0.0, |lag| lag.as_secs_f64());
        metrics::gauge!("db_replica_lag_seconds").set(lag);
        metrics::gauge!("db_replica_usable").set(if replica.usable() { 1.0 } else { 0.0 });
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
