//! [`AddressType`], [`Address`] and the errors of address validation.
//!
//! The codecs are this module's children, one per format: `base58` (base58check: legacy
//! addresses and payment codes), `segwit` (bech32/bech32m), `cashaddr` and `nano`. They import
//! only from here: the error type, the alphabet check, the bech32 alphabet and `bits`'s
//! `BitPacker`, which this module lends them; none imports another codec.

mod base58;
mod bits;
mod cashaddr;
mod nano;
mod segwit;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error as DomainError;
use bits::BitPacker;

/// The bech32 alphabet, of segwit addresses and of CashAddr.
const BECH32_CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// An OpenCAP address type: the number that says which coin and format an address is in.
///
/// Serializes as its number (`100`), and deserializes from one through
/// [`AddressType::from_code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub enum AddressType {
    /// 100: Bitcoin pay-to-public-key-hash, base58check with version byte `0x00` (`1…`).
    BitcoinP2pkh,
    /// 101: Bitcoin pay-to-script-hash, base58check with version byte `0x05` (`3…`).
    BitcoinP2sh,
    /// 102: Bitcoin segwit, bech32 (witness v0, BIP173) or bech32m (v1–16, BIP350) (`bc1…`).
    BitcoinSegwit,
    /// 103: BIP47 reusable payment code, base58check with version byte `0x47` (`PM8T…`).
    Bip47PaymentCode,
    /// 200: Bitcoin Cash legacy P2PKH, encoded like 100.
    BitcoinCashP2pkh,
    /// 201: Bitcoin Cash legacy P2SH, encoded like 101.
    BitcoinCashP2sh,
    /// 202: Bitcoin Cash CashAddr (`bitcoincash:q…` or `bitcoincash:p…`).
    CashAddr,
    /// 300: Nano (`nano_…` or `xrb_…`), with its blake2b checksum.
    Nano,
}

impl AddressType {
    /// Every supported type, in code order.
    pub const ALL: [AddressType; 8] = [
        AddressType::BitcoinP2pkh,
        AddressType::BitcoinP2sh,
        AddressType::BitcoinSegwit,
        AddressType::Bip47PaymentCode,
        AddressType::BitcoinCashP2pkh,
        AddressType::BitcoinCashP2sh,
        AddressType::CashAddr,
        AddressType::Nano,
    ];

    /// The OpenCAP number of this type.
    pub const fn code(self) -> u16 {
        match self {
            AddressType::BitcoinP2pkh => 100,
            AddressType::BitcoinP2sh => 101,
            AddressType::BitcoinSegwit => 102,
            AddressType::Bip47PaymentCode => 103,
            AddressType::BitcoinCashP2pkh => 200,
            AddressType::BitcoinCashP2sh => 201,
            AddressType::CashAddr => 202,
            AddressType::Nano => 300,
        }
    }

    /// The type with OpenCAP number `code`.
    pub fn from_code(code: u16) -> Result<Self, AddressTypeError> {
        Self::ALL
            .into_iter()
            .find(|t| t.code() == code)
            .ok_or_else(|| AddressTypeError::Unknown {
                found: code.to_string(),
            })
    }

    /// A short English name, such as "Bitcoin P2PKH".
    pub const fn name(self) -> &'static str {
        match self {
            AddressType::BitcoinP2pkh => "Bitcoin P2PKH",
            AddressType::BitcoinP2sh => "Bitcoin P2SH",
            AddressType::BitcoinSegwit => "Bitcoin segwit",
            AddressType::Bip47PaymentCode => "BIP47 payment code",
            AddressType::BitcoinCashP2pkh => "Bitcoin Cash P2PKH",
            AddressType::BitcoinCashP2sh => "Bitcoin Cash P2SH",
            AddressType::CashAddr => "Bitcoin Cash CashAddr",
            AddressType::Nano => "Nano",
        }
    }

    /// Checks that `address` is a well-formed address of this type with a correct checksum.
    ///
    /// The text is taken as it is: no trimming, no case folding beyond what the format allows.
    pub fn validate(self, address: &str) -> Result<(), AddressError> {
        if address.is_empty() {
            return Err(AddressError::Empty);
        }
        let len = address.chars().count();
        if len > Address::MAX_CHARS {
            return Err(AddressError::TooLong {
                len,
                max: Address::MAX_CHARS,
            });
        }
        match self {
            AddressType::BitcoinP2pkh
            | AddressType::BitcoinP2sh
            | AddressType::BitcoinCashP2pkh
            | AddressType::BitcoinCashP2sh => base58::validate_legacy(self, address),
            AddressType::Bip47PaymentCode => base58::validate_payment_code(address),
            AddressType::BitcoinSegwit => segwit::validate(address),
            AddressType::CashAddr => cashaddr::validate(address),
            AddressType::Nano => nano::validate(address),
        }
    }

    /// The base58check version byte of this type, for the types that use base58check.
    const fn version_byte(self) -> Option<u8> {
        match self {
            AddressType::BitcoinP2pkh | AddressType::BitcoinCashP2pkh => Some(0x00),
            AddressType::BitcoinP2sh | AddressType::BitcoinCashP2sh => Some(0x05),
            AddressType::Bip47PaymentCode => Some(0x47),
            AddressType::BitcoinSegwit | AddressType::CashAddr | AddressType::Nano => None,
        }
    }
}

