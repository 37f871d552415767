//! Every setting, read from the environment once, validated, and documented here.
//!
//! A missing or malformed value is a [`SettingsError`] that names the variable; `main` prints it
//! as one line and exits with code 2. Nothing falls back silently to a default once a value has
//! been given.

mod payments;
mod read;
mod shop;
#[cfg(test)]
mod tests;
mod values;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use ipnet::IpNet;

use crate::money::Currency;
use crate::text::Language;
use crate::throttle::Rate;
pub use payments::{PaymentSettings, RazorpaySettings, StripeSettings};
use read::{
    base_url, duration, email_transport, load_or_create_secret, media, positive_integer, rate,
    value,
};
pub use shop::{CartSettings, OrderSettings};
pub use values::{
    CacheMode, EmailTransport, LogFormat, MediaSettings, MediaStore, S3Settings, Secret,
    SecretOrigin, SecretUrl,
};

/// Where the generated secret key is kept when `EMPORIUM_SECRET_KEY` is not set.
pub const SECRET_FILE: &str = ".emporium-secret";

/// A setting that could not be used, with the variable that holds it.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {name}: {message}")]
pub struct SettingsError {
    /// The environment variable.
    pub name: &'static str,
    /// What is wrong with it.
    pub message: String,
}

fn invalid(name: &'static str, message: impl Into<String>) -> SettingsError {
    SettingsError {
        name,
        message: message.into(),
    }
}

/// The validated settings of one process.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `DATABASE_URL`: `sqlite://…`, `postgres://…` or `mysql://…`.
    pub database_url: SecretUrl,
    /// `EMPORIUM_DB_MAX_CONNECTIONS`: pool size (default 10; 1 for an in-memory SQLite).
    pub db_max_connections: u32,
    /// `EMPORIUM_LISTEN`: address to bind.
    pub listen: SocketAddr,
    /// `EMPORIUM_PUBLIC_URL`: absolute base for links, without a trailing slash.
    pub public_url: Option<String>,
    /// `EMPORIUM_SECRET_KEY` (or the generated key file): signs tokens.
    pub secret_key: Secret,
    /// Where [`Settings::secret_key`] came from.
    pub secret_origin: SecretOrigin,
    /// `EMPORIUM_CURRENCY`: the shop's ISO 4217 currency.
    pub currency: Currency,
    /// `EMPORIUM_SEARCH_LANGUAGE`: the language product search stems words in (default
    /// English; `none` turns stemming off).
    pub search_language: Language,
    /// `EMPORIUM_CORS_ORIGINS`: exact origins allowed to call the API from a browser.
    pub cors_origins: Vec<String>,
    /// `EMPORIUM_TRUSTED_PROXIES`: peers whose `X-Forwarded-*` headers are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// `EMPORIUM_MAX_BODY_SIZE`: largest request body accepted, in bytes (default 2 MiB).
    pub max_body_size: usize,
    /// `EMPORIUM_REQUEST_TIMEOUT`: a request still running after this gets 503.
    pub request_timeout: Duration,
    /// `EMPORIUM_SHUTDOWN_TIMEOUT`: how long in-flight requests may finish after SIGTERM.
    pub shutdown_timeout: Duration,
    /// `EMPORIUM_LOG_FORMAT`: `pretty` or `json`.
    pub log_format: LogFormat,
    /// `RUST_LOG`: the log filter (default `info`).
    pub log_filter: String,
    /// `EMPORIUM_WORKERS`: jobs run at once per worker (default 2).
    pub workers: usize,
    /// `EMPORIUM_JOB_LEASE`: how long a claimed job is held without renewal (default 60s).
    pub job_lease: Duration,
    /// `EMPORIUM_JOB_POLL_INTERVAL`: how often an idle worker looks for due jobs (default 1s).
    pub job_poll_interval: Duration,
    /// `EMPORIUM_JOB_RETRY_BASE`: the first retry delay, doubled per attempt (default 10s).
    pub job_retry_base: Duration,
    /// `EMAIL_URL`: `console`, `smtp://…` or `smtps://…`.
    pub email_transport: EmailTransport,
    /// `EMAIL_FROM`: the sender.
    pub email_from: String,
    /// `EMPORIUM_MEDIA_*` and `AWS_*`.
    pub media: MediaSettings,
    /// `EMPORIUM_ACCESS_TTL`: access token lifetime (default 5m).
    pub access_ttl: Duration,
    /// `EMPORIUM_REFRESH_TTL`: refresh token lifetime (default 1d).
    pub refresh_ttl: Duration,
    /// `REDIS_URL`: shared cache and throttles; in-process when unset.
    pub redis_url: Option<SecretUrl>,
    /// `EMPORIUM_REDIS_PREFIX`: prefix of every Redis key (default `emporium:`), so several
    /// shops or test runs can share one Redis.
    pub redis_prefix: String,
    /// `EMPORIUM_LOGIN_MAX_FAILURES`: failed logins per account before it is locked for
    /// `EMPORIUM_LOGIN_LOCKOUT` (default 5); a client IP gets four times as many.
    pub login_max_failures: u32,
    /// `EMPORIUM_LOGIN_LOCKOUT`: how long the failures are counted and the lock lasts (15m).
    pub login_lockout: Duration,
    /// `EMPORIUM_SHOP_NAME`: the shop's name in emails (default `Emporium`).
    pub shop_name: String,
    /// `EMPORIUM_THROTTLE_ANON`: API requests per client address without a valid access token
    /// (default `6000/min`; `off` disables).
    pub throttle_anon: Option<Rate>,
    /// `EMPORIUM_THROTTLE_USER`: API requests per logged-in user (default `1200/min`).
    pub throttle_user: Option<Rate>,
    /// `EMPORIUM_THROTTLE_REGISTER`: registrations per client address (default `60/hour`).
    pub throttle_register: Option<Rate>,
    /// `EMPORIUM_HASH_CONCURRENCY`: password hashes computed at once (default: the cores).
    pub hash_concurrency: usize,
    /// `EMPORIUM_HASH_QUEUE`: requests that may wait for a hash slot; more get 503 at once
    /// (default 8 × the concurrency; 0 lets none wait).
    pub hash_queue: usize,
    /// `EMPORIUM_REFRESH_REUSE_GRACE`: how long a just-rotated refresh token may be presented
    /// again without counting as theft (default 10s; 0s turns the grace off).
    pub refresh_reuse_grace: Duration,
    /// `EMPORIUM_JOB_RETENTION`: finished and dead jobs older than this are purged (default 7d).
    pub job_retention: Duration,
    /// `EMPORIUM_CACHE`: `auto` (default: versions in Redis when `REDIS_URL` is set, in process
    /// on SQLite, no cache on a network database without Redis — several nodes may share it),
    /// `local` (in process: you promise a single node) or `off`.
    pub cache_mode: CacheMode,
    /// `EMPORIUM_CACHE_BYTES`: most bytes of cached responses held per process (default 64 MiB).
    pub cache_bytes: u64,
    /// `EMPORIUM_CACHE_WRITE_WINDOW`: how long a catalog write's in-flight mark outlives a
    /// finish step that never ran (default 30s, 1s to 1h; a commit must start within half of
    /// it).
    pub cache_write_window: Duration,
    /// `EMPORIUM_CART_*` and `EMPORIUM_THROTTLE_COUPON`.
    pub cart: CartSettings,
    /// `EMPORIUM_ORDER_PAYMENT_TIMEOUT` and `EMPORIUM_LOW_STOCK_THRESHOLD`.
    pub orders: OrderSettings,
    /// `EMPORIUM_PAYMENT_PROVIDER` and its credentials.
    pub payments: PaymentSettings,
}

