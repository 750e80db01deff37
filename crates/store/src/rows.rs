//! Row structs: the tables as diesel sees them, converted to and from domain types here and
//! nowhere else. Domain types never derive diesel traits.

use aliaskit_domain::{Alias, AliasId, AliasKind, OrgId, OrgName, Organization, Sensitive};
use diesel::prelude::*;

use crate::StoreError;
use crate::schema::{aliases, organizations};

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
