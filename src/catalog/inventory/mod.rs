//! Inventory: the one way stock changes. Stock belongs to variants (a product without options
//! has one); the product keeps the sum over its active variants. [`apply`] moves the stock of
//! several variants by a delta each, in the caller's transaction: the products' rows are locked
//! first and then the variants', each in id order (every writer of a product or a variant takes
//! them in that order, so two callers cannot deadlock), one conditional update moves the
//! variants — `stock = stock + d WHERE stock + d BETWEEN 0 AND MAX_STOCK` — one moves the
//! products' sums and versions, and one insert records a movement per variant. Five statements
//! whatever the number of lines; two checkouts of different products never wait on each other.
//!
//! Staff change stock through [`adjust`]: a delta (refused with `409` below zero), or a new
//! value with the value they saw (`set` + `expected`, refused with `409` when it moved
//! meanwhile) — unlike an absolute `PATCH`, neither can erase units sold while staff were
//! counting.

mod events;
mod staff;
pub mod views;

use std::collections::HashMap;

use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::products::product_tag;
use super::{product, stock_movement, variant};
use crate::cache::Change;
use crate::time;

pub use events::stock_events;
pub use staff::{
    Adjustment, StockAlerts, adjust, low_stock, low_stock_count, movements, movements_of_order,
};

/// Most units of one variant the shop can hold (keeps every sum far from overflow).
pub const MAX_STOCK: i64 = 1_000_000_000;

/// The scope of lists filtered by `in_stock`: a variant's stock reaching or leaving zero
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

/// One variant's change (`product_id` is the variant's product: a line that names another
/// product's variant is refused as a missing variant).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockLine {
    pub product_id: i64,
    pub variant_id: i64,
    pub delta: i64,
}

/// A variant that could not move by its delta.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shortage {
    pub product_id: i64,
    pub variant_id: i64,
    /// Units the change asked to take (the delta's magnitude).
    pub requested: i64,
    /// Units in stock now.
    pub available: i64,
}

/// Why [`apply`] changed nothing (the caller rolls its transaction back).
#[derive(Debug, thiserror::Error)]
pub enum StockError {
    /// Some variants do not have enough (or would pass [`MAX_STOCK`]).
    #[error("not enough stock")]
    Short(Vec<Shortage>),
    /// A variant does not exist (or is not its product's).
    #[error("variant {variant_id} of product {product_id} does not exist")]
    NoVariant { product_id: i64, variant_id: i64 },
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// What [`apply`] did to one variant, as read under the row locks: what an order must use,
/// since no edit of the product or the variant can commit between that read and its commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub product_id: i64,
    pub variant_id: i64,
    /// The variant's stock after the change.
    pub stock_after: i64,
    /// The product's version after the change.
    pub version: i64,
    /// The variant's price.
    pub price: i64,
    /// The product and the variant are both active (it may be sold).
    pub is_active: bool,
    pub sku: String,
    /// The variant's options, a JSON object.
    pub options: String,
}

fn movement(
    applied: &Applied,
    delta: i64,
    cause: &Cause,
    at: chrono::DateTime<chrono::Utc>,
) -> stock_movement::ActiveModel {
    stock_movement::ActiveModel {
        product_id: Set(applied.product_id),
        variant_id: Set(applied.variant_id),
        delta: Set(delta),
        stock_after: Set(applied.stock_after),
        reason: Set(cause.reason.clone()),
        reference: Set(cause.reference.clone()),
        idempotency_key: Set(cause.idempotency_key.clone()),
        created_at: Set(at),
        ..Default::default()
    }
}

/// What the cache must hear about a variant whose stock went from `before` to `after`.
fn stock_change(change: &mut Change, applied: &Applied, before: i64) {
    change.row(product_tag(applied.product_id), applied.version);
    if (before > 0) != (applied.stock_after > 0) {
        change.scope(IN_STOCK_SCOPE);
    }
}

/// The lines in variant-id order, those of one variant summed into one, and those that move
/// nothing dropped.
fn merged_lines(lines: &[StockLine]) -> Vec<StockLine> {
    let mut merged: Vec<StockLine> = Vec::with_capacity(lines.len());
    let mut sorted = lines.to_vec();
    sorted.sort_by_key(|line| line.variant_id);
    for line in sorted {
        match merged.last_mut() {
            Some(last) if last.variant_id == line.variant_id => {
                last.delta = last.delta.saturating_add(line.delta);
            }
            _ => merged.push(line),
        }
    }
    merged.retain(|line| line.delta != 0);
    merged
}