/// Reads variables: the process environment in production, a map in tests.
pub trait Source {
    /// The variable's value, or `Err` with a message when it is set but unreadable.
    fn get(&self, name: &'static str) -> Result<Option<String>, SettingsError>;
}

/// The process environment (after `.env` has been loaded into it).
pub struct Environment;

impl Source for Environment {
    fn get(&self, name: &'static str) -> Result<Option<String>, SettingsError> {
        match std::env::var(name) {
            Ok(value) => Ok(Some(value)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(invalid(name, "not valid UTF-8")),
        }
    }
}

impl Source for HashMap<&'static str, String> {
    fn get(&self, name: &'static str) -> Result<Option<String>, SettingsError> {
        Ok(HashMap::get(self, name).cloned())
    }
}

impl Settings {
    /// Failed logins allowed per account in the lockout window (a client address gets four
    /// times as many).
    pub fn login_failures(&self) -> Rate {
        Rate {
            limit: u64::from(self.login_max_failures),
            period: self.login_lockout,
        }
    }

    /// Reads the process environment, loading `.env` from the working directory first.
    pub fn from_env() -> Result<Settings, SettingsError> {
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(invalid("DOTENV", format!(".env could not be read: {e}"))),
        }
        Settings::from_source(&Environment, Path::new("."))
    }

