//! What an attempt leaves behind, in one transaction: the delivery's status, attempts, last
//! answer and next try (the retry schedule); the endpoint's run of failures — a success ends
//! it, and the [`DISABLE_AFTER`]th failure in a row turns the endpoint off and mails staff.

use sea_orm::DbErr;

use super::delivery::{self, DeliveryStatus};
use super::delivery_store::{self, Recorded};
use super::schedule::next_attempt;
use super::sender::Attempt;
use super::store;
use crate::accounts::service::staff_emails;
use crate::email::{self, WEBHOOK_DISABLED};
use crate::state::AppState;
use crate::{db, time};

/// Failed attempts in a row (retries, manual retries and pings) that turn an endpoint off.
pub const DISABLE_AFTER: i32 = 20;

/// Why an attempt was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The worker, on schedule: a failure is retried later, or given up after three days.
    Schedule,
    /// Staff asked for it again: a failure leaves a delivered or failed delivery as it was,
    /// and a pending one on its schedule.
    Manual,
    /// A ping: tried once, never retried.
    Ping,
}

/// Records `attempt` of `delivery`; the delivery as stored after it.
pub async fn record(
    state: &AppState,
    delivery: &delivery::Model,
    attempt: &Attempt,
    trigger: Trigger,
) -> Result<delivery::Model, DbErr> {
    let now = time::now();
    let (status, next_attempt_at) = if attempt.delivered {
        (DeliveryStatus::Delivered, None)
    } else {
        match (trigger, delivery.status) {
            (Trigger::Ping, _) => (DeliveryStatus::Failed, None),
            (Trigger::Manual, DeliveryStatus::Delivered | DeliveryStatus::Failed) => {
                (delivery.status, None)
            }
            // A pending one keeps its place in the schedule: pressing retry delays nothing.
            (Trigger::Manual, DeliveryStatus::Pending) => {
                (DeliveryStatus::Pending, delivery.next_attempt_at)
            }
            _ => {
                let random = getrandom::u64().unwrap_or(100);
                match next_attempt(delivery.created_at, delivery.attempts + 1, now, random) {
                    Some(next) => (DeliveryStatus::Pending, Some(next)),
                    None => (DeliveryStatus::Failed, None),
                }
            }
        }
    };
    let recorded = Recorded {
        status,
        status_code: attempt.status_code.map(i32::from),
        error: attempt.error.clone(),
        duration_ms: attempt.duration_ms,
        next_attempt_at,
        at: now,
    };
    // Two short transactions, each tried again if the database broke a deadlock: the
    // delivery's row, then the endpoint's (never both locks at once, so a claimer holding
    // endpoint locks cannot wait in a circle with a recorder).
    let recorded_it =
        again(|| delivery_store::record(&state.db, delivery.id, delivery.locked_until, &recorded))
            .await?;
    if !recorded_it {
        // Our lease ran out and another worker holds the delivery: its attempt counts.
        tracing::warn!(
            delivery = delivery.id,
            "an attempt outlived its lease; not recorded"
        );
        return Ok(delivery.clone());
    }
    again(|| count(state, delivery, attempt, now)).await?;
    let outcome = match status {
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Pending => "retry",
        DeliveryStatus::Failed => "failed",
    };
    metrics::counter!("webhook_deliveries_total", "outcome" => outcome).increment(1);
    Ok(delivery::Model {
        status,
        attempts: delivery.attempts + 1,
        last_status_code: recorded.status_code,
        last_error: recorded.error,
        duration_ms: Some(recorded.duration_ms),
        next_attempt_at,
        locked_until: None,
        updated_at: now,
        ..delivery.clone()
    })
}

/// The endpoint's side of an attempt, in one transaction: the run of failures ended or one
/// longer, and the endpoint turned off (staff mailed) by the failure that makes it too long.
async fn count(
    state: &AppState,
    delivery: &delivery::Model,
    attempt: &Attempt,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    let tx = db::begin_write(&state.db).await?;
    if attempt.delivered {
        store::reset_failures(&tx, delivery.endpoint_id).await?;
    } else {
        store::count_failure(&tx, delivery.endpoint_id).await?;
        let reason = format!(
            "Turned off after {DISABLE_AFTER} failed attempts in a row; the last: {}",
            attempt.error.as_deref().unwrap_or("no answer")
        );
        if let Some(endpoint) =
            store::disable_if_failing(&tx, delivery.endpoint_id, DISABLE_AFTER, &reason, now)
                .await?
        {
            tracing::warn!(
                endpoint = endpoint.id,
                "webhook endpoint turned off after failing"
            );
            mail_staff(state, &tx, &endpoint, attempt).await?;
        }
    }
    tx.commit().await
}

/// Runs `work` again (at most three times in all) while the database reports contention —
/// a deadlock it broke, a lock wait that timed out — which left nothing written.
async fn again<T, F, Fut>(mut work: F) -> Result<T, DbErr>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, DbErr>>,
{
    let mut tries = 1;
    loop {
        match work().await {
            Err(e) if db::is_contention(&e) && tries < 3 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20 * tries)).await;
            }
            other => return other,
        }
    }
}

/// Queues the "endpoint turned off" email to every active staff member, in `tx`.
async fn mail_staff(
    state: &AppState,
    tx: &sea_orm::DatabaseTransaction,
    endpoint: &super::endpoint::Model,
    attempt: &Attempt,
) -> Result<(), DbErr> {
    let (id, failures) = (endpoint.id.to_string(), DISABLE_AFTER.to_string());
    let url = site_of(&endpoint.url);
    let error = attempt.error.as_deref().unwrap_or("no answer");
    for address in staff_emails(tx).await? {
        let message = WEBHOOK_DISABLED
            .render(
                &address,
                &[
                    ("shop", state.settings.shop_name.as_str()),
                    ("url", url.as_str()),
                    ("id", id.as_str()),
                    ("failures", failures.as_str()),
                    ("error", error),
                ],
            )
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        email::job::enqueue(tx, message).await?;
    }
    Ok(())
}

/// A URL's scheme, host and port only: a token a receiver put in its path or query (as
/// Slack's and Zapier's hook URLs do) stays out of mail and job payloads.
fn site_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => parsed.origin().ascii_serialization(),
        Err(_) => "(an invalid URL)".to_owned(),
    }
}
