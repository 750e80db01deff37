//! The `cap_users` table: OpenCAP users and their login-failure state.

use aliaskit_domain::opencap::{CapAlias, CapUser};
use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};

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
        .get_result(conn)
        .optional()?
        .map(CapUser::try_from)
        .transpose()
}

/// The user with this id.
pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<CapUser>> {
    dsl::cap_users
        .find(id)
        .select(CapUserRow::as_select())
        .get_result(conn)
        .optional()?
        .map(CapUser::try_from)
        .transpose()
}

/// Records a failed login in one statement, so that concurrent failures on any number of
/// servers all count: the count goes up by one, and the failure that reaches `threshold` locks
/// the account until `until` and restarts the count. A failure that ends while the account is
/// locked (another server locked it during this login's password check) counts nothing.
/// Returns whether this failure locked the account; call it inside a transaction, which then
/// holds the row until the caller has recorded that.
pub fn record_failure(
    conn: &mut DbConn,
    id: &str,
    now: i64,
    threshold: i64,
    until: i64,
) -> Result<bool> {
    // SET expressions read the row as it was before the statement, on both backends.
    let reached = || (dsl::failed_logins + 1).ge(threshold);
    let count = case_when::<_, _, BigInt>(reached(), 0_i64).otherwise(dsl::failed_logins + 1);
    let lock =
        case_when::<_, _, Nullable<BigInt>>(reached(), Some(until)).otherwise(dsl::locked_until);
    let counted = diesel::update(dsl::cap_users.find(id).filter(unlocked(now)))
        .set((dsl::failed_logins.eq(count), dsl::locked_until.eq(lock)))
        .execute(conn)?;
    if counted == 0 {
        return Ok(false);
    }
    // This statement locked the account if it set this lock: a concurrent failure on another
    // server waits for the row, then finds it locked and counts nothing.
    let state: Option<(i64, Option<i64>)> = dsl::cap_users
        .find(id)
        .select((dsl::failed_logins, dsl::locked_until))
        .get_result(conn)
        .optional()?;
    Ok(state == Some((0, Some(until))))
}

/// Whether a login whose password matched may go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Yes; the failure count is cleared.
    Admitted,
    /// No: the account is locked until then (another server locked it meanwhile).
    Locked {
        /// Unix seconds.
        until: i64,
    },
    /// No: the user no longer exists.
    Gone,
}

/// Admits a login whose password matched at `now`, unless the account is locked (a lock set
/// since the login read the user holds). The failure count is cleared by one conditional
/// statement that never clears an active lock; a clean account costs one read, no write.
pub fn admit(conn: &mut DbConn, id: &str, now: i64) -> Result<Admission> {
    let state = |conn: &mut DbConn| -> Result<Option<(i64, Option<i64>)>> {
        Ok(dsl::cap_users
            .find(id)
            .select((dsl::failed_logins, dsl::locked_until))
            .get_result(conn)
            .optional()?)
    };
    let judge = |state: Option<(i64, Option<i64>)>| match state {
        None => Admission::Gone,
        Some((_, Some(until))) if until > now => Admission::Locked { until },
        Some(_) => Admission::Admitted,
    };
    match state(conn)? {
        // Nothing to clear.
        Some((0, None)) => return Ok(Admission::Admitted),
        // Failures, or a lock that has ended, to clear.
        now_state @ Some(_) if judge(now_state) == Admission::Admitted => {}
        refused => return Ok(judge(refused)),
    }
    let cleared = diesel::update(dsl::cap_users.find(id).filter(unlocked(now)))
        .set((dsl::failed_logins.eq(0), dsl::locked_until.eq(None::<i64>)))
        .execute(conn)?;
    if cleared > 0 {
        return Ok(Admission::Admitted);
    }
    // Locked or deleted between the read and the update.
    Ok(judge(state(conn)?))
}

/// Rows whose lock, if any, has ended by `now`.
fn unlocked(
    now: i64,
) -> diesel::dsl::Or<
    diesel::dsl::IsNull<dsl::locked_until>,
    diesel::dsl::LtEq<dsl::locked_until, i64>,
> {
    dsl::locked_until.is_null().or(dsl::locked_until.le(now))
}

/// Every user, by domain and then username (operator listings).
pub fn list(conn: &mut DbConn) -> Result<Vec<CapUser>> {
    dsl::cap_users
        .order((dsl::domain.asc(), dsl::username.asc()))
        .select(CapUserRow::as_select())
        .load(conn)?
        .into_iter()
        .map(CapUser::try_from)
        .collect()
}

/// Clears the user's lock and failure count (an operator's unlock); `false` if there is no
/// such user.
pub fn unlock(conn: &mut DbConn, id: &str) -> Result<bool> {
    let n = diesel::update(dsl::cap_users.find(id))
        .set((dsl::failed_logins.eq(0), dsl::locked_until.eq(None::<i64>)))
        .execute(conn)?;
    Ok(n > 0)
}

/// Deletes the user (and, by cascade, its addresses); `false` if there was none.
pub fn delete(conn: &mut DbConn, id: &str) -> Result<bool> {
    Ok(diesel::delete(dsl::cap_users.find(id)).execute(conn)? > 0)
}
