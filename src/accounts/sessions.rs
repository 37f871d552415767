//! Sessions: login with throttling, refresh-token rotation with reuse detection and a retry
//! grace, logout, and the purge of dead refresh tokens.
//!
//! Each login starts a *family* of refresh tokens; every refresh spends the presented token and
//! records which token replaced it (`replaced_by`). Presenting a spent token again is treated as
//! theft and revokes the family — except within `EMPORIUM_REFRESH_REUSE_GRACE` of its rotation,
//! when the token that replaced it is still the family's live one: then the caller is an app
//! retrying (or two requests that refreshed at once), and it gets that same token back (it is
//! re-signed from its stored claims, so no token is ever stored) with a fresh access token.

use std::net::IpAddr;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    Set,
};
use serde::Serialize;
use serde_json::Value;

use super::service::normalize_email;
use super::{password, refresh_token};
use crate::auth::tokens::{Claims, TokenType};
use crate::auth::user;
use crate::http::error::{ApiError, internal};
use crate::jobs::{JobContext, JobError};
use crate::state::AppState;
use crate::throttle::client_key;
use crate::{db, time};

/// An access and a refresh token.
#[derive(Clone, Serialize)]
pub struct TokenPair {
    /// Short-lived.
    pub access: String,
    /// Exchanged at `/api/auth/refresh/`.
    pub refresh: String,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenPair { .. }")
    }
}

fn unavailable(error: impl std::fmt::Display) -> ApiError {
    ApiError::Unavailable(error.to_string())
}

fn blacklisted() -> ApiError {
    ApiError::InvalidToken("Token is blacklisted".to_owned())
}

fn invalid_or_expired() -> ApiError {
    ApiError::InvalidToken("Token is invalid or expired".to_owned())
}

/// A new access token for `user_id`.
fn access_for(state: &AppState, user_id: i64) -> Result<String, ApiError> {
    Ok(state
        .tokens
        .issue(TokenType::Access, user_id)
        .map_err(internal)?
        .0)
}

