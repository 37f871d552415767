//! Counters in fixed windows, for throttling: in process by default, in Redis when `REDIS_URL`
//! is set so that every node shares them.
//!
//! Every caller counts first and decides after: [`Throttle::hit`] adds the attempt and returns
//! the new count in one atomic step (a per-key lock in process, `INCR` in Redis), so N parallel
//! attempts see the counts 1‥N and at most `limit` of them go on. A read-then-increment would
//! let all N through before the first increment lands.
//!
//! In process, the counters live in a bounded cache: at most [`LOCAL_MAX_KEYS`] keys, each
//! dropped when its window ends, the least useful evicted first (a key hit often — an account
//! under attack — outlives a flood of one-off keys). No operation walks every key.

use std::net::IpAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

use moka::future::Cache;
use moka::ops::compute::{CompResult, Op};

use crate::redis_link::RedisLink;

/// Why an attempt was not admitted.
#[derive(Debug, thiserror::Error)]
pub enum ThrottleError {
    /// Past the rate: refused until the window ends.
    #[error("too many attempts; try again in {retry_after} s")]
    Limited {
        /// Seconds left in the window.
        retry_after: u64,
    },
    /// The counter could not be read or written (Redis did not answer).
    #[error("throttle store: {0}")]
    Store(String),
}

/// A count and the seconds left in its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Hits so far in the window, this one included.
    pub count: u64,
    /// Seconds until the window ends (at least 1 while counting).
    pub retry_after: u64,
}

/// A counter store and the rate it applies: what a rule that limits attempts takes.
#[derive(Clone, Copy)]
pub struct Limiter<'a> {
    /// Where the counts are kept.
    pub store: &'a Throttle,
    /// Attempts allowed per period.
    pub rate: Rate,
}

impl Limiter<'_> {
    /// Counts one attempt on `key` and refuses it once past the rate (see [`Throttle::admit`]).
    pub async fn admit(&self, key: &str) -> Result<(), ThrottleError> {
        self.store.admit(key, self.rate).await
    }

    /// Takes an attempt back (it turned out not to count).
    pub async fn undo(&self, key: &str) -> Result<(), ThrottleError> {
        self.store.undo(key).await
    }
}

/// Most keys kept in process (about 100 bytes each).
pub const LOCAL_MAX_KEYS: u64 = 100_000;

/// A request rate written like Django REST Framework's: `100/s`, `1200/min`, `50000/day`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Requests allowed in one period.
    pub limit: u64,
    /// The period.
    pub period: Duration,
}

impl FromStr for Rate {
    type Err = String;

    /// Parses `N/unit`, where the unit starts with `s`, `m`, `h` or `d` (as DRF reads it).
    fn from_str(text: &str) -> Result<Rate, String> {
        let bad = || format!("{text:?} is not a rate like 100/s, 1200/min or 50000/day");
        let (count, unit) = text.trim().split_once('/').ok_or_else(bad)?;
        let limit: u64 = count.trim().parse().map_err(|_| bad())?;
        let seconds = match unit.trim().chars().next() {
            Some('s') => 1,
            Some('m') => 60,
            Some('h') => 3600,
            Some('d') => 86_400,
            _ => return Err(bad()),
        };
        if limit == 0 {
            return Err(format!(
                "{text:?}: the count must be at least 1 (or say off)"
            ));
        }
        Ok(Rate {
            limit,
            period: Duration::from_secs(seconds),
        })
    }
}

/// The part of a client address that throttles count: the address for IPv4 (and IPv4-mapped
/// IPv6), the /64 network for IPv6 — one subscriber gets a whole /64 and can pick any address
/// in it.
pub fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// One in-process counter: hits so far and the end of its window.
#[derive(Clone, Copy, Debug)]
pub struct Counter {
    count: u64,
    until: Instant,
}

/// Each counter lives until the end of its own window.
struct WindowEnd;

impl moka::Expiry<String, Counter> for WindowEnd {
    fn expire_after_create(&self, _: &String, value: &Counter, now: Instant) -> Option<Duration> {
        Some(value.until.saturating_duration_since(now))
    }

    fn expire_after_update(
        &self,
        _: &String,
        value: &Counter,
        now: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.until.saturating_duration_since(now))
    }
}

