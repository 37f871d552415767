//! What payments tell orders, and what they ask of them: the one door between the two apps on
//! the orders' side. Payments never read or write the orders table; they call these.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use super::invoice::MakeInvoice;
use super::status::{Actor, OrderStatus, PaymentStatus};
use super::store;
use crate::events::kind::EventType;
use crate::http::error::{ApiError, conflict, not_found};
use crate::jobs::queue;

/// What happened to an order's payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentNews {
    /// An intent was made: the customer is paying.
    Started,
    /// The attempt failed; the customer may try again.
    Failed,
    /// The money arrived.
    Paid,
}

/// What an order needs paid: its amount and currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payable {
    /// The order's id.
    pub id: String,
    /// Its total, in minor units.
    pub amount: i64,
    /// Its currency code.
    pub currency: String,
}

/// The order `user_id` wants to pay, if it may be paid: their own (else 404) and pending and
/// unpaid (else 409).
pub async fn payable(
    db: &DatabaseConnection,
    order_id: &str,
    user_id: i64,
) -> Result<Payable, ApiError> {
    let order = store::order(db, order_id)
        .await?
        .filter(|o| o.user_id == user_id)
        .ok_or_else(not_found)?;
    if !order.status.can_move(OrderStatus::Paid, Actor::Payment)
        || order.payment_status == PaymentStatus::Paid
    {
        return Err(conflict(format!(
            "An order that is {} cannot be paid.",
            order.status
        )));
    }
    Ok(Payable {
        id: order.id,
        amount: order.total_amount,
        currency: order.currency,
    })
}

/// Records `news` of an order's payment on `conn` (the payment's transaction). For
/// [`PaymentNews::Paid`], the order moves to `PAID` and its invoice is queued — or, when it can
/// no longer be paid (cancelled meanwhile), its payment is recorded as `PAID` all the same and
/// `false` comes back: the caller must give the money back. Otherwise `true`.
pub async fn payment_changed<C: ConnectionTrait>(
    conn: &C,
    order_id: &str,
    news: PaymentNews,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let payment_status = match news {
        PaymentNews::Started => PaymentStatus::Pending,
        PaymentNews::Failed => PaymentStatus::Failed,
        PaymentNews::Paid => PaymentStatus::Paid,
    };
    if news != PaymentNews::Paid {
        store::set_payment_status(conn, order_id, payment_status, None, now).await?;
        return Ok(true);
    }
    let from = OrderStatus::sources(OrderStatus::Paid, Actor::Payment);
    let moved = store::set_payment_status(
        conn,
        order_id,
        payment_status,
        Some((&from, OrderStatus::Paid)),
        now,
    )
    .await?;
    if moved {
        queue::enqueue(
            conn,
            &MakeInvoice {
                order_id: order_id.to_owned(),
            },
        )
        .await?;
        super::events::record(conn, EventType::OrderPaid, order_id, now).await?;
    } else {
        store::set_payment_status(conn, order_id, payment_status, None, now).await?;
    }
    Ok(moved)
}
