//! The webhook endpoints' queries: one endpoint, the staff list, and the writes.

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
