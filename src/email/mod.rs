//! Email: messages rendered from templates (a plain-text and an HTML part), queued as jobs
//! ([`job`]), and
//! delivered by SMTP — or printed to the log with `EMAIL_URL=console`. Nothing sends mail from
//! a request: a slow or down mail server only delays a job, and a failed send is retried.

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

pub mod job;

use crate::settings::EmailTransport;

/// A rendered message, as stored in an `email.send` job's payload — so never a message that
/// holds a secret (a job that must mail one sends it itself). `Debug` leaves out the body.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
    /// Files sent with it (an invoice).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

/// A file sent with a message; its bytes travel base64-encoded in the job's payload.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    /// The file, base64 (standard alphabet).
    pub data: String,
}

impl Attachment {
    /// A file of `bytes`.
    pub fn new(filename: &str, content_type: &str, bytes: &[u8]) -> Attachment {
        use base64::Engine;
        Attachment {
            filename: filename.to_owned(),
            content_type: content_type.to_owned(),
            data: base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// A message template: subject, text and HTML with `{{ name }}` placeholders.
#[derive(Clone, Copy, Debug)]
pub struct Template {
    /// For errors.
    pub name: &'static str,
    /// Subject line (placeholders allowed).
    pub subject: &'static str,
    text: &'static str,
    html: &'static str,
}

/// The password-reset message: `shop`, `email`, `token`.
pub const PASSWORD_RESET: Template = Template {
    name: "password_reset",
    subject: "Reset your {{ shop }} password",
    text: include_str!("templates/password_reset.txt"),
    html: include_str!("templates/password_reset.html"),
};

/// The stock alert to staff: `shop`, `threshold`, `products` (one line per product).
pub const STOCK_ALERT: Template = Template {
    name: "stock_alert",
    subject: "{{ shop }}: stock is running low",
    text: include_str!("templates/stock_alert.txt"),
    html: include_str!("templates/stock_alert.html"),
};

/// The order confirmation, with the invoice attached: `shop`, `order`, `total`.
pub const ORDER_CONFIRMATION: Template = Template {
    name: "order_confirmation",
    subject: "{{ shop }}: your order is paid",
    text: include_str!("templates/order_confirmation.txt"),
    html: include_str!("templates/order_confirmation.html"),
};

/// To the customer: the order is on its way: `shop`, `order`, `carrier`, `tracking`.
pub const SHIPPING_CONFIRMATION: Template = Template {
    name: "shipping_confirmation",
    subject: "{{ shop }}: your order is on its way",
    text: include_str!("templates/shipping_confirmation.txt"),
    html: include_str!("templates/shipping_confirmation.html"),
};

/// To staff: a shipped or delivered order was refunded in full at the provider: `shop`,
/// `order`, `status`, `amount`.
pub const REFUND_ALERT: Template = Template {
    name: "refund_alert",
    subject: "{{ shop }}: shipped order {{ order }} was refunded",
    text: include_str!("templates/refund_alert.txt"),
    html: include_str!("templates/refund_alert.html"),
};

/// To staff: a webhook endpoint was turned off after failing too often: `shop`, `url`, `id`,
/// `failures`, `error`.
pub const WEBHOOK_DISABLED: Template = Template {
    name: "webhook_disabled",
    subject: "{{ shop }}: a webhook endpoint was turned off",
    text: include_str!("templates/webhook_disabled.txt"),
    html: include_str!("templates/webhook_disabled.html"),
};

/// A template asked for a value it was not given.
#[derive(Debug, thiserror::Error)]
#[error("template {template} needs {{{{ {name} }}}}")]
pub struct TemplateError {
    template: &'static str,
    name: String,
}

fn escape_html(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

impl Template {
    fn fill(
        &self,
        source: &str,
        vars: &[(&str, &str)],
        html: bool,
    ) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(source.len());
        let mut rest = source;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = after[..end].trim();
            let value = vars
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| *v)
                .ok_or_else(|| TemplateError {
                    template: self.name,
                    name: name.to_owned(),
                })?;
            if html {
                out.push_str(&escape_html(value));
            } else {
                out.push_str(value);
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Renders the message for `to` with the given values (HTML-escaped in the HTML part).
    pub fn render(&self, to: &str, vars: &[(&str, &str)]) -> Result<Email, TemplateError> {
        Ok(Email {
            attachments: Vec::new(),
            to: to.to_owned(),
            subject: self.fill(self.subject, vars, false)?,
            text: self.fill(self.text, vars, false)?,
            html: self.fill(self.html, vars, true)?,
        })
    }
}

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// The message itself is wrong (bad address): retrying will not help.
    #[error("message cannot be built: {0}")]
    Invalid(String),
    /// The mail server did not take it.
    #[error("SMTP: {0}")]
    Transport(String),
}

enum Transport {
    Console,
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Delivers messages through the configured transport.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// A whole send, connection included, takes at most this long.
    timeout: std::time::Duration,
}

impl Mailer {
    /// The mailer for `EMAIL_URL` and `EMAIL_FROM` (already validated by the settings); a whole
    /// send — connecting included — takes at most `timeout` (`EMPORIUM_OUTGOING_TIMEOUT`).
    pub fn new(
        transport: &EmailTransport,
        from: &str,
        timeout: std::time::Duration,
    ) -> Result<Mailer, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("EMAIL_FROM {from:?} is not an address: {e}"))?;
        let transport = match transport {
            EmailTransport::Console => Transport::Console,
            EmailTransport::Smtp(url) => {
                let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("EMAIL_URL: {e}"))?;
                Transport::Smtp(builder.timeout(Some(timeout)).build())
            }
        };
        Ok(Mailer {
            transport,
            from,
            timeout,
        })
    }

