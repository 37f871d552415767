//! A payment given back in full — refunded at the provider, or by our own refund job — as the
//! orders see it: an order not yet shipped is cancelled (stock and coupon use back, once, by the
//! one conditional move `PENDING`/`PAID → CANCELLED`, no second refund queued); one already
//! shipped or delivered keeps its status and every active staff member is emailed; either way
//! its `payment_status` is `REFUNDED`. All in the payment's transaction.

use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;

use super::lifecycle::{Canceller, cancel_in};
use super::status::{OrderStatus, PaymentStatus};
use super::store;
use crate::cache::Change;
use crate::email::{self, REFUND_ALERT};
use crate::http::error::{ApiError, internal};
use crate::money::{Currency, Money};

/// What payments tell orders of a refund in full.
#[derive(Clone, Copy, Debug)]
pub struct FullRefund<'a> {
    /// The money given back, in minor units (for the staff email).
    pub amount: i64,
    /// The shop's name (for the staff email).
    pub shop: &'a str,
}

/// Records that order `order_id`'s payment went back in full, on `tx` (the payment's
/// transaction): cancels the order if it has not shipped, else emails staff. Returns the cache
/// change of the stock given back (empty when none), for the caller's commit.
pub async fn payment_refunded(
    tx: &DatabaseTransaction,
    order_id: &str,
    refund: FullRefund<'_>,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    let Some(order) = store::order(tx, order_id).await? else {
        return Ok(Change::new());
    };
    store::set_payment_status(tx, order_id, PaymentStatus::Refunded, None, now).await?;
    if let Some(change) = cancel_in(tx, &order, Canceller::Refund, now).await? {
        tracing::warn!(order = %order_id, "refunded in full at the provider: order cancelled");
        return Ok(change);
    }
    // Not cancellable by a refund: read again, a move that raced this one has committed.
    let Some(order) = store::order(tx, order_id).await? else {
        return Ok(Change::new());
    };
    if matches!(order.status, OrderStatus::Shipped | OrderStatus::Delivered) {
        tracing::warn!(order = %order_id, status = %order.status, "a shipped order was refunded in full: staff emailed");
        alert_staff(tx, &order, refund).await?;
    }
    Ok(Change::new())
}

/// One email per active staff member, queued in `tx`.
async fn alert_staff(
    tx: &DatabaseTransaction,
    order: &super::order::Model,
    refund: FullRefund<'_>,
) -> Result<(), ApiError> {
    let currency = Currency::from_code(&order.currency).unwrap_or(Currency::USD);
    let amount = format!(
        "{} {}",
        Money::from_minor(refund.amount).format(currency),
        currency.code()
    );
    for address in crate::accounts::service::staff_emails(tx).await? {
        let message = REFUND_ALERT
            .render(
                &address,
                &[
                    ("shop", refund.shop),
                    ("order", order.id.as_str()),
                    ("status", order.status.as_str()),
                    ("amount", amount.as_str()),
                ],
            )
            .map_err(internal)?;
        email::job::enqueue(tx, message).await?;
    }
    Ok(())
}
