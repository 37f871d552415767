//! Redis behind a breaker: the one connection every Redis user shares (the cache's versions and
//! change log, the throttles), with every command bounded by `EMPORIUM_REDIS_TIMEOUT`.
//!
//! The Redis client reconnects by itself, but a command sent while it does waits for the
//! reconnection and its retries — seconds, on the request's path. So when a command fails for
//! want of Redis (a connection error, or no answer in time), the breaker *opens*: for as long as
//! Redis stays unreachable every command fails at once without touching the connection, and one
//! background task probes Redis (`PING`, bounded) until it answers; then the breaker closes.
//! Callers treat a failure as Redis being down: the cache builds responses from the database,
//! writes that need Redis refuse with `503`, throttles count in process.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, RedisResult};

/// How long the probe waits between two attempts to reach Redis again.
const PROBE_EVERY: Duration = Duration::from_millis(200);

/// A shared Redis connection with a breaker (cheap to clone).
#[derive(Clone)]
pub struct RedisLink {
    conn: ConnectionManager,
    timeout: Duration,
    breaker: Arc<Breaker>,
}

#[derive(Default)]
struct Breaker {
    /// Redis did not answer; commands fail at once until the probe reaches it.
    open: AtomicBool,
}

impl RedisLink {
    /// Connects to `url`, each connection attempt and command bounded by `timeout`. Fails when
    /// Redis does not answer now (at start-up the operator should hear of it).
    pub async fn connect(url: &str, timeout: Duration) -> RedisResult<RedisLink> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            // The breaker, not the client, decides when to try again.
            .set_number_of_retries(0);
        let conn = ConnectionManager::new_with_config(client, config).await?;
        Ok(RedisLink {
            conn,
            timeout,
            breaker: Arc::default(),
        })
    }

    /// True while Redis is believed reachable.
    pub fn is_up(&self) -> bool {
        !self.breaker.open.load(Ordering::Acquire)
    }

    /// Runs `command` on the connection, bounded by the timeout — or fails at once while the
    /// breaker is open. A failure for want of Redis opens it.
    pub async fn run<T, F, Fut>(&self, command: F) -> RedisResult<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        if !self.is_up() {
            return Err(unreachable(
                "Redis is unreachable (skipped until it answers)",
            ));
        }
        let result = match tokio::time::timeout(self.timeout, command(self.conn.clone())).await {
            Ok(result) => result,
            Err(_) => Err(unreachable("Redis did not answer in time")),
        };
        if let Err(error) = &result
            && is_outage(error)
        {
            self.trip(error);
        }
        result
    }

    /// `PING`, through the breaker.
    pub async fn ping(&self) -> RedisResult<()> {
        self.run(|mut conn| async move { redis::cmd("PING").query_async::<()>(&mut conn).await })
            .await
    }

    /// Opens the breaker (once) and starts the probe that closes it.
    fn trip(&self, error: &RedisError) {
        if self.breaker.open.swap(true, Ordering::AcqRel) {
            return;
        }
        tracing::warn!(%error, "Redis is unreachable: skipping it until it answers again");
        metrics::counter!("redis_outages_total").increment(1);
        let (conn, timeout, breaker) = (self.conn.clone(), self.timeout, self.breaker.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PROBE_EVERY).await;
                let mut probe = conn.clone();
                let command = redis::cmd("PING");
                let ping = command.query_async::<()>(&mut probe);
                if let Ok(Ok(())) = tokio::time::timeout(timeout, ping).await {
                    breaker.open.store(false, Ordering::Release);
                    tracing::info!("Redis answers again");
                    return;
                }
            }
        });
    }
}

fn unreachable(detail: &'static str) -> RedisError {
    RedisError::from((ErrorKind::Io, detail))
}

/// A failure that says Redis is not there (rather than a bad command).
fn is_outage(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_unrecoverable_error()
}
