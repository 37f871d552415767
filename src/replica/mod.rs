//! The read replica (`DATABASE_REPLICA_URL`): its pool, how far behind the primary it is, and
//! who wrote lately.
//!
//! A monitor task ([`Replica::spawn_monitor`], started by `serve`) compares every 250 ms what
//! the primary has written with what the replica has replayed (`db::replica`), keeping the
//! primary's positions the replica has not replayed yet with the time each was seen: the lag is
//! the age of the oldest of them, and 0 when the replica has them all — so an idle primary
//! never makes a caught-up replica look late. The replica is *usable* while its last check
//! succeeded less than a second ago and its lag is at most `EMPORIUM_REPLICA_MAX_LAG`.
//!
//! Which reads go to it is decided by the HTTP layer (`http::reads`); this module knows the
//! replica, not the requests.

mod monitor;
mod writers;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{DatabaseConnection, DbErr};

use crate::redis_link::RedisLink;
use crate::settings::ReplicaSettings;
pub use writers::WriterKey;
use writers::Writers;

/// How long each check of the monitor (and a cache fill's check) waits for an answer; a
/// replica whose last good check is older than this is down.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(1);
/// How much longer than the maximum lag a writer's reads stay on the primary: the monitor
/// notices a lag past the maximum within a check's timeout and a tick.
const MARK_MARGIN: Duration = Duration::from_secs(2);

/// What the replica is doing, as `/ready/` and the logs say it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplicaState {
    /// Answering and at most the maximum lag behind: reads go to it.
    Up,
    /// Answering, but further behind than the maximum lag: bypassed.
    Lagging,
    /// Not answering (or not replaying) for a second or more: bypassed.
    Down,
}

impl ReplicaState {
    /// The state's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaState::Up => "up",
            ReplicaState::Lagging => "lagging",
            ReplicaState::Down => "down",
        }
    }
}

/// The replica's state and lag now.
#[derive(Clone, Copy, Debug)]
pub struct Report {
    /// Up, lagging or down.
    pub state: ReplicaState,
    /// How far behind it was at its last good check (`None`: never checked).
    pub lag: Option<Duration>,
}

/// Where a read was served from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The primary (`DATABASE_URL`).
    Primary,
    /// The replica.
    Replica,
}

impl Target {
    /// The label of `db_reads_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Primary => "primary",
            Target::Replica => "replica",
        }
    }
}

/// The read replica and what its monitor last saw.
pub struct Replica {
    db: DatabaseConnection,
    max_lag: Duration,
    writers: Writers,
    epoch: Instant,
    /// Milliseconds after `epoch` of the last good check, plus one (0: never).
    checked: AtomicU64,
    /// The lag at the last good check, in milliseconds.
    lag_ms: AtomicU64,
    /// Reads served by each target (this process; `db_reads_total` counts them too).
    reads: [AtomicU64; 2],
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("max_lag", &self.max_lag)
            .finish_non_exhaustive()
    }
}

impl Replica {
    /// A pool of `connections` to the replica, opened when first used (a replica down at start
    /// stops nothing), and the writers' marks in Redis when `redis` is given.
    pub async fn connect(
        settings: &ReplicaSettings,
        connections: u32,
        acquire_timeout: Duration,
        redis: Option<(RedisLink, &str)>,
    ) -> Result<Replica, DbErr> {
        let db = crate::db::connect_lazy(&settings.url, connections, acquire_timeout).await?;
        Ok(Replica {
            db,
            max_lag: settings.max_lag,
            writers: Writers::new(redis),
            epoch: Instant::now(),
            checked: AtomicU64::new(0),
            lag_ms: AtomicU64::new(0),
            reads: [AtomicU64::new(0), AtomicU64::new(0)],
        })
    }