/// The supported codes, as listed in error messages.
const SUPPORTED: &str = "100, 101, 102, 103, 200, 201, 202, 300";

impl fmt::Display for AddressType {
    /// The number, as in `100`: the inverse of [`FromStr`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

impl FromStr for AddressType {
    type Err = AddressTypeError;
    /// Parses the decimal number (`"202"`), as in `?address_type=202`.
    fn from_str(s: &str) -> Result<Self, AddressTypeError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AddressTypeError::NotANumber {
                found: DomainError::shown(s),
            });
        }
        match s.parse::<u16>() {
            Ok(code) => Self::from_code(code),
            Err(_) => Err(AddressTypeError::Unknown {
                found: shortened(s),
            }),
        }
    }
}

/// Digits as they appear in a message: at most 40 of them.
fn shortened(digits: &str) -> String {
    match digits.get(..40) {
        Some(head) if digits.len() > 40 => format!("{head}…"),
        _ => digits.to_owned(),
    }
}

impl TryFrom<u16> for AddressType {
    type Error = AddressTypeError;
    fn try_from(code: u16) -> Result<Self, AddressTypeError> {
        Self::from_code(code)
    }
}

impl From<AddressType> for u16 {
    fn from(t: AddressType) -> u16 {
        t.code()
    }
}

/// Why a number or text is not a supported [`AddressType`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressTypeError {
    /// A number that is not one of the supported types.
    #[error("unknown address type {found}; supported: {SUPPORTED}")]
    Unknown {
        /// The number received, in decimal.
        found: String,
    },
    /// Text that is not a decimal number.
    #[error("address type {found} is not a number; supported: {SUPPORTED}")]
    NotANumber {
        /// The text received, shortened and escaped.
        found: String,
    },
}

/// An address whose format and checksum have been checked against its [`AddressType`].
///
/// The text is kept exactly as given (an all-upper-case bech32 or CashAddr address stays upper
/// case), so an owner gets back what they stored.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Address {
    address_type: AddressType,
    text: String,
}

impl Address {
    /// The longest address of any supported type, in characters (a CashAddr with a 512-bit
    /// hash is 124); longer text is refused before decoding.
    pub const MAX_CHARS: usize = 128;

    /// Validates `text` as an address of `address_type` (see [`AddressType::validate`]).
    pub fn new(address_type: AddressType, text: impl Into<String>) -> Result<Self, AddressError> {
        let text = text.into();
        address_type.validate(&text)?;
        Ok(Address { address_type, text })
    }

    /// Its type.
    pub fn address_type(&self) -> AddressType {
        self.address_type
    }

    /// The address text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl From<Address> for String {
    fn from(address: Address) -> String {
        address.text
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({}, {:?})", self.address_type.code(), self.text)
    }
}

