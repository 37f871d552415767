//! What the orders add to the overview's tallies ([`crate::db::tally`]), in the transaction
//! that places or moves an order: how many orders are in each status, and per slot of when
//! orders were placed, how many are not cancelled and the totals of those paid. The overview
//! then reads a few rows per slot instead of every order.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

use super::order;
use super::status::{OrderStatus, PaymentStatus};
use crate::db::tally::{self, Change};

/// What of an order its tallies depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counted {
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    pub total: i64,
    pub created_at: DateTime<Utc>,
}

impl Counted {
    pub fn of(order: &order::Model) -> Counted {
        Counted {
            status: order.status,
            payment_status: order.payment_status,
            total: order.total_amount,
            created_at: order.created_at,
        }
    }

    /// Counted among the orders placed: not cancelled.
    fn placed(&self) -> i64 {
        i64::from(self.status != OrderStatus::Cancelled)
    }

    /// Its total when it was paid (a refunded order was paid; the refund is the payments' to
    /// take off), else 0.
    fn paid(&self) -> i64 {
        match self.payment_status {
            PaymentStatus::Paid | PaymentStatus::Refunded => self.total,
            _ => 0,
        }
    }
}

/// Reads order `id`'s counted fields and locks its row until the transaction ends (SQLite's
/// write transaction holds the whole database already): what it reads is what a move in the
/// same transaction moves from.
pub async fn lock<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<Counted>, DbErr> {
    let row: Option<(OrderStatus, PaymentStatus, i64, DateTime<Utc>)> = order::Entity::find()
        .select_only()
        .column(order::Column::Status)
        .column(order::Column::PaymentStatus)
        .column(order::Column::TotalAmount)
        .column(order::Column::CreatedAt)
        .filter(order::Column::Id.eq(id))
        .lock_exclusive()
        .into_tuple()
        .one(conn)
        .await?;
    Ok(
        row.map(|(status, payment_status, total, created_at)| Counted {
            status,
            payment_status,
            total,
            created_at,
        }),
    )
}

/// Adds a new order.
pub async fn placed<C: ConnectionTrait>(conn: &C, id: &str, order: Counted) -> Result<(), DbErr> {
    let status = status_change(order.status, 1);
    let sales = sales(order.created_at, order.placed(), order.paid());
    tally::add(conn, tally::shard(id), vec![status, sales]).await
}

/// Moves order `id` from `before` to `after` in the tallies.
pub async fn moved<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    before: Counted,
    after: Counted,
) -> Result<(), DbErr> {
    let mut changes = vec![sales(
        before.created_at,
        after.placed() - before.placed(),
        after.paid() - before.paid(),
    )];
    if before.status != after.status {
        changes.push(status_change(before.status, -1));
        changes.push(status_change(after.status, 1));
    }
    tally::add(conn, tally::shard(id), changes).await
}

fn status_change(status: OrderStatus, n: i64) -> Change {
    Change {
        name: tally::order_status(status.as_str()),
        key: 0,
        n,
        amount: 0,
    }
}

fn sales(at: DateTime<Utc>, placed: i64, paid: i64) -> Change {
    Change {
        name: tally::SALES.to_owned(),
        key: tally::slot(at),
        n: placed,
        amount: paid,
    }
}

/// How many orders are in each status (every status, 0 for none): a few rows per status.
pub async fn by_status<C: ConnectionTrait>(conn: &C) -> Result<Vec<(OrderStatus, i64)>, DbErr> {
    let names: Vec<String> = OrderStatus::ALL
        .iter()
        .map(|s| tally::order_status(s.as_str()))
        .collect();
    let counts = tally::counts(conn, &names).await?;
    Ok(OrderStatus::ALL.into_iter().zip(counts).collect())
}

/// Per day (each range of `bounds`, which begin on slots): the orders placed and not
/// cancelled, and the totals of those paid.
pub struct Daily {
    pub placed: Vec<i64>,
    pub paid_totals: Vec<i64>,
}

/// The [`Daily`] figures of `bounds`, from the slots' tallies.
pub async fn daily<C: ConnectionTrait>(conn: &C, bounds: &[DateTime<Utc>]) -> Result<Daily, DbErr> {
    let sums = tally::per_range(conn, tally::SALES, bounds).await?;
    Ok(Daily {
        placed: sums.iter().map(|(placed, _)| *placed).collect(),
        paid_totals: sums.iter().map(|(_, paid)| *paid).collect(),
    })
}
