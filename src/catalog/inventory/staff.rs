//! Staff changes of one variant's stock — a delta, or a new value with the value staff saw —
//! and the list of its movements. The product-level endpoints act on a single-variant
//! product's variant ([`crate::catalog::variants::only_variant`]).

use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::{Map, json};

use super::{Applied, Cause, StockError, StockLine, apply, set_if, stock_events};
use crate::cache::ResponseCache;
use crate::catalog::{stock_movement, variant};
use crate::db;
use crate::http::error::{ApiError, not_found};
use crate::money::Currency;

/// What staff asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adjustment {
    /// Add (or, negative, take) units.
    Delta(i64),
    /// Set the stock, if it is still what staff saw.
    Set { value: i64, expected: i64 },
}

fn conflict(detail: String, stock: i64) -> ApiError {
    let mut extra = Map::new();
    extra.insert("stock".to_owned(), json!(stock));
    ApiError::Conflict { detail, extra }
}

async fn stock_of(db: &DatabaseConnection, variant_id: i64) -> Result<i64, ApiError> {
    Ok(variant::Entity::find_by_id(variant_id)
        .one(db)
        .await?
        .ok_or_else(not_found)?
        .stock)
}

/// What decides a stock event: the low-stock threshold and the shop's currency.
#[derive(Clone, Copy, Debug)]
pub struct StockAlerts {
    pub threshold: i64,
    pub currency: Currency,
}

/// Records `stock.low` or `stock.out` when an adjustment that took `taken` units took the
/// variant there (the variant read under its lock, only then).
async fn record_crossing(
    tx: &DatabaseTransaction,
    applied: &Applied,
    taken: i64,
    alerts: StockAlerts,
) -> Result<(), ApiError> {
    let before = applied.stock_after + taken;
    let crossed = (applied.stock_after <= 0 && before > 0)
        || (applied.stock_after <= alerts.threshold && before > alerts.threshold);
    if !crossed {
        return Ok(());
    }
    let Some(row) = variant::Entity::find_by_id(applied.variant_id)
        .one(tx)
        .await?
    else {
        return Ok(());
    };
    let events = stock_events(
        std::slice::from_ref(applied),
        &[&row],
        &[(applied.variant_id, taken)],
        alerts.threshold,
        alerts.currency,
    )?;
    crate::events::service::record(tx, events, crate::time::now()).await?;
    Ok(())
}

/// A staff adjustment of one variant's stock (of `product_id`). A retry with the same
/// `Idempotency-Key` is applied once (the movement's unique key refuses the second). The
/// caller answers the product or the variant as it is then.
pub async fn adjust(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    (product_id, variant_id): (i64, i64),
    adjustment: Adjustment,
    cause: Cause,
    alerts: StockAlerts,
) -> Result<(), ApiError> {
    let tx = db::begin_write(db).await?;
    let outcome = match adjustment {
        Adjustment::Delta(delta) => {
            let line = StockLine {
                product_id,
                variant_id,
                delta,
            };
            apply(&tx, &[line], &cause)
                .await
                .map(|(applied, change)| applied.into_iter().next().map(|a| (a, change)))
        }
        Adjustment::Set { value, expected } => {
            set_if(&tx, product_id, variant_id, value, expected, &cause).await
        }
    };
    match outcome {
        Ok(Some((applied, change))) => {
            let delta = match adjustment {
                Adjustment::Delta(delta) => delta,
                Adjustment::Set { value, expected } => value - expected,
            };
            record_crossing(&tx, &applied, -delta, alerts).await?;
            cache.commit(tx, change).await?
        }
        Ok(None) => {
            tx.rollback().await?;
            let current = stock_of(db, variant_id).await?;
            return Err(conflict(
                format!("The stock changed meanwhile: it is {current} now; nothing was changed."),
                current,
            ));
        }
        Err(StockError::NoVariant { .. }) => return Err(not_found()),
        Err(StockError::Short(short)) => {
            let available = short.first().map_or(0, |s| s.available);
            return Err(conflict(
                format!(
                    "Stock cannot go below 0 or above {}: it is {available} now; nothing was changed.",
                    super::MAX_STOCK
                ),
                available,
            ));
        }
        Err(StockError::Database(e))
            if cause.idempotency_key.is_some() && db::is_unique_violation(&e) =>
        {
            // The key was used before: a retry of the same adjustment is answered with things as
            // they are; the key reused for another adjustment changes nothing and is refused as
            // every `Idempotency-Key` reused for a different request is (422).
            drop(tx);
            let key = cause.idempotency_key.clone().unwrap_or_default();
            let earlier = stock_movement::Entity::find()
                .filter(stock_movement::Column::IdempotencyKey.eq(key))
                .one(db)
                .await?;
            let delta = match adjustment {
                Adjustment::Delta(delta) => delta,
                Adjustment::Set { value, expected } => value - expected,
            };
            let same = earlier.is_some_and(|m| {
                m.variant_id == variant_id && m.delta == delta && m.reason == cause.reason
            });
            if !same {
                return Err(ApiError::Unprocessable(
                    "This Idempotency-Key was used for a different request.".to_owned(),
                ));
            }
        }
        Err(StockError::Database(e)) => return Err(e.into()),
    }
    Ok(())
}

