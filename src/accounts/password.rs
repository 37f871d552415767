//! Password hashing with Argon2id. Hashing is CPU-heavy, so callers in async code run it on the
//! blocking pool ([`hash`] and [`verify`] do that themselves).

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The hasher refused (it never should for a bounded password).
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The blocking task died.
    #[error("password hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Hashes `password` with Argon2id and a random salt, as a PHC string.
pub async fn hash(password: String) -> Result<String, PasswordError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| PasswordError::Hash(e.to_string()))
    })
    .await?
}

/// Checks `password` against a stored PHC string; a malformed hash never matches.
pub async fn verify(password: String, stored: String) -> Result<bool, PasswordError> {
    Ok(tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), stored.as_str())
            .is_ok()
    })
    .await?)
}

/// The basic strength rules every password meets: Django's minimum length and numeric checks.
/// Returns the messages for the `password` field; empty when the password is acceptable.
pub fn basic_problems(password: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if password.chars().count() < 8 {
        problems
            .push("This password is too short. It must contain at least 8 characters.".to_owned());
    }
    if !password.is_empty() && password.chars().all(|c| c.is_ascii_digit()) {
        problems.push("This password is entirely numeric.".to_owned());
    }
    if password.len() > 4096 {
        problems.push("This password is too long.".to_owned());
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_own_password() {
        let stored = hash("correct horse".to_owned()).await.expect("hashes");
        assert!(stored.starts_with("$argon2id$"));
        assert!(!stored.contains("correct horse"));
        assert!(
            verify("correct horse".to_owned(), stored.clone())
                .await
                .expect("runs")
        );
        assert!(
            !verify("wrong horse".to_owned(), stored)
                .await
                .expect("runs")
        );
        assert!(
            !verify("x".to_owned(), "not a hash".to_owned())
                .await
                .expect("runs")
        );
    }

    #[test]
    fn short_and_numeric_passwords_are_flagged() {
        assert_eq!(basic_problems("short").len(), 1);
        assert_eq!(
            basic_problems("12345678"),
            ["This password is entirely numeric."]
        );
        assert!(basic_problems("a sound passphrase").is_empty());
    }
}
