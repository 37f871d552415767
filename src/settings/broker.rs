//! The events broker's setting: where every event is published besides the webhooks.

use std::fmt;

use super::read::value;
use super::{SettingsError, Source, invalid};

const NAME: &str = "EMPORIUM_EVENTS_URL";

/// Which broker [`EventsUrl`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokerKind {
    /// NATS with JetStream (`nats://`, or `tls://` for NATS over TLS).
    Nats,
    /// RabbitMQ, or any AMQP 0-9-1 broker (`amqp://`).
    Amqp,
}

/// `EMPORIUM_EVENTS_URL`: a broker's URL, which may carry a user and a password (or a NATS
/// token in the user's place). `Debug` and [`EventsUrl::redacted`] show neither.
#[derive(Clone, PartialEq, Eq)]
pub struct EventsUrl {
    url: String,
    kind: BrokerKind,
}

impl EventsUrl {
    /// Reads `text` as a broker URL: `nats://`, `tls://` or `amqp://`, with a host. `amqps://`
    /// is refused: lapin's TLS brings a certificate-store stack of its own (PKCS#12, X.509
    /// parsing, …) that nothing else here needs; put a TLS-terminating proxy in front of
    /// RabbitMQ, or use NATS over `tls://`.
    pub fn parse(text: &str) -> Result<EventsUrl, String> {
        let kind = match text.split_once("://").map(|(scheme, _)| scheme) {
            Some("nats" | "tls") => BrokerKind::Nats,
            Some("amqp") => BrokerKind::Amqp,
            Some("amqps") => {
                return Err(
                    "amqps:// is not supported: reach RabbitMQ through a TLS-terminating \
                     proxy with amqp://, or use NATS over tls://"
                        .to_owned(),
                );
            }
            _ => return Err("must start with nats://, tls:// or amqp://".to_owned()),
        };
        // The parser's own message never quotes the URL, so it may be shown.
        let parsed = url::Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err("names no host".to_owned());
        }
        if kind == BrokerKind::Nats && !matches!(parsed.path(), "" | "/") {
            return Err("a NATS URL has no path".to_owned());
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err("takes no query or fragment".to_owned());
        }
        Ok(EventsUrl {
            url: text.to_owned(),
            kind,
        })
    }

    /// The broker it names.
    pub fn kind(&self) -> BrokerKind {
        self.kind
    }

    /// The whole URL, credentials included: only for connecting.
    pub fn expose(&self) -> &str {
        &self.url
    }

    /// The user's password, or the user itself when it stands alone (a NATS token): what must
    /// never be shown. Empty when the URL carries none.
    pub fn credentials(&self) -> Vec<String> {
        let Some((_, rest)) = self.url.split_once("://") else {
            return Vec::new();
        };
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        match authority.rsplit_once('@') {
            Some((userinfo, _)) => {
                let mut secrets = vec![userinfo.to_owned()];
                if let Some((user, password)) = userinfo.split_once(':') {
                    secrets.push(password.to_owned());
                    // A user alone is no secret; a token (no password) is.
                    secrets.retain(|s| !s.is_empty() && s != user);
                }
                secrets
            }
            None => Vec::new(),
        }
    }

    /// The URL with whatever stands before `@` replaced by `***`: safe to log.
    pub fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.url.split_once("://") else {
            return "***".to_owned();
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        match rest[..authority_end].rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://***@{host}{}", &rest[authority_end..]),
            None => self.url.clone(),
        }
    }

    /// `text` with every credential of this URL replaced by `***`: for a client library's
    /// error, which might quote what it was given.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = text.replace(&self.url, &self.redacted());
        for secret in self.credentials() {
            text = text.replace(&secret, "***");
        }
        text
    }
}

impl fmt::Debug for EventsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

/// Reads `EMPORIUM_EVENTS_URL` (unset: no broker).
pub(super) fn events_url(source: &dyn Source) -> Result<Option<EventsUrl>, SettingsError> {
    value(source, NAME)?
        .map(|text| EventsUrl::parse(&text).map_err(|message| invalid(NAME, message)))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nats_and_amqp_urls_are_read_and_others_refused() {
        let nats = EventsUrl::parse("nats://127.0.0.1:4222").expect("nats");
        assert_eq!(nats.kind(), BrokerKind::Nats);
        assert_eq!(
            EventsUrl::parse("tls://nats.example:4222").map(|u| u.kind()),
            Ok(BrokerKind::Nats)
        );
        let amqp = EventsUrl::parse("amqp://guest:guest@127.0.0.1:5672/%2f").expect("amqp");
        assert_eq!(amqp.kind(), BrokerKind::Amqp);
        for bad in [
            "amqps://u:p@rabbit:5671/",
            "redis://127.0.0.1",
            "127.0.0.1:4222",
            "nats://",
            "nats://host:4222/path",
            "nats://host:99999",
            "amqp://host/%2f?heartbeat=10",
        ] {
            assert!(EventsUrl::parse(bad).is_err(), "{bad} is refused");
        }
    }

    #[test]
    fn no_password_or_token_is_ever_shown() {
        let url = EventsUrl::parse("amqp://shop:hunter2@rabbit:5672/%2f").expect("amqp");
        assert_eq!(url.redacted(), "amqp://***@rabbit:5672/%2f");
        assert!(!format!("{url:?}").contains("hunter2"));
        assert_eq!(
            url.scrub("cannot reach amqp://shop:hunter2@rabbit:5672/%2f (hunter2)"),
            "cannot reach amqp://***@rabbit:5672/%2f (***)"
        );
        let token = EventsUrl::parse("nats://s3cr3t-token@nats:4222").expect("nats");
        assert_eq!(format!("{token:?}"), "\"nats://***@nats:4222\"");
        assert_eq!(
            token.scrub("auth failed for s3cr3t-token"),
            "auth failed for ***"
        );
        let plain = EventsUrl::parse("nats://127.0.0.1:4222").expect("nats");
        assert_eq!(plain.redacted(), "nats://127.0.0.1:4222");
        assert!(plain.credentials().is_empty());
    }

    #[test]
    fn a_refused_url_is_not_quoted_in_the_error() {
        let mut vars = std::collections::HashMap::new();
        vars.insert(NAME, "amqps://shop:hunter2@rabbit/".to_owned());
        let error = events_url(&vars).expect_err("refused");
        assert!(!error.to_string().contains("hunter2"), "{error}");
        vars.insert(NAME, "  ".to_owned());
        assert_eq!(events_url(&vars).expect("blank is unset"), None);
    }
}
