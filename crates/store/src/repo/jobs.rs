//! The `jobs` table: a lease per background job, shared by every server on the database.

use diesel::prelude::*;

use crate::schema::jobs::dsl;
use crate::{DbConn, Result, error::unique_violation};

/// Claims the run of `job` at `now` if it last ran at or before `now - every`: `true` for the
/// one caller that moved `last_run` forward, `false` for everyone else. Atomic on both
/// backends (a compare-and-set `UPDATE`), so several servers run each pass once.
pub fn claim(conn: &mut DbConn, job: &str, now: i64, every: i64) -> Result<bool> {
    let due = now.saturating_sub(every);
    let claimed = diesel::update(
        dsl::jobs
            .filter(dsl::name.eq(job))
            .filter(dsl::last_run.le(due)),
    )
    .set(dsl::last_run.eq(now))
    .execute(conn)?;
    if claimed > 0 {
        return Ok(true);
    }
    // First run ever: whoever inserts the row runs it.
    match diesel::insert_into(dsl::jobs)
        .values((dsl::name.eq(job), dsl::last_run.eq(now)))
        .execute(conn)
    {
        Ok(_) => Ok(true),
        Err(e) if unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The value kept under `job` (a watermark rather than a run time), if any.
pub fn value(conn: &mut DbConn, job: &str) -> Result<Option<i64>> {
    Ok(dsl::jobs
        .find(job)
        .select(dsl::last_run)
        .first(conn)
        .optional()?)
}

/// [`value`], holding the row until the transaction ends (`FOR UPDATE` on PostgreSQL; SQLite's
/// transaction holds the write lock): for a read-modify-write of the value that must not
/// interleave with another server's, even one whose claim of the job ran past its lease.
pub fn value_for_update(conn: &mut DbConn, job: &str) -> Result<Option<i64>> {
    let query = dsl::jobs.find(job).select(dsl::last_run);
    Ok(match conn {
        DbConn::Postgres(pg) => query.for_update().first(pg).optional()?,
        DbConn::Sqlite(_) => query.first(conn).optional()?,
    })
}

/// Sets the value kept under `job`. Call it where one writer at a time holds the job (a
/// claimed run, in a transaction).
pub fn set_value(conn: &mut DbConn, job: &str, value: i64) -> Result<()> {
    let updated = diesel::update(dsl::jobs.find(job))
        .set(dsl::last_run.eq(value))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(dsl::jobs)
            .values((dsl::name.eq(job), dsl::last_run.eq(value)))
            .execute(conn)?;
    }
    Ok(())
}
