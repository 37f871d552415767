//! Counters in fixed windows, for throttling: in process by default, in Redis when `REDIS_URL`
//! is set so that every node shares them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

/// Why a counter could not be read or written (Redis did not answer).
#[derive(Debug, thiserror::Error)]
#[error("throttle store: {0}")]
pub struct ThrottleError(String);

/// A count and the seconds left in its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Hits so far in the window.
    pub count: u64,
    /// Seconds until the window ends (at least 1 while counting).
    pub retry_after: u64,
}

const EMPTY: Window = Window {
    count: 0,
    retry_after: 0,
};

/// The counter store.
pub enum Throttle {
    /// This process only.
    Local(Mutex<HashMap<String, (u64, Instant)>>),
    /// Shared by every node.
    Redis {
        /// The connection (reconnects by itself).
        conn: ConnectionManager,
        /// Key prefix.
        prefix: String,
    },
}

fn seconds_left(until: Instant) -> u64 {
    until
        .saturating_duration_since(Instant::now())
        .as_millis()
        .div_ceil(1000)
        .try_into()
        .unwrap_or(u64::MAX)
        .max(1)
}

impl Throttle {
    /// An in-process store.
    pub fn local() -> Throttle {
        Throttle::Local(Mutex::new(HashMap::new()))
    }

    /// A Redis store on a shared connection.
    pub fn redis(conn: ConnectionManager, prefix: &str) -> Throttle {
        Throttle::Redis {
            conn,
            prefix: prefix.to_owned(),
        }
    }

    /// Counts one hit on `key` in a window of `window` that starts with its first hit.
    pub async fn hit(&self, key: &str, window: Duration) -> Result<Window, ThrottleError> {
        match self {
            Throttle::Local(map) => {
                let mut map = map
                    .lock()
                    .map_err(|_| ThrottleError("poisoned".to_owned()))?;
                let now = Instant::now();
                if map.len() > 10_000 {
                    map.retain(|_, (_, until)| *until > now);
                }
                let entry = map.entry(key.to_owned()).or_insert((0, now + window));
                if entry.1 <= now {
                    *entry = (0, now + window);
                }
                entry.0 += 1;
                Ok(Window {
                    count: entry.0,
                    retry_after: seconds_left(entry.1),
                })
            }
            Throttle::Redis { conn, prefix } => {
                let key = format!("{prefix}throttle:{key}");
                let millis = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
                let (count, ttl): (u64, i64) = redis::pipe()
                    .atomic()
                    .incr(&key, 1)
                    .cmd("PEXPIRE")
                    .arg(&key)
                    .arg(millis)
                    .arg("NX")
                    .ignore()
                    .pttl(&key)
                    .query_async(&mut conn.clone())
                    .await
                    .map_err(|e| ThrottleError(e.to_string()))?;
                Ok(Window {
                    count,
                    retry_after: u64::try_from(ttl).unwrap_or(0).div_ceil(1000).max(1),
                })
            }
        }
    }

    /// The current count of `key` without adding to it.
    pub async fn peek(&self, key: &str) -> Result<Window, ThrottleError> {
        match self {
            Throttle::Local(map) => {
                let map = map
                    .lock()
                    .map_err(|_| ThrottleError("poisoned".to_owned()))?;
                Ok(match map.get(key) {
                    Some((count, until)) if *until > Instant::now() => Window {
                        count: *count,
                        retry_after: seconds_left(*until),
                    },
                    _ => EMPTY,
                })
            }
            Throttle::Redis { conn, prefix } => {
                let key = format!("{prefix}throttle:{key}");
                let (count, ttl): (Option<u64>, i64) = redis::pipe()
                    .get(&key)
                    .pttl(&key)
                    .query_async(&mut conn.clone())
                    .await
                    .map_err(|e| ThrottleError(e.to_string()))?;
                Ok(match count {
                    Some(count) if ttl > 0 => Window {
                        count,
                        retry_after: u64::try_from(ttl).unwrap_or(0).div_ceil(1000).max(1),
                    },
                    _ => EMPTY,
                })
            }
        }
    }

    /// Forgets `key`.
    pub async fn clear(&self, key: &str) -> Result<(), ThrottleError> {
        match self {
            Throttle::Local(map) => {
                map.lock()
                    .map_err(|_| ThrottleError("poisoned".to_owned()))?
                    .remove(key);
                Ok(())
            }
            Throttle::Redis { conn, prefix } => {
                let key = format!("{prefix}throttle:{key}");
                redis::cmd("DEL")
                    .arg(&key)
                    .query_async::<()>(&mut conn.clone())
                    .await
                    .map_err(|e| ThrottleError(e.to_string()))
            }
        }
    }

    /// Checks that the store answers (readiness).
    pub async fn ping(&self) -> Result<(), ThrottleError> {
        match self {
            Throttle::Local(_) => Ok(()),
            Throttle::Redis { conn, .. } => redis::cmd("PING")
                .query_async::<String>(&mut conn.clone())
                .await
                .map(|_| ())
                .map_err(|e| ThrottleError(e.to_string())),
        }
    }

    /// True when the counters are shared through Redis.
    pub fn is_shared(&self) -> bool {
        matches!(self, Throttle::Redis { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_counters_count_within_their_window_and_reset() {
        let throttle = Throttle::local();
        let window = Duration::from_millis(200);
        assert_eq!(throttle.hit("k", window).await.expect("hit").count, 1);
        let second = throttle.hit("k", window).await.expect("hit");
        assert_eq!(second.count, 2);
        assert_eq!(second.retry_after, 1);
        assert_eq!(throttle.peek("k").await.expect("peek").count, 2);
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(throttle.peek("k").await.expect("peek").count, 0);
        assert_eq!(throttle.hit("k", window).await.expect("hit").count, 1);
        throttle.clear("k").await.expect("clear");
        assert_eq!(throttle.peek("k").await.expect("peek").count, 0);
    }
}
