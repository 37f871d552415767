//! The response cache: rendered JSON kept in each node's memory (bounded in bytes), each entry
//! remembering what it was built from, and checked against the current versions of those
//! things on every hit. The versions live in Redis when `REDIS_URL` is set (shared by every
//! node) and in process otherwise (one node).
//!
//! An entry depends on two kinds of thing:
//! - **scopes**, named up front by the request (`categories`, `listing`, …): whatever may change
//!   which rows a response shows. A scope's value is read *before* the response is built.
//! - **rows**, learnt while building (the products a page shows), each with the `version`
//!   column the database returned with it. A row's *mirror* is the version of its last write.
//!
//! A write runs in three steps around its commit ([`ResponseCache::commit`]):
//! 1. *prepare*, just before the commit: each scope it touches gets a new value and an
//!    in-flight mark that expires after the write window; each row it wrote gets its mirror set
//!    to the version the transaction wrote. If this fails (Redis does not answer) the
//!    transaction is rolled back and the write answers `503`: nothing changed.
//! 2. the commit.
//! 3. *finish*, in a task of its own (a cancelled request cannot skip it): the in-flight marks
//!    are removed.
//!
//! A read serves an entry only when no scope it names is in flight, every scope has the value
//! the entry was built under, and every row's mirror equals the version the entry holds;
//! while a scope is in flight the response is built from the database and not stored.
//!
//! **What is guaranteed.** Once a write has returned — whatever happened to step 3: Redis failing,
//! the request cancelled, the process killed — no node serves a response built from data the
//! write replaced. A row's mirror names a version that only the committed write can have
//! produced, so an entry built before the commit never matches it; a scope's new value is only
//! readable without its in-flight mark after step 3 or after the window (30 s), by which time
//! the commit has happened (prepare refuses to let a commit start later than half the window
//! after it). If Redis does not answer a read, the response is built from the database. The
//! one thing outside the guarantee is Redis *losing* keys it acknowledged (a flush, or an
//! eviction policy that evicts keys without an expiry) in the instant between a write's
//! prepare and its commit: then a reader may record the old version as the mirror. Run Redis
//! with `maxmemory-policy noeviction` or `volatile-*` (these keys have no expiry).
//!
//! Only the small version keys are in Redis (one per product written, a few per scope); the
//! bodies are in each node's memory, bounded by `EMPORIUM_CACHE_BYTES`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use redis::aio::ConnectionManager;
use sea_orm::{DatabaseTransaction, DbErr};

/// How long a write's in-flight mark lasts when its finish step never runs.
pub const WRITE_WINDOW: Duration = Duration::from_secs(30);

/// Why the cache could not record a write (the write is then not committed).
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// Redis did not answer.
    #[error("cache versions: {0}")]
    Versions(String),
    /// The database refused the commit.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// What a write changed: the scopes it touches and the rows it wrote with their new versions.
#[derive(Clone, Debug, Default)]
pub struct Change {
    scopes: Vec<&'static str>,
    rows: Vec<(String, i64)>,
}

impl Change {
    /// Nothing yet.
    pub fn new() -> Change {
        Change::default()
    }

    /// The write changes what `scope` covers.
    pub fn scope(&mut self, scope: &'static str) -> &mut Change {
        if !self.scopes.contains(&scope) {
            self.scopes.push(scope);
        }
        self
    }

    /// The write left row `tag` at `version` (`-1`: deleted).
    pub fn row(&mut self, tag: String, version: i64) -> &mut Change {
        self.rows.push((tag, version));
        self
    }

    /// Adds another change's scopes and rows.
    pub fn merge(&mut self, other: Change) -> &mut Change {
        for scope in other.scopes {
            self.scope(scope);
        }
        self.rows.extend(other.rows);
        self
    }

    /// True when the write changed nothing the cache knows about.
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty() && self.rows.is_empty()
    }
}

