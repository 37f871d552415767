//! Where the versions live: in this process (one node) or in Redis (every node). See the module
//! docs of `crate::cache` for the protocol; this file is its two implementations.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use tokio::sync::{mpsc, oneshot};

use super::follower::{self, Follower, LogEntry, Seen, SeenScope};
use super::scripts::{FINISH, HEAL, PREPARE, READ};
use super::{CacheError, Change};

/// Scope values with their in-flight marks, and row mirrors, in this process.
pub(super) struct Local {
    scopes: RwLock<HashMap<&'static str, Arc<LocalScope>>>,
    rows: RwLock<HashMap<String, i64>>,
    epoch: Instant,
    counter: AtomicU64,
}

/// One scope: its value, how many writes are in flight, and when the last of their marks ends
/// (nanoseconds after `Local::epoch`). A write raises the deadline, then the count, then sets
/// the value; a reader loads them in the opposite order, so a reader that sees a new value also
/// sees its write in flight.
#[derive(Default)]
struct LocalScope {
    value: AtomicU64,
    in_flight: AtomicU32,
    deadline: AtomicU64,
}

/// The Redis side: one connection, the key prefix, the scripts (loaded once, run by hash), the
/// queue of reads, and this node's copy of the versions, kept from the change log.
pub(super) struct Redis {
    conn: ConnectionManager,
    /// `{prefix}{cache}:` — the hash tag keeps every key in one Redis Cluster slot.
    prefix: String,
    prepare: redis::Script,
    finish: redis::Script,
    heal: redis::Script,
    reads: mpsc::Sender<ReadRequest>,
    follower: Arc<Follower>,
}

/// One lookup's read, waiting for the next batch.
struct ReadRequest {
    scopes: Vec<&'static str>,
    rows: Vec<String>,
    reply: oneshot::Sender<Result<Option<Current>, CacheError>>,
}

/// Most reads answered by one round trip.
const MAX_BATCH: usize = 256;

/// Reads versions for the lookups the node's copy cannot answer, in batches: one task takes
/// whatever lookups are waiting, asks Redis once for the union of their keys, teaches the copy
/// what it saw, and answers each. A lookup joins a batch that starts after it was queued, so it
/// still sees every write that returned before it began.
struct Reader {
    conn: ConnectionManager,
    prefix: String,
    script: redis::Script,
    follower: Arc<Follower>,
}

fn redis_error(error: redis::RedisError) -> CacheError {
    CacheError::Versions(error.to_string())
}

/// A new scope value: random, so that a Redis that lost its keys never hands out an old one.
fn random_value() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}

