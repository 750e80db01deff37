//! The aliaskit server as a library, so tests start exactly what `main` starts:
//! [`Application::build`] binds the port, opens the database, applies migrations (or, with
//! `database.migrate_on_start = false`, refuses a schema behind this version), checks the
//! master keys and bootstraps the first organization; [`Application::run_until_stopped`] serves until SIGINT or
//! SIGTERM, letting in-flight requests finish. With `server.tls.cert` and `server.tls.key` it
//! speaks HTTPS (rustls; see [`tls`]).

pub mod healthcheck;
pub mod listen;
pub mod tls;
pub mod webhooks;

use std::io::IsTerminal;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpServer;
use actix_web::dev::Server;
use aliaskit_config::{LogFormat, Settings};
use aliaskit_http::client::TrustedProxies;
use aliaskit_http::{Api, RateLimiter};
use aliaskit_service::{Bootstrap, Service};
use aliaskit_store::{Database, Holder, KEY_REFRESH};
use anyhow::Context;

/// A built server, bound to its port, not yet serving.
pub struct Application {
    port: u16,
    scheme: &'static str,
    server: Server,
    bootstrap_key: Option<String>,
    /// Whose `key_holders` entry to remove when the server stops.
    keys: (Service, Arc<Membership>),
    /// The webhook sender, stopped with the server.
    sender: webhooks::Sender,
    /// The listener for other servers' changes, stopped with the server.
    listening: listen::Listening,
}

/// This server's entry in `key_holders`: refreshed every [`KEY_REFRESH`], removed at the stop.
/// The lock orders the two, so a refresh still running when the server stops cannot write the
/// entry back after it was removed (which would hold a key rotation back for `HOLDER_TIMEOUT`).
struct Membership {
    holder: Holder,
    /// `true` once the entry was removed; no refresh runs after that.
    left: std::sync::Mutex<bool>,
}

impl Membership {
    /// Reloads the key file and refreshes the entry; `None` after the server left.
    fn refresh(&self, service: &Service) -> Option<aliaskit_store::Result<String>> {
        let left = self
            .left
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (!*left).then(|| service.db().refresh_keys(&self.holder, service.now()))
    }

    /// Removes the entry, after any refresh in progress, and stops later ones.
    fn leave(&self, service: &Service) -> aliaskit_store::Result<()> {
        let mut left = self
            .left
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *left = true;
        service.db().leave_keys(&self.holder)
    }
}

impl Application {
    /// Binds `server.host:server.port` (port 0 picks a free port), opens the database
    /// (migrating it when `database.migrate_on_start`) and creates the `default` organization
    /// on an empty database.
    pub fn build(settings: &Settings) -> anyhow::Result<Application> {
        // Before the database: a TLS mistake or a busy port should stop the start before it
        // changes anything — above all before a generated bootstrap key, shown only once,
        // is created for a server that then cannot start.
        let tls = tls::server_config(&settings.server.tls)?;
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))
            .with_context(|| {
                format!(
                    "cannot listen on {}:{}",
                    settings.server.host, settings.server.port
                )
            })?;
        let url = settings.database.redacted_url();
        let keys = settings.keys()?;
        let db = Database::open(&settings.database.url, settings.pool_options(), keys.vault)
            .with_context(|| format!("cannot open the database at {url}"))?;
        let applied = db
            .ready_schema(settings.database.migrate_on_start)
            .with_context(|| format!("cannot use the database at {url}"))?;
        if !applied.is_empty() {
            tracing::info!(database = %url, migrations = ?applied, "applied migrations");
        }
        let service = Service::new(db, settings.service_config());
        let holder = Holder::this_process()?;
        let sealing = service
            .db()
            .register_keys(&holder, service.now())
            .with_context(|| format!("cannot use the database at {url}"))?;
        tracing::info!(master_key = %sealing, "secrets at rest are encrypted");
        let configured = settings.bootstrap_key()?;
        let bootstrap_key = match service
            .bootstrap(configured.as_ref())
            .context("cannot create the first organization")?
        {
            Bootstrap::Created {
                key,
                generated: true,
            } => {
                tracing::info!(
                    "created organization `default`; its API key is printed once on stdout"
                );
                Some(key.expose().to_owned())
            }
            Bootstrap::Created {
                generated: false, ..
            } => {
                tracing::info!(
                    "created organization `default` with the configured bootstrap.api_key"
                );
                None
            }
            Bootstrap::Ignored => {
                tracing::warn!(
                    "bootstrap.api_key is set, but the database has organizations and none \
                     holds this key (it was rotated, or is not this database's): ignored. It \
                     applies to an empty database only; remove it from the settings"
                );
                None
            }
            Bootstrap::Nothing => None,
        };

        let api = Api {
            body_limit: settings.server.body_limit,
            body_timeout: Duration::from_secs(settings.server.body_timeout),
            auth_limiter: Arc::new(RateLimiter::new(
                settings.opencap.auth_limit_per_minute,
                Duration::from_secs(60),
            )),
            retrieve_limiter: Arc::new(RateLimiter::new(
                settings.limits.retrieve_per_second,
                Duration::from_secs(1),
            )),
            org_limiter: Arc::new(RateLimiter::new(
                settings.limits.org_per_second,
                Duration::from_secs(1),
            )),
            trusted_proxies: TrustedProxies::new(settings.server.trusted_proxies.clone()),
            ..Api::new(service.clone())
        };
        let port = listener.local_addr()?.port();
        let mut server = HttpServer::new(move || aliaskit_http::app(api.clone()))
            .shutdown_timeout(settings.server.shutdown_timeout);
        if let Some(workers) = settings.server.workers {
            server = server.workers(workers);
        }
        let scheme = if tls.is_some() { "https" } else { "http" };
        let server = match tls {
            Some(config) => server.listen_rustls_0_23(listener, config),
            None => server.listen(listener),
        }
        .context("cannot start the HTTP server")?
        .run();
        let membership = Arc::new(Membership {
            holder,
            left: std::sync::Mutex::new(false),
        });
        spawn_key_refresh(service.clone(), membership.clone());
        spawn_purge(service.clone());
        let sender = webhooks::spawn(
            service.clone(),
            settings.webhooks.senders,
            settings.webhooks.allow_private_targets,
        )
        .context("cannot start the webhook senders")?;
        let listening =
            listen::spawn(service.clone()).context("cannot start listening for changes")?;
        Ok(Application {
            port,
            scheme,
            server,
            bootstrap_key,
            keys: (service, membership),
            sender,
            listening,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `"https"` when TLS is configured, else `"http"`.
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// The API key of the `default` organization if this start created it with a generated
    /// key: show it to the operator once.
    pub fn bootstrap_key(&self) -> Option<&str> {
        self.bootstrap_key.as_deref()
    }

    /// A handle to stop the server from elsewhere (tests).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGINT, SIGTERM or the handle); in-flight requests get up to
    /// `server.shutdown_timeout` to finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        drop(self.sender);
        drop(self.listening);
        // A server that stopped holds no one back from a newer master key.
        let (service, membership) = self.keys;
        match actix_web::web::block(move || membership.leave(&service)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot remove this server from key_holders"),
            Err(e) => tracing::warn!(error = %e, "cannot remove this server from key_holders"),
        }
        served
    }
}

