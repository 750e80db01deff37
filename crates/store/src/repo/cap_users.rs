//! The `cap_users` table: OpenCAP users and their login-failure state.

use aliaskit_domain::opencap::{CapAlias, CapUser};
use diesel::prelude::*;

use crate::rows::CapUserRow;
use crate::schema::cap_users::dsl;
use crate::{DbConn, Result, StoreError, error::taken_as};

/// Stores a new user; [`StoreError::CapUserTaken`] if the alias is registered.
pub fn insert(conn: &mut DbConn, user: &CapUser) -> Result<()> {
    diesel::insert_into(dsl::cap_users)
        .values(CapUserRow::from(user))
        .execute(conn)
        .map_err(taken_as(StoreError::CapUserTaken))?;
    Ok(())
}

/// The user registered under `alias`.
pub fn find_by_alias(conn: &mut DbConn, alias: &CapAlias) -> Result<Option<CapUser>> {
    dsl::cap_users
        .filter(dsl::username.eq(alias.username()))
        .filter(dsl::domain.eq(alias.domain()))
        .select(CapUserRow::as_select())
        .first(conn)
        .optional()?
        .map(CapUser::try_from)
        .transpose()
}

/// The user with this id.
pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<CapUser>> {
    dsl::cap_users
        .find(id)
        .select(CapUserRow::as_select())
        .first(conn)
        .optional()?
        .map(CapUser::try_from)
        .transpose()
}

/// Records a failed login: the counter goes up by one, atomically, so concurrent failures on
/// several servers all count. Returns the new count.
pub fn record_failure(conn: &mut DbConn, id: &str) -> Result<i64> {
    diesel::update(dsl::cap_users.find(id))
        .set(dsl::failed_logins.eq(dsl::failed_logins + 1))
        .execute(conn)?;
    Ok(dsl::cap_users
        .find(id)
        .select(dsl::failed_logins)
        .first(conn)?)
}

/// Locks logins until `until` and restarts the failure count.
pub fn lock(conn: &mut DbConn, id: &str, until: i64) -> Result<()> {
    diesel::update(dsl::cap_users.find(id))
        .set((dsl::locked_until.eq(Some(until)), dsl::failed_logins.eq(0)))
        .execute(conn)?;
    Ok(())
}

/// Clears the failure count and any lock after a successful login.
pub fn reset_failures(conn: &mut DbConn, id: &str) -> Result<()> {
    diesel::update(dsl::cap_users.find(id))
        .set((dsl::failed_logins.eq(0), dsl::locked_until.eq(None::<i64>)))
        .execute(conn)?;
    Ok(())
}

/// Deletes the user (and, by cascade, its addresses); `false` if there was none.
pub fn delete(conn: &mut DbConn, id: &str) -> Result<bool> {
    Ok(diesel::delete(dsl::cap_users.find(id)).execute(conn)? > 0)
}