/// Why a text is not a valid address of the type it was given as.
///
/// Messages repeat no caller input beyond a single character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The text is empty.
    #[error("the address is empty")]
    Empty,
    /// The text is longer than any address of the type.
    #[error("the address is {len} characters; at most {max}")]
    TooLong {
        /// Its length in characters.
        len: usize,
        /// The most allowed.
        max: usize,
    },
    /// The text is shorter than any address of the type.
    #[error("the address is {len} characters; at least {min}")]
    TooShort {
        /// Its length in characters.
        len: usize,
        /// The least allowed.
        min: usize,
    },
    /// The address does not start with the prefix its type requires.
    #[error("the address must start with {expected}")]
    WrongPrefix {
        /// The allowed prefixes, quoted.
        expected: &'static str,
    },
    /// A character outside the encoding's alphabet.
    #[error(
        "not valid {encoding}: {character:?} (character {position}) is not in the {encoding} alphabet"
    )]
    BadCharacter {
        /// The encoding: `base58`, `bech32`, `CashAddr` or `Nano base32`.
        encoding: &'static str,
        /// The character.
        character: char,
        /// Where it is, counting characters from 1.
        position: usize,
    },
    /// Upper and lower case mixed, which bech32 and CashAddr forbid.
    #[error("mixed upper and lower case is not allowed; write the address all in lower case")]
    MixedCase,
    /// The decoded bytes are not as many as the type needs.
    #[error("expected {expected} bytes, got {found}")]
    WrongLength {
        /// How many the type needs.
        expected: usize,
        /// How many the text decodes to.
        found: usize,
    },
    /// The checksum does not match the rest of the address.
    #[error("bad checksum: the address has a typo or is incomplete")]
    BadChecksum,
    /// A base58check version byte of another kind of address.
    #[error(
        "version byte {found:#04x} is {}; type {} is {}",
        version_kind(*.found),
        .address_type.code(),
        expected_kind(*.address_type)
    )]
    WrongVersion {
        /// The type the address was given as.
        address_type: AddressType,
        /// The version byte it has.
        found: u8,
    },
    /// A BIP47 payment code version other than 1 or 2.
    #[error("payment code version {found:#04x}; BIP47 defines 0x01 and 0x02")]
    PaymentCodeVersion {
        /// The version byte of the payload.
        found: u8,
    },
    /// A BIP47 payment code whose public key does not start with 0x02 or 0x03.
    #[error("the payment code's public key starts with {found:#04x}; expected 0x02 or 0x03")]
    PaymentCodeSign {
        /// The sign byte.
        found: u8,
    },
    /// A segwit witness version above 16.
    #[error("witness version {found} does not exist; versions go from 0 to 16")]
    WitnessVersion {
        /// The version the address has.
        found: u8,
    },
    /// A valid checksum of the wrong bech32 variant for the witness version.
    #[error("{}", checksum_variant_message(*.version))]
    ChecksumVariant {
        /// The witness version.
        version: u8,
    },
    /// A witness program of a length its version does not allow.
    #[error(
        "a witness version {version} program cannot be {len} {}; {}",
        if *.len == 1 { "byte" } else { "bytes" },
        if *.version == 0 { "version 0 takes 20 or 32" } else { "it takes 2 to 40" }
    )]
    ProgramLength {
        /// The witness version.
        version: u8,
        /// The program's length in bytes.
        len: usize,
    },
    /// More than 4 bits, or non-zero bits, of padding after the last whole byte.
    #[error("invalid padding: the data does not end on a whole byte")]
    Padding,
    /// A CashAddr type other than P2PKH (0) or P2SH (1).
    #[error("CashAddr type {found} is not supported; type 202 takes 0 (P2PKH) or 1 (P2SH)")]
    CashAddrType {
        /// The type bits of the version byte.
        found: u8,
    },
    /// A CashAddr hash whose length differs from the one its version byte declares.
    #[error(
        "the version byte declares a {declared}-byte hash, but the address holds {found} bytes"
    )]
    HashSize {
        /// The size the version byte declares.
        declared: usize,
        /// The size of the hash present.
        found: usize,
    },
    /// A Nano address whose public key does not start with `1` or `3`.
    #[error("the public key part must start with '1' or '3', not {found:?}")]
    NanoKeyStart {
        /// The first character after the prefix.
        found: char,
    },
}

/// What a base58check version byte usually means, for messages.
fn version_kind(version: u8) -> &'static str {
    match version {
        0x00 => "a P2PKH address",
        0x05 => "a P2SH address",
        0x47 => "a BIP47 payment code",
        0x6f | 0xc4 => "a testnet address",
        _ => "not a Bitcoin mainnet address",
    }
}

/// What a base58check type expects, for messages.
fn expected_kind(address_type: AddressType) -> String {
    let what = match address_type {
        AddressType::BitcoinP2pkh | AddressType::BitcoinCashP2pkh => "P2PKH",
        AddressType::BitcoinP2sh | AddressType::BitcoinCashP2sh => "P2SH",
        AddressType::Bip47PaymentCode => "a BIP47 payment code",
        other => other.name(),
    };
    match address_type.version_byte() {
        Some(v) => format!("{what} (version byte {v:#04x})"),
        None => what.to_owned(),
    }
}

fn checksum_variant_message(version: u8) -> String {
    if version == 0 {
        "witness version 0 must use the bech32 checksum (BIP173), but this address uses bech32m"
            .to_owned()
    } else {
        format!(
            "witness version {version} must use the bech32m checksum (BIP350), but this address uses bech32"
        )
    }
}

