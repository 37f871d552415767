//! The database: one connection pool for SQLite, PostgreSQL or MySQL/MariaDB, picked at run time
//! from `DATABASE_URL`, the migrations, and the transaction helper every service uses.
//!
//! SQLite is tuned for concurrent requests: WAL, `synchronous=NORMAL`, foreign keys on, a busy
//! timeout, and write transactions started with `BEGIN IMMEDIATE` so that a request that reads
//! then writes waits for the write lock up front instead of failing with "database is locked".

pub mod migrations;
pub mod replica;
pub mod sql;
pub mod tally;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::sqlx::{self, Connection as _, Executor as _};
use sea_orm::{
    AccessMode, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, IsolationLevel,
    SqliteTransactionMode, SqlxMySqlConnector, SqlxPostgresConnector, SqlxSqliteConnector,
    TransactionOptions, TransactionTrait,
};
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, QuerySelect, Select};
use sea_orm_migration::MigratorTrait;

pub use migrations::Migrator;

/// How long a transaction waits for an exclusive lock ([`begin_exclusive`]) before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(10);
/// How long a request waits for a pooled connection before it is answered 503.
/// How long a PostgreSQL or MariaDB connection is waited for unless the caller says
/// (`EMPORIUM_DB_ACQUIRE_TIMEOUT`'s default).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long SQLite waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// Opens a pool for `url` with the per-engine settings described in the module docs.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    connect_counted(url, max_connections, ACQUIRE_TIMEOUT, Arc::default()).await
}

/// Like [`connect`], counting every statement in `queries` and in the `db_queries_total`
/// metric.
pub async fn connect_counted(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
    queries: Arc<AtomicU64>,
) -> Result<DatabaseConnection, DbErr> {
    let mut conn = open(url, max_connections, acquire_timeout, false).await?;
    conn.set_metric_callback(move |_info| {
        queries.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("db_queries_total").increment(1);
    });
    Ok(conn)
}

/// A PostgreSQL or MySQL pool that opens its connections when first used (a replica that is
/// down at start must not stop the process).
pub async fn connect_lazy(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> Result<DatabaseConnection, DbErr> {
    open(url, max_connections, acquire_timeout, true).await
}

async fn open(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
    lazy: bool,
) -> Result<DatabaseConnection, DbErr> {
    let url = url.replacen("mariadb://", "mysql://", 1);
    let conn_err = |e: sqlx::Error| DbErr::Conn(sea_orm::RuntimeErr::Internal(e.to_string()));
    if url.starts_with("sqlite:") {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
            .map_err(conn_err)?
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT);
        let in_memory = url.contains(":memory:");
        let mut pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(SQLITE_BUSY_TIMEOUT + acquire_timeout);
        if in_memory {
            // Every connection to `:memory:` is a database of its own: keep the one forever.
            pool = pool
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let pool = pool.connect_with(options).await.map_err(conn_err)?;
        Ok(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
    } else if url.starts_with("postgres") {
        let options = sqlx::postgres::PgConnectOptions::from_str(&url)
            .map_err(conn_err)?
            .application_name("emporium");
        // Read committed whatever the server's default (as on MySQL below): values cached from
        // a transaction's reads (see `cache::values`) must see what committed before each
        // statement.
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute(
                        "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
                    )
                    .await?;
                    Ok(())
                })
            });
        let pool = if lazy {
            pool.connect_lazy_with(options)
        } else {
            pool.connect_with(options).await.map_err(conn_err)?
        };
        Ok(SqlxPostgresConnector::from_sqlx_postgres_pool(pool))
    } else if url.starts_with("mysql://") {
        let options = sqlx::mysql::MySqlConnectOptions::from_str(&url)
            .map_err(conn_err)?
            .charset("utf8mb4")
            .timezone(Some("+00:00".to_owned()));
        // Read committed, as PostgreSQL: a statement sees what committed before it started,
        // and a search locks the rows it finds, not the gaps between them (see
        // [`begin_write_committed`]).
        let pool = sqlx::mysql::MySqlPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                        .await?;
                    Ok(())
                })
            });
        let pool = if lazy {
            pool.connect_lazy_with(options)
        } else {
            pool.connect_with(options).await.map_err(conn_err)?
        };
        Ok(SqlxMySqlConnector::from_sqlx_mysql_pool(pool))
    } else {
        Err(DbErr::Conn(sea_orm::RuntimeErr::Internal(
            "DATABASE_URL must start with sqlite:, postgres:// or mysql://".to_owned(),
        )))
    }
}

/// One page of a filtered query: the total count (counted without ordering) and the rows at
/// `offset`, ordered by `order`. Every paginated list goes through here.
pub async fn page<E, C>(
    conn: &C,
    filtered: Select<E>,
    order: impl FnOnce(Select<E>) -> Select<E>,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<E::Model>), DbErr>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    let count = filtered.clone().count(conn).await?;
    let rows = order(filtered)
        .offset(offset)
        .limit(limit)
        .all(conn)
        .await?;
    Ok((count, rows))
}

