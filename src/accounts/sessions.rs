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
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use serde::{Deserialize, Serialize};

use super::service::normalize_email;
use super::{password, refresh_token, store};
use crate::auth::tokens::{Claims, TokenKeys, TokenType};
use crate::auth::user;
use crate::gate::Gate;
use crate::http::error::{ApiError, internal};
use crate::jobs::{Job, JobContext, JobError};
use crate::throttle::{Limiter, Rate, client_key};
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

fn blacklisted() -> ApiError {
    ApiError::InvalidToken("Token is blacklisted".to_owned())
}

fn invalid_or_expired() -> ApiError {
    ApiError::InvalidToken("Token is invalid or expired".to_owned())
}

/// A new access token for `user_id`.
fn access_for(tokens: &TokenKeys, user_id: i64) -> Result<String, ApiError> {
    Ok(tokens.issue(TokenType::Access, user_id)?.0)
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
    store::insert_refresh_token(
        conn,
        &claims.jti,
        claims.user_id,
        family,
        at(claims.iat)?,
        at(claims.exp)?,
    )
    .await?;
    Ok(())
}

const NO_ACCOUNT: &str = "No active account found with the given credentials";

/// Logs in: 401 for a wrong email or password (the same answer and the same time for both);
/// 429 while the account or the client address has failed too often, even with the right
/// password (see [`authenticate`]).
pub async fn login(
    db: &DatabaseConnection,
    gate: &Gate,
    tokens: &TokenKeys,
    failures: Limiter<'_>,
    email: &str,
    password_text: String,
    client_ip: IpAddr,
) -> Result<TokenPair, ApiError> {
    let user = authenticate(db, gate, failures, email, password_text, client_ip).await?;
    let (refresh, claims) = tokens.issue(TokenType::Refresh, user.id)?;
    let tx = db::begin_write(db).await?;
    record_refresh(&tx, &claims, &uuid::Uuid::new_v4().to_string()).await?;
    store::set_last_login(&tx, user.id, time::now()).await?;
    tx.commit().await?;
    Ok(TokenPair {
        access: access_for(tokens, user.id)?,
        refresh,
    })
}

/// Records that `user_id` signed in now (the dashboard's sign-in; the API's login does it with
/// its refresh token).
pub async fn record_sign_in<C: ConnectionTrait>(conn: &C, user_id: i64) -> Result<(), DbErr> {
    store::set_last_login(conn, user_id, time::now()).await
}

/// The active account of `email` when `password_text` is its password: what every sign-in
/// (the API's login, the dashboard's) asks. 401 for a wrong email or password (the same answer
/// and the same time for both); 429 while the account or the client address has failed too
/// often, even with the right password.
///
/// Count, then decide: the attempt is added to both counters before the password is checked,
/// so of N parallel attempts at most the limit reach the hash. A successful sign-in takes its
/// attempt back (and clears the account's failures); so does one refused for lack of a
/// hashing slot.
pub async fn authenticate(
    db: &DatabaseConnection,
    gate: &Gate,
    failures: Limiter<'_>,
    email: &str,
    password_text: String,
    client_ip: IpAddr,
) -> Result<user::Model, ApiError> {
    let email = normalize_email(email).unwrap_or_else(|| email.trim().to_lowercase());
    let account = format!("login:account:{email}");
    let client = format!("login:ip:{}", client_key(client_ip));
    let per_client = Limiter {
        rate: Rate {
            limit: failures.rate.limit.saturating_mul(4),
            ..failures.rate
        },
        ..failures
    };
    // The client's counter first: a client already refused creates no account counter.
    per_client.admit(&client).await?;
    failures.admit(&account).await?;

    let found = store::user_by_email(db, &email).await?;
    let stored = found.as_ref().map(|u| u.password.clone());
    let matches = match password::verify_or_decoy(gate, password_text, stored).await {
        Ok(matches) => matches,
        Err(e) => {
            failures.undo(&account).await?;
            per_client.undo(&client).await?;
            return Err(e.into());
        }
    };
    let user = match found {
        Some(user) if matches && user.is_active => user,
        _ => return Err(ApiError::AuthenticationFailed(NO_ACCOUNT.to_owned())),
    };
    failures.store.clear(&account).await?;
    per_client.undo(&client).await?;
    Ok(user)
}

/// Revokes every live refresh token of one login (logout, reuse), holding the user's row
/// exclusively while it does (see the lock order in [`refresh`]).
async fn revoke_family<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    family: &str,
) -> Result<(), DbErr> {
    store::lock_user(conn, user_id, true).await?;
    store::revoke_refresh_tokens(conn, user_id, Some(family), time::now()).await
}

