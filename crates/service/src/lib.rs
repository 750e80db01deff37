//! The use cases of aliaskit, callable without HTTP: what an organization does with its aliases,
//! what an end user does to retrieve one, and how organizations and their keys are managed.
//!
//! [`Service`] is cheap to clone and safe to share. Every method blocks (database work): call it
//! from a blocking pool (`actix_web::web::block`, `tokio::task::spawn_blocking`) or a plain
//! thread, never from an async worker.
//!
//! ```
//! use aliaskit_domain::{AliasKind, NewAlias, OrgName};
//! use aliaskit_service::{Credentials, Service, ServiceConfig};
//! use aliaskit_store::{Database, MasterKey, PoolOptions, Vault};
//!
//! let dir = tempfile::tempdir()?;
//! let vault = Vault::new(MasterKey::generate()?, Vec::new());
//! let db = Database::open(dir.path().join("a.db").to_str().unwrap(), PoolOptions::default(), vault)?;
//! db.migrate()?;
//! let service = Service::new(db, ServiceConfig::default());
//!
//! let (org, _key) = service.create_org(&OrgName::parse("acme")?)?;
//! let alias = service.create_alias(org.id, NewAlias {
//!     kind: AliasKind::Conference,
//!     name: Some("Weekly sync".into()),
//!     passcode: Some("let-me-in".into()),
//!     jwt_secret: None,
//!     stream_key: None,
//!     expired_at: service.now() + 3600,
//! })?;
//!
//! // An end user with the passcode sees the alias, but not its passcode.
//! let seen = service.retrieve(&alias.id, Credentials { passcode: Some("let-me-in"), ..Credentials::default() })?;
//! assert_eq!(seen.alias.passcode, None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod aliases;
mod audit;
mod cache;
mod cached_alias;
mod delivery;
mod error;
mod events;
pub mod opencap;
mod orgs;
mod password;
mod random;
mod retrieve;
mod webhooks;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use aliaskit_domain::AliasRules;
use aliaskit_store::Database;
use aliaskit_token::{Clock, Policy, SystemClock, Tokens};

pub use aliases::{DEFAULT_LIMIT, ListQuery, MAX_LIMIT, Page};
pub use aliaskit_store::repo::aliases::Status as AliasStatus;
pub use aliaskit_store::repo::audit::Filter as AuditFilter;
pub use aliaskit_store::repo::passcode_failures::{Block as PasscodeBlock, Scope as PasscodeScope};
pub use aliaskit_store::repo::webhook_attempts::AttemptRecord;
pub use audit::{Actor, AuditEntry, AuditPage, AuditQuery, Origin, USER_AUDIT_LIMIT};
pub use cache::CacheReads;
pub use delivery::{
    Attempt, AttemptPage, DISABLE_AFTER, DeliveryCounts, Due, FIRST_RETRY, MAX_RETRY, RETRY_FOR,
    Recorded, backoff,
};
pub use error::{Result, ServiceError};
pub use opencap::{
    CapUserSummary, CheckedLogin, HashedSignup, Lookup, OpenCap, OpenCapConfig, PendingLogin,
    PendingSignup, Signup,
};
pub use orgs::{Bootstrap, OrgDeletion};
pub use retrieve::{Credentials, Retrieved, TokenCheck};
pub use webhooks::{MAX_WEBHOOKS_PER_ORG, NewWebhook, WebhookConfig};

/// A clock that can be shared across threads.
pub type SharedClock = Arc<dyn Clock>;

/// What the operator configures for the use cases (the `tokens` section of the settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    /// How access tokens are judged (`docs/security.md`). Its `min_secret_bytes` is also the shortest
    /// `jwt_secret` an alias may be given.
    pub policy: Policy,
    /// How long a rotated-out `jwt_secret` keeps verifying.
    pub rotation_grace: Duration,
    /// OpenCAP: served domains, signup, login tokens, lockout.
    pub opencap: OpenCapConfig,
    /// Aliases expired longer than this are deleted by the purge.
    pub purge_after: Duration,
    /// How often the purge runs (once per interval across every server on the database).
    pub purge_interval: Duration,
    /// How long a read alias or OpenCAP lookup is served from memory: the longest time another
    /// server on the same database may still accept a deleted alias, a rotated secret or
    /// revoked tokens, or show an old address. Zero turns the cache off.
    pub cache_ttl: Duration,
    /// How long the same entries are served while this server listens for other servers'
    /// changes (PostgreSQL `LISTEN`, [`Service::set_listening`]): each change is then removed
    /// everywhere when announced, and this only bounds how long a cold entry stays.
    pub cache_listen_ttl: Duration,
    /// About how many aliases (and as many lookups) the cache holds at most.
    pub cache_max_entries: usize,
    /// Shortest passcode an alias may be given, in characters.
    pub min_passcode_len: usize,
    /// Wrong passcodes one alias may get per `passcode_window`, from every address together;
    /// each address may spend half of it (at least one).
    pub passcode_failures: u32,
    /// The window of the passcode budget, and the first block after it is spent.
    pub passcode_window: Duration,
    /// Webhooks: the secret rotation's grace and which targets are accepted.
    pub webhooks: WebhookConfig,
    /// How long audit entries are kept (`audit.retention_days`); `None` keeps them forever.
    pub audit_retention: Option<Duration>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            policy: Policy::default(),
            rotation_grace: Duration::from_secs(300),
            opencap: OpenCapConfig::default(),
            purge_after: Duration::from_secs(30 * 86_400),
            purge_interval: Duration::from_secs(3600),
            cache_ttl: Duration::from_secs(5),
            cache_listen_ttl: Duration::from_secs(60),
            cache_max_entries: 250_000,
            min_passcode_len: aliaskit_domain::DEFAULT_MIN_PASSCODE_LEN,
            passcode_failures: 10,
            passcode_window: Duration::from_secs(15 * 60),
            webhooks: WebhookConfig::default(),
            audit_retention: Some(Duration::from_secs(365 * 86_400)),
        }
    }
}

