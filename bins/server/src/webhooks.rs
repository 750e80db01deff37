//! The webhook sender (`docs/webhooks.md`): threads of its own, never actix's workers or its
//! blocking pool, so a receiver that hangs costs the retrieve path nothing.
//!
//! One dispatcher thread claims due deliveries from the outbox (with a lease, so with several
//! servers each attempt is made by one of them) for as many sender threads as are free, and
//! hands them over; each sender signs, `POST`s with a 10 s limit, reads at most 64 KiB of the
//! answer and throws it away, and records the attempt. It lives here, not in a library crate,
//! because `https` needs TLS, and TLS is the server binary's alone (`.ci/layering`).
//!
//! Every attempt resolves the target again and refuses it, before connecting, when any address
//! is loopback, private, link-local or reserved (unless `webhooks.allow_private_targets`); the
//! connection goes to the checked addresses, so a name re-pointed after creation (DNS
//! rebinding) reaches nothing inside. Redirects are not followed: a `3xx` is a failed attempt.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use aliaskit_domain::webhook::is_forbidden_target;
use aliaskit_service::{Attempt, Due, Recorded, Service};
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// An attempt that has no `2xx` answer within this long has failed.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// A claimed delivery is this server's for this long; if it dies meanwhile, another server
/// takes the delivery over once the lease is out. Longer than an attempt can take.
const LEASE: Duration = Duration::from_secs(30);
/// How long the dispatcher waits before asking again when nothing was due.
const IDLE: Duration = Duration::from_secs(1);
/// The most of an answer's body read (and thrown away), so a connection can be reused.
const BODY_LIMIT: u64 = 64 * 1024;

/// The running sender: dropping it stops the dispatcher (within a second) and with it the
/// senders, each after the attempt it is making.
#[derive(Debug)]
pub struct Sender {
    stop: Arc<AtomicBool>,
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts the dispatcher and `senders` sender threads for `service`'s outbox; nothing runs
/// when `senders` is 0.
pub fn spawn(service: Service, senders: usize, allow_private_targets: bool) -> io::Result<Sender> {
    let stop = Arc::new(AtomicBool::new(false));
    if senders == 0 {
        return Ok(Sender { stop });
    }
    let agent = agent(allow_private_targets);
    let (work, jobs) = mpsc::channel::<Due>();
    let jobs = Arc::new(Mutex::new(jobs));
    let (done, finished) = mpsc::channel::<()>();
    for n in 0..senders {
        let (service, agent, jobs, done) =
            (service.clone(), agent.clone(), jobs.clone(), done.clone());
        std::thread::Builder::new()
            .name(format!("webhook-sender-{n}"))
            .spawn(move || {
                while let Some(due) = next_job(&jobs) {
                    deliver(&agent, &service, &due);
                    if done.send(()).is_err() {
                        return;
                    }
                }
            })?;
    }
    let stopped = stop.clone();
    std::thread::Builder::new()
        .name("webhook-dispatch".into())
        .spawn(move || dispatch(&service, senders, &stopped, &work, &finished))?;
    Ok(Sender { stop })
}

/// The next delivery handed over, or `None` once the dispatcher is gone.
fn next_job(jobs: &Mutex<mpsc::Receiver<Due>>) -> Option<Due> {
    jobs.lock().ok()?.recv().ok()
}

/// Claims due deliveries for the free senders and hands them over, until `stop` (or the
/// senders are gone).
fn dispatch(
    service: &Service,
    senders: usize,
    stop: &AtomicBool,
    work: &mpsc::Sender<Due>,
    done: &mpsc::Receiver<()>,
) {
    let mut free = senders;
    let mut failing = false;
    while !stop.load(Ordering::Relaxed) {
        while done.try_recv().is_ok() {
            free += 1;
        }
        if free == 0 {
            match done.recv_timeout(IDLE) {
                Ok(()) => free += 1,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
            continue;
        }
        let limit = i64::try_from(free).unwrap_or(i64::MAX);
        let due = match service.claim_deliveries(limit, LEASE) {
            Ok(due) => {
                failing = false;
                due
            }
            Err(e) => {
                // Once per outage, not once a second while the database is away.
                if !failing {
                    tracing::warn!(
                        error = %e,
                        "cannot claim webhook deliveries; retrying every second"
                    );
                }
                failing = true;
                Vec::new()
            }
        };
        if due.is_empty() {
            // A sender finishing wakes the dispatcher early: its delivery may have let the
            // next event of the same alias through.
            match done.recv_timeout(IDLE) {
                Ok(()) => free += 1,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
            continue;
        }
        for d in due {
            if work.send(d).is_err() {
                return;
            }
            free -= 1;
        }
    }
}

/// The HTTP client of every sender: no proxy, no redirects, a status is an answer (not an
/// error), [`TIMEOUT`] for the whole exchange, targets resolved through [`CheckedResolver`].
fn agent(allow_private_targets: bool) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .proxy(None)
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(TIMEOUT))
        .user_agent(concat!("aliaskit-webhooks/", env!("CARGO_PKG_VERSION")))
        .build();
    ureq::Agent::with_parts(
        config,
        DefaultConnector::default(),
        CheckedResolver {
            allow_private_targets,
        },
    )
}

/// The system resolver, refusing a target any of whose addresses a webhook must not reach.
#[derive(Debug)]
struct CheckedResolver {
    allow_private_targets: bool,
}

impl Resolver for CheckedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addresses = DefaultResolver::default().resolve(uri, config, timeout)?;
        if !self.allow_private_targets
            && let Some(refused) = addresses.iter().find(|a| is_forbidden_target(a.ip()))
        {
            return Err(ureq::Error::Io(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "the target resolves to {}, a loopback, private, link-local or reserved \
                     address (allowed only with webhooks.allow_private_targets)",
                    refused.ip()
                ),
            )));
        }
        Ok(addresses)
    }
}

