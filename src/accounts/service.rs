//! Account rules: registration, login with throttling, refresh-token rotation with reuse
//! detection, logout, profile, password change and reset, addresses.

use std::sync::OnceLock;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set, SqlErr,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::tokens::{TokenError, TokenType};
use super::{address, password, refresh_token, reset_token, user};
use crate::email;
use crate::http::error::{ApiError, FieldErrors, field_error, internal};
use crate::jobs::queue::{self, NewJob};
use crate::jobs::{self, JobContext, JobError};
use crate::state::AppState;
use crate::{db, time};

/// Why a user could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// The email is not an address.
    #[error("Enter a valid email address.")]
    InvalidEmail,
    /// Another account has it (in any letter case).
    #[error("A user with that email already exists.")]
    EmailTaken,
    /// The password breaks a strength rule.
    #[error("{}", .0.join(" "))]
    WeakPassword(Vec<String>),
    /// Hashing failed.
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Lower-cases and trims an email, or `None` when it is not a plausible address.
pub fn normalize_email(email: &str) -> Option<String> {
    let email = email.trim().to_lowercase();
    let (local, domain) = email.rsplit_once('@')?;
    let valid = !local.is_empty()
        && email.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
        && !local.contains('@');
    valid.then_some(email)
}

/// A new account's details, already read from the request.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// As typed; normalised here.
    pub email: String,
    /// Checked against every rule here.
    pub password: String,
    /// Optional.
    pub first_name: String,
    /// Optional.
    pub last_name: String,
    /// Only `createsuperuser` sets this.
    pub is_staff: bool,
}

/// Creates an account. The unique index on `email` decides a race, not a pre-check.
pub async fn create_user(
    db: &DatabaseConnection,
    new: NewUser,
) -> Result<user::Model, CreateUserError> {
    let email = normalize_email(&new.email).ok_or(CreateUserError::InvalidEmail)?;
    let problems = password::problems(&new.password, &email, &new.first_name, &new.last_name);
    if !problems.is_empty() {
        return Err(CreateUserError::WeakPassword(problems));
    }
    let hash = password::hash(new.password).await?;
    let row = user::ActiveModel {
        email: Set(email),
        password: Set(hash),
        first_name: Set(new.first_name),
        last_name: Set(new.last_name),
        is_staff: Set(new.is_staff),
        is_active: Set(true),
        date_joined: Set(time::now()),
        last_login: Set(None),
        ..Default::default()
    };
    row.insert(db).await.map_err(|e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => CreateUserError::EmailTaken,
        _ => CreateUserError::Database(e),
    })
}

/// Creates a staff account, as `emporium createsuperuser` does.
pub async fn create_superuser(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
) -> Result<user::Model, CreateUserError> {
    create_user(
        db,
        NewUser {
            email: email.to_owned(),
            password: password.to_owned(),
            first_name: String::new(),
            last_name: String::new(),
            is_staff: true,
        },
    )
    .await
}

/// Registration as the API does it: field errors under `email` and `password`.
pub async fn register(state: &AppState, new: NewUser) -> Result<user::Model, ApiError> {
    create_user(&state.db, new).await.map_err(|e| match e {
        CreateUserError::InvalidEmail | CreateUserError::EmailTaken => {
            field_error("email", e.to_string())
        }
        CreateUserError::WeakPassword(problems) => password_errors("password", problems),
        CreateUserError::Password(e) => internal(e),
        CreateUserError::Database(e) => e.into(),
    })
}

/// An access and a refresh token.
#[derive(Debug, Clone, Serialize)]
pub struct TokenPair {
    /// Short-lived.
    pub access: String,
    /// Exchanged at `/api/auth/refresh/`.
    pub refresh: String,
}

fn token_invalid(error: &TokenError) -> ApiError {
    ApiError::InvalidToken(error.to_string())
}