/// A variant as locked: `(product_id, stock, price, is_active, sku, options)`.
type LockedVariant = (i64, i64, i64, bool, String, Option<String>);

/// `Ok` when every variant of `merged` exists in `current` under its product and can move by
/// its delta; else the first missing variant, or every variant that cannot.
fn check_available(
    merged: &[StockLine],
    current: &HashMap<i64, LockedVariant>,
) -> Result<(), StockError> {
    let mut short = Vec::new();
    for line in merged {
        let Some((product_id, stock, ..)) = current.get(&line.variant_id) else {
            return Err(no_variant(line));
        };
        if *product_id != line.product_id {
            return Err(no_variant(line));
        }
        if !(0..=MAX_STOCK).contains(&stock.saturating_add(line.delta)) {
            short.push(Shortage {
                product_id: line.product_id,
                variant_id: line.variant_id,
                requested: Ord::max(line.delta.saturating_neg(), 0),
                available: *stock,
            });
        }
    }
    if !short.is_empty() {
        return Err(StockError::Short(short));
    }
    Ok(())
}

fn no_variant(line: &StockLine) -> StockError {
    StockError::NoVariant {
        product_id: line.product_id,
        variant_id: line.variant_id,
    }
}

/// `CASE WHEN <key> = k THEN v … ELSE 0 END` over `pairs`.
fn case_of<C: ColumnTrait>(column: C, pairs: impl IntoIterator<Item = (i64, i64)>) -> SimpleExpr {
    let mut case = CaseStatement::new();
    for (key, value) in pairs {
        case = case.case(column.eq(key), value);
    }
    case.finally(0).into()
}

