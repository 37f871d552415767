//! The webhook endpoints' queries: one endpoint, the staff list, and the writes.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{delivery, endpoint};
use crate::db;

/// One endpoint.
pub async fn endpoint<C: ConnectionTrait>(
    conn: &C,
    id: i64,
) -> Result<Option<endpoint::Model>, DbErr> {
    endpoint::Entity::find_by_id(id).one(conn).await
}

/// One endpoint, locked until the transaction ends.
pub async fn endpoint_locked<C: ConnectionTrait>(
    conn: &C,
    id: i64,
) -> Result<Option<endpoint::Model>, DbErr> {
    endpoint::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await
}

/// A page of endpoints, newest first.
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<endpoint::Model>), DbErr> {
    db::page(
        conn,
        endpoint::Entity::find(),
        |q| q.order_by_desc(endpoint::Column::Id),
        offset,
        limit,
    )
    .await
}

/// Inserts an endpoint.
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    row: endpoint::ActiveModel,
) -> Result<endpoint::Model, DbErr> {
    row.insert(conn).await
}

/// Writes the changed fields of an endpoint.
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    row: endpoint::ActiveModel,
) -> Result<endpoint::Model, DbErr> {
    row.update(conn).await
}

/// Deletes an endpoint and its deliveries; `false` when there was none. The foreign key
/// cascades too; deleting the deliveries first says so on every engine's terms.
pub async fn delete<C: ConnectionTrait>(conn: &C, id: i64) -> Result<bool, DbErr> {
    delivery::Entity::delete_many()
        .filter(delivery::Column::EndpointId.eq(id))
        .exec(conn)
        .await?;
    Ok(endpoint::Entity::delete_by_id(id)
        .exec(conn)
        .await?
        .rows_affected
        > 0)
}

/// Counts a failed attempt against the endpoint.
pub async fn count_failure<C: ConnectionTrait>(conn: &C, id: i64) -> Result<(), DbErr> {
    endpoint::Entity::update_many()
        .col_expr(
            endpoint::Column::ConsecutiveFailures,
            Expr::col(endpoint::Column::ConsecutiveFailures).add(1),
        )
        .filter(endpoint::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// A success: the endpoint's failures start again from zero.
pub async fn reset_failures<C: ConnectionTrait>(conn: &C, id: i64) -> Result<(), DbErr> {
    endpoint::Entity::update_many()
        .col_expr(endpoint::Column::ConsecutiveFailures, Expr::value(0))
        .filter(endpoint::Column::Id.eq(id))
        .filter(endpoint::Column::ConsecutiveFailures.ne(0))
        .exec(conn)
        .await?;
    Ok(())
}

/// Turns the endpoint off when it is on and has failed `limit` times in a row; the endpoint
/// when this call did it (so exactly one caller mails staff).
pub async fn disable_if_failing<C: ConnectionTrait>(
    conn: &C,
    id: i64,
    limit: i32,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Option<endpoint::Model>, DbErr> {
    let turned_off = endpoint::Entity::update_many()
        .col_expr(endpoint::Column::IsActive, Expr::value(false))
        .col_expr(endpoint::Column::DisabledReason, Expr::value(reason))
        .col_expr(endpoint::Column::UpdatedAt, Expr::value(now))
        .filter(endpoint::Column::Id.eq(id))
        .filter(endpoint::Column::IsActive.eq(true))
        .filter(endpoint::Column::ConsecutiveFailures.gte(limit))
        .exec(conn)
        .await?
        .rows_affected
        == 1;
    if turned_off {
        endpoint(conn, id).await
    } else {
        Ok(None)
    }
}

/// The endpoints that are on, in id order (the order the dispatcher's inserts lock them in).
pub async fn active<C: ConnectionTrait>(conn: &C) -> Result<Vec<endpoint::Model>, DbErr> {
    endpoint::Entity::find()
        .filter(endpoint::Column::IsActive.eq(true))
        .order_by_asc(endpoint::Column::Id)
        .all(conn)
        .await
}
