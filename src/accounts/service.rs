//! Account rules: registration, profile, password change, addresses. Sessions (login,
//! refresh, logout) are in `sessions`, the reset by email in `reset`.

use std::net::IpAddr;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use super::password::NewPasswordError;
use super::{address, password, reset, sessions};
use crate::auth::user;
use crate::gate::Gate;
use crate::http::error::{ApiError, FieldErrors, field_error};
use crate::state::AppState;
use crate::throttle::client_key;
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
        && email.chars().count() <= 254
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
#[derive(Clone)]
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

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("email", &self.email)
            .field("password", &"[redacted]")
            .field("is_staff", &self.is_staff)
            .finish_non_exhaustive()
    }
}

/// Creates an account. The unique index on `email` decides a race, not a pre-check.
pub async fn create_user(
    db: &DatabaseConnection,
    gate: &Gate,
    new: NewUser,
) -> Result<user::Model, CreateUserError> {
    let email = normalize_email(&new.email).ok_or(CreateUserError::InvalidEmail)?;
    let hash = password::check_and_hash(
        gate,
        new.password,
        email.clone(),
        new.first_name.clone(),
        new.last_name.clone(),
    )
    .await
    .map_err(|e| match e {
        NewPasswordError::Weak(problems) => CreateUserError::WeakPassword(problems),
        NewPasswordError::Password(e) => CreateUserError::Password(e),
    })?;
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
    row.insert(db).await.map_err(|e| {
        if db::is_unique_violation(&e) {
            CreateUserError::EmailTaken
        } else {
            CreateUserError::Database(e)
        }
    })
}

/// Creates a staff account, as `emporium createsuperuser` does.
pub async fn create_superuser(
    db: &DatabaseConnection,
    gate: &Gate,
    email: &str,
    password: &str,
) -> Result<user::Model, CreateUserError> {
    create_user(
        db,
        gate,
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

/// Registration as the API does it: field errors under `email` and `password`; 429 when the
/// client address has registered too often (`EMPORIUM_THROTTLE_REGISTER`, counted first).
pub async fn register(
    state: &AppState,
    new: NewUser,
    client_ip: IpAddr,
) -> Result<user::Model, ApiError> {
    if let Some(rate) = state.settings.throttle_register {
        let key = format!("register:ip:{}", client_key(client_ip));
        let window = state
            .throttle
            .hit(&key, rate.period)
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        if window.count > rate.limit {
            return Err(ApiError::Throttled {
                retry_after: window.retry_after,
            });
        }
    }
    create_user(&state.db, &state.hash_gate, new)
        .await
        .map_err(|e| match e {
            CreateUserError::InvalidEmail | CreateUserError::EmailTaken => {
                field_error("email", e.to_string())
            }
            CreateUserError::WeakPassword(problems) => password_errors("password", problems),
            CreateUserError::Password(e) => e.into(),
            CreateUserError::Database(e) => e.into(),
        })
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

/// Stores a new password hash; every session and every outstanding reset code of the user
/// ends with it.
pub(super) async fn set_password<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    hash: String,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::Password, Expr::value(hash))
        .filter(user::Column::Id.eq(user_id))
        .exec(conn)
        .await?;
    sessions::revoke_all(conn, user_id).await?;
    reset::spend_all(conn, user_id).await
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
pub(super) async fn new_password_hash(
    gate: &Gate,
    user: &user::Model,
    new_password: String,
) -> Result<String, ApiError> {
    password::check_and_hash(
        gate,
        new_password,
        user.email.clone(),
        user.first_name.clone(),
        user.last_name.clone(),
    )
    .await
    .map_err(|e| match e {
        NewPasswordError::Weak(problems) => password_errors("new_password", problems),
        NewPasswordError::Password(e) => e.into(),
    })
}

/// Changes the password after checking the old one; every refresh token is revoked.
pub async fn change_password(
    state: &AppState,
    user: &user::Model,
    old_password: String,
    new_password: String,
) -> Result<(), ApiError> {
    // A stolen access token must not become a password-guessing oracle: wrong old passwords
    // are limited like failed logins, counted before the check.
    let key = format!("password-change:user:{}", user.id);
    let unavailable = |e: crate::throttle::ThrottleError| ApiError::Unavailable(e.to_string());
    let window = state
        .throttle
        .hit(&key, state.settings.login_lockout)
        .await
        .map_err(unavailable)?;
    if window.count > u64::from(state.settings.login_max_failures) {
        return Err(ApiError::Throttled {
            retry_after: window.retry_after,
        });
    }
    let matches = password::verify(&state.hash_gate, old_password, user.password.clone()).await;
    if !matches.as_ref().is_ok_and(|m| *m) {
        if matches.is_err() {
            state.throttle.undo(&key).await.map_err(unavailable)?;
        }
        matches?;
        return Err(field_error(
            "old_password",
            "Your old password was entered incorrectly. Please enter it again.",
        ));
    }
    state.throttle.undo(&key).await.map_err(unavailable)?;
    let hash = new_password_hash(&state.hash_gate, user, new_password).await?;
    let tx = db::begin_write(&state.db).await?;
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

/// The lock of one user's address book: "is this the first address?" and "unset the other
/// default" read before they write, so two requests of one user take turns.
fn addresses_lock(user_id: i64) -> String {
    format!("addresses:user:{user_id}")
}

/// Creates an address (all required fields already checked). The user's first address is the
/// default; a new default unsets the old one in the same transaction.
pub async fn create_address(
    state: &AppState,
    user_id: i64,
    input: AddressInput,
) -> Result<address::Model, ApiError> {
    let tx = db::begin_exclusive(&state.db, &addresses_lock(user_id)).await?;
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
    let tx = db::begin_exclusive(&state.db, &addresses_lock(user_id)).await?;
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
}
