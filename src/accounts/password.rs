//! Password hashing with Argon2id. A hash costs about 19 MiB and tens of milliseconds of CPU,
//! so every hash and check goes through the application's [`Gate`]: a fixed number run at once
//! on the blocking pool, a bounded number wait, and the rest are refused with `503`.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::gate::{Gate, GateError};
use crate::http::error::{ApiError, internal};

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The hasher refused (it never should for a bounded password).
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// No hashing slot was free, or the blocking task died.
    #[error(transparent)]
    Gate(#[from] GateError),
}

impl From<PasswordError> for ApiError {
    fn from(error: PasswordError) -> ApiError {
        match error {
            PasswordError::Gate(GateError::Busy) => ApiError::Overloaded,
            other => internal(other),
        }
    }
}

/// Hashes `password` with Argon2id and a random salt, as a PHC string.
pub async fn hash(gate: &Gate, password: String) -> Result<String, PasswordError> {
    gate.run_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| PasswordError::Hash(e.to_string()))
    })
    .await?
}

/// Checks `password` against a stored PHC string; a malformed hash never matches.
pub async fn verify(gate: &Gate, password: String, stored: String) -> Result<bool, PasswordError> {
    Ok(gate
        .run_blocking(move || {
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

/// Similarity in `0.0..=1.0` of two strings, as Python's `difflib.SequenceMatcher.ratio()`
/// computes it: twice the characters in matching blocks over the total length.
fn similarity(a: &[char], b: &[char]) -> f64 {
    fn matches(a: &[char], b: &[char]) -> usize {
        // Longest common block, then recurse on both sides of it.
        let (mut best, mut best_i, mut best_j) = (0, 0, 0);
        let mut previous = vec![0_usize; b.len() + 1];
        for (i, a_char) in a.iter().enumerate() {
            let mut current = vec![0_usize; b.len() + 1];
            for (j, b_char) in b.iter().enumerate() {
                if a_char == b_char {
                    current[j + 1] = previous[j] + 1;
                    if current[j + 1] > best {
                        best = current[j + 1];
                        best_i = i + 1 - best;
                        best_j = j + 1 - best;
                    }
                }
            }
            previous = current;
        }
        if best == 0 {
            return 0;
        }
        best + matches(&a[..best_i], &b[..best_j])
            + matches(&a[best_i + best..], &b[best_j + best..])
    }
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    #[expect(clippy::cast_precision_loss, reason = "lengths of short strings")]
    let ratio = 2.0 * matches(a, b) as f64 / total as f64;
    ratio
}

/// Django's rule: a password at least 70 % similar to the email (whole, or any word of it) or
/// a name is refused.
fn too_similar(password: &str, attributes: &[(&str, &str)]) -> Option<String> {
    let password: Vec<char> = password.to_lowercase().chars().collect();
    for (label, value) in attributes {
        let value = value.to_lowercase();
        let mut parts: Vec<&str> = value
            .split(|c: char| !c.is_alphanumeric())
            .filter(|p| p.chars().count() >= 3)
            .collect();
        parts.push(&value);
        for part in parts {
            let part: Vec<char> = part.chars().collect();
            if part.len() >= 3 && similarity(&password, &part) >= 0.7 {
                return Some(format!("The password is too similar to the {label}."));
            }
        }
    }
    None
}

/// Every password rule, as Django's four validators apply them: minimum length, not entirely
/// numeric, not common (zxcvbn's estimate, which knows the common-password and word lists),
/// not too similar to the email or names. Returns the messages; empty when acceptable.
pub fn problems(password: &str, email: &str, first_name: &str, last_name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let attributes = [
        ("email address", email),
        ("first name", first_name),
        ("last name", last_name),
    ];
    if let Some(message) = too_similar(password, &attributes) {
        problems.push(message);
    }
    problems.extend(basic_problems(password));
    if password.len() <= 4096 && !password.is_empty() {
        let inputs: Vec<&str> = [email, first_name, last_name]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        let estimate = zxcvbn::zxcvbn(password, &inputs);
        if (estimate.score() as u8) < 2 && !problems.iter().any(|p| p.contains("numeric")) {
            problems.push("This password is too common.".to_owned());
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_own_password() {
        let gate = Gate::new(1, 0);
        let stored = hash(&gate, "correct horse".to_owned())
            .await
            .expect("hashes");
        assert!(stored.starts_with("$argon2id$"));
        assert!(!stored.contains("correct horse"));
        assert!(
            verify(&gate, "correct horse".to_owned(), stored.clone())
                .await
                .expect("runs")
        );
        assert!(
            !verify(&gate, "wrong horse".to_owned(), stored)
                .await
                .expect("runs")
        );
        assert!(
            !verify(&gate, "x".to_owned(), "not a hash".to_owned())
                .await
                .expect("runs")
        );
    }

    #[test]
    fn common_and_similar_passwords_are_flagged() {
        for common in [
            "password",
            "password123",
            "qwertyuiop",
            "iloveyou1",
            "letmein!",
        ] {
            let found = problems(common, "ada@example.com", "", "");
            assert!(
                found.iter().any(|p| p == "This password is too common."),
                "{common}: {found:?}"
            );
        }
        let similar = problems(
            "lovelace1815",
            "ada.lovelace@example.com",
            "Ada",
            "Lovelace",
        );
        assert!(
            similar.iter().any(|p| p.contains("too similar")),
            "{similar:?}"
        );
        assert!(problems("correct horse battery staple", "ada@example.com", "Ada", "").is_empty());
        assert!(problems("Tr1cky-Quokka-Harbour", "ada@example.com", "", "").is_empty());
    }

    #[test]
    fn similarity_matches_difflib() {
        let chars = |s: &str| s.chars().collect::<Vec<_>>();
        assert!((similarity(&chars("abcd"), &chars("bcde")) - 0.75).abs() < 1e-9);
        assert!((similarity(&chars("abc"), &chars("abc")) - 1.0).abs() < 1e-9);
        assert!(similarity(&chars("abc"), &chars("xyz")).abs() < 1e-9);
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
