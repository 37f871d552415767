//! Every setting, read from the environment once, validated, and documented here.
//!
//! A missing or malformed value is a [`SettingsError`] that names the variable; `main` prints it
//! as one line and exits with code 2. Nothing falls back silently to a default once a value has
//! been given.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;

use crate::money::Currency;
use crate::throttle::Rate;

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

/// Bytes that must not be printed: `Debug` shows only their length.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps secret bytes.
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(bytes)
    }

    /// The secret bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret as text (secrets read from the environment are always UTF-8).
    pub fn expose_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// A URL that may carry a password (`postgres://user:pw@host/db`): `Debug` shows it with the
/// password replaced by `***`, so settings can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> SecretUrl {
        SecretUrl(url.into())
    }

    /// The whole URL, password included.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL with the password (between `user:` and `@`) replaced by `***`.
    pub fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.0.split_once("://") else {
            return self.0.clone();
        };
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        match rest[..authority_end].rsplit_once('@') {
            Some((credentials, host)) => {
                let user = credentials.split_once(':').map_or(credentials, |(u, _)| u);
                let hidden = if credentials.contains(':') {
                    ":***"
                } else {
                    ""
                };
                format!("{scheme}://{user}{hidden}@{host}{}", &rest[authority_end..])
            }
            None => self.0.clone(),
        }
    }
}

impl std::ops::Deref for SecretUrl {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<&str> for SecretUrl {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

/// How mail leaves the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailTransport {
    /// Printed to the log (the development default).
    Console,
    /// An SMTP URL in the form lettre reads (`smtp://…?tls=opportunistic`, `smtps://…`).
    Smtp(SecretUrl),
}

/// An S3-compatible bucket for media.
#[derive(Clone, Debug)]
pub struct S3Settings {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix inside the bucket (no slashes at either end; may be empty).
    pub prefix: String,
    /// `AWS_REGION` (default `us-east-1`).
    pub region: String,
    /// `AWS_ENDPOINT_URL`, for S3-compatible servers.
    pub endpoint: Option<String>,
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: Option<String>,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<Secret>,
    /// `AWS_ALLOW_HTTP`: allow a plain-HTTP endpoint.
    pub allow_http: bool,
}

/// Where media files live.
#[derive(Clone, Debug)]
pub enum MediaStore {
    /// A local folder (`EMPORIUM_MEDIA_ROOT`).
    Local {
        /// The folder.
        root: PathBuf,
    },
    /// An S3-compatible bucket (`EMPORIUM_MEDIA_STORE=s3://bucket/prefix`).
    S3(S3Settings),
}

/// Media storage settings.
#[derive(Clone, Debug)]
pub struct MediaSettings {
    /// The backend.
    pub store: MediaStore,
    /// `EMPORIUM_MEDIA_URL`: public base URL of media, without a trailing slash.
    pub url: Option<String>,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object a line.
    Json,
}

/// Where the secret key came from, so start-up can warn about a generated one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretOrigin {
    /// `EMPORIUM_SECRET_KEY`.
    Environment,
    /// Generated once and kept in [`SECRET_FILE`].
    File,
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

/// A variable that is set to something other than blank.
fn value(source: &dyn Source, name: &'static str) -> Result<Option<String>, SettingsError> {
    Ok(source
        .get(name)?
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty()))
}

fn duration(
    source: &dyn Source,
    name: &'static str,
    default: Duration,
) -> Result<Duration, SettingsError> {
    match value(source, name)? {
        None => Ok(default),
        Some(text) => {
            let parsed = humantime::parse_duration(&text).map_err(|e| {
                invalid(
                    name,
                    format!("{text:?} is not a duration like 30s or 5m ({e})"),
                )
            })?;
            if parsed.is_zero() {
                return Err(invalid(name, "must be longer than zero"));
            }
            Ok(parsed)
        }
    }
}

fn positive_integer<T: std::str::FromStr + PartialOrd + From<u8>>(
    source: &dyn Source,
    name: &'static str,
    default: T,
) -> Result<T, SettingsError> {
    match value(source, name)? {
        None => Ok(default),
        Some(text) => match text.parse::<T>() {
            Ok(n) if n >= T::from(1) => Ok(n),
            _ => Err(invalid(name, format!("{text:?} is not a positive integer"))),
        },
    }
}

