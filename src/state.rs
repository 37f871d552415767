//! What every handler can reach: the database, the settings and the metrics recorder.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use sea_orm::DatabaseConnection;

use crate::settings::Settings;

/// Shared, cheaply cloned application state.
#[derive(Clone)]
pub struct AppState {
    /// The connection pool.
    pub db: DatabaseConnection,
    /// Validated settings.
    pub settings: Arc<Settings>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
}
