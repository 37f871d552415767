//! The test harness: a fresh database per test and the real application on a random port.
//!
//! By default each test gets a temporary SQLite file. With `EMPORIUM_TEST_DATABASE` set to a
//! `postgres://…` or `mysql://…` URL (an account allowed to create databases), each test gets a
//! database of its own on that server, dropped when the test ends.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use emporium::jobs::Registry;
use emporium::settings::Settings;
use emporium::startup::{Application, BuildOptions};
use emporium::state::AppState;
use sea_orm::sqlx::{self, Connection as _, Executor as _};
use tempfile::TempDir;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

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

/// One answer of a [`burst`].
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: serde_json::Value,
}

/// Sends `count` requests at once (`make(n)` builds the n-th) and returns every answer.
pub async fn burst(count: usize, make: impl Fn(usize) -> reqwest::RequestBuilder) -> Vec<Answer> {
    let requests: Vec<_> = (0..count)
        .map(|n| {
            let request = make(n);
            tokio::spawn(async move {
                let response = request.send().await.expect("answered");
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().expect("ascii").to_owned());
                let text = response.text().await.expect("body");
                let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
                Answer {
                    status,
                    retry_after,
                    body,
                }
            })
        })
        .collect();
    let mut answers = Vec::new();
    for request in requests {
        answers.push(request.await.expect("task"));
    }
    answers
}

/// How many of `answers` have `status`.
pub fn count(answers: &[Answer], status: u16) -> usize {
    answers.iter().filter(|a| a.status == status).count()
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

/// Which engine the suite runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
    MySql,
}

/// The engine chosen by `EMPORIUM_TEST_DATABASE`.
pub fn engine() -> Engine {
    match std::env::var("EMPORIUM_TEST_DATABASE").unwrap_or_default() {
        url if url.starts_with("postgres") => Engine::Postgres,
        url if url.starts_with("mysql") || url.starts_with("mariadb") => Engine::MySql,
        _ => Engine::Sqlite,
    }
}

/// `url` with its database name replaced by `name` (query string kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// A database that exists for one test.
pub struct TestDatabase {
    /// The URL the application connects to.
    pub url: String,
    engine: Engine,
    admin_url: Option<String>,
    name: String,
    _dir: TempDir,
}

impl TestDatabase {
    /// Creates an empty database on the configured engine.
    pub async fn create() -> TestDatabase {
        let dir = tempfile::tempdir().expect("temporary directory");
        let name = format!("emporium_test_{}", uuid::Uuid::new_v4().simple());
        let admin_url = std::env::var("EMPORIUM_TEST_DATABASE")
            .ok()
            .filter(|u| !u.is_empty());
        let engine = engine();
        let url = match engine {
            Engine::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()),
            Engine::Postgres => {
                let admin = admin_url.as_deref().expect("admin URL");
                let mut conn = sqlx::PgConnection::connect(admin)
                    .await
                    .expect("connect to EMPORIUM_TEST_DATABASE");
                conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .await
                    .expect("create test database");
                with_database(admin, &name)
            }
            Engine::MySql => {
                let admin =
                    admin_url
                        .as_deref()
                        .expect("admin URL")
                        .replacen("mariadb://", "mysql://", 1);
                let mut conn = sqlx::MySqlConnection::connect(&admin)
                    .await
                    .expect("connect to EMPORIUM_TEST_DATABASE");
                conn.execute(sqlx::AssertSqlSafe(format!(
                    "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )))
                .await
                .expect("create test database");
                with_database(&admin, &name)
            }
        };
        TestDatabase {
            url,
            engine,
            admin_url,
            name,
            _dir: dir,
        }
    }
}

impl TestDatabase {
    /// Another handle on an existing test database (a second node); it drops nothing.
    pub fn shared(url: &str) -> TestDatabase {
        TestDatabase {
            url: url.to_owned(),
            engine: engine(),
            admin_url: None,
            name: String::new(),
            _dir: tempfile::tempdir().expect("temporary directory"),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(admin) = self.admin_url.clone() else {
            return;
        };
        let (engine, name) = (self.engine, self.name.clone());
        // Drop runs inside the test's runtime: do the async clean-up on a thread of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("clean-up runtime");
            runtime.block_on(async move {
                match engine {
                    Engine::Postgres => {
                        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                            let _ = conn.execute(sqlx::AssertSqlSafe(sql)).await;
                        }
                    }
                    Engine::MySql => {
                        let admin = admin.replacen("mariadb://", "mysql://", 1);
                        if let Ok(mut conn) = sqlx::MySqlConnection::connect(&admin).await {
                            // The test's runtime is blocked in this drop, so its pools cannot
                            // finish an open transaction: end their sessions first, as
                            // PostgreSQL's WITH (FORCE) does.
                            let sessions: Vec<i64> = sqlx::query_scalar(
                                "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST WHERE DB = ?",
                            )
                            .bind(&name)
                            .fetch_all(&mut conn)
                            .await
                            .expect("list the test database's sessions");
                            for id in sessions {
                                let _ = conn.execute(sqlx::AssertSqlSafe(format!("KILL {id}"))).await;
                            }
                            let sql = format!("DROP DATABASE IF EXISTS `{name}`");
                            let _ = conn.execute(sqlx::AssertSqlSafe(sql)).await;
                        }
                    }
                    Engine::Sqlite => {}
                }
            });
        });
        let _ = cleanup.join();
    }
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