/// The use cases, over one database.
#[derive(Clone)]
pub struct Service {
    db: Database,
    tokens: Arc<Tokens<SharedClock>>,
    /// The policy for the server's own (OpenCAP login) tokens.
    cap_tokens: Arc<Tokens<SharedClock>>,
    /// The server's key ring, loaded from the database and cached.
    ring: Arc<RwLock<Option<opencap::LoadedRing>>>,
    /// Aliases read by the retrieve, with their keys ready.
    alias_cache: Arc<cache::TtlCache<aliaskit_domain::AliasId, cached_alias::CachedAlias>>,
    /// Answers of the OpenCAP Address Query.
    lookup_cache: Arc<cache::TtlCache<opencap::LookupKey, opencap::Lookup>>,
    /// Whether other servers' changes are heard, shared by both caches.
    freshness: Arc<cache::Freshness>,
    /// The budget of wrong passcodes, from the settings.
    passcode_budget: aliaskit_store::repo::passcode_failures::Budget,
    /// Webhook attempts recorded, by outcome.
    delivery_counts: Arc<delivery::DeliveryCounters>,
    config: Arc<ServiceConfig>,
    /// Who this handle's changes are recorded as in the audit trail ([`Service::acting_as`]).
    origin: Arc<audit::Origin>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("db", &self.db)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// The use cases over `db`, on the system clock.
    pub fn new(db: Database, config: ServiceConfig) -> Self {
        Self::with_clock(db, config, Arc::new(SystemClock))
    }

    /// The use cases over `db`, with an injected clock (tests).
    pub fn with_clock(db: Database, config: ServiceConfig, clock: SharedClock) -> Self {
        let freshness = Arc::new(cache::Freshness::default());
        Service {
            db,
            tokens: Arc::new(Tokens::with_clock(config.policy.clone(), clock.clone())),
            cap_tokens: Arc::new(opencap::cap_tokens(&config.opencap, clock)),
            ring: Arc::default(),
            alias_cache: Arc::new(cache::TtlCache::new(
                config.cache_ttl,
                config.cache_listen_ttl,
                config.cache_max_entries,
                freshness.clone(),
            )),
            lookup_cache: Arc::new(cache::TtlCache::new(
                config.cache_ttl,
                config.cache_listen_ttl,
                config.cache_max_entries,
                freshness.clone(),
            )),
            freshness,
            passcode_budget: {
                let per_alias = i64::from(config.passcode_failures.max(1));
                aliaskit_store::repo::passcode_failures::Budget {
                    per_alias,
                    per_client: (per_alias / 2).max(1),
                    window: secs(config.passcode_window).max(1),
                }
            },
            delivery_counts: Arc::default(),
            config: Arc::new(config),
            origin: Arc::new(audit::Origin::system("service")),
        }
    }

    /// The database.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The configuration.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// How often the retrieve's alias cache and the Address Query's cache answered, since the
    /// process started: `(aliases, lookups)`. A request counts once, as a hit when the cached
    /// copy was used, as a miss when the database was read.
    pub fn cache_reads(&self) -> (CacheReads, CacheReads) {
        (self.alias_cache.reads(), self.lookup_cache.reads())
    }

    /// Now, in Unix seconds, by the service's clock.
    pub fn now(&self) -> i64 {
        self.tokens.clock().now()
    }

    fn rules(&self) -> AliasRules {
        AliasRules {
            min_secret_bytes: self.config.policy.min_secret_bytes,
            min_passcode_len: self.config.min_passcode_len,
        }
    }
}

/// A duration as whole seconds for Unix-time arithmetic, saturating.
pub(crate) fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
