//! The in-process caches of hot reads — the alias of a retrieve, the answer of an OpenCAP lookup,
//! the passcode watch and blocks — on `moka`.
//!
//! Staleness is bounded by the TTL: a change made through this process removes its entry at
//! once; a change made by another server sharing the database is seen here within the TTL
//! (`cache.ttl`, documented as the longest time another server may still accept a deleted
//! alias or a rotated secret). Size is bounded by `cache.max_entries`; moka's TinyLFU admission
//! keeps the frequently read entries when a flood of one-off ids (unknown or cold aliases) would
//! otherwise push them out.

use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How often a cache answered a read: `hits` from the cache, `misses` from the database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheReads {
    /// Reads the cache answered.
    pub hits: u64,
    /// Reads that went to the database.
    pub misses: u64,
}

/// A cache whose entries live for a fixed time; off (nothing is kept) with a zero TTL or size.
/// It counts its reads (relaxed atomic adds) for `aliaskit_cache_reads_total`.
pub(crate) struct TtlCache<K, V> {
    inner: Option<moka::sync::Cache<K, V>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<K, V> TtlCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache of at most about `max_entries`, each valid for `ttl`.
    pub(crate) fn new(ttl: Duration, max_entries: usize) -> Self {
        let inner = (!ttl.is_zero() && max_entries != 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(u64::try_from(max_entries).unwrap_or(u64::MAX))
                .time_to_live(ttl)
                .build()
        });
        TtlCache {
            inner,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The value for `key`, if cached less than the TTL ago; counted as a hit or a miss.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let found = self.peek(key);
        self.count(found.is_some());
        found
    }

    /// [`get`](Self::get) without counting: for a first look whose outcome is counted later
    /// (the in-process retrieve, which hands a miss to the blocking path that reads again).
    pub(crate) fn peek(&self, key: &K) -> Option<V> {
        self.inner.as_ref()?.get(key)
    }

    /// Counts one read answered from the cache (`true`) or not.
    pub(crate) fn count(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The reads counted so far.
    pub(crate) fn reads(&self) -> CacheReads {
        CacheReads {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// Caches `value` for `key`.
    pub(crate) fn insert(&self, key: K, value: V) {
        if let Some(cache) = &self.inner {
            cache.insert(key, value);
        }
    }

    /// Forgets `key` (after a change made through this process).
    pub(crate) fn remove(&self, key: &K) {
        if let Some(cache) = &self.inner {
            cache.invalidate(key);
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
        let long = TtlCache::new(Duration::from_secs(60), 32);
        for i in 0..10_000 {
            long.insert(i, i);
        }
        if let Some(inner) = &long.inner {
            inner.run_pending_tasks();
            assert!(inner.entry_count() <= 32, "{}", inner.entry_count());
        }
    }

    /// A hot entry survives a flood of one-off keys (TinyLFU admission).
    #[test]
    fn a_flood_of_one_off_keys_does_not_push_out_a_hot_entry() {
        let cache = TtlCache::new(Duration::from_secs(60), 100);
        for _ in 0..50 {
            cache.insert(u64::MAX, 1);
            let _ = cache.get(&u64::MAX);
        }
        for i in 0..100_000 {
            cache.insert(i, 0);
        }
        assert_eq!(cache.get(&u64::MAX), Some(1));
    }

    #[test]
    fn a_zero_ttl_turns_it_off() {
        let cache = TtlCache::new(Duration::ZERO, 100);
        cache.insert(1, 1);
        assert_eq!(cache.get(&1), None);
    }

    #[test]
    fn reads_are_counted_but_a_peek_is_not() {
        let cache = TtlCache::new(Duration::from_secs(60), 10);
        cache.insert(1, 1);
        assert_eq!(cache.get(&1), Some(1));
        assert_eq!(cache.get(&2), None);
        assert_eq!(cache.peek(&1), Some(1));
        assert_eq!(cache.reads(), CacheReads { hits: 1, misses: 1 });
        cache.count(true);
        assert_eq!(cache.reads().hits, 2);
    }
}
