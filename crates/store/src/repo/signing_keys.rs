//! The `signing_keys` table: the server's HMAC keys for its own tokens, shared by every
//! process on the database.

use aliaskit_domain::SigningKey;
use diesel::prelude::*;

use crate::rows::SigningKeyRow;
use crate::schema::signing_keys::dsl;
use crate::{DbConn, Result, Vault};

/// Stores a new key, its secret sealed.
pub fn insert(conn: &mut DbConn, vault: &Vault, key: &SigningKey) -> Result<()> {
    diesel::insert_into(dsl::signing_keys)
        .values(SigningKeyRow::seal(key, vault)?)
        .execute(conn)?;
    Ok(())
}

/// The PostgreSQL advisory lock under which signing keys are created and retired: "aliassig"
/// in ASCII.
const SIGNING_LOCK: i64 = 0x616c_6961_7373_6967;

/// Takes the lock under which signing keys are created and retired, until the end of the
/// transaction: two rotations at once, or two servers creating the first key, run one after
/// the other, so the second sees the first's key and one key stays active.
pub fn lock(conn: &mut DbConn) -> Result<()> {
    super::xact_lock(conn, SIGNING_LOCK)
}

/// Every key that is not retired, or was retired after `retired_after`, newest first.
pub fn usable(conn: &mut DbConn, vault: &Vault, retired_after: i64) -> Result<Vec<SigningKey>> {
    dsl::signing_keys
        .filter(
            dsl::retired_at
                .is_null()
                .or(dsl::retired_at.gt(retired_after)),
        )
        .order((dsl::created_at.desc(), dsl::kid.desc()))
        .select(SigningKeyRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row| row.open(vault))
        .collect()
}

/// Retires every signing key except `keep` at `now`.
pub fn retire_all_but(conn: &mut DbConn, keep: &str, now: i64) -> Result<usize> {
    Ok(diesel::update(
        dsl::signing_keys
            .filter(dsl::kid.ne(keep))
            .filter(dsl::retired_at.is_null()),
    )
    .set(dsl::retired_at.eq(Some(now)))
    .execute(conn)?)
}
