//! Where the versions live: in this process (one node, `local.rs`) or in Redis (every node,
//! `redis_store.rs`, with its batched reads in `reader.rs`). See the module docs of
//! `crate::cache` for the protocol; this module is its two implementations, and here are what
//! they share: the dispatch over them and a write's finish step.

mod local;
mod reader;
mod redis_store;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::redis_link::RedisLink;
use tokio::sync::mpsc;

use super::follower::{self, Follower, LogEntry};
use super::scripts::{FINISH, HEAL, PREPARE, READ};
use super::{CacheError, Change, Current};
use local::{Local, LocalScope};
use reader::{MAX_BATCH, Reader};
use redis_store::Redis;

fn redis_error(error: redis::RedisError) -> CacheError {
    CacheError::Versions(error.to_string())
}

/// A new scope value: random, so that a Redis that lost its keys never hands out an old one.
fn random_value() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}

/// The versions of a [`super::ResponseCache`].
pub(super) enum Versions {
    Off,
    Local(Arc<Local>),
    Redis(Arc<Redis>),
}

impl Versions {
    pub(super) fn local() -> Versions {
        Versions::Local(Arc::new(Local {
            scopes: RwLock::default(),
            rows: RwLock::default(),
            epoch: Instant::now(),
            counter: AtomicU64::new(1),
        }))
    }

    /// Versions in Redis; starts the task that batches reads (so it must run inside the
    /// runtime). The task ends when these versions are dropped.
    pub(super) fn redis(conn: RedisLink, prefix: &str) -> Versions {
        let prefix = format!("{prefix}{{cache}}:");
        let follower =
            Follower::start(conn.clone(), format!("{prefix}log"), format!("{prefix}seq"));
        let (reads, requests) = mpsc::channel(4 * MAX_BATCH);
        let reader = Reader {
            conn: conn.clone(),
            prefix: prefix.clone(),
            script: redis::Script::new(READ),
            follower: follower.clone(),
        };
        tokio::spawn(reader.run(requests));
        Versions::Redis(Arc::new(Redis {
            conn,
            prefix,
            prepare: redis::Script::new(PREPARE),
            finish: redis::Script::new(FINISH),
            heal: redis::Script::new(HEAL),
            reads,
            follower,
        }))
    }

    /// Test hook: this node stops following the change log (`true`), or follows it again.
    pub(super) fn pause_following(&self, paused: bool) {
        if let Versions::Redis(redis) = self {
            redis.follower.pause(paused);
        }
    }

    /// The current scope values and row mirrors; `Ok(None)` when a scope has a write in flight
    /// (or the cache is off).
    pub(super) async fn read(
        &self,
        scopes: &[&'static str],
        rows: &[&str],
    ) -> Result<Option<Current>, CacheError> {
        match self {
            Versions::Off => Ok(None),
            Versions::Local(local) => Ok(local.read(scopes, rows)),
            Versions::Redis(redis) => redis.read(scopes, rows).await,
        }
    }

    /// The prepare step of a write; the returned [`Finish`] ends it (when run or dropped).
    pub(super) async fn prepare(
        &self,
        change: &Change,
        window: Duration,
    ) -> Result<Finish, CacheError> {
        match self {
            Versions::Off => Ok(Finish::none()),
            Versions::Local(local) => Ok(local.prepare(change, window)),
            Versions::Redis(redis) => redis.prepare(change, window).await,
        }
    }

    /// Sets unknown row mirrors to the versions given; returns every mirror afterwards.
    pub(super) async fn heal(
        &self,
        rows: &[(String, i64)],
    ) -> Result<Vec<Option<i64>>, CacheError> {
        match self {
            Versions::Off => Ok(vec![None; rows.len()]),
            Versions::Local(local) => Ok(local.heal(rows)),
            Versions::Redis(redis) => redis.heal(rows).await,
        }
    }
}

enum Target {
    None,
    Local(Vec<Arc<LocalScope>>),
    Redis {
        redis: Arc<Redis>,
        scopes: Vec<&'static str>,
        token: String,
    },
}

/// A write's finish step: removes its in-flight marks. Runs once — when asked, or when dropped
/// (a cancelled request), in a task of its own for Redis.
pub(super) struct Finish {
    target: Target,
    pending: bool,
    /// The write must not return before this instant (the followers' lease; see
    /// `follower.rs`).
    pub(super) returns_after: Option<Instant>,
}

impl Finish {
    fn none() -> Finish {
        Finish {
            target: Target::None,
            pending: false,
            returns_after: None,
        }
    }

    /// Never runs (the test hook that plays a lost finish step): the marks expire by themselves.
    pub(super) fn lose(mut self) {
        self.pending = false;
    }

    /// Runs the step; for Redis, returns the task doing it.
    pub(super) fn run(&mut self) -> Option<tokio::task::JoinHandle<()>> {
        if !std::mem::take(&mut self.pending) {
            return None;
        }
        match &self.target {
            Target::None => None,
            Target::Local(scopes) => {
                for scope in scopes {
                    let _ = scope
                        .in_flight
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
                }
                None
            }
            Target::Redis {
                redis,
                scopes,
                token,
            } => {
                let prefix = &redis.prefix;
                let mut keys = vec![format!("{prefix}log"), format!("{prefix}seq")];
                keys.extend(scopes.iter().map(|s| format!("{prefix}v:{s}")));
                keys.extend(scopes.iter().map(|s| format!("{prefix}w:{s}")));
                let values: Vec<u64> = scopes.iter().map(|_| random_value()).collect();
                let entry = LogEntry::Finish {
                    t: token.clone(),
                    s: scopes
                        .iter()
                        .zip(&values)
                        .map(|(scope, value)| ((*scope).to_owned(), *value))
                        .collect(),
                };
                let entry = serde_json::to_string(&entry).unwrap_or_default();
                let redis = redis.clone();
                let token = token.clone();
                let runtime = tokio::runtime::Handle::try_current().ok()?;
                Some(runtime.spawn(async move {
                    let mut script = redis.finish.key(keys);
                    script
                        .arg(token)
                        .arg(follower::counter_start())
                        .arg(entry)
                        .arg(follower::LOG_LENGTH);
                    for value in values {
                        script.arg(value);
                    }
                    let done = redis
                        .conn
                        .run(|mut conn| async move { script.invoke_async::<i64>(&mut conn).await })
                        .await;
                    if let Err(error) = done {
                        tracing::warn!(%error, "cache finish step failed; its marks expire by themselves");
                    }
                }))
            }
        }
    }
}

impl Drop for Finish {
    fn drop(&mut self) {
        drop(self.run());
    }
}
