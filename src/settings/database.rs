//! The database area: `DATABASE_URL`, the pool size, and the read replica
//! (`DATABASE_REPLICA_URL`, `EMPORIUM_REPLICA_MAX_LAG`).

use std::time::Duration;

use super::read::{duration, positive_integer, value};
use super::values::SecretUrl;
use super::{SettingsError, Source, invalid};

/// Where the database is and how many connections the pool holds.
pub(super) struct Database {
    /// `DATABASE_URL`.
    pub(super) url: SecretUrl,
    /// `EMPORIUM_DB_MAX_CONNECTIONS`.
    pub(super) max_connections: u32,
    /// `DATABASE_REPLICA_URL` and `EMPORIUM_REPLICA_MAX_LAG`.
    pub(super) replica: Option<ReplicaSettings>,
}

/// A read replica of the primary: where it is and how far behind it may be and still serve.
#[derive(Clone, Debug)]
pub struct ReplicaSettings {
    /// `DATABASE_REPLICA_URL`: a `postgres://…` or `mysql://…` URL of the same engine as
    /// `DATABASE_URL`.
    pub url: SecretUrl,
    /// `EMPORIUM_REPLICA_MAX_LAG`: a replica further behind than this is bypassed (default 5s).
    pub max_lag: Duration,
}

/// The engine a URL names, as far as replicas care.
fn engine(url: &str) -> Option<&'static str> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some("PostgreSQL")
    } else if url.starts_with("mysql://") || url.starts_with("mariadb://") {
        Some("MySQL/MariaDB")
    } else {
        None
    }
}

/// Reads the replica's settings: none without `DATABASE_REPLICA_URL`; refused on SQLite, or
/// when the two URLs name different engines.
fn replica(source: &dyn Source, primary: &str) -> Result<Option<ReplicaSettings>, SettingsError> {
    let max_lag = duration(source, "EMPORIUM_REPLICA_MAX_LAG", Duration::from_secs(5))?;
    let Some(url) = value(source, "DATABASE_REPLICA_URL")?.map(SecretUrl::new) else {
        return Ok(None);
    };
    let Some(primary_engine) = engine(primary) else {
        return Err(invalid(
            "DATABASE_REPLICA_URL",
            "SQLite has no replicas: unset it, or use PostgreSQL or MySQL/MariaDB",
        ));
    };
    match engine(&url) {
        Some(replica_engine) if replica_engine == primary_engine => {}
        _ => {
            return Err(invalid(
                "DATABASE_REPLICA_URL",
                format!("must be a {primary_engine} URL, as DATABASE_URL is"),
            ));
        }
    }
    Ok(Some(ReplicaSettings { url, max_lag }))
}

impl Database {
    /// Reads `DATABASE_URL` (default a SQLite file) and `EMPORIUM_DB_MAX_CONNECTIONS` (default
    /// 10; an in-memory SQLite database needs exactly 1).
    pub(super) fn read(source: &dyn Source) -> Result<Database, SettingsError> {
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
        let replica = replica(source, &database_url)?;
        Ok(Database {
            url: database_url,
            max_connections: db_max_connections,
            replica,
        })
    }
}