    /// The replica `settings` name, if any: a pool half the primary's (at least two), waiting
    /// for a connection no longer than a check does; writers marked in Redis when there is one.
    pub async fn from_settings(
        settings: &crate::settings::Settings,
        redis: Option<RedisLink>,
    ) -> Result<Option<std::sync::Arc<Replica>>, DbErr> {
        let Some(replica) = &settings.replica else {
            return Ok(None);
        };
        let connections = (settings.db_max_connections / 2).max(2);
        let acquire = settings.timeouts.db_acquire.min(CHECK_TIMEOUT);
        let redis = redis.map(|link| (link, settings.redis_prefix.as_str()));
        let replica = Replica::connect(replica, connections, acquire, redis).await?;
        Ok(Some(std::sync::Arc::new(replica)))
    }

    /// The replica's pool.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Records a good check that found the replica `lag` behind.
    fn checked(&self, lag: Duration) {
        let lag = u64::try_from(lag.as_millis()).unwrap_or(u64::MAX);
        self.lag_ms.store(lag, Ordering::Relaxed);
        self.checked.store(self.now_ms() + 1, Ordering::Release);
    }

    /// Up, lagging or down, and the lag, now.
    pub fn report(&self) -> Report {
        let checked = self.checked.load(Ordering::Acquire);
        if checked == 0 {
            return Report {
                state: ReplicaState::Down,
                lag: None,
            };
        }
        let lag = Duration::from_millis(self.lag_ms.load(Ordering::Relaxed));
        let fresh = self.now_ms().saturating_sub(checked - 1) < millis(CHECK_TIMEOUT);
        let state = if !fresh {
            ReplicaState::Down
        } else if lag > self.max_lag {
            ReplicaState::Lagging
        } else {
            ReplicaState::Up
        };
        Report {
            state,
            lag: Some(lag),
        }
    }

    /// True while reads may go to the replica: checked within the last second, and at most
    /// the maximum lag behind.
    pub fn usable(&self) -> bool {
        self.report().state == ReplicaState::Up
    }

    /// Marks `key` as having written: its reads go to the primary for the maximum lag and two
    /// seconds.
    pub async fn mark_writer(&self, key: &WriterKey) {
        self.writers.mark(key, self.max_lag + MARK_MARGIN).await;
    }

    /// True when `key` wrote lately, or when that cannot be known.
    pub async fn wrote_lately(&self, key: &WriterKey) -> bool {
        self.writers.is_marked(key).await
    }

    /// True when the replica has now replayed everything the primary had when asked: a read
    /// on it shows at least what a read on the primary at that moment would. Any failure, or
    /// no answer within [`CHECK_TIMEOUT`], is false.
    pub async fn has_caught_up_with(&self, primary: &DatabaseConnection) -> bool {
        let check = async {
            let position = crate::db::replica::primary_position(primary).await?;
            crate::db::replica::has_replayed(&self.db, &position).await
        };
        matches!(
            tokio::time::timeout(CHECK_TIMEOUT, check).await,
            Ok(Ok(true))
        )
    }

    /// Reads served by `target` since start.
    pub fn reads(&self, target: Target) -> u64 {
        self.reads[target as usize].load(Ordering::Relaxed)
    }

    /// Starts the monitor (see the module docs); it runs until the runtime stops.
    pub fn spawn_monitor(
        self: &std::sync::Arc<Self>,
        primary: DatabaseConnection,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(monitor::run(self.clone(), primary))
    }
}

/// Counts a catalog read served by `target` in `db_reads_total` (and, with a replica, in its
/// own count).
pub fn count_read(replica: Option<&Replica>, target: Target) {
    static COUNTERS: std::sync::LazyLock<[metrics::Counter; 2]> = std::sync::LazyLock::new(|| {
        [Target::Primary, Target::Replica]
            .map(|target| metrics::counter!("db_reads_total", "target" => target.as_str()))
    });
    COUNTERS[target as usize].increment(1);
    if let Some(replica) = replica {
        replica.reads[target as usize].fetch_add(1, Ordering::Relaxed);
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
