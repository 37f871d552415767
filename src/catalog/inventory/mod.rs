//! Inventory: the one way stock changes. [`apply`] moves the stock of several products by a
//! delta each, in the caller's transaction, in product-id order (so two callers that touch the
//! same products lock them in the same order and cannot deadlock), each as one conditional
//! update — `stock = stock + d WHERE stock + d BETWEEN 0 AND MAX_STOCK` — that locks only that
//! product's row, and records a movement per product. No other row is touched: two checkouts
//! of different products never wait on each other.
//!
//! Staff change stock through [`adjust`]: a delta (refused with `409` below zero), or a new
//! value with the value they saw (`set` + `expected`, refused with `409` when it moved
//! meanwhile) — unlike an absolute `PATCH`, neither can erase units sold while staff were
//! counting.

pub mod views;

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{Map, json};

use super::products::{ProductRow, get_product, product_tag};
use super::{product, stock_movement};
use crate::cache::{Change, ResponseCache};
use crate::http::error::{ApiError, not_found};
use crate::{db, time};

/// Most units of one product the shop can hold (keeps every sum far from overflow).
pub const MAX_STOCK: i64 = 1_000_000_000;

/// The scope of lists filtered by `in_stock`: a product's stock reaching or leaving zero
/// changes which products they show.
pub const IN_STOCK_SCOPE: &str = "catalog:in-stock";

/// Why a movement happened and what caused it.
#[derive(Clone, Debug)]
pub struct Cause {
    /// `order`, `cancellation`, `expiry`, `product edit`, or the text staff gave.
    pub reason: String,
    /// `order:42`, `user:7`.
    pub reference: String,
    /// A staff adjustment's `Idempotency-Key`.
    pub idempotency_key: Option<String>,
}

/// One product's change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockLine {
    pub product_id: i64,
    pub delta: i64,
}

/// A product that could not move by its delta.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shortage {
    pub product_id: i64,
    /// Units the change asked to take (the delta's magnitude).
    pub requested: i64,
    /// Units in stock now.
    pub available: i64,
}

/// Why [`apply`] changed nothing (the caller rolls its transaction back).
#[derive(Debug, thiserror::Error)]
pub enum StockError {
    /// Some products do not have enough (or would pass [`MAX_STOCK`]).
    #[error("not enough stock")]
    Short(Vec<Shortage>),
    /// A product does not exist.
    #[error("product {0} does not exist")]
    NoProduct(i64),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// What [`apply`] did to one product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    pub product_id: i64,
    pub stock_after: i64,
    pub version: i64,
    /// The price and activity as read under the row lock: what an order must use, since no
    /// edit of the product can commit between that read and the order's commit.
    pub price: i64,
    pub is_active: bool,
}

/// `(stock, version, price, is_active)` of a product.
async fn stock_and_version<C: ConnectionTrait>(
    conn: &C,
    product_id: i64,
) -> Result<Option<(i64, i64, i64, bool)>, DbErr> {
    product::Entity::find_by_id(product_id)
        .select_only()
        .column(product::Column::Stock)
        .column(product::Column::Version)
        .column(product::Column::Price)
        .column(product::Column::IsActive)
        .into_tuple::<(i64, i64, i64, bool)>()
        .one(conn)
        .await
}

fn movement(
    applied: Applied,
    delta: i64,
    cause: &Cause,
    at: chrono::DateTime<chrono::Utc>,
) -> stock_movement::ActiveModel {
    stock_movement::ActiveModel {
        product_id: Set(applied.product_id),
        delta: Set(delta),
        stock_after: Set(applied.stock_after),
        reason: Set(cause.reason.clone()),
        reference: Set(cause.reference.clone()),
        idempotency_key: Set(cause.idempotency_key.clone()),
        created_at: Set(at),
        ..Default::default()
    }
}

async fn record<C: ConnectionTrait>(
    conn: &C,
    applied: Applied,
    delta: i64,
    cause: &Cause,
) -> Result<(), DbErr> {
    movement(applied, delta, cause, time::now())
        .insert(conn)
        .await?;
    Ok(())
}

/// What the cache must hear about a product whose stock went from `before` to `after`.
fn stock_change(change: &mut Change, applied: Applied, before: i64) {
    change.row(product_tag(applied.product_id), applied.version);
    if (before > 0) != (applied.stock_after > 0) {
        change.scope(IN_STOCK_SCOPE);
    }
}

