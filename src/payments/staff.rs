//! What staff see of payments (the dashboard): an order's payment and its refunds, the money
//! refunded day by day, and how many payments failed.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};

use super::payment::{self, PaymentState};
use super::payment_refund;
use super::store;
use crate::db::tally;

/// An order's payment, if it has one, with its refunds (oldest first).
pub async fn of_order<C: ConnectionTrait>(
    conn: &C,
    order_id: &str,
) -> Result<Option<(payment::Model, Vec<payment_refund::Model>)>, DbErr> {
    let Some(payment) = store::of_order(conn, order_id).await? else {
        return Ok(None);
    };
    let refunds = payment_refund::Entity::find()
        .filter(payment_refund::Column::PaymentId.eq(payment.id.as_str()))
        .order_by_asc(payment_refund::Column::Id)
        .all(conn)
        .await?;
    Ok(Some((payment, refunds)))
}

/// The money of paid orders refunded in each range of `bounds` (by when the refund was made;
/// a second capture's refund gave back money no order counted, so it is not here), from the
/// refunds' tally: a few rows per slot of time.
pub async fn refunded_daily<C: ConnectionTrait>(
    conn: &C,
    bounds: &[DateTime<Utc>],
) -> Result<Vec<i64>, DbErr> {
    let sums = tally::per_range(conn, tally::REFUNDS, bounds).await?;
    Ok(sums.iter().map(|(_, amount)| *amount).collect())
}

/// How many payments failed (the customer may still try again on the same intent).
pub async fn failed_count<C: ConnectionTrait>(conn: &C) -> Result<u64, DbErr> {
    payment::Entity::find()
        .filter(payment::Column::Status.eq(PaymentState::Failed))
        .count(conn)
        .await
}
