//! Row structs: the tables as diesel sees them, converted to and from domain types here and
//! nowhere else. Domain types never derive diesel traits.

use aliaskit_domain::opencap::{
    Address, AddressType, CapAlias, CapUser, Extensions, StoredAddress,
};
use aliaskit_domain::{Alias, AliasId, AliasKind, OrgId, OrgName, Organization, Sensitive};
use diesel::prelude::*;

use crate::StoreError;
use crate::repo::signing_keys::SigningKey;
use crate::schema::{aliases, cap_addresses, cap_users, organizations, signing_keys};

/// A row of `aliases`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = aliases, treat_none_as_null = true)]
pub(crate) struct AliasRow {
    pub(crate) id: String,
    pub(crate) org_id: i64,
    pub(crate) kind: String,
    pub(crate) name: Option<String>,
    pub(crate) passcode: Option<String>,
    pub(crate) jwt_secret: Option<String>,
    pub(crate) stream_key: Option<String>,
    pub(crate) expired_at: i64,
    pub(crate) inserted_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) previous_secret: Option<String>,
    pub(crate) previous_secret_until: Option<i64>,
    pub(crate) tokens_valid_after: Option<i64>,
}

impl From<&Alias> for AliasRow {
    fn from(a: &Alias) -> Self {
        let text = |s: &Option<Sensitive>| s.as_ref().map(|s| s.expose().to_owned());
        AliasRow {
            id: a.id.to_string(),
            org_id: a.org.0,
            kind: a.kind.as_str().to_owned(),
            name: a.name.clone(),
            passcode: text(&a.passcode),
            jwt_secret: text(&a.jwt_secret),
            stream_key: text(&a.stream_key),
            expired_at: a.expired_at,
            inserted_at: a.inserted_at,
            updated_at: a.updated_at,
            previous_secret: text(&a.previous_secret),
            previous_secret_until: a.previous_secret_until,
            tokens_valid_after: a.tokens_valid_after,
        }
    }
}

impl TryFrom<AliasRow> for Alias {
    type Error = StoreError;

    fn try_from(r: AliasRow) -> Result<Self, StoreError> {
        let corrupt = |e: aliaskit_domain::Error| StoreError::Corrupt {
            what: "alias",
            reason: e.to_string(),
        };
        Ok(Alias {
            id: AliasId::try_from(r.id).map_err(corrupt)?,
            org: OrgId(r.org_id),
            kind: r.kind.parse::<AliasKind>().map_err(corrupt)?,
            name: r.name,
            passcode: r.passcode.map(Sensitive::from),
            jwt_secret: r.jwt_secret.map(Sensitive::from),
            stream_key: r.stream_key.map(Sensitive::from),
            expired_at: r.expired_at,
            inserted_at: r.inserted_at,
            updated_at: r.updated_at,
            previous_secret: r.previous_secret.map(Sensitive::from),
            previous_secret_until: r.previous_secret_until,
            tokens_valid_after: r.tokens_valid_after,
        })
    }
}

/// A row of `organizations`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organizations)]
pub(crate) struct OrgRow {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) created_at: i64,
}

impl TryFrom<OrgRow> for Organization {
    type Error = StoreError;

    fn try_from(r: OrgRow) -> Result<Self, StoreError> {
        Ok(Organization {
            id: OrgId(r.id),
            name: OrgName::parse(&r.name).map_err(|e| StoreError::Corrupt {
                what: "organization",
                reason: e.to_string(),
            })?,
            created_at: r.created_at,
        })
    }
}

/// A row of `cap_users`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = cap_users)]
pub(crate) struct CapUserRow {
    pub(crate) id: String,
    pub(crate) username: String,
    pub(crate) domain: String,
    pub(crate) password_hash: String,
    pub(crate) failed_logins: i64,
    pub(crate) locked_until: Option<i64>,
    pub(crate) created_at: i64,
}

impl From<&CapUser> for CapUserRow {
    fn from(u: &CapUser) -> Self {
        CapUserRow {
            id: u.id.clone(),
            username: u.alias.username().to_owned(),
            domain: u.alias.domain().to_owned(),
            password_hash: u.password_hash.clone(),
            failed_logins: u.failed_logins,
            locked_until: u.locked_until,
            created_at: u.created_at,
        }
    }
}

impl TryFrom<CapUserRow> for CapUser {
    type Error = StoreError;

    fn try_from(r: CapUserRow) -> Result<Self, StoreError> {
        let alias = CapAlias::parse(&format!("{}${}", r.username, r.domain)).map_err(|e| {
            StoreError::Corrupt {
                what: "OpenCAP user",
                reason: e.to_string(),
            }
        })?;
        Ok(CapUser {
            id: r.id,
            alias,
            password_hash: r.password_hash,
            failed_logins: r.failed_logins,
            locked_until: r.locked_until,
            created_at: r.created_at,
        })
    }
}

/// A row of `cap_addresses`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = cap_addresses)]
pub(crate) struct CapAddressRow {
    pub(crate) user_id: String,
    pub(crate) address_type: i32,
    pub(crate) address: String,
    pub(crate) extensions: String,
    pub(crate) updated_at: i64,
}

impl TryFrom<CapAddressRow> for StoredAddress {
    type Error = StoreError;

    fn try_from(r: CapAddressRow) -> Result<Self, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            what: "OpenCAP address",
            reason,
        };
        let kind = u16::try_from(r.address_type)
            .map_err(|e| corrupt(e.to_string()))
            .and_then(|code| AddressType::from_code(code).map_err(|e| corrupt(e.to_string())))?;
        let address = Address::new(kind, r.address).map_err(|e| corrupt(e.to_string()))?;
        let value: serde_json::Value =
            serde_json::from_str(&r.extensions).map_err(|e| corrupt(e.to_string()))?;
        let extensions = Extensions::new(value).map_err(|e| corrupt(e.to_string()))?;
        Ok(StoredAddress {
            address,
            extensions,
            updated_at: r.updated_at,
        })
    }
}

/// A row of `signing_keys`.
#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub(crate) struct SigningKeyRow {
    pub(crate) kid: String,
    pub(crate) alg: String,
    pub(crate) secret: String,
    pub(crate) created_at: i64,
    pub(crate) retired_at: Option<i64>,
}

impl std::fmt::Debug for SigningKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRow")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

impl From<SigningKeyRow> for SigningKey {
    fn from(r: SigningKeyRow) -> Self {
        SigningKey {
            kid: r.kid,
            alg: r.alg,
            secret: Sensitive::from(r.secret),
            created_at: r.created_at,
            retired_at: r.retired_at,
        }
    }
}

impl From<&SigningKey> for SigningKeyRow {
    fn from(k: &SigningKey) -> Self {
        SigningKeyRow {
            kid: k.kid.clone(),
            alg: k.alg.clone(),
            secret: k.secret.expose().to_owned(),
            created_at: k.created_at,
            retired_at: k.retired_at,
        }
    }
}