    /// Sends one message now (jobs call this; requests enqueue instead).
    pub async fn send(&self, email: &Email) -> Result<(), EmailError> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e| EmailError::Invalid(format!("recipient {:?}: {e}", email.to)))?;
        let body = MultiPart::alternative_plain_html(email.text.clone(), email.html.clone());
        let body = if email.attachments.is_empty() {
            body
        } else {
            use base64::Engine;
            let mut mixed = MultiPart::mixed().multipart(body);
            for file in &email.attachments {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(&file.data)
                    .map_err(|e| {
                        EmailError::Invalid(format!("attachment {}: {e}", file.filename))
                    })?;
                let content_type = ContentType::parse(&file.content_type).map_err(|e| {
                    EmailError::Invalid(format!("attachment {}: {e}", file.filename))
                })?;
                mixed = mixed.singlepart(
                    lettre::message::Attachment::new(file.filename.clone())
                        .body(bytes, content_type),
                );
            }
            mixed
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .multipart(body)
            .map_err(|e| EmailError::Invalid(e.to_string()))?;
        match &self.transport {
            Transport::Console => {
                tracing::info!(to = %email.to, subject = %email.subject, "email (console):\n{}", email.text);
                Ok(())
            }
            Transport::Smtp(smtp) => {
                match tokio::time::timeout(self.timeout, smtp.send(message)).await {
                    Ok(sent) => sent
                        .map(|_| ())
                        .map_err(|e| EmailError::Transport(e.to_string())),
                    Err(_) => Err(EmailError::Transport(format!(
                        "the mail server did not finish within {:?}",
                        self.timeout
                    ))),
                }
            }
        }
    }

    /// Checks that the SMTP server answers (`emporium check`).
    pub async fn check(&self) -> Result<(), EmailError> {
        match &self.transport {
            Transport::Console => Ok(()),
            Transport::Smtp(smtp) => match smtp.test_connection().await {
                Ok(true) => Ok(()),
                Ok(false) => Err(EmailError::Transport(
                    "the server did not answer".to_owned(),
                )),
                Err(e) => Err(EmailError::Transport(e.to_string())),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_both_parts_and_escape_html() {
        let email = PASSWORD_RESET
            .render(
                "ada@example.com",
                &[
                    ("shop", "Emporium"),
                    ("email", "a<b>@example.com"),
                    ("token", "T0K"),
                ],
            )
            .expect("renders");
        assert_eq!(email.subject, "Reset your Emporium password");
        assert!(email.text.contains("a<b>@example.com") && email.text.contains("T0K"));
        assert!(email.html.contains("a&lt;b&gt;@example.com") && email.html.contains("T0K"));
        assert!(!email.text.contains("{{") && !email.html.contains("{{"));
    }

    #[test]
    fn a_missing_value_is_an_error_not_a_blank() {
        let err = PASSWORD_RESET
            .render("ada@example.com", &[("shop", "Emporium")])
            .expect_err("email and token are missing");
        assert!(err.to_string().contains("email"));
    }
}