/// Exchanges a refresh token for a new pair and spends it. The spend is one conditional
/// update, so of two parallel refreshes exactly one rotates; the other is answered by the
/// grace (see the module docs) or, outside it, treated as reuse: the family is revoked.
pub async fn refresh(
    db: &DatabaseConnection,
    tokens: &TokenKeys,
    reuse_grace: Duration,
    token: &str,
) -> Result<TokenPair, ApiError> {
    let claims = tokens.verify(token, TokenType::Refresh)?;
    let now = time::now();
    let (next, next_claims) = tokens.issue(TokenType::Refresh, claims.user_id)?;

    let tx = db::begin_write(db).await?;
    // Lock order: the user's row first, shared. Whatever revokes a user's tokens (password
    // change or reset, logout, reuse) holds it exclusively while it does, so a token inserted
    // here either commits before the revocation looks or finds its parent already revoked.
    let holder = store::lock_user(&tx, claims.user_id, false).await?;
    if !holder.is_some_and(|u| u.is_active) {
        tx.rollback().await?;
        return Err(ApiError::InvalidToken("User not found".to_owned()));
    }
    if store::spend_refresh_token(&tx, &claims.jti, &next_claims.jti, now).await? {
        let row = store::refresh_token(&tx, &claims.jti)
            .await?
            .ok_or_else(|| internal("a refresh token spent in this transaction is gone"))?;
        record_refresh(&tx, &next_claims, &row.family_id).await?;
        tx.commit().await?;
        return Ok(TokenPair {
            access: access_for(tokens, row.user_id)?,
            refresh: next,
        });
    }
    tx.rollback().await?;

    // Not spent by this call. Read the row afresh (outside that transaction, so the winner of
    // a parallel refresh is visible once it has committed).
    let row = store::refresh_token(db, &claims.jti)
        .await?
        .ok_or_else(invalid_or_expired)?;
    if row.revoked_at.is_some() {
        return Err(blacklisted());
    }
    if row.used_at.is_none() {
        return Err(invalid_or_expired());
    }
    if let Some(pair) = replay_within_grace(db, tokens, reuse_grace, &row, now).await? {
        return Ok(pair);
    }
    let tx = db::begin_write(db).await?;
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
    db: &DatabaseConnection,
    tokens: &TokenKeys,
    grace: Duration,
    row: &refresh_token::Model,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<TokenPair>, ApiError> {
    let grace = chrono::TimeDelta::from_std(grace).map_err(internal)?;
    let (Some(used_at), Some(next_jti)) = (row.used_at, row.replaced_by.as_deref()) else {
        return Ok(None);
    };
    if grace.is_zero() || now - used_at > grace {
        return Ok(None);
    }
    let Some(next) = store::refresh_token(db, next_jti).await? else {
        return Ok(None);
    };
    let live = next.used_at.is_none() && next.revoked_at.is_none() && next.expires_at > now;
    if !live || store::active_user(db, next.user_id).await?.is_none() {
        return Ok(None);
    }
    let refresh = tokens.sign(&Claims {
        token_type: TokenType::Refresh,
        exp: next.expires_at.timestamp(),
        iat: next.created_at.timestamp(),
        jti: next.jti,
        user_id: next.user_id,
    })?;
    Ok(Some(TokenPair {
        access: access_for(tokens, next.user_id)?,
        refresh,
    }))
}

/// Logs out: the refresh token's family is revoked.
pub async fn logout(
    db: &DatabaseConnection,
    tokens: &TokenKeys,
    token: &str,
) -> Result<(), ApiError> {
    let claims = tokens.verify(token, TokenType::Refresh)?;
    let row = store::refresh_token(db, &claims.jti)
        .await?
        .ok_or_else(invalid_or_expired)?;
    let tx = db::begin_write(db).await?;
    revoke_family(&tx, row.user_id, &row.family_id).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes expired refresh tokens (an expired token is refused by its signature check before
/// its row is read, so the row has no use left) and expired reset codes; hourly.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PurgeSessions {}

impl Job for PurgeSessions {
    const KIND: &'static str = "accounts.purge_sessions";

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        purge(&ctx).await
    }
}

async fn purge(ctx: &JobContext) -> Result<(), JobError> {
    let now = time::now();
    store::delete_expired_refresh_tokens(&ctx.state.db, now).await?;
    // A used reset code stays until it expires, so that a late re-run of its job finds it
    // used and mails nothing; after that the job itself refuses to run (its request is more
    // than an hour old).
    store::delete_expired_reset_codes(&ctx.state.db, now).await?;
    Ok(())
}