/// A page of one variant's movements, newest first; `404` when the variant does not exist.
pub async fn movements(
    db: &DatabaseConnection,
    variant_id: i64,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<stock_movement::Model>), ApiError> {
    stock_of(db, variant_id).await?;
    Ok(db::page(
        db,
        stock_movement::Entity::find().filter(stock_movement::Column::VariantId.eq(variant_id)),
        |q| q.order_by_desc(stock_movement::Column::Id),
        offset,
        limit,
    )
    .await?)
}

/// How many active variants have `threshold` units or fewer (the dashboard's low-stock figure),
/// through the index on `stock`.
pub async fn low_stock_count<C: sea_orm::ConnectionTrait>(
    conn: &C,
    threshold: i64,
) -> Result<u64, sea_orm::DbErr> {
    use sea_orm::PaginatorTrait;
    variant::Entity::find()
        .filter(variant::Column::Stock.lte(threshold))
        .filter(variant::Column::IsActive.eq(true))
        .count(conn)
        .await
}

/// The movements an order made (its checkout, and a cancellation's return) of `variant_ids`,
/// oldest first: through the index on the variant, then by the order's reference.
pub async fn movements_of_order<C: sea_orm::ConnectionTrait>(
    conn: &C,
    variant_ids: &[i64],
    order_id: &str,
) -> Result<Vec<stock_movement::Model>, sea_orm::DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
    if variant_ids.is_empty() {
        return Ok(Vec::new());
    }
    let exact = format!("order:{order_id}");
    let pattern = LikeExpr::new(format!("{} %", db::like_escape(&exact))).escape('\\');
    stock_movement::Entity::find()
        .filter(stock_movement::Column::VariantId.is_in(variant_ids.iter().copied()))
        .filter(
            Expr::col(stock_movement::Column::Reference)
                .eq(exact.as_str())
                .or(Expr::col(stock_movement::Column::Reference).like(pattern)),
        )
        .order_by_asc(stock_movement::Column::Id)
        .all(conn)
        .await
}

/// A page of the active variants with `threshold` units or fewer, lowest first, each with its
/// product: through the index on `stock`.
pub async fn low_stock<C: sea_orm::ConnectionTrait>(
    conn: &C,
    threshold: i64,
    offset: u64,
    limit: u64,
) -> Result<
    (
        u64,
        Vec<(variant::Model, Option<crate::catalog::product::Model>)>,
    ),
    sea_orm::DbErr,
> {
    use sea_orm::{PaginatorTrait, QuerySelect};
    let low = variant::Entity::find()
        .filter(variant::Column::Stock.lte(threshold))
        .filter(variant::Column::IsActive.eq(true));
    let count = low.clone().count(conn).await?;
    let rows = low
        .order_by_asc(variant::Column::Stock)
        .order_by_asc(variant::Column::Id)
        .offset(offset)
        .limit(limit)
        .find_also_related(crate::catalog::product::Entity)
        .all(conn)
        .await?;
    Ok((count, rows))
}
