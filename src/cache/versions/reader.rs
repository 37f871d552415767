//! The Redis versions' batched reads: one task answers every lookup the node's copy cannot,
//! with one round trip per batch, and teaches the copy what it saw.

use std::collections::HashMap;
use std::sync::Arc;

use crate::redis_link::RedisLink;
use tokio::sync::{mpsc, oneshot};

use super::follower::{Follower, Seen, SeenScope};
use super::{CacheError, Current, random_value, redis_error};

/// One lookup's read, waiting for the next batch.
pub(super) struct ReadRequest {
    pub(super) scopes: Vec<&'static str>,
    pub(super) rows: Vec<String>,
    pub(super) reply: oneshot::Sender<Result<Option<Current>, CacheError>>,
}

/// Most reads answered by one round trip.
pub(super) const MAX_BATCH: usize = 256;

/// Reads versions for the lookups the node's copy cannot answer, in batches: one task takes
/// whatever lookups are waiting, asks Redis once for the union of their keys, teaches the copy
/// what it saw, and answers each. A lookup joins a batch that starts after it was queued, so it
/// still sees every write that returned before it began.
pub(super) struct Reader {
    pub(super) conn: RedisLink,
    pub(super) prefix: String,
    pub(super) script: redis::Script,
    pub(super) follower: Arc<Follower>,
}

impl Reader {
    pub(super) async fn run(self, mut requests: mpsc::Receiver<ReadRequest>) {
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
        let values: Vec<String> = self
            .conn
            .run(|mut conn| async move { invocation.invoke_async(&mut conn).await })
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
