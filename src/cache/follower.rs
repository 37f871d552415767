//! The change log every node follows, so that a cached read on a node sharing Redis asks Redis
//! nothing.
//!
//! Every prepare and finish step (see the module docs of `crate::cache`) also appends its change
//! to a Redis stream, the *log*, in the same script that changes the version keys, numbered by a
//! counter. Each node polls the log every few milliseconds into its own copy of the versions it
//! has learnt; a version it has not learnt yet is read from Redis, and learnt.
//!
//! **The lease.** A node may answer from its copy only while its last completed poll *started*
//! less than [`LEASE`] ago, and a write returns no sooner than [`LEASE`] after Redis acknowledged
//! its prepare step. A write that returned before a read began was therefore appended before
//! that read's poll was sent, so it is in the copy the read uses. Only durations measured on
//! one machine are compared; the machines' clocks need not agree. A node whose poll is late
//! (busy, or Redis slow) reads Redis directly, as if it had no copy.
//!
//! **Learning without missing a change.** A read from Redis returns the log's counter in the
//! same atomic script; what it read is learnt only if no log entry after that number could have
//! been skipped for it (scopes: the copy has applied at least that far; rows: every log entry
//! teaches the row it names, so an unknown row has none pending). A gap in the counter — the
//! log trimmed past a node that fell behind, Redis restarted or flushed — makes the node forget
//! its whole copy (a new *generation*, so reads already under way learn nothing) and start
//! again from the log's end.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use crate::redis_link::RedisLink;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::scripts::POLL;
use super::{CacheError, Current, Map};

/// How long a completed poll vouches for a node's copy, and how long a write waits after its
/// prepare step before it returns. Every node must use the same value: it is not a setting.
pub(super) const LEASE: Duration = Duration::from_millis(10);

/// How often a node that is serving reads polls the log.
const POLL_EVERY: Duration = Duration::from_millis(2);

/// How often an idle node polls (a read that finds the lease expired wakes it at once).
const IDLE_POLL_EVERY: Duration = Duration::from_millis(250);

/// Polls without a read in between after which a node counts as idle (about a second).
const IDLE_AFTER_POLLS: u32 = 400;

/// Most entries one poll fetches.
const POLL_COUNT: usize = 512;

/// About how many entries the log keeps (`XADD … MAXLEN ~`): several seconds of a busy shop's
/// writes. A node further behind than that starts again from the end.
pub(super) const LOG_LENGTH: usize = 20_000;

/// A stream entry id, ordered as Redis orders them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct EntryId(u64, u64);

impl EntryId {
    fn parse(text: &str) -> Option<EntryId> {
        let (ms, seq) = text.split_once('-')?;
        Some(EntryId(ms.parse().ok()?, seq.parse().ok()?))
    }

    fn to_redis(self) -> String {
        format!("{}-{}", self.0, self.1)
    }
}

/// One change as the log holds it (JSON in the entry's `d` field).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "k")]
pub(super) enum LogEntry {
    /// A prepare step: new scope values with a mark (token, window in ms), row mirrors.
    #[serde(rename = "p")]
    Prepare {
        t: String,
        w: u64,
        s: Vec<(String, u64)>,
        r: Vec<(String, i64)>,
    },
    /// A finish step: the token's marks are removed from these scopes, which take new values.
    #[serde(rename = "f")]
    Finish { t: String, s: Vec<(String, u64)> },
}

/// A scope as read from Redis: its value and its unexpired marks (token, ms left).
#[derive(Debug)]
pub(super) struct SeenScope {
    pub(super) value: u64,
    pub(super) marks: Vec<(String, u64)>,
}

/// What one read of Redis saw, and the log's counter at that instant (`None`: none yet).
#[derive(Debug)]
pub(super) struct Seen {
    pub(super) at: Option<u64>,
    pub(super) scopes: Vec<(&'static str, SeenScope)>,
    pub(super) rows: Vec<(String, Option<i64>)>,
}

struct KnownScope {
    value: u64,
    marks: Vec<(String, Instant)>,
}

impl KnownScope {
    fn in_flight(&self, now: Instant) -> bool {
        self.marks.iter().any(|(_, until)| *until > now)
    }
}

/// Where the copy stands in the log: the last entry applied and its number.
#[derive(Clone, Copy)]
struct Position {
    id: EntryId,
    seq: u64,
}

#[derive(Default)]
struct Known {
    generation: u64,
    position: Option<Position>,
    scopes: Map<&'static str, KnownScope>,
    rows: Map<String, i64>,
}

/// A node's copy of the versions, kept up to date from the log.
pub(super) struct Follower {
    known: RwLock<Known>,
    epoch: Instant,
    /// When the last completed poll started (nanoseconds after `epoch`; 0: never).
    lease_start: AtomicU64,
    /// A read came since the last poll (poll often while this is so).
    wanted: AtomicBool,
    paused: AtomicBool,
    wake: Arc<Notify>,
}

impl Follower {
    /// A follower of the log at `log` (counter at `seq`), polling in a task of its own that
    /// ends when the follower is dropped.
    pub(super) fn start(conn: RedisLink, log: String, seq: String) -> Arc<Follower> {
        let follower = Arc::new(Follower {
            known: RwLock::default(),
            epoch: Instant::now(),
            lease_start: AtomicU64::new(0),
            wanted: AtomicBool::new(true),
            paused: AtomicBool::new(false),
            wake: Arc::new(Notify::new()),
        });
        let poller = Poller {
            conn,
            log,
            seq,
            script: redis::Script::new(POLL),
        };
        tokio::spawn(poller.run(Arc::downgrade(&follower), follower.wake.clone()));
        follower
    }

    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.duration_since(self.epoch).as_nanos())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// True while the last completed poll started less than [`LEASE`] ago.
    fn leased(&self) -> bool {
        let start = self.lease_start.load(Ordering::Acquire);
        start != 0 && self.nanos(Instant::now()).saturating_sub(start) < lease_nanos()
    }