/// An absolute `http(s)://host[:port][/path]` URL, returned without its trailing slash.
fn base_url(name: &'static str, text: &str) -> Result<String, SettingsError> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| {
            invalid(
                name,
                format!("{text:?} must start with http:// or https://"),
            )
        })?;
    let host = rest.split('/').next().unwrap_or_default();
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-.:[]_".contains(c);
    if host.is_empty() || !host.chars().all(allowed) || text.contains(['?', '#', ' ']) {
        return Err(invalid(name, format!("{text:?} is not an absolute URL")));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

impl Settings {
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

        Ok(Settings {
            database_url,
            db_max_connections,
            listen,
            public_url,
            secret_key,
            secret_origin,
            currency,
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

fn email_transport(source: &dyn Source) -> Result<EmailTransport, SettingsError> {
    const NAME: &str = "EMAIL_URL";
    let Some(url) = value(source, NAME)? else {
        return Ok(EmailTransport::Console);
    };
    if url == "console" {
        return Ok(EmailTransport::Console);
    }
    if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
        return Err(invalid(NAME, "must be console, smtp://… or smtps://…"));
    }
    // smtp:// upgrades with STARTTLS where the server offers it, unless the URL says
    // otherwise (`?tls=required`, or `?tls=none` for a local relay without TLS).
    let url = if url.starts_with("smtp://") && !url.contains("tls=") {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}tls=opportunistic")
    } else if url.contains("tls=none") {
        url.replace("?tls=none", "").replace("&tls=none", "")
    } else {
        url
    };
    lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&url)
        .map_err(|e| invalid(NAME, format!("not a usable SMTP URL: {e}")))?;
    Ok(EmailTransport::Smtp(SecretUrl::new(url)))
}

/// A DRF-style rate (`1200/min`), or `None` for `off`.
fn rate(
    source: &dyn Source,
    name: &'static str,
    default: &str,
) -> Result<Option<Rate>, SettingsError> {
    let text = value(source, name)?.unwrap_or_else(|| default.to_owned());
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|e: String| invalid(name, e))
}

fn boolean(source: &dyn Source, name: &'static str, default: bool) -> Result<bool, SettingsError> {
    match value(source, name)?
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(invalid(name, format!("{other:?} is not true or false"))),
    }
}

fn media(source: &dyn Source) -> Result<MediaSettings, SettingsError> {
    let url = value(source, "EMPORIUM_MEDIA_URL")?
        .map(|text| base_url("EMPORIUM_MEDIA_URL", &text))
        .transpose()?;
    let store = match value(source, "EMPORIUM_MEDIA_STORE")?.as_deref() {
        None | Some("local") => MediaStore::Local {
            root: PathBuf::from(
                value(source, "EMPORIUM_MEDIA_ROOT")?.unwrap_or_else(|| "./media".to_owned()),
            ),
        },
        Some(spec) => {
            let rest = spec.strip_prefix("s3://").ok_or_else(|| {
                invalid(
                    "EMPORIUM_MEDIA_STORE",
                    "must be local or s3://bucket/prefix",
                )
            })?;
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let plain = |s: &str| {
                s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
            };
            if bucket.is_empty() || !plain(bucket) || !plain(prefix) || prefix.contains("..") {
                return Err(invalid(
                    "EMPORIUM_MEDIA_STORE",
                    format!("{spec:?} is not s3://bucket/prefix"),
                ));
            }
            let endpoint = value(source, "AWS_ENDPOINT_URL")?
                .map(|text| base_url("AWS_ENDPOINT_URL", &text))
                .transpose()?;
            MediaStore::S3(S3Settings {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
                region: value(source, "AWS_REGION")?.unwrap_or_else(|| "us-east-1".to_owned()),
                endpoint,
                access_key_id: value(source, "AWS_ACCESS_KEY_ID")?,
                secret_access_key: value(source, "AWS_SECRET_ACCESS_KEY")?
                    .map(|s| Secret::new(s.into_bytes())),
                allow_http: boolean(source, "AWS_ALLOW_HTTP", false)?,
            })
        }
    };
    Ok(MediaSettings { store, url })
}