/// Checks that every character of `text` is in `alphabet` (compared case-insensitively when
/// `fold_case`), reporting positions counted from 1 plus `offset`.
fn check_alphabet(
    text: &str,
    offset: usize,
    alphabet: &[u8],
    fold_case: bool,
    encoding: &'static str,
) -> Result<(), AddressError> {
    for (i, character) in text.chars().enumerate() {
        let folded = if fold_case {
            character.to_ascii_lowercase()
        } else {
            character
        };
        let known = u8::try_from(folded).is_ok_and(|b| alphabet.contains(&b));
        if !known {
            return Err(AddressError::BadCharacter {
                encoding,
                character,
                position: offset.saturating_add(i).saturating_add(1),
            });
        }
    }
    Ok(())
}

/// Whether `text` has both upper- and lower-case ASCII letters.
fn is_mixed_case(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_uppercase()) && text.bytes().any(|b| b.is_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_round_trip() {
        for t in AddressType::ALL {
            assert_eq!(AddressType::from_code(t.code()).unwrap(), t);
            assert_eq!(AddressType::try_from(t.code()).unwrap(), t);
            assert_eq!(t.to_string().parse::<AddressType>().unwrap(), t);
            assert_eq!(u16::from(t), t.code());
        }
        let listed: Vec<String> = AddressType::ALL.iter().map(|t| t.to_string()).collect();
        assert_eq!(listed.join(", "), SUPPORTED);
    }

    #[test]
    fn unknown_and_non_numeric_types() {
        assert_eq!(
            AddressType::from_code(999).unwrap_err().to_string(),
            "unknown address type 999; supported: 100, 101, 102, 103, 200, 201, 202, 300"
        );
        assert_eq!(
            "999".parse::<AddressType>().unwrap_err().to_string(),
            "unknown address type 999; supported: 100, 101, 102, 103, 200, 201, 202, 300"
        );
        assert_eq!(
            "99999999".parse::<AddressType>().unwrap_err(),
            AddressTypeError::Unknown {
                found: "99999999".into()
            }
        );
        assert_eq!(
            "btc".parse::<AddressType>().unwrap_err().to_string(),
            "address type \"btc\" is not a number; supported: 100, 101, 102, 103, 200, 201, 202, 300"
        );
        for bad in ["", " 100", "100 ", "+100", "-1", "1e2", "１００"] {
            assert!(matches!(
                bad.parse::<AddressType>(),
                Err(AddressTypeError::NotANumber { .. })
            ));
        }
        assert_eq!(
            "0100".parse::<AddressType>().unwrap(),
            AddressType::BitcoinP2pkh
        );
        let long = "9".repeat(100);
        let msg = long.parse::<AddressType>().unwrap_err().to_string();
        assert!(msg.starts_with(&format!("unknown address type {}…;", "9".repeat(40))));
    }

    #[test]
    fn serde_is_the_number() {
        assert_eq!(
            serde_json::to_string(&AddressType::CashAddr).unwrap(),
            "202"
        );
        let t: AddressType = serde_json::from_str("300").unwrap();
        assert_eq!(t, AddressType::Nano);
        let bad = serde_json::from_str::<AddressType>("999").unwrap_err();
        assert!(bad.to_string().starts_with("unknown address type 999"));
        assert!(serde_json::from_str::<AddressType>("\"100\"").is_err());
    }

    #[test]
    fn address_keeps_its_text_and_type() {
        let a = Address::new(
            AddressType::BitcoinP2sh,
            "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
        )
        .unwrap();
        assert_eq!(a.address_type(), AddressType::BitcoinP2sh);
        assert_eq!(a.as_str(), "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy");
        assert_eq!(a.to_string(), a.as_str());
        assert_eq!(
            format!("{a:?}"),
            r#"Address(101, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy")"#
        );
        assert_eq!(String::from(a), "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy");
    }

    #[test]
    fn empty_and_overlong() {
        for t in AddressType::ALL {
            assert_eq!(t.validate(""), Err(AddressError::Empty));
            assert_eq!(
                t.validate(&"1".repeat(129)).unwrap_err().to_string(),
                "the address is 129 characters; at most 128"
            );
        }
    }

    proptest! {
        #[test]
        fn any_type_text_parses_or_errors(s in any::<String>()) {
            if let Ok(t) = s.parse::<AddressType>() {
                prop_assert!(AddressType::ALL.contains(&t));
            }
        }

        #[test]
        fn any_code_converts_or_errors(code in any::<u16>()) {
            match AddressType::from_code(code) {
                Ok(t) => prop_assert_eq!(t.code(), code),
                Err(e) => prop_assert!(e.to_string().contains(&code.to_string())),
            }
        }
    }
}