/// Issues a pair; the refresh token is recorded in `family` (a new family for a login).
async fn issue_pair<C: ConnectionTrait>(
    state: &AppState,
    conn: &C,
    user_id: i64,
    family: &str,
) -> Result<TokenPair, ApiError> {
    let (access, _) = state
        .tokens
        .issue(TokenType::Access, user_id)
        .map_err(internal)?;
    let (refresh, claims) = state
        .tokens
        .issue(TokenType::Refresh, user_id)
        .map_err(internal)?;
    let expires_at = chrono::DateTime::from_timestamp(claims.exp, 0)
        .ok_or_else(|| internal("refresh expiry out of range"))?;
    refresh_token::ActiveModel {
        jti: Set(claims.jti),
        user_id: Set(user_id),
        family_id: Set(family.to_owned()),
        expires_at: Set(expires_at),
        created_at: Set(time::now()),
        used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(TokenPair { access, refresh })
}

/// A hash that is slow like a real one, checked when the account does not exist so that a
/// login takes as long either way.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        use argon2::password_hash::PasswordHasher;
        argon2::Argon2::default()
            .hash_password(uuid::Uuid::new_v4().as_bytes())
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

const NO_ACCOUNT: &str = "No active account found with the given credentials";

/// Checks the throttle counters of a login; 429 while either is over its limit.
async fn check_login_throttle(state: &AppState, keys: &[(String, u64)]) -> Result<(), ApiError> {
    let mut retry_after = 0;
    for (key, limit) in keys {
        let window = state
            .throttle
            .peek(key)
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        if window.count >= *limit {
            retry_after = retry_after.max(window.retry_after);
        }
    }
    if retry_after > 0 {
        return Err(ApiError::Throttled { retry_after });
    }
    Ok(())
}

/// Logs in: 401 for a wrong email or password (the same answer and the same time for both);
/// 429 while the account or the client address has failed too often, even with the right
/// password.
pub async fn login(
    state: &AppState,
    email: &str,
    password_text: String,
    client_ip: std::net::IpAddr,
) -> Result<TokenPair, ApiError> {
    let settings = &state.settings;
    let email = normalize_email(email).unwrap_or_else(|| email.trim().to_lowercase());
    let account_key = format!("login:account:{email}");
    let ip_key = format!("login:ip:{client_ip}");
    let account_limit = u64::from(settings.login_max_failures);
    let keys = [
        (account_key.clone(), account_limit),
        (ip_key.clone(), account_limit * 4),
    ];
    check_login_throttle(state, &keys).await?;

    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(&state.db)
        .await?;
    let stored = found
        .as_ref()
        .map_or_else(|| decoy_hash().to_owned(), |u| u.password.clone());
    let matches = password::verify(password_text, stored)
        .await
        .map_err(internal)?;
    let user = match found {
        Some(user) if matches && user.is_active => user,
        _ => {
            for (key, _) in &keys {
                state
                    .throttle
                    .hit(key, settings.login_lockout)
                    .await
                    .map_err(|e| ApiError::Unavailable(e.to_string()))?;
            }
            return Err(ApiError::AuthenticationFailed(NO_ACCOUNT.to_owned()));
        }
    };
    state
        .throttle
        .clear(&account_key)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;

    let tx = db::begin_write(&state.db).await?;
    let family = uuid::Uuid::new_v4().to_string();
    let pair = issue_pair(state, &tx, user.id, &family).await?;
    user::Entity::update_many()
        .col_expr(user::Column::LastLogin, Expr::value(Some(time::now())))
        .filter(user::Column::Id.eq(user.id))
        .exec(&tx)
        .await?;
    tx.commit().await?;
    Ok(pair)
}

/// Revokes every live refresh token of a family.
async fn revoke_family<C: ConnectionTrait>(conn: &C, family: &str) -> Result<(), DbErr> {
    refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::RevokedAt,
            Expr::value(Some(time::now())),
        )
        .filter(refresh_token::Column::FamilyId.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Revokes every live refresh token of a user (password change or reset).
pub async fn revoke_all<C: ConnectionTrait>(conn: &C, user_id: i64) -> Result<(), DbErr> {
    refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::RevokedAt,
            Expr::value(Some(time::now())),
        )
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Exchanges a refresh token for a new pair and spends it. The spend is one conditional
/// update, so of two parallel refreshes exactly one wins. Presenting a spent token revokes its
/// whole family: whoever holds the newer tokens must log in again.
pub async fn refresh(state: &AppState, token: &str) -> Result<TokenPair, ApiError> {
    let claims = state
        .tokens
        .verify(token, TokenType::Refresh)
        .map_err(|e| token_invalid(&e))?;
    let now = time::now();
    let tx = db::begin_write(&state.db).await?;
    let spent = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(Some(now)))
        .filter(refresh_token::Column::Jti.eq(claims.jti.as_str()))
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .filter(refresh_token::Column::ExpiresAt.gt(now))
        .exec(&tx)
        .await?;
    let row = refresh_token::Entity::find_by_id(claims.jti.clone())
        .one(&tx)
        .await?;
    let Some(row) = row else {
        tx.rollback().await?;
        return Err(ApiError::InvalidToken(
            "Token is invalid or expired".to_owned(),
        ));
    };
    if spent.rows_affected != 1 {
        if row.used_at.is_some() && row.revoked_at.is_none() {
            // Reuse of a spent token: someone else may hold the family's live token.
            revoke_family(&tx, &row.family_id).await?;
            tx.commit().await?;
            tracing::warn!(
                user_id = row.user_id,
                "refresh token reused; its family is revoked"
            );
        } else {
            tx.rollback().await?;
        }
        return Err(ApiError::InvalidToken("Token is blacklisted".to_owned()));
    }
    let active = user::Entity::find_by_id(row.user_id)
        .one(&tx)
        .await?
        .is_some_and(|u| u.is_active);
    if !active {
        tx.rollback().await?;
        return Err(ApiError::InvalidToken("User not found".to_owned()));
    }
    let pair = issue_pair(state, &tx, row.user_id, &row.family_id).await?;
    tx.commit().await?;
    Ok(pair)
}

/// Logs out: the refresh token's family is revoked.
pub async fn logout(state: &AppState, token: &str) -> Result<(), ApiError> {
    let claims = state
        .tokens
        .verify(token, TokenType::Refresh)
        .map_err(|e| token_invalid(&e))?;
    let row = refresh_token::Entity::find_by_id(claims.jti)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::InvalidToken("Token is invalid or expired".to_owned()))?;
    let tx = db::begin_write(&state.db).await?;
    revoke_family(&tx, &row.family_id).await?;
    tx.commit().await?;
    Ok(())
}

