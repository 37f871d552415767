//! The events of an order: `order.created` (at checkout), `order.paid`, `order.cancelled`,
//! `order.shipped`, `order.delivered` — each recorded in the transaction that moved the order,
//! with the order as staff see it then.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use super::views::OrderView;
use super::{order, store};
use crate::events::kind::EventType;
use crate::events::service::{self as events, NewEvent, Resource};

/// Records `event_type` for the order `id` as it now stands in `conn`'s transaction (read
/// back with its lines: two statements, and the event's two).
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    event_type: EventType,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let Some(row) = store::order(conn, id).await? else {
        return Ok(());
    };
    record_for(conn, event_type, row, now).await
}

/// Records `event_type` for `row` (the order as it now stands), reading its lines.
pub async fn record_for<C: ConnectionTrait>(
    conn: &C,
    event_type: EventType,
    row: order::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let items = store::items_of(conn, std::slice::from_ref(&row.id))
        .await?
        .remove(&row.id)
        .unwrap_or_default();
    let id = row.id.clone();
    let view = OrderView::new(row, items);
    let event = NewEvent::of(event_type, Resource::Order(id), &view)?;
    events::record(conn, vec![event], now).await
}
