//! Money the provider reports given back, and money it took twice — as its events tell, in the
//! event's transaction (so each applies once):
//! - a refund of the payment's own capture in full (Stripe's `charge.refunded` with `refunded:
//!   true`, Razorpay's refund events once `refund_status` is `full`) refunds the payment and
//!   tells orders (an order not shipped is cancelled, a shipped one emails staff); a partial
//!   one changes no status. Each is recorded with its amount.
//! - a second successful capture of an order already paid (another Razorpay payment of the same
//!   Razorpay order, a Stripe charge other than the one that paid) is recorded, logged, and
//!   refunded in full at once by a [`RefundCapture`] job — once per capture, whichever event
//!   reports it.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, TransactionTrait};
use serde_json::Value;

use super::payment::{self, PaymentState};
use super::payment_refund::RefundKind;
use super::refunds::{RefundCapture, refunded_in_full};
use super::store::{self, NewRefund};
use crate::cache::Change;
use crate::db;
use crate::http::error::ApiError;
use crate::jobs::queue;

/// What an event told: its id and its object (in Stripe's shape; Razorpay's read into it).
#[derive(Clone, Copy, Debug)]
pub(super) struct Told<'a> {
    pub(super) event_id: &'a str,
    pub(super) object: &'a Value,
}

/// The provider's id of the capture an event is about: Razorpay's payment (as read into
/// `captured`), else Stripe's charge (a payment intent's `latest_charge`, or a charge itself).
pub(super) fn capture_of(object: &Value) -> Option<&str> {
    let text = |key: &str| object.get(key).and_then(Value::as_str);
    text("captured")
        .or_else(|| text("latest_charge"))
        .or_else(|| {
            (text("object") == Some("charge"))
                .then(|| text("id"))
                .flatten()
        })
}

/// A refund the provider reports (`charge.refunded`) for `payment`. Returns the cache change
/// of any stock given back.
pub(super) async fn refunded(
    tx: &DatabaseTransaction,
    told: Told<'_>,
    payment: &payment::Model,
    shop: &str,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    let Told { event_id, object } = told;
    if let (Some(capture), Some(own)) = (capture_of(object), payment.captured_ref.as_deref())
        && capture != own
    {
        tracing::info!(event = %event_id, %capture, "a refund of another capture (an extra one given back)");
        return Ok(Change::new());
    }
    let before = store::refunded_so_far(tx, &payment.id).await?;
    // Stripe says how much of the charge is refunded so far; Razorpay also what this refund is.
    let so_far_reported = object.get("amount_refunded").and_then(Value::as_i64);
    let this = object.get("refund_amount").and_then(Value::as_i64);
    let so_far = so_far_reported
        .or(this.map(|t| before + t))
        .unwrap_or(payment.amount);
    let amount = this.unwrap_or(so_far - before).max(0);
    let full = object
        .get("refunded")
        .and_then(Value::as_bool)
        .unwrap_or(so_far >= payment.amount);
    if full {
        return refunded_in_full(tx, payment, event_id, amount, shop, now).await;
    }
    let refund = NewRefund {
        payment_id: &payment.id,
        event_id,
        captured_ref: None,
        kind: RefundKind::Partial,
        amount,
    };
    store::insert_refund(tx, &refund, now).await?;
    tracing::warn!(
        event = %event_id, payment = %payment.id, amount, so_far,
        "a partial refund at the provider: recorded, no status changes"
    );
    Ok(Change::new())
}

/// A success event for a payment that is paid already (or refunded): when it names a capture
/// other than the payment's own, that capture is an extra payment of the order — recorded and
/// refunded in full at once. Anything else (the same capture told again, or no capture named)
/// changes nothing.
pub(super) async fn extra_capture(
    tx: &DatabaseTransaction,
    told: Told<'_>,
    payment: &payment::Model,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let Told { event_id, object } = told;
    let Some(capture) = capture_of(object) else {
        return Ok(());
    };
    // As it is now: a parallel event may have paid it a moment ago.
    let Some(current) = store::payment(tx, &payment.id).await? else {
        return Ok(());
    };
    let settled = matches!(current.status, PaymentState::Paid | PaymentState::Refunded);
    let own = current.captured_ref.as_deref();
    if !settled || own.is_none_or(|own| own == capture) {
        return Ok(());
    }
    let amount = object
        .get("amount")
        .and_then(Value::as_i64)
        .unwrap_or(payment.amount);
    let refund = NewRefund {
        payment_id: &payment.id,
        event_id,
        captured_ref: Some(capture),
        kind: RefundKind::ExtraCapture,
        amount,
    };
    // In a savepoint: a unique violation (this capture is being refunded already, told by
    // another event) must not abort the event's transaction on PostgreSQL.
    let savepoint = tx.begin().await?;
    match store::insert_refund(&savepoint, &refund, now).await {
        Ok(()) => savepoint.commit().await?,
        Err(e) if db::is_unique_violation(&e) => {
            savepoint.rollback().await?;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    tracing::warn!(
        event = %event_id, order = %payment.order_id, payment = %payment.id, %capture, amount,
        "a second payment of an order already paid: refunding it in full"
    );
    let job = RefundCapture {
        payment_id: payment.id.clone(),
        captured_ref: capture.to_owned(),
        amount,
    };
    queue::enqueue(tx, &job).await?;
    Ok(())
}
