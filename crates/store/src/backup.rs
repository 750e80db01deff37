//! A copy of a SQLite database while it serves.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};

use crate::{Database, DbConn, Result, StoreError};

impl Database {
    /// Writes a consistent copy of a SQLite database to `to` while it serves (SQLite's
    /// `VACUUM INTO`), as a new file readable and writable by its owner only, like the database
    /// itself. Refused for PostgreSQL (`pg_dump` backs it up) and when `to` exists.
    pub fn backup_sqlite(&self, to: &Path) -> Result<()> {
        let refused = |reason: String| StoreError::Backup {
            path: to.display().to_string(),
            reason,
        };
        let text = to.to_str().ok_or_else(|| {
            refused("the path is not valid UTF-8, which SQLite needs; choose another".into())
        })?;
        let mut conn = self.conn()?;
        let DbConn::Sqlite(sqlite) = &mut *conn else {
            return Err(StoreError::Unsupported {
                what: "a backup through aliaskit on PostgreSQL; use pg_dump (docs/deployment.md)",
            });
        };
        // VACUUM INTO writes into an empty file: created here first, so with mode 0600.
        crate::create_new_private(to).map_err(|e| {
            refused(match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    "the file exists; a backup never overwrites one: choose a new path".into()
                }
                _ => e.to_string(),
            })
        })?;
        let quoted = text.replace('\'', "''");
        let failed = |e: &dyn std::fmt::Display| {
            let _ = std::fs::remove_file(to);
            refused(e.to_string())
        };
        sqlite
            .batch_execute(&format!("VACUUM INTO '{quoted}'"))
            .map_err(|e| failed(&e))?;
        // Which processes serve the database is not data: a restored copy must not make the
        // servers of its day look alive.
        // (A database of an older schema, backed up before an upgrade, has no such table.)
        match SqliteConnection::establish(text)
            .map_err(|e| failed(&e))?
            .batch_execute("DELETE FROM key_holders")
        {
            Err(e) if !e.to_string().contains("no such table") => Err(failed(&e)),
            _ => Ok(()),
        }
    }
}
