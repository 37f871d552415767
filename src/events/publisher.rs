//! The relay from the outbox to the broker (`EMPORIUM_EVENTS_URL`): a background loop of every
//! worker that publishes the events the broker has not confirmed, in the order they were
//! written, and marks each `published_at` once the broker confirmed it.
//!
//! - **At least once.** An event is marked only after the broker's confirm; a process killed
//!   between the two publishes it again (JetStream drops the copy by its `Nats-Msg-Id`; a
//!   RabbitMQ consumer dedupes on `message_id`). Nothing is lost: the outbox is in the database.
//! - **In order per resource.** Events are taken by `position`: a resource's next event is
//!   written under the row lock its previous one's change held, so it comes later and is never
//!   visible without it. One publisher runs at a time across all workers (the lease
//!   [`LEASE_NAME`]), publishing one event after the other; a failure ends the batch there, and
//!   the next attempt starts again from that event.
//! - **A broker down** leaves the events waiting; the loop retries with a backoff capped at
//!   30 s, and `/ready/` shows the backlog.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::event;
use super::kind::EventType;
use super::store;
use super::views::EventView;
use crate::broker::{Backlog, BacklogReader, Broker, BrokerError, Message};
use crate::jobs::{Registry, Stop, lease};
use crate::state::AppState;
use crate::time;

/// The loop's name, and its lease's.
pub const LEASE_NAME: &str = "events.publish";
/// Events read per batch.
const BATCH: u64 = 100;
/// The longest wait between attempts while the broker fails.
const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// Registers the publisher among `registry`'s background loops. It runs only when a broker
/// is configured (without one it returns at once).
pub fn register(registry: &mut Registry) {
    registry.background(LEASE_NAME, run);
}

/// Reads the outbox's backlog, for `/ready/` and `/metrics`.
pub fn backlog_reader() -> BacklogReader {
    Arc::new(|db| {
        Box::pin(async move {
            let (unpublished, oldest) = store::unpublished_backlog(&db).await?;
            let oldest_seconds = oldest.map_or(0.0, |at| {
                #[expect(clippy::cast_precision_loss, reason = "seconds as a gauge")]
                let ms = (time::now() - at).num_milliseconds().max(0) as f64;
                ms / 1000.0
            });
            Ok(Backlog {
                unpublished,
                oldest_seconds,
            })
        })
    })
}

/// Why a batch stopped early.
#[derive(Debug, thiserror::Error)]
enum PublishError {
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("broker: {0}")]
    Broker(#[from] BrokerError),
}

/// What one round did.
enum Round {
    /// Published a batch (more may wait).
    Published,
    /// Nothing to publish.
    Idle,
    /// Another worker holds the lease.
    NotHolder,
}

/// How long the lease lasts: a publish takes at most the connect timeout and twice the
/// outgoing one (connecting, then the publish), and starts with at least two thirds of the
/// lease left (it is renewed once a third has passed) — so it ends before the lease could
/// expire, and two publishers never overlap. 46 s with the default timeouts: how long the
/// events wait after a worker was killed before another takes over.
fn lease_ttl(state: &AppState) -> Duration {
    let timeouts = state.settings.timeouts;
    (2 * (timeouts.connect + 2 * timeouts.outgoing)).max(Duration::from_secs(30))
}

/// The wait after `failures` failed rounds in a row: 1 s, 2 s, 4 s, … up to 30 s.
fn backoff(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(5);
    Duration::from_secs(1 << exponent).min(BACKOFF_CAP)
}

/// The loop: rounds until shutdown, then gives the lease up so another worker takes over.
pub async fn run(state: AppState, mut stop: Stop) {
    let Some(broker) = state.broker.clone() else {
        return;
    };
    let holder = format!("publisher-{}", uuid::Uuid::new_v4().simple());
    let idle = state.settings.job_poll_interval;
    tracing::info!(broker = %broker.describe(), "publishing events to the broker");
    let mut failures = 0;
    while !stop.is_set() {
        let wait = match round(&state, &broker, &holder, &stop).await {
            Ok(Round::Published) => {
                failures = 0;
                Duration::ZERO
            }
            Ok(Round::Idle) => {
                failures = 0;
                idle
            }
            Ok(Round::NotHolder) => idle.max(Duration::from_millis(500)),
            Err(e) => {
                failures += 1;
                let wait = backoff(failures);
                tracing::warn!(
                    error = %e,
                    retry_in = ?wait,
                    "events not published: they wait in the outbox"
                );
                wait
            }
        };
        if !wait.is_zero() && stop.sleep(wait).await {
            break;
        }
    }
    if let Err(e) = lease::release(&state.db, LEASE_NAME, &holder).await {
        tracing::warn!(error = %e, "could not give the publisher's lease up; it expires");
    }
}

/// Takes (or renews) the lease, then publishes one batch in order, stopping at the first
/// failure; marks what the broker confirmed.
async fn round(
    state: &AppState,
    broker: &Broker,
    holder: &str,
    stop: &Stop,
) -> Result<Round, PublishError> {
    let ttl = lease_ttl(state);
    if !lease::take(&state.db, LEASE_NAME, holder, ttl).await? {
        return Ok(Round::NotHolder);
    }
    let mut renewed = Instant::now();
    let batch = store::unpublished(&state.db, BATCH).await?;
    if batch.is_empty() {
        return Ok(Round::Idle);
    }
    let mut confirmed = Vec::with_capacity(batch.len());
    let mut sent = 0_u64;
    let mut outcome = Ok(());
    for row in &batch {
        if stop.is_set() {
            break;
        }
        if renewed.elapsed() > ttl / 3 {
            match lease::take(&state.db, LEASE_NAME, holder, ttl).await {
                Ok(true) => renewed = Instant::now(),
                Ok(false) => break,
                Err(e) => {
                    outcome = Err(e.into());
                    break;
                }
            }
        }
        if let Err(e) = publish(broker, row).await {
            outcome = Err(e.into());
            break;
        }
        confirmed.push(row.position);
        sent += u64::from(row.event_type != EventType::Ping);
    }
    // Marked even after a failure: what the broker confirmed is not published again.
    store::mark_published(&state.db, confirmed, time::now()).await?;
    metrics::counter!("events_published_total").increment(sent);
    outcome.map(|()| Round::Published)
}

/// Publishes one event; a `ping` (only a webhook test sends one) is not for the broker and
/// is only marked.
async fn publish(broker: &Broker, row: &event::Model) -> Result<(), BrokerError> {
    if row.event_type == EventType::Ping {
        return Ok(());
    }
    let body = EventView::body(row);
    let kind = row.event_type.as_str();
    broker
        .publish(Message {
            id: &row.id,
            kind: &kind,
            body: body.as_bytes(),
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_a_second_up_to_thirty() {
        let waits: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
