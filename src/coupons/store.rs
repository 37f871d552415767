//! The coupons' queries: lookups by id and by code (whatever its case), the staff list, and the
//! counters of uses, each moved by one conditional update.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::{coupon, coupon_use};
use crate::db;

/// The key a code is unique and found by: its lower-case form (codes are ASCII).
pub fn code_key(code: &str) -> String {
    code.trim().to_ascii_lowercase()
}

/// One coupon.
pub async fn coupon<C: ConnectionTrait>(conn: &C, id: i64) -> Result<Option<coupon::Model>, DbErr> {
    coupon::Entity::find_by_id(id).one(conn).await
}

/// The coupon with `code`, whatever its case.
pub async fn by_code<C: ConnectionTrait>(
    conn: &C,
    code: &str,
) -> Result<Option<coupon::Model>, DbErr> {
    coupon::Entity::find()
        .filter(coupon::Column::CodeKey.eq(code_key(code)))
        .one(conn)
        .await
}

/// A page of coupons, newest first.
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<coupon::Model>), DbErr> {
    db::page(
        conn,
        coupon::Entity::find(),
        |q| q.order_by_desc(coupon::Column::Id),
        offset,
        limit,
    )
    .await
}

/// Inserts a coupon.
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    row: coupon::ActiveModel,
) -> Result<coupon::Model, DbErr> {
    row.insert(conn).await
}

/// Writes the changed fields of a coupon.
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    row: coupon::ActiveModel,
) -> Result<coupon::Model, DbErr> {
    row.update(conn).await
}

/// Sets the dates of validity that are given (`Some(None)` clears one). Written apart from the
/// rest of the row so each goes as a parameter any engine keeps up to the year 9999 (see
/// [`db::timestamp_value`]).
pub async fn set_dates<C: ConnectionTrait>(
    conn: &C,
    id: i64,
    valid_from: Option<Option<DateTime<Utc>>>,
    valid_until: Option<Option<DateTime<Utc>>>,
) -> Result<(), DbErr> {
    if valid_from.is_none() && valid_until.is_none() {
        return Ok(());
    }
    let backend = conn.get_database_backend();
    let mut update = coupon::Entity::update_many().filter(coupon::Column::Id.eq(id));
    if let Some(at) = valid_from {
        update = update.col_expr(
            coupon::Column::ValidFrom,
            Expr::value(db::timestamp_value(backend, at)),
        );
    }
    if let Some(at) = valid_until {
        update = update.col_expr(
            coupon::Column::ValidUntil,
            Expr::value(db::timestamp_value(backend, at)),
        );
    }
    update.exec(conn).await?;
    Ok(())
}

/// Deletes a coupon; `false` when there was none.
pub async fn delete<C: ConnectionTrait>(conn: &C, id: i64) -> Result<bool, DbErr> {
    Ok(coupon::Entity::delete_by_id(id)
        .exec(conn)
        .await?
        .rows_affected
        > 0)
}

/// How many times `user_id` has used `coupon_id`.
pub async fn user_uses<C: ConnectionTrait>(
    conn: &C,
    coupon_id: i64,
    user_id: i64,
) -> Result<i64, DbErr> {
    Ok(coupon_use::Entity::find()
        .filter(coupon_use::Column::CouponId.eq(coupon_id))
        .filter(coupon_use::Column::UserId.eq(user_id))
        .one(conn)
        .await?
        .map_or(0, |row| row.uses))
}

