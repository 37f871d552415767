//! The database each test gets, and a proxy in front of a database server that can cut it off.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sea_orm::sqlx::{self, Connection as _, Executor as _};
use tempfile::TempDir;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

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
