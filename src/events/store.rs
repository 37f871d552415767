//! Queries of the outbox.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
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