/// The lines in product-id order, those of one product summed into one, and those that move
/// nothing dropped.
fn merged_lines(lines: &[StockLine]) -> Vec<StockLine> {
    let mut merged: Vec<StockLine> = Vec::with_capacity(lines.len());
    let mut sorted = lines.to_vec();
    sorted.sort_by_key(|line| line.product_id);
    for line in sorted {
        match merged.last_mut() {
            Some(last) if last.product_id == line.product_id => {
                last.delta = last.delta.saturating_add(line.delta);
            }
            _ => merged.push(line),
        }
    }
    merged.retain(|line| line.delta != 0);
    merged
}

/// `Ok` when every product of `merged` exists in `current` (its locked `(stock, version,
/// price, is_active)`) and can move by its delta; else the first missing product, or every
/// product that cannot.
fn check_available(
    merged: &[StockLine],
    current: &HashMap<i64, (i64, i64, i64, bool)>,
) -> Result<(), StockError> {
    let mut short = Vec::new();
    for line in merged {
        let Some(&(stock, ..)) = current.get(&line.product_id) else {
            return Err(StockError::NoProduct(line.product_id));
        };
        if !(0..=MAX_STOCK).contains(&stock.saturating_add(line.delta)) {
            short.push(Shortage {
                product_id: line.product_id,
                requested: Ord::max(line.delta.saturating_neg(), 0),
                available: stock,
            });
        }
    }
    if !short.is_empty() {
        return Err(StockError::Short(short));
    }
    Ok(())
}

/// Moves the stock of every line by its delta, in `conn`'s transaction (lines of one product
/// are summed), recording a movement each — three statements whatever the number of lines: the
/// products' rows are read and locked in id order (`FOR UPDATE`; SQLite's write transaction
/// already admits one writer), so two callers touching the same products lock them in the same
/// order and cannot deadlock; one conditional update moves them all
/// (`stock = stock + d WHERE stock + d BETWEEN 0 AND MAX_STOCK`, as a guard under the lock);
/// one insert records the movements. Either every line applies or the error names every
/// product that could not — and nothing was written, though the caller must still roll back.
/// Returns what was applied and what the cache must be told at commit.
pub async fn apply<C: ConnectionTrait>(
    conn: &C,
    lines: &[StockLine],
    cause: &Cause,
) -> Result<(Vec<Applied>, Change), StockError> {
    let merged = merged_lines(lines);
    if merged.is_empty() {
        return Ok((Vec::new(), Change::new()));
    }
    let ids: Vec<i64> = merged.iter().map(|line| line.product_id).collect();
    let current: HashMap<i64, (i64, i64, i64, bool)> = product::Entity::find()
        .select_only()
        .column(product::Column::Id)
        .column(product::Column::Stock)
        .column(product::Column::Version)
        .column(product::Column::Price)
        .column(product::Column::IsActive)
        .filter(product::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(product::Column::Id)
        .lock_exclusive()
        .into_tuple::<(i64, i64, i64, i64, bool)>()
        .all(conn)
        .await?
        .into_iter()
        .map(|(id, stock, version, price, active)| (id, (stock, version, price, active)))
        .collect();
    check_available(&merged, &current)?;
    // One CASE picks each product's delta (every delta is within ±2·MAX_STOCK here).
    let mut delta = sea_orm::sea_query::CaseStatement::new();
    for line in &merged {
        delta = delta.case(product::Column::Id.eq(line.product_id), line.delta);
    }
    let delta: sea_orm::sea_query::SimpleExpr = delta.finally(0).into();
    let moved = Expr::col(product::Column::Stock).add(delta);
    let updated = product::Entity::update_many()
        .col_expr(product::Column::Stock, moved.clone())
        .col_expr(
            product::Column::Version,
            Expr::col(product::Column::Version).add(1),
        )
        .col_expr(product::Column::UpdatedAt, Expr::value(time::now()))
        .filter(product::Column::Id.is_in(ids.iter().copied()))
        .filter(moved.clone().gte(0))
        .filter(moved.lte(MAX_STOCK))
        .exec(conn)
        .await?
        .rows_affected;
    if updated != merged.len() as u64 {
        // The rows were locked and checked: only a bug gets here. Nothing counts.
        return Err(StockError::Database(DbErr::Custom(format!(
            "stock update moved {updated} of {} locked products",
            merged.len()
        ))));
    }
    let now = time::now();
    let mut applied = Vec::with_capacity(merged.len());
    let mut movements = Vec::with_capacity(merged.len());
    let mut change = Change::new();
    for line in &merged {
        let (stock, version, price, is_active) = current[&line.product_id];
        let done = Applied {
            product_id: line.product_id,
            stock_after: stock + line.delta,
            version: version + 1,
            price,
            is_active,
        };
        movements.push(movement(done, line.delta, cause, now));
        stock_change(&mut change, done, stock);
        applied.push(done);
    }
    stock_movement::Entity::insert_many(movements)
        .exec(conn)
        .await?;
    Ok((applied, change))
}

/// Sets one product's stock to `value` if it is `expected` now (a conditional update), and
/// records the movement. `Ok(None)`: the stock was not `expected`.
pub async fn set_if<C: ConnectionTrait>(
    conn: &C,
    product_id: i64,
    value: i64,
    expected: i64,
    cause: &Cause,
) -> Result<Option<(Applied, Change)>, StockError> {
    let updated = product::Entity::update_many()
        .col_expr(product::Column::Stock, Expr::value(value))
        .col_expr(
            product::Column::Version,
            Expr::col(product::Column::Version).add(1),
        )
        .col_expr(product::Column::UpdatedAt, Expr::value(time::now()))
        .filter(product::Column::Id.eq(product_id))
        .filter(product::Column::Stock.eq(expected))
        .exec(conn)
        .await?
        .rows_affected;
    let Some((stock, version, price, is_active)) = stock_and_version(conn, product_id).await?
    else {
        return Err(StockError::NoProduct(product_id));
    };
    if updated == 0 {
        return Ok(None);
    }
    let done = Applied {
        product_id,
        stock_after: stock,
        version,
        price,
        is_active,
    };
    let mut change = Change::new();
    if value != expected {
        record(conn, done, value - expected, cause).await?;
    }
    stock_change(&mut change, done, expected);
    Ok(Some((done, change)))
}

/// What staff asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adjustment {
    /// Add (or, negative, take) units.
    Delta(i64),
    /// Set the stock, if it is still what staff saw.
    Set { value: i64, expected: i64 },
}

