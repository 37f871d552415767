//! The queries of accounts: users, refresh tokens, reset codes and addresses. Each function is
//! one statement (or one lock and one statement) and takes the connection or transaction it
//! runs on; the rules and the transactions are in the services.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::addresses::AddressInput;
use super::{address, refresh_token, reset_token};
use crate::auth::user;
use crate::db;

// Users.

/// The account with this (normalised) email, active or not.
pub async fn user_by_email<C: ConnectionTrait>(
    conn: &C,
    email: &str,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(conn)
        .await
}

/// The account with this id, if it exists and is active.
pub async fn active_user<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
) -> Result<Option<user::Model>, DbErr> {
    Ok(user::Entity::find_by_id(user_id)
        .one(conn)
        .await?
        .filter(|u| u.is_active))
}

/// Locks the user's row until the transaction ends — shared or exclusive — and returns it.
/// Whatever revokes a user's refresh tokens holds it exclusively; a refresh holds it shared.
pub async fn lock_user<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    exclusive: bool,
) -> Result<Option<user::Model>, DbErr> {
    let query = user::Entity::find_by_id(user_id);
    let query = if exclusive {
        query.lock_exclusive()
    } else {
        query.lock_shared()
    };
    query.one(conn).await
}

/// Stores a new password hash (which also takes the user's row exclusively).
pub async fn set_password_hash<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    hash: String,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::Password, Expr::value(hash))
        .filter(user::Column::Id.eq(user_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Records a login.
pub async fn set_last_login<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::LastLogin, Expr::value(Some(at)))
        .filter(user::Column::Id.eq(user_id))
        .exec(conn)
        .await?;
    Ok(())
}

// Refresh tokens.

/// A refresh token's row by its `jti`.
pub async fn refresh_token<C: ConnectionTrait>(
    conn: &C,
    jti: &str,
) -> Result<Option<refresh_token::Model>, DbErr> {
    refresh_token::Entity::find_by_id(jti.to_owned())
        .one(conn)
        .await
}

/// Records a new, live refresh token.
pub async fn insert_refresh_token<C: ConnectionTrait>(
    conn: &C,
    jti: &str,
    user_id: i64,
    family: &str,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    refresh_token::ActiveModel {
        jti: Set(jti.to_owned()),
        user_id: Set(user_id),
        family_id: Set(family.to_owned()),
        expires_at: Set(expires_at),
        created_at: Set(created_at),
        used_at: Set(None),
        revoked_at: Set(None),
        replaced_by: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Spends a live refresh token, recording the one that replaces it: one conditional update,
/// true for the one caller that spent it.
pub async fn spend_refresh_token<C: ConnectionTrait>(
    conn: &C,
    jti: &str,
    replaced_by: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let spent = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(Some(now)))
        .col_expr(
            refresh_token::Column::ReplacedBy,
            Expr::value(Some(replaced_by.to_owned())),
        )
        .filter(refresh_token::Column::Jti.eq(jti))
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .filter(refresh_token::Column::ExpiresAt.gt(now))
        .exec(conn)
        .await?;
    Ok(spent.rows_affected == 1)
}

/// Revokes the live refresh tokens of one login (`family: Some`) or of the whole user.
pub async fn revoke_refresh_tokens<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    family: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut which = Condition::all().add(refresh_token::Column::UserId.eq(user_id));
    if let Some(family) = family {
        which = which.add(refresh_token::Column::FamilyId.eq(family));
    }
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Some(now)))
        .filter(which)
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes refresh tokens that expired before `now`.
pub async fn delete_expired_refresh_tokens<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    refresh_token::Entity::delete_many()
        .filter(refresh_token::Column::ExpiresAt.lt(now))
        .exec(conn)
        .await?;
    Ok(())
}

// Reset codes (stored as the SHA-256 of the code).

/// A reset code's row by its hash.
pub async fn reset_code<C: ConnectionTrait>(
    conn: &C,
    code_hash: &str,
) -> Result<Option<reset_token::Model>, DbErr> {
    reset_token::Entity::find_by_id(code_hash.to_owned())
        .one(conn)
        .await
}