/// A cached response and what it was built from.
struct Entry {
    scopes: Vec<(&'static str, u64)>,
    rows: Vec<(String, i64)>,
    body: Bytes,
}

/// The scope values a miss read before building, to be stored with the entry.
#[derive(Debug)]
pub struct Snapshot {
    scopes: Vec<(&'static str, u64)>,
}

/// The answer of [`ResponseCache::lookup`].
#[derive(Debug)]
pub enum Lookup {
    /// A fresh cached body.
    Hit(Bytes),
    /// Build the response, then [`ResponseCache::store`] it with this snapshot.
    Miss(Snapshot),
    /// Build the response and do not store it (a write is in flight, or the versions could not
    /// be read, or the cache is off).
    Bypass,
}

/// Versions kept in this process: scope values with their in-flight marks, row mirrors.
#[derive(Default)]
struct LocalVersions {
    scopes: Mutex<HashMap<&'static str, LocalScope>>,
    rows: RwLock<HashMap<String, i64>>,
}

#[derive(Default)]
struct LocalScope {
    value: u64,
    in_flight: Vec<(u64, Instant)>,
}

struct Scripts {
    read: redis::Script,
    prepare: redis::Script,
    finish: redis::Script,
    heal: redis::Script,
}

enum Versions {
    Off,
    Local(Arc<LocalVersions>),
    Redis {
        conn: ConnectionManager,
        /// `{prefix}{cache}:` — the hash tag keeps every key in one Redis Cluster slot.
        prefix: String,
        scripts: Arc<Scripts>,
    },
}

/// Cached responses, checked against versions on every hit.
pub struct ResponseCache {
    versions: Versions,
    bodies: moka::future::Cache<String, Arc<Entry>>,
    max_entry: usize,
    window: Duration,
    counter: AtomicU64,
    skip_finish: AtomicBool,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache").finish_non_exhaustive()
    }
}

const READ: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[1])
local out = {}
for i = 1, n do
  local v = redis.call('GET', KEYS[i])
  if not v then
    redis.call('SET', KEYS[i], ARGV[1 + i], 'NX')
    v = redis.call('GET', KEYS[i])
  end
  if redis.call('ZCOUNT', KEYS[n + i], now, '+inf') > 0 then v = '' end
  out[i] = v
end
for j = 2 * n + 1, #KEYS do
  out[#out + 1] = redis.call('GET', KEYS[j]) or ''
end
return out
";

const PREPARE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[1])
local window = tonumber(ARGV[3])
for i = 1, n do
  redis.call('ZREMRANGEBYSCORE', KEYS[n + i], '-inf', now)
  redis.call('ZADD', KEYS[n + i], now + window, ARGV[2])
  redis.call('PEXPIRE', KEYS[n + i], window * 2)
  redis.call('SET', KEYS[i], ARGV[3 + i])
end
for j = 2 * n + 1, #KEYS do
  redis.call('SET', KEYS[j], ARGV[3 + n + j - 2 * n])
end
return 1
";

const FINISH: &str = r"
for i = 1, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
return 1
";

const HEAL: &str = r"
local out = {}
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i], 'NX')
  out[i] = redis.call('GET', KEYS[i])
end
return out
";

fn redis_error(error: redis::RedisError) -> CacheError {
    CacheError::Versions(error.to_string())
}

fn random_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A new scope value: random, so that values a lost Redis hands out again never repeat old
/// ones.
fn random_value() -> u64 {
    let (high, _) = uuid::Uuid::new_v4().as_u64_pair();
    high
}

