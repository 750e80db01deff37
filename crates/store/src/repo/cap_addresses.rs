//! The `cap_addresses` table: one address per user and type.

use aliaskit_domain::opencap::{AddressType, StoredAddress};
use diesel::prelude::*;

use crate::rows::CapAddressRow;
use crate::schema::cap_addresses::dsl;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::{DbConn, Result, StoreError, error::insert_unless_taken};

/// Stores the user's address of its type, replacing one of the same type. Run it in a
/// transaction: an update, then an insert if there was nothing to update (a concurrent insert
/// of the same type is retried as an update). `false`, storing nothing, when the user no longer
/// exists (deleted since the caller read it).
pub fn upsert(conn: &mut DbConn, user_id: &str, stored: &StoredAddress) -> Result<bool> {
    let code = i32::from(stored.address.address_type().code());
    let row = CapAddressRow {
        user_id: user_id.to_owned(),
        address_type: code,
        address: stored.address.as_str().to_owned(),
        extensions: stored.extensions.to_json(),
        updated_at: stored.updated_at,
    };
    let update = |conn: &mut DbConn| {
        diesel::update(dsl::cap_addresses.find((user_id, code)))
            .set((
                dsl::address.eq(&row.address),
                dsl::extensions.eq(&row.extensions),
                dsl::updated_at.eq(row.updated_at),
            ))
            .execute(conn)
    };
    if update(conn)? > 0 {
        return Ok(true);
    }
    let inserted = insert_unless_taken(conn, |c| {
        diesel::insert_into(dsl::cap_addresses)
            .values(&row)
            .execute(c)
    });
    match inserted {
        Ok(true) => Ok(true),
        Ok(false) => Ok(update(conn)? > 0),
        // The user's row is gone: its deletion committed after the caller read the user.
        Err(StoreError::Query(DieselError::DatabaseError(
            DatabaseErrorKind::ForeignKeyViolation,
            _,
        ))) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The user's address of one type.
pub fn find(
    conn: &mut DbConn,
    user_id: &str,
    address_type: AddressType,
) -> Result<Option<StoredAddress>> {
    dsl::cap_addresses
        .find((user_id, i32::from(address_type.code())))
        .select(CapAddressRow::as_select())
        .get_result(conn)
        .optional()?
        .map(StoredAddress::try_from)
        .transpose()
}

/// All the user's addresses, by type.
pub fn list(conn: &mut DbConn, user_id: &str) -> Result<Vec<StoredAddress>> {
    dsl::cap_addresses
        .filter(dsl::user_id.eq(user_id))
        .order(dsl::address_type.asc())
        .select(CapAddressRow::as_select())
        .load(conn)?
        .into_iter()
        .map(StoredAddress::try_from)
        .collect()
}

/// The address types of every user that has addresses, as `(user id, type)` pairs ordered by
/// user and type (operator listings).
pub fn all_types(conn: &mut DbConn) -> Result<Vec<(String, AddressType)>> {
    dsl::cap_addresses
        .order((dsl::user_id.asc(), dsl::address_type.asc()))
        .select((dsl::user_id, dsl::address_type))
        .load::<(String, i32)>(conn)?
        .into_iter()
        .map(|(user, code)| {
            u16::try_from(code)
                .ok()
                .and_then(|code| AddressType::from_code(code).ok())
                .map(|t| (user, t))
                .ok_or_else(|| StoreError::Corrupt {
                    what: "OpenCAP address",
                    reason: format!("unknown address type {code}"),
                })
        })
        .collect()
}

/// Deletes the user's address of one type; `false` if there was none.
pub fn delete(conn: &mut DbConn, user_id: &str, address_type: AddressType) -> Result<bool> {
    let n = diesel::delete(dsl::cap_addresses.find((user_id, i32::from(address_type.code()))))
        .execute(conn)?;
    Ok(n > 0)
}
