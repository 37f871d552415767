//! Password hashing with Argon2id. A hash costs about 19 MiB and tens of milliseconds of CPU,
//! so every hash and check goes through the application's [`Gate`]: a fixed number run at once
//! on the blocking pool, a bounded number wait, and the rest are refused with `503`.
//!
//! The 19 MiB of working memory is not allocated per hash: each running hash borrows a buffer
//! from a pool and gives it back, so the process holds one buffer per hash that ever ran at
//! once (at most the gate's concurrency) — allocating and freeing 19 MiB per request made the
//! allocator keep hundreds of megabytes of freed arenas under a flood. Once no hash has run for
//! [`IDLE_RELEASE`], the pool is emptied, so a server that only serves the catalog and the cart
//! between logins does not carry the hashing memory. The stored form is the standard PHC string
//! (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), as before.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

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

/// Working memory of hashes that have finished, kept for the next ones, and emptied once no
/// hash has run for a while.
struct Pool {
    buffers: Mutex<Vec<Vec<Block>>>,
    /// Moves on with every hash, so that a release scheduled before it does nothing.
    hashes: AtomicU64,
    idle: Duration,
}

/// The process's pool.
static MEMORY: Pool = Pool::new(IDLE_RELEASE);

/// How long the pool outlives the last hash.
const IDLE_RELEASE: Duration = Duration::from_secs(10);

impl Pool {
    const fn new(idle: Duration) -> Pool {
        Pool {
            buffers: Mutex::new(Vec::new()),
            hashes: AtomicU64::new(0),
            idle,
        }
    }

    /// Runs `work` with at least `blocks` blocks of working memory borrowed from the pool.
    fn with_memory<T>(&'static self, blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
        let mut memory = self
            .buffers
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop())
            .unwrap_or_default();
        if memory.len() < blocks {
            memory.resize(blocks, Block::new());
        }
        self.hashes.fetch_add(1, Ordering::SeqCst);
        let result = work(&mut memory);
        if let Ok(mut pool) = self.buffers.lock() {
            pool.push(memory);
        }
        self.release_when_idle();
        result
    }

    /// Empties the pool after its idle time unless another hash ran meanwhile (one still
    /// running holds its buffer outside the pool, and schedules a release when it ends).
    /// Without a runtime (a plain test) nothing is scheduled.
    fn release_when_idle(&'static self) {
        let seen = self.hashes.load(Ordering::SeqCst);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            tokio::time::sleep(self.idle).await;
            if let Ok(mut pool) = self.buffers.lock()
                && self.hashes.load(Ordering::SeqCst) == seen
            {
                pool.clear();
                pool.shrink_to_fit();
            }
        });
    }

    /// Buffers held now.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.buffers.lock().map(|pool| pool.len()).unwrap_or(0)
    }
}

/// The raw Argon2 output of `password` with `salt`, `len` bytes long.
fn compute(argon: &Argon2<'_>, password: &[u8], salt: &[u8], len: usize) -> Result<Output, String> {
    let mut out = vec![0_u8; len];
    MEMORY
        .with_memory(argon.params().block_count(), |memory| {
            argon.hash_password_into_with_memory(password, salt, &mut out, memory)
        })
        .map_err(|e| e.to_string())?;
    Output::new(&out).map_err(|e| e.to_string())
}

/// Hashes on the calling thread (the gate runs it on the blocking pool).
fn hash_now(password: &str) -> Result<String, String> {
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut salt = [0_u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    let output = compute(
        &argon,
        password.as_bytes(),
        &salt,
        Params::DEFAULT_OUTPUT_LEN,
    )?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
        salt: Some(Salt::new(&salt).map_err(|e| e.to_string())?),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Checks on the calling thread; anything unreadable in `stored` is a mismatch.
fn verify_now(password: &str, stored: &str) -> bool {
    let Ok(phc) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(phc.algorithm.as_str()) else {
        return false;
    };
    let Ok(version) = Version::try_from(phc.version.unwrap_or(0x13)) else {
        return false;
    };
    let Ok(params) = Params::try_from(&phc) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params);
    // `Output`'s equality is constant-time.
    compute(&argon, password.as_bytes(), salt, expected.len()).is_ok_and(|out| out == *expected)
}

/// Hashes `password` with Argon2id and a random salt, as a PHC string.
pub async fn hash(gate: &Gate, password: String) -> Result<String, PasswordError> {
    gate.run_blocking(move || hash_now(&password).map_err(PasswordError::Hash))
        .await?
}

/// A hash of a random password, made once: what a login for an unknown account is checked
/// against, so that it takes as long as one for a real account.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_now(&uuid::Uuid::new_v4().simple().to_string()).unwrap_or_default())
}

