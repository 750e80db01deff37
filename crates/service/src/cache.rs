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
use std::time::Duration;

/// A cache whose entries live for a fixed time; off (nothing is kept) with a zero TTL or size.
pub(crate) struct TtlCache<K, V>(Option<moka::sync::Cache<K, V>>);

impl<K, V> TtlCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache of at most about `max_entries`, each valid for `ttl`.
    pub(crate) fn new(ttl: Duration, max_entries: usize) -> Self {
        if ttl.is_zero() || max_entries == 0 {
            return TtlCache(None);
        }
        TtlCache(Some(
            moka::sync::Cache::builder()
                .max_capacity(u64::try_from(max_entries).unwrap_or(u64::MAX))
                .time_to_live(ttl)
                .build(),
        ))
    }

    /// The value for `key`, if cached less than the TTL ago.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        self.0.as_ref()?.get(key)
    }

    /// Caches `value` for `key`.
    pub(crate) fn insert(&self, key: K, value: V) {
        if let Some(cache) = &self.0 {
            cache.insert(key, value);
        }
    }

    /// Forgets `key` (after a change made through this process).
    pub(crate) fn remove(&self, key: &K) {
        if let Some(cache) = &self.0 {
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
        if let Some(inner) = &long.0 {
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
}
