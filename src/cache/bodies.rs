//! The cached bodies of one process: a map in 16 shards, each bounded to a sixteenth of the byte
//! budget. A read takes one shard's read lock and marks the entry used; an insert that would
//! pass the shard's budget evicts by the clock rule (an entry used since the hand last passed is
//! spared once), so hot entries stay and a flood of one-off keys only evicts its own kind.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use foldhash::quality::RandomState;

use super::Map;

const SHARDS: usize = 16;

struct Slot<V> {
    value: Arc<V>,
    weight: u64,
    used: AtomicBool,
}

struct Shard<V> {
    map: Map<String, Slot<V>>,
    weight: u64,
}

/// Values by key, bounded in bytes as their weigher counts them.
pub(super) struct Bodies<V> {
    shards: Vec<RwLock<Shard<V>>>,
    hasher: RandomState,
    shard_budget: u64,
}

impl<V> Bodies<V> {
    /// An empty map that holds at most `budget` bytes.
    pub(super) fn new(budget: u64) -> Bodies<V> {
        Bodies {
            shards: (0..SHARDS)
                .map(|_| {
                    RwLock::new(Shard {
                        map: Map::default(),
                        weight: 0,
                    })
                })
                .collect(),
            hasher: RandomState::default(),
            shard_budget: budget / SHARDS as u64,
        }
    }

    fn shard(&self, key: &str) -> &RwLock<Shard<V>> {
        let index = usize::try_from(self.hasher.hash_one(key) % SHARDS as u64).unwrap_or(0);
        &self.shards[index]
    }

    /// The value under `key`, marked used.
    pub(super) fn get(&self, key: &str) -> Option<Arc<V>> {
        let shard = self
            .shard(key)
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let slot = shard.map.get(key)?;
        if !slot.used.load(Ordering::Relaxed) {
            slot.used.store(true, Ordering::Relaxed);
        }
        Some(slot.value.clone())
    }

    /// Stores `value` weighing `weight` bytes, evicting others as needed; a value heavier than a
    /// shard's budget is not stored.
    pub(super) fn insert(&self, key: String, value: V, weight: u64) {
        if weight > self.shard_budget {
            return;
        }
        let mut shard = self
            .shard(&key)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = shard.map.remove(&key) {
            shard.weight -= old.weight;
        }
        while shard.weight + weight > self.shard_budget {
            let victim = shard
                .map
                .iter()
                .find(|(_, slot)| !slot.used.swap(false, Ordering::Relaxed))
                .map(|(k, _)| k.clone());
            let Some(victim) = victim.or_else(|| shard.map.keys().next().cloned()) else {
                break;
            };
            if let Some(slot) = shard.map.remove(&victim) {
                shard.weight -= slot.weight;
            }
        }
        shard.weight += weight;
        shard.map.insert(
            key,
            Slot {
                value: Arc::new(value),
                weight,
                used: AtomicBool::new(false),
            },
        );
    }

    /// Bytes held now.
    pub(super) fn weight(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(PoisonError::into_inner).weight)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_holds_more_than_the_budget_and_keeps_what_is_used() {
        let bodies: Bodies<u32> = Bodies::new(16 * 1000);
        bodies.insert("hot".to_owned(), 7, 100);
        for n in 0..10_000 {
            assert_eq!(bodies.get("hot").as_deref(), Some(&7), "after {n} inserts");
            bodies.insert(format!("key {n}"), n, 100);
            assert!(bodies.weight() <= 16 * 1000);
        }
        bodies.insert("huge".to_owned(), 1, 1001);
        assert!(
            bodies.get("huge").is_none(),
            "heavier than a shard is not kept"
        );
    }
}
