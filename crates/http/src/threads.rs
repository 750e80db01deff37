//! Pools of named threads the async workers hand blocking work to: a bounded queue the threads
//! share (a `crossbeam-channel`, so a thread busy with a queue that never empties takes the
//! next job without being woken), and a oneshot the async side awaits without holding a
//! worker. A job whose caller went away while it waited is skipped. Used by the password
//! hashing threads ([`crate::hashing`]) and the readers of cache misses ([`Readers`]).

use crossbeam_channel::{Sender, TrySendError, bounded};
use tokio::sync::oneshot;

use crate::ApiError;

type Job = Box<dyn FnOnce() + Send>;

/// A pool of threads named `<name>-<n>` behind a bounded queue, doing `what` (for errors:
/// "password hashing", "database read").
#[derive(Debug)]
pub(crate) struct Threads {
    jobs: Sender<Job>,
    what: &'static str,
}

impl Threads {
    /// `threads` threads (at least one), each calling `setup` first, with room for `queue`
    /// waiting jobs.
    pub(crate) fn start(
        name: &str,
        what: &'static str,
        threads: usize,
        queue: usize,
        setup: fn(),
    ) -> Self {
        let (jobs, receiver) = bounded::<Job>(queue);
        for n in 0..threads.max(1) {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-{n}"))
                .spawn(move || {
                    setup();
                    // Ends when the pool is dropped.
                    for job in receiver.iter() {
                        // A job that panics answers its request with an internal error (its
                        // sender is dropped) and leaves this thread serving the next one.
                        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
                            tracing::error!(
                                thread = std::thread::current().name().unwrap_or(""),
                                "a job panicked"
                            );
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start thread {name}-{n}");
            }
        }
        Threads { jobs, what }
    }

    /// Runs `f` on one of the threads and waits for it without holding an async worker: `503`
    /// when the queue is full, `500` when no thread runs or the job panicked.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let what = self.what;
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller went away while the job waited: spare the machine the work.
            if done.is_closed() {
                return;
            }
            let _ = done.send(f());
        });
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => ApiError::unavailable(format!("the {what} queue is full")),
            TrySendError::Disconnected(_) => ApiError::internal(format!("no {what} thread runs")),
        })?;
        result
            .await
            .map_err(|_| ApiError::internal(format!("a {what} job panicked")))
    }
}

/// The threads that read what the caches miss — the public retrieve's alias, the OpenCAP
/// lookup — so those reads stay off the async workers without a thread of actix's blocking
/// pool each. A few threads that each keep taking the next miss cost less than a hand-off to a
/// pool thread woken per read (fewer context switches), and hold the cache's entries in few
/// malloc arenas (`docs/performance.md`, "Many aliases, a token each").
#[derive(Debug)]
pub struct Readers {
    threads: Threads,
}

impl Readers {
    /// `threads` reader threads (at least one), named `aliaskit-read-<n>`, with room for
    /// `queue` waiting reads.
    pub fn new(threads: usize, queue: usize) -> Self {
        Readers {
            threads: Threads::start("aliaskit-read", "database read", threads, queue, || {}),
        }
    }

    /// `per_core` readers per core, between 2 and `connections` (the pool's size: a reader
    /// more than connections would wait for one), with room for 4096 waiting reads.
    pub fn with_defaults(per_core: usize, connections: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Readers::new(
            cores.saturating_mul(per_core).clamp(2, connections.max(2)),
            4096,
        )
    }

    /// Runs `read` on a reader thread.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        read: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        self.threads.run(read).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn reads_run_on_named_threads_and_a_panic_leaves_the_thread_reading() {
        let readers = Readers::new(1, 4);
        let name = readers
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap_or_default();
        assert_eq!(name.as_deref(), Some("aliaskit-read-0"));
        let panicked = readers.run(|| -> u32 { panic!("boom") }).await;
        assert_eq!(
            panicked.as_ref().err().map(ApiError::code),
            Some("internal_error")
        );
        assert_eq!(readers.run(|| 7).await.ok(), Some(7));
    }
}
