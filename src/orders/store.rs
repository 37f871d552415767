//! The orders' queries: inserts, one order or a page with their lines (two queries whatever
//! the page size), and status changes as conditional updates — each kept in the tallies
//! ([`super::tally`]) in the same transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, JoinType, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, RelationTrait, Select, Set, UpdateMany,
};

use super::status::{OrderStatus, PaymentStatus};
use super::tally::{self, Counted};
use super::{order, order_item};
use crate::db;

/// Inserts an order, and adds it to the tallies.
pub async fn insert_order<C: ConnectionTrait>(conn: &C, row: &order::Model) -> Result<(), DbErr> {
    order::Entity::insert(active(row))
        .exec_without_returning(conn)
        .await?;
    tally::placed(conn, &row.id, Counted::of(row)).await
}

fn active(row: &order::Model) -> order::ActiveModel {
    order::ActiveModel {
        id: Set(row.id.clone()),
        user_id: Set(row.user_id),
        status: Set(row.status),
        payment_status: Set(row.payment_status),
        subtotal: Set(row.subtotal),
        discount: Set(row.discount),
        total_amount: Set(row.total_amount),
        currency: Set(row.currency.clone()),
        coupon: Set(row.coupon.clone()),
        coupon_id: Set(row.coupon_id),
        shipping_address: Set(row.shipping_address.clone()),
        shipping_amount: Set(row.shipping_amount),
        tax_amount: Set(row.tax_amount),
        tax_lines: Set(row.tax_lines.clone()),
        prices_include_tax: Set(row.prices_include_tax),
        shipping_method_name: Set(row.shipping_method_name.clone()),
        created_at: Set(row.created_at),
        updated_at: Set(row.updated_at),
        // Not shipped yet: the columns stay NULL.
        ..Default::default()
    }
}

/// Inserts an order's lines in one statement.
pub async fn insert_items<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<order_item::ActiveModel>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    order_item::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// One order.
pub async fn order<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<order::Model>, DbErr> {
    order::Entity::find_by_id(id.to_owned()).one(conn).await
}

/// The lines of the given orders, by order, in the order they were placed.
pub async fn items_of<C: ConnectionTrait>(
    conn: &C,
    ids: &[String],
) -> Result<HashMap<String, Vec<order_item::Model>>, DbErr> {
    let mut by_order: HashMap<String, Vec<order_item::Model>> = HashMap::new();
    if ids.is_empty() {
        return Ok(by_order);
    }
    let rows = order_item::Entity::find()
        .filter(order_item::Column::OrderId.is_in(ids.iter().cloned()))
        .order_by_asc(order_item::Column::Id)
        .all(conn)
        .await?;
    for row in rows {
        by_order.entry(row.order_id.clone()).or_default().push(row);
    }
    Ok(by_order)
}

/// Which orders a list shows.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    /// Only this user's (always set for a customer).
    pub user_id: Option<i64>,
    pub status: Option<OrderStatus>,
    /// Staff: only these users' (a customer search's matches).
    pub user_ids: Option<Vec<i64>>,
    pub payment_status: Option<PaymentStatus>,
    /// Placed at or after.
    pub placed_from: Option<DateTime<Utc>>,
    /// Placed before.
    pub placed_before: Option<DateTime<Utc>>,
}

fn filtered(backend: DbBackend, filter: &OrderFilter) -> Select<order::Entity> {
    let mut query = order::Entity::find();
    if let Some(user_id) = filter.user_id {
        query = query.filter(order::Column::UserId.eq(user_id));
    }
    if let Some(ids) = &filter.user_ids {
        query = query.filter(order::Column::UserId.is_in(ids.iter().copied()));
    }
    if let Some(status) = filter.status {
        query = query.filter(order::Column::Status.eq(status));
    }
    if let Some(payment_status) = filter.payment_status {
        query = query.filter(order::Column::PaymentStatus.eq(payment_status));
    }
    let at = |time| Expr::value(db::timestamp_value(backend, Some(time)));
    if let Some(from) = filter.placed_from {
        query = query.filter(Expr::col(order::Column::CreatedAt).gte(at(from)));
    }
    if let Some(before) = filter.placed_before {
        query = query.filter(Expr::col(order::Column::CreatedAt).lt(at(before)));
    }
    query
}

/// A page of orders, newest first.
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    filter: &OrderFilter,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<order::Model>), DbErr> {
    db::page(
        conn,
        filtered(conn.get_database_backend(), filter),
        |q| {
            q.order_by_desc(order::Column::CreatedAt)
                .order_by_desc(order::Column::Id)
        },
        offset,
        limit,
    )
    .await
}

