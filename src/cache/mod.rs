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
//! **Reads without a round trip.** With Redis, the prepare and finish steps also append their
//! change to a log (a Redis stream) that every node follows a few milliseconds behind into its
//! own copy of the versions (`follower.rs`). A read checks the copy — no network — while the
//! node's last completed poll of the log started less than the lease (10 ms) ago, and a write
//! returns no sooner than the lease after its prepare step; so the copy a read uses always
//! holds every write that returned before the read began. A node whose polls are late, or
//! that has not learnt a version yet, reads Redis as described above.
//!
//! **What is guaranteed.** Once a write has returned — whatever happened to step 3: Redis failing,
//! the request cancelled, the process killed — no node serves a response built from data the
//! write replaced (with Redis, a write returns only after the lease, so a node following the
//! log has it; a node that stopped following reads Redis). A row's mirror names a version that
//! only the committed write can have produced, so an entry built before the commit never
//! matches it; a scope's new value is only readable without its in-flight mark after step 3 or
//! after the window (30 s), by which time
//! the commit has happened (prepare refuses to let a commit start later than half the window
//! after it); and a commit that somehow lands later still is covered by the finish step giving
//! its scopes new values once more. If Redis does not answer a read, the response is built from
//! the database. Outside the guarantee: Redis *losing* or *rolling back* keys it acknowledged —
//! a flush or an eviction (run it with `maxmemory-policy noeviction` or a `volatile-*` policy:
//! none of these keys has an expiry), or a restart from a snapshot or a failover to a replica
//! that had not received the latest writes (run it without persistence, so that it restarts
//! empty, or with `appendfsync always`); and nodes of a version without the change log writing
//! to the same Redis (stop them before starting this version, or give it another
//! `EMPORIUM_REDIS_PREFIX`).
//!
//! Only the small version keys are in Redis (one per product written, a few per scope) and the
//! change log (about 20,000 entries, trimmed as it grows, and its counter); the bodies are in
//! each node's memory, bounded by `EMPORIUM_CACHE_BYTES`, and each node's copy of the versions
//! holds one number per product written and per scope.

mod aliases;
mod bodies;
mod follower;
mod scripts;
mod values;
mod versions;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::redis_link::RedisLink;
use bytes::Bytes;
use sea_orm::{DatabaseTransaction, DbErr};

pub use aliases::{Alias, CachedAs};
use bodies::Bodies;
use versions::Versions;

/// The maps a hit reads (bodies by key, versions by scope and row): foldhash, seeded at random per
/// map. The standard SipHash was a twentieth of a cached read; keys come from requests, so the
/// seed stays random.
type Map<K, V> = std::collections::HashMap<K, V, foldhash::quality::RandomState>;