/// Escapes `%`, `_` and `\` so they match themselves in `LIKE … ESCAPE '\'`.
pub fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A timestamp a user chose (any date up to 9999) as a query parameter. MySQL's driver sends a
/// `DateTime<Utc>` as a `TIMESTAMP`, which MariaDB stores as NULL past 2038-01-19 even in a
/// `DATETIME` column; a naive `DATETIME` parameter in UTC keeps every date. Other engines take
/// the zoned value.
pub fn timestamp_value(
    backend: DbBackend,
    at: Option<chrono::DateTime<chrono::Utc>>,
) -> sea_orm::Value {
    match backend {
        DbBackend::MySql => sea_orm::Value::ChronoDateTime(at.map(|at| at.naive_utc())),
        _ => sea_orm::Value::ChronoDateTimeUtc(at),
    }
}

/// For `PATCH`: sets an active-model field only when the request gave a value.
pub fn set_given<T>(field: &mut sea_orm::ActiveValue<T>, value: Option<T>)
where
    T: Into<sea_orm::Value>,
{
    if let Some(value) = value {
        *field = sea_orm::ActiveValue::Set(value);
    }
}

/// Starts a transaction that will write. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`), so two requests that both read then write serialise instead of one of
/// them failing; on PostgreSQL and MySQL it is an ordinary transaction.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let options = TransactionOptions {
        isolation_level: None::<IsolationLevel>,
        access_mode: None::<AccessMode>,
        sqlite_transaction_mode: (db.get_database_backend() == DbBackend::Sqlite)
            .then_some(SqliteTransactionMode::Immediate),
    };
    db.begin_with_options(options).await
}

/// [`begin_write`], named where reading committed data matters. Every MySQL/MariaDB connection
/// reads committed data as each statement starts (set when it connects), as PostgreSQL does by
/// default. Two kinds of write rely on it: one that locks a parent row (a product) and then
/// reads and writes its children (its variants) by a range of an index — under MySQL's
/// repeatable read that read would lock the index's gaps, and two such writes inserting
/// children of neighbouring parents would deadlock — and one that reads, under a resource's
/// row lock, what an earlier holder of the lock committed (an event's sequence), which a
/// repeatable-read snapshot taken before the lock was granted would not show.
pub async fn begin_write_committed(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    begin_write(db).await
}

/// Starts a write transaction that holds the lock called `name` until it ends: of all the
/// transactions that take the same lock, one runs at a time — on every engine. Use it for a rule
/// that reads and then writes across rows no single constraint covers (one default address per
/// user; no cycle in the category tree).
///
/// SQLite: `BEGIN IMMEDIATE` already admits one writer at a time. PostgreSQL: a
/// transaction-scoped advisory lock on a 64-bit hash of the name. MySQL/MariaDB: `FOR UPDATE` on
/// the name's row in `emporium_locks` (the row is created once, outside the transaction, so two
/// first takers cannot deadlock on its insert).
pub async fn begin_exclusive(
    db: &DatabaseConnection,
    name: &str,
) -> Result<DatabaseTransaction, DbErr> {
    let backend = db.get_database_backend();
    if name.len() > 191 {
        return Err(DbErr::Custom(format!(
            "lock name longer than 191 bytes: {name:?}"
        )));
    }
    if backend == DbBackend::MySql {
        db.execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            "INSERT IGNORE INTO emporium_locks (name) VALUES (?)",
            [name.into()],
        ))
        .await?;
    }
    let tx = begin_write(db).await?;
    match backend {
        DbBackend::Postgres => {
            // A waiter gives up after LOCK_WAIT (answered 503) instead of holding its pooled
            // connection for as long as the holder takes.
            tx.execute_unprepared(&format!(
                "SET LOCAL lock_timeout = '{}ms'",
                LOCK_WAIT.as_millis()
            ))
            .await?;
            tx.execute_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                "SELECT pg_advisory_xact_lock($1)",
                [lock_key(name).into()],
            ))
            .await?;
        }
        DbBackend::MySql => {
            // The row must be there: `FOR UPDATE` on a missing row takes only a gap lock, which
            // two transactions can hold at once.
            let locked = tx
                .query_one_raw(sea_orm::Statement::from_sql_and_values(
                    backend,
                    "SELECT name FROM emporium_locks WHERE name = ? FOR UPDATE",
                    [name.into()],
                ))
                .await?;
            if locked.is_none() {
                return Err(DbErr::Custom(format!("lock row {name:?} is missing")));
            }
        }
        _ => {}
    }
    Ok(tx)
}