/// Records a refresh token of `family` from its claims. `created_at` is the token's `iat`, so
/// the token can be re-signed, byte for byte, from the row.
async fn record_refresh<C: ConnectionTrait>(
    conn: &C,
    claims: &Claims,
    family: &str,
) -> Result<(), ApiError> {
    let at = |seconds| {
        chrono::DateTime::from_timestamp(seconds, 0)
            .ok_or_else(|| internal("token time out of range"))
    };
    refresh_token::ActiveModel {
        jti: Set(claims.jti.clone()),
        user_id: Set(claims.user_id),
        family_id: Set(family.to_owned()),
        expires_at: Set(at(claims.exp)?),
        created_at: Set(at(claims.iat)?),
        used_at: Set(None),
        revoked_at: Set(None),
        replaced_by: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(())
}

const NO_ACCOUNT: &str = "No active account found with the given credentials";

/// Logs in: 401 for a wrong email or password (the same answer and the same time for both);
/// 429 while the account or the client address has failed too often, even with the right
/// password.
///
/// Count, then decide: the attempt is added to both counters before the password is checked,
/// so of N parallel attempts at most the limit reach the hash. A successful login takes its
/// attempt back (and clears the account's failures); so does one refused for lack of a
/// hashing slot.
pub async fn login(
    state: &AppState,
    email: &str,
    password_text: String,
    client_ip: IpAddr,
) -> Result<TokenPair, ApiError> {
    let settings = &state.settings;
    let email = normalize_email(email).unwrap_or_else(|| email.trim().to_lowercase());
    let account_key = format!("login:account:{email}");
    let ip_key = format!("login:ip:{}", client_key(client_ip));
    let account_limit = u64::from(settings.login_max_failures);
    // The client's counter first: a client already refused creates no account counter.
    for (key, limit) in [(&ip_key, account_limit * 4), (&account_key, account_limit)] {
        let window = state
            .throttle
            .hit(key, settings.login_lockout)
            .await
            .map_err(unavailable)?;
        if window.count > limit {
            return Err(ApiError::Throttled {
                retry_after: window.retry_after,
            });
        }
    }

    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(&state.db)
        .await?;
    let stored = found.as_ref().map(|u| u.password.clone());
    let matches = match password::verify_or_decoy(&state.hash_gate, password_text, stored).await {
        Ok(matches) => matches,
        Err(e) => {
            for key in [&account_key, &ip_key] {
                state.throttle.undo(key).await.map_err(unavailable)?;
            }
            return Err(e.into());
        }
    };
    let user = match found {
        Some(user) if matches && user.is_active => user,
        _ => return Err(ApiError::AuthenticationFailed(NO_ACCOUNT.to_owned())),
    };
    state
        .throttle
        .clear(&account_key)
        .await
        .map_err(unavailable)?;
    state.throttle.undo(&ip_key).await.map_err(unavailable)?;

    let (refresh, claims) = state
        .tokens
        .issue(TokenType::Refresh, user.id)
        .map_err(internal)?;
    let tx = db::begin_write(&state.db).await?;
    record_refresh(&tx, &claims, &uuid::Uuid::new_v4().to_string()).await?;
    user::Entity::update_many()
        .col_expr(user::Column::LastLogin, Expr::value(Some(time::now())))
        .filter(user::Column::Id.eq(user.id))
        .exec(&tx)
        .await?;
    tx.commit().await?;
    Ok(TokenPair {
        access: access_for(state, user.id)?,
        refresh,
    })
}

/// Revokes every live refresh token that `which` selects.
async fn revoke<C: ConnectionTrait>(conn: &C, which: sea_orm::Condition) -> Result<(), DbErr> {
    refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::RevokedAt,
            Expr::value(Some(time::now())),
        )
        .filter(which)
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Revokes every live refresh token of one login (logout, reuse), holding the user's row
/// exclusively while it does (see the lock order in [`refresh`]).
async fn revoke_family<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    family: &str,
) -> Result<(), DbErr> {
    user::Entity::find_by_id(user_id)
        .lock_exclusive()
        .one(conn)
        .await?;
    revoke(
        conn,
        sea_orm::Condition::all().add(refresh_token::Column::FamilyId.eq(family)),
    )
    .await
}

/// Revokes every live refresh token of a user (password change or reset; the caller has
/// already written the user's row, which holds it exclusively).
pub async fn revoke_all<C: ConnectionTrait>(conn: &C, user_id: i64) -> Result<(), DbErr> {
    revoke(
        conn,
        sea_orm::Condition::all().add(refresh_token::Column::UserId.eq(user_id)),
    )
    .await
}

async fn is_active<C: ConnectionTrait>(conn: &C, user_id: i64) -> Result<bool, DbErr> {
    Ok(user::Entity::find_by_id(user_id)
        .one(conn)
        .await?
        .is_some_and(|u| u.is_active))
}

