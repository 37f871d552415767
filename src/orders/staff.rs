//! Orders as staff look for them (the dashboard): a filtered page, newest first, and one
//! order with its lines. The moves staff make are [`super::lifecycle`]'s, as the API's are.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QuerySelect};

use super::status::{OrderStatus, PaymentStatus};
use super::{order, order_item, store};
use crate::db;
use crate::db::sql::{Sql, integer, ranged_sums};

pub use super::store::OrderFilter;

/// A page of orders matching `filter`, newest first, and how many match.
pub async fn search<C: ConnectionTrait>(
    conn: &C,
    filter: &OrderFilter,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<order::Model>), DbErr> {
    store::page(conn, filter, offset, limit).await
}

/// One order and its lines.
pub async fn order_with_lines<C: ConnectionTrait>(
    conn: &C,
    id: &str,
) -> Result<Option<(order::Model, Vec<order_item::Model>)>, DbErr> {
    let Some(order) = store::order(conn, id).await? else {
        return Ok(None);
    };
    let lines = store::items_of(conn, &[id.to_owned()])
        .await?
        .remove(id)
        .unwrap_or_default();
    Ok(Some((order, lines)))
}

/// The lines of several orders, by order id.
pub async fn lines_of<C: ConnectionTrait>(
    conn: &C,
    ids: &[String],
) -> Result<HashMap<String, Vec<order_item::Model>>, DbErr> {
    store::items_of(conn, ids).await
}

/// Per day (each range of `bounds`): the orders placed and not cancelled, and the totals of
/// those that were paid (a refunded order was paid; its refund is the payments' to subtract).
pub struct Daily {
    pub placed: Vec<i64>,
    pub paid_totals: Vec<i64>,
}

/// The orders placed in each range of `bounds` (see [`Daily`]): one statement over the range's
/// rows, through the index on `created_at`.
pub async fn daily<C: ConnectionTrait>(conn: &C, bounds: &[DateTime<Utc>]) -> Result<Daily, DbErr> {
    let days = bounds.len().saturating_sub(1);
    let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else {
        return Ok(Daily {
            placed: Vec::new(),
            paid_totals: Vec::new(),
        });
    };
    let backend = conn.get_database_backend();
    let mut sql = Sql::new(backend);
    sql.push("SELECT ");
    ranged_sums(&mut sql, "created_at", bounds, "1", &|sql| {
        sql.push("status <> ")
            .value(OrderStatus::Cancelled.as_str());
    });
    sql.push(", ");
    ranged_sums(&mut sql, "created_at", bounds, "total_amount", &|sql| {
        sql.push("payment_status IN ").list([
            PaymentStatus::Paid.as_str(),
            PaymentStatus::Refunded.as_str(),
        ]);
    });
    sql.push(" FROM orders WHERE created_at >= ")
        .value(db::timestamp_value(backend, Some(*first)))
        .push(" AND created_at < ")
        .value(db::timestamp_value(backend, Some(*last)));
    let row = conn.query_one_raw(sql.statement()).await?;
    let mut figures = Daily {
        placed: vec![0; days],
        paid_totals: vec![0; days],
    };
    if let Some(row) = row {
        for day in 0..days {
            figures.placed[day] = integer(&row, day)?;
            figures.paid_totals[day] = integer(&row, days + day)?;
        }
    }
    Ok(figures)
}

/// How many orders are in each status (every status, 0 for none).
pub async fn count_by_status<C: ConnectionTrait>(
    conn: &C,
) -> Result<Vec<(OrderStatus, i64)>, DbErr> {
    let counted: Vec<(OrderStatus, i64)> = order::Entity::find()
        .select_only()
        .column(order::Column::Status)
        .column_as(order::Column::Id.count(), "count")
        .group_by(order::Column::Status)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(OrderStatus::ALL
        .iter()
        .map(|status| {
            let count = counted
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n);
            (*status, count)
        })
        .collect())
}