/// Scope values now, and row mirrors (`None`: unknown).
pub(super) type Current = (Vec<(&'static str, u64)>, Vec<Option<i64>>);

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
    pub(super) fn redis(conn: ConnectionManager, prefix: &str) -> Versions {
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

impl Local {
    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    fn scope(&self, name: &'static str) -> Arc<LocalScope> {
        if let Some(scope) = self
            .scopes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
        {
            return scope.clone();
        }
        self.scopes
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(name)
            .or_default()
            .clone()
    }

    fn read(&self, scopes: &[&'static str], rows: &[&str]) -> Option<Current> {
        let now = self.nanos(Instant::now());
        let mut values = Vec::with_capacity(scopes.len());
        {
            let map = self.scopes.read().unwrap_or_else(PoisonError::into_inner);
            for name in scopes {
                let Some(scope) = map.get(name) else {
                    values.push((*name, 0));
                    continue;
                };
                let value = scope.value.load(Ordering::SeqCst);
                if scope.in_flight.load(Ordering::SeqCst) > 0
                    && scope.deadline.load(Ordering::SeqCst) > now
                {
                    return None;
                }
                values.push((*name, value));
            }
        }
        let map = self.rows.read().unwrap_or_else(PoisonError::into_inner);
        let mirrors = rows.iter().map(|tag| map.get(*tag).copied()).collect();
        Some((values, mirrors))
    }

    fn prepare(self: &Arc<Local>, change: &Change, window: Duration) -> Finish {
        let deadline = self.nanos(Instant::now() + window);
        let mut marked = Vec::with_capacity(change.scopes.len());
        for name in &change.scopes {
            let scope = self.scope(name);
            scope.deadline.fetch_max(deadline, Ordering::SeqCst);
            scope.in_flight.fetch_add(1, Ordering::SeqCst);
            scope.value.store(
                self.counter.fetch_add(1, Ordering::SeqCst),
                Ordering::SeqCst,
            );
            marked.push(scope);
        }
        let mut rows = self.rows.write().unwrap_or_else(PoisonError::into_inner);
        for (tag, version) in &change.rows {
            rows.insert(tag.clone(), *version);
        }
        Finish {
            target: Target::Local(marked),
            pending: true,
            returns_after: None,
        }
    }

    fn heal(&self, rows: &[(String, i64)]) -> Vec<Option<i64>> {
        let mut map = self.rows.write().unwrap_or_else(PoisonError::into_inner);
        rows.iter()
            .map(|(tag, version)| Some(*map.entry(tag.clone()).or_insert(*version)))
            .collect()
    }
}

impl Reader {
    async fn run(self, mut requests: mpsc::Receiver<ReadRequest>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while let Some(first) = requests.recv().await {
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match requests.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
                }
            }
            let mut scopes: Vec<&'static str> = Vec::new();
            let mut rows: Vec<String> = Vec::new();
            let mut row_index: HashMap<String, usize> = HashMap::new();
            for request in &batch {
                for scope in &request.scopes {
                    if !scopes.contains(scope) {
                        scopes.push(scope);
                    }
                }
                for row in &request.rows {
                    if !row_index.contains_key(row) {
                        row_index.insert(row.clone(), rows.len());
                        rows.push(row.clone());
                    }
                }
            }
            let generation = self.follower.generation();
            let result = self.read(&scopes, rows).await;
            if let Ok(seen) = &result {
                self.follower.learn(generation, seen);
            }
            for request in batch.drain(..) {
                let answer = match &result {
                    Err(error) => Err(CacheError::Versions(error.to_string())),
                    Ok(seen) => {
                        let mut current = Vec::with_capacity(request.scopes.len());
                        let mut in_flight = false;
                        for scope in &request.scopes {
                            let at = seen.scopes.iter().find(|(name, _)| name == scope);
                            match at {
                                Some((_, seen)) => {
                                    in_flight |= !seen.marks.is_empty();
                                    current.push((*scope, seen.value));
                                }
                                None => in_flight = true,
                            }
                        }
                        let rows = request
                            .rows
                            .iter()
                            .map(|row| row_index.get(row).and_then(|i| seen.rows[*i].1))
                            .collect();
                        Ok((!in_flight).then_some((current, rows)))
                    }
                };
                let _ = request.reply.send(answer);
            }
        }
    }

    /// Each scope's value and marks and each row's mirror, and where the log stood, in one
    /// round trip.
    async fn read(&self, scopes: &[&'static str], rows: Vec<String>) -> Result<Seen, CacheError> {
        let prefix = &self.prefix;
        let mut keys: Vec<String> = Vec::with_capacity(1 + scopes.len() * 2 + rows.len());
        keys.push(format!("{prefix}seq"));
        keys.extend(scopes.iter().map(|s| format!("{prefix}v:{s}")));
        keys.extend(scopes.iter().map(|s| format!("{prefix}w:{s}")));
        keys.extend(rows.iter().map(|r| format!("{prefix}m:{r}")));
        let mut invocation = self.script.key(keys);
        invocation.arg(scopes.len());
        for _ in scopes {
            invocation.arg(random_value());
        }
        let values: Vec<String> = invocation
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(redis_error)?;
        parse_read(scopes, rows, &values)
            .ok_or_else(|| CacheError::Versions("malformed cache versions reply".to_owned()))
    }
}

/// The reply of the `READ` script (see `scripts.rs`).
fn parse_read(scopes: &[&'static str], rows: Vec<String>, reply: &[String]) -> Option<Seen> {
    let mut values = reply.iter();
    let at = values.next()?.parse().ok();
    let mut seen_scopes = Vec::with_capacity(scopes.len());
    for name in scopes {
        let value = values.next()?.parse().ok()?;
        let count: usize = values.next()?.parse().ok()?;
        let mut marks = Vec::with_capacity(count);
        for _ in 0..count {
            let token = values.next()?.clone();
            let left = values.next()?.parse().ok()?;
            marks.push((token, left));
        }
        seen_scopes.push((*name, SeenScope { value, marks }));
    }
    let mut seen_rows = Vec::with_capacity(rows.len());
    for row in rows {
        seen_rows.push((row, values.next()?.parse().ok()));
    }
    Some(Seen {
        at,
        scopes: seen_scopes,
        rows: seen_rows,
    })
}

impl Redis {
    async fn read(
        &self,
        scopes: &[&'static str],
        rows: &[&str],
    ) -> Result<Option<Current>, CacheError> {
        if let Some(answer) = self.follower.read(scopes, rows) {
            count_read(0);
            return Ok(answer);
        }
        count_read(1);
        let (reply, answer) = oneshot::channel();
        let request = ReadRequest {
            scopes: scopes.to_vec(),
            rows: rows.iter().map(|r| (*r).to_owned()).collect(),
            reply,
        };
        let gone = || CacheError::Versions("the cache's read task has stopped".to_owned());
        self.reads.send(request).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    async fn prepare(
        self: &Arc<Redis>,
        change: &Change,
        window: Duration,
    ) -> Result<Finish, CacheError> {
        let prefix = &self.prefix;
        let token = uuid::Uuid::new_v4().simple().to_string();
        let window = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        let values: Vec<u64> = change.scopes.iter().map(|_| random_value()).collect();
        let entry = LogEntry::Prepare {
            t: token.clone(),
            w: window,
            s: change
                .scopes
                .iter()
                .zip(&values)
                .map(|(scope, value)| ((*scope).to_owned(), *value))
                .collect(),
            r: change.rows.clone(),
        };
        let mut keys: Vec<String> = vec![format!("{prefix}log"), format!("{prefix}seq")];
        keys.extend(change.scopes.iter().map(|s| format!("{prefix}v:{s}")));
        keys.extend(change.scopes.iter().map(|s| format!("{prefix}w:{s}")));
        keys.extend(change.rows.iter().map(|(r, _)| format!("{prefix}m:{r}")));
        let mut script = self.prepare.key(keys);
        script
            .arg(change.scopes.len())
            .arg(&token)
            .arg(window)
            .arg(follower::counter_start())
            .arg(log_text(&entry)?)
            .arg(follower::LOG_LENGTH);
        for value in &values {
            script.arg(*value);
        }
        for (_, version) in &change.rows {
            script.arg(*version);
        }
        // The finish step exists before the script is sent: a prepare that Redis ran but whose
        // answer was lost (a timeout, a cancelled request) still has its marks removed.
        let mut finish = Finish {
            target: Target::Redis {
                redis: self.clone(),
                scopes: change.scopes.clone(),
                token,
            },
            pending: true,
            returns_after: None,
        };
        script
            .invoke_async::<i64>(&mut self.conn.clone())
            .await
            .map_err(redis_error)?;
        finish.returns_after = Some(Instant::now() + follower::LEASE);
        Ok(finish)
    }

    async fn heal(&self, rows: &[(String, i64)]) -> Result<Vec<Option<i64>>, CacheError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(mirrors) = self.follower.mirrors(rows) {
            return Ok(mirrors);
        }
        let generation = self.follower.generation();
        let mut keys: Vec<String> = vec![format!("{}seq", self.prefix)];
        keys.extend(rows.iter().map(|(r, _)| format!("{}m:{r}", self.prefix)));
        let mut script = self.heal.key(keys);
        for (_, version) in rows {
            script.arg(*version);
        }
        let values: Vec<Option<String>> = script
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(redis_error)?;
        let mut values = values.into_iter();
        let at = values.next().flatten().and_then(|seq| seq.parse().ok());
        let mirrors: Vec<Option<i64>> = values.map(|v| v.and_then(|v| v.parse().ok())).collect();
        self.follower.learn(
            generation,
            &Seen {
                at,
                scopes: Vec::new(),
                rows: rows
                    .iter()
                    .zip(&mirrors)
                    .map(|((tag, _), mirror)| (tag.clone(), *mirror))
                    .collect(),
            },
        );
        Ok(mirrors)
    }
}

/// Counts where a lookup's versions came from in `cache_version_reads_total` by `source`: 0 the
/// node's copy, 1 Redis (the handles are made once).
fn count_read(source: usize) {
    static COUNTERS: std::sync::LazyLock<[metrics::Counter; 2]> = std::sync::LazyLock::new(|| {
        ["copy", "redis"]
            .map(|source| metrics::counter!("cache_version_reads_total", "source" => source))
    });
    COUNTERS[source].increment(1);
}

/// A change as the log's entry holds it.
fn log_text(entry: &LogEntry) -> Result<String, CacheError> {
    serde_json::to_string(entry).map_err(|e| CacheError::Versions(e.to_string()))
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
                    let done = script
                        .invoke_async::<i64>(&mut redis.conn.clone())
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
