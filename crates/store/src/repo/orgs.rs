//! The `organizations` table.

use aliaskit_domain::{OrgId, OrgName, Organization};
use diesel::prelude::*;

use crate::rows::OrgRow;
use crate::schema::organizations::dsl;
use crate::{DbConn, Result, StoreError, error::taken_as};

/// Creates an organization; [`StoreError::OrgNameTaken`] if the name exists.
pub fn insert(conn: &mut DbConn, name: &OrgName, now: i64) -> Result<Organization> {
    diesel::insert_into(dsl::organizations)
        .values((dsl::name.eq(name.as_str()), dsl::created_at.eq(now)))
        .execute(conn)
        .map_err(taken_as(StoreError::OrgNameTaken))?;
    find_by_name(conn, name)?.ok_or_else(|| StoreError::OrgNotFound {
        name: name.to_string(),
    })
}

/// The organization with this name.
pub fn find_by_name(conn: &mut DbConn, name: &OrgName) -> Result<Option<Organization>> {
    dsl::organizations
        .filter(dsl::name.eq(name.as_str()))
        .select(OrgRow::as_select())
        .get_result(conn)
        .optional()?
        .map(Organization::try_from)
        .transpose()
}

/// The organization with this name, locked until the end of the transaction (PostgreSQL:
/// `SELECT … FOR UPDATE`; a SQLite [`Database::transaction`](crate::Database::transaction)
/// holds the write lock already), so that changes to it and its keys take turns.
pub fn find_by_name_for_update(conn: &mut DbConn, name: &OrgName) -> Result<Option<Organization>> {
    let DbConn::Postgres(pg) = conn else {
        return find_by_name(conn, name);
    };
    dsl::organizations
        .filter(dsl::name.eq(name.as_str()))
        .select(OrgRow::as_select())
        .for_update()
        .get_result(pg)
        .optional()?
        .map(Organization::try_from)
        .transpose()
}

/// Locks the organization's row until the end of the transaction (PostgreSQL; a SQLite
/// [`Database::transaction`](crate::Database::transaction) holds the write lock already), so
/// that a count-then-insert under it cannot race another.
pub fn lock(conn: &mut DbConn, id: OrgId) -> Result<()> {
    if let DbConn::Postgres(pg) = conn {
        dsl::organizations
            .find(id.0)
            .select(dsl::id)
            .for_update()
            .first::<i64>(pg)
            .optional()?;
    }
    Ok(())
}

/// The name of the organization with this id.
pub fn name_of(conn: &mut DbConn, id: OrgId) -> Result<Option<String>> {
    Ok(dsl::organizations
        .find(id.0)
        .select(dsl::name)
        .get_result(conn)
        .optional()?)
}

/// Every organization, by name.
pub fn list(conn: &mut DbConn) -> Result<Vec<Organization>> {
    dsl::organizations
        .select(OrgRow::as_select())
        .order(dsl::name.asc())
        .load(conn)?
        .into_iter()
        .map(Organization::try_from)
        .collect()
}

/// How many organizations exist.
pub fn count(conn: &mut DbConn) -> Result<i64> {
    Ok(dsl::organizations.count().get_result(conn)?)
}

/// Deletes the organization (its API keys go with it, by cascade); `false` if there was none.
/// Its aliases cascade too: delete them first, explicitly, where that is meant.
pub fn delete(conn: &mut DbConn, id: OrgId) -> Result<bool> {
    Ok(diesel::delete(dsl::organizations.find(id.0)).execute(conn)? > 0)
}
