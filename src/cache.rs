//! The catalog cache: rendered JSON of product lists, product details and categories, stored
//! in process (default) or in Redis (`REDIS_URL`), keyed by the catalog version.
//!
//! Every catalog write bumps the version inside its own transaction (the `catalog_version`
//! row), and, with Redis, in Redis right after the commit; readers build keys from the current
//! version, so nothing cached before a write can be served after it returns, on any node.
//! Without Redis the version is read from the database (one primary-key read per cached
//! request, shared by every node); with Redis it is read from Redis and a hit asks the
//! database nothing.

use std::time::Duration;

use bytes::Bytes;
use redis::aio::ConnectionManager;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};

/// How long a cached response lives at most.
pub const TTL: Duration = Duration::from_secs(300);

enum Store {
    Local(moka::future::Cache<String, Bytes>),
    Redis {
        conn: ConnectionManager,
        prefix: String,
    },
}

/// The cache of catalog responses.
pub struct CatalogCache {
    store: Store,
}

impl std::fmt::Debug for CatalogCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogCache").finish_non_exhaustive()
    }
}

/// Bumps the catalog version; call inside the transaction of every catalog write.
pub async fn bump<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    conn.execute_raw(Statement::from_string(
        conn.get_database_backend(),
        "UPDATE catalog_version SET version = version + 1 WHERE id = 1",
    ))
    .await?;
    Ok(())
}

impl CatalogCache {
    /// An in-process cache.
    pub fn local() -> CatalogCache {
        CatalogCache {
            store: Store::Local(
                moka::future::Cache::builder()
                    .max_capacity(10_000)
                    .time_to_live(TTL)
                    .build(),
            ),
        }
    }

    /// A Redis cache on a shared connection.
    pub fn redis(conn: ConnectionManager, prefix: &str) -> CatalogCache {
        CatalogCache {
            store: Store::Redis {
                conn,
                prefix: prefix.to_owned(),
            },
        }
    }

    /// The current catalog version.
    pub async fn version(&self, db: &DatabaseConnection) -> Result<i64, DbErr> {
        match &self.store {
            Store::Redis { conn, prefix } => {
                let key = format!("{prefix}catalog:version");
                match redis::cmd("GET")
                    .arg(&key)
                    .query_async::<Option<i64>>(&mut conn.clone())
                    .await
                {
                    Ok(version) => Ok(version.unwrap_or(0)),
                    Err(e) => Err(DbErr::Custom(format!("redis: {e}"))),
                }
            }
            Store::Local(_) => {
                let row = db
                    .query_one_raw(Statement::from_string(
                        db.get_database_backend(),
                        "SELECT version FROM catalog_version WHERE id = 1",
                    ))
                    .await?
                    .ok_or_else(|| DbErr::Custom("catalog_version row missing".to_owned()))?;
                row.try_get::<i64>("", "version")
            }
        }
    }

    /// After a catalog write has committed: with Redis, move its version on as well.
    pub async fn after_write(&self) {
        if let Store::Redis { conn, prefix } = &self.store {
            let key = format!("{prefix}catalog:version");
            if let Err(e) = redis::cmd("INCR")
                .arg(&key)
                .query_async::<i64>(&mut conn.clone())
                .await
            {
                tracing::error!(error = %e, "could not bump the catalog version in Redis");
            }
        }
    }

    /// A cached body, if any (a cache that does not answer is a miss).
    pub async fn get(&self, key: &str) -> Option<Bytes> {
        match &self.store {
            Store::Local(cache) => cache.get(key).await,
            Store::Redis { conn, prefix } => redis::cmd("GET")
                .arg(format!("{prefix}cache:{key}"))
                .query_async::<Option<Vec<u8>>>(&mut conn.clone())
                .await
                .map_err(|e| tracing::warn!(error = %e, "catalog cache read failed"))
                .ok()
                .flatten()
                .map(Bytes::from),
        }
    }

    /// Stores a body.
    pub async fn put(&self, key: String, body: Bytes) {
        match &self.store {
            Store::Local(cache) => cache.insert(key, body).await,
            Store::Redis { conn, prefix } => {
                let result = redis::cmd("SET")
                    .arg(format!("{prefix}cache:{key}"))
                    .arg(body.as_ref())
                    .arg("EX")
                    .arg(TTL.as_secs())
                    .query_async::<()>(&mut conn.clone())
                    .await;
                if let Err(e) = result {
                    tracing::warn!(error = %e, "catalog cache write failed");
                }
            }
        }
    }
}
