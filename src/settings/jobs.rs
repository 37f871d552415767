//! The jobs area: how many jobs a worker runs, how it claims, polls and retries them, and how
//! long finished ones are kept.

use std::time::Duration;

use super::read::{duration, positive_integer};
use super::{SettingsError, Source};

/// How the background worker runs jobs.
pub(super) struct Jobs {
    /// `EMPORIUM_WORKERS`.
    pub(super) workers: usize,
    /// `EMPORIUM_JOB_LEASE`.
    pub(super) lease: Duration,
    /// `EMPORIUM_JOB_POLL_INTERVAL`.
    pub(super) poll_interval: Duration,
    /// `EMPORIUM_JOB_RETRY_BASE`.
    pub(super) retry_base: Duration,
}

impl Jobs {
    /// Reads `EMPORIUM_WORKERS` (default 2), `EMPORIUM_JOB_LEASE` (60s),
    /// `EMPORIUM_JOB_POLL_INTERVAL` (1s) and `EMPORIUM_JOB_RETRY_BASE` (10s).
    pub(super) fn read(source: &dyn Source) -> Result<Jobs, SettingsError> {
        let workers = positive_integer(source, "EMPORIUM_WORKERS", 2_usize)?;
        let job_lease = duration(source, "EMPORIUM_JOB_LEASE", Duration::from_secs(60))?;
        let job_poll_interval =
            duration(source, "EMPORIUM_JOB_POLL_INTERVAL", Duration::from_secs(1))?;
        let job_retry_base = duration(source, "EMPORIUM_JOB_RETRY_BASE", Duration::from_secs(10))?;
        Ok(Jobs {
            workers,
            lease: job_lease,
            poll_interval: job_poll_interval,
            retry_base: job_retry_base,
        })
    }
}

/// Reads `EMPORIUM_JOB_RETENTION` (default 7d).
pub(super) fn retention(source: &dyn Source) -> Result<Duration, SettingsError> {
    duration(
        source,
        "EMPORIUM_JOB_RETENTION",
        Duration::from_secs(7 * 24 * 3600),
    )
}
