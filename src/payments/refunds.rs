//! Refunds in full through the provider, and the one payments function orders call.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use serde::{Deserialize, Serialize};

use super::payment::{self, PaymentState};
use super::provider::{Provider, ProviderError};
use super::store;
use crate::jobs::{Job, JobContext, JobError, queue};
use crate::orders::{self, PaymentNews};
use crate::time;

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

/// Marks a paid payment and its order `REFUNDED` (the provider confirmed).
pub(super) async fn mark_refunded<C: ConnectionTrait>(
    conn: &C,
    payment: &payment::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let paid = [PaymentState::Paid];
    if store::move_payment(conn, &payment.id, &paid, PaymentState::Refunded, now).await? {
        orders::payment_changed(conn, &payment.order_id, PaymentNews::Refunded, now).await?;
    }
    Ok(())
}

async fn refund(ctx: &JobContext, payment_id: &str) -> Result<(), JobError> {
    let db = &ctx.state.db;
    let Some(payment) = payment_still(db, payment_id, PaymentState::Paid).await? else {
        return Ok(());
    };
    let provider = Provider::from_settings(&ctx.state.settings);
    provider
        .refund(&payment, &format!("emporium-refund-{}", payment.id))
        .await
        .map_err(|e| match e {
            ProviderError::Unavailable(_) => JobError::retry(e),
            // Refused: retrying will not help; the job stays dead for staff to look at.
            ProviderError::Refused(_) => JobError::Permanent(e.to_string()),
        })?;
    // The dummy confirms at once; a real provider confirms with its `charge.refunded` event.
    if provider.name() == "dummy" {
        mark_refunded(db, &payment, time::now()).await?;
    }
    Ok(())
}
