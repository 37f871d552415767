//! The dashboard's own queries: its sessions.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use super::admin_session;
use crate::auth::user;
use crate::db::timestamp_value;

/// The session `id` and its user, in one query.
pub async fn session<C: ConnectionTrait>(
    conn: &C,
    id: &str,
) -> Result<Option<(admin_session::Model, user::Model)>, DbErr> {
    let found = admin_session::Entity::find_by_id(id)
        .find_also_related(user::Entity)
        .one(conn)
        .await?;
    Ok(found.and_then(|(session, user)| Some((session, user?))))
}

/// Stores a new session.
pub async fn insert<C: ConnectionTrait>(conn: &C, row: admin_session::Model) -> Result<(), DbErr> {
    admin_session::Entity::insert(admin_session::ActiveModel {
        id: Set(row.id),
        user_id: Set(row.user_id),
        csrf: Set(row.csrf),
        password_digest: Set(row.password_digest),
        created_at: Set(row.created_at),
        last_seen_at: Set(row.last_seen_at),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Moves the session's last sight to `now` unless it was seen after `since`: at most one write
/// a minute per session, however many pages it opens.
pub async fn touch<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    admin_session::Entity::update_many()
        .col_expr(
            admin_session::Column::LastSeenAt,
            Expr::value(timestamp_value(backend, Some(now))),
        )
        .filter(admin_session::Column::Id.eq(id))
        .filter(
            Expr::col(admin_session::Column::LastSeenAt)
                .lt(Expr::value(timestamp_value(backend, Some(since)))),
        )
        .exec(conn)
        .await?;
    Ok(())
}

/// Ends one session.
pub async fn delete<C: ConnectionTrait>(conn: &C, id: &str) -> Result<(), DbErr> {
    admin_session::Entity::delete_by_id(id).exec(conn).await?;
    Ok(())
}

/// Removes every session last seen before `before` (idle past the limit).
pub async fn delete_idle<C: ConnectionTrait>(
    conn: &C,
    before: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let backend = conn.get_database_backend();
    let result = admin_session::Entity::delete_many()
        .filter(
            Expr::col(admin_session::Column::LastSeenAt)
                .lt(Expr::value(timestamp_value(backend, Some(before)))),
        )
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
