//! The `aliases` table.

use aliaskit_domain::{Alias, AliasId, AliasKind, OrgId};
use diesel::prelude::*;

use crate::connection::on_backend;
use crate::rows::AliasRow;
use crate::schema::aliases::dsl;
use crate::{DbConn, Result, StoreError, Vault, error::taken_as};

/// Which aliases a listing shows, by expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `expired_at` is now or later.
    Active,
    /// `expired_at` is before now.
    Expired,
}

/// Where a page of a listing starts: after the alias with this `inserted_at` and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    /// `inserted_at` of the last alias of the previous page.
    pub inserted_at: i64,
    /// Its id.
    pub id: AliasId,
}

/// Stores a new alias, its secrets sealed; [`StoreError::AliasTaken`] if the id exists.
pub fn insert(conn: &mut DbConn, vault: &Vault, alias: &Alias) -> Result<()> {
    diesel::insert_into(dsl::aliases)
        .values(AliasRow::seal(alias, vault)?)
        .execute(conn)
        .map_err(taken_as(StoreError::AliasTaken))?;
    Ok(())
}

/// The alias with this id, whoever owns it. Every cache miss of the retrieve runs it, so it runs
/// on the backend's own connection (`on_backend`): its prepared statement is found without its
/// SQL written out again.
pub fn find(conn: &mut DbConn, vault: &Vault, id: &AliasId) -> Result<Option<Alias>> {
    on_backend!(conn, |c| dsl::aliases
        .find(id.as_str())
        .select(AliasRow::as_select())
        .get_result(c))
    .optional()?
    .map(|row| row.open(vault))
    .transpose()
}

/// The aliases with these ids that exist, whoever owns them, in no particular order. One query
/// on PostgreSQL (`id = ANY($1)`: one round trip for all; a short list padded, see
/// [`planned_ids`]); on SQLite a point lookup per id (its prepared statement reused, where an
/// `IN` list of another length would be prepared again).
pub fn find_many(conn: &mut DbConn, vault: &Vault, ids: &[&AliasId]) -> Result<Vec<Alias>> {
    let DbConn::Postgres(pg) = conn else {
        return ids
            .iter()
            .filter_map(|id| find(conn, vault, id).transpose())
            .collect();
    };
    // On the backend's own connection, as `find`: its statement found by the query's type.
    dsl::aliases
        .filter(dsl::id.eq_any(planned_ids(ids)))
        .select(AliasRow::as_select())
        .load(pg)?
        .into_iter()
        .map(|row| row.open(vault))
        .collect()
}

/// How many elements PostgreSQL's planner assumes an array parameter holds when it plans a
/// prepared statement for any parameters (a generic plan). It plans the first five runs for
/// the values given (custom plans), then keeps the generic plan unless the custom ones were
/// estimated cheaper, as they are for `id = ANY($1)` with fewer ids: [`find_many`]'s statement
/// was planned anew for every batch of misses. See [`planned_ids`].
pub const PLANNED_ARRAY_LENGTH: usize = 10;

/// `ids` as [`find_many`] sends them on PostgreSQL: a list shorter than
/// [`PLANNED_ARRAY_LENGTH`] padded to it by repeating its last id, so that the custom plans
/// cost what the generic one does and PostgreSQL keeps the generic plan. A repeated id's row
/// comes back once. Measured with `find-cost --batch` (docs/performance.md): 25–42 µs less
/// of the database's CPU per batch of 2 to 8 ids. Were the planner to assume another length,
/// the statement would only be planned on every run again, as before.
///
/// Padded here rather than with `plan_cache_mode = force_generic_plan` on every connection:
/// that would also give up the custom plans of the statements whose values matter to the plan
/// (the ranges over `expired_at` of the purge and of the expiry events), and this is the one
/// `ANY` lookup that runs per request; the others run in periodic jobs and in the webhook
/// senders' claims.
pub fn planned_ids<'a>(ids: &[&'a AliasId]) -> Vec<&'a str> {
    let mut planned: Vec<&str> = ids.iter().map(|id| id.as_str()).collect();
    if let Some(&last) = planned.last() {
        planned.resize(planned.len().max(PLANNED_ARRAY_LENGTH), last);
    }
    planned
}

/// The alias with this id if `org` owns it.
pub fn find_owned(
    conn: &mut DbConn,
    vault: &Vault,
    org: OrgId,
    id: &AliasId,
) -> Result<Option<Alias>> {
    dsl::aliases
        .find(id.as_str())
        .filter(dsl::org_id.eq(org.0))
        .select(AliasRow::as_select())
        .get_result(conn)
        .optional()?
        .map(|row| row.open(vault))
        .transpose()
}

/// The alias with this id if `org` owns it, locked until the end of the transaction so that a
/// read-modify-write cannot be undone by, or undo, a concurrent one. Call it inside
/// [`Database::transaction`](crate::Database::transaction): on PostgreSQL the row is read with
/// `SELECT … FOR UPDATE`; on SQLite that transaction already holds the database's write lock
/// (`BEGIN IMMEDIATE`).
pub fn find_owned_for_update(
    conn: &mut DbConn,
    vault: &Vault,
    org: OrgId,
    id: &AliasId,
) -> Result<Option<Alias>> {
    let DbConn::Postgres(pg) = conn else {
        return find_owned(conn, vault, org, id);
    };
    dsl::aliases
        .find(id.as_str())
        .filter(dsl::org_id.eq(org.0))
        .select(AliasRow::as_select())
        .for_update()
        .get_result(pg)
        .optional()?
        .map(|row| row.open(vault))
        .transpose()
}