/// Counts one use of the coupon if it is active, within its dates and below `max_uses` — one
/// conditional update, which also holds the coupon's row lock until the transaction ends, so
/// redemptions of one coupon take turns. `false`: it was not usable.
pub async fn take_use<C: ConnectionTrait>(
    conn: &C,
    coupon_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let usable = Condition::all()
        .add(coupon::Column::Id.eq(coupon_id))
        .add(coupon::Column::IsActive.eq(true))
        .add(
            Condition::any()
                .add(coupon::Column::ValidFrom.is_null())
                .add(coupon::Column::ValidFrom.lte(now)),
        )
        .add(
            Condition::any()
                .add(coupon::Column::ValidUntil.is_null())
                .add(coupon::Column::ValidUntil.gt(now)),
        )
        .add(
            Condition::any()
                .add(coupon::Column::MaxUses.is_null())
                .add(Expr::col(coupon::Column::Uses).lt(Expr::col(coupon::Column::MaxUses))),
        );
    let updated = coupon::Entity::update_many()
        .col_expr(coupon::Column::Uses, Expr::col(coupon::Column::Uses).add(1))
        .filter(usable)
        .exec(conn)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Gives one use of the coupon back (never below zero).
pub async fn give_back_use<C: ConnectionTrait>(conn: &C, coupon_id: i64) -> Result<(), DbErr> {
    coupon::Entity::update_many()
        .col_expr(coupon::Column::Uses, Expr::col(coupon::Column::Uses).sub(1))
        .filter(coupon::Column::Id.eq(coupon_id))
        .filter(coupon::Column::Uses.gt(0))
        .exec(conn)
        .await?;
    Ok(())
}

/// Counts one use by `user_id` if it stays within `max` (`None`: no limit). Runs after
/// [`take_use`] in the same transaction, under the coupon's row lock, so the user's counter
/// row is never inserted by two transactions at once. `false`: the user's uses are spent.
pub async fn take_user_use<C: ConnectionTrait>(
    conn: &C,
    coupon_id: i64,
    user_id: i64,
    max: Option<i64>,
) -> Result<bool, DbErr> {
    let mut update = coupon_use::Entity::update_many()
        .col_expr(
            coupon_use::Column::Uses,
            Expr::col(coupon_use::Column::Uses).add(1),
        )
        .filter(coupon_use::Column::CouponId.eq(coupon_id))
        .filter(coupon_use::Column::UserId.eq(user_id));
    if let Some(max) = max {
        update = update.filter(coupon_use::Column::Uses.lt(max));
    }
    if update.exec(conn).await?.rows_affected == 1 {
        return Ok(true);
    }
    // A locking read: MySQL's plain reads could see a snapshot older than the row a
    // transaction of the same user committed while this one waited for the coupon's lock.
    let exists = coupon_use::Entity::find()
        .filter(coupon_use::Column::CouponId.eq(coupon_id))
        .filter(coupon_use::Column::UserId.eq(user_id))
        .lock_exclusive()
        .one(conn)
        .await?
        .is_some();
    if exists || max.is_some_and(|max| max < 1) {
        return Ok(false);
    }
    let inserted = coupon_use::ActiveModel {
        coupon_id: Set(coupon_id),
        user_id: Set(user_id),
        uses: Set(1),
        ..Default::default()
    }
    .insert(conn)
    .await;
    match inserted {
        Ok(_) => Ok(true),
        // Someone else's row after all: their use counts, this one does not.
        Err(e) if db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Inserts `user_id`'s counter row for the coupon with no uses, unless it exists: one insert
/// whose unique violation means it was there.
pub async fn ensure_user_row(
    db: &sea_orm::DatabaseConnection,
    coupon_id: i64,
    user_id: i64,
) -> Result<(), DbErr> {
    let row = coupon_use::ActiveModel {
        coupon_id: Set(coupon_id),
        user_id: Set(user_id),
        uses: Set(0),
        ..Default::default()
    };
    match coupon_use::Entity::insert(row)
        .exec_without_returning(db)
        .await
    {
        Ok(_) => Ok(()),
        // There already, or the coupon was deleted meanwhile (its redemption will say so).
        Err(e) if db::is_unique_violation(&e) || db::is_foreign_key_violation(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The coupon, locked until the transaction ends, read as it is now: `by_id` or by code.
pub async fn locked<C: ConnectionTrait>(
    conn: &C,
    id: Option<i64>,
    code: Option<&str>,
) -> Result<Option<coupon::Model>, DbErr> {
    let mut query = coupon::Entity::find();
    if let Some(id) = id {
        query = query.filter(coupon::Column::Id.eq(id));
    }
    if let Some(code) = code {
        query = query.filter(coupon::Column::CodeKey.eq(code_key(code)));
    }
    if id.is_none() && code.is_none() {
        return Ok(None);
    }
    query.lock_exclusive().one(conn).await
}

/// Gives one of `user_id`'s uses of the coupon back (never below zero).
pub async fn give_back_user_use<C: ConnectionTrait>(
    conn: &C,
    coupon_id: i64,
    user_id: i64,
) -> Result<(), DbErr> {
    coupon_use::Entity::update_many()
        .col_expr(
            coupon_use::Column::Uses,
            Expr::col(coupon_use::Column::Uses).sub(1),
        )
        .filter(coupon_use::Column::CouponId.eq(coupon_id))
        .filter(coupon_use::Column::UserId.eq(user_id))
        .filter(coupon_use::Column::Uses.gt(0))
        .exec(conn)
        .await?;
    Ok(())
}