/// Scope values now, and row mirrors (`None`: unknown): what a node reads of the versions.
type Current = (Vec<(&'static str, u64)>, Vec<Option<i64>>);

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

impl Entry {
    /// What the entry weighs against the byte budget (its key included).
    fn weight(&self, key: &str) -> u64 {
        let rows: usize = self.rows.iter().map(|(tag, _)| tag.len() + 40).sum();
        let size = key.len() + self.body.len() + rows + self.scopes.len() * 24 + 160;
        u64::try_from(size).unwrap_or(u64::MAX)
    }
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

/// How a cached read was answered, for `cache_lookups_total{result}`.
#[derive(Clone, Copy, Debug)]
pub enum Served {
    /// From a fresh entry.
    Hit = 0,
    /// Built and stored.
    Miss = 1,
    /// Built and not stored.
    Bypass = 2,
}

/// Counts a cached read in `cache_lookups_total` by how it was answered (the handles are made
/// once).
pub fn count_lookup(served: Served) {
    static COUNTERS: std::sync::LazyLock<[metrics::Counter; 3]> = std::sync::LazyLock::new(|| {
        ["hit", "miss", "bypass"]
            .map(|result| metrics::counter!("cache_lookups_total", "result" => result))
    });
    COUNTERS[served as usize].increment(1);
}

/// Cached responses, checked against versions on every hit.
pub struct ResponseCache {
    versions: Versions,
    bodies: Bodies<Entry>,
    aliases: Bodies<Alias>,
    window: Duration,
    lose_finish_steps: AtomicBool,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache").finish_non_exhaustive()
    }
}

impl ResponseCache {
    fn with(versions: Versions, max_bytes: u64) -> ResponseCache {
        ResponseCache {
            versions,
            bodies: Bodies::new(max_bytes),
            // A sixteenth of the budget beside the bodies: about 100,000 URLs in 16 MiB.
            aliases: Bodies::new(max_bytes / 16),
            window: WRITE_WINDOW,
            lose_finish_steps: AtomicBool::new(false),
        }
    }

    /// No caching: every response is built.
    pub fn off() -> ResponseCache {
        ResponseCache::with(Versions::Off, 0)
    }

    /// Versions in this process (one node), bodies bounded to `max_bytes`.
    pub fn local(max_bytes: u64) -> ResponseCache {
        ResponseCache::with(Versions::local(), max_bytes)
    }

    /// Versions in Redis (every node), bodies bounded to `max_bytes` per node.
    pub fn redis(conn: RedisLink, prefix: &str, max_bytes: u64) -> ResponseCache {
        ResponseCache::with(Versions::redis(conn, prefix), max_bytes)
    }

    /// Sets how long a write's in-flight mark outlives a lost finish step.
    #[must_use]
    pub fn with_write_window(mut self, window: Duration) -> ResponseCache {
        self.window = window;
        self
    }

    /// Test hook: every write's finish step is lost from now on, as if Redis had gone away
    /// right after the commit, or the process had died there.
    #[doc(hidden)]
    pub fn fail_finish_steps(&self, fail: bool) {
        self.lose_finish_steps.store(fail, Ordering::SeqCst);
    }

    /// Test hook: this node stops following the change log (`true`), as a node that stalls
    /// would, or follows it again. Without Redis it does nothing.
    #[doc(hidden)]
    pub fn pause_following(&self, paused: bool) {
        self.versions.pause_following(paused);
    }

    /// True unless the cache is off.
    pub fn is_enabled(&self) -> bool {
        !matches!(self.versions, Versions::Off)
    }

    /// Bytes the bodies held in this process weigh now.
    pub fn weighted_size(&self) -> u64 {
        self.bodies.weight()
    }

    /// Looks `key` up; `scopes` are what the response depends on beyond its rows.
    pub async fn lookup(&self, key: &str, scopes: &[&'static str]) -> Lookup {
        if !self.is_enabled() {
            return Lookup::Bypass;
        }
        let entry = self.bodies.get(key);
        let rows: Vec<&str> = entry
            .as_ref()
            .map(|e| e.rows.iter().map(|(tag, _)| tag.as_str()).collect())
            .unwrap_or_default();
        let (current_scopes, current_rows) = match self.versions.read(scopes, &rows).await {
            Ok(Some(current)) => current,
            Ok(None) => return Lookup::Bypass,
            Err(error) => {
                tracing::warn!(%error, "cache versions unreadable; building the response");
                return Lookup::Bypass;
            }
        };
        if let Some(entry) = entry {
            let scopes_match = entry.scopes == current_scopes;
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
        let mirrors = match self.versions.heal(&rows).await {
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
        let weight = entry.weight(&key);
        self.bodies.insert(key, entry, weight);
    }

    /// Commits `tx` with the cache's prepare and finish steps around it (see the module docs).
    /// When prepare fails the transaction is rolled back and nothing has changed.
    pub async fn commit(&self, tx: DatabaseTransaction, change: Change) -> Result<(), CacheError> {
        if !self.is_enabled() || change.is_empty() {
            tx.commit().await?;
            return Ok(());
        }
        let started = Instant::now();
        // From here on the finish step runs whatever happens: when dropped, in a task of its own.
        let mut finish = match self.versions.prepare(&change, self.window).await {
            Ok(finish) => finish,
            Err(error) => {
                tx.rollback().await?;
                return Err(error);
            }
        };
        let returns_after = finish.returns_after;
        if self.lose_finish_steps.load(Ordering::SeqCst) {
            finish.lose();
            tx.commit().await?;
            wait_until(returns_after).await;
            return Ok(());
        }
        if started.elapsed() > self.window / 2 {
            tx.rollback().await?;
            return Err(CacheError::Versions(
                "the cache's prepare step took longer than half the write window".to_owned(),
            ));
        }
        // The commit and the finish step run in a task of their own, so a request cancelled
        // while its COMMIT is on the wire cannot remove the marks before the commit lands.
        let steps = tokio::spawn(async move {
            let committed = tx.commit().await;
            if let Some(task) = finish.run() {
                let _ = task.await;
            }
            committed
        });
        let committed = steps
            .await
            .map_err(|e| CacheError::Versions(format!("the commit task failed: {e}")))?;
        wait_until(returns_after).await;
        Ok(committed?)
    }
}

/// Holds a write back until the followers' lease has passed since its prepare step.
async fn wait_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at.into()).await;
    }
}
