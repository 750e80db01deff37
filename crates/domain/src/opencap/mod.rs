//! OpenCAP: the alias syntax and the address types, with real checksum validation.
//!
//! An OpenCAP alias looks like `name$example.com` ([`CapAlias`]). Each address stored for it
//! carries a numeric [`AddressType`] (100 Bitcoin P2PKH, 102 segwit, 300 Nano, …), and an
//! [`Address`] is only built once its text decodes in that type's format *and* its checksum
//! holds, so a typo is refused when the owner stores it rather than when someone pays to it.
//!
//! Everything here is pure computation, with no I/O. Errors say what is wrong in words a user
//! can act on, and never repeat more than 40 characters of the input.
//! `docs/opencap-validation.md` lists what each type checks and the choices made where the
//! specifications leave room.
//!
//! ```
//! use aliaskit_domain::opencap::{Address, AddressType, CapAlias};
//!
//! let alias: CapAlias = "donate$ogdolo.com".parse()?;
//! assert_eq!((alias.username(), alias.domain()), ("donate", "ogdolo.com"));
//!
//! let kind: AddressType = "100".parse()?;
//! let address = Address::new(kind, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")?;
//! assert_eq!(address.address_type().code(), 100);
//!
//! // One mistyped character and the checksum catches it.
//! let typo = AddressType::BitcoinP2pkh.validate("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3");
//! assert_eq!(typo.unwrap_err().to_string(), "bad checksum: the address has a typo or is incomplete");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod address;
mod alias;
mod user;

pub use address::{Address, AddressError, AddressType, AddressTypeError};
pub use alias::{CapAlias, CapAliasError};
pub use user::{CapUser, Extensions, Password, StoredAddress};
