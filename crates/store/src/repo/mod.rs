//! Repositories: one module per table (and `sealed`, the sealed columns of every table),
//! functions over `&mut DbConn` so callers compose transactions (`db.transaction(|c| { … })`).

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
