//! The delivery pool each worker runs beside its jobs: it claims due deliveries — at most
//! `EMPORIUM_WEBHOOK_WORKERS` at once in this process and `EMPORIUM_WEBHOOK_ENDPOINT_CONCURRENCY`
//! per endpoint over every worker — and sends them. A delivery never takes a job slot, so a
//! dead endpoint with thousands waiting holds only its own few slots: other endpoints and
//! every job kind go on. A claim is a lease: a worker that dies mid-attempt leaves a delivery
//! that is claimed again when the lease runs out (at least once).

use std::time::Duration;

use chrono::TimeDelta;
use tokio::task::JoinSet;

use super::delivery;
use super::delivery_store;
use super::outcome::{self, Trigger};
use super::service;
use crate::jobs::Stop;
use crate::state::AppState;
use crate::time;

/// The longest wait between two claims while the database does not answer.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How long a claim holds: the attempt's timeout and a margin to record it.
pub fn lease(state: &AppState) -> TimeDelta {
    TimeDelta::from_std(state.settings.webhook_delivery.timeout).unwrap_or(TimeDelta::seconds(10))
        + TimeDelta::seconds(10)
}

/// Runs until `stop`, then lets the attempts in flight finish (the worker's grace period
/// bounds that; an attempt cut short is claimed again after its lease).
pub async fn run(state: AppState, mut stop: Stop) {
    let poll = state.settings.job_poll_interval;
    let limit = state.settings.webhook_delivery.workers;
    let per_endpoint = state.settings.webhook_delivery.per_endpoint;
    let mut running: JoinSet<()> = JoinSet::new();
    let mut wait = poll;
    loop {
        let free = limit.saturating_sub(running.len());
        let mut full = false;
        if free > 0 {
            let now = time::now();
            match delivery_store::claim_due(&state.db, free, per_endpoint, now, now + lease(&state))
                .await
            {
                Ok(claimed) => {
                    wait = poll;
                    full = claimed.len() == free;
                    for delivery in claimed {
                        running.spawn(deliver(state.clone(), delivery));
                    }
                }
                Err(e) => {
                    wait = (wait * 2).min(MAX_BACKOFF);
                    tracing::warn!(error = %e, retry_in = ?wait, "could not claim webhook deliveries");
                }
            }
        }
        if full && running.len() < limit {
            continue;
        }
        tokio::select! {
            () = stop.wait() => break,
            Some(_) = running.join_next(), if !running.is_empty() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
    while running.join_next().await.is_some() {}
}

/// Sends one claimed delivery and records how it went.
async fn deliver(state: AppState, delivery: delivery::Model) {
    let attempt = match service::send(&state, &delivery).await {
        Ok(attempt) => attempt,
        Err(e) => {
            tracing::warn!(delivery = delivery.id, error = ?e, "could not prepare a webhook delivery; it is tried again when its lease runs out");
            return;
        }
    };
    if let Err(e) = outcome::record(&state, &delivery, &attempt, Trigger::Schedule).await {
        tracing::warn!(delivery = delivery.id, error = %e, "could not record all of a webhook delivery's attempt");
    }
}
