//! Pools of named threads the async workers hand blocking work to: a bounded queue the threads
//! share (a `crossbeam-channel`, so a thread busy with a queue that never empties takes the
//! next job without being woken; it spins and yields a little before it parks, which a queue
//! that parks at once was measured not to beat: `docs/performance.md`, "The server's
//! allocator, and a lone miss on PostgreSQL"), and a oneshot the async side awaits without
//! holding a worker. A job whose caller went away while it waited is skipped. Used by the
//! password hashing threads ([`crate::hashing`]) and the readers of cache misses ([`Readers`]).

use std::sync::Arc;

use aliaskit_domain::AliasId;
use aliaskit_service::{Credentials, Retrieved, Service};
use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use tokio::sync::oneshot;

use crate::ApiError;

type Job = Box<dyn FnOnce() + Send>;

/// What a thread does with the job it took; it may take more from the queue.
type Serve<J> = Arc<dyn Fn(J, &Receiver<J>) + Send + Sync>;

/// A pool of threads named `<name>-<n>` behind a bounded queue, doing `what` (for errors:
/// "password hashing", "database read").
pub(crate) struct Threads<J = Job> {
    jobs: Sender<J>,
    what: &'static str,
}

impl<J> std::fmt::Debug for Threads<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Threads")
            .field("what", &self.what)
            .field("waiting", &self.jobs.len())
            .finish()
    }
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
        Threads::serving(
            name,
            what,
            threads,
            queue,
            setup,
            Arc::new(|job: Job, _| job()),
        )
    }

    /// Runs `f` on one of the threads and waits for it without holding an async worker: `503`
    /// when the queue is full, `500` when no thread runs or the job panicked.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let (job, result) = job(f);
        self.submit(job, result).await
    }
}

impl<J: Send + 'static> Threads<J> {
    /// `threads` threads (at least one), each calling `setup` first and then `serve` with each
    /// job it takes, with room for `queue` waiting jobs.
    fn serving(
        name: &str,
        what: &'static str,
        threads: usize,
        queue: usize,
        setup: fn(),
        serve: Serve<J>,
    ) -> Self {
        let (jobs, receiver) = bounded::<J>(queue);
        for n in 0..threads.max(1) {
            let receiver = receiver.clone();
            let serve = serve.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-{n}"))
                .spawn(move || {
                    setup();
                    // Ends when the pool is dropped.
                    while let Ok(job) = receiver.recv() {
                        // A job that panics answers its requests with an internal error (their
                        // senders are dropped) and leaves this thread serving the next one.
                        let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            serve(job, &receiver)
                        }));
                        if served.is_err() {
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

    /// Queues `job` and awaits what it sends to `result`: `503` when the queue is full, `500`
    /// when no thread runs or the job panicked (its sender dropped unsent).
    async fn submit<T>(&self, job: J, result: oneshot::Receiver<T>) -> Result<T, ApiError> {
        let what = self.what;
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => ApiError::unavailable(format!("the {what} queue is full")),
            TrySendError::Disconnected(_) => ApiError::internal(format!("no {what} thread runs")),
        })?;
        result
            .await
            .map_err(|_| ApiError::internal(format!("a {what} job panicked")))
    }
}

/// `f` as a job, and where its result arrives. A job whose caller went away while it waited
/// does nothing: the machine is spared the work.
fn job<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> (Job, oneshot::Receiver<T>) {
    let (done, result) = oneshot::channel();
    let job: Job = Box::new(move || {
        if done.is_closed() {
            return;
        }
        let _ = done.send(f());
    });
    (job, result)
}

/// The most retrieves a reader answers with one read of the database.
const MAX_BATCH: usize = 32;

/// What a reader thread takes: a read, or a public retrieve, which it answers together with the
/// retrieves queued behind it.
enum Read {
    Other(Job),
    Retrieve(RetrieveJob),
}

/// A public retrieve the alias cache could not answer, with what the request presented.
struct RetrieveJob {
    id: AliasId,
    bearer: Option<String>,
    passcode: Option<String>,
    client: Option<std::net::IpAddr>,
    done: oneshot::Sender<aliaskit_service::Result<Retrieved>>,
}

/// The threads that read what the caches miss — the public retrieve's alias, the OpenCAP
/// lookup — so those reads stay off the async workers without a thread of actix's blocking
/// pool each. A few threads that each keep taking the next miss cost less than a hand-off to a
/// pool thread woken per read (fewer context switches), and hold the cache's entries in few
/// malloc arenas (`docs/performance.md`, "Many aliases, a token each"). A reader that takes a
/// retrieve also takes the retrieves queued behind it, up to 32, and reads their aliases
/// together: on PostgreSQL in one query, one round trip for all ([`Service::retrieve_batch`]).
#[derive(Debug)]
pub struct Readers {
    threads: Threads<Read>,
}

