//! The threads that hash passwords (argon2id, 19 MiB and tens of milliseconds each).
//!
//! A few dedicated threads — not actix's blocking pool — scheduled `SCHED_IDLE` on Linux: they
//! run only on CPU time nothing else wants, so a burst of logins cannot stall alias lookups
//! (measured in docs/performance.md: the retrieve p99 stays within 2× under 50 concurrent
//! logins). With spare CPU they hash at full speed; on a machine saturated for long, logins wait
//! (the per-IP limit and the bounded queue keep that from piling up). Each thread that hashes
//! keeps one 19 MiB working memory for its life (the service's password module), so few
//! long-lived threads also bound what hashing holds: 19 MiB per thread. Beyond the queue a
//! login is answered `503` with `Retry-After`.
//!
//! Only the hash runs here, never database work: a login reads its user before and records
//! its outcome after, on actix's blocking pool, so while the database does not answer logins
//! are refused before they queue for a hashing thread.

use crate::ApiError;
use crate::threads::Threads;

/// A pool of low-priority threads for password hashing.
#[derive(Debug)]
pub struct HashingPool {
    threads: Threads,
}

impl HashingPool {
    /// `threads` hashing threads (at least one) with room for `queue` waiting jobs.
    pub fn new(threads: usize, queue: usize) -> Self {
        HashingPool {
            threads: Threads::start(
                "aliaskit-hash",
                "password hashing",
                threads,
                queue,
                lower_priority,
            ),
        }
    }

    /// Half the cores (at least one), with room for 1024 waiting logins.
    pub fn with_defaults() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        HashingPool::new((cores / 2).max(1), 1024)
    }

    /// Runs `f` on a hashing thread and waits for it without holding an async worker.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        self.threads.run(f).await
    }
}

/// `SCHED_IDLE`; a system that refuses leaves the default, with a warning.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
            thread_native_id,
        };
        let policy = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        if let Err(e) = set_thread_priority_and_policy(
            thread_native_id(),
            thread_priority::ThreadPriority::Min,
            policy,
        ) {
            tracing::warn!(error = ?e, "password hashing runs at normal priority");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::sync::oneshot;

    #[actix_web::test]
    async fn jobs_run_on_named_threads_and_a_full_queue_is_refused() {
        let pool = Arc::new(HashingPool::new(1, 1));
        let name = pool
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap_or_default();
        assert_eq!(name.as_deref(), Some("aliaskit-hash-0"));

        // One job runs (blocked), one waits in the queue; the third is refused.
        let (started, running) = oneshot::channel::<()>();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let p = pool.clone();
        let blocker = actix_web::rt::spawn(async move {
            p.run(move || {
                let _ = started.send(());
                let _ = wait.recv();
                "ran"
            })
            .await
        });
        assert!(running.await.is_ok(), "the blocking job never started");
        let p = pool.clone();
        let queued = actix_web::rt::spawn(async move { p.run(|| "queued ran").await });
        // The runtime is single-threaded: this yield lets `queued` enqueue its job.
        actix_web::rt::task::yield_now().await;
        let refused = pool.run(|| "must not run").await;
        assert_eq!(
            refused.as_ref().err().map(ApiError::code),
            Some("unavailable")
        );
        let _ = release.send(());
        assert_eq!(blocker.await.ok().and_then(Result::ok), Some("ran"));
        assert_eq!(queued.await.ok().and_then(Result::ok), Some("queued ran"));
    }

    #[actix_web::test]
    async fn a_panicking_job_is_an_error_and_the_thread_keeps_hashing() {
        let pool = HashingPool::new(1, 4);
        let panicked = pool.run(|| -> u32 { panic!("boom") }).await;
        assert_eq!(
            panicked.as_ref().err().map(ApiError::code),
            Some("internal_error")
        );
        assert_eq!(pool.run(|| 7).await.ok(), Some(7));
    }
}