/// Updates the names of a user (the only fields a user may change here).
pub async fn update_profile(
    state: &AppState,
    user: user::Model,
    first_name: Option<String>,
    last_name: Option<String>,
) -> Result<user::Model, ApiError> {
    if first_name.is_none() && last_name.is_none() {
        return Ok(user);
    }
    let mut row: user::ActiveModel = user.into();
    if let Some(first_name) = first_name {
        row.first_name = Set(first_name);
    }
    if let Some(last_name) = last_name {
        row.last_name = Set(last_name);
    }
    Ok(row.update(&state.db).await?)
}

async fn set_password<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    hash: String,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::Password, Expr::value(hash))
        .filter(user::Column::Id.eq(user_id))
        .exec(conn)
        .await?;
    revoke_all(conn, user_id).await
}

fn password_errors(field: &str, problems: Vec<String>) -> ApiError {
    let mut errors = FieldErrors::new();
    for problem in problems {
        errors.add(field, problem);
    }
    ApiError::Validation(errors)
}

/// Checks a new password against every rule (in the context of `user`) and hashes it; the
/// problems are reported under `new_password`.
async fn new_password_hash(user: &user::Model, new_password: String) -> Result<String, ApiError> {
    let problems = password::problems(
        &new_password,
        &user.email,
        &user.first_name,
        &user.last_name,
    );
    if !problems.is_empty() {
        return Err(password_errors("new_password", problems));
    }
    password::hash(new_password).await.map_err(internal)
}

/// Changes the password after checking the old one; every refresh token is revoked.
pub async fn change_password(
    state: &AppState,
    user: &user::Model,
    old_password: String,
    new_password: String,
) -> Result<(), ApiError> {
    let matches = password::verify(old_password, user.password.clone())
        .await
        .map_err(internal)?;
    if !matches {
        return Err(field_error(
            "old_password",
            "Your old password was entered incorrectly. Please enter it again.",
        ));
    }
    let hash = new_password_hash(user, new_password).await?;
    let tx = db::begin_write(&state.db).await?;
    set_password(&tx, user.id, hash).await?;
    tx.commit().await?;
    Ok(())
}