/// Moves an order to `to` if its status is one of `from` — one conditional update, so of two
/// requests that race (an owner's cancel and the expiry job) exactly one wins. `false`: the
/// status was not one of `from`.
/// With `unpaid_only`, also only while its payment is not `PAID` (the expiry: a payment that
/// lands first wins).
pub async fn move_status<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    from: &[OrderStatus],
    to: OrderStatus,
    now: DateTime<Utc>,
    unpaid_only: bool,
) -> Result<bool, DbErr> {
    let Some(before) = tally::lock(conn, id).await? else {
        return Ok(false);
    };
    let mut update = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(to))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(id))
        .filter(order::Column::Status.is_in(from.iter().copied()));
    if unpaid_only {
        update = update.filter(order::Column::PaymentStatus.ne(PaymentStatus::Paid));
    }
    let after = Counted {
        status: to,
        ..before
    };
    run_tallied(conn, id, update, (before, after)).await
}

/// Staff move an order on from one of `from` to `SHIPPED` (with its carrier and tracking
/// number, and when) or `DELIVERED` (when): one conditional update, true when it moved.
pub async fn move_on<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    from: &[OrderStatus],
    to: OrderStatus,
    shipment: (Option<String>, Option<String>),
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let Some(before) = tally::lock(conn, id).await? else {
        return Ok(false);
    };
    let backend = conn.get_database_backend();
    let mut update = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(to))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(id))
        .filter(order::Column::Status.is_in(from.iter().copied()));
    let at = Expr::value(crate::db::timestamp_value(backend, Some(now)));
    if to == OrderStatus::Delivered {
        update = update.col_expr(order::Column::DeliveredAt, at);
    } else {
        let (carrier, tracking_number) = shipment;
        update = update
            .col_expr(order::Column::ShippedAt, at)
            .col_expr(order::Column::Carrier, Expr::value(carrier))
            .col_expr(order::Column::TrackingNumber, Expr::value(tracking_number));
    }
    let after = Counted {
        status: to,
        ..before
    };
    run_tallied(conn, id, update, (before, after)).await
}

/// Sets an order's `payment_status` — and moves its status to `to` when `status` is
/// `Some((from, to))`, only if it is in one of `from`; `false` when it was not.
pub async fn set_payment_status<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    payment_status: PaymentStatus,
    status: Option<(&[OrderStatus], OrderStatus)>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let Some(before) = tally::lock(conn, id).await? else {
        return Ok(false);
    };
    let mut update = order::Entity::update_many()
        .col_expr(order::Column::PaymentStatus, Expr::value(payment_status))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(id));
    let mut after = Counted {
        payment_status,
        ..before
    };
    if let Some((from, to)) = status {
        update = update
            .col_expr(order::Column::Status, Expr::value(to))
            .filter(order::Column::Status.is_in(from.iter().copied()));
        after.status = to;
    }
    run_tallied(conn, id, update, (before, after)).await
}

/// Runs a conditional update of order `id` (its row locked, as it was `before`); when it
/// moved the order, adds the move to `after` to the tallies. True when it moved.
async fn run_tallied<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    update: UpdateMany<order::Entity>,
    (before, after): (Counted, Counted),
) -> Result<bool, DbErr> {
    let moved = update.exec(conn).await?.rows_affected == 1;
    if moved {
        tally::moved(conn, id, before, after).await?;
    }
    Ok(moved)
}

/// The row to insert for a line of a new order (its id comes from the database).
pub fn new_item(item: &order_item::Model) -> order_item::ActiveModel {
    order_item::ActiveModel {
        order_id: Set(item.order_id.clone()),
        product_id: Set(item.product_id),
        product_name: Set(item.product_name.clone()),
        variant_id: Set(item.variant_id),
        sku: Set(item.sku.clone()),
        variant_options: Set(item.variant_options.clone()),
        price_snapshot: Set(item.price_snapshot),
        quantity: Set(item.quantity),
        subtotal: Set(item.subtotal),
        tax_rate: Set(item.tax_rate),
        tax_amount: Set(item.tax_amount),
        ..Default::default()
    }
}

/// True when `user_id` has an order with the product that is paid, shipped or delivered.
pub async fn has_bought<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    product_id: i64,
) -> Result<bool, DbErr> {
    let bought = OrderStatus::ALL.into_iter().filter(|s| s.is_paid());
    Ok(order_item::Entity::find()
        .join(JoinType::InnerJoin, order_item::Relation::Order.def())
        .filter(order_item::Column::ProductId.eq(product_id))
        .filter(order::Column::UserId.eq(user_id))
        .filter(order::Column::Status.is_in(bought))
        .count(conn)
        .await?
        > 0)
}
