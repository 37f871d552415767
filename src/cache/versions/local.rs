//! The in-process versions (one node): scope values with their in-flight marks, and row
//! mirrors, in this process's memory.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use super::{Change, Current, Finish, Target};
use crate::cache::Map;

/// Scope values with their in-flight marks, and row mirrors, in this process.
pub(in crate::cache) struct Local {
    pub(super) scopes: RwLock<Map<&'static str, Arc<LocalScope>>>,
    pub(super) rows: RwLock<Map<String, i64>>,
    pub(super) epoch: Instant,
    pub(super) counter: AtomicU64,
}

/// One scope: its value, how many writes are in flight, and when the last of their marks ends
/// (nanoseconds after `Local::epoch`). A write raises the deadline, then the count, then sets
/// the value; a reader loads them in the opposite order, so a reader that sees a new value also
/// sees its write in flight.
#[derive(Default)]
pub(super) struct LocalScope {
    value: AtomicU64,
    pub(super) in_flight: AtomicU32,
    deadline: AtomicU64,
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

    pub(super) fn read(&self, scopes: &[&'static str], rows: &[&str]) -> Option<Current> {
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

    pub(super) fn prepare(self: &Arc<Local>, change: &Change, window: Duration) -> Finish {
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

    pub(super) fn heal(&self, rows: &[(String, i64)]) -> Vec<Option<i64>> {
        let mut map = self.rows.write().unwrap_or_else(PoisonError::into_inner);
        rows.iter()
            .map(|(tag, version)| Some(*map.entry(tag.clone()).or_insert(*version)))
            .collect()
    }
}
