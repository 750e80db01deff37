//! The `master_keys` table: which master keys may have sealed values in this database. A key
//! id is recorded before the first value is sealed under it, and forgotten once a count finds
//! no value under it.

use diesel::prelude::*;

use crate::error::insert_unless_taken;
use crate::schema::master_keys::dsl;
use crate::{DbConn, Result};

/// Records that `kid` seals values here (once; later calls change nothing). Two servers
/// starting together on one PostgreSQL database may both find the id missing; the insert runs
/// in a savepoint, so the loser's duplicate is ignored instead of failing its start.
pub fn record(conn: &mut DbConn, kid: &str, now: i64) -> Result<()> {
    let known: i64 = dsl::master_keys
        .filter(dsl::kid.eq(kid))
        .count()
        .get_result(conn)?;
    if known > 0 {
        return Ok(());
    }
    insert_unless_taken(conn, |c| {
        diesel::insert_into(dsl::master_keys)
            .values((dsl::kid.eq(kid), dsl::first_used_at.eq(now)))
            .execute(c)
    })?;
    Ok(())
}

/// Every recorded key id.
pub fn all(conn: &mut DbConn) -> Result<Vec<String>> {
    Ok(dsl::master_keys
        .select(dsl::kid)
        .order(dsl::first_used_at.asc())
        .load(conn)?)
}

/// Forgets `kid`: no value here is sealed under it any more.
pub fn forget(conn: &mut DbConn, kid: &str) -> Result<bool> {
    Ok(diesel::delete(dsl::master_keys.find(kid)).execute(conn)? > 0)
}
