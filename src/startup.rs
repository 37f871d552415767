//! Building the application: connect the database, apply migrations, assemble the router with
//! its middleware, bind the listener, and serve until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::routing::get;
use axum::{Router, ServiceExt};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::tokens::TokenKeys;
use crate::cache::ResponseCache;
use crate::email::Mailer;
use crate::gate::Gate;
use crate::http::{self, middleware, ops, route};
use crate::jobs::Registry;
use crate::jobs::worker::{Worker, WorkerConfig};
use crate::redis_link::RedisLink;
use crate::settings::CacheMode;
use crate::settings::Settings;
use crate::state::AppState;
use crate::storage::Storage;
use crate::throttle::Throttle;
use crate::{db, telemetry};

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database could not be reached or migrated.
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// The mailer or the media store could not be set up.
    #[error("{0}")]
    Service(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Every job kind of the application, and the periodic ones with their periods.
pub fn job_registry() -> Registry {
    use crate::{accounts, cart, catalog, email, idempotency, jobs, orders, payments};
    let hourly = std::time::Duration::from_secs(3600);
    let mut registry = Registry::new();
    registry
        .register::<email::job::SendEmail>()
        .register::<accounts::reset::PasswordReset>()
        .register::<orders::lifecycle::ExpireOrder>()
        .register::<orders::alerts::StockAlert>()
        .register::<orders::invoice::MakeInvoice>()
        .register::<payments::refunds::RefundPayment>()
        .register::<payments::refunds::RefundCapture>()
        .register::<payments::verify::VerifyPayment>()
        .every::<jobs::queue::Cleanup>(hourly)
        .every::<accounts::sessions::PurgeSessions>(hourly)
        .every::<cart::purge::PurgeCarts>(hourly)
        .every::<idempotency::PurgeKeys>(hourly)
        .every::<catalog::products::image_sizes::MakeImageSizes>(hourly)
        .every::<crate::events::prune::PruneEvents>(hourly)
        .every::<crate::webhooks::prune::PruneDeliveries>(hourly);
    crate::webhooks::register_loops(&mut registry);
    crate::events::publisher::register(&mut registry);
    registry
}

/// Choices for [`Application::build_with`].
#[derive(Default)]
pub struct BuildOptions {
    /// Skip migrations (`serve --no-migrate`).
    pub skip_migrations: bool,
    /// More routes, served behind the same middleware (the tests mount probes this way).
    pub extra_routes: Option<Router<AppState>>,
    /// Run a background worker in the process with these job kinds (`None`: no worker, as
    /// with `serve --no-worker`).
    pub worker: Option<Registry>,
}

/// Applies the migrations, then — under the same lock — builds the search index if it was
/// never built or was built in another language than `EMPORIUM_SEARCH_LANGUAGE`. Returns
/// whether it did (cached search results are then stale).
pub async fn migrate(
    db: &sea_orm::DatabaseConnection,
    settings: &Settings,
) -> Result<bool, sea_orm::DbErr> {
    let rebuilt = std::sync::atomic::AtomicBool::new(false);
    db::migrate_then(db, || async {
        let done = crate::catalog::search::index::ensure(db, settings.search_language).await?;
        rebuilt.store(done, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    })
    .await?;
    Ok(rebuilt.load(std::sync::atomic::Ordering::Relaxed))
}

/// Connects the database (migrating unless `skip_migrations`), the mailer and the media store.
pub async fn build_state(
    settings: Settings,
    skip_migrations: bool,
) -> Result<AppState, StartupError> {
    let queries = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let db = db::connect_counted(
        &settings.database_url,
        settings.db_max_connections,
        settings.timeouts.db_acquire,
        queries.clone(),
    )
    .await?;
    let rebuilt = !skip_migrations && migrate(&db, &settings).await?;
    let mailer = Mailer::new(
        &settings.email_transport,
        &settings.email_from,
        settings.timeouts.outgoing,
    )
    .map_err(StartupError::Service)?;
    let storage =
        Storage::from_settings(&settings).map_err(|e| StartupError::Service(e.to_string()))?;
    let (throttle, rate_limits, cache, redis_link) = stores(&settings, &db).await?;
    let cache = cache.with_write_window(settings.cache_write_window);
    let replica = crate::replica::Replica::from_settings(&settings, redis_link).await?;
    if rebuilt {
        // Other nodes may have cached searches of the old index.
        let mut change = crate::cache::Change::new();
        change.scope(crate::catalog::products::LISTING_SCOPE);
        cache
            .commit(db::begin_write(&db).await?, change)
            .await
            .map_err(|e| StartupError::Service(format!("search index: {e}")))?;
    }
    let tokens = TokenKeys::new(
        settings.secret_key.expose(),
        settings.access_ttl,
        settings.refresh_ttl,
    );
    let hash_gate = Gate::new(settings.hash_concurrency, settings.hash_queue);
    let image_gate = Gate::new(settings.media.image_workers, settings.media.image_queue);
    let broker = settings.events_url.clone().map(|url| {
        let timeouts = settings.timeouts;
        let broker = crate::broker::Broker::new(url, timeouts.connect, timeouts.outgoing);
        Arc::new(broker.with_backlog(crate::events::publisher::backlog_reader()))
    });
    Ok(AppState::new(crate::state::Services {
        db,
        settings: Arc::new(settings),
        metrics: telemetry::metrics_handle(),
        mailer: Arc::new(mailer),
        storage,
        hash_gate,
        image_gate,
        tokens: Arc::new(tokens),
        throttle: Arc::new(throttle),
        rate_limits: Arc::new(rate_limits),
        cache: Arc::new(cache),
        queries,
        broker,
        replica,
    }))
}

/// The throttle, the rate limits' counters, the response cache and the Redis link they share,
/// when there is one.
async fn stores(
    settings: &Settings,
    db: &sea_orm::DatabaseConnection,
) -> Result<(Throttle, Throttle, ResponseCache, Option<RedisLink>), StartupError> {
    // One multiplexed Redis connection, behind a breaker (see `redis_link`), serves every
    // Redis user.
    let bytes = settings.cache_bytes;
    match &settings.redis_url {
        Some(url) => {
            let conn = RedisLink::connect(url.as_str(), settings.timeouts.redis)
                .await
                .map_err(|e| StartupError::Service(format!("REDIS_URL: {e}")))?;
            Ok((
                Throttle::redis(conn.clone(), &settings.redis_prefix),
                Throttle::redis(conn.clone(), &settings.redis_prefix),
                match settings.cache_mode {
                    CacheMode::Auto => {
                        ResponseCache::redis(conn.clone(), &settings.redis_prefix, bytes)
                    }
                    CacheMode::Local => ResponseCache::local(bytes),
                    CacheMode::Off => ResponseCache::off(),
                },
                Some(conn),
            ))
        }
        // Two in-process stores: a flood of rate-limit keys (one per client) must not evict
        // the login and reset counters.
        None => {
            let embedded = db.get_database_backend() == sea_orm::DbBackend::Sqlite;
            let cache = match settings.cache_mode {
                CacheMode::Auto if embedded => ResponseCache::local(bytes),
                CacheMode::Local => ResponseCache::local(bytes),
                CacheMode::Auto => {
                    tracing::warn!(
                        "no REDIS_URL on a network database: the response cache is off \
                         (several nodes may share this database; set EMPORIUM_CACHE=local \
                         if this is the only one)"
                    );
                    ResponseCache::off()
                }
                CacheMode::Off => ResponseCache::off(),
            };
            Ok((Throttle::local(), Throttle::local(), cache, None))
        }
    }
}

/// A bound, ready-to-serve application.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    worker: Option<Worker>,
}

impl Application {
    /// Connects, migrates and binds with the given settings.
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        Application::build_with(settings, BuildOptions::default()).await
    }

    /// Like [`Application::build`], with options.
    pub async fn build_with(
        settings: Settings,
        options: BuildOptions,
    ) -> Result<Application, StartupError> {
        let state = build_state(settings, options.skip_migrations).await?;
        let worker = options.worker.map(|registry| {
            Worker::new(
                state.clone(),
                registry,
                WorkerConfig::from_settings(&state.settings),
            )
        });
        let router = router(state.clone(), options.extra_routes);
        let addr = state.settings.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Bind { addr, source })?;
        Ok(Application {
            listener,
            router,
            state,
            worker,
        })
    }

    /// The bound address (the port is the real one when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.state.settings.listen)
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// The shared state (the tests reach the database through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves (and runs the in-process worker, if any) until `shutdown` completes; then stops
    /// accepting connections and lets requests and jobs in flight finish for at most
    /// `EMPORIUM_SHUTDOWN_TIMEOUT` (jobs still running after it are released to the queue).
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let grace = self.state.settings.shutdown_timeout;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: no new connections, finishing work in flight");
            let _ = stop.send(true);
        });
        let wait_for_stop = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        let worker = self
            .worker
            .map(|worker| tokio::spawn(worker.run(wait_for_stop(stopped.clone()))));
        let replica = self.state.replica.as_ref();
        let monitor = replica.map(|replica| replica.spawn_monitor(self.state.db.clone()));
        let server = axum::serve(
            self.listener,
            crate::http::front::Front::new(self.state.clone(), self.router)
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(wait_for_stop(stopped.clone()));
        let deadline = async move {
            wait_for_stop(stopped).await;
            tokio::time::sleep(grace).await;
        };
        let result = tokio::select! {
            result = server.into_future() => result,
            () = deadline => {
                tracing::warn!(?grace, "requests still in flight after the shutdown timeout; stopping anyway");
                Ok(())
            }
        };
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        if let Some(monitor) = monitor {
            monitor.abort();
        }
        result
    }
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static(middleware::REQUEST_ID),
            ])
            .expose_headers([
                HeaderName::from_static(middleware::REQUEST_ID),
                header::RETRY_AFTER,
                HeaderName::from_static("idempotent-replayed"),
            ])
            .max_age(Duration::from_secs(3600)),
    )
}