/// The counter store.
pub enum Throttle {
    /// This process only.
    Local(Cache<String, Counter>),
    /// Shared by every node — and, while Redis is unreachable, counted in this process
    /// (`fallback`), so a Redis outage neither makes requests wait nor turns into refusals, and
    /// a node still limits what it sees.
    Redis {
        /// The shared connection, behind its breaker.
        link: RedisLink,
        /// Key prefix.
        prefix: String,
        /// The counters used while Redis is down.
        fallback: Cache<String, Counter>,
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

fn redis_error(error: redis::RedisError) -> ThrottleError {
    ThrottleError::Store(error.to_string())
}

/// Takes one back from a counter that exists; never creates one.
const UNDO_SCRIPT: &str = "if redis.call('EXISTS', KEYS[1]) == 1 then \
     if redis.call('DECR', KEYS[1]) <= 0 then redis.call('DEL', KEYS[1]) end end return 0";

fn counters(max_keys: u64) -> Cache<String, Counter> {
    Cache::builder()
        .max_capacity(max_keys)
        .expire_after(WindowEnd)
        .build()
}

/// One hit on an in-process counter (see [`Throttle::hit`]).
async fn local_hit(cache: &Cache<String, Counter>, key: &str, window: Duration) -> Window {
    let now = Instant::now();
    let result = cache
        .entry(key.to_owned())
        .and_compute_with(|current| {
            let next = match current.map(|e| e.into_value()) {
                Some(c) if c.until > now => Counter {
                    count: c.count.saturating_add(1),
                    until: c.until,
                },
                _ => Counter {
                    count: 1,
                    until: now + window,
                },
            };
            std::future::ready(Op::Put(next))
        })
        .await;
    let counter = match result {
        CompResult::Inserted(entry)
        | CompResult::ReplacedWith(entry)
        | CompResult::Unchanged(entry) => entry.into_value(),
        // Not reachable with `Op::Put`; count it as a first hit.
        CompResult::StillNone(_) | CompResult::Removed(_) => Counter {
            count: 1,
            until: now + window,
        },
    };
    Window {
        count: counter.count,
        retry_after: seconds_left(counter.until),
    }
}

/// Takes one back from an in-process counter that exists.
async fn local_undo(cache: &Cache<String, Counter>, key: &str) {
    cache
        .entry(key.to_owned())
        .and_compute_with(|current| {
            std::future::ready(match current.map(|e| e.into_value()) {
                Some(c) if c.count > 1 => Op::Put(Counter {
                    count: c.count - 1,
                    until: c.until,
                }),
                Some(_) => Op::Remove,
                None => Op::Nop,
            })
        })
        .await;
}

/// One hit on a Redis counter: incremented, given its window on the first hit, read back, in
/// one atomic pipeline.
async fn redis_hit(link: &RedisLink, key: &str, window: Duration) -> redis::RedisResult<Window> {
    let millis = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
    let (count, ttl): (u64, i64) = link
        .run(|mut conn| async move {
            redis::pipe()
                .atomic()
                .incr(key, 1)
                .cmd("PEXPIRE")
                .arg(key)
                .arg(millis)
                .arg("NX")
                .ignore()
                .pttl(key)
                .query_async(&mut conn)
                .await
        })
        .await?;
    Ok(Window {
        count,
        retry_after: u64::try_from(ttl).unwrap_or(0).div_ceil(1000).max(1),
    })
}

impl Throttle {
    /// An in-process store.
    pub fn local() -> Throttle {
        Throttle::local_with_capacity(LOCAL_MAX_KEYS)
    }

    /// An in-process store of at most `max_keys` counters.
    pub fn local_with_capacity(max_keys: u64) -> Throttle {
        Throttle::Local(counters(max_keys))
    }

    /// A Redis store on the shared connection, counting in process while Redis is down.
    pub fn redis(link: RedisLink, prefix: &str) -> Throttle {
        Throttle::Redis {
            link,
            prefix: prefix.to_owned(),
            fallback: counters(LOCAL_MAX_KEYS),
        }
    }

    /// Counts one hit on `key`, in a window of `window` that starts with its first hit, and
    /// returns the count with this hit included. Atomic: parallel hits get distinct counts.
    pub async fn hit(&self, key: &str, window: Duration) -> Result<Window, ThrottleError> {
        match self {
            Throttle::Local(cache) => Ok(local_hit(cache, key, window).await),
            Throttle::Redis {
                link,
                prefix,
                fallback,
            } => match redis_hit(link, &format!("{prefix}throttle:{key}"), window).await {
                Ok(window) => Ok(window),
                Err(error) => {
                    tracing::debug!(%error, "throttle counted in process: Redis is down");
                    Ok(local_hit(fallback, key, window).await)
                }
            },
        }
    }

    /// Counts one attempt on `key` against `rate` and refuses it once past the limit: `429`
    /// with the seconds left in the window. Count, then decide — the attempt is counted even
    /// when refused, so parallel attempts cannot slip past together.
    pub async fn admit(&self, key: &str, rate: Rate) -> Result<(), ThrottleError> {
        let window = self.hit(key, rate.period).await?;
        if window.count > rate.limit {
            return Err(ThrottleError::Limited {
                retry_after: window.retry_after,
            });
        }
        Ok(())
    }

    /// Takes back one hit on `key` (an attempt that turned out not to count, such as a
    /// successful login); a counter that no longer exists stays absent.
    pub async fn undo(&self, key: &str) -> Result<(), ThrottleError> {
        match self {
            Throttle::Local(cache) => {
                local_undo(cache, key).await;
                Ok(())
            }
            Throttle::Redis {
                link,
                prefix,
                fallback,
            } => {
                let key_name = format!("{prefix}throttle:{key}");
                let undone = link
                    .run(|mut conn| async move {
                        redis::cmd("EVAL")
                            .arg(UNDO_SCRIPT)
                            .arg(1)
                            .arg(key_name)
                            .query_async::<()>(&mut conn)
                            .await
                    })
                    .await;
                if undone.is_err() {
                    local_undo(fallback, key).await;
                }
                Ok(())
            }
        }
    }

    /// Forgets `key`.
    pub async fn clear(&self, key: &str) -> Result<(), ThrottleError> {
        match self {
            Throttle::Local(cache) => {
                cache.invalidate(key).await;
                Ok(())
            }
            Throttle::Redis {
                link,
                prefix,
                fallback,
            } => {
                fallback.invalidate(key).await;
                let key_name = format!("{prefix}throttle:{key}");
                link.run(|mut conn| async move {
                    redis::cmd("DEL")
                        .arg(key_name)
                        .query_async::<()>(&mut conn)
                        .await
                })
                .await
                .map_err(redis_error)
            }
        }
    }

    /// Checks that the store answers (readiness): at once `Err` while Redis is down.
    pub async fn ping(&self) -> Result<(), ThrottleError> {
        match self {
            Throttle::Local(_) => Ok(()),
            Throttle::Redis { link, .. } => link.ping().await.map_err(redis_error),
        }
    }

    /// True when the counters are shared through Redis.
    pub fn is_shared(&self) -> bool {
        matches!(self, Throttle::Redis { .. })
    }

    /// Counters held in process (0 with Redis), after pending evictions have run.
    pub async fn local_keys(&self) -> u64 {
        match self {
            Throttle::Local(cache) => {
                cache.run_pending_tasks().await;
                cache.entry_count()
            }
            Throttle::Redis { .. } => 0,
        }
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
        throttle.undo("k").await.expect("undo");
        assert_eq!(throttle.hit("k", window).await.expect("hit").count, 2);
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(throttle.hit("k", window).await.expect("hit").count, 1);
        throttle.clear("k").await.expect("clear");
        throttle.undo("k").await.expect("undo of nothing");
        assert_eq!(throttle.hit("k", window).await.expect("hit").count, 1);
    }

    #[tokio::test]
    async fn parallel_hits_get_distinct_counts() {
        let throttle = std::sync::Arc::new(Throttle::local());
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let throttle = throttle.clone();
                tokio::spawn(async move {
                    throttle
                        .hit("burst", Duration::from_secs(60))
                        .await
                        .expect("hit")
                        .count
                })
            })
            .collect();
        let mut counts = Vec::new();
        for task in tasks {
            counts.push(task.await.expect("task"));
        }
        counts.sort_unstable();
        assert_eq!(counts, (1..=64).collect::<Vec<u64>>());
    }

    #[tokio::test]
    async fn the_local_store_stays_within_its_bound() {
        let throttle = Throttle::local_with_capacity(500);
        for n in 0..5_000 {
            throttle
                .hit(&format!("key-{n}"), Duration::from_secs(60))
                .await
                .expect("hit");
        }
        assert!(throttle.local_keys().await <= 500);
    }

    #[test]
    fn rates_read_like_drf() {
        let rate: Rate = "1200/min".parse().expect("rate");
        assert_eq!((rate.limit, rate.period), (1200, Duration::from_secs(60)));
        assert_eq!(
            "100/s".parse::<Rate>().expect("rate").period,
            Duration::from_secs(1)
        );
        assert_eq!(
            "50000/day".parse::<Rate>().expect("rate").period,
            Duration::from_secs(86_400)
        );
        for bad in ["", "100", "x/min", "0/min", "10/week", "-1/s"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(client_key(mapped), "192.0.2.7");
    }
}
