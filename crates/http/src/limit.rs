//! Per-client request limits: a fixed window of `limit` requests per `window` for each key
//! (a client IP), answered with `429` and `Retry-After` beyond it.
//!
//! State is per process: with several servers behind a load balancer each allows `limit`, which
//! is documented. Memory is bounded: expired windows are swept once the table grows.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Sweep expired windows when the table holds more keys than this.
const SWEEP_AT: usize = 10_000;

/// A fixed-window counter per key.
#[derive(Debug)]
pub struct RateLimiter<K = IpAddr> {
    limit: u32,
    window: Duration,
    windows: Mutex<HashMap<K, (Instant, u32)>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// `limit` requests per `window` per key; a limit of 0 means no limit.
    pub fn new(limit: u32, window: Duration) -> Self {
        RateLimiter {
            limit,
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request for `key` at `now`: `Ok` if it is within the limit, else the whole
    /// seconds until the window ends.
    pub fn check_at(&self, key: &K, now: Instant) -> Result<(), u64> {
        if self.limit == 0 {
            return Ok(());
        }
        // A poisoned lock only means another request panicked mid-count; the counts are
        // still usable.
        let mut windows = match self.windows.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if windows.len() > SWEEP_AT {
            let window = self.window;
            windows.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = windows.entry(key.clone()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            let left = self.window.saturating_sub(now.duration_since(entry.0));
            // Rounded up, and at least 1: `Retry-After: 0` would invite an immediate retry.
            return Err((left.as_secs() + u64::from(left.subsec_nanos() > 0)).max(1));
        }
        entry.1 += 1;
        Ok(())
    }

    /// [`check_at`](Self::check_at) now.
    pub fn check(&self, key: &K) -> Result<(), u64> {
        self.check_at(key, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_limit_per_window_then_says_when_to_retry() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..3 {
            assert_eq!(limiter.check_at(&ip, t0), Ok(()));
        }
        assert_eq!(limiter.check_at(&ip, t0), Err(60));
        assert_eq!(
            limiter.check_at(&ip, t0 + Duration::from_millis(59_500)),
            Err(1)
        );
        let other: IpAddr = [10, 0, 0, 2].into();
        assert_eq!(
            limiter.check_at(&other, t0),
            Ok(()),
            "limits are per client"
        );
        assert_eq!(
            limiter.check_at(&ip, t0 + Duration::from_secs(60)),
            Ok(()),
            "a new window"
        );
    }

    #[test]
    fn zero_means_unlimited() {
        let limiter = RateLimiter::new(0, Duration::from_secs(1));
        let ip: IpAddr = [10, 0, 0, 1].into();
        assert!((0..1000).all(|_| limiter.check(&ip).is_ok()));
    }
}
