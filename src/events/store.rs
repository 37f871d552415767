//! Queries of the outbox.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LockBehavior, LockType, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::event;

/// The last sequence of `resource`'s events (0: none yet). Read under the resource's own row
/// lock, which every writer of its events holds, in a transaction that sees what committed
/// before the lock was granted (SQLite's single writer, READ COMMITTED elsewhere).
pub async fn last_sequence<C: ConnectionTrait>(conn: &C, resource: &str) -> Result<i64, DbErr> {
    Ok(event::Entity::find()
        .select_only()
        .column(event::Column::Sequence)
        .filter(event::Column::Resource.eq(resource))
        .order_by_desc(event::Column::Sequence)
        .limit(1)
        .into_tuple::<i64>()
        .one(conn)
        .await?
        .unwrap_or(0))
}

/// Inserts events in one statement.
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<event::ActiveModel>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    event::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The events of `resource`, oldest first.
pub async fn of_resource<C: ConnectionTrait>(
    conn: &C,
    resource: &str,
) -> Result<Vec<event::Model>, DbErr> {
    event::Entity::find()
        .filter(event::Column::Resource.eq(resource))
        .order_by_asc(event::Column::Sequence)
        .all(conn)
        .await
}

/// Up to `limit` events not yet made into webhook deliveries, oldest first, locked (others
/// skip them) until the transaction ends.
pub async fn undispatched<C: ConnectionTrait>(
    conn: &C,
    limit: u64,
) -> Result<Vec<event::Model>, DbErr> {
    event::Entity::find()
        .filter(event::Column::DispatchedAt.is_null())
        .order_by_asc(event::Column::Position)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(conn)
        .await
}

/// Marks events as made into deliveries.
pub async fn mark_dispatched<C: ConnectionTrait>(
    conn: &C,
    positions: Vec<i64>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    mark(conn, event::Column::DispatchedAt, positions, now).await
}

/// Sets `column` (a `…_at` still empty) to `now` on the events at `positions`.
async fn mark<C: ConnectionTrait>(
    conn: &C,
    column: event::Column,
    positions: Vec<i64>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if positions.is_empty() {
        return Ok(());
    }
    event::Entity::update_many()
        .col_expr(column, Expr::value(now))
        .filter(event::Column::Position.is_in(positions))
        .filter(column.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// One event by its `evt_…` id.
pub async fn by_id<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<event::Model>, DbErr> {
    event::Entity::find()
        .filter(event::Column::Id.eq(id))
        .one(conn)
        .await
}

/// When the oldest event not yet made into deliveries was written.
pub async fn oldest_undispatched<C: ConnectionTrait>(
    conn: &C,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    event::Entity::find()
        .select_only()
        .column(event::Column::CreatedAt)
        .filter(event::Column::DispatchedAt.is_null())
        .order_by_asc(event::Column::Position)
        .limit(1)
        .into_tuple::<DateTime<Utc>>()
        .one(conn)
        .await
}

/// Up to `limit` events the broker has not confirmed, in the order they were written.
pub async fn unpublished<C: ConnectionTrait>(
    conn: &C,
    limit: u64,
) -> Result<Vec<event::Model>, DbErr> {
    event::Entity::find()
        .filter(event::Column::PublishedAt.is_null())
        .order_by_asc(event::Column::Position)
        .limit(limit)
        .all(conn)
        .await
}

/// Marks the events at `positions` published at `now`.
pub async fn mark_published<C: ConnectionTrait>(
    conn: &C,
    positions: Vec<i64>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    mark(conn, event::Column::PublishedAt, positions, now).await
}

/// How many events the broker has not confirmed, and when the oldest of them was written.
pub async fn unpublished_backlog<C: ConnectionTrait>(
    conn: &C,
) -> Result<(u64, Option<DateTime<Utc>>), DbErr> {
    let waiting = event::Entity::find().filter(event::Column::PublishedAt.is_null());
    let count = waiting.clone().count(conn).await?;
    let oldest = waiting
        .select_only()
        .column(event::Column::CreatedAt)
        .order_by_asc(event::Column::Position)
        .limit(1)
        .into_tuple::<DateTime<Utc>>()
        .one(conn)
        .await?;
    Ok((count, oldest))
}

/// Up to `limit` events that may go: written before `cutoff`, made into deliveries, published
/// (when `published` is asked for), and not the last of their resource — its sequence is where
/// the next event of the resource counts on from.
pub async fn prunable<C: ConnectionTrait>(
    conn: &C,
    cutoff: DateTime<Utc>,
    published: bool,
    limit: u64,
) -> Result<Vec<i64>, DbErr> {
    let later = Query::select()
        .expr(Expr::val(1))
        .from_as(event::Entity, Alias::new("later"))
        .and_where(
            Expr::col((Alias::new("later"), event::Column::Resource))
                .equals((event::Entity, event::Column::Resource)),
        )
        .and_where(
            Expr::col((Alias::new("later"), event::Column::Sequence))
                .gt(Expr::col((event::Entity, event::Column::Sequence))),
        )
        .to_owned();
    let mut query = event::Entity::find()
        .select_only()
        .column(event::Column::Position)
        .filter(event::Column::CreatedAt.lt(cutoff))
        .filter(event::Column::DispatchedAt.is_not_null())
        .filter(Expr::exists(later));
    if published {
        query = query.filter(event::Column::PublishedAt.is_not_null());
    }
    query
        .order_by_asc(event::Column::Position)
        .limit(limit)
        .into_tuple::<i64>()
        .all(conn)
        .await
}

/// Deletes the events at `positions`.
pub async fn delete<C: ConnectionTrait>(conn: &C, positions: Vec<i64>) -> Result<u64, DbErr> {
    if positions.is_empty() {
        return Ok(0);
    }
    Ok(event::Entity::delete_many()
        .filter(event::Column::Position.is_in(positions))
        .exec(conn)
        .await?
        .rows_affected)
}
