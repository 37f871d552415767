//! Outgoing webhooks' settings.

use std::time::Duration;

use super::read::{duration, positive_integer, value};
use super::{SettingsError, Source, invalid};

/// How deliveries are made.
#[derive(Clone, Debug)]
pub struct WebhookDelivery {
    /// `EMPORIUM_WEBHOOK_TIMEOUT`: an attempt that has no answer within it failed (default 10 s).
    pub timeout: Duration,
    /// `EMPORIUM_WEBHOOK_WORKERS`: deliveries one worker process makes at once (default 8).
    pub workers: usize,
    /// `EMPORIUM_WEBHOOK_ENDPOINT_CONCURRENCY`: deliveries to one endpoint at once, over every
    /// worker (default 2).
    pub per_endpoint: usize,
}

impl WebhookDelivery {
    pub(super) fn read(source: &dyn Source) -> Result<WebhookDelivery, SettingsError> {
        Ok(WebhookDelivery {
            timeout: duration(source, "EMPORIUM_WEBHOOK_TIMEOUT", Duration::from_secs(10))?,
            workers: positive_integer(source, "EMPORIUM_WEBHOOK_WORKERS", 8_usize)?,
            per_endpoint: positive_integer(
                source,
                "EMPORIUM_WEBHOOK_ENDPOINT_CONCURRENCY",
                2_usize,
            )?,
        })
    }
}

/// `EMPORIUM_WEBHOOK_ALLOW_HOSTS`: comma-separated host names (or `host:port`, `[v6]:port`)
/// that webhooks may reach over plain http and at non-public addresses — a receiver on the
/// same machine or network. Lower-cased; default empty.
pub(super) fn allow_hosts(source: &dyn Source) -> Result<Vec<String>, SettingsError> {
    const NAME: &str = "EMPORIUM_WEBHOOK_ALLOW_HOSTS";
    let Some(text) = value(source, NAME)? else {
        return Ok(Vec::new());
    };
    let mut hosts = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let bad = entry
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '/' | '@' | '?' | '#' | '*'));
        if bad || split_allow_entry(entry).is_none() {
            return Err(invalid(
                NAME,
                format!("{entry:?} is not a host name or host:port"),
            ));
        }
        hosts.push(entry.to_ascii_lowercase());
    }
    Ok(hosts)
}

/// An allow-list entry as (host, port): `host`, `host:port`, `[v6]`, `[v6]:port` or a bare
/// IPv6 address; `None` when it is none of these.
pub fn split_allow_entry(entry: &str) -> Option<(&str, Option<u16>)> {
    let port = |text: &str| text.parse::<u16>().ok().filter(|p| *p > 0);
    if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(port(after.strip_prefix(':')?)?))),
        };
    }
    match entry.split_once(':') {
        Some((host, text)) if !text.contains(':') => Some((host, Some(port(text)?))),
        _ => Some((entry, None)),
    }
    .filter(|(host, _)| !host.is_empty())
}

/// `EMPORIUM_EVENT_RETENTION`: events (and finished webhook deliveries) older than this are
/// pruned by the hourly job (default 30 days).
pub(super) fn event_retention(source: &dyn Source) -> Result<Duration, SettingsError> {
    duration(
        source,
        "EMPORIUM_EVENT_RETENTION",
        Duration::from_secs(30 * 24 * 3600),
    )
}
