//! Row structs: the tables as diesel sees them, converted to and from domain types here and
//! nowhere else. Domain types never derive diesel traits.

use aliaskit_domain::opencap::{
    Address, AddressType, CapAlias, CapUser, Extensions, StoredAddress,
};
use aliaskit_domain::{
    Alias, AliasId, AliasKind, EventFilter, OrgId, OrgName, Organization, Sensitive, SigningKey,
    Webhook, WebhookId,
};
use diesel::prelude::*;

use crate::StoreError;
use crate::schema::{aliases, cap_addresses, cap_users, organizations, signing_keys, webhooks};
use crate::vault::Vault;

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

/// Where a sealed value lives: its associated data.
pub(crate) fn place(table: &str, row: &str, column: &str) -> String {
    format!("{table}/{row}/{column}")
}

impl AliasRow {
    /// The row for `a`, its secrets sealed under the vault's current key.
    pub(crate) fn seal(a: &Alias, vault: &Vault) -> Result<Self, StoreError> {
        let id = a.id.as_str();
        let seal =
            |column: &str, value: &Option<Sensitive>| -> Result<Option<String>, StoreError> {
                value
                    .as_ref()
                    .map(|v| vault.seal(&place("aliases", id, column), v.expose()))
                    .transpose()
                    .map_err(StoreError::from)
            };
        Ok(AliasRow {
            id: id.to_owned(),
            org_id: a.org.0,
            kind: a.kind.as_str().to_owned(),
            name: a.name.clone(),
            passcode: seal("passcode", &a.passcode)?,
            jwt_secret: seal("jwt_secret", &a.jwt_secret)?,
            stream_key: seal("stream_key", &a.stream_key)?,
            expired_at: a.expired_at,
            inserted_at: a.inserted_at,
            updated_at: a.updated_at,
            previous_secret: seal("previous_secret", &a.previous_secret)?,
            previous_secret_until: a.previous_secret_until,
            tokens_valid_after: a.tokens_valid_after,
        })
    }

    /// The alias, its secrets opened.
    pub(crate) fn open(self, vault: &Vault) -> Result<Alias, StoreError> {
        let corrupt = |e: aliaskit_domain::Error| StoreError::Corrupt {
            what: "alias",
            reason: e.to_string(),
        };
        let id = AliasId::try_from(self.id).map_err(corrupt)?;
        let open = |column: &str, value: Option<String>| -> Result<Option<Sensitive>, StoreError> {
            value
                .map(|v| vault.open(&place("aliases", id.as_str(), column), &v))
                .transpose()
                .map(|v| v.map(Sensitive::from))
                .map_err(StoreError::from)
        };
        Ok(Alias {
            org: OrgId(self.org_id),
            kind: self.kind.parse::<AliasKind>().map_err(corrupt)?,
            name: self.name,
            passcode: open("passcode", self.passcode)?,
            jwt_secret: open("jwt_secret", self.jwt_secret)?,
            stream_key: open("stream_key", self.stream_key)?,
            expired_at: self.expired_at,
            inserted_at: self.inserted_at,
            updated_at: self.updated_at,
            previous_secret: open("previous_secret", self.previous_secret)?,
            previous_secret_until: self.previous_secret_until,
            tokens_valid_after: self.tokens_valid_after,
            id,
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

/// A row of `cap_users`. No `Debug`: it holds the password hash.
#[derive(Clone, Queryable, Selectable, Insertable)]
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

impl SigningKeyRow {
    /// The row for `k`, its secret sealed.
    pub(crate) fn seal(k: &SigningKey, vault: &Vault) -> Result<Self, StoreError> {
        Ok(SigningKeyRow {
            kid: k.kid.clone(),
            alg: k.alg.clone(),
            secret: vault.seal(&place("signing_keys", &k.kid, "secret"), k.secret.expose())?,
            created_at: k.created_at,
            retired_at: k.retired_at,
        })
    }

    /// The key, its secret opened.
    pub(crate) fn open(self, vault: &Vault) -> Result<SigningKey, StoreError> {
        let secret = vault.open(&place("signing_keys", &self.kid, "secret"), &self.secret)?;
        Ok(SigningKey {
            kid: self.kid,
            alg: self.alg,
            secret: Sensitive::from(secret),
            created_at: self.created_at,
            retired_at: self.retired_at,
        })
    }
}

/// A row of `webhooks`. No `Debug`: it holds sealed secrets.
#[derive(Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = webhooks, treat_none_as_null = true)]
pub(crate) struct WebhookRow {
    pub(crate) id: String,
    pub(crate) org_id: i64,
    pub(crate) url: String,
    pub(crate) events: String,
    pub(crate) description: Option<String>,
    pub(crate) secret: String,
    pub(crate) previous_secret: Option<String>,
    pub(crate) previous_secret_until: Option<i64>,
    pub(crate) enabled: bool,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

impl WebhookRow {
    /// The row for `w`, its secrets sealed under the vault's current key.
    pub(crate) fn seal(w: &Webhook, vault: &Vault) -> Result<Self, StoreError> {
        let id = w.id.as_str();
        let seal = |column: &str, value: &Sensitive| -> Result<String, StoreError> {
            Ok(vault.seal(&place("webhooks", id, column), value.expose())?)
        };
        Ok(WebhookRow {
            id: id.to_owned(),
            org_id: w.org.0,
            url: w.url.clone(),
            events: w.events.names().join(","),
            description: w.description.clone(),
            secret: seal("secret", &w.secret)?,
            previous_secret: w
                .previous_secret
                .as_ref()
                .map(|p| seal("previous_secret", p))
                .transpose()?,
            previous_secret_until: w.previous_secret_until,
            enabled: w.enabled,
            created_at: w.created_at,
            updated_at: w.updated_at,
        })
    }

    /// The webhook, its secrets opened.
    pub(crate) fn open(self, vault: &Vault) -> Result<Webhook, StoreError> {
        let corrupt = |e: aliaskit_domain::Error| StoreError::Corrupt {
            what: "webhook",
            reason: e.to_string(),
        };
        let id = WebhookId::parse(&self.id).map_err(corrupt)?;
        let open = |column: &str, value: &str| -> Result<Sensitive, StoreError> {
            Ok(Sensitive::from(
                vault.open(&place("webhooks", id.as_str(), column), value)?,
            ))
        };
        let names: Vec<&str> = self.events.split(',').collect();
        Ok(Webhook {
            org: OrgId(self.org_id),
            url: self.url,
            events: EventFilter::parse(&names).map_err(corrupt)?,
            description: self.description,
            secret: open("secret", &self.secret)?,
            previous_secret: self
                .previous_secret
                .as_deref()
                .map(|p| open("previous_secret", p))
                .transpose()?,
            previous_secret_until: self.previous_secret_until,
            enabled: self.enabled,
            created_at: self.created_at,
            updated_at: self.updated_at,
            id,
        })
    }
}
