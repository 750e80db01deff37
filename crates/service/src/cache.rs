//! A small in-process cache with a time to live, for the hot reads: the alias of a retrieve and
//! the answer of an OpenCAP lookup.
//!
//! Staleness is bounded by the TTL: a change made through this process removes its entry at
//! once; a change made by another server sharing the database is seen here within the TTL
//! (`cache.ttl`, documented as the longest time another server may still accept a deleted
//! alias or a rotated secret). Size is bounded: each shard holds at most its share of
//! `cache.max_entries`, dropping expired entries first, then everything, when full.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 16;

/// A sharded map whose entries live for `ttl`.
pub(crate) struct TtlCache<K, V> {
    ttl: Duration,
    per_shard: usize,
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<K, (V, Instant)>>>,
}

impl<K: Hash + Eq, V: Clone> TtlCache<K, V> {
    /// A cache of at most about `max_entries`, each valid for `ttl`; a zero `ttl` or size turns
    /// it off.
    pub(crate) fn new(ttl: Duration, max_entries: usize) -> Self {
        TtlCache {
            ttl,
            per_shard: max_entries.div_ceil(SHARDS),
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.per_shard > 0
    }

    fn shard(&self, key: &K) -> &Mutex<HashMap<K, (V, Instant)>> {
        let index = (self.hasher.hash_one(key) as usize) % SHARDS;
        // `index < SHARDS == self.shards.len()`.
        &self.shards[index]
    }

    /// The value for `key`, if cached less than `ttl` ago.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        if !self.enabled() {
            return None;
        }
        let shard = self.shard(key).lock().ok()?;
        let (value, stored) = shard.get(key)?;
        (stored.elapsed() < self.ttl).then(|| value.clone())
    }

    /// Caches `value` for `key`.
    pub(crate) fn insert(&self, key: K, value: V) {
        if !self.enabled() {
            return;
        }
        let Ok(mut shard) = self.shard(&key).lock() else {
            return;
        };
        if shard.len() >= self.per_shard {
            let ttl = self.ttl;
            shard.retain(|_, (_, stored)| stored.elapsed() < ttl);
            if shard.len() >= self.per_shard {
                shard.clear();
            }
        }
        shard.insert(key, (value, Instant::now()));
    }

    /// Forgets `key` (after a change made through this process).
    pub(crate) fn remove(&self, key: &K) {
        if let Ok(mut shard) = self.shard(key).lock() {
            shard.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_can_be_removed_and_the_size_is_bounded() {
        let cache = TtlCache::new(Duration::from_millis(50), 32);
        cache.insert("a", 1);
        assert_eq!(cache.get(&"a"), Some(1));
        cache.remove(&"a");
        assert_eq!(cache.get(&"a"), None);
        cache.insert("b", 2);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get(&"b"), None, "expired");
        for i in 0..10_000 {
            cache.insert(i.to_string().leak() as &str, i);
        }
        let total: usize = cache
            .shards
            .iter()
            .map(|s| s.lock().map_or(0, |s| s.len()))
            .sum();
        assert!(total <= 32, "{total}");
    }

    #[test]
    fn a_zero_ttl_turns_it_off() {
        let cache = TtlCache::new(Duration::ZERO, 100);
        cache.insert(1, 1);
        assert_eq!(cache.get(&1), None);
    }
}