/// A stable 64-bit key for an advisory lock name.
fn lock_key(name: &str) -> i64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(name.as_bytes());
    let mut bytes = [0_u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// True when `error` is a unique-constraint violation: the database, not a pre-check, decided
/// that a value is taken.
pub fn is_unique_violation(error: &DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// A lock wait that timed out or a deadlock the database broke: the work can simply be tried
/// again (PostgreSQL 55P03 and 40P01, MySQL 1205 and 1213, SQLite busy).
pub fn is_contention(error: &DbErr) -> bool {
    let text = error.to_string();
    [
        "55P03",
        "40P01",
        "1205 (HY000)",
        "1213 (40001)",
        "database is locked",
    ]
    .iter()
    .any(|code| text.contains(code))
        || text.contains("lock timeout")
        || text.contains("deadlock detected")
        || text.contains("Deadlock found")
        || text.contains("Lock wait timeout")
}

/// True when `error` says the database is not there: it is down, restarting, or dropped the
/// connection mid-statement (PostgreSQL's `57P01`–`57P03` and `08…` classes, MySQL's "server
/// has gone away" and "lost connection", an I/O error, a pool that gave no connection in
/// time). The request answers `503` with `Retry-After`; nothing it did was committed.
pub fn is_unavailable(error: &DbErr) -> bool {
    if matches!(error, DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) {
        return true;
    }
    let text = error.to_string();
    [
        "57P01",
        "57P02",
        "57P03",
        "08000",
        "08001",
        "08003",
        "08004",
        "08006",
        "2006 (HY000)",
        "2013 (HY000)",
        "1053 (08S01)",
        "error communicating with database",
        "connection closed",
        "Connection refused",
        "Connection reset",
        "Broken pipe",
        "pool timed out",
        "unexpected end of file",
    ]
    .iter()
    .any(|sign| text.contains(sign))
}

/// True when `error` is a foreign-key violation: a row it points at was deleted by a parallel
/// request after it was read.
pub fn is_foreign_key_violation(error: &DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))
    )
}

/// Applies every pending migration. Safe to run again (applied ones are skipped) and from
/// several processes at once: PostgreSQL and MySQL hold a named lock for the duration, SQLite
/// takes its write lock, so the second process waits and then finds nothing left to do.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    migrate_then(db, || async { Ok(()) }).await
}

/// [`migrate`], then `after` while the migration lock is still held: work that must follow the
/// schema and run in one process at a time (an app's index built from its rows).
pub async fn migrate_then<F, Fut>(db: &DatabaseConnection, after: F) -> Result<(), DbErr>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), DbErr>>,
{
    const LOCK_KEY: i64 = 0x656d_706f_7269; // "empori"
    let up = || async {
        Migrator::up(db, None).await?;
        after().await
    };
    let exec_err = |e: sqlx::Error| DbErr::Custom(format!("migration lock: {e}"));
    match db.get_database_backend() {
        DbBackend::Postgres => {
            // A connection of its own, outside the pool, so a pool of one can still migrate.
            let options = db.get_postgres_connection_pool().connect_options();
            let mut conn = sqlx::PgConnection::connect_with(&options)
                .await
                .map_err(exec_err)?;
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(LOCK_KEY)
                .execute(&mut conn)
                .await
                .map_err(exec_err)?;
            let result = up().await;
            let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(LOCK_KEY)
                .execute(&mut conn)
                .await;
            let _ = conn.close().await;
            result?;
            unlocked.map_err(exec_err)?;
            Ok(())
        }
        DbBackend::MySql => {
            let options = db.get_mysql_connection_pool().connect_options();
            let mut conn = sqlx::MySqlConnection::connect_with(&options)
                .await
                .map_err(exec_err)?;
            let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK('emporium_migrate', 300)")
                .fetch_one(&mut conn)
                .await
                .map_err(exec_err)?;
            if got != Some(1) {
                return Err(DbErr::Custom(
                    "migration lock: another process held it for 5 minutes".to_owned(),
                ));
            }
            let result = up().await;
            let unlocked = conn.execute("DO RELEASE_LOCK('emporium_migrate')").await;
            let _ = conn.close().await;
            result?;
            unlocked.map_err(exec_err)?;
            Ok(())
        }
        DbBackend::Sqlite => {
            // SQLite has no named locks: an exclusive lock on a file beside the database gates
            // the migrator across processes on this host (SQLite is single-host anyway).
            let options = db.get_sqlite_connection_pool().connect_options();
            let file = options.get_filename();
            if file.as_os_str().is_empty() || file.to_string_lossy().contains(":memory:") {
                return up().await;
            }
            let mut lock_path = file.as_os_str().to_owned();
            lock_path.push(".migrate-lock");
            let lock = tokio::task::spawn_blocking(move || {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&lock_path)?;
                file.lock()?;
                Ok::<_, std::io::Error>(file)
            })
            .await
            .map_err(|e| DbErr::Custom(format!("migration lock: {e}")))?
            .map_err(|e| DbErr::Custom(format!("migration lock: {e}")))?;
            let result = up().await;
            drop(lock);
            result
        }
        _ => up().await,
    }
}