/// Checks `password` against `stored`, or against a decoy hash when there is no account (the
/// same work either way); `false` for the decoy.
pub async fn verify_or_decoy(
    gate: &Gate,
    password: String,
    stored: Option<String>,
) -> Result<bool, PasswordError> {
    Ok(gate
        .run_blocking(move || match stored {
            Some(stored) => verify_now(&password, &stored),
            None => {
                verify_now(&password, decoy());
                false
            }
        })
        .await?)
}

/// Checks `password` against a stored PHC string; a malformed hash never matches.
pub async fn verify(gate: &Gate, password: String, stored: String) -> Result<bool, PasswordError> {
    Ok(gate
        .run_blocking(move || verify_now(&password, &stored))
        .await?)
}

/// Why a new password was not hashed.
#[derive(Debug, thiserror::Error)]
pub enum NewPasswordError {
    /// It breaks strength rules: the messages.
    #[error("{}", .0.join(" "))]
    Weak(Vec<String>),
    /// Hashing failed or no slot was free.
    #[error(transparent)]
    Password(#[from] PasswordError),
}

/// Checks a new password against every rule (see [`problems`]; `email` and the names are the
/// account's) and hashes it, both in one gated slot: the strength estimate costs CPU too, and a
/// flood must not spend it outside the gate.
pub async fn check_and_hash(
    gate: &Gate,
    password: String,
    email: String,
    first_name: String,
    last_name: String,
) -> Result<String, NewPasswordError> {
    gate.run_blocking(move || {
        let found = problems(&password, &email, &first_name, &last_name);
        if !found.is_empty() {
            return Err(NewPasswordError::Weak(found));
        }
        hash_now(&password).map_err(|e| NewPasswordError::Password(PasswordError::Hash(e)))
    })
    .await
    .map_err(PasswordError::from)?
}

/// Longest password, in bytes, that is checked or hashed.
pub const MAX_LENGTH: usize = 4096;

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
    if password.len() > MAX_LENGTH {
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
    if password.len() > MAX_LENGTH {
        // The other checks cost time in the length: refuse before running them.
        return basic_problems(password);
    }
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
    if !password.is_empty() {
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

    #[tokio::test]
    async fn hashing_memory_is_kept_between_hashes_and_released_when_idle() {
        let pool: &'static Pool = Box::leak(Box::new(Pool::new(Duration::from_secs(1))));
        pool.with_memory(8, |memory| assert!(memory.len() >= 8));
        assert_eq!(pool.held(), 1, "kept for the next hash");
        tokio::time::sleep(Duration::from_millis(600)).await;
        pool.with_memory(8, |_| ());
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(pool.held(), 1, "a hash 0.6 s ago keeps it");
        for _ in 0..100 {
            if pool.held() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the pool was not released once idle");
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_itself_still_verify() {
        use argon2::password_hash::PasswordHasher;
        let stored = Argon2::default()
            .hash_password(b"an older account")
            .expect("hash")
            .to_string();
        assert!(verify_now("an older account", &stored));
        assert!(!verify_now("another password", &stored));
        let ours = hash_now("an older account").expect("hash");
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        use argon2::password_hash::PasswordVerifier;
        assert!(
            Argon2::default()
                .verify_password(b"an older account", ours.as_str())
                .is_ok(),
            "the crate reads what we write"
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