    /// The generation reads must quote to [`Follower::learn`] what they see.
    pub(super) fn generation(&self) -> u64 {
        self.read_known().generation
    }

    /// The versions of `scopes` and `rows` from the copy, when the lease holds and every one
    /// is known: `Some(None)` while a scope has a write in flight. `None`: read Redis.
    pub(super) fn read(&self, scopes: &[&'static str], rows: &[&str]) -> Option<Option<Current>> {
        if !self.wanted.load(Ordering::Relaxed) {
            self.wanted.store(true, Ordering::Relaxed);
        }
        if !self.leased() {
            self.wake.notify_one();
            return None;
        }
        let known = self.read_known();
        let now = Instant::now();
        let mut values = Vec::with_capacity(scopes.len());
        let mut in_flight = false;
        for name in scopes {
            let scope = known.scopes.get(name)?;
            in_flight |= scope.in_flight(now);
            values.push((*name, scope.value));
        }
        let mut mirrors = Vec::with_capacity(rows.len());
        for tag in rows {
            mirrors.push(Some(*known.rows.get(*tag)?));
        }
        Some((!in_flight).then_some((values, mirrors)))
    }

    /// The mirrors of `rows` when the lease holds and every one is known (a late copy would
    /// refuse entries built from newer rows than it knows).
    pub(super) fn mirrors(&self, rows: &[(String, i64)]) -> Option<Vec<Option<i64>>> {
        if !self.leased() {
            return None;
        }
        let known = self.read_known();
        rows.iter()
            .map(|(tag, _)| known.rows.get(tag).map(|v| Some(*v)))
            .collect()
    }

    /// Learns what a read of Redis saw, taken in `generation` (see the module docs).
    pub(super) fn learn(&self, generation: u64, seen: &Seen) {
        let now = Instant::now();
        let mut known = self.write_known();
        let Some(position) = known.position else {
            return;
        };
        if known.generation != generation {
            return;
        }
        let Some(at) = seen.at else {
            return;
        };
        if at >= position.seq {
            for (name, scope) in &seen.scopes {
                known.scopes.entry(name).or_insert_with(|| KnownScope {
                    value: scope.value,
                    marks: scope
                        .marks
                        .iter()
                        .map(|(token, left)| (token.clone(), now + Duration::from_millis(*left)))
                        .collect(),
                });
            }
        }
        for (tag, mirror) in &seen.rows {
            if let Some(mirror) = mirror
                && !known.rows.contains_key(tag)
            {
                known.rows.insert(tag.clone(), *mirror);
            }
        }
    }

    /// Test hook: the poller stops (`true`) or goes on (`false`), as a node that stalls would.
    pub(super) fn pause(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
        self.wake.notify_one();
    }

    fn read_known(&self) -> std::sync::RwLockReadGuard<'_, Known> {
        self.known.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_known(&self) -> std::sync::RwLockWriteGuard<'_, Known> {
        self.known.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets the copy and starts again at `position`.
    fn restart(&self, position: Position) {
        let mut known = self.write_known();
        known.generation += 1;
        known.position = Some(position);
        known.scopes.clear();
        known.rows.clear();
    }

    /// Applies entries in order; false when their numbers leave a gap (then nothing after the
    /// gap is applied and the copy must start again).
    fn apply(&self, entries: Vec<(EntryId, u64, LogEntry)>) -> bool {
        let now = Instant::now();
        let mut known = self.write_known();
        let Some(mut position) = known.position else {
            return false;
        };
        for (id, seq, entry) in entries {
            if position.seq.checked_add(1) != Some(seq) {
                known.position = None;
                return false;
            }
            position = Position { id, seq };
            match entry {
                LogEntry::Prepare { t, w, s, r } => {
                    for (name, value) in s {
                        if let Some(scope) = known.scopes.get_mut(name.as_str()) {
                            scope.marks.retain(|(_, until)| *until > now);
                            scope
                                .marks
                                .push((t.clone(), now + Duration::from_millis(w)));
                            scope.value = value;
                        }
                    }
                    for (tag, version) in r {
                        known.rows.insert(tag, version);
                    }
                }
                LogEntry::Finish { t, s } => {
                    for (name, value) in s {
                        if let Some(scope) = known.scopes.get_mut(name.as_str()) {
                            scope.marks.retain(|(token, _)| *token != t);
                            scope.value = value;
                        }
                    }
                }
            }
        }
        known.position = Some(position);
        true
    }
}

fn lease_nanos() -> u64 {
    u64::try_from(LEASE.as_nanos()).unwrap_or(u64::MAX)
}

/// A new starting number for the log's counter: random, so that a counter Redis lost and began
/// again is never mistaken for the old one; below 10^12 so that Lua's numbers hold it exactly.
pub(super) fn counter_start() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0 % 1_000_000_000_000
}

