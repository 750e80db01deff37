//! The JSON answers of the OpenCAP routes (`docs/opencap.md`): addresses, the login token, the
//! alias signed up.

use std::borrow::Cow;

use aliaskit_domain::opencap::{AddressType as DomainAddressType, StoredAddress};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// An OpenCAP address type, by its number: 100 P2PKH, 101 P2SH, 102 Bech32/Bech32m segwit,
/// 103 BIP47 payment code, 200/201 Bitcoin Cash legacy, 202 CashAddr, 300 Nano.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressType(pub DomainAddressType);

/// As its number.
impl Serialize for AddressType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u16(self.0.code())
    }
}

impl PartialSchema for AddressType {
    fn schema() -> RefOr<Schema> {
        let names: Vec<String> = DomainAddressType::ALL
            .iter()
            .map(|t| format!("{} {}", t.code(), t.name()))
            .collect();
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .enum_values(Some(DomainAddressType::ALL.iter().map(|t| t.code())))
            .description(Some(format!(
                "An OpenCAP address type: {}.",
                names.join(", ")
            )))
            .into()
    }
}

impl ToSchema for AddressType {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("AddressType")
    }
}

/// An address as OpenCAP answers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Address<'a> {
    /// The type.
    pub address_type: AddressType,
    /// The address.
    #[schema(value_type = String)]
    pub address: &'a str,
    /// Extensions as stored; `{}` if none were.
    #[schema(value_type = Object)]
    pub extensions: &'a Map<String, Value>,
}

impl<'a> From<&'a StoredAddress> for Address<'a> {
    fn from(stored: &'a StoredAddress) -> Self {
        Address {
            address_type: AddressType(stored.address.address_type()),
            address: stored.address.as_str(),
            extensions: stored.extensions.as_map(),
        }
    }
}

/// The Address Query's answer: one address (`address_type` given) or all of the alias's
/// addresses, ordered by type.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum AddressOrAll<'a> {
    /// With `address_type`.
    One(Address<'a>),
    /// Without `address_type`; possibly empty.
    All(Vec<Address<'a>>),
}

/// `{"jwt": "…"}`.
#[derive(Serialize, ToSchema)]
pub struct Jwt {
    /// The login token, for `Authorization: Bearer`.
    pub jwt: String,
}

/// Never shows the token.
impl std::fmt::Debug for Jwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwt").field("jwt", &"<redacted>").finish()
    }
}

/// `{"alias": "…"}`: the alias signed up.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignedUp<'a> {
    /// The alias, `user$domain`.
    #[schema(value_type = String, example = "alice$example.com")]
    pub alias: &'a str,
}
