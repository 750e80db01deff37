//! Hearing other processes' changes
//! (`docs/deployment.md#several-servers-behind-a-load-balancer`). A thread of its own holds one
//! connection that hears every change that invalidates a cached entry — announced in the
//! change's transaction, by `NOTIFY aliaskit_invalidate` on PostgreSQL and a row in
//! `cache_invalidations` on SQLite (where the CLI changes the file beside the server) — and this
//! server drops the entry as the change commits ([`Service::heard`]). While it listens, cached
//! entries live `cache.listen_ttl`; when the connection is lost (or never made), the cache is
//! dropped and entries live `cache.ttl` until it listens again — never staler than without
//! listening.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aliaskit_service::Service;

/// How often the connection is asked for what arrived: the most a notification waits here.
const POLL: Duration = Duration::from_millis(10);
/// How often the connection is asked something, so a silent network failure is noticed (with
/// the keepalives and `tcp_user_timeout` of `database.timeout`).
const PING: Duration = Duration::from_secs(2);
/// How long to wait before connecting again.
const RETRY: Duration = Duration::from_secs(1);

/// The running listener: dropping it stops the thread within one poll (or after a connection
/// attempt).
#[derive(Debug)]
pub struct Listening {
    stop: Arc<AtomicBool>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts listening for `service`'s database.
pub fn spawn(service: Service) -> io::Result<Listening> {
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    std::thread::Builder::new()
        .name("cache-listener".into())
        .spawn(move || run(&service, &stopped))?;
    Ok(Listening { stop })
}

fn run(service: &Service, stop: &AtomicBool) {
    let mut announced_loss = false;
    while !stop.load(Ordering::Relaxed) {
        match service.db().listener() {
            Ok(mut listener) => {
                service.set_listening(true);
                tracing::info!(
                    "listening for other servers' changes; cached entries live cache.listen_ttl"
                );
                announced_loss = false;
                let lost = listen(service, &mut listener, stop);
                service.set_listening(false);
                if let Some(e) = lost {
                    tracing::warn!(
                        error = %e,
                        "lost the connection that hears other servers' changes: the cache is \
                         dropped and entries live cache.ttl until it listens again"
                    );
                }
            }
            Err(e) => {
                if !announced_loss {
                    tracing::warn!(
                        error = %e,
                        "cannot listen for other servers' changes: cached entries live \
                         cache.ttl until it can; retrying every second"
                    );
                    announced_loss = true;
                }
            }
        }
        std::thread::sleep(RETRY);
    }
}

/// Applies what arrives until `stop` (`None`) or the connection fails (the error).
fn listen(
    service: &Service,
    listener: &mut aliaskit_store::listen::Listener,
    stop: &AtomicBool,
) -> Option<aliaskit_store::StoreError> {
    let mut pinged = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        match listener.poll() {
            Ok(heard) => {
                for what in heard {
                    service.heard(&what);
                }
            }
            Err(e) => return Some(e),
        }
        if pinged.elapsed() >= PING {
            if let Err(e) = listener.ping() {
                return Some(e);
            }
            pinged = Instant::now();
        }
        std::thread::sleep(POLL);
    }
    None
}
