//! Account rules: registration, profile, password change. Sessions (login, refresh, logout)
//! are in `sessions`, the reset by email in `reset`, the address book in `addresses`.

use std::net::IpAddr;

use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, Set};

use super::password::NewPasswordError;
use super::views::UserView;
use super::{password, store};
use crate::auth::user;
use crate::events::kind::EventType;
use crate::events::service::{self as events, NewEvent, Resource};
use crate::gate::Gate;
use crate::http::error::{ApiError, FieldErrors, field_error};
use crate::throttle::{Limiter, client_key};
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
    let is_staff = new.is_staff;
    let tx = db::begin_write(db).await?;
    let created = row.insert(&tx).await.map_err(|e| {
        if db::is_unique_violation(&e) {
            CreateUserError::EmailTaken
        } else {
            CreateUserError::Database(e)
        }
    })?;
    if !is_staff {
        // In the account's transaction: the event exists if and only if the account does.
        let view = UserView::from(created.clone());
        let event = NewEvent::of(
            EventType::CustomerCreated,
            Resource::Customer(created.id),
            &view,
        )?;
        events::record(&tx, vec![event.about_new()], created.date_joined).await?;
    }
    tx.commit().await?;
    Ok(created)
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
    db: &DatabaseConnection,
    gate: &Gate,
    limit: Option<Limiter<'_>>,
    new: NewUser,
    client_ip: IpAddr,
) -> Result<user::Model, ApiError> {
    if let Some(limit) = limit {
        limit
            .admit(&format!("register:ip:{}", client_key(client_ip)))
            .await?;
    }
    create_user(db, gate, new).await.map_err(|e| match e {
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
    db: &DatabaseConnection,
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
    Ok(row.update(db).await?)
}

/// Stores a new password hash; every session and every outstanding reset code of the user
/// ends with it.
pub(super) async fn set_password<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    hash: String,
) -> Result<(), DbErr> {
    let now = time::now();
    store::set_password_hash(conn, user_id, hash).await?;
    store::revoke_refresh_tokens(conn, user_id, None, now).await?;
    store::spend_reset_codes(conn, user_id, now).await
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
    db: &DatabaseConnection,
    gate: &Gate,
    failures: Limiter<'_>,
    user: &user::Model,
    old_password: String,
    new_password: String,
) -> Result<(), ApiError> {
    // A stolen access token must not become a password-guessing oracle: wrong old passwords
    // are limited like failed logins, counted before the check.
    let key = format!("password-change:user:{}", user.id);
    failures.admit(&key).await?;
    let matches = password::verify(gate, old_password, user.password.clone()).await;
    if !matches.as_ref().is_ok_and(|m| *m) {
        if matches.is_err() {
            failures.undo(&key).await?;
        }
        matches?;
        return Err(field_error(
            "old_password",
            "Your old password was entered incorrectly. Please enter it again.",
        ));
    }
    failures.undo(&key).await?;
    let hash = new_password_hash(gate, user, new_password).await?;
    let tx = db::begin_write(db).await?;
    set_password(&tx, user.id, hash).await?;
    tx.commit().await?;
    Ok(())
}

/// The address of user `id`, if the account exists.
pub async fn email_of<C: ConnectionTrait>(conn: &C, id: i64) -> Result<Option<String>, DbErr> {
    Ok(user::Entity::find_by_id(id)
        .one(conn)
        .await?
        .map(|u| u.email))
}

/// The emails of users `ids`, by id (for lists that show who ordered).
pub async fn emails_of<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(i64, String)> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Email)
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The ids of at most `limit` users whose email contains `text` (case-insensitive: emails are
/// stored lower-cased), for a staff search.
pub async fn users_matching<C: ConnectionTrait>(
    conn: &C,
    text: &str,
    limit: u64,
) -> Result<Vec<i64>, DbErr> {
    use sea_orm::sea_query::{ExprTrait, LikeExpr};
    use sea_orm::{QueryFilter, QueryOrder, QuerySelect};
    let escaped = crate::db::like_escape(&text.to_lowercase());
    let pattern = LikeExpr::new(format!("%{escaped}%")).escape('\\');
    user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(sea_orm::sea_query::Expr::col(user::Column::Email).like(pattern))
        .order_by_asc(user::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await
}

/// The addresses of every active staff member: who the shop's alerts are mailed to.
pub async fn staff_emails<C: ConnectionTrait>(conn: &C) -> Result<Vec<String>, DbErr> {
    store::staff_emails(conn).await
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