impl ResponseCache {
    fn with(versions: Versions, max_bytes: u64) -> ResponseCache {
        let bodies = moka::future::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &String, entry: &Arc<Entry>| {
                let size = key.len()
                    + entry.body.len()
                    + entry.rows.iter().map(|(t, _)| t.len() + 16).sum::<usize>()
                    + entry.scopes.iter().map(|_| 40).sum::<usize>()
                    + 96;
                u32::try_from(size).unwrap_or(u32::MAX)
            })
            .build();
        ResponseCache {
            versions,
            bodies,
            max_entry: usize::try_from(max_bytes / 16)
                .unwrap_or(usize::MAX)
                .min(8 << 20),
            window: WRITE_WINDOW,
            counter: AtomicU64::new(1),
            skip_finish: AtomicBool::new(false),
        }
    }

    /// No caching: every response is built.
    pub fn off() -> ResponseCache {
        ResponseCache::with(Versions::Off, 0)
    }

    /// Versions in this process (one node), bodies bounded to `max_bytes`.
    pub fn local(max_bytes: u64) -> ResponseCache {
        ResponseCache::with(Versions::Local(Arc::default()), max_bytes)
    }

    /// Versions in Redis (every node), bodies bounded to `max_bytes` per node.
    pub fn redis(conn: ConnectionManager, prefix: &str, max_bytes: u64) -> ResponseCache {
        ResponseCache::with(
            Versions::Redis {
                conn,
                prefix: format!("{prefix}{{cache}}:"),
                scripts: Arc::new(Scripts {
                    read: redis::Script::new(READ),
                    prepare: redis::Script::new(PREPARE),
                    finish: redis::Script::new(FINISH),
                    heal: redis::Script::new(HEAL),
                }),
            },
            max_bytes,
        )
    }

    /// Shortens the write window (tests wait for it to pass).
    #[must_use]
    pub fn with_write_window(mut self, window: Duration) -> ResponseCache {
        self.window = window;
        self
    }

    /// Test hook: makes every write's finish step fail, as if Redis had gone away right after
    /// the commit, or the process had died there.
    #[doc(hidden)]
    pub fn fail_finish_steps(&self, fail: bool) {
        self.skip_finish.store(fail, Ordering::SeqCst);
    }

    /// True unless the cache is off.
    pub fn is_enabled(&self) -> bool {
        !matches!(self.versions, Versions::Off)
    }

    /// Bytes the bodies held in this process weigh now.
    pub async fn weighted_size(&self) -> u64 {
        self.bodies.run_pending_tasks().await;
        self.bodies.weighted_size()
    }

    /// Looks `key` up; `scopes` are what the response depends on beyond its rows.
    pub async fn lookup(&self, key: &str, scopes: &[&'static str]) -> Lookup {
        if !self.is_enabled() {
            return Lookup::Bypass;
        }
        let entry = self.bodies.get(key).await;
        let rows: Vec<&str> = entry
            .as_ref()
            .map(|e| e.rows.iter().map(|(tag, _)| tag.as_str()).collect())
            .unwrap_or_default();
        let (current_scopes, current_rows) = match self.read(scopes, &rows).await {
            Ok(read) => read,
            Err(error) => {
                tracing::warn!(%error, "cache versions unreadable; building the response");
                return Lookup::Bypass;
            }
        };
        let Some(current_scopes) = current_scopes else {
            return Lookup::Bypass;
        };
        if let Some(entry) = entry {
            let scopes_match = entry
                .scopes
                .iter()
                .zip(&current_scopes)
                .all(|((_, a), (_, b))| a == b)
                && entry.scopes.len() == current_scopes.len();
            let rows_match = entry
                .rows
                .iter()
                .zip(&current_rows)
                .all(|((_, version), current)| *current == Some(*version));
            if scopes_match && rows_match {
                return Lookup::Hit(entry.body.clone());
            }
        }
        Lookup::Miss(Snapshot {
            scopes: current_scopes,
        })
    }

    /// Stores a body built after a miss, with the rows (tag, version) it shows. Rows whose
    /// mirror is unknown (never written since the versions were lost or the process started)
    /// take the version read; an entry whose rows were written meanwhile is not stored.
    pub async fn store(
        &self,
        key: String,
        snapshot: Snapshot,
        rows: Vec<(String, i64)>,
        body: Bytes,
    ) {
        if body.len() > self.max_entry {
            return;
        }
        let mirrors = match self.heal(&rows).await {
            Ok(mirrors) => mirrors,
            Err(error) => {
                tracing::warn!(%error, "cache versions unwritable; response not stored");
                return;
            }
        };
        if rows
            .iter()
            .zip(&mirrors)
            .any(|((_, version), mirror)| *mirror != Some(*version))
        {
            return;
        }
        let entry = Entry {
            scopes: snapshot.scopes,
            rows,
            body,
        };
        self.bodies.insert(key, Arc::new(entry)).await;
    }

    /// Commits `tx` with the cache's prepare and finish steps around it (see the module docs).
    /// When prepare fails the transaction is rolled back and nothing has changed.
    pub async fn commit(&self, tx: DatabaseTransaction, change: Change) -> Result<(), CacheError> {
        if !self.is_enabled() || change.is_empty() {
            tx.commit().await?;
            return Ok(());
        }
        let token = self.next_token();
        let started = Instant::now();
        if let Err(error) = self.prepare(&change, &token).await {
            tx.rollback().await?;
            return Err(error);
        }
        // Finish runs whatever happens from here on: on drop, in a task of its own.
        let mut finish = Finish {
            versions: match &self.versions {
                Versions::Local(local) => FinishTarget::Local(local.clone()),
                Versions::Redis {
                    conn,
                    prefix,
                    scripts,
                } => FinishTarget::Redis {
                    conn: conn.clone(),
                    prefix: prefix.clone(),
                    scripts: scripts.clone(),
                },
                Versions::Off => FinishTarget::None,
            },
            scopes: change.scopes.clone(),
            token,
            pending: !self.skip_finish.load(Ordering::SeqCst),
        };
        if started.elapsed() > self.window / 2 {
            tx.rollback().await?;
            drop(finish);
            return Err(CacheError::Versions(
                "the cache's prepare step took longer than half the write window".to_owned(),
            ));
        }
        let committed = tx.commit().await;
        if let Some(handle) = finish.run() {
            // Awaited so the next read normally finds no mark; a cancelled request leaves the
            // task running.
            let _ = handle.await;
        }
        Ok(committed?)
    }

    fn next_token(&self) -> String {
        match self.versions {
            Versions::Local(_) => self.counter.fetch_add(1, Ordering::SeqCst).to_string(),
            _ => random_token(),
        }
    }

    /// The scope values (`None` when one is in flight) and row mirrors now.
    async fn read(
        &self,
        scopes: &[&'static str],
        rows: &[&str],
    ) -> Result<(Option<Vec<(&'static str, u64)>>, Vec<Option<i64>>), CacheError> {
        match &self.versions {
            Versions::Off => Ok((None, Vec::new())),
            Versions::Local(local) => {
                let now = Instant::now();
                let mut values = Vec::with_capacity(scopes.len());
                {
                    let mut map = local.scopes.lock().unwrap_or_else(PoisonError::into_inner);
                    for scope in scopes {
                        let state = map.entry(scope).or_default();
                        state.in_flight.retain(|(_, until)| *until > now);
                        if !state.in_flight.is_empty() {
                            return Ok((None, Vec::new()));
                        }
                        values.push((*scope, state.value));
                    }
                }
                let map = local.rows.read().unwrap_or_else(PoisonError::into_inner);
                let mirrors = rows.iter().map(|tag| map.get(*tag).copied()).collect();
                Ok((Some(values), mirrors))
            }
            Versions::Redis {
                conn,
                prefix,
                scripts,
            } => {
                let mut keys: Vec<String> = Vec::with_capacity(scopes.len() * 2 + rows.len());
                keys.extend(scopes.iter().map(|s| format!("{prefix}v:{s}")));
                keys.extend(scopes.iter().map(|s| format!("{prefix}w:{s}")));
                keys.extend(rows.iter().map(|r| format!("{prefix}m:{r}")));
                let mut invocation = scripts.read.key(keys);
                invocation.arg(scopes.len());
                for _ in scopes {
                    invocation.arg(random_value());
                }
                let values: Vec<String> = invocation
                    .invoke_async(&mut conn.clone())
                    .await
                    .map_err(redis_error)?;
                let (scope_values, row_values) = values.split_at(scopes.len().min(values.len()));
                let mut scope_list = Vec::with_capacity(scopes.len());
                for (scope, value) in scopes.iter().zip(scope_values) {
                    // An empty value: a write is in flight.
                    let Ok(value) = value.parse::<u64>() else {
                        return Ok((None, Vec::new()));
                    };
                    scope_list.push((*scope, value));
                }
                let scope_values = scope_list;
                let mirrors = row_values.iter().map(|v| v.parse().ok()).collect();
                Ok((Some(scope_values), mirrors))
            }
        }
    }

    async fn prepare(&self, change: &Change, token: &str) -> Result<(), CacheError> {
        match &self.versions {
            Versions::Off => Ok(()),
            Versions::Local(local) => {
                let until = Instant::now() + self.window;
                {
                    let mut map = local.scopes.lock().unwrap_or_else(PoisonError::into_inner);
                    for scope in &change.scopes {
                        let state = map.entry(scope).or_default();
                        state.value = self.counter.fetch_add(1, Ordering::SeqCst);
                        state.in_flight.push((token.parse().unwrap_or(0), until));
                    }
                }
                let mut rows = local.rows.write().unwrap_or_else(PoisonError::into_inner);
                for (tag, version) in &change.rows {
                    rows.insert(tag.clone(), *version);
                }
                Ok(())
            }
            Versions::Redis {
                conn,
                prefix,
                scripts,
            } => {
                let mut keys: Vec<String> = Vec::new();
                keys.extend(change.scopes.iter().map(|s| format!("{prefix}v:{s}")));
                keys.extend(change.scopes.iter().map(|s| format!("{prefix}w:{s}")));
                keys.extend(change.rows.iter().map(|(r, _)| format!("{prefix}m:{r}")));
                let window = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX);
                let mut script = scripts.prepare.key(keys);
                script.arg(change.scopes.len()).arg(token).arg(window);
                for _ in &change.scopes {
                    script.arg(random_value());
                }
                for (_, version) in &change.rows {
                    script.arg(*version);
                }
                script
                    .invoke_async::<i64>(&mut conn.clone())
                    .await
                    .map_err(redis_error)?;
                Ok(())
            }
        }
    }

    /// Sets unknown row mirrors to the versions given; returns every mirror afterwards.
    async fn heal(&self, rows: &[(String, i64)]) -> Result<Vec<Option<i64>>, CacheError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        match &self.versions {
            Versions::Off => Ok(vec![None; rows.len()]),
            Versions::Local(local) => {
                let mut map = local.rows.write().unwrap_or_else(PoisonError::into_inner);
                Ok(rows
                    .iter()
                    .map(|(tag, version)| Some(*map.entry(tag.clone()).or_insert(*version)))
                    .collect())
            }
            Versions::Redis {
                conn,
                prefix,
                scripts,
            } => {
                let keys: Vec<String> =
                    rows.iter().map(|(r, _)| format!("{prefix}m:{r}")).collect();
                let mut script = scripts.heal.key(keys);
                for (_, version) in rows {
                    script.arg(*version);
                }
                let values: Vec<Option<String>> = script
                    .invoke_async(&mut conn.clone())
                    .await
                    .map_err(redis_error)?;
                Ok(values
                    .into_iter()
                    .map(|v| v.and_then(|v| v.parse().ok()))
                    .collect())
            }
        }
    }
}