/// Exchanges a refresh token for a new pair and spends it. The spend is one conditional
/// update, so of two parallel refreshes exactly one rotates; the other is answered by the
/// grace (see the module docs) or, outside it, treated as reuse: the family is revoked.
pub async fn refresh(state: &AppState, token: &str) -> Result<TokenPair, ApiError> {
    let claims = state
        .tokens
        .verify(token, TokenType::Refresh)
        .map_err(|e| ApiError::InvalidToken(e.to_string()))?;
    let now = time::now();
    let (next, next_claims) = state
        .tokens
        .issue(TokenType::Refresh, claims.user_id)
        .map_err(internal)?;

    let tx = db::begin_write(&state.db).await?;
    // Lock order: the user's row first, shared. Whatever revokes a user's tokens (password
    // change or reset, logout, reuse) holds it exclusively while it does, so a token inserted
    // here either commits before the revocation looks or finds its parent already revoked.
    let holder = user::Entity::find_by_id(claims.user_id)
        .lock_shared()
        .one(&tx)
        .await?;
    if !holder.is_some_and(|u| u.is_active) {
        tx.rollback().await?;
        return Err(ApiError::InvalidToken("User not found".to_owned()));
    }
    let spent = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(Some(now)))
        .col_expr(
            refresh_token::Column::ReplacedBy,
            Expr::value(Some(next_claims.jti.clone())),
        )
        .filter(refresh_token::Column::Jti.eq(claims.jti.as_str()))
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .filter(refresh_token::Column::ExpiresAt.gt(now))
        .exec(&tx)
        .await?;
    if spent.rows_affected == 1 {
        let row = refresh_token::Entity::find_by_id(claims.jti.clone())
            .one(&tx)
            .await?
            .ok_or_else(|| internal("a refresh token spent in this transaction is gone"))?;
        record_refresh(&tx, &next_claims, &row.family_id).await?;
        tx.commit().await?;
        return Ok(TokenPair {
            access: access_for(state, row.user_id)?,
            refresh: next,
        });
    }
    tx.rollback().await?;

    // Not spent by this call. Read the row afresh (outside that transaction, so the winner of
    // a parallel refresh is visible once it has committed).
    let row = refresh_token::Entity::find_by_id(claims.jti.clone())
        .one(&state.db)
        .await?
        .ok_or_else(invalid_or_expired)?;
    if row.revoked_at.is_some() {
        return Err(blacklisted());
    }
    if row.used_at.is_none() {
        return Err(invalid_or_expired());
    }
    if let Some(pair) = replay_within_grace(state, &row, now).await? {
        return Ok(pair);
    }
    let tx = db::begin_write(&state.db).await?;
    revoke_family(&tx, row.user_id, &row.family_id).await?;
    tx.commit().await?;
    tracing::warn!(
        user_id = row.user_id,
        "refresh token reused; its family is revoked"
    );
    Err(blacklisted())
}

/// The answer to a spent token presented again within the grace: the token that replaced it,
/// re-signed, if that one is still unspent, unrevoked and unexpired. `None` otherwise.
async fn replay_within_grace(
    state: &AppState,
    row: &refresh_token::Model,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<TokenPair>, ApiError> {
    let grace =
        chrono::TimeDelta::from_std(state.settings.refresh_reuse_grace).map_err(internal)?;
    let (Some(used_at), Some(next_jti)) = (row.used_at, row.replaced_by.as_deref()) else {
        return Ok(None);
    };
    if grace.is_zero() || now - used_at > grace {
        return Ok(None);
    }
    let Some(next) = refresh_token::Entity::find_by_id(next_jti.to_owned())
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    let live = next.used_at.is_none() && next.revoked_at.is_none() && next.expires_at > now;
    if !live || !is_active(&state.db, next.user_id).await? {
        return Ok(None);
    }
    let refresh = state
        .tokens
        .sign(&Claims {
            token_type: TokenType::Refresh,
            exp: next.expires_at.timestamp(),
            iat: next.created_at.timestamp(),
            jti: next.jti,
            user_id: next.user_id,
        })
        .map_err(internal)?;
    Ok(Some(TokenPair {
        access: access_for(state, next.user_id)?,
        refresh,
    }))
}

/// Logs out: the refresh token's family is revoked.
pub async fn logout(state: &AppState, token: &str) -> Result<(), ApiError> {
    let claims = state
        .tokens
        .verify(token, TokenType::Refresh)
        .map_err(|e| ApiError::InvalidToken(e.to_string()))?;
    let row = refresh_token::Entity::find_by_id(claims.jti)
        .one(&state.db)
        .await?
        .ok_or_else(invalid_or_expired)?;
    let tx = db::begin_write(&state.db).await?;
    revoke_family(&tx, row.user_id, &row.family_id).await?;
    tx.commit().await?;
    Ok(())
}

/// The periodic job that deletes expired refresh tokens (an expired token is refused by its
/// signature check before its row is read, so the row has no use left).
pub const PURGE_JOB: &str = "accounts.purge_sessions";

/// The [`PURGE_JOB`] handler.
pub async fn purge_job(ctx: JobContext, _payload: Value) -> Result<(), JobError> {
    refresh_token::Entity::delete_many()
        .filter(refresh_token::Column::ExpiresAt.lt(time::now()))
        .exec(&ctx.state.db)
        .await?;
    super::reset::purge(&ctx.state.db).await?;
    Ok(())
}