/// Installs the global log subscriber: `logging.level` (or `RUST_LOG`, if set) as the filter,
/// `logging.format` pretty or JSON, on stderr so stdout carries only what scripts read.
pub fn init_logging(settings: &Settings) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) => EnvFilter::try_new(directives).context("RUST_LOG")?,
        Err(_) => EnvFilter::try_new(&settings.logging.level).context("logging.level")?,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let installed = match settings.logging.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))
}

/// Every `KEY_REFRESH`: reloads the key file and refreshes this server's `key_holders` entry,
/// so that a key added beside the running server is picked up, and the server seals with the
/// newest key every live server holds (docs/security.md, "Rotating the master key").
/// The first refresh comes one period after the start, which has just registered the entry.
fn spawn_key_refresh(service: Service, membership: Arc<Membership>) {
    actix_web::rt::spawn(async move {
        let start = actix_web::rt::time::Instant::now() + KEY_REFRESH;
        let mut interval = actix_web::rt::time::interval_at(start, KEY_REFRESH);
        let mut sealing = service.db().vault().current_id();
        loop {
            interval.tick().await;
            let (s, m) = (service.clone(), membership.clone());
            match actix_web::web::block(move || m.refresh(&s)).await {
                // The server stopped and left key_holders: nothing more to refresh.
                Ok(None) => break,
                Ok(Some(Ok(now_sealing))) => {
                    if now_sealing != sealing {
                        tracing::info!(
                            master_key = %now_sealing,
                            previous = %sealing,
                            "new secrets are encrypted under another master key"
                        );
                        sealing = now_sealing;
                    }
                }
                Ok(Some(Err(e))) => tracing::warn!(error = %e, "cannot refresh the master keys"),
                Err(e) => tracing::warn!(error = %e, "the master key refresh did not run"),
            }
        }
    });
}

/// Deletes long-expired aliases in the background: every minute (or every
/// `aliases.purge_interval`, if shorter) it asks the database whether a purge is due; only the
/// server that claims the run does the work, so it runs once per interval across servers.
fn spawn_purge(service: Service) {
    let tick = service.config().purge_interval.min(Duration::from_secs(60));
    actix_web::rt::spawn(async move {
        let mut interval = actix_web::rt::time::interval(tick);
        loop {
            interval.tick().await;
            let service = service.clone();
            match actix_web::web::block(move || service.purge_expired()).await {
                Ok(Ok(Some(purged))) => {
                    tracing::info!(
                        purged,
                        "purged aliases expired longer than aliases.purge_after"
                    );
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "the purge of expired aliases failed"),
                Err(e) => tracing::warn!(error = %e, "the purge of expired aliases did not run"),
            }
        }
    });
}
