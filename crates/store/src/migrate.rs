//! The schema: the migrations embedded from `migrations/{sqlite,postgres}`, applied by
//! [`Database::migrate`] (under an advisory lock on PostgreSQL) or checked by
//! [`Database::check_schema`].

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::migration::MigrationVersion;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::{Database, DbConn, Result, StoreError};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// The PostgreSQL advisory lock key `migrate` holds: "aliaskit" in ASCII, so it does not
/// collide with another application's locks on a shared server by accident.
const MIGRATION_LOCK: i64 = 0x616c_6961_736b_6974;

impl Database {
    /// Fails with [`StoreError::SchemaBehind`] while embedded migrations are pending.
    pub fn check_schema(&self) -> Result<()> {
        let mut conn = self.conn()?;
        let failed = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration {
            reason: e.to_string(),
        };
        let pending: Vec<String> = match &mut *conn {
            DbConn::Postgres(c) => c
                .pending_migrations(POSTGRES_MIGRATIONS)
                .map(|m| m.iter().map(|m| m.name().version().to_string()).collect()),
            DbConn::Sqlite(c) => c
                .pending_migrations(SQLITE_MIGRATIONS)
                .map(|m| m.iter().map(|m| m.name().version().to_string()).collect()),
        }
        .map_err(failed)?;
        match pending.first() {
            None => Ok(()),
            Some(first) => Err(StoreError::SchemaBehind {
                count: pending.len(),
                first: first.clone(),
            }),
        }
    }

    /// The schema step of every start (`database.migrate_on_start`): with `migrate`, applies
    /// the pending migrations and returns their versions; without, refuses a schema behind
    /// this version ([`StoreError::SchemaBehind`], which says to run `aliaskit migrate`)
    /// instead of failing later with "no such table".
    pub fn ready_schema(&self, migrate: bool) -> Result<Vec<String>> {
        if migrate {
            self.migrate()
        } else {
            self.check_schema().map(|()| Vec::new())
        }
    }

    /// Applies the pending embedded migrations; returns the versions applied.
    ///
    /// On PostgreSQL, processes migrating one database at the same moment (servers starting
    /// together) take turns under a transaction-scoped advisory lock: the first applies, the
    /// others wait, then find nothing pending. The migrations commit together. (A SQLite file
    /// has one server.)
    pub fn migrate(&self) -> Result<Vec<String>> {
        let mut conn = self.conn()?;
        let failed = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration {
            reason: e.to_string(),
        };
        let versions = |applied: Vec<MigrationVersion<'_>>| -> Vec<String> {
            applied.into_iter().map(|v| v.to_string()).collect()
        };
        match &mut *conn {
            // A transaction-scoped lock: released with the commit or rollback, whatever happens.
            DbConn::Postgres(c) => c.transaction(|c| {
                // Migrations and the wait for another server's run take as long as they take.
                c.batch_execute("SET LOCAL statement_timeout = 0")?;
                c.batch_execute(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))?;
                c.run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(versions)
                    .map_err(failed)
            }),
            DbConn::Sqlite(c) => c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(versions)
                .map_err(failed),
        }
    }
}
