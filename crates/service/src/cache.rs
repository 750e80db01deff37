//! The in-process caches of hot reads — the alias of a retrieve, the answer of an OpenCAP lookup,
//! the passcode watch and blocks — on `quick_cache`.
//!
//! Staleness is bounded: a change made through this process removes its entry at once; a
//! change made by another process on the same database (another server, the CLI) is announced
//! in its transaction (`NOTIFY` on PostgreSQL, a `cache_invalidations` row on SQLite) and
//! removed here when this server's listener hears it ([`Freshness`]). While the listener
//! listens, entries live `cache.listen_ttl`; while it does not (its connection lost),
//! `cache.ttl`, the documented longest time another process's change may go unseen. Size is
//! bounded by `cache.max_entries`; quick_cache's S3-FIFO admission keeps the entries read again
//! when a flood of one-off ids (unknown or cold aliases) would otherwise push them out: a new
//! entry waits in a small queue, and joins the main part only if it is read while there, or if
//! its key comes back soon after it left.

use std::collections::hash_map::RandomState;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Whether this server hears other servers' changes, shared by its caches.
///
/// `listening` chooses the lifetime of new entries. `epoch` counts the invalidations heard:
/// a reader takes it before reading the database and caches what it read only if no
/// invalidation came meanwhile ([`TtlCache::insert_at`]), so a value read just before another
/// server's change cannot be cached after that change's notification went by.
#[derive(Debug, Default)]
pub(crate) struct Freshness {
    listening: AtomicBool,
    epoch: AtomicU64,
}

impl Freshness {
    /// The current epoch, to pass to [`TtlCache::insert_at`].
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// An invalidation was heard (or every entry was dropped).
    pub(crate) fn bump(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn set_listening(&self, on: bool) {
        self.listening.store(on, Ordering::Release);
    }

    pub(crate) fn listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }
}

/// How often a cache answered a read: `hits` from the cache, `misses` from the database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheReads {
    /// Reads the cache answered.
    pub hits: u64,
    /// Reads that went to the database.
    pub misses: u64,
}

/// A cache whose entries live `ttl`, or `listen_ttl` while its server listens for other
/// servers' changes; off (nothing is kept) with a zero TTL or size.
/// It counts its reads (relaxed atomic adds) for `aliaskit_cache_reads_total`.
///
/// Each entry carries its deadline, checked on every read (quick_cache has no expiry of its
/// own). An entry past its deadline is a miss and is dropped when read; one never read again
/// waits for eviction, within `cache.max_entries`. Keys come from request paths, so they are
/// hashed with a keyed hash ([`Inner`]).
///
/// An entry cached while the server listens is *renewed* when read while it still listens:
/// every change to it is announced, so `cache.listen_ttl` only bounds how long an unread entry
/// stays. An entry cached while the server did not listen lives `cache.ttl` from its read of
/// the database, read or not: a change made before listening began was never announced here.
/// (Losing the listening connection drops every entry.)
pub(crate) struct TtlCache<K, V> {
    inner: Option<Inner<K, V>>,
    freshness: Arc<Freshness>,
    /// The lifetimes of new entries: `short` while not listening, `long` while listening.
    short: u64,
    long: u64,
    /// Where the deadlines count from.
    start: Instant,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// std's SipHash, keyed at random per cache, named here rather than left to quick_cache's
/// default, which a crate elsewhere in the build could switch to foldhash by enabling its
/// `custom-hasher` feature.
type Inner<K, V> = quick_cache::sync::Cache<K, Cached<V>, quick_cache::UnitWeighter, RandomState>;

/// A cached value, shared by the cache and its readers.
pub(crate) type Cached<V> = Arc<Entry<V>>;

/// A cached value and its deadline.
pub(crate) struct Entry<V> {
    value: V,
    /// Nanoseconds from [`TtlCache::start`]; odd when the entry is renewed by reads (cached while
    /// listening). One word, so that a cached alias stays in its allocation size class.
    until: AtomicU64,
}

impl<V> std::ops::Deref for Entry<V> {
    type Target = V;

