//! The `api_keys` table: SHA-256 hashes of organization keys, never the keys.

use aliaskit_domain::OrgId;
use diesel::prelude::*;

use crate::schema::api_keys::dsl;
use crate::{DbConn, Result, StoreError, error::taken_as};

/// Stores a key hash for `org`.
pub fn insert(conn: &mut DbConn, org: OrgId, key_hash: &str, now: i64) -> Result<()> {
    diesel::insert_into(dsl::api_keys)
        .values((
            dsl::org_id.eq(org.0),
            dsl::key_hash.eq(key_hash),
            dsl::created_at.eq(now),
        ))
        .execute(conn)
        .map_err(taken_as(StoreError::ApiKeyTaken))?;
    Ok(())
}

/// The owner of the key with this hash, and the stored hash (for a constant-time comparison).
pub fn find(conn: &mut DbConn, key_hash: &str) -> Result<Option<(OrgId, String)>> {
    Ok(dsl::api_keys
        .filter(dsl::key_hash.eq(key_hash))
        .select((dsl::org_id, dsl::key_hash))
        .first::<(i64, String)>(conn)
        .optional()?
        .map(|(org, hash)| (OrgId(org), hash)))
}

/// Deletes every key of `org`; returns how many there were.
pub fn delete_for_org(conn: &mut DbConn, org: OrgId) -> Result<usize> {
    Ok(diesel::delete(dsl::api_keys.filter(dsl::org_id.eq(org.0))).execute(conn)?)
}
