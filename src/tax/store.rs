//! The tax rates' queries: one rate, the staff list (optionally of one country), and the
//! writes, whose `(country, region_key, tax_class)` the unique index keeps to one rate.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::rate;
use crate::db;

/// One rate.
pub async fn rate<C: ConnectionTrait>(conn: &C, id: i64) -> Result<Option<rate::Model>, DbErr> {
    rate::Entity::find_by_id(id).one(conn).await
}

/// One rate, locked until the transaction ends.
pub async fn rate_locked<C: ConnectionTrait>(
    conn: &C,
    id: i64,
) -> Result<Option<rate::Model>, DbErr> {
    rate::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await
}

/// A page of rates, newest first; of one country when `country` is given.
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    country: Option<&str>,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<rate::Model>), DbErr> {
    let mut query = rate::Entity::find();
    if let Some(country) = country {
        query = query.filter(rate::Column::Country.eq(country));
    }
    db::page(
        conn,
        query,
        |q| q.order_by_desc(rate::Column::Id),
        offset,
        limit,
    )
    .await
}

/// Inserts a rate.
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    row: rate::ActiveModel,
) -> Result<rate::Model, DbErr> {
    row.insert(conn).await
}

/// Writes the changed fields of a rate.
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    row: rate::ActiveModel,
) -> Result<rate::Model, DbErr> {
    row.update(conn).await
}

/// Deletes a rate; `false` when there was none.
pub async fn delete<C: ConnectionTrait>(conn: &C, id: i64) -> Result<bool, DbErr> {
    Ok(rate::Entity::delete_by_id(id)
        .exec(conn)
        .await?
        .rows_affected
        > 0)
}