impl Readers {
    /// `threads` reader threads (at least one) over `service`, named `aliaskit-read-<n>`, with
    /// room for `queue` waiting reads.
    pub fn new(service: Service, threads: usize, queue: usize) -> Self {
        let serve: Serve<Read> = Arc::new(move |read, queue| match read {
            Read::Other(job) => job(),
            Read::Retrieve(first) => {
                let mut batch = vec![first];
                let mut after = None;
                while batch.len() < MAX_BATCH {
                    match queue.try_recv() {
                        Ok(Read::Retrieve(next)) => batch.push(next),
                        Ok(Read::Other(job)) => {
                            after = Some(job);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                retrieve_batch(&service, batch);
                if let Some(job) = after {
                    job();
                }
            }
        });
        Readers {
            threads: Threads::serving(
                "aliaskit-read",
                "database read",
                threads,
                queue,
                || {},
                serve,
            ),
        }
    }

    /// `per_core` readers per core, between 2 and `connections` (the pool's size: a reader
    /// more than connections would wait for one), with room for 4096 waiting reads.
    pub fn with_defaults(service: Service, per_core: usize, connections: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Readers::new(
            service,
            cores.saturating_mul(per_core).clamp(2, connections.max(2)),
            4096,
        )
    }

    /// Runs `read` on a reader thread.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        read: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let (job, result) = job(read);
        self.threads.submit(Read::Other(job), result).await
    }

    /// Answers a public retrieve the alias cache could not answer, on a reader thread
    /// ([`Service::retrieve_batch`], with the retrieves queued with it).
    pub(crate) async fn retrieve(
        &self,
        id: AliasId,
        bearer: Option<String>,
        passcode: Option<String>,
        client: Option<std::net::IpAddr>,
    ) -> Result<aliaskit_service::Result<Retrieved>, ApiError> {
        let (done, result) = oneshot::channel();
        let job = Read::Retrieve(RetrieveJob {
            id,
            bearer,
            passcode,
            client,
            done,
        });
        self.threads.submit(job, result).await
    }
}

/// Answers `batch`, but for the requests whose callers went away while they waited.
fn retrieve_batch(service: &Service, mut batch: Vec<RetrieveJob>) {
    batch.retain(|job| !job.done.is_closed());
    let requests: Vec<_> = batch
        .iter()
        .map(|job| {
            (
                &job.id,
                Credentials {
                    bearer: job.bearer.as_deref(),
                    passcode: job.passcode.as_deref(),
                    client: job.client,
                },
            )
        })
        .collect();
    let answers = service.retrieve_batch(&requests);
    drop(requests);
    for (job, answer) in batch.into_iter().zip(answers) {
        let _ = job.done.send(answer);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aliaskit_domain::{AliasKind, NewAlias, OrgName};
    use aliaskit_service::ServiceError;
    use aliaskit_store::testing::TestDb;

    use super::*;

    fn service(db: &TestDb) -> Service {
        Service::new(db.db.clone(), Default::default())
    }

    #[actix_web::test]
    async fn reads_run_on_named_threads_and_a_panic_leaves_the_thread_reading() {
        let db = TestDb::sqlite().unwrap();
        let readers = Readers::new(service(&db), 1, 4);
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

    /// Retrieves queued behind a busy reader are taken together and each gets its own answer;
    /// one whose caller went away meanwhile is not read.
    #[actix_web::test]
    async fn retrieves_queued_together_each_get_their_answer() {
        let db = TestDb::sqlite().unwrap();
        let service = service(&db);
        let (org, _) = service
            .create_org(&OrgName::parse("acme").unwrap())
            .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let now = i64::try_from(now).unwrap();
        let public = service
            .create_alias(
                org.id,
                NewAlias {
                    kind: AliasKind::Live,
                    name: Some("open room".into()),
                    passcode: None,
                    jwt_secret: None,
                    stream_key: None,
                    expired_at: now + 3600,
                },
            )
            .unwrap();
        let readers = Arc::new(Readers::new(service.clone(), 1, 64));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (started, has_started) = std::sync::mpsc::channel::<()>();
        let held = readers.clone();
        let held = actix_web::rt::spawn(async move {
            held.run(move || {
                let _ = started.send(());
                wait.recv()
            })
            .await
        });
        let queued = |id: &str| {
            let readers = readers.clone();
            let id = AliasId::parse(id).unwrap();
            actix_web::rt::spawn(async move { readers.retrieve(id, None, None, None).await })
        };
        // Until the reader holds that job, then until the three retrieves wait behind it.
        for _ in 0..500 {
            if has_started.try_recv().is_ok() {
                break;
            }
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
        let found = queued(public.id.as_str());
        let unknown = queued("no-such-alias");
        let gone = queued("asked-then-abandoned");
        for _ in 0..500 {
            if readers.threads.jobs.len() == 3 {
                break;
            }
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            readers.threads.jobs.len(),
            3,
            "queued behind the busy reader"
        );
        gone.abort();
        let _ = gone.await;
        release.send(()).unwrap();

        let found = found.await.unwrap().unwrap().unwrap();
        assert_eq!(found.alias.id, public.id);
        assert_eq!(found.alias.name.as_deref(), Some("open room"));
        assert!(matches!(
            unknown.await.unwrap().unwrap(),
            Err(ServiceError::AliasNotFound)
        ));
        assert!(held.await.unwrap().is_ok());
        let (reads, _) = service.cache_reads();
        assert_eq!(
            (reads.hits, reads.misses),
            (0, 2),
            "the abandoned retrieve was not read"
        );
    }
}
