//! The versions in Redis (every node): the prepare, heal and read steps of the protocol, each
//! answered from this node's copy of the change log where it can be.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::redis_link::RedisLink;
use tokio::sync::{mpsc, oneshot};

use super::follower::{self, Follower, LogEntry, Seen};
use super::reader::ReadRequest;
use super::{CacheError, Change, Current, Finish, Target, random_value, redis_error};

/// The Redis side: one connection, the key prefix, the scripts (loaded once, run by hash), the
/// queue of reads, and this node's copy of the versions, kept from the change log.
pub(in crate::cache) struct Redis {
    pub(super) conn: RedisLink,
    /// `{prefix}{cache}:` — the hash tag keeps every key in one Redis Cluster slot.
    pub(super) prefix: String,
    pub(super) prepare: redis::Script,
    pub(super) finish: redis::Script,
    pub(super) heal: redis::Script,
    pub(super) reads: mpsc::Sender<ReadRequest>,
    pub(super) follower: Arc<Follower>,
}

impl Redis {
    pub(super) async fn read(
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

    pub(super) async fn prepare(
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
        self.conn
            .run(|mut conn| async move { script.invoke_async::<i64>(&mut conn).await })
            .await
            .map_err(redis_error)?;
        finish.returns_after = Some(Instant::now() + follower::LEASE);
        Ok(finish)
    }

    pub(super) async fn heal(
        &self,
        rows: &[(String, i64)],
    ) -> Result<Vec<Option<i64>>, CacheError> {
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
        let values: Vec<Option<String>> = self
            .conn
            .run(|mut conn| async move { script.invoke_async(&mut conn).await })
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
