//! An order's life: `PENDING → PAID → SHIPPED → DELIVERED`, and `PENDING → CANCELLED` (by its
//! owner, staff or the expiry of an unpaid order) or, by staff, `PAID → CANCELLED`. Every move is
//! one conditional update of the status, so of two racing moves exactly one happens; a
//! cancellation returns the stock and the coupon's use in the same transaction, so it happens
//! exactly once too.

use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use super::{order, store};
use crate::cache::ResponseCache;
use crate::catalog::inventory::{self, Cause, StockError, StockLine};
use crate::coupons::service as coupons;
use crate::http::error::{ApiError, conflict, not_found};
use crate::jobs::{self, JobContext, JobError};
use crate::{db, time};

/// Where an order is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
}

impl Status {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Paid => "PAID",
            Status::Shipped => "SHIPPED",
            Status::Delivered => "DELIVERED",
            Status::Cancelled => "CANCELLED",
        }
    }

    /// The status called `name`.
    pub fn parse(name: &str) -> Option<Status> {
        [
            Status::Pending,
            Status::Paid,
            Status::Shipped,
            Status::Delivered,
            Status::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// Where an order's payment is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentStatus {
    Unpaid,
    Pending,
    Paid,
    Failed,
    Refunded,
}

impl PaymentStatus {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Unpaid => "UNPAID",
            PaymentStatus::Pending => "PENDING",
            PaymentStatus::Paid => "PAID",
            PaymentStatus::Failed => "FAILED",
            PaymentStatus::Refunded => "REFUNDED",
        }
    }
}

/// Who cancels an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Canceller {
    /// Its owner (another user's order does not exist for them).
    Owner(i64),
    /// Staff: also a paid order.
    Staff(i64),
    /// The expiry of an unpaid order.
    Expiry,
}

impl Canceller {
    fn allowed_from(self) -> &'static [Status] {
        match self {
            Canceller::Staff(_) => &[Status::Pending, Status::Paid],
            Canceller::Owner(_) | Canceller::Expiry => &[Status::Pending],
        }
    }

    fn cause(self, order_id: &str) -> Cause {
        let (reason, reference) = match self {
            Canceller::Owner(user) | Canceller::Staff(user) => {
                ("cancellation", format!("order:{order_id} user:{user}"))
            }
            Canceller::Expiry => ("expiry", format!("order:{order_id}")),
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
        Canceller::Staff(_) | Canceller::Expiry => {
            store::order(db, id).await?.ok_or_else(not_found)?
        }
    };
    let from = who.allowed_from();
    let now = time::now();
    let tx = db::begin_write(db).await?;
    let unpaid_only = who == Canceller::Expiry;
    if !store::move_status(&tx, id, from, Status::Cancelled, now, unpaid_only).await? {
        tx.rollback().await?;
        let current = store::order(db, id).await?.ok_or_else(not_found)?;
        return Err(cannot(&current, "be cancelled"));
    }
    let items = store::items_of(&tx, &[id.to_owned()])
        .await?
        .remove(id)
        .unwrap_or_default();
    let lines: Vec<StockLine> = items
        .iter()
        .filter_map(|item| {
            item.product_id.map(|product_id| StockLine {
                product_id,
                delta: item.quantity,
            })
        })
        .collect();
    let change = match inventory::apply(&tx, &lines, &who.cause(id)).await {
        Ok((_, change)) => change,
        Err(StockError::Database(e)) => return Err(e.into()),
        Err(e) => {
            return Err(conflict(format!(
                "The stock cannot take the units back: {e}."
            )));
        }
    };
    if let Some(coupon_id) = current.coupon_id {
        coupons::release(&tx, coupon_id, current.user_id).await?;
    }
    // Decided in the transaction from the payment as it is, not from the order read before:
    // a payment that landed meanwhile is refunded too.
    if let Some(payment) = crate::payments::store::of_order(&tx, id).await?
        && payment.status == crate::payments::service::status::PAID
    {
        // The money goes back through the provider, by a job (it may be slow or down).
        jobs::queue::enqueue(&tx, crate::payments::service::refund_job(&payment.id)).await?;
    }
    cache.commit(tx, change).await?;
    store::order(db, id).await?.ok_or_else(not_found)
}

/// Staff move a paid order on: `PAID → SHIPPED`, `SHIPPED → DELIVERED`. Any other move is a
/// 409 (cancelling has its own endpoint; `PAID` comes from the payment).
pub async fn change_status(
    db: &DatabaseConnection,
    id: &str,
    to: Status,
) -> Result<order::Model, ApiError> {
    let current = store::order(db, id).await?.ok_or_else(not_found)?;
    let from = match to {
        Status::Shipped => Status::Paid,
        Status::Delivered => Status::Shipped,
        _ => return Err(cannot(&current, &format!("become {}", to.as_str()))),
    };
    if !store::move_status(db, id, &[from], to, time::now(), false).await? {
        let current = store::order(db, id).await?.ok_or_else(not_found)?;
        return Err(cannot(&current, &format!("become {}", to.as_str())));
    }
    store::order(db, id).await?.ok_or_else(not_found)
}

/// The job that cancels an order still unpaid when its time is up.
pub const EXPIRE_JOB: &str = "orders.expire";

/// The [`EXPIRE_JOB`] payload.
pub fn expire_payload(order_id: &str) -> Value {
    json!({ "order_id": order_id })
}

#[derive(serde::Deserialize)]
struct ExpirePayload {
    order_id: String,
}

/// Cancels the order if it is still `PENDING` and not paid; anything else (paid, cancelled by
/// its owner meanwhile, gone) is already settled. Safe to run twice.
pub async fn expire_job(ctx: JobContext, payload: Value) -> Result<(), JobError> {
    let ExpirePayload { order_id } = jobs::payload(payload)?;
    let state = &ctx.state;
    let Some(order) = store::order(&state.db, &order_id).await? else {
        return Ok(());
    };
    if order.status != Status::Pending.as_str()
        || order.payment_status == PaymentStatus::Paid.as_str()
    {
        return Ok(());
    }
    match cancel(&state.db, &state.cache, &order_id, Canceller::Expiry).await {
        Ok(_) => {
            tracing::info!(order = %order_id, "unpaid order expired");
            Ok(())
        }
        Err(ApiError::NotFound(_)) => Ok(()),
        // Settled meanwhile (paid, or cancelled by its owner): nothing to do. Still pending
        // (its stock could not be taken back): try again later rather than forget it.
        Err(e @ ApiError::Conflict { .. }) => {
            let still_pending = store::order(&state.db, &order_id)
                .await?
                .is_some_and(|o| o.status == Status::Pending.as_str());
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
