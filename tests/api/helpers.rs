//! The test harness: a fresh database per test and the real application on a random port.
//!
//! By default each test gets a temporary SQLite file. With `EMPORIUM_TEST_DATABASE` set to a
//! `postgres://…` or `mysql://…` URL (an account allowed to create databases), each test gets a
//! database of its own on that server, dropped when the test ends.

mod database;
mod private;
pub mod receiver;
mod requests;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use emporium::jobs::Registry;
use emporium::settings::Settings;
use emporium::startup::{Application, BuildOptions};
use emporium::state::AppState;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use database::{Engine, FlakyProxy, TestDatabase, engine, server_addr, via};
pub use private::{PrivatePostgres, PrivateRedis, SilentServer, free_port};
pub use requests::{Answer, burst, count, json, raw_request};

/// The value of a service variable, for a test that needs that service. Such tests are
/// `#[ignore]`d, so a plain `cargo test` reports them as ignored (skipped); `cargo test --
/// --include-ignored` asks for every service, and then a variable that is not set fails the
/// test here — as a service that does not answer fails it when it is used.
pub fn service(name: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| {
            panic!("this test needs {name}: set it, or run without --include-ignored")
        })
}

/// Settings for nodes that share the test Redis under a key prefix of their own (call once and
/// give the same settings to every node that should share), plus `extra`.
pub fn shared_redis(extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut settings = vec![
        ("REDIS_URL", service("EMPORIUM_TEST_REDIS")),
        (
            "EMPORIUM_REDIS_PREFIX",
            format!("test-{}:", uuid::Uuid::new_v4().simple()),
        ),
    ];
    settings.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    settings
}

/// Settings for a test: random port, fixed secret, the given database, plus overrides.
pub fn test_settings(
    database_url: &str,
    overrides: &[(&'static str, &str)],
    dir: &std::path::Path,
) -> Settings {
    let mut vars: HashMap<&'static str, String> = HashMap::new();
    vars.insert("DATABASE_URL", database_url.to_owned());
    vars.insert("EMPORIUM_LISTEN", "127.0.0.1:0".to_owned());
    vars.insert(
        "EMPORIUM_SECRET_KEY",
        "test-secret-key-that-is-long-enough-0123456789".to_owned(),
    );
    vars.insert("EMPORIUM_DB_MAX_CONNECTIONS", "5".to_owned());
    vars.insert("EMPORIUM_JOB_POLL_INTERVAL", "50ms".to_owned());
    vars.insert(
        "EMPORIUM_MEDIA_ROOT",
        dir.join("media").display().to_string(),
    );
    // One node unless a test shares Redis: the in-process cache on every engine.
    if !overrides.iter().any(|(name, _)| *name == "REDIS_URL") {
        vars.insert("EMPORIUM_CACHE", "local".to_owned());
    }
    for (name, value) in overrides {
        vars.insert(name, (*value).to_owned());
    }
    Settings::from_source(&vars, dir).expect("test settings are valid")
}

/// A running application and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// The bound address.
    pub addr: SocketAddr,
    /// A client without redirects.
    pub client: reqwest::Client,
    /// The application's state (database, settings).
    pub state: AppState,
    /// Sends the shutdown signal.
    shutdown: Option<oneshot::Sender<()>>,
    /// The server task; resolves when the server has stopped.
    pub server: Option<JoinHandle<std::io::Result<()>>>,
    _db: TestDatabase,
    _dir: TempDir,
}

/// How to build a [`TestApp`].
#[derive(Default)]
pub struct Spawn {
    /// Environment overrides.
    pub settings: Vec<(&'static str, String)>,
    /// Extra routes behind the real middleware.
    pub routes: Option<Router<AppState>>,
    /// Use this database instead of a fresh one.
    pub database: Option<TestDatabase>,
    /// The in-process worker's job kinds (the application's own when `None`).
    pub registry: Option<Registry>,
    /// Run no in-process worker.
    pub no_worker: bool,
}

/// Spawn options with these settings and nothing else.
pub fn with(settings: &[(&'static str, &str)]) -> Spawn {
    Spawn {
        settings: settings
            .iter()
            .map(|(k, v)| (*k, (*v).to_owned()))
            .collect(),
        ..Spawn::default()
    }
}

/// Starts the application on a fresh database with the default settings.
pub async fn spawn_app() -> TestApp {
    spawn(Spawn::default()).await
}

/// Starts the application with options.
pub async fn spawn(options: Spawn) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug")
            .try_init();
    }
    let db = match options.database {
        Some(db) => db,
        None => TestDatabase::create().await,
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let overrides: Vec<(&'static str, &str)> = options
        .settings
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let settings = test_settings(&db.url, &overrides, dir.path());
    let app = Application::build_with(
        settings,
        BuildOptions {
            skip_migrations: false,
            extra_routes: options.routes,
            worker: if options.no_worker {
                None
            } else {
                Some(
                    options
                        .registry
                        .unwrap_or_else(emporium::startup::job_registry),
                )
            },
        },
    )
    .await
    .expect("application builds");
    let addr = app.local_addr();
    let state = app.state().clone();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    TestApp {
        address: format!("http://{addr}"),
        addr,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        state,
        shutdown: Some(tx),
        server: Some(server),
        _db: db,
        _dir: dir,
    }
}

impl TestApp {
    /// The database URL the application uses.
    pub fn db_url(&self) -> &str {
        &self._db.url
    }

    /// Sends the shutdown signal (SIGTERM's effect) and returns the server task.
    pub fn stop(&mut self) -> JoinHandle<std::io::Result<()>> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.server.take().expect("server still running")
    }
}

/// The password of the accounts tests make.
pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// Logs in and returns the access token.
    pub async fn access_token(&self, email: &str, password: &str) -> String {
        let body = serde_json::json!({"email": email, "password": password});
        let (status, tokens) = self.post("/api/auth/login/", None, body).await;
        assert_eq!(status, 200, "login of {email}: {tokens}");
        tokens["access"].as_str().expect("access token").to_owned()
    }

    /// An access token for a new staff account (made as `createsuperuser` does).
    pub async fn staff_token(&self) -> String {
        let email = format!("staff-{}@shop.example", uuid::Uuid::new_v4().simple());
        emporium::accounts::service::create_superuser(
            &self.state.db,
            &self.state.hash_gate,
            &email,
            PASSWORD,
        )
        .await
        .expect("staff account");
        self.access_token(&email, PASSWORD).await
    }

    /// An access token for a newly registered customer.
    pub async fn customer_token(&self) -> String {
        let email = format!("customer-{}@example.com", uuid::Uuid::new_v4().simple());
        let body = serde_json::json!({"email": email, "password": PASSWORD});
        let (status, _) = self.post("/api/auth/register/", None, body).await;
        assert_eq!(status, 201);
        self.access_token(&email, PASSWORD).await
    }
}

/// Waits until `check` holds, polling, for at most `limit`.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs a stored job's `payload` as `J`, as a worker would (the payload read as the job's type,
/// then its handler).
pub async fn run_job<J: emporium::jobs::Job>(
    ctx: emporium::jobs::JobContext,
    payload: serde_json::Value,
) -> Result<(), emporium::jobs::JobError> {
    serde_json::from_value::<J>(payload)
        .expect("the payload reads as its job")
        .run(ctx)
        .await
}
