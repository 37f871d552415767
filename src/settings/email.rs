//! The email area: how mail leaves the application and whom it comes from.

use super::read::{email_transport, value};
use super::values::EmailTransport;
use super::{SettingsError, Source, invalid};

/// The mail transport and sender.
pub(super) struct Email {
    /// `EMAIL_URL`.
    pub(super) transport: EmailTransport,
    /// `EMAIL_FROM`.
    pub(super) from: String,
}

impl Email {
    /// Reads `EMAIL_URL` (default `console`) and `EMAIL_FROM` (default `shop@localhost`).
    pub(super) fn read(source: &dyn Source) -> Result<Email, SettingsError> {
        let email_transport = email_transport(source)?;
        let email_from =
            value(source, "EMAIL_FROM")?.unwrap_or_else(|| "shop@localhost".to_owned());
        if email_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "EMAIL_FROM",
                format!("{email_from:?} is not an address like \"Shop <shop@example.com>\""),
            ));
        }
        Ok(Email {
            transport: email_transport,
            from: email_from,
        })
    }
}