/// A staff adjustment of one product's stock; `200` with the product. A retry with the same
/// `Idempotency-Key` is applied once (the movement's unique key refuses the second) and
/// answers the product as it is.
pub async fn adjust(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    product_id: i64,
    adjustment: Adjustment,
    cause: Cause,
) -> Result<ProductRow, ApiError> {
    let tx = db::begin_write(db).await?;
    let outcome = match adjustment {
        Adjustment::Delta(delta) => apply(&tx, &[StockLine { product_id, delta }], &cause)
            .await
            .map(|(_, change)| Some(change)),
        Adjustment::Set { value, expected } => set_if(&tx, product_id, value, expected, &cause)
            .await
            .map(|done| done.map(|(_, change)| change)),
    };
    match outcome {
        Ok(Some(change)) => cache.commit(tx, change).await?,
        Ok(None) => {
            tx.rollback().await?;
            let current = get_product(db, product_id, true).await?.product.stock;
            let mut extra = Map::new();
            extra.insert("stock".to_owned(), json!(current));
            return Err(ApiError::Conflict {
                detail: format!(
                    "The stock changed meanwhile: it is {current} now; nothing was changed."
                ),
                extra,
            });
        }
        Err(StockError::NoProduct(_)) => return Err(not_found()),
        Err(StockError::Short(short)) => {
            let available = short.first().map_or(0, |s| s.available);
            let mut extra = Map::new();
            extra.insert("stock".to_owned(), json!(available));
            return Err(ApiError::Conflict {
                detail: format!(
                    "Stock cannot go below 0 or above {MAX_STOCK}: it is {available} now; nothing was changed."
                ),
                extra,
            });
        }
        Err(StockError::Database(e))
            if cause.idempotency_key.is_some() && db::is_unique_violation(&e) =>
        {
            // The same adjustment was applied before: answer the product as it is.
            drop(tx);
        }
        Err(StockError::Database(e)) => return Err(e.into()),
    }
    get_product(db, product_id, true).await
}

/// A page of one product's movements, newest first; `404` when the product does not exist.
pub async fn movements(
    db: &DatabaseConnection,
    product_id: i64,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<stock_movement::Model>), ApiError> {
    if stock_and_version(db, product_id).await?.is_none() {
        return Err(not_found());
    }
    Ok(db::page(
        db,
        stock_movement::Entity::find().filter(stock_movement::Column::ProductId.eq(product_id)),
        |q| q.order_by_desc(stock_movement::Column::Id),
        offset,
        limit,
    )
    .await?)
}

/// Records the movement of a `PATCH` that set the stock (an absolute set, as the contract
/// allows; staff are pointed at the adjustment endpoint, which cannot erase a sale).
pub async fn record_edit<C: ConnectionTrait>(
    conn: &C,
    applied: Applied,
    before: i64,
    cause: &Cause,
) -> Result<(), DbErr> {
    record(conn, applied, applied.stock_after - before, cause).await
}

#[cfg(test)]
mod tests;
