//! The `webhook_attempts` table: every attempt of a webhook delivery, written with the
//! delivery's new state, for `GET …/webhooks/:id/deliveries` (`docs/webhooks.md`).

use diesel::prelude::*;

use crate::schema::webhook_attempts::dsl;
use crate::{DbConn, Result};

/// An attempt to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttempt<'a> {
    /// The endpoint.
    pub webhook_id: &'a str,
    /// The delivery.
    pub delivery_id: i64,
    /// `evt_…`.
    pub event_id: &'a str,
    /// The event type's wire name.
    pub event_type: &'a str,
    /// 1 for the delivery's first attempt.
    pub attempt: i64,
    /// The answer's status, if one came.
    pub status: Option<i64>,
    /// What went wrong, without secrets.
    pub error: Option<&'a str>,
    /// How long it took, milliseconds.
    pub duration_ms: i64,
    /// When the delivery is tried again, if it is.
    pub next_attempt_at: Option<i64>,
    /// When it was delivered, if it was.
    pub delivered_at: Option<i64>,
    /// Unix seconds.
    pub at: i64,
}

/// A recorded attempt.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = crate::schema::webhook_attempts)]
pub struct AttemptRecord {
    /// Its id: attempts are listed by it, newest first.
    pub id: i64,
    /// The delivery.
    pub delivery_id: i64,
    /// `evt_…`.
    pub event_id: String,
    /// The event type's wire name.
    pub event_type: String,
    /// 1 for the delivery's first attempt.
    pub attempt: i64,
    /// The answer's status, if one came.
    pub status: Option<i64>,
    /// What went wrong, if it did.
    pub error: Option<String>,
    /// How long it took, milliseconds.
    pub duration_ms: i64,
    /// When the delivery is tried again, if it is.
    pub next_attempt_at: Option<i64>,
    /// When it was delivered, if it was.
    pub delivered_at: Option<i64>,
    /// Unix seconds of the attempt.
    pub at: i64,
}

/// Writes an attempt.
pub fn insert(conn: &mut DbConn, attempt: &NewAttempt<'_>) -> Result<()> {
    diesel::insert_into(dsl::webhook_attempts)
        .values((
            dsl::webhook_id.eq(attempt.webhook_id),
            dsl::delivery_id.eq(attempt.delivery_id),
            dsl::event_id.eq(attempt.event_id),
            dsl::event_type.eq(attempt.event_type),
            dsl::attempt.eq(attempt.attempt),
            dsl::status.eq(attempt.status),
            dsl::error.eq(attempt.error),
            dsl::duration_ms.eq(attempt.duration_ms),
            dsl::next_attempt_at.eq(attempt.next_attempt_at),
            dsl::delivered_at.eq(attempt.delivered_at),
            dsl::at.eq(attempt.at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Up to `limit` attempts of deliveries to `webhook_id`, newest first, those with an id below
/// `before` when given.
pub fn list(
    conn: &mut DbConn,
    webhook_id: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AttemptRecord>> {
    let mut query = dsl::webhook_attempts
        .filter(dsl::webhook_id.eq(webhook_id))
        .select(AttemptRecord::as_select())
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(dsl::id.lt(before));
    }
    Ok(query.order(dsl::id.desc()).limit(limit).load(conn)?)
}
