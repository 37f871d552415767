//! An order's moves as [`super::status`] allows them. Every move is one conditional update of
//! the status from the statuses the move may start from, so of two racing moves exactly one
//! happens; a cancellation returns the stock and the coupon's use in the same transaction, so
//! it happens exactly once too.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use serde::{Deserialize, Serialize};

use super::events;
use super::status::{Actor, OrderStatus, PaymentStatus};
use super::views::StatusChange;
use super::{order, store};
use crate::accounts::service as accounts;
use crate::cache::{Change, ResponseCache};
use crate::catalog::inventory::{self, Cause, StockError, StockLine};
use crate::coupons::service as coupons;
use crate::events::kind::EventType;
use crate::http::error::{ApiError, conflict, not_found};
use crate::jobs::{Job, JobContext, JobError};
use crate::{db, email, payments, time};

/// Who cancels an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Canceller {
    /// Its owner (another user's order does not exist for them).
    Owner(i64),
    /// Staff: also a paid order.
    Staff(i64),
    /// The expiry of an unpaid order.
    Expiry,
    /// A full refund made at the provider (the money went back already: no refund is queued).
    Refund,
}

impl Canceller {
    fn actor(self) -> Actor {
        match self {
            Canceller::Owner(_) => Actor::Owner,
            Canceller::Staff(_) => Actor::Staff,
            Canceller::Expiry => Actor::Expiry,
            Canceller::Refund => Actor::Refund,
        }
    }

    fn cause(self, order_id: &str) -> Cause {
        let (reason, reference) = match self {
            Canceller::Owner(user) | Canceller::Staff(user) => {
                ("cancellation", format!("order:{order_id} user:{user}"))
            }
            Canceller::Expiry => ("expiry", format!("order:{order_id}")),
            Canceller::Refund => ("refund", format!("order:{order_id}")),
        };
        Cause {
            reason: reason.to_owned(),
            reference,
            idempotency_key: None,
        }
    }
}

/// An order that `user` may see: their own, or any for staff; else "not found".
pub async fn visible_order(
    db: &DatabaseConnection,
    id: &str,
    user_id: i64,
    is_staff: bool,
) -> Result<order::Model, ApiError> {
    store::order(db, id)
        .await?
        .filter(|o| is_staff || o.user_id == user_id)
        .ok_or_else(not_found)
}

fn cannot(order: &order::Model, what: &str) -> ApiError {
    conflict(format!("An order that is {} cannot {what}.", order.status))
}

/// Cancels an order: the status moves to `CANCELLED` only from where `who` may cancel it, and
/// in the same transaction its stock comes back (a movement per product) and its coupon's use
/// is given back. Returns the order as it is afterwards.
pub async fn cancel(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    id: &str,
    who: Canceller,
) -> Result<order::Model, ApiError> {
    let current = match who {
        Canceller::Owner(user) => visible_order(db, id, user, false).await?,
        Canceller::Staff(_) | Canceller::Expiry | Canceller::Refund => {
            store::order(db, id).await?.ok_or_else(not_found)?
        }
    };
    let tx = db::begin_write_committed(db).await?;
    let Some(change) = cancel_in(&tx, &current, who, time::now()).await? else {
        tx.rollback().await?;
        let current = store::order(db, id).await?.ok_or_else(not_found)?;
        return Err(cannot(&current, "be cancelled"));
    };
    cache.commit(tx, change).await?;
    store::order(db, id).await?.ok_or_else(not_found)
}

/// The cancellation's statements in the caller's transaction: the status moved (one
/// conditional update from where `who` may cancel), the stock back, the coupon's use given back
/// and — unless the provider refunded it already — the payment's refund queued. `None` when the
/// order was not where `who` may cancel it (nothing written); else the stock's cache change,
/// for the caller's commit.
pub(super) async fn cancel_in(
    tx: &DatabaseTransaction,
    current: &order::Model,
    who: Canceller,
    now: DateTime<Utc>,
) -> Result<Option<Change>, ApiError> {
    let id = current.id.as_str();
    let from = OrderStatus::sources(OrderStatus::Cancelled, who.actor());
    let unpaid_only = who == Canceller::Expiry;
    if !store::move_status(tx, id, &from, OrderStatus::Cancelled, now, unpaid_only).await? {
        return Ok(None);
    }
    let items = store::items_of(tx, &[id.to_owned()])
        .await?
        .remove(id)
        .unwrap_or_default();
    let lines: Vec<StockLine> = items
        .iter()
        .filter_map(|item| {
            Some(StockLine {
                product_id: item.product_id?,
                variant_id: item.variant_id?,
                delta: item.quantity,
            })
        })
        .collect();
    let change = match inventory::apply(tx, &lines, &who.cause(id)).await {
        Ok((_, change)) => change,
        Err(StockError::Database(e)) => return Err(e.into()),
        Err(e) => {
            return Err(conflict(format!(
                "The stock cannot take the units back: {e}."
            )));
        }
    };
    if let Some(coupon_id) = current.coupon_id {
        coupons::release(tx, coupon_id, current.user_id).await?;
    }
    if who != Canceller::Refund {
        // Decided in the transaction from the payment as it is, not from the order read
        // before: a payment that landed meanwhile is refunded too.
        payments::refund_if_paid(tx, id).await?;
    }
    events::record(tx, EventType::OrderCancelled, id, now).await?;
    Ok(Some(change))
}

