//! What staff do with accounts (the dashboard): find customers, read one's address book, and
//! deactivate or reactivate an account.

use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};

use super::{address, store};
use crate::auth::user;
use crate::http::error::{ApiError, conflict, not_found};
use crate::{db, time};

/// A page of accounts, newest first; `text` narrows them to emails that contain it.
pub async fn users_page(
    conn: &DatabaseConnection,
    text: &str,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<user::Model>), DbErr> {
    let mut query = user::Entity::find();
    let text = text.trim();
    if !text.is_empty() {
        let pattern =
            LikeExpr::new(format!("%{}%", db::like_escape(&text.to_lowercase()))).escape('\\');
        query = query.filter(Expr::col(user::Column::Email).like(pattern));
    }
    db::page(
        conn,
        query,
        |q| {
            q.order_by_desc(user::Column::DateJoined)
                .order_by_desc(user::Column::Id)
        },
        offset,
        limit,
    )
    .await
}

/// One account.
pub async fn user(conn: &DatabaseConnection, id: i64) -> Result<user::Model, ApiError> {
    user::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(not_found)
}

/// An account's addresses, the default first.
pub async fn addresses(
    conn: &DatabaseConnection,
    user_id: i64,
    limit: u64,
) -> Result<Vec<address::Model>, DbErr> {
    Ok(store::addresses_page(conn, user_id, 0, limit).await?.1)
}

/// Deactivates (`active: false`) or reactivates an account. A deactivated account cannot log
/// in, its tokens stop working at once (every request checks the account) and its refresh
/// tokens are revoked; nobody deactivates their own account here. Doing it twice is the same
/// as once.
pub async fn set_active(
    conn: &DatabaseConnection,
    by: i64,
    id: i64,
    active: bool,
) -> Result<(), ApiError> {
    if by == id && !active {
        return Err(conflict("You cannot deactivate your own account."));
    }
    let tx = db::begin_write(conn).await?;
    store::lock_user(&tx, id, true).await?;
    let changed = user::Entity::update_many()
        .col_expr(user::Column::IsActive, Expr::value(active))
        .filter(user::Column::Id.eq(id))
        .exec(&tx)
        .await?;
    if changed.rows_affected == 0 && user::Entity::find_by_id(id).one(&tx).await?.is_none() {
        return Err(not_found());
    }
    if !active {
        store::revoke_refresh_tokens(&tx, id, None, time::now()).await?;
    }
    tx.commit().await?;
    Ok(())
}