/// Locks the products' rows in id order; `(version, is_active)` by id.
async fn lock_products<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> Result<HashMap<i64, (i64, bool)>, DbErr> {
    Ok(product::Entity::find()
        .select_only()
        .column(product::Column::Id)
        .column(product::Column::Version)
        .column(product::Column::IsActive)
        .filter(product::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(product::Column::Id)
        .lock_exclusive()
        .into_tuple::<(i64, i64, bool)>()
        .all(conn)
        .await?
        .into_iter()
        .map(|(id, version, active)| (id, (version, active)))
        .collect())
}

/// Locks the variants' rows in id order.
async fn lock_variants<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> Result<HashMap<i64, LockedVariant>, DbErr> {
    Ok(variant::Entity::find()
        .select_only()
        .column(variant::Column::Id)
        .column(variant::Column::ProductId)
        .column(variant::Column::Stock)
        .column(variant::Column::Price)
        .column(variant::Column::IsActive)
        .column(variant::Column::Sku)
        .column(variant::Column::Options)
        .filter(variant::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(variant::Column::Id)
        .lock_exclusive()
        .into_tuple::<(i64, i64, i64, i64, bool, String, Option<String>)>()
        .all(conn)
        .await?
        .into_iter()
        .map(|(id, product, stock, price, active, sku, options)| {
            (id, (product, stock, price, active, sku, options))
        })
        .collect())
}

/// Moves the stock of every line by its delta, in `conn`'s transaction (lines of one variant
/// are summed), recording a movement each — five statements whatever the number of lines (see
/// the module's docs). Either every line applies or the error names every variant that could
/// not — and nothing was written, though the caller must still roll back. Returns what was
/// applied (in variant-id order) and what the cache must be told at commit.
pub async fn apply<C: ConnectionTrait>(
    conn: &C,
    lines: &[StockLine],
    cause: &Cause,
) -> Result<(Vec<Applied>, Change), StockError> {
    let merged = merged_lines(lines);
    if merged.is_empty() {
        return Ok((Vec::new(), Change::new()));
    }
    let mut product_ids: Vec<i64> = merged.iter().map(|line| line.product_id).collect();
    product_ids.sort_unstable();
    product_ids.dedup();
    let products = lock_products(conn, &product_ids).await?;
    let variant_ids: Vec<i64> = merged.iter().map(|line| line.variant_id).collect();
    let variants = lock_variants(conn, &variant_ids).await?;
    check_available(&merged, &variants)?;
    if let Some(line) = merged
        .iter()
        .find(|l| !products.contains_key(&l.product_id))
    {
        return Err(no_variant(line));
    }
    let moved = Expr::col(variant::Column::Stock).add(case_of(
        variant::Column::Id,
        merged.iter().map(|l| (l.variant_id, l.delta)),
    ));
    let updated = variant::Entity::update_many()
        .col_expr(variant::Column::Stock, moved.clone())
        .filter(variant::Column::Id.is_in(variant_ids.iter().copied()))
        .filter(moved.clone().gte(0))
        .filter(moved.lte(MAX_STOCK))
        .exec(conn)
        .await?
        .rows_affected;
    if updated != merged.len() as u64 {
        // The rows were locked and checked: only a bug gets here. Nothing counts.
        return Err(StockError::Database(DbErr::Custom(format!(
            "stock update moved {updated} of {} locked variants",
            merged.len()
        ))));
    }
    // A product's stock is the sum over its active variants.
    let mut sums: HashMap<i64, i64> = HashMap::new();
    for line in &merged {
        if variants[&line.variant_id].3 {
            *sums.entry(line.product_id).or_default() += line.delta;
        }
    }
    product::Entity::update_many()
        .col_expr(
            product::Column::Stock,
            Expr::col(product::Column::Stock).add(case_of(product::Column::Id, sums)),
        )
        .col_expr(
            product::Column::Version,
            Expr::col(product::Column::Version).add(1),
        )
        .col_expr(product::Column::UpdatedAt, Expr::value(time::now()))
        .filter(product::Column::Id.is_in(product_ids.iter().copied()))
        .exec(conn)
        .await?;
    let now = time::now();
    let mut applied = Vec::with_capacity(merged.len());
    let mut movements = Vec::with_capacity(merged.len());
    let mut change = Change::new();
    for line in &merged {
        let (_, stock, price, variant_active, sku, options) = &variants[&line.variant_id];
        let (version, product_active) = products[&line.product_id];
        let done = Applied {
            product_id: line.product_id,
            variant_id: line.variant_id,
            stock_after: stock + line.delta,
            version: version + 1,
            price: *price,
            is_active: product_active && *variant_active,
            sku: sku.clone(),
            options: options.clone().unwrap_or_else(|| "{}".to_owned()),
        };
        movements.push(movement(&done, line.delta, cause, now));
        stock_change(&mut change, &done, *stock);
        applied.push(done);
    }
    stock_movement::Entity::insert_many(movements)
        .exec(conn)
        .await?;
    Ok((applied, change))
}

/// Sets one variant's stock to `value` if it is `expected` now, under the product's and the
/// variant's row locks, and records the movement. `Ok(None)`: the stock was not `expected`.
pub async fn set_if<C: ConnectionTrait>(
    conn: &C,
    product_id: i64,
    variant_id: i64,
    value: i64,
    expected: i64,
    cause: &Cause,
) -> Result<Option<(Applied, Change)>, StockError> {
    let line = StockLine {
        product_id,
        variant_id,
        delta: value - expected,
    };
    let products = lock_products(conn, &[product_id]).await?;
    let variants = lock_variants(conn, &[variant_id]).await?;
    let (Some((version, product_active)), Some(locked)) =
        (products.get(&product_id), variants.get(&variant_id))
    else {
        return Err(no_variant(&line));
    };
    if locked.0 != product_id {
        return Err(no_variant(&line));
    }
    if locked.1 != expected {
        return Ok(None);
    }
    if value == expected {
        return Ok(Some((
            locked_applied(product_id, variant_id, *version, *product_active, locked),
            Change::new(),
        )));
    }
    let (applied, change) = apply(conn, &[line], cause).await?;
    Ok(applied.into_iter().next().map(|done| (done, change)))
}

fn locked_applied(
    product_id: i64,
    variant_id: i64,
    version: i64,
    product_active: bool,
    locked: &LockedVariant,
) -> Applied {
    Applied {
        product_id,
        variant_id,
        stock_after: locked.1,
        version,
        price: locked.2,
        is_active: product_active && locked.3,
        sku: locked.4.clone(),
        options: locked.5.clone().unwrap_or_else(|| "{}".to_owned()),
    }
}

/// Records a movement that a write already made (a variant created with stock, or a `PATCH`
/// that set it): `applied` is the variant after it, `before` its stock before.
pub async fn record_edit<C: ConnectionTrait>(
    conn: &C,
    applied: &Applied,
    before: i64,
    cause: &Cause,
) -> Result<(), DbErr> {
    movement(applied, applied.stock_after - before, cause, time::now())
        .insert(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests;