enum FinishTarget {
    None,
    Local(Arc<LocalVersions>),
    Redis {
        conn: ConnectionManager,
        prefix: String,
        scripts: Arc<Scripts>,
    },
}

/// A write's finish step: removes its in-flight marks. Runs once — when asked, or when dropped
/// (a cancelled request), in a task of its own for Redis.
struct Finish {
    versions: FinishTarget,
    scopes: Vec<&'static str>,
    token: String,
    pending: bool,
}

impl Finish {
    fn run(&mut self) -> Option<tokio::task::JoinHandle<()>> {
        if !std::mem::take(&mut self.pending) {
            return None;
        }
        match &self.versions {
            FinishTarget::None => None,
            FinishTarget::Local(local) => {
                let token: u64 = self.token.parse().unwrap_or(0);
                let mut map = local.scopes.lock().unwrap_or_else(PoisonError::into_inner);
                for scope in &self.scopes {
                    if let Some(state) = map.get_mut(scope) {
                        state.in_flight.retain(|(t, _)| *t != token);
                    }
                }
                None
            }
            FinishTarget::Redis {
                conn,
                prefix,
                scripts,
            } => {
                let keys: Vec<String> = self
                    .scopes
                    .iter()
                    .map(|s| format!("{prefix}w:{s}"))
                    .collect();
                let mut conn = conn.clone();
                let scripts = scripts.clone();
                let token = self.token.clone();
                let handle = tokio::runtime::Handle::try_current().ok()?;
                Some(handle.spawn(async move {
                    let done = scripts
                        .finish
                        .key(keys)
                        .arg(token)
                        .invoke_async::<i64>(&mut conn)
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
