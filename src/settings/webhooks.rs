//! Outgoing webhooks' settings.

use super::read::value;
use super::{SettingsError, Source, invalid};

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
        if bad || crate::webhooks::safe_url::split_entry(entry).is_none() {
            return Err(invalid(
                NAME,
                format!("{entry:?} is not a host name or host:port"),
            ));
        }
        hosts.push(entry.to_ascii_lowercase());
    }
    Ok(hosts)
}