/// The job that makes and mails a reset token.
pub const PASSWORD_RESET_JOB: &str = "accounts.password_reset";
/// How long a reset token is valid.
pub const RESET_TOKEN_TTL: Duration = Duration::from_secs(3600);

#[derive(Serialize, Deserialize)]
struct ResetRequest {
    email: String,
}

/// Asks for a reset. The request does the same work whether or not the account exists — it
/// only queues a job — so neither the answer nor its timing tells. 429 when one address or
/// one client asks too often.
pub async fn request_password_reset(
    state: &AppState,
    email: &str,
    client_ip: std::net::IpAddr,
) -> Result<(), ApiError> {
    let email = normalize_email(email)
        .ok_or_else(|| field_error("email", "Enter a valid email address."))?;
    let hour = Duration::from_secs(3600);
    for (key, limit) in [
        (format!("reset:email:{email}"), 3),
        (format!("reset:ip:{client_ip}"), 20),
    ] {
        let window = state
            .throttle
            .hit(&key, hour)
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        if window.count > limit {
            return Err(ApiError::Throttled {
                retry_after: window.retry_after,
            });
        }
    }
    queue::enqueue(
        &state.db,
        NewJob::new(PASSWORD_RESET_JOB, json!(ResetRequest { email })),
    )
    .await?;
    Ok(())
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The token for a job: an HMAC of the job id with the secret key, so a re-run of the same
/// job makes the same token (and finds its row) instead of mailing a second one.
fn reset_token_for(secret: &[u8], job_id: i64) -> Result<String, JobError> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret).map_err(|e| JobError::Permanent(e.to_string()))?;
    mac.update(format!("password-reset:{job_id}").as_bytes());
    Ok(mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The [`PASSWORD_RESET_JOB`] handler: if the account exists and is active, store the token's
/// hash and queue the mail, in one transaction.
pub async fn password_reset_job(ctx: JobContext, payload: Value) -> Result<(), JobError> {
    let request: ResetRequest = jobs::payload(payload)?;
    let state = &ctx.state;
    let Some(user) = user::Entity::find()
        .filter(user::Column::Email.eq(request.email.as_str()))
        .filter(user::Column::IsActive.eq(true))
        .one(&state.db)
        .await?
    else {
        return Ok(());
    };
    let token = reset_token_for(state.settings.secret_key.expose(), ctx.job_id)?;
    let token_hash = sha256_hex(&token);
    let tx = db::begin_write(&state.db).await?;
    if reset_token::Entity::find_by_id(token_hash.clone())
        .one(&tx)
        .await?
        .is_some()
    {
        // An earlier run of this job got this far and committed: its mail is queued.
        return Ok(());
    }
    let now = time::now();
    reset_token::ActiveModel {
        token_hash: Set(token_hash),
        user_id: Set(user.id),
        expires_at: Set(now + chrono::TimeDelta::seconds(3600)),
        created_at: Set(now),
        used_at: Set(None),
    }
    .insert(&tx)
    .await?;
    let message = email::PASSWORD_RESET
        .render(
            &user.email,
            &[
                ("shop", state.settings.shop_name.as_str()),
                ("email", user.email.as_str()),
                ("token", token.as_str()),
            ],
        )
        .map_err(|e| JobError::Permanent(e.to_string()))?;
    email::enqueue(&tx, &message).await?;
    tx.commit().await?;
    Ok(())
}

/// Sets a new password with a reset token: single use, one hour; every refresh token of the
/// user is revoked.
pub async fn confirm_password_reset(
    state: &AppState,
    token: &str,
    new_password: String,
) -> Result<(), ApiError> {
    let bad_token = || field_error("token", "Invalid or expired token.");
    let token_hash = sha256_hex(token.trim());
    let now = time::now();
    let row = reset_token::Entity::find_by_id(token_hash.clone())
        .one(&state.db)
        .await?
        .filter(|row| row.used_at.is_none() && row.expires_at > now)
        .ok_or_else(bad_token)?;
    let user = user::Entity::find_by_id(row.user_id)
        .one(&state.db)
        .await?
        .filter(|u| u.is_active)
        .ok_or_else(bad_token)?;
    let hash = new_password_hash(&user, new_password).await?;
    let tx = db::begin_write(&state.db).await?;
    // Spend the token with a conditional update: of two uses, one wins.
    let spent = reset_token::Entity::update_many()
        .col_expr(reset_token::Column::UsedAt, Expr::value(Some(now)))
        .filter(reset_token::Column::TokenHash.eq(token_hash))
        .filter(reset_token::Column::UsedAt.is_null())
        .exec(&tx)
        .await?;
    if spent.rows_affected != 1 {
        tx.rollback().await?;
        return Err(bad_token());
    }
    set_password(&tx, user.id, hash).await?;
    tx.commit().await?;
    Ok(())
}

/// The fields of an address as a request gives them (`None`: not given).
#[derive(Clone, Debug, Default)]
pub struct AddressInput {
    pub full_name: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub phone: Option<Option<String>>,
    pub is_default: Option<bool>,
}

/// A user's addresses, default first, then newest.
pub async fn list_addresses(
    db: &DatabaseConnection,
    user_id: i64,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<address::Model>), DbErr> {
    db::page(
        db,
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

/// One of the user's addresses; another user's is "not found".
pub async fn get_address<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    id: i64,
) -> Result<address::Model, ApiError> {
    address::Entity::find_by_id(id)
        .filter(address::Column::UserId.eq(user_id))
        .one(conn)
        .await?
        .ok_or_else(crate::http::error::not_found)
}

async fn clear_default<C: ConnectionTrait>(
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

/// Creates an address (all required fields already checked). The user's first address is the
/// default; a new default unsets the old one in the same transaction.
pub async fn create_address(
    state: &AppState,
    user_id: i64,
    input: AddressInput,
) -> Result<address::Model, ApiError> {
    let tx = db::begin_write(&state.db).await?;
    let has_any = address::Entity::find()
        .filter(address::Column::UserId.eq(user_id))
        .count(&tx)
        .await?
        > 0;
    let now = time::now();
    let row = address::ActiveModel {
        user_id: Set(user_id),
        full_name: Set(input.full_name.unwrap_or_default()),
        line1: Set(input.line1.unwrap_or_default()),
        line2: Set(input.line2.unwrap_or_default()),
        city: Set(input.city.unwrap_or_default()),
        state: Set(input.state.unwrap_or_default()),
        postal_code: Set(input.postal_code.unwrap_or_default()),
        country: Set(input.country.unwrap_or_default()),
        phone: Set(input.phone.flatten()),
        is_default: Set(input.is_default.unwrap_or(false) || !has_any),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    if row.is_default {
        clear_default(&tx, user_id, row.id).await?;
    }
    tx.commit().await?;
    Ok(row)
}

/// Changes the given fields of one of the user's addresses.
pub async fn update_address(
    state: &AppState,
    user_id: i64,
    id: i64,
    input: AddressInput,
) -> Result<address::Model, ApiError> {
    let tx = db::begin_write(&state.db).await?;
    let current = get_address(&tx, user_id, id).await?;
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
    row.updated_at = Set(time::now());
    let row = row.update(&tx).await?;
    if row.is_default {
        clear_default(&tx, user_id, row.id).await?;
    }
    tx.commit().await?;
    Ok(row)
}

/// Deletes one of the user's addresses.
pub async fn delete_address(state: &AppState, user_id: i64, id: i64) -> Result<(), ApiError> {
    let result = address::Entity::delete_many()
        .filter(address::Column::Id.eq(id))
        .filter(address::Column::UserId.eq(user_id))
        .exec(&state.db)
        .await?;
    if result.rows_affected == 0 {
        return Err(crate::http::error::not_found());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            normalize_email(" Ada@Example.COM ").as_deref(),
            Some("ada@example.com")
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@exa mple.com",
            "ada@.com",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn reset_tokens_are_stable_per_job_and_secret() {
        let a = reset_token_for(b"secret-one-that-is-long-enough-000", 5).expect("mac");
        assert_eq!(
            a,
            reset_token_for(b"secret-one-that-is-long-enough-000", 5).expect("mac")
        );
        assert_ne!(
            a,
            reset_token_for(b"secret-one-that-is-long-enough-000", 6).expect("mac")
        );
        assert_ne!(
            a,
            reset_token_for(b"secret-two-that-is-long-enough-000", 5).expect("mac")
        );
        assert_eq!(a.len(), 64);
    }
}
