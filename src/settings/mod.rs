//! Every setting, read from the environment once, validated, and documented here.
//!
//! A missing or malformed value is a [`SettingsError`] that names the variable; `main` prints it
//! as one line and exits with code 2. Nothing falls back silently to a default once a value has
//! been given.

mod auth;
mod broker;
mod cache;
mod database;
mod email;
mod jobs;
mod payments;
mod read;
mod server;
mod shop;
mod storefront;
#[cfg(test)]
mod tests;
mod throttles;
mod timeouts;
mod values;
mod webhooks;
pub use broker::{BrokerKind, EventsUrl};
pub use webhooks::{WebhookDelivery, split_allow_entry};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use ipnet::IpNet;

use crate::money::Currency;
use crate::text::Language;
use crate::throttle::Rate;
use auth::{Hashing, Login, TokenLifetimes};
use cache::{Cache, RedisServer};
use database::Database;
pub use database::ReplicaSettings;
use email::Email;
use jobs::Jobs;
pub use payments::{PaymentSettings, RazorpaySettings, StripeSettings};
use read::media;
use server::{Address, Logging, Requests};
pub use shop::{CartSettings, OrderSettings};
pub use storefront::TaxSettings;
use throttles::Throttles;
pub use timeouts::Timeouts;
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
    /// `DATABASE_REPLICA_URL` and `EMPORIUM_REPLICA_MAX_LAG`: the read replica for the
    /// catalog's public reads, when one is configured.
    pub replica: Option<ReplicaSettings>,
    /// How long anything waits for another service (database, Redis, providers, mail, S3).
    pub timeouts: Timeouts,
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
    /// `EMPORIUM_TIME_ZONE`: the shop's time zone (IANA name, default `UTC`): the dashboard's
    /// days.
    pub time_zone: chrono_tz::Tz,
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
    /// `EMPORIUM_PRICES_INCLUDE_TAX`, `EMPORIUM_SHOP_COUNTRY`, `EMPORIUM_SHOP_ADDRESS`.
    pub tax: TaxSettings,
    /// `EMPORIUM_WEBHOOK_ALLOW_HOSTS`: hosts webhooks may reach over http and at non-public
    /// addresses (`host` or `host:port`, lower-cased; default none).
    pub webhook_allow_hosts: Vec<String>,
    /// `EMPORIUM_WEBHOOK_TIMEOUT`, `EMPORIUM_WEBHOOK_WORKERS`,
    /// `EMPORIUM_WEBHOOK_ENDPOINT_CONCURRENCY`.
    pub webhook_delivery: WebhookDelivery,
    /// `EMPORIUM_EVENT_RETENTION`: how long events and finished deliveries are kept.
    pub event_retention: Duration,
    /// `EMPORIUM_EVENTS_URL`: the broker every event is also published to (`nats://…`,
    /// `tls://…` or `amqp://…`); none when unset.
    pub events_url: Option<EventsUrl>,
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

    /// Reads every setting from `source`, area by area; `dir` is where the generated secret key
    /// is kept.
    ///
    /// The areas are read in this order, and the first invalid variable is the error: so the
    /// secret key file is only created once the database and address are valid, and when several
    /// variables are wrong the same one is named every time.
    pub fn from_source(source: &dyn Source, dir: &Path) -> Result<Settings, SettingsError> {
        let database = Database::read(source)?;
        let address = Address::read(source)?;
        let (secret_key, secret_origin) = auth::secret_key(source, dir)?;
        let currency = storefront::currency(source)?;
        let search_language = storefront::search_language(source)?;
        let requests = Requests::read(source)?;
        let logging = Logging::read(source)?;
        let jobs = Jobs::read(source)?;
        let email = Email::read(source)?;
        let media = media(source)?;
        let tokens = TokenLifetimes::read(source)?;
        let redis = RedisServer::read(source)?;
        let login = Login::read(source)?;
        let shop_name = storefront::shop_name(source)?;
        let time_zone = storefront::time_zone(source)?;
        let throttles = Throttles::read(source)?;
        let hashing = Hashing::read(source)?;
        let refresh_reuse_grace = auth::refresh_reuse_grace(source)?;
        let job_retention = jobs::retention(source)?;
        let cache = Cache::read(source)?;
        let cart = CartSettings::read(source)?;
        let orders = OrderSettings::read(source)?;
        let timeouts = Timeouts::read(source)?;
        let payments = PaymentSettings::read(source, timeouts)?;
        let tax = TaxSettings::read(source)?;
        let webhook_allow_hosts = webhooks::allow_hosts(source)?;
        let webhook_delivery = WebhookDelivery::read(source)?;
        let event_retention = webhooks::event_retention(source)?;
        let events_url = broker::events_url(source)?;

        Ok(Settings {
            database_url: database.url,
            db_max_connections: database.max_connections,
            replica: database.replica,
            timeouts,
            listen: address.listen,
            public_url: address.public_url,
            secret_key,
            secret_origin,
            currency,
            search_language,
            cors_origins: requests.cors_origins,
            trusted_proxies: requests.trusted_proxies,
            max_body_size: requests.max_body_size,
            request_timeout: requests.request_timeout,
            shutdown_timeout: requests.shutdown_timeout,
            log_format: logging.format,
            log_filter: logging.filter,
            workers: jobs.workers,
            job_lease: jobs.lease,
            job_poll_interval: jobs.poll_interval,
            job_retry_base: jobs.retry_base,
            email_transport: email.transport,
            email_from: email.from,
            media,
            access_ttl: tokens.access,
            refresh_ttl: tokens.refresh,
            redis_url: redis.url,
            redis_prefix: redis.prefix,
            login_max_failures: login.max_failures,
            login_lockout: login.lockout,
            shop_name,
            time_zone,
            throttle_anon: throttles.anon,
            throttle_user: throttles.user,
            throttle_register: throttles.register,
            hash_concurrency: hashing.concurrency,
            hash_queue: hashing.queue,
            refresh_reuse_grace,
            job_retention,
            cache_mode: cache.mode,
            cache_bytes: cache.bytes,
            cache_write_window: cache.write_window,
            cart,
            orders,
            payments,
            tax,
            webhook_allow_hosts,
            webhook_delivery,
            event_retention,
            events_url,
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
