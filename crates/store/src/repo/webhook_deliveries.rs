//! The `webhook_deliveries` table: one row per event and subscribed endpoint, claimed by a
//! sender with a lease and retried until delivered or failed (`docs/webhooks.md`).

use diesel::dsl::{count_star, exists, min, not};
use diesel::prelude::*;

use crate::schema::webhook_deliveries::dsl;
use crate::{DbConn, Result};

/// A delivery as a sender sees it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Delivery {
    /// Its id.
    pub id: i64,
    /// The event.
    pub event_seq: i64,
    /// The endpoint.
    pub webhook_id: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// Unix seconds of the next attempt.
    pub next_attempt_at: i64,
    /// A sender holds it until then.
    pub lease_until: Option<i64>,
    /// The last answer's status.
    pub last_status: Option<i64>,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// Unix seconds.
    pub delivered_at: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    /// The event's alias, for alias events.
    pub alias_id: Option<String>,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A `2xx` answer.
    Delivered {
        /// The status.
        status: u16,
    },
    /// Anything else; retried at `next_attempt_at`, or given up (`failed`) when `None`.
    Retry {
        /// The status, if an answer came.
        status: Option<u16>,
        /// What went wrong, without secrets.
        error: String,
        /// Unix seconds, or `None` to give up.
        next_attempt_at: Option<i64>,
    },
}

/// The columns of [`Delivery`], in its order. Written out because `Delivery::as_select()` does
/// not combine with `FOR UPDATE SKIP LOCKED` through the two-backend connection type (the
/// derive's backend check fails to compile), and [`claim`] needs both.
fn columns() -> (
    dsl::id,
    dsl::event_seq,
    dsl::webhook_id,
    dsl::state,
    dsl::attempts,
    dsl::next_attempt_at,
    dsl::lease_until,
    dsl::last_status,
    dsl::last_error,
    dsl::delivered_at,
    dsl::created_at,
    dsl::alias_id,
) {
    (
        dsl::id,
        dsl::event_seq,
        dsl::webhook_id,
        dsl::state,
        dsl::attempts,
        dsl::next_attempt_at,
        dsl::lease_until,
        dsl::last_status,
        dsl::last_error,
        dsl::delivered_at,
        dsl::created_at,
        dsl::alias_id,
    )
}

