//! Orders as staff look for them (the dashboard): a filtered page, newest first, and one
//! order with its lines. The moves staff make are [`super::lifecycle`]'s, as the API's are.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QuerySelect};

use super::status::{OrderStatus, PaymentStatus};
use super::{order, order_item, store};
use crate::db;
use crate::db::sql::{Sql, as_integer, integer, range_index};

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

/// The orders placed in each range of `bounds` (see [`Daily`]): one statement grouping the
/// range's rows by day, read through the index on `created_at`.
pub async fn daily<C: ConnectionTrait>(conn: &C, bounds: &[DateTime<Utc>]) -> Result<Daily, DbErr> {
    let days = bounds.len().saturating_sub(1);
    let mut figures = Daily {
        placed: vec![0; days],
        paid_totals: vec![0; days],
    };
    let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else {
        return Ok(figures);
    };
    let backend = conn.get_database_backend();
    let mut sql = Sql::new(backend);
    sql.push("SELECT ");
    range_index(&mut sql, "created_at", bounds);
    sql.push(", ");
    as_integer(&mut sql, &|sql| {
        sql.push("SUM(CASE WHEN status <> ")
            .value(OrderStatus::Cancelled.as_str())
            .push(" THEN 1 ELSE 0 END)");
    });
    sql.push(", ");
    as_integer(&mut sql, &|sql| {
        let paid = [
            PaymentStatus::Paid.as_str(),
            PaymentStatus::Refunded.as_str(),
        ];
        sql.push("SUM(CASE WHEN payment_status IN ")
            .list(paid)
            .push(" THEN total_amount ELSE 0 END)");
    });
    sql.push(" FROM orders WHERE created_at >= ")
        .value(db::timestamp_value(backend, Some(*first)))
        .push(" AND created_at < ")
        .value(db::timestamp_value(backend, Some(*last)))
        .push(" GROUP BY 1");
    for row in conn.query_all_raw(sql.statement()).await? {
        let Ok(day) = usize::try_from(integer(&row, 0)?) else {
            continue;
        };
        if day < days {
            figures.placed[day] = integer(&row, 1)?;
            figures.paid_totals[day] = integer(&row, 2)?;
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
