//! The timeouts area: how long anything waits for a service before giving up, so that a dead or
//! slow database, Redis, payment provider, mail server or bucket makes a request answer `503`
//! quickly instead of hanging.

use std::time::Duration;

use super::read::duration;
use super::{SettingsError, Source, invalid};

/// Every wait on another service, bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Timeouts {
    /// `EMPORIUM_DB_ACQUIRE_TIMEOUT`: how long a request waits for a PostgreSQL or MariaDB
    /// connection (the database down or restarting) before `503` (default 2s; SQLite, which
    /// cannot be down, keeps its lock wait).
    pub db_acquire: Duration,
    /// `EMPORIUM_REDIS_TIMEOUT`: connecting to Redis and each Redis command (default 500ms);
    /// after a failure Redis is skipped until a background probe reaches it again.
    pub redis: Duration,
    /// `EMPORIUM_OUTGOING_CONNECT_TIMEOUT`: connecting to a payment provider or the S3 bucket
    /// (default 3s).
    pub connect: Duration,
    /// `EMPORIUM_OUTGOING_TIMEOUT`: a whole call to one of them, or a whole send to the mail
    /// server (default 10s).
    pub outgoing: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            db_acquire: Duration::from_secs(2),
            redis: Duration::from_millis(500),
            connect: Duration::from_secs(3),
            outgoing: Duration::from_secs(10),
        }
    }
}

impl Timeouts {
    /// Reads the four timeouts; each at most a minute, the connect timeout at most the total.
    pub(super) fn read(source: &dyn Source) -> Result<Timeouts, SettingsError> {
        let defaults = Timeouts::default();
        let bounded = |name: &'static str, default: Duration| {
            let value = duration(source, name, default)?;
            if value > Duration::from_secs(60) {
                return Err(invalid(name, "must be at most 1m"));
            }
            Ok(value)
        };
        let timeouts = Timeouts {
            db_acquire: bounded("EMPORIUM_DB_ACQUIRE_TIMEOUT", defaults.db_acquire)?,
            redis: bounded("EMPORIUM_REDIS_TIMEOUT", defaults.redis)?,
            connect: bounded("EMPORIUM_OUTGOING_CONNECT_TIMEOUT", defaults.connect)?,
            outgoing: bounded("EMPORIUM_OUTGOING_TIMEOUT", defaults.outgoing)?,
        };
        if timeouts.connect > timeouts.outgoing {
            return Err(invalid(
                "EMPORIUM_OUTGOING_CONNECT_TIMEOUT",
                "must not be longer than EMPORIUM_OUTGOING_TIMEOUT",
            ));
        }
        Ok(timeouts)
    }
}
