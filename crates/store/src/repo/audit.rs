//! The `audit_log` table: one row per management change, written inside the change's own
//! transaction (`docs/audit.md`). Field names only, never a value.

use diesel::prelude::*;

use crate::schema::audit_log::dsl;
use crate::{DbConn, Result};

/// An entry to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry<'a> {
    /// Unix seconds.
    pub at: i64,
    /// The organization concerned, and its name.
    pub org: Option<(i64, &'a str)>,
    /// The OpenCAP user concerned.
    pub cap_user: Option<&'a str>,
    /// `api_key`, `cli`, `opencap_user` or `system`.
    pub actor_kind: &'a str,
    /// Who, within the kind.
    pub actor_id: &'a str,
    /// `object.verb`.
    pub action: &'a str,
    /// What was changed.
    pub target: &'a str,
    /// The request's id.
    pub request_id: Option<&'a str>,
    /// The client's address.
    pub client_ip: Option<&'a str>,
    /// Names of the fields changed.
    pub changes: &'a [&'a str],
    /// For OpenCAP address changes.
    pub address_type: Option<i64>,
}

/// A written entry.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = crate::schema::audit_log)]
pub struct Entry {
    /// The order of writing.
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// The organization concerned.
    pub org_id: Option<i64>,
    /// Its name at the time.
    pub org_name: Option<String>,
    /// The OpenCAP user concerned.
    pub cap_user: Option<String>,
    /// `api_key`, `cli`, `opencap_user` or `system`.
    pub actor_kind: String,
    /// Who, within the kind.
    pub actor_id: String,
    /// `object.verb`.
    pub action: String,
    /// What was changed.
    pub target: String,
    /// The request's id.
    pub request_id: Option<String>,
    /// The client's address.
    pub client_ip: Option<String>,
    /// Names of the fields changed, comma-separated.
    pub changes: String,
    /// For OpenCAP address changes.
    pub address_type: Option<i64>,
}

impl Entry {
    /// The names of the fields changed.
    pub fn changes(&self) -> Vec<&str> {
        self.changes.split(',').filter(|c| !c.is_empty()).collect()
    }
}

/// Writes an entry. Call it inside the change's transaction.
pub fn insert(conn: &mut DbConn, entry: &NewEntry<'_>) -> Result<()> {
    diesel::insert_into(dsl::audit_log)
        .values((
            dsl::at.eq(entry.at),
            dsl::org_id.eq(entry.org.map(|(id, _)| id)),
            dsl::org_name.eq(entry.org.map(|(_, name)| name)),
            dsl::cap_user.eq(entry.cap_user),
            dsl::actor_kind.eq(entry.actor_kind),
            dsl::actor_id.eq(entry.actor_id),
            dsl::action.eq(entry.action),
            dsl::target.eq(entry.target),
            dsl::request_id.eq(entry.request_id),
            dsl::client_ip.eq(entry.client_ip),
            dsl::changes.eq(entry.changes.join(",")),
            dsl::address_type.eq(entry.address_type),
        ))
        .execute(conn)?;
    Ok(())
}

/// Which entries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter<'a> {
    /// Only this organization's (by id).
    pub org_id: Option<i64>,
    /// Only this organization's (by name: an operator's filter, which also finds the entries of
    /// an organization deleted since).
    pub org_name: Option<&'a str>,
    /// Only those concerning this OpenCAP user.
    pub cap_user: Option<&'a str>,
    /// Only this action.
    pub action: Option<&'a str>,
    /// Only this target.
    pub target: Option<&'a str>,
    /// Only entries written at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Only entries older than this one (the cursor of keyset pagination).
    pub before_id: Option<i64>,
}

/// Up to `limit` entries matching `filter`, newest first.
pub fn list(conn: &mut DbConn, filter: &Filter<'_>, limit: i64) -> Result<Vec<Entry>> {
    let mut query = dsl::audit_log.into_boxed();
    if let Some(org) = filter.org_id {
        query = query.filter(dsl::org_id.eq(org));
    }
    if let Some(name) = filter.org_name {
        query = query.filter(dsl::org_name.eq(name));
    }
    if let Some(user) = filter.cap_user {
        query = query.filter(dsl::cap_user.eq(user));
    }
    if let Some(action) = filter.action {
        query = query.filter(dsl::action.eq(action));
    }
    if let Some(target) = filter.target {
        query = query.filter(dsl::target.eq(target));
    }
    if let Some(since) = filter.since {
        query = query.filter(dsl::at.ge(since));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(dsl::id.lt(before));
    }
    Ok(query
        .order(dsl::id.desc())
        .limit(limit)
        .select(Entry::as_select())
        .load(conn)?)
}

/// Deletes up to `batch` entries written before `before` (Unix seconds); how many.
pub fn purge_before(conn: &mut DbConn, before: i64, batch: i64) -> Result<usize> {
    let oldest: Vec<i64> = dsl::audit_log
        .filter(dsl::at.lt(before))
        .order(dsl::id.asc())
        .limit(batch)
        .select(dsl::id)
        .load(conn)?;
    if oldest.is_empty() {
        return Ok(0);
    }
    Ok(diesel::delete(dsl::audit_log.filter(dsl::id.eq_any(&oldest))).execute(conn)?)
}
