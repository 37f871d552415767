//! The verification of payments no webhook settled: the provider is asked, and its answer
//! applied as an event of its own.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::events::{self, Event, EventData};
use super::payment::PaymentState;
use super::provider::{IntentStatus, Provider};
use super::refunds::payment_still;
use crate::jobs::{Job, JobContext, JobError};

/// Asks the provider where a payment still `PENDING` stands, and applies the answer through the
/// same code as the webhook (as an event of its own, so it too applies once). Still in progress
/// → tried again later (the queue's backoff); a payment settled meanwhile → nothing to do. After
/// [`VerifyPayment::MAX_ATTEMPTS`] it is left to staff (the job goes `dead`).
#[derive(Debug, Serialize, Deserialize)]
pub struct VerifyPayment {
    /// The payment.
    pub payment_id: String,
}

/// How long after an intent is made its verification first runs; the queue's backoff spaces the
/// later attempts.
pub const VERIFY_AFTER: std::time::Duration = std::time::Duration::from_secs(10 * 60);

impl VerifyPayment {
    /// When the verification of an intent made at `now` first runs.
    pub fn due(now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(VERIFY_AFTER).unwrap_or_default()
    }
}

impl Job for VerifyPayment {
    const KIND: &'static str = "payments.verify";
    const MAX_ATTEMPTS: i32 = 6;

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        verify(&ctx, &self.payment_id).await
    }
}

async fn verify(ctx: &JobContext, payment_id: &str) -> Result<(), JobError> {
    let db = &ctx.state.db;
    let Some(payment) = payment_still(db, payment_id, PaymentState::Pending).await? else {
        return Ok(());
    };
    let provider = Provider::from_settings(&ctx.state.settings);
    if provider.name() != payment.provider {
        return Err(JobError::Permanent(format!(
            "payment {} is with {}, not the configured provider",
            payment.id, payment.provider
        )));
    }
    let Some(state) = provider
        .intent_state(&payment.provider_ref)
        .await
        .map_err(JobError::retry)?
    else {
        return Ok(());
    };
    let kind = match &state.status {
        IntentStatus::Succeeded => "payment_intent.succeeded",
        IntentStatus::Canceled => "payment_intent.payment_failed",
        IntentStatus::InProgress(other) => {
            return Err(JobError::retry(format!("the payment is still {other}")));
        }
    };
    let event = Event {
        id: format!("verify_{}_{}", payment.id, state.status),
        kind: kind.to_owned(),
        data: EventData {
            object: json!({
                "id": payment.provider_ref,
                "amount": state.amount,
                "currency": state.currency,
            }),
        },
    };
    let context = events::Context {
        db,
        cache: &ctx.state.cache,
        provider: &provider,
        shop: &ctx.state.settings.shop_name,
    };
    events::apply(context, event)
        .await
        .map_err(|e| JobError::retry(e.to_string()))
}