    /// An absolute URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// POST `body` as JSON to `path`.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// POST raw bytes with a content type.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request sent")
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
    /// Sends `method path` with an optional bearer token and JSON body; returns the status and
    /// the JSON body (`null` for an empty one).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
        };
        (status, body)
    }

    /// Logs in and returns the access token.
    pub async fn access_token(&self, email: &str, password: &str) -> String {
        let body = serde_json::json!({"email": email, "password": password});
        let (status, tokens) = json(self.post_json("/api/auth/login/", &body).await).await;
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
        let response = self.post_json("/api/auth/register/", &body).await;
        assert_eq!(response.status(), 201);
        self.access_token(&email, PASSWORD).await
    }
}

/// Reads a response as JSON, with the status.
pub async fn json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("response is not JSON ({e}): {text:?}"));
    (status, value)
}

/// A TCP forwarder in front of a database server that can be switched off and on, to simulate
/// an outage without touching the real server.
pub struct FlakyProxy {
    /// Where to connect instead of the real server.
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    generation: Arc<tokio::sync::watch::Sender<u64>>,
    _task: JoinHandle<()>,
}

impl FlakyProxy {
    /// Starts forwarding to `target`.
    pub async fn start(target: SocketAddr) -> FlakyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = tokio::sync::watch::channel(0_u64);
        let generation = Arc::new(generation);
        let (task_up, task_generation) = (up.clone(), generation.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !task_up.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let mut cut = task_generation.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        FlakyProxy {
            addr,
            up,
            generation,
            _task: task,
        }
    }

    /// Cuts every open connection and refuses new ones.
    pub fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Accepts connections again.
    pub fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// `host:port` of a database URL.
pub fn server_addr(url: &str) -> SocketAddr {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else if url.starts_with("postgres") {
        format!("{host_port}:5432")
    } else {
        format!("{host_port}:3306")
    };
    let host_port = host_port.replace("localhost", "127.0.0.1");
    host_port.parse().expect("database address")
}

/// `url` pointing at `addr` instead of its own host and port.
pub fn via(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").expect("URL has a scheme");
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let credentials = authority
        .rsplit_once('@')
        .map(|(c, _)| format!("{c}@"))
        .unwrap_or_default();
    format!("{scheme}://{credentials}{addr}/{path}")
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

/// Sends raw bytes over a fresh connection and reads the response (status, JSON body), for
/// requests a well-behaved client library would not send.
pub async fn raw_request(addr: SocketAddr, request: &[u8]) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // The server may answer and close before it has read everything: ignore write errors.
    let _ = stream.write_all(request).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let (head, body) = text.split_once("\r\n\r\n").expect("headers end");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    let value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"));
    (status, value)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}
