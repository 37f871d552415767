//! What every handler and job can reach: the database (and its read replica), settings, metrics,
//! mailer and storage.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use sea_orm::DatabaseConnection;

use crate::auth::tokens::TokenKeys;
use crate::cache::ResponseCache;
use crate::email::Mailer;
use crate::gate::Gate;
use crate::settings::Settings;
use crate::storage::Storage;
use crate::throttle::Throttle;

/// Shared application state: one pointer, so that the clone every handler and middleware takes
/// is one atomic increment. Reads go through to [`Services`].
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    /// Wraps the services.
    pub fn new(services: Services) -> AppState {
        AppState(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What every handler and job can reach.
pub struct Services {
    /// The connection pool.
    pub db: DatabaseConnection,
    /// Validated settings.
    pub settings: Arc<Settings>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Delivers email (used by jobs only).
    pub mailer: Arc<Mailer>,
    /// Media files.
    pub storage: Storage,
    /// Bounds password hashing (`EMPORIUM_HASH_CONCURRENCY`, `EMPORIUM_HASH_QUEUE`).
    pub hash_gate: Gate,
    /// Bounds decoding and resizing images (`EMPORIUM_IMAGE_WORKERS`, `EMPORIUM_IMAGE_QUEUE`).
    pub image_gate: Gate,
    /// Signs and checks JWTs.
    pub tokens: Arc<TokenKeys>,
    /// Throttle counters (Redis when configured).
    pub throttle: Arc<Throttle>,
    /// API rate-limit counters (a store of their own in process).
    pub rate_limits: Arc<Throttle>,
    /// Cached responses, checked against versions in Redis when configured.
    pub cache: Arc<ResponseCache>,
    /// Statements run on `db` since start (also exported as `db_queries_total`).
    pub queries: Arc<std::sync::atomic::AtomicU64>,
    /// The events broker (`EMPORIUM_EVENTS_URL`), when one is configured.
    pub broker: Option<Arc<crate::broker::Broker>>,
    /// The read replica (`DATABASE_REPLICA_URL`), when one is configured.
    pub replica: Option<Arc<crate::replica::Replica>>,
}
