//! Integration tests of aliaskit-store. Every test runs on SQLite, and on PostgreSQL when
//! `ALIASKIT_TEST_POSTGRES_URL` is set (`.ci/run` sets it), each on a fresh database.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a failed unwrap is a failed test, with its location"
)]

mod aliases;
mod concurrency;
mod connect;
mod migrations;
mod orgs;
mod outage;
mod passcodes;
mod vault;

use aliaskit_domain::{Alias, AliasId, AliasKind, OrgId, OrgName, Organization};
use aliaskit_store::repo;
use aliaskit_store::testing::TestDb;

/// A fixed "now".
pub const NOW: i64 = 1_700_000_000;

/// Fresh databases for one test: SQLite, and PostgreSQL when configured.
pub fn dbs() -> Vec<TestDb> {
    TestDb::all().expect("test databases")
}

/// Creates an organization named `name`.
pub fn org(db: &TestDb, name: &str) -> Organization {
    db.db
        .transaction(|c| repo::orgs::insert(c, &OrgName::parse(name).unwrap(), NOW))
        .unwrap()
}

/// An alias of `org` with every optional field set.
pub fn alias(org: OrgId, id: &str, inserted_at: i64) -> Alias {
    Alias {
        id: AliasId::parse(id).unwrap(),
        org,
        kind: AliasKind::Conference,
        name: Some(format!("room {id}")),
        passcode: Some("pass".into()),
        jwt_secret: Some("0123456789abcdef0123456789abcdef".into()),
        stream_key: Some("sk".into()),
        expired_at: NOW + 3600,
        inserted_at,
        updated_at: inserted_at,
        previous_secret: None,
        previous_secret_until: None,
        tokens_valid_after: None,
    }
}
