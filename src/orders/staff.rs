//! Orders as staff look for them (the dashboard): a filtered page, newest first, and one
//! order with its lines. The moves staff make are [`super::lifecycle`]'s, as the API's are.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbErr};

use super::{order, order_item, store};

pub use super::store::OrderFilter;
pub use super::tally::{Daily, by_status as count_by_status, daily};

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
