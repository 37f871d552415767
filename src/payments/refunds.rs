//! Refunds through the provider — of a payment in full ([`RefundPayment`]), or of an extra
//! capture of an order already paid ([`RefundCapture`]) — what a refund in full does to the
//! payment and its order, and the one payments function orders call.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr};
use serde::{Deserialize, Serialize};

use super::payment::{self, PaymentState};
use super::payment_refund::RefundKind;
use super::provider::{Provider, ProviderError};
use super::store::{self, NewRefund};
use crate::cache::Change;
use crate::events::kind::EventType;
use crate::http::error::ApiError;
use crate::jobs::{Job, JobContext, JobError, queue};
use crate::orders::{self, FullRefund};
use crate::{db, time};

/// Gives back the money of the order's payment if it is paid: queues its refund on `conn` (the
/// caller's transaction — an order being cancelled). `true` when a refund was queued. Decided
/// from the payment as it is in that transaction, so a payment that landed meanwhile is
/// refunded too.
pub async fn refund_if_paid<C: ConnectionTrait>(conn: &C, order_id: &str) -> Result<bool, DbErr> {
    match store::of_order(conn, order_id).await? {
        Some(payment) if payment.status == PaymentState::Paid => {
            // The money goes back through the provider, by a job (it may be slow or down).
            queue::enqueue(
                conn,
                &RefundPayment {
                    payment_id: payment.id,
                },
            )
            .await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Refunds a paid payment in full through its provider (safe to run twice: only a `PAID`
/// payment is refunded, and the provider gets the payment's id as its idempotency key).
#[derive(Debug, Serialize, Deserialize)]
pub struct RefundPayment {
    /// The payment.
    pub payment_id: String,
}

impl Job for RefundPayment {
    const KIND: &'static str = "payments.refund";

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        refund(&ctx, &self.payment_id).await
    }
}

/// Refunds one capture in full through the provider: a second successful payment of an order
/// already paid (recorded as an `EXTRA_CAPTURE` refund when it was found). Safe to run twice:
/// the provider gets the capture's id as its idempotency key (Razorpay refuses a second full
/// refund, which counts as done). The payment and its order are not touched.
#[derive(Debug, Serialize, Deserialize)]
pub struct RefundCapture {
    /// The payment the capture was made for.
    pub payment_id: String,
    /// The provider's id of the extra capture (Stripe's charge, Razorpay's payment).
    pub captured_ref: String,
    /// Its amount, in minor units.
    pub amount: i64,
}

impl Job for RefundCapture {
    const KIND: &'static str = "payments.refund_capture";

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let provider = Provider::from_settings(&ctx.state.settings);
        let key = format!("emporium-refund-{}", self.captured_ref);
        provider
            .refund_capture(&self.captured_ref, self.amount, &key)
            .await
            .map_err(refusal)?;
        tracing::warn!(
            payment = %self.payment_id, capture = %self.captured_ref, amount = self.amount,
            "an extra capture was refunded at the provider"
        );
        Ok(())
    }
}

/// A provider failure as a job outcome: unavailable → try again later; refused → dead, for
/// staff to look at (retrying will not help).
fn refusal(e: ProviderError) -> JobError {
    match e {
        ProviderError::Unavailable(_) => JobError::retry(e),
        ProviderError::Refused(_) => JobError::Permanent(e.to_string()),
    }
}

/// The payment a job names, if it is still `status` (else the job has nothing to do).
pub(super) async fn payment_still(
    db: &DatabaseConnection,
    payment_id: &str,
    status: PaymentState,
) -> Result<Option<payment::Model>, JobError> {
    Ok(store::payment(db, payment_id)
        .await?
        .filter(|p| p.status == status))
}

/// A paid payment given back in full — `amount` of it now, as `event_id` told: the payment
/// moves `PAID → REFUNDED` (once: a conditional update), the refund is recorded, and its order
/// is told ([`orders::payment_refunded`]: cancelled if not shipped, else staff emailed). All on
/// `tx`; returns the cache change of any stock given back, for the caller's commit.
pub(super) async fn refunded_in_full(
    tx: &DatabaseTransaction,
    payment: &payment::Model,
    event_id: &str,
    amount: i64,
    shop: &str,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    let paid = [PaymentState::Paid];
    if !store::move_payment(tx, &payment.id, &paid, PaymentState::Refunded, now).await? {
        tracing::info!(payment = %payment.id, "a refund in full of a payment not paid: nothing to do");
        return Ok(Change::new());
    }
    let refund = NewRefund {
        payment_id: &payment.id,
        event_id,
        captured_ref: None,
        kind: RefundKind::Full,
        amount,
    };
    store::insert_refund(tx, &refund, now).await?;
    super::news::record(tx, EventType::PaymentRefunded, &payment.id, now).await?;
    let full = FullRefund {
        amount: payment.amount,
        shop,
    };
    orders::payment_refunded(tx, &payment.order_id, full, now).await
}

async fn refund(ctx: &JobContext, payment_id: &str) -> Result<(), JobError> {
    let state = &ctx.state;
    let Some(payment) = payment_still(&state.db, payment_id, PaymentState::Paid).await? else {
        return Ok(());
    };
    let provider = Provider::from_settings(&state.settings);
    provider
        .refund(&payment, &format!("emporium-refund-{}", payment.id))
        .await
        .map_err(refusal)?;
    // The dummy confirms at once; a real provider confirms with its `charge.refunded` event.
    if provider.name() == "dummy" {
        let now = time::now();
        let tx = db::begin_write(&state.db).await?;
        let left = payment.amount - store::refunded_so_far(&tx, &payment.id).await?;
        let event_id = format!("dummy_refund_{}", payment.id);
        let change = refunded_in_full(
            &tx,
            &payment,
            &event_id,
            left,
            &state.settings.shop_name,
            now,
        )
        .await
        .map_err(JobError::retry)?;
        state
            .cache
            .commit(tx, change)
            .await
            .map_err(JobError::retry)?;
    }
    Ok(())
}
