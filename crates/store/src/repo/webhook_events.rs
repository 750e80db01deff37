//! The `webhook_events` table: the webhook outbox. Rows are written inside the transaction of
//! the change they report (`docs/webhooks.md`).

use aliaskit_domain::OrgId;
use diesel::prelude::*;

use crate::schema::webhook_events::dsl;
use crate::{DbConn, Result};

/// An event to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent<'a> {
    /// `evt_…`.
    pub id: &'a str,
    /// The organization it goes to.
    pub org: OrgId,
    /// The event type's wire name.
    pub event_type: &'static str,
    /// The alias, for alias events.
    pub alias_id: Option<&'a str>,
    /// The body to deliver, JSON.
    pub payload: &'a str,
    /// Unix seconds.
    pub created_at: i64,
}

/// A written event.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Event {
    /// Order of writing.
    pub seq: i64,
    /// `evt_…`.
    pub id: String,
    /// The organization it goes to.
    pub org_id: i64,
    /// The event type's wire name.
    pub event_type: String,
    /// The alias, for alias events.
    pub alias_id: Option<String>,
    /// The body to deliver, JSON.
    pub payload: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// Writes an event; returns its `seq`.
pub fn insert(conn: &mut DbConn, event: &NewEvent<'_>) -> Result<i64> {
    diesel::insert_into(dsl::webhook_events)
        .values((
            dsl::id.eq(event.id),
            dsl::org_id.eq(event.org.0),
            dsl::event_type.eq(event.event_type),
            dsl::alias_id.eq(event.alias_id),
            dsl::payload.eq(event.payload),
            dsl::created_at.eq(event.created_at),
        ))
        .execute(conn)?;
    Ok(dsl::webhook_events
        .filter(dsl::id.eq(event.id))
        .select(dsl::seq)
        .first(conn)?)
}

/// The event with this `seq`.
pub fn find(conn: &mut DbConn, seq: i64) -> Result<Option<Event>> {
    Ok(dsl::webhook_events
        .find(seq)
        .select((
            dsl::seq,
            dsl::id,
            dsl::org_id,
            dsl::event_type,
            dsl::alias_id,
            dsl::payload,
            dsl::created_at,
        ))
        .first(conn)
        .optional()?)
}

/// Every event of `org`, in the order written.
pub fn list(conn: &mut DbConn, org: OrgId) -> Result<Vec<Event>> {
    Ok(dsl::webhook_events
        .filter(dsl::org_id.eq(org.0))
        .order(dsl::seq.asc())
        .select((
            dsl::seq,
            dsl::id,
            dsl::org_id,
            dsl::event_type,
            dsl::alias_id,
            dsl::payload,
            dsl::created_at,
        ))
        .load(conn)?)
}
