//! Repositories: one module per table (and `sealed`, the sealed columns of every table),
//! functions over `&mut DbConn` so callers compose transactions (`db.transaction(|c| { … })`).
//!
//! A lookup by primary key or unique columns reads its row with `get_result`, never `first`:
//! `first` adds `LIMIT ?`, and SQLite (3.47 and later) marks a statement whose `LIMIT` is a
//! bound parameter to be prepared again whenever that parameter is bound — on every execution,
//! so diesel's statement cache never saved the parse. It was 14 % of the server's CPU under the
//! many-aliases load (`docs/performance.md`). `first` stays where an `ORDER BY` picks one row.

pub mod aliases;
pub mod api_keys;
pub mod audit;
pub mod cap_addresses;
pub mod cap_users;
pub mod jobs;
pub mod key_holders;
pub mod master_keys;
pub mod orgs;
pub mod passcode_failures;
pub(crate) mod sealed;
pub mod signing_keys;
pub mod webhook_attempts;
pub mod webhook_deliveries;
pub mod webhook_events;
pub mod webhooks;

use diesel::connection::SimpleConnection;

use crate::{DbConn, Result};

/// Takes the PostgreSQL advisory lock `key` until the end of the transaction, for a
/// read-then-insert no row lock covers (the row does not exist yet). On SQLite
/// `Database::transaction`'s `BEGIN IMMEDIATE` already serializes writers.
pub(crate) fn xact_lock(conn: &mut DbConn, key: i64) -> Result<()> {
    if let DbConn::Postgres(pg) = conn {
        pg.batch_execute(&format!("SELECT pg_advisory_xact_lock({key})"))?;
    }
    Ok(())
}
