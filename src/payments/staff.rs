//! What staff see of payments (the dashboard): an order's payment and its refunds, the money
//! refunded day by day, and how many payments failed.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};

use super::payment::{self, PaymentState};
use super::payment_refund::{self, RefundKind};
use super::store;
use crate::db;
use crate::db::sql::{Sql, as_integer, integer, range_index};

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
/// a second capture's refund gave back money no order counted, so it is not here): one
/// statement through the index on the refunds' `created_at`.
pub async fn refunded_daily<C: ConnectionTrait>(
    conn: &C,
    bounds: &[DateTime<Utc>],
) -> Result<Vec<i64>, DbErr> {
    let days = bounds.len().saturating_sub(1);
    let mut refunded = vec![0; days];
    let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else {
        return Ok(refunded);
    };
    let backend = conn.get_database_backend();
    let mut sql = Sql::new(backend);
    sql.push("SELECT ");
    range_index(&mut sql, "created_at", bounds);
    sql.push(", ");
    as_integer(&mut sql, &|sql| {
        sql.push("SUM(amount)");
    });
    sql.push(" FROM payment_refunds WHERE kind <> ")
        .value(RefundKind::ExtraCapture.to_value())
        .push(" AND created_at >= ")
        .value(db::timestamp_value(backend, Some(*first)))
        .push(" AND created_at < ")
        .value(db::timestamp_value(backend, Some(*last)))
        .push(" GROUP BY 1");
    for row in conn.query_all_raw(sql.statement()).await? {
        let Ok(day) = usize::try_from(integer(&row, 0)?) else {
            continue;
        };
        if let Some(amount) = refunded.get_mut(day) {
            *amount = integer(&row, 1)?;
        }
    }
    Ok(refunded)
}

/// How many payments failed (the customer may still try again on the same intent).
pub async fn failed_count<C: ConnectionTrait>(conn: &C) -> Result<u64, DbErr> {
    payment::Entity::find()
        .filter(payment::Column::Status.eq(PaymentState::Failed))
        .count(conn)
        .await
}
