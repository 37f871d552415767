//! The authentication area: the key that signs tokens, token lifetimes, the login lockout,
//! password hashing capacity, and the refresh token's reuse grace.

use std::path::Path;
use std::time::Duration;

use super::read::{duration, load_or_create_secret, positive_integer, value};
use super::values::{Secret, SecretOrigin};
use super::{SECRET_FILE, SettingsError, Source, invalid};

/// Reads `EMPORIUM_SECRET_KEY` (at least 32 bytes), or else the key generated once and kept in
/// [`SECRET_FILE`] under `dir`.
pub(super) fn secret_key(
    source: &dyn Source,
    dir: &Path,
) -> Result<(Secret, SecretOrigin), SettingsError> {
    let (secret_key, secret_origin) = match source.get("EMPORIUM_SECRET_KEY")? {
        Some(key) if key.len() >= 32 => (Secret::new(key.into_bytes()), SecretOrigin::Environment),
        Some(_) => {
            return Err(invalid(
                "EMPORIUM_SECRET_KEY",
                "must be at least 32 bytes long",
            ));
        }
        None => (
            load_or_create_secret(&dir.join(SECRET_FILE))?,
            SecretOrigin::File,
        ),
    };
    Ok((secret_key, secret_origin))
}

/// How long access and refresh tokens live.
pub(super) struct TokenLifetimes {
    /// `EMPORIUM_ACCESS_TTL`.
    pub(super) access: Duration,
    /// `EMPORIUM_REFRESH_TTL`.
    pub(super) refresh: Duration,
}

impl TokenLifetimes {
    /// Reads `EMPORIUM_ACCESS_TTL` (default 5m) and `EMPORIUM_REFRESH_TTL` (default 1d).
    pub(super) fn read(source: &dyn Source) -> Result<TokenLifetimes, SettingsError> {
        let access_ttl = duration(source, "EMPORIUM_ACCESS_TTL", Duration::from_secs(5 * 60))?;
        let refresh_ttl = duration(
            source,
            "EMPORIUM_REFRESH_TTL",
            Duration::from_secs(24 * 3600),
        )?;
        Ok(TokenLifetimes {
            access: access_ttl,
            refresh: refresh_ttl,
        })
    }
}

/// How many failed logins lock an account, and for how long.
pub(super) struct Login {
    /// `EMPORIUM_LOGIN_MAX_FAILURES`.
    pub(super) max_failures: u32,
    /// `EMPORIUM_LOGIN_LOCKOUT`.
    pub(super) lockout: Duration,
}

impl Login {
    /// Reads `EMPORIUM_LOGIN_MAX_FAILURES` (default 5) and `EMPORIUM_LOGIN_LOCKOUT` (15m).
    pub(super) fn read(source: &dyn Source) -> Result<Login, SettingsError> {
        let login_max_failures = positive_integer(source, "EMPORIUM_LOGIN_MAX_FAILURES", 5_u32)?;
        let login_lockout = duration(
            source,
            "EMPORIUM_LOGIN_LOCKOUT",
            Duration::from_secs(15 * 60),
        )?;
        Ok(Login {
            max_failures: login_max_failures,
            lockout: login_lockout,
        })
    }
}

/// How many password hashes run at once, and how many requests may wait for one.
pub(super) struct Hashing {
    /// `EMPORIUM_HASH_CONCURRENCY`.
    pub(super) concurrency: usize,
    /// `EMPORIUM_HASH_QUEUE`.
    pub(super) queue: usize,
}

impl Hashing {
    /// Reads `EMPORIUM_HASH_CONCURRENCY` (default: the cores) and `EMPORIUM_HASH_QUEUE`
    /// (default 8 × the concurrency).
    pub(super) fn read(source: &dyn Source) -> Result<Hashing, SettingsError> {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let hash_concurrency = positive_integer(source, "EMPORIUM_HASH_CONCURRENCY", cores)?;
        let hash_queue = match value(source, "EMPORIUM_HASH_QUEUE")? {
            None => hash_concurrency.saturating_mul(8),
            Some(text) => text.parse().map_err(|_| {
                invalid(
                    "EMPORIUM_HASH_QUEUE",
                    format!("{text:?} is not a whole number"),
                )
            })?,
        };
        Ok(Hashing {
            concurrency: hash_concurrency,
            queue: hash_queue,
        })
    }
}

/// Reads `EMPORIUM_REFRESH_REUSE_GRACE` (default 10s; `0`/`0s` turns it off; at most 60s).
pub(super) fn refresh_reuse_grace(source: &dyn Source) -> Result<Duration, SettingsError> {
    let refresh_reuse_grace = match value(source, "EMPORIUM_REFRESH_REUSE_GRACE")?.as_deref() {
        Some("0" | "0s") => Duration::ZERO,
        _ => duration(
            source,
            "EMPORIUM_REFRESH_REUSE_GRACE",
            Duration::from_secs(10),
        )?,
    };
    if refresh_reuse_grace > Duration::from_secs(60) {
        return Err(invalid(
            "EMPORIUM_REFRESH_REUSE_GRACE",
            "must be at most 60s (a longer grace helps a thief more than an app)",
        ));
    }
    Ok(refresh_reuse_grace)
}
