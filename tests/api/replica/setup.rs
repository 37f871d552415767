//! The primary and replica a read-replica test runs against (started by `.ci/replica start`,
//! named by `EMPORIUM_TEST_PG_*` and `EMPORIUM_TEST_MARIADB_*`), a database of its own made on
//! the primary and seen on the replica, and the replica's replay held back.

use std::time::Duration;

use sea_orm::sqlx::{self, Connection as _, Executor as _};

use crate::helpers::{TestApp, TestDatabase, service, spawn};

/// The engine of the pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Postgres,
    MariaDb,
}

/// The pair's URLs: an account on the primary that may create `emporium_…` databases, the same
/// on the replica, and an account on the replica that may stop its replay.
pub struct Pair {
    kind: Kind,
    primary: String,
    replica: String,
    replica_admin: String,
}

impl Pair {
    /// The pair `.ci/replica start` printed for `kind`; a variable missing fails the test.
    pub fn of(kind: Kind) -> Pair {
        match kind {
            Kind::Postgres => Pair {
                kind,
                primary: service("EMPORIUM_TEST_PG_PRIMARY"),
                replica: service("EMPORIUM_TEST_PG_REPLICA"),
                replica_admin: service("EMPORIUM_TEST_PG_REPLICA"),
            },
            Kind::MariaDb => Pair {
                kind,
                primary: service("EMPORIUM_TEST_MARIADB_PRIMARY"),
                replica: service("EMPORIUM_TEST_MARIADB_REPLICA"),
                replica_admin: service("EMPORIUM_TEST_MARIADB_REPLICA_ADMIN"),
            },
        }
    }
}

/// `url` naming database `name` instead of its own.
fn named(url: &str, name: &str) -> String {
    let (server, _) = url.rsplit_once('/').expect("a URL with a database");
    format!("{server}/{name}")
}

/// One statement on a fresh connection to `url`.
async fn execute(kind: Kind, url: &str, sql: String) {
    match kind {
        Kind::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
            conn.execute(sqlx::AssertSqlSafe(sql))
                .await
                .expect("statement");
        }
        Kind::MariaDb => {
            let mut conn = sqlx::MySqlConnection::connect(url).await.expect("connect");
            conn.execute(sqlx::AssertSqlSafe(sql))
                .await
                .expect("statement");
        }
    }
}

/// One text answer of `sql` on a fresh connection to `url`.
async fn answer(kind: Kind, url: &str, sql: &str) -> Option<String> {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match kind {
        Kind::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
            sqlx::query_scalar(sql)
                .fetch_optional(&mut conn)
                .await
                .expect("query")
        }
        Kind::MariaDb => {
            let mut conn = sqlx::MySqlConnection::connect(url).await.expect("connect");
            sqlx::query_scalar(sql)
                .fetch_optional(&mut conn)
                .await
                .expect("query")
        }
    }
}

/// A database of the test's own on the primary, there on the replica too; dropped at the end.
pub struct ReplicatedDb {
    kind: Kind,
    admin: String,
    name: String,
    /// The application's `DATABASE_URL`.
    pub primary_url: String,
    /// The application's `DATABASE_REPLICA_URL`.
    pub replica_url: String,
}

impl ReplicatedDb {
    /// Creates the database on the primary and waits (30 s at most) until the replica has it.
    pub async fn create(pair: &Pair) -> ReplicatedDb {
        let name = format!("emporium_test_{}", uuid::Uuid::new_v4().simple());
        let (create, exists) = match pair.kind {
            Kind::Postgres => (
                format!("CREATE DATABASE \"{name}\""),
                format!("SELECT datname::text FROM pg_database WHERE datname = '{name}'"),
            ),
            Kind::MariaDb => (
                format!(
                    "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                ),
                format!(
                    "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'"
                ),
            ),
        };
        execute(pair.kind, &pair.primary, create).await;
        let db = ReplicatedDb {
            kind: pair.kind,
            admin: pair.primary.clone(),
            primary_url: named(&pair.primary, &name),
            replica_url: named(&pair.replica, &name),
            name,
        };
        for _ in 0..300 {
            if answer(pair.kind, &pair.replica, &exists).await.is_some() {
                return db;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the replica did not get database {} in 30s", db.name);
    }

    /// An application on this database with `DATABASE_REPLICA_URL` = `replica_url`, a maximum
    /// lag of 2 s, the test client trusted as a proxy, no worker, and `settings`.
    pub async fn app(&self, replica_url: &str, settings: &[(&'static str, &str)]) -> TestApp {
        let mut all = vec![
            ("DATABASE_REPLICA_URL", replica_url.to_owned()),
            ("EMPORIUM_REPLICA_MAX_LAG", "2s".to_owned()),
            ("EMPORIUM_TRUSTED_PROXIES", "127.0.0.1/32".to_owned()),
        ];
        all.extend(settings.iter().map(|(k, v)| (*k, (*v).to_owned())));
        spawn(crate::helpers::Spawn {
            settings: all,
            database: Some(TestDatabase::shared(&self.primary_url)),
            no_worker: true,
            ..Default::default()
        })
        .await
    }
}

impl Drop for ReplicatedDb {
    fn drop(&mut self) {
        let (kind, admin, name) = (self.kind, self.admin.clone(), self.name.clone());
        let sql = match kind {
            Kind::Postgres => format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            Kind::MariaDb => format!("DROP DATABASE IF EXISTS `{name}`"),
        };
        // Drop runs inside the test's runtime: the clean-up gets a thread and runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("clean-up runtime");
            runtime.block_on(execute(kind, &admin, sql));
        });
        let _ = cleanup.join();
    }
}

/// The replica's replay, held back until [`Paused::resume`] (or the end of the test, however
/// it ends: other tests share the replica).
pub struct Paused {
    kind: Kind,
    admin: String,
    resumed: bool,
}

impl Paused {
    /// Stops the replica replaying (PostgreSQL `pg_wal_replay_pause()`, MariaDB `STOP SLAVE
    /// SQL_THREAD`), and waits until it has.
    pub async fn start(pair: &Pair) -> Paused {
        let paused = Paused {
            kind: pair.kind,
            admin: pair.replica_admin.clone(),
            resumed: false,
        };
        match pair.kind {
            Kind::Postgres => {
                execute(
                    pair.kind,
                    &paused.admin,
                    "SELECT pg_wal_replay_pause()".into(),
                )
                .await;
                let state = "SELECT pg_get_wal_replay_pause_state()::text";
                for _ in 0..100 {
                    if answer(pair.kind, &paused.admin, state).await.as_deref() == Some("paused") {
                        return paused;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                panic!("the PostgreSQL replica did not pause");
            }
            Kind::MariaDb => {
                execute(pair.kind, &paused.admin, "STOP SLAVE SQL_THREAD".into()).await;
                paused
            }
        }
    }

    fn resume_sql(&self) -> String {
        match self.kind {
            Kind::Postgres => "SELECT pg_wal_replay_resume()".into(),
            Kind::MariaDb => "START SLAVE SQL_THREAD".into(),
        }
    }

    /// Lets the replica replay again.
    pub async fn resume(mut self) {
        execute(self.kind, &self.admin, self.resume_sql()).await;
        self.resumed = true;
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        if self.resumed {
            return;
        }
        let (kind, admin, sql) = (self.kind, self.admin.clone(), self.resume_sql());
        let resume = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("resume runtime");
            runtime.block_on(execute(kind, &admin, sql));
        });
        let _ = resume.join();
    }
}