/// Staff move a paid order on: `PAID → SHIPPED` (with its carrier and tracking number, and
/// the customer's shipping confirmation queued in the same transaction), `SHIPPED →
/// DELIVERED`. Any other move is a 409 (cancelling has its own endpoint, which gives the stock
/// back; `PAID` comes from the payment).
pub async fn change_status(
    db: &DatabaseConnection,
    shop: &str,
    id: &str,
    change: StatusChange,
) -> Result<order::Model, ApiError> {
    let to = change.status;
    let current = store::order(db, id).await?.ok_or_else(not_found)?;
    let from = OrderStatus::sources(to, Actor::Staff);
    if from.is_empty() || to == OrderStatus::Cancelled {
        return Err(cannot(&current, &format!("become {to}")));
    }
    let now = time::now();
    let tx = db::begin_write_committed(db).await?;
    let shipment = (change.carrier, change.tracking_number);
    if !store::move_on(&tx, id, &from, to, shipment, now).await? {
        tx.rollback().await?;
        let current = store::order(db, id).await?.ok_or_else(not_found)?;
        return Err(cannot(&current, &format!("become {}", to.as_str())));
    }
    let moved = store::order(&tx, id).await?.ok_or_else(not_found)?;
    if to == OrderStatus::Shipped {
        shipping_confirmation(&tx, shop, &moved).await?;
    }
    let event_type = match to {
        OrderStatus::Delivered => EventType::OrderDelivered,
        _ => EventType::OrderShipped,
    };
    events::record_for(&tx, event_type, moved.clone(), now).await?;
    tx.commit().await?;
    Ok(moved)
}

/// Queues the customer's shipping confirmation: the carrier and tracking number when given.
async fn shipping_confirmation(
    tx: &DatabaseTransaction,
    shop: &str,
    order: &order::Model,
) -> Result<(), ApiError> {
    let Some(customer) = accounts::email_of(tx, order.user_id).await? else {
        return Ok(());
    };
    let unknown = "(not given)";
    let message = email::SHIPPING_CONFIRMATION
        .render(
            &customer,
            &[
                ("shop", shop),
                ("order", order.id.as_str()),
                ("carrier", order.carrier.as_deref().unwrap_or(unknown)),
                (
                    "tracking",
                    order.tracking_number.as_deref().unwrap_or(unknown),
                ),
            ],
        )
        .map_err(|e| crate::http::error::internal(e.to_string()))?;
    email::job::enqueue(tx, message).await?;
    Ok(())
}

/// Cancels an order still unpaid when its time is up (enqueued at checkout, due at the end of
/// `EMPORIUM_ORDER_PAYMENT_TIMEOUT`).
#[derive(Debug, Serialize, Deserialize)]
pub struct ExpireOrder {
    /// The order.
    pub order_id: String,
}

impl Job for ExpireOrder {
    const KIND: &'static str = "orders.expire";

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        expire(&ctx, &self.order_id).await
    }
}

/// Cancels the order if it is still `PENDING` and not paid; anything else (paid, cancelled by
/// its owner meanwhile, gone) is already settled. Safe to run twice.
async fn expire(ctx: &JobContext, order_id: &str) -> Result<(), JobError> {
    let state = &ctx.state;
    let Some(order) = store::order(&state.db, order_id).await? else {
        return Ok(());
    };
    if order.status != OrderStatus::Pending || order.payment_status == PaymentStatus::Paid {
        return Ok(());
    }
    match cancel(&state.db, &state.cache, order_id, Canceller::Expiry).await {
        Ok(_) => {
            tracing::info!(order = %order_id, "unpaid order expired");
            Ok(())
        }
        Err(ApiError::NotFound(_)) => Ok(()),
        // Settled meanwhile (paid, or cancelled by its owner): nothing to do. Still pending
        // (its stock could not be taken back): try again later rather than forget it.
        Err(e @ ApiError::Conflict { .. }) => {
            let still_pending = store::order(&state.db, order_id)
                .await?
                .is_some_and(|o| o.status == OrderStatus::Pending);
            if still_pending {
                tracing::warn!(order = %order_id, error = %e, "expiry could not cancel the order");
                Err(JobError::retry(e))
            } else {
                Ok(())
            }
        }
        Err(e) => Err(JobError::retry(e)),
    }
}