    /// Reads every setting from `source`; `dir` is where the generated secret key is kept.
    pub fn from_source(source: &dyn Source, dir: &Path) -> Result<Settings, SettingsError> {
        let database_url = SecretUrl::new(
            value(source, "DATABASE_URL")?
                .unwrap_or_else(|| "sqlite://emporium.db?mode=rwc".to_owned()),
        );
        if ![
            "sqlite:",
            "postgres://",
            "postgresql://",
            "mysql://",
            "mariadb://",
        ]
        .iter()
        .any(|scheme| database_url.starts_with(scheme))
        {
            return Err(invalid(
                "DATABASE_URL",
                "must start with sqlite:, postgres://, postgresql:// or mysql://",
            ));
        }
        let in_memory = database_url.starts_with("sqlite:") && database_url.contains(":memory:");
        let db_max_connections = positive_integer(
            source,
            "EMPORIUM_DB_MAX_CONNECTIONS",
            if in_memory { 1 } else { 10 },
        )?;
        if in_memory && db_max_connections != 1 {
            return Err(invalid(
                "EMPORIUM_DB_MAX_CONNECTIONS",
                "an in-memory SQLite database needs exactly 1 connection",
            ));
        }

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

        let (secret_key, secret_origin) = match source.get("EMPORIUM_SECRET_KEY")? {
            Some(key) if key.len() >= 32 => {
                (Secret::new(key.into_bytes()), SecretOrigin::Environment)
            }
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

        let currency = match value(source, "EMPORIUM_CURRENCY")? {
            None => Currency::USD,
            Some(code) => Currency::from_code(&code).ok_or_else(|| {
                invalid(
                    "EMPORIUM_CURRENCY",
                    format!("{code:?} is not an ISO 4217 code like USD"),
                )
            })?,
        };

        let search_language = match value(source, "EMPORIUM_SEARCH_LANGUAGE")? {
            None => Language::ENGLISH,
            Some(name) => Language::from_name(&name.to_ascii_lowercase()).ok_or_else(|| {
                invalid(
                    "EMPORIUM_SEARCH_LANGUAGE",
                    format!(
                        "{name:?} is not one of: {}",
                        Language::names().collect::<Vec<_>>().join(", ")
                    ),
                )
            })?,
        };

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

        let workers = positive_integer(source, "EMPORIUM_WORKERS", 2_usize)?;
        let job_lease = duration(source, "EMPORIUM_JOB_LEASE", Duration::from_secs(60))?;
        let job_poll_interval =
            duration(source, "EMPORIUM_JOB_POLL_INTERVAL", Duration::from_secs(1))?;
        let job_retry_base = duration(source, "EMPORIUM_JOB_RETRY_BASE", Duration::from_secs(10))?;
        let email_transport = email_transport(source)?;
        let email_from =
            value(source, "EMAIL_FROM")?.unwrap_or_else(|| "shop@localhost".to_owned());
        if email_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "EMAIL_FROM",
                format!("{email_from:?} is not an address like \"Shop <shop@example.com>\""),
            ));
        }
        let media = media(source)?;
        let access_ttl = duration(source, "EMPORIUM_ACCESS_TTL", Duration::from_secs(5 * 60))?;
        let refresh_ttl = duration(
            source,
            "EMPORIUM_REFRESH_TTL",
            Duration::from_secs(24 * 3600),
        )?;
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
        let login_max_failures = positive_integer(source, "EMPORIUM_LOGIN_MAX_FAILURES", 5_u32)?;
        let login_lockout = duration(
            source,
            "EMPORIUM_LOGIN_LOCKOUT",
            Duration::from_secs(15 * 60),
        )?;
        let shop_name =
            value(source, "EMPORIUM_SHOP_NAME")?.unwrap_or_else(|| "Emporium".to_owned());
        let throttle_anon = rate(source, "EMPORIUM_THROTTLE_ANON", "6000/min")?;
        let throttle_user = rate(source, "EMPORIUM_THROTTLE_USER", "1200/min")?;
        let throttle_register = rate(source, "EMPORIUM_THROTTLE_REGISTER", "60/hour")?;
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
        let job_retention = duration(
            source,
            "EMPORIUM_JOB_RETENTION",
            Duration::from_secs(7 * 24 * 3600),
        )?;

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

        let cart = CartSettings::read(source)?;
        let orders = OrderSettings::read(source)?;
        let payments = PaymentSettings::read(source)?;

        Ok(Settings {
            database_url,
            db_max_connections,
            listen,
            public_url,
            secret_key,
            secret_origin,
            currency,
            search_language,
            cors_origins,
            trusted_proxies,
            max_body_size,
            request_timeout,
            shutdown_timeout,
            log_format,
            log_filter,
            workers,
            job_lease,
            job_poll_interval,
            job_retry_base,
            email_transport,
            email_from,
            media,
            access_ttl,
            refresh_ttl,
            redis_url,
            redis_prefix,
            login_max_failures,
            login_lockout,
            shop_name,
            throttle_anon,
            throttle_user,
            throttle_register,
            hash_concurrency,
            hash_queue,
            refresh_reuse_grace,
            job_retention,
            cache_mode,
            cache_bytes,
            cache_write_window,
            cart,
            orders,
            payments,
        })
    }

    /// Settings-level dangers for production, logged as warnings at start.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.secret_origin == SecretOrigin::File {
            warnings.push(format!(
                "EMPORIUM_SECRET_KEY is not set: using the key generated in {SECRET_FILE}; \
                 set EMPORIUM_SECRET_KEY in production"
            ));
        }
        if self.email_transport == EmailTransport::Console {
            warnings.push("EMAIL_URL is console: mail is printed to the log, not sent".to_owned());
        }
        if self.database_url.starts_with("sqlite:") {
            warnings.push(
                "DATABASE_URL is SQLite: fine for one node; use PostgreSQL or MySQL to scale out"
                    .to_owned(),
            );
        }
        warnings
    }
}
