//! Account rules: normalising emails and creating users.

use sea_orm::{ActiveModelTrait, DatabaseConnection, DbErr, Set, SqlErr};

use super::{password, user};

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

/// Creates a staff account, as `emporium createsuperuser` does.
pub async fn create_superuser(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
) -> Result<user::Model, CreateUserError> {
    let email = normalize_email(email).ok_or(CreateUserError::InvalidEmail)?;
    let problems = password::basic_problems(password);
    if !problems.is_empty() {
        return Err(CreateUserError::WeakPassword(problems));
    }
    let hash = password::hash(password.to_owned()).await?;
    let row = user::ActiveModel {
        email: Set(email),
        password: Set(hash),
        first_name: Set(String::new()),
        last_name: Set(String::new()),
        is_staff: Set(true),
        is_active: Set(true),
        date_joined: Set(crate::time::now()),
        last_login: Set(None),
        ..Default::default()
    };
    row.insert(db).await.map_err(|e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => CreateUserError::EmailTaken,
        _ => CreateUserError::Database(e),
    })
}

#[cfg(test)]
mod tests {
    use super::normalize_email;

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