    fn deref(&self) -> &V {
        &self.value
    }
}

const RENEWABLE: u64 = 1;

impl<K, V> TtlCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    /// A cache of at most about `max_entries`, each valid for `ttl` (`listen_ttl` while
    /// `freshness` says the server listens).
    pub(crate) fn new(
        ttl: Duration,
        listen_ttl: Duration,
        max_entries: usize,
        freshness: Arc<Freshness>,
    ) -> Self {
        let inner = (!ttl.is_zero() && max_entries != 0).then(|| {
            Inner::with(
                max_entries,
                u64::try_from(max_entries).unwrap_or(u64::MAX),
                quick_cache::UnitWeighter,
                RandomState::new(),
                quick_cache::sync::DefaultLifecycle::default(),
            )
        });
        TtlCache {
            inner,
            freshness,
            short: nanos(ttl),
            long: nanos(listen_ttl.max(ttl)),
            start: Instant::now(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The value for `key`, if cached less than the TTL ago; counted as a hit or a miss.
    pub(crate) fn get(&self, key: &K) -> Option<Cached<V>> {
        let found = self.peek(key);
        self.count(found.is_some());
        found
    }

    /// [`get`](Self::get) without counting: for a first look whose outcome is counted later
    /// (the in-process retrieve, which hands a miss to the blocking path that reads again with
    /// [`get`](Self::get); a lookup of a missing key leaves nothing behind in quick_cache, so
    /// looking again does not change what the cache keeps).
    pub(crate) fn peek(&self, key: &K) -> Option<Cached<V>> {
        let cache = self.inner.as_ref()?;
        let found = cache.get(key)?;
        let now = self.elapsed();
        let until = found.until.load(Ordering::Relaxed);
        if until <= now {
            // Only this expired entry: one another thread cached meanwhile stays.
            cache.remove_if(key, |current| Arc::ptr_eq(current, &found));
            return None;
        }
        // Renewed at most once per half lifetime: a hot entry is not written on every read.
        if until & RENEWABLE != 0 && until - now < self.long / 2 && self.freshness.listening() {
            found
                .until
                .fetch_max(now.saturating_add(self.long) | RENEWABLE, Ordering::Relaxed);
        }
        Some(found)
    }

    /// Nanoseconds since [`start`](Self::start) (saturating: 584 years).
    fn elapsed(&self) -> u64 {
        nanos(self.start.elapsed())
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

    /// Caches `value` for `key`, read from the database at `epoch` ([`Freshness::epoch`],
    /// taken before the read) — unless an invalidation was heard since, when the value may
    /// predate a change another server made.
    /// Returns the entry, cached or not.
    pub(crate) fn insert_at(&self, key: K, value: V, epoch: u64) -> Cached<V>
    where
        K: Clone,
    {
        let listening = self.freshness.listening();
        let until = if listening {
            self.elapsed().saturating_add(self.long) | RENEWABLE
        } else {
            self.elapsed().saturating_add(self.short) & !RENEWABLE
        };
        let entry = Arc::new(Entry {
            value,
            until: AtomicU64::new(until),
        });
        let Some(cache) = &self.inner else {
            return entry;
        };
        if self.freshness.epoch() != epoch {
            return entry;
        }
        cache.insert(key.clone(), entry.clone());
        // An invalidation heard between the check and the insert may have come and gone:
        // then this value is dropped again. Only this one: a value another thread read after
        // the invalidation and cached meanwhile stays.
        if self.freshness.epoch() != epoch {
            cache.remove_if(&key, |current| Arc::ptr_eq(current, &entry));
        }
        entry
    }

    /// The epoch to pass to [`insert_at`](Self::insert_at), taken before a database read.
    pub(crate) fn epoch(&self) -> u64 {
        self.freshness.epoch()
    }

    /// Forgets every entry.
    pub(crate) fn clear(&self) {
        if let Some(cache) = &self.inner {
            cache.clear();
        }
    }

    /// Forgets `key` (after a change made through this process).
    pub(crate) fn remove(&self, key: &K) {
        if let Some(cache) = &self.inner {
            cache.remove(key);
        }
    }
}

/// `d` in nanoseconds, saturating.
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_cache<K, V>(ttl: Duration, max: usize) -> TtlCache<K, V>
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Send + Sync + 'static,
    {
        TtlCache::new(ttl, ttl, max, Arc::default())
    }

    /// The value, for comparisons.
    fn value<V: Copy>(found: Option<Cached<V>>) -> Option<V> {
        found.map(|entry| **entry)
    }

    /// While the server listens an entry read within `cache.listen_ttl` stays, and an unread
    /// one goes; an entry cached while it did not listen goes after `cache.ttl`, read or not.
    #[test]
    fn while_listening_a_read_entry_is_renewed_and_one_cached_before_is_not() {
        let freshness = Arc::new(Freshness::default());
        let cache = TtlCache::new(
            Duration::from_millis(150),
            Duration::from_millis(300),
            32,
            freshness.clone(),
        );
        cache.insert_at("not listening", 0, cache.epoch());
        freshness.set_listening(true);
        cache.insert_at("read", 1, cache.epoch());
        cache.insert_at("unread", 2, cache.epoch());
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(600) {
            std::thread::sleep(Duration::from_millis(50));
            assert_eq!(
                value(cache.get(&"read")),
                Some(1),
                "{:?}",
                started.elapsed()
            );
            if started.elapsed() > Duration::from_millis(200) {
                assert_eq!(value(cache.get(&"not listening")), None);
            } else {
                let _ = cache.get(&"not listening");
            }
        }
        assert_eq!(value(cache.get(&"unread")), None);
        // (The service drops every entry when listening stops; here, reads stop renewing.)
        freshness.set_listening(false);
        let stopped = Instant::now();
        while value(cache.get(&"read")).is_some() {
            assert!(
                stopped.elapsed() < Duration::from_millis(400),
                "still renewed"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    #[test]
    fn while_listening_entries_live_long_and_a_read_overtaken_by_an_invalidation_is_not_kept() {
        let freshness = Arc::new(Freshness::default());
        let cache = TtlCache::new(
            Duration::from_millis(50),
            Duration::from_secs(60),
            32,
            freshness.clone(),
        );
        freshness.set_listening(true);
        cache.insert_at("long", 1, cache.epoch());
        freshness.set_listening(false);
        cache.insert_at("short", 2, cache.epoch());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(value(cache.get(&"long")), Some(1));
        assert_eq!(
            value(cache.get(&"short")),
            None,
            "inserted while not listening"
        );

        let before = cache.epoch();
        freshness.bump();
        cache.insert_at("stale", 3, before);
        assert_eq!(
            value(cache.get(&"stale")),
            None,
            "read before an invalidation"
        );
        cache.clear();
        assert_eq!(value(cache.get(&"long")), None);
    }

    #[test]
    fn entries_expire_can_be_removed_and_the_size_is_bounded() {
        let cache = new_cache(Duration::from_millis(50), 32);
        cache.insert_at("a", 1, 0);
        assert_eq!(value(cache.get(&"a")), Some(1));
        cache.remove(&"a");
        assert_eq!(value(cache.get(&"a")), None);
        cache.insert_at("b", 2, 0);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(value(cache.get(&"b")), None, "expired");
        let long = new_cache(Duration::from_secs(60), 32);
        for i in 0..10_000 {
            long.insert_at(i, i, 0);
        }
        let inner = long.inner.as_ref().map(Inner::len);
        assert!(inner.is_some_and(|len| len <= 32), "{inner:?}");
    }

    /// A hot entry survives a flood of one-off keys (S3-FIFO admission).
    #[test]
    fn a_flood_of_one_off_keys_does_not_push_out_a_hot_entry() {
        let cache = new_cache(Duration::from_secs(60), 100);
        for _ in 0..50 {
            cache.insert_at(u64::MAX, 1, 0);
            let _ = cache.get(&u64::MAX);
        }
        for i in 0..100_000 {
            cache.insert_at(i, 0, 0);
        }
        assert_eq!(value(cache.get(&u64::MAX)), Some(1));
    }

    /// Each retrieve the in-process path cannot answer looks the alias up twice: the peek,
    /// then the blocking path. A stream of aliases read once that way (a uniform load over more
    /// aliases than fit) must not push out the ones read twice before.
    #[test]
    fn a_miss_looked_up_again_after_a_peek_counts_once() {
        let cache = new_cache(Duration::from_secs(60), 1000);
        let read_once = |keys: std::ops::Range<u64>| {
            for key in keys {
                if cache.peek(&key).is_none() && cache.get(&key).is_none() {
                    cache.insert_at(key, key, 0);
                }
            }
        };
        read_once(0..1000);
        read_once(0..1000);
        read_once(1000..3000);
        let kept = (0..1000).filter(|key| cache.peek(key).is_some()).count();
        assert!(kept > 900, "only {kept} of the keys read before were kept");
    }

    #[test]
    fn a_zero_ttl_turns_it_off() {
        let cache = new_cache(Duration::ZERO, 100);
        cache.insert_at(1, 1, 0);
        assert_eq!(value(cache.get(&1)), None);
    }

    #[test]
    fn reads_are_counted_but_a_peek_is_not() {
        let cache = new_cache(Duration::from_secs(60), 10);
        cache.insert_at(1, 1, 0);
        assert_eq!(value(cache.get(&1)), Some(1));
        assert_eq!(value(cache.get(&2)), None);
        assert_eq!(value(cache.peek(&1)), Some(1));
        assert_eq!(cache.reads(), CacheReads { hits: 1, misses: 1 });
        cache.count(true);
        assert_eq!(cache.reads().hits, 2);
    }
}
