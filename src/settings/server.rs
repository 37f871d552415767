//! The HTTP server area: the address it listens on and links point to, what requests it
//! accepts (origins, proxies, body size, timeouts), and how it logs.

use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;

use super::read::{base_url, duration, positive_integer, value};
use super::values::LogFormat;
use super::{SettingsError, Source, invalid};

/// Where the server listens and the base its links use.
pub(super) struct Address {
    /// `EMPORIUM_LISTEN`.
    pub(super) listen: SocketAddr,
    /// `EMPORIUM_PUBLIC_URL`.
    pub(super) public_url: Option<String>,
}

impl Address {
    /// Reads `EMPORIUM_LISTEN` (default `127.0.0.1:8000`) and `EMPORIUM_PUBLIC_URL`.
    pub(super) fn read(source: &dyn Source) -> Result<Address, SettingsError> {
        let listen = match value(source, "EMPORIUM_LISTEN")? {
            None => SocketAddr::from(([127, 0, 0, 1], 8000)),
            Some(text) => text.parse().map_err(|_| {
                invalid(
                    "EMPORIUM_LISTEN",
                    format!("{text:?} is not an address like 127.0.0.1:8000"),
                )
            })?,
        };
        let public_url = value(source, "EMPORIUM_PUBLIC_URL")?
            .map(|text| base_url("EMPORIUM_PUBLIC_URL", &text))
            .transpose()?;
        Ok(Address { listen, public_url })
    }
}

/// Which requests the server accepts, and for how long it lets them run.
pub(super) struct Requests {
    /// `EMPORIUM_CORS_ORIGINS`.
    pub(super) cors_origins: Vec<String>,
    /// `EMPORIUM_TRUSTED_PROXIES`.
    pub(super) trusted_proxies: Vec<IpNet>,
    /// `EMPORIUM_MAX_BODY_SIZE`.
    pub(super) max_body_size: usize,
    /// `EMPORIUM_REQUEST_TIMEOUT`.
    pub(super) request_timeout: Duration,
    /// `EMPORIUM_SHUTDOWN_TIMEOUT`.
    pub(super) shutdown_timeout: Duration,
}

impl Requests {
    /// Reads `EMPORIUM_CORS_ORIGINS`, `EMPORIUM_TRUSTED_PROXIES`, `EMPORIUM_MAX_BODY_SIZE`,
    /// `EMPORIUM_REQUEST_TIMEOUT` and `EMPORIUM_SHUTDOWN_TIMEOUT`.
    pub(super) fn read(source: &dyn Source) -> Result<Requests, SettingsError> {
        let cors_origins = value(source, "EMPORIUM_CORS_ORIGINS")?
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(|origin| {
                        if origin == "*" {
                            return Err(invalid(
                                "EMPORIUM_CORS_ORIGINS",
                                "list the allowed origins; \"*\" is not accepted",
                            ));
                        }
                        let url = base_url("EMPORIUM_CORS_ORIGINS", origin)?;
                        if url.matches('/').count() != 2 {
                            return Err(invalid(
                                "EMPORIUM_CORS_ORIGINS",
                                format!("{origin:?} is not an origin (scheme://host[:port])"),
                            ));
                        }
                        Ok(url)
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();

        let trusted_proxies = value(source, "EMPORIUM_TRUSTED_PROXIES")?
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|cidr| {
                        cidr.parse::<IpNet>()
                            .or_else(|_| cidr.parse::<std::net::IpAddr>().map(IpNet::from))
                            .map_err(|_| {
                                invalid(
                                    "EMPORIUM_TRUSTED_PROXIES",
                                    format!("{cidr:?} is not an address or CIDR like 10.0.0.0/8"),
                                )
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();

        let max_body_size = positive_integer(source, "EMPORIUM_MAX_BODY_SIZE", 2 * 1024 * 1024)?;
        let request_timeout =
            duration(source, "EMPORIUM_REQUEST_TIMEOUT", Duration::from_secs(30))?;
        let shutdown_timeout =
            duration(source, "EMPORIUM_SHUTDOWN_TIMEOUT", Duration::from_secs(30))?;
        Ok(Requests {
            cors_origins,
            trusted_proxies,
            max_body_size,
            request_timeout,
            shutdown_timeout,
        })
    }
}

/// How log lines are written and which are kept.
pub(super) struct Logging {
    /// `EMPORIUM_LOG_FORMAT`.
    pub(super) format: LogFormat,
    /// `RUST_LOG`.
    pub(super) filter: String,
}

impl Logging {
    /// Reads `EMPORIUM_LOG_FORMAT` (default `pretty`) and `RUST_LOG` (default `info`).
    pub(super) fn read(source: &dyn Source) -> Result<Logging, SettingsError> {
        let log_format = match value(source, "EMPORIUM_LOG_FORMAT")?.as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(invalid(
                    "EMPORIUM_LOG_FORMAT",
                    format!("{other:?} is neither \"pretty\" nor \"json\""),
                ));
            }
        };
        let log_filter = value(source, "RUST_LOG")?.unwrap_or_else(|| "info".to_owned());
        if let Err(e) = tracing_subscriber::EnvFilter::builder().parse(&log_filter) {
            return Err(invalid("RUST_LOG", format!("{log_filter:?}: {e}")));
        }
        Ok(Logging {
            format: log_format,
            filter: log_filter,
        })
    }
}