/// Stores a new reset code's hash (a unique violation means a parallel run stored it first).
pub async fn insert_reset_code<C: ConnectionTrait>(
    conn: &C,
    code_hash: &str,
    user_id: i64,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    reset_token::ActiveModel {
        token_hash: Set(code_hash.to_owned()),
        user_id: Set(user_id),
        expires_at: Set(expires_at),
        created_at: Set(created_at),
        used_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Spends one unused code: one conditional update, true for the one caller that spent it.
pub async fn spend_reset_code<C: ConnectionTrait>(
    conn: &C,
    code_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let spent = reset_token::Entity::update_many()
        .col_expr(reset_token::Column::UsedAt, Expr::value(Some(now)))
        .filter(reset_token::Column::TokenHash.eq(code_hash))
        .filter(reset_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(spent.rows_affected == 1)
}

/// Spends every unused code of a user.
pub async fn spend_reset_codes<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    reset_token::Entity::update_many()
        .col_expr(reset_token::Column::UsedAt, Expr::value(Some(now)))
        .filter(reset_token::Column::UserId.eq(user_id))
        .filter(reset_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes codes that expired before `now`.
pub async fn delete_expired_reset_codes<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    reset_token::Entity::delete_many()
        .filter(reset_token::Column::ExpiresAt.lt(now))
        .exec(conn)
        .await?;
    Ok(())
}

// Addresses.

/// A page of a user's addresses, default first, then newest, with the total.
pub async fn addresses_page<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<address::Model>), DbErr> {
    db::page(
        conn,
        address::Entity::find().filter(address::Column::UserId.eq(user_id)),
        |q| {
            q.order_by_desc(address::Column::IsDefault)
                .order_by_desc(address::Column::Id)
        },
        offset,
        limit,
    )
    .await
}

/// One of the user's addresses (another user's is `None`).
pub async fn address<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    id: i64,
) -> Result<Option<address::Model>, DbErr> {
    address::Entity::find_by_id(id)
        .filter(address::Column::UserId.eq(user_id))
        .one(conn)
        .await
}

/// The user's default address, if any.
pub async fn default_address<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
) -> Result<Option<address::Model>, DbErr> {
    address::Entity::find()
        .filter(address::Column::UserId.eq(user_id))
        .filter(address::Column::IsDefault.eq(true))
        .one(conn)
        .await
}

/// True when the user has at least one address.
pub async fn has_address<C: ConnectionTrait>(conn: &C, user_id: i64) -> Result<bool, DbErr> {
    Ok(address::Entity::find()
        .filter(address::Column::UserId.eq(user_id))
        .count(conn)
        .await?
        > 0)
}

/// Inserts an address from checked input.
pub async fn insert_address<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    input: AddressInput,
    is_default: bool,
    now: DateTime<Utc>,
) -> Result<address::Model, DbErr> {
    address::ActiveModel {
        user_id: Set(user_id),
        full_name: Set(input.full_name.unwrap_or_default()),
        line1: Set(input.line1.unwrap_or_default()),
        line2: Set(input.line2.unwrap_or_default()),
        city: Set(input.city.unwrap_or_default()),
        state: Set(input.state.unwrap_or_default()),
        postal_code: Set(input.postal_code.unwrap_or_default()),
        country: Set(input.country.unwrap_or_default()),
        phone: Set(input.phone.flatten()),
        is_default: Set(is_default),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await
}

/// Writes the given fields of an address.
pub async fn update_address<C: ConnectionTrait>(
    conn: &C,
    current: address::Model,
    input: AddressInput,
    now: DateTime<Utc>,
) -> Result<address::Model, DbErr> {
    let mut row: address::ActiveModel = current.into();
    db::set_given(&mut row.full_name, input.full_name);
    db::set_given(&mut row.line1, input.line1);
    db::set_given(&mut row.line2, input.line2);
    db::set_given(&mut row.city, input.city);
    db::set_given(&mut row.state, input.state);
    db::set_given(&mut row.postal_code, input.postal_code);
    db::set_given(&mut row.country, input.country);
    db::set_given(&mut row.phone, input.phone);
    db::set_given(&mut row.is_default, input.is_default);
    row.updated_at = Set(now);
    row.update(conn).await
}

/// Makes every other address of the user not the default.
pub async fn clear_default_address<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    except: i64,
) -> Result<(), DbErr> {
    address::Entity::update_many()
        .col_expr(address::Column::IsDefault, Expr::value(false))
        .filter(address::Column::UserId.eq(user_id))
        .filter(address::Column::Id.ne(except))
        .filter(address::Column::IsDefault.eq(true))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes one of the user's addresses; false when there was none.
pub async fn delete_address<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    id: i64,
) -> Result<bool, DbErr> {
    let result = address::Entity::delete_many()
        .filter(address::Column::Id.eq(id))
        .filter(address::Column::UserId.eq(user_id))
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}

/// The addresses of every active staff member, oldest account first.
pub async fn staff_emails<C: ConnectionTrait>(conn: &C) -> Result<Vec<String>, DbErr> {
    user::Entity::find()
        .select_only()
        .column(user::Column::Email)
        .filter(user::Column::IsStaff.eq(true))
        .filter(user::Column::IsActive.eq(true))
        .order_by_asc(user::Column::Id)
        .into_tuple::<String>()
        .all(conn)
        .await
}
