//! Throw-away databases for tests (feature `testing`).
//!
//! [`TestDb::all`] gives a fresh, migrated SQLite database always, and a fresh PostgreSQL
//! database when `ALIASKIT_TEST_POSTGRES_URL` names a server (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`): a new database is created on it for each
//! `TestDb` and dropped when the `TestDb` is. Without the variable, the PostgreSQL half reports
//! on stderr that it was skipped. `.ci/run` always sets it.

use std::sync::atomic::{AtomicU32, Ordering};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use crate::{Backend, Database, MasterKey, PoolOptions, Result, StoreError, Vault};

/// The environment variable naming the PostgreSQL server tests may create databases on.
pub const POSTGRES_URL_VAR: &str = "ALIASKIT_TEST_POSTGRES_URL";

/// A fresh, migrated database that is removed when dropped.
pub struct TestDb {
    /// The URL to connect to it, as `database.url` would name it.
    pub url: String,
    /// Its pool.
    pub db: Database,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[expect(dead_code, reason = "held to delete the directory on drop")] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// A migrated SQLite database in a temporary directory.
    pub fn sqlite() -> Result<TestDb> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Unavailable {
            reason: format!("cannot create a temporary directory: {e}"),
        })?;
        let url = format!("sqlite://{}", dir.path().join("aliaskit.db").display());
        let db = Database::open(&url, PoolOptions::default(), test_vault()?)?;
        db.migrate()?;
        Ok(TestDb {
            url,
            db,
            cleanup: Cleanup::Sqlite(dir),
        })
    }

    /// A migrated PostgreSQL database created for this test, or `None` (with a note on stderr)
    /// when `ALIASKIT_TEST_POSTGRES_URL` is not set.
    pub fn postgres() -> Result<Option<TestDb>> {
        let Some(test_db) = TestDb::postgres_empty()? else {
            return Ok(None);
        };
        test_db.db.migrate()?;
        Ok(Some(test_db))
    }

    /// Like [`postgres`](Self::postgres), without migrating: an empty database.
    pub fn postgres_empty() -> Result<Option<TestDb>> {
        let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
            eprintln!("skipped the PostgreSQL half: set {POSTGRES_URL_VAR} to run it");
            return Ok(None);
        };
        let name = unique_name();
        let mut admin =
            PgConnection::establish(&admin_url).map_err(|e| StoreError::Unavailable {
                reason: format!("{POSTGRES_URL_VAR}: {e}"),
            })?;
        admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
        let url = with_database(&admin_url, &name);
        let db = Database::open(
            &url,
            PoolOptions {
                max_size: 4,
                ..PoolOptions::default()
            },
            test_vault()?,
        )?;
        Ok(Some(TestDb {
            url,
            db,
            cleanup: Cleanup::Postgres { admin_url, name },
        }))
    }

    /// SQLite, and PostgreSQL when configured: run the same test on each.
    pub fn all() -> Result<Vec<TestDb>> {
        let mut dbs = vec![TestDb::sqlite()?];
        dbs.extend(TestDb::postgres()?);
        Ok(dbs)
    }

    /// Which backend, for assertion messages.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            // FORCE ends the pool's own connections, which would otherwise hold it open.
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// A vault with a fresh random master key.
pub fn test_vault() -> Result<Vault> {
    Ok(Vault::new(MasterKey::generate()?, Vec::new()))
}

/// `aliaskit_test_<pid>_<n>_<random>`: unique across concurrent test binaries and runs.
fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let mut random = [0u8; 4];
    let _ = getrandom::getrandom(&mut random);
    format!(
        "aliaskit_test_{}_{}_{:08x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        u32::from_le_bytes(random)
    )
}

/// `url` with its database path replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
        assert_eq!(
            with_database("postgres://h/db?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
    }
}
