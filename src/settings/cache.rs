//! The cache area: the Redis server shared by every node, and where the response cache keeps
//! its versions and how much it holds.

use std::time::Duration;

use super::read::{duration, positive_integer, value};
use super::values::{CacheMode, SecretUrl};
use super::{SettingsError, Source, invalid};

/// The Redis server (shared cache and throttles) and its key prefix.
pub(super) struct RedisServer {
    /// `REDIS_URL`.
    pub(super) url: Option<SecretUrl>,
    /// `EMPORIUM_REDIS_PREFIX`.
    pub(super) prefix: String,
}

impl RedisServer {
    /// Reads `REDIS_URL` (unset: in process) and `EMPORIUM_REDIS_PREFIX` (default
    /// `emporium:`).
    pub(super) fn read(source: &dyn Source) -> Result<RedisServer, SettingsError> {
        let redis_url = value(source, "REDIS_URL")?.map(SecretUrl::new);
        if let Some(url) = &redis_url {
            if !(url.starts_with("redis://")
                || url.starts_with("rediss://")
                || url.starts_with("redis+unix://"))
            {
                return Err(invalid(
                    "REDIS_URL",
                    "must start with redis://, rediss:// or redis+unix://",
                ));
            }
            redis::Client::open(url.as_str())
                .map_err(|e| invalid("REDIS_URL", format!("not a usable Redis URL: {e}")))?;
        }
        let redis_prefix =
            value(source, "EMPORIUM_REDIS_PREFIX")?.unwrap_or_else(|| "emporium:".to_owned());
        Ok(RedisServer {
            url: redis_url,
            prefix: redis_prefix,
        })
    }
}

/// The response cache: where its versions live, its size, and its write window.
pub(super) struct Cache {
    /// `EMPORIUM_CACHE`.
    pub(super) mode: CacheMode,
    /// `EMPORIUM_CACHE_BYTES`.
    pub(super) bytes: u64,
    /// `EMPORIUM_CACHE_WRITE_WINDOW`.
    pub(super) write_window: Duration,
}

impl Cache {
    /// Reads `EMPORIUM_CACHE` (default `auto`), `EMPORIUM_CACHE_BYTES` (64 MiB) and
    /// `EMPORIUM_CACHE_WRITE_WINDOW` (30s, 1s to 1h).
    pub(super) fn read(source: &dyn Source) -> Result<Cache, SettingsError> {
        let cache_mode = match value(source, "EMPORIUM_CACHE")?.as_deref() {
            None | Some("auto") => CacheMode::Auto,
            Some("local") => CacheMode::Local,
            Some("off") => CacheMode::Off,
            Some(other) => {
                return Err(invalid(
                    "EMPORIUM_CACHE",
                    format!("{other:?} is not one of auto, local, off"),
                ));
            }
        };
        let cache_bytes = positive_integer(source, "EMPORIUM_CACHE_BYTES", 64 * 1024 * 1024_u64)?;
        let cache_write_window = duration(
            source,
            "EMPORIUM_CACHE_WRITE_WINDOW",
            Duration::from_secs(30),
        )?;
        if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&cache_write_window) {
            return Err(invalid(
                "EMPORIUM_CACHE_WRITE_WINDOW",
                "must be between 1s and 1h",
            ));
        }
        Ok(Cache {
            mode: cache_mode,
            bytes: cache_bytes,
            write_window: cache_write_window,
        })
    }
}
