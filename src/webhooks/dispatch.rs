//! The dispatcher: turns the outbox's events into deliveries, one per active endpoint that
//! subscribes to the event's type, in the events' order. Each batch is one transaction that
//! locks its events (another worker's dispatcher skips them), writes the deliveries and marks
//! the events dispatched, so an event becomes its deliveries exactly once whichever worker
//! dies when. An endpoint that is off when an event is dispatched does not get it.

use std::time::Duration;

use sea_orm::{DatabaseConnection, DbErr};

use super::delivery_store::{self, NewDelivery};
use super::endpoint;
use super::store;
use crate::events::kind::EventType;
use crate::events::service as events;
use crate::jobs::Stop;
use crate::state::AppState;
use crate::{db, time};

/// Events per transaction.
const BATCH: u64 = 200;

/// The longest wait between two passes while the database does not answer.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Runs until `stop`: a pass, then the poll interval's sleep unless the batch was full.
pub async fn run(state: AppState, mut stop: Stop) {
    let poll = state.settings.job_poll_interval;
    let mut wait = poll;
    let mut gauged: Option<std::time::Instant> = None;
    loop {
        if gauged.is_none_or(|at| at.elapsed() >= GAUGE_EVERY) {
            gauge(&state.db).await;
            gauged = Some(std::time::Instant::now());
        }
        match dispatch(&state.db).await {
            Ok(n) if n == BATCH as usize => continue,
            Ok(_) => wait = poll,
            Err(e) => {
                wait = (wait * 2).min(MAX_BACKOFF);
                tracing::warn!(error = %e, retry_in = ?wait, "could not dispatch events to webhooks");
            }
        }
        if stop.sleep(wait).await {
            break;
        }
    }
}

/// How often the backlog's gauges are read.
const GAUGE_EVERY: Duration = Duration::from_secs(10);

/// Sets the gauges of what waits: the oldest event not yet made into deliveries, and the
/// oldest pending delivery (0 when none).
async fn gauge(db: &DatabaseConnection) {
    let now = time::now();
    let age = |at: Option<chrono::DateTime<chrono::Utc>>| {
        at.map_or(0.0, |at| (now - at).as_seconds_f64().max(0.0))
    };
    match events::oldest_undispatched(db).await {
        Ok(at) => metrics::gauge!("events_undispatched_oldest_seconds").set(age(at)),
        Err(e) => tracing::debug!(error = %e, "could not read the outbox's backlog"),
    }
    match delivery_store::oldest_pending(db).await {
        Ok(at) => metrics::gauge!("webhook_deliveries_oldest_pending_seconds").set(age(at)),
        Err(e) => tracing::debug!(error = %e, "could not read the deliveries' backlog"),
    }
}

/// One batch: the number of events dispatched.
pub async fn dispatch(db: &DatabaseConnection) -> Result<usize, DbErr> {
    // A plain read first: an idle shop takes no write lock (SQLite has one for everyone).
    if events::oldest_undispatched(db).await?.is_none() {
        return Ok(0);
    }
    let tx = db::begin_write(db).await?;
    let batch = events::undispatched(&tx, BATCH).await?;
    if batch.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }
    let endpoints = store::active(&tx).await?;
    let subscribers: Vec<(i64, Vec<String>)> = endpoints
        .iter()
        .map(|e: &endpoint::Model| (e.id, e.event_names()))
        .collect();
    let mut wanted = Vec::new();
    for event in &batch {
        if event.event_type == EventType::Ping {
            continue;
        }
        let name = event.event_type.as_str();
        for (endpoint_id, names) in &subscribers {
            if names.iter().any(|n| n == "*" || *n == name) {
                wanted.push(NewDelivery {
                    endpoint_id: *endpoint_id,
                    event_id: event.id.clone(),
                    event_type: name.clone(),
                });
            }
        }
    }
    let now = time::now();
    delivery_store::insert_new(&tx, wanted, now).await?;
    events::mark_dispatched(&tx, batch.iter().map(|e| e.position).collect(), now).await?;
    tx.commit().await?;
    Ok(batch.len())
}
