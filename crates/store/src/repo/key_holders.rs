//! The `key_holders` table: the processes serving this database and the master key ids each
//! holds, refreshed every few seconds (see `Database::register_keys`).

use diesel::prelude::*;

use crate::error::insert_unless_taken;
use crate::schema::key_holders::dsl;
use crate::{DbConn, Result};

/// One process's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHolder {
    /// Random, per process start.
    pub id: String,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: i64,
    /// The key ids it holds, in its order of preference.
    pub key_ids: Vec<String>,
    /// The key id it seals new values with.
    pub sealing: String,
    /// Unix seconds of its last refresh.
    pub seen_at: i64,
}

type Row = (String, String, i64, String, String, i64);

impl From<Row> for KeyHolder {
    fn from((id, host, pid, key_ids, sealing, seen_at): Row) -> Self {
        KeyHolder {
            id,
            host,
            pid,
            key_ids: key_ids
                .split(',')
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .collect(),
            sealing,
            seen_at,
        }
    }
}

/// The PostgreSQL advisory lock under which processes join and choose keys: "aliaskey" in
/// ASCII. A process starting and one choosing a newer key take turns, so either the newcomer
/// sees the newer key recorded (and refuses to start without it) or the other sees the
/// newcomer (and keeps the older key).
const KEYS_LOCK: i64 = 0x616c_6961_736b_6579;

/// Takes the lock under which processes join this table and choose or retire master keys, for
/// the rest of the transaction (PostgreSQL; on SQLite `Database::transaction`'s
/// `BEGIN IMMEDIATE` already serializes them).
pub(crate) fn lock(conn: &mut DbConn) -> Result<()> {
    super::xact_lock(conn, KEYS_LOCK)
}

/// Writes `holder`'s entry, creating it the first time.
pub fn upsert(conn: &mut DbConn, holder: &KeyHolder) -> Result<()> {
    let key_ids = holder.key_ids.join(",");
    let values = (
        dsl::host.eq(&holder.host),
        dsl::pid.eq(holder.pid),
        dsl::key_ids.eq(&key_ids),
        dsl::sealing.eq(&holder.sealing),
        dsl::seen_at.eq(holder.seen_at),
    );
    let updated = diesel::update(dsl::key_holders.find(&holder.id))
        .set(values)
        .execute(conn)?;
    if updated == 0 {
        insert_unless_taken(conn, |c| {
            diesel::insert_into(dsl::key_holders)
                .values((dsl::id.eq(&holder.id), values))
                .execute(c)
        })?;
    }
    Ok(())
}

/// Every entry refreshed at or after `since`, by host and process id.
pub fn live(conn: &mut DbConn, since: i64) -> Result<Vec<KeyHolder>> {
    Ok(dsl::key_holders
        .filter(dsl::seen_at.ge(since))
        .order((dsl::host.asc(), dsl::pid.asc()))
        .select((
            dsl::id,
            dsl::host,
            dsl::pid,
            dsl::key_ids,
            dsl::sealing,
            dsl::seen_at,
        ))
        .load::<Row>(conn)?
        .into_iter()
        .map(KeyHolder::from)
        .collect())
}

/// Deletes the entries not refreshed since `before` (processes that are gone).
pub fn forget_before(conn: &mut DbConn, before: i64) -> Result<usize> {
    Ok(diesel::delete(dsl::key_holders.filter(dsl::seen_at.lt(before))).execute(conn)?)
}

/// Deletes one entry (a process stopping).
pub fn remove(conn: &mut DbConn, id: &str) -> Result<()> {
    diesel::delete(dsl::key_holders.find(id)).execute(conn)?;
    Ok(())
}