/// Up to `limit` aliases of `org`, newest first (`inserted_at`, then id, descending), of one
/// kind and one [`Status`] at a given now if asked, starting after `after`.
pub fn list(
    conn: &mut DbConn,
    vault: &Vault,
    org: OrgId,
    kind: Option<AliasKind>,
    status: Option<(Status, i64)>,
    after: Option<&After>,
    limit: i64,
) -> Result<Vec<Alias>> {
    let mut query = dsl::aliases
        .filter(dsl::org_id.eq(org.0))
        .select(AliasRow::as_select())
        .into_boxed();
    if let Some(kind) = kind {
        query = query.filter(dsl::kind.eq(kind.as_str()));
    }
    match status {
        Some((Status::Active, now)) => query = query.filter(dsl::expired_at.ge(now)),
        Some((Status::Expired, now)) => query = query.filter(dsl::expired_at.lt(now)),
        None => {}
    }
    if let Some(after) = after {
        query = query.filter(
            dsl::inserted_at.lt(after.inserted_at).or(dsl::inserted_at
                .eq(after.inserted_at)
                .and(dsl::id.lt(after.id.as_str().to_owned()))),
        );
    }
    query
        .order((dsl::inserted_at.desc(), dsl::id.desc()))
        .limit(limit)
        .load(conn)?
        .into_iter()
        .map(|row| row.open(vault))
        .collect()
}

/// Writes every field of `alias` over the stored row of the same id and owner; `false` if there
/// is none.
pub fn update(conn: &mut DbConn, vault: &Vault, alias: &Alias) -> Result<bool> {
    let row = AliasRow::seal(alias, vault)?;
    let n = diesel::update(
        dsl::aliases
            .find(alias.id.as_str())
            .filter(dsl::org_id.eq(alias.org.0)),
    )
    .set(&row)
    .execute(conn)?;
    Ok(n > 0)
}

/// Deletes the alias if `org` owns it; `false` if there is none.
pub fn delete(conn: &mut DbConn, org: OrgId, id: &AliasId) -> Result<bool> {
    let n = diesel::delete(dsl::aliases.find(id.as_str()).filter(dsl::org_id.eq(org.0)))
        .execute(conn)?;
    Ok(n > 0)
}

/// Deletes every alias of `org`; returns their ids.
pub fn delete_for_org(conn: &mut DbConn, org: OrgId) -> Result<Vec<AliasId>> {
    let ids: Vec<String> = dsl::aliases
        .filter(dsl::org_id.eq(org.0))
        .select(dsl::id)
        .load(conn)?;
    diesel::delete(dsl::aliases.filter(dsl::org_id.eq(org.0))).execute(conn)?;
    ids.iter()
        .map(|id| {
            AliasId::parse(id).map_err(|e| StoreError::Corrupt {
                what: "alias",
                reason: e.to_string(),
            })
        })
        .collect()
}

/// Deletes up to `batch` aliases (of any organization) that expired before `before`; returns
/// how many. Call it until it returns less than `batch`.
pub fn purge_expired(conn: &mut DbConn, before: i64, batch: i64) -> Result<usize> {
    let ids: Vec<String> = dsl::aliases
        .filter(dsl::expired_at.lt(before))
        .select(dsl::id)
        .limit(batch)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    // The expiry is checked again by the delete itself: an alias extended since the select
    // is not deleted.
    Ok(diesel::delete(
        dsl::aliases
            .filter(dsl::id.eq_any(&ids))
            .filter(dsl::expired_at.lt(before)),
    )
    .execute(conn)?)
}

/// Every alias of an organization with an enabled webhook whose `expired_at` is at or after
/// `from` and before `to`: the aliases that expired in that window and may have an
/// `alias.expired` event, oldest expiry first.
pub fn expired_between(conn: &mut DbConn, vault: &Vault, from: i64, to: i64) -> Result<Vec<Alias>> {
    use crate::schema::webhooks;
    // Only organizations with an enabled endpoint can want `alias.expired`: the others' aliases
    // are neither read nor decrypted.
    let with_endpoints = webhooks::table
        .filter(webhooks::enabled.eq(true))
        .select(webhooks::org_id);
    dsl::aliases
        .filter(dsl::expired_at.ge(from))
        .filter(dsl::expired_at.lt(to))
        .filter(dsl::org_id.eq_any(with_endpoints))
        .order((dsl::expired_at.asc(), dsl::id.asc()))
        .select(AliasRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row| row.open(vault))
        .collect()
}

/// The id and organization of every alias whose `expired_at` is at or after `from` and
/// before `to`, oldest expiry first: what the audit trail records as `alias.expire`. Nothing is
/// decrypted.
pub fn expired_ids_between(conn: &mut DbConn, from: i64, to: i64) -> Result<Vec<(String, OrgId)>> {
    let rows: Vec<(String, i64)> = dsl::aliases
        .filter(dsl::expired_at.ge(from))
        .filter(dsl::expired_at.lt(to))
        .order((dsl::expired_at.asc(), dsl::id.asc()))
        .select((dsl::id, dsl::org_id))
        .load(conn)?;
    Ok(rows.into_iter().map(|(id, org)| (id, OrgId(org))).collect())
}

/// How many aliases `org` has.
pub fn count(conn: &mut DbConn, org: OrgId) -> Result<i64> {
    Ok(dsl::aliases
        .filter(dsl::org_id.eq(org.0))
        .count()
        .get_result(conn)?)
}
