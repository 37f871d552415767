//! The database area: `DATABASE_URL` and the pool size.

use super::read::{positive_integer, value};
use super::values::SecretUrl;
use super::{SettingsError, Source, invalid};

/// Where the database is and how many connections the pool holds.
pub(super) struct Database {
    /// `DATABASE_URL`.
    pub(super) url: SecretUrl,
    /// `EMPORIUM_DB_MAX_CONNECTIONS`.
    pub(super) max_connections: u32,
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
        Ok(Database {
            url: database_url,
            max_connections: db_max_connections,
        })
    }
}