/// Writes a pending delivery of event `event_seq` (about `alias_id`, if an alias event) to
/// `webhook_id`, due at `now`.
pub fn insert(
    conn: &mut DbConn,
    event_seq: i64,
    webhook_id: &str,
    alias_id: Option<&str>,
    now: i64,
) -> Result<()> {
    diesel::insert_into(dsl::webhook_deliveries)
        .values((
            dsl::event_seq.eq(event_seq),
            dsl::webhook_id.eq(webhook_id),
            dsl::alias_id.eq(alias_id),
            dsl::state.eq("pending"),
            dsl::attempts.eq(0_i64),
            dsl::next_attempt_at.eq(now),
            dsl::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Claims up to `limit` due deliveries (pending, `next_attempt_at` reached, no live lease, and
/// no earlier delivery of the same alias to the same endpoint still pending: the order per
/// alias), oldest first, leasing them until `now + lease`. Call it inside
/// [`Database::transaction`](crate::Database::transaction): on PostgreSQL the rows are read
/// `FOR UPDATE SKIP LOCKED`, so concurrent senders claim disjoint sets; on SQLite the
/// transaction holds the write lock.
pub fn claim(conn: &mut DbConn, now: i64, lease: i64, limit: i64) -> Result<Vec<Delivery>> {
    // An earlier delivery of the same alias to the same endpoint; a `NULL` alias equals
    // nothing, so events without an alias are never held back.
    let earlier = diesel::alias!(crate::schema::webhook_deliveries as earlier);
    let due = dsl::webhook_deliveries
        .filter(dsl::state.eq("pending"))
        .filter(dsl::next_attempt_at.le(now))
        .filter(dsl::lease_until.is_null().or(dsl::lease_until.le(now)))
        .filter(not(exists(
            earlier
                .filter(earlier.field(dsl::webhook_id).eq(dsl::webhook_id))
                .filter(earlier.field(dsl::alias_id).eq(dsl::alias_id))
                .filter(earlier.field(dsl::state).eq("pending"))
                .filter(earlier.field(dsl::id).lt(dsl::id))
                .select(earlier.field(dsl::id)),
        )))
        .order(dsl::id.asc())
        .limit(limit)
        .select(columns());
    let mut claimed: Vec<Delivery> = match conn {
        DbConn::Postgres(pg) => due.for_update().skip_locked().load(pg)?,
        DbConn::Sqlite(_) => due.load(conn)?,
    };
    if claimed.is_empty() {
        return Ok(claimed);
    }
    let until = now.saturating_add(lease);
    let ids: Vec<i64> = claimed.iter().map(|d| d.id).collect();
    diesel::update(dsl::webhook_deliveries.filter(dsl::id.eq_any(&ids)))
        .set(dsl::lease_until.eq(until))
        .execute(conn)?;
    for d in &mut claimed {
        d.lease_until = Some(until);
    }
    Ok(claimed)
}

/// Records an attempt of a claimed delivery at `now` and releases its lease; only while the
/// delivery is still `pending` (a sender whose lease ran out cannot overwrite a delivery
/// another finished). `false` when it was not pending.
pub fn record(conn: &mut DbConn, id: i64, now: i64, outcome: &Outcome) -> Result<bool> {
    let target = dsl::webhook_deliveries
        .find(id)
        .filter(dsl::state.eq("pending"));
    let attempts = dsl::attempts + 1_i64;
    let changed = match outcome {
        Outcome::Delivered { status } => diesel::update(target)
            .set((
                dsl::state.eq("delivered"),
                dsl::attempts.eq(attempts),
                dsl::lease_until.eq(None::<i64>),
                dsl::last_status.eq(Some(i64::from(*status))),
                dsl::last_error.eq(None::<String>),
                dsl::delivered_at.eq(Some(now)),
            ))
            .execute(conn)?,
        Outcome::Retry {
            status,
            error,
            next_attempt_at,
        } => diesel::update(target)
            .set((
                dsl::state.eq(if next_attempt_at.is_some() {
                    "pending"
                } else {
                    "failed"
                }),
                dsl::attempts.eq(attempts),
                dsl::lease_until.eq(None::<i64>),
                dsl::last_status.eq(status.map(i64::from)),
                dsl::last_error.eq(Some(error.as_str())),
                dsl::next_attempt_at.eq(next_attempt_at.unwrap_or(now)),
            ))
            .execute(conn)?,
    };
    Ok(changed > 0)
}

/// The state of a delivery (`pending`, `delivered`, `failed`) and the number of its attempts.
pub fn state(conn: &mut DbConn, id: i64) -> Result<Option<(String, i64)>> {
    Ok(dsl::webhook_deliveries
        .find(id)
        .select((dsl::state, dsl::attempts))
        .first(conn)
        .optional()?)
}

/// The pending deliveries, in one query: how many, and the `created_at` of the oldest.
pub fn backlog(conn: &mut DbConn) -> Result<(i64, Option<i64>)> {
    Ok(dsl::webhook_deliveries
        .filter(dsl::state.eq("pending"))
        .select((count_star(), min(dsl::created_at)))
        .first(conn)?)
}

/// The deliveries to `webhook_id`, in the order written.
pub fn list(conn: &mut DbConn, webhook_id: &str) -> Result<Vec<Delivery>> {
    Ok(dsl::webhook_deliveries
        .filter(dsl::webhook_id.eq(webhook_id))
        .order(dsl::id.asc())
        .select(columns())
        .load(conn)?)
}

/// For the attempts log, after [`record`]: the delivery's endpoint, its number of attempts
/// and its event's type.
pub fn attempted(conn: &mut DbConn, id: i64) -> Result<Option<(String, i64, String)>> {
    use crate::schema::webhook_events;
    Ok(dsl::webhook_deliveries
        .inner_join(webhook_events::table)
        .filter(dsl::id.eq(id))
        .select((dsl::webhook_id, dsl::attempts, webhook_events::event_type))
        .first(conn)
        .optional()?)
}