/// The task that polls the log.
struct Poller {
    conn: RedisLink,
    log: String,
    seq: String,
    script: redis::Script,
}

/// How a poll ended.
enum Polled {
    /// The copy now holds every entry appended before the poll started.
    CaughtUp,
    /// A gap: the copy was dropped; poll again to start from the end.
    Gap,
}

impl Poller {
    async fn run(self, follower: Weak<Follower>, wake: Arc<Notify>) {
        let mut failing = false;
        let mut quiet_polls = 0_u32;
        loop {
            let Some(node) = follower.upgrade() else {
                return;
            };
            if node.wanted.swap(false, Ordering::Relaxed) {
                quiet_polls = 0;
            } else {
                quiet_polls = quiet_polls.saturating_add(1);
            }
            let idle = quiet_polls >= IDLE_AFTER_POLLS;
            if !node.paused.load(Ordering::SeqCst) {
                let started = Instant::now();
                match self.poll(&node).await {
                    Ok(Polled::CaughtUp) => {
                        node.lease_start
                            .store(node.nanos(started), Ordering::Release);
                        failing = false;
                    }
                    Ok(Polled::Gap) => continue,
                    Err(error) => {
                        if !failing {
                            tracing::warn!(%error, "cache log unreadable; reads ask Redis");
                        }
                        failing = true;
                    }
                }
            }
            drop(node);
            let pause = if idle { IDLE_POLL_EVERY } else { POLL_EVERY };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = wake.notified(), if idle => {}
            }
        }
    }

    /// Reads the log until the copy has caught up with it.
    async fn poll(&self, node: &Follower) -> Result<Polled, CacheError> {
        loop {
            let position = node.read_known().position;
            let after = position.map(|p| p.id.to_redis()).unwrap_or_default();
            let mut invocation = self.script.key(&self.log);
            invocation
                .key(&self.seq)
                .arg(&after)
                .arg(POLL_COUNT)
                .arg(counter_start());
            let reply: Vec<String> = self
                .conn
                .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
                .await
                .map_err(|e| CacheError::Versions(e.to_string()))?;
            let malformed = || CacheError::Versions("malformed cache log reply".to_owned());
            let counter: u64 = reply
                .first()
                .and_then(|s| s.parse().ok())
                .ok_or_else(malformed)?;
            let last = reply
                .get(1)
                .and_then(|s| EntryId::parse(s))
                .ok_or_else(malformed)?;
            if position.is_none() {
                node.restart(Position {
                    id: last,
                    seq: counter,
                });
                return Ok(Polled::CaughtUp);
            }
            let mut entries = Vec::with_capacity(reply.len() / 3);
            for chunk in reply[2..].chunks(3) {
                let [id, seq, data] = chunk else {
                    return Err(malformed());
                };
                let id = EntryId::parse(id).ok_or_else(malformed)?;
                let seq: u64 = seq.parse().map_err(|_| malformed())?;
                let Ok(entry) = serde_json::from_str::<LogEntry>(data) else {
                    // An entry no node can read: start again after it, as after a gap.
                    node.write_known().position = None;
                    return Ok(Polled::Gap);
                };
                entries.push((id, seq, entry));
            }
            let full = entries.len() >= POLL_COUNT;
            if !node.apply(entries) {
                return Ok(Polled::Gap);
            }
            if full {
                continue;
            }
            let mut known = node.write_known();
            if known.position.map(|p| (p.seq, p.id)) != Some((counter, last)) {
                // Entries this node never saw were trimmed, or Redis began a new counter, or
                // came back with older entries than this node had read.
                known.position = None;
                return Ok(Polled::Gap);
            }
            return Ok(Polled::CaughtUp);
        }
    }
}