/// Every route of the application, in one place, behind the middleware stack.
pub fn router(state: AppState, extra_routes: Option<Router<AppState>>) -> Router {
    let mut routes = Router::new();
    routes = route(routes, "/health/", get(ops::health));
    routes = route(routes, "/ready/", get(ops::ready));
    routes = routes.route("/metrics", get(ops::metrics));
    routes = routes.route("/media/{*key}", get(crate::http::media::serve_media));
    // The docs page serves the canonical /api/schema/; the bare path is added beside it.
    let doc = crate::openapi::document(state.settings.currency);
    routes = routes.route("/api/schema", crate::openapi::schema_route(&doc));
    routes = routes.merge(SwaggerUi::new("/api/docs").url("/api/schema/", doc));
    routes = routes.merge(crate::accounts::router());
    routes = routes.merge(crate::jobs::routes::router());
    routes = routes.merge(crate::catalog::router());
    routes = routes.merge(crate::cart::router());
    routes = routes.merge(crate::coupons::router());
    routes = routes.merge(crate::shipping::router());
    routes = routes.merge(crate::tax::router());
    routes = routes.merge(crate::webhooks::router());
    routes = routes.merge(crate::orders::router());
    routes = routes.merge(crate::reviews::router());
    routes = routes.merge(crate::payments::router());
    routes = routes.merge(crate::dashboard::router(&state));
    if let Some(extra) = extra_routes {
        routes = routes.merge(extra);
    }
    // The API's body limit covers every route added so far; uploads bring their own.
    routes = routes.layer(RequestBodyLimitLayer::new(state.settings.max_body_size));
    routes = routes.merge(crate::catalog::upload_router());
    routes = routes.merge(crate::dashboard::upload_router(&state));

    let settings = state.settings.clone();
    let mut app: Router = routes
        .fallback(http::not_found)
        .with_state(state.clone())
        // Innermost first: each `layer` call wraps everything above it.
        // The state for route layers that cannot be given it (`idempotency::once`).
        .layer(axum::Extension(state.clone()))
        .layer(CatchPanicLayer::custom(middleware::panic_response));
    if let Some(cors) = cors_layer(&settings.cors_origins) {
        app = app.layer(cors);
    }
    // Outside CORS, so a preflight counts against the rate limit like any request.
    app.layer(axum::middleware::from_fn_with_state(
        state,
        middleware::edge,
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::jobs::Job;
    use crate::{accounts, cart, catalog, email, idempotency, jobs, orders, payments};

    /// Reads `payload` as `J` and writes it back: the same JSON, so a row queued by an earlier
    /// version (which wrote these shapes by hand) runs, and rows queued now read the same.
    fn round_trip<J: Job>(payload: Value) {
        let job: J = serde_json::from_value(payload.clone())
            .unwrap_or_else(|e| panic!("{} reads {payload}: {e}", J::KIND));
        assert_eq!(
            serde_json::to_value(&job).ok(),
            Some(payload),
            "{}",
            J::KIND
        );
    }

    #[test]
    fn every_kind_reads_the_payloads_earlier_versions_queued() {
        round_trip::<email::job::SendEmail>(json!({
            "to": "ada@example.com", "subject": "s", "text": "t", "html": "<p>t</p>",
        }));
        round_trip::<accounts::reset::PasswordReset>(json!({
            "email": "ada@example.com",
            "requested_at": "2026-12-01T10:00:00Z",
            "nonce": "00ff",
        }));
        round_trip::<orders::lifecycle::ExpireOrder>(json!({"order_id": "o-1"}));
        round_trip::<orders::invoice::MakeInvoice>(json!({"order_id": "o-1"}));
        round_trip::<orders::alerts::StockAlert>(json!({"product_ids": [3, 5]}));
        round_trip::<orders::alerts::StockAlert>(json!({"product_ids": [3], "variant_ids": [7]}));
        round_trip::<payments::refunds::RefundPayment>(json!({"payment_id": "p-1"}));
        round_trip::<payments::refunds::RefundCapture>(
            json!({"payment_id": "p-1", "captured_ref": "pay_2", "amount": 99_900}),
        );
        round_trip::<payments::verify::VerifyPayment>(json!({"payment_id": "p-1"}));
        round_trip::<jobs::queue::Cleanup>(json!({}));
        round_trip::<accounts::sessions::PurgeSessions>(json!({}));
        round_trip::<cart::purge::PurgeCarts>(json!({}));
        round_trip::<idempotency::PurgeKeys>(json!({}));
        round_trip::<catalog::products::image_sizes::MakeImageSizes>(json!({}));
        round_trip::<crate::events::prune::PruneEvents>(json!({}));
        round_trip::<crate::webhooks::prune::PruneDeliveries>(json!({}));
    }

    #[test]
    fn the_registry_knows_the_fifteen_kinds_by_their_stored_names() {
        let registry = super::job_registry();
        let mut kinds: Vec<&str> = registry.kinds();
        kinds.sort_unstable();
        assert_eq!(
            kinds,
            [
                "accounts.password_reset",
                "accounts.purge_sessions",
                "cart.purge",
                "catalog.image_sizes",
                "email.send",
                "events.prune",
                "idempotency.purge",
                "jobs.cleanup",
                "orders.expire",
                "orders.invoice",
                "orders.stock_alert",
                "payments.refund",
                "payments.refund_capture",
                "payments.verify",
                "webhooks.prune",
            ]
        );
        let mut periodic: Vec<&str> = registry.periodic().iter().map(|p| p.kind).collect();
        periodic.sort_unstable();
        assert_eq!(
            periodic,
            [
                "accounts.purge_sessions",
                "cart.purge",
                "catalog.image_sizes",
                "events.prune",
                "idempotency.purge",
                "jobs.cleanup",
                "webhooks.prune",
            ]
        );
    }
}
