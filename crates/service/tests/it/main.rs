//! Integration tests of aliaskit-service: each use case on SQLite, and on PostgreSQL when
//! `ALIASKIT_TEST_POSTGRES_URL` is set, each on a fresh database, with a clock the test moves.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test, with its location"
)]

mod aliases;
mod audit;
mod opencap;
mod orgs;
mod retrieve;
mod webhooks;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use aliaskit_domain::{AliasKind, NewAlias, OrgId, OrgName};
use aliaskit_service::{Service, ServiceConfig};
use aliaskit_store::testing::TestDb;
use aliaskit_token::Clock;

/// The starting "now".
pub const NOW: i64 = 1_700_000_000;
/// A 32-byte secret.
pub const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// A clock the test sets.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// Moves the clock to `t`.
    pub fn set(&self, t: i64) {
        self.0.store(t, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A service over one fresh database, its clock, and an organization `acme` with its key.
pub struct Fixture {
    /// Keeps the database alive.
    pub db: TestDb,
    /// The use cases.
    pub service: Service,
    /// The clock, at `NOW`.
    pub clock: Arc<ManualClock>,
    /// The organization `acme`.
    pub org: OrgId,
    /// Its API key.
    pub key: String,
}

/// One fixture per backend.
pub fn fixtures() -> Vec<Fixture> {
    TestDb::all()
        .unwrap()
        .into_iter()
        .map(|db| {
            let clock = Arc::new(ManualClock::default());
            clock.set(NOW);
            let service =
                Service::with_clock(db.db.clone(), ServiceConfig::default(), clock.clone());
            let (org, key) = service
                .create_org(&OrgName::parse("acme").unwrap())
                .unwrap();
            Fixture {
                db,
                service,
                clock,
                org: org.id,
                key: key.expose().to_owned(),
            }
        })
        .collect()
}

/// A conference alias with a secret, expiring in an hour.
pub fn new_alias() -> NewAlias {
    NewAlias {
        kind: AliasKind::Conference,
        name: Some("Weekly sync".into()),
        passcode: None,
        jwt_secret: Some(SECRET.into()),
        stream_key: Some("sk-1".into()),
        expired_at: NOW + 3600,
    }
}