/// Makes one attempt of `due` and records it.
fn deliver(agent: &ureq::Agent, service: &Service, due: &Due) {
    let attempt = send(agent, service.now(), due);
    let recorded = service.record_delivery(due, &attempt, jitter());
    match recorded {
        Ok(Recorded::Delivered) => {
            tracing::debug!(event = %due.event_id, "webhook delivered");
        }
        Ok(outcome) => tracing::info!(
            event = %due.event_id,
            status = attempt.status,
            error = attempt.error.as_deref(),
            failed = outcome == Recorded::Failed,
            "webhook delivery failed"
        ),
        Err(e) => tracing::warn!(
            event = %due.event_id,
            error = %e,
            "cannot record a webhook delivery attempt; it is retried when its lease runs out"
        ),
    }
}

/// `POST`s `due` signed at `t`: the answer's status, or what went wrong.
fn send(agent: &ureq::Agent, t: i64, due: &Due) -> Attempt {
    let secrets: Vec<&str> = due.secrets.iter().map(|s| s.expose()).collect();
    let signature = aliaskit_token::sign_webhook(&secrets, t, due.payload.as_bytes());
    let started = Instant::now();
    let answer = agent
        .post(&due.url)
        .header("Content-Type", "application/json")
        .header("Aliaskit-Event-Id", &due.event_id)
        .header("Aliaskit-Signature", &signature)
        .send(due.payload.as_bytes());
    let duration = started.elapsed();
    match answer {
        Ok(mut answer) => {
            // Read so the connection can be reused; what it says does not matter.
            let _ = answer
                .body_mut()
                .with_config()
                .limit(BODY_LIMIT)
                .read_to_vec();
            Attempt {
                status: Some(answer.status().as_u16()),
                error: None,
                duration,
            }
        }
        Err(e) => Attempt {
            status: None,
            error: Some(describe(&e)),
            duration,
        },
    }
}

/// What went wrong, for the deliveries listing and the log: never the URL (its query may
/// hold the receiver's own token) nor anything signed.
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => format!("no answer within {} s", TIMEOUT.as_secs()),
        ureq::Error::HostNotFound => "the host does not resolve".into(),
        ureq::Error::Io(io) if io.kind() == io::ErrorKind::PermissionDenied => io.to_string(),
        ureq::Error::Io(io) => format!("connection failed: {}", io.kind()),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        ureq::Error::Tls(why) => format!("TLS: {why}"),
        ureq::Error::Rustls(why) => format!("TLS: {why}"),
        ureq::Error::Protocol(why) => format!("bad HTTP answer: {why}"),
        _ => "the request failed".into(),
    }
}

/// A factor between 0.8 and 1.2 that spreads the retries of many deliveries apart.
fn jitter() -> f64 {
    let mut bytes = [0u8; 2];
    let unit = match getrandom::getrandom(&mut bytes) {
        Ok(()) => f64::from(u16::from_le_bytes(bytes)) / f64::from(u16::MAX),
        Err(_) => 0.5,
    };
    0.8 + 0.4 * unit
}