/// Reads the key file, or creates it with 64 random bytes (hex) and mode 0600.
fn load_or_create_secret(path: &PathBuf) -> Result<Secret, SettingsError> {
    const NAME: &str = "EMPORIUM_SECRET_KEY";
    let read = |path: &PathBuf| -> Result<Secret, SettingsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| invalid(NAME, format!("{} could not be read: {e}", path.display())))?;
        let key = text.trim();
        if key.len() < 32 {
            return Err(invalid(
                NAME,
                format!("{} holds fewer than 32 bytes", path.display()),
            ));
        }
        Ok(Secret::new(key.as_bytes().to_vec()))
    };
    if path.exists() {
        return read(path);
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| invalid(NAME, format!("no randomness to generate a key: {e}")))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();

    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(hex.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| {
                    invalid(
                        NAME,
                        format!("{} could not be written: {e}", path.display()),
                    )
                })?;
            Ok(Secret::new(hex.into_bytes()))
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path),
        Err(e) => Err(invalid(
            NAME,
            format!("{} could not be created: {e}", path.display()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&'static str, &str)]) -> Result<Settings, SettingsError> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut map: HashMap<&'static str, String> =
            pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        map.entry("EMPORIUM_SECRET_KEY")
            .or_insert_with(|| "k".repeat(32));
        Settings::from_source(&map, dir.path())
    }

    #[test]
    fn nothing_configured_gives_the_embedded_defaults() {
        let s = settings(&[]).expect("defaults are valid");
        assert_eq!(s.database_url, "sqlite://emporium.db?mode=rwc");
        assert_eq!(s.listen.to_string(), "127.0.0.1:8000");
        assert_eq!(s.currency, Currency::USD);
        assert_eq!(s.max_body_size, 2 * 1024 * 1024);
        assert!(s.cors_origins.is_empty());
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let cases: &[(&'static str, &str)] = &[
            ("EMPORIUM_LISTEN", "localhost"),
            ("EMPORIUM_CURRENCY", "XYZ"),
            ("EMPORIUM_REQUEST_TIMEOUT", "soon"),
            ("EMPORIUM_MAX_BODY_SIZE", "-1"),
            ("EMPORIUM_LOG_FORMAT", "xml"),
            ("EMPORIUM_CORS_ORIGINS", "*"),
            ("EMPORIUM_CORS_ORIGINS", "https://shop.example/path"),
            ("EMPORIUM_TRUSTED_PROXIES", "10.0.0.0/99"),
            ("EMPORIUM_PUBLIC_URL", "shop.example"),
            ("EMPORIUM_SECRET_KEY", "short"),
            ("DATABASE_URL", "oracle://db"),
            ("EMPORIUM_WORKERS", "0"),
            ("EMPORIUM_JOB_LEASE", "0s"),
            ("EMAIL_URL", "sendmail"),
            ("EMAIL_FROM", "not an address"),
            ("EMPORIUM_MEDIA_STORE", "ftp://bucket"),
            ("EMPORIUM_MEDIA_URL", "cdn.example"),
            ("EMPORIUM_ACCESS_TTL", "five minutes"),
            ("REDIS_URL", "memcached://x"),
            ("EMPORIUM_LOGIN_MAX_FAILURES", "none"),
            ("EMPORIUM_THROTTLE_ANON", "lots"),
            ("EMPORIUM_THROTTLE_USER", "10/fortnight"),
            ("EMPORIUM_HASH_CONCURRENCY", "0"),
            ("EMPORIUM_HASH_QUEUE", "-1"),
            ("EMPORIUM_REFRESH_REUSE_GRACE", "2m"),
            ("EMPORIUM_JOB_RETENTION", "forever"),
        ];
        for (name, bad) in cases {
            let err = settings(&[(name, bad)]).expect_err("must be refused");
            assert_eq!(err.name, *name, "{bad:?}");
            assert!(
                err.to_string()
                    .starts_with(&format!("invalid setting {name}: "))
            );
        }
    }

    #[test]
    fn the_generated_secret_is_kept_and_reused() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let map: HashMap<&'static str, String> = HashMap::new();
        let first = Settings::from_source(&map, dir.path()).expect("valid");
        let second = Settings::from_source(&map, dir.path()).expect("valid");
        assert_eq!(first.secret_key.expose(), second.secret_key.expose());
        assert_eq!(first.secret_origin, SecretOrigin::File);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SECRET_FILE))
                .expect("key file exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn email_and_media_settings_are_read() {
        let s = settings(&[
            ("EMAIL_URL", "smtp://user:p%40ss@mail.example:2525"),
            ("EMAIL_FROM", "Shop <shop@example.com>"),
            ("EMPORIUM_MEDIA_STORE", "s3://media-bucket/shop/images/"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
            ("AWS_ALLOW_HTTP", "true"),
            ("EMPORIUM_MEDIA_URL", "https://cdn.example/media/"),
        ])
        .expect("valid");
        assert_eq!(
            s.email_transport,
            EmailTransport::Smtp(SecretUrl::new(
                "smtp://user:p%40ss@mail.example:2525?tls=opportunistic"
            ))
        );
        let MediaStore::S3(s3) = &s.media.store else {
            panic!("expected S3")
        };
        assert_eq!(
            (s3.bucket.as_str(), s3.prefix.as_str()),
            ("media-bucket", "shop/images")
        );
        assert!(s3.allow_http);
        assert_eq!(s.media.url.as_deref(), Some("https://cdn.example/media"));
        let plain = settings(&[("EMAIL_URL", "smtp://127.0.0.1:2525?tls=none")]).expect("valid");
        assert_eq!(
            plain.email_transport,
            EmailTransport::Smtp(SecretUrl::new("smtp://127.0.0.1:2525"))
        );
    }

    #[test]
    fn debug_output_shows_no_credentials() {
        let s = settings(&[
            (
                "DATABASE_URL",
                "postgres://shop:db-pass-1@db.example:5432/shop",
            ),
            ("REDIS_URL", "redis://:redis-pass-2@cache.example:6379/0"),
            ("EMAIL_URL", "smtps://mailer:mail-pass-3@smtp.example"),
            ("EMPORIUM_MEDIA_STORE", "s3://bucket"),
            ("AWS_SECRET_ACCESS_KEY", "aws-pass-4"),
        ])
        .expect("valid");
        let shown = format!("{s:?}");
        for secret in [
            "db-pass-1",
            "redis-pass-2",
            "mail-pass-3",
            "aws-pass-4",
            &"k".repeat(32),
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("postgres://shop:***@db.example:5432/shop"),
            "{shown}"
        );
        assert_eq!(
            s.database_url.as_str(),
            "postgres://shop:db-pass-1@db.example:5432/shop"
        );
    }

    #[test]
    fn throttle_and_hashing_settings_have_defaults_and_off() {
        let s = settings(&[]).expect("defaults");
        assert_eq!(s.throttle_anon.map(|r| r.limit), Some(6000));
        assert_eq!(
            s.throttle_user.map(|r| r.period),
            Some(Duration::from_secs(60))
        );
        assert!(s.hash_concurrency >= 1);
        assert_eq!(s.hash_queue, s.hash_concurrency * 8);
        assert_eq!(s.refresh_reuse_grace, Duration::from_secs(10));
        let off = settings(&[
            ("EMPORIUM_THROTTLE_ANON", "off"),
            ("EMPORIUM_REFRESH_REUSE_GRACE", "0s"),
            ("EMPORIUM_HASH_QUEUE", "0"),
        ])
        .expect("valid");
        assert_eq!(off.throttle_anon, None);
        assert_eq!(off.refresh_reuse_grace, Duration::ZERO);
        assert_eq!(off.hash_queue, 0);
    }

    #[test]
    fn lists_are_parsed() {
        let s = settings(&[
            (
                "EMPORIUM_CORS_ORIGINS",
                "https://app.example, http://localhost:3000",
            ),
            ("EMPORIUM_TRUSTED_PROXIES", "10.0.0.0/8,127.0.0.1"),
            ("EMPORIUM_PUBLIC_URL", "https://api.example/"),
        ])
        .expect("valid");
        assert_eq!(
            s.cors_origins,
            ["https://app.example", "http://localhost:3000"]
        );
        assert_eq!(s.trusted_proxies.len(), 2);
        assert_eq!(s.public_url.as_deref(), Some("https://api.example"));
    }
}
