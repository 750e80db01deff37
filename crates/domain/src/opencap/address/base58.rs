//! Base58check: types 100, 101, 200, 201 (legacy addresses) and 103 (BIP47 payment codes).
//!
//! A base58check string decodes to `version ‖ payload ‖ checksum`, where the checksum is the
//! first four bytes of SHA-256(SHA-256(version ‖ payload)).

use sha2::{Digest, Sha256};

use super::{AddressError, AddressType, check_alphabet};

/// The Bitcoin base58 alphabet: no `0`, `O`, `I` or `l`.
const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// A legacy address: version byte, 20-byte hash, 4-byte checksum.
const LEGACY_BYTES: usize = 25;
/// A BIP47 payment code: version byte `0x47`, 80-byte payload, 4-byte checksum.
const PAYMENT_CODE_BYTES: usize = 85;

/// Validates a legacy P2PKH or P2SH address of `address_type` (100, 101, 200 or 201).
pub(super) fn validate_legacy(address_type: AddressType, text: &str) -> Result<(), AddressError> {
    let mut buf = [0u8; 128];
    let bytes = decode_check(text, &mut buf, LEGACY_BYTES)?;
    check_version(address_type, bytes)
}

/// Validates a BIP47 payment code (103).
pub(super) fn validate_payment_code(text: &str) -> Result<(), AddressError> {
    let mut buf = [0u8; 128];
    let bytes = decode_check(text, &mut buf, PAYMENT_CODE_BYTES)?;
    check_version(AddressType::Bip47PaymentCode, bytes)?;
    // The payload follows the version byte: payment code version, features, then the
    // compressed public key, whose first byte is its sign (0x02 or 0x03).
    let version = bytes.get(1).copied().unwrap_or_default();
    if !matches!(version, 0x01 | 0x02) {
        return Err(AddressError::PaymentCodeVersion { found: version });
    }
    let sign = bytes.get(3).copied().unwrap_or_default();
    if !matches!(sign, 0x02 | 0x03) {
        return Err(AddressError::PaymentCodeSign { found: sign });
    }
    Ok(())
}

/// Decodes `text` into `buf`, checks its length and its checksum, and returns the decoded
/// bytes (checksum included).
fn decode_check<'b>(
    text: &str,
    buf: &'b mut [u8; 128],
    expected: usize,
) -> Result<&'b [u8], AddressError> {
    check_alphabet(text, 0, ALPHABET, false, "base58")?;
    // Every character is in the alphabet and there are at most 128 of them (checked by the
    // caller), and n base58 characters never decode to more than n bytes, so this cannot fail;
    // a failure still answers with an error rather than a panic.
    let len = bs58::decode(text)
        .onto(&mut buf[..])
        .map_err(|_| AddressError::TooLong {
            len: text.chars().count(),
            max: buf.len(),
        })?;
    let bytes = buf.get(..len).unwrap_or_default();
    if len != expected {
        return Err(AddressError::WrongLength {
            expected,
            found: len,
        });
    }
    let (body, checksum) = bytes.split_at(len.saturating_sub(4));
    let digest = Sha256::digest(Sha256::digest(body));
    if digest.get(..4) != Some(checksum) {
        return Err(AddressError::BadChecksum);
    }
    Ok(bytes)
}

fn check_version(address_type: AddressType, bytes: &[u8]) -> Result<(), AddressError> {
    let found = bytes.first().copied().unwrap_or_default();
    if Some(found) != address_type.version_byte() {
        return Err(AddressError::WrongVersion {
            address_type,
            found,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes `version ‖ payload` with a base58check checksum.
    fn encode(version: u8, payload: &[u8]) -> String {
        let mut bytes = vec![version];
        bytes.extend_from_slice(payload);
        let digest = Sha256::digest(Sha256::digest(&bytes));
        bytes.extend_from_slice(&digest[..4]);
        let mut out = [0u8; 128];
        let len = bs58::encode(&bytes).onto(&mut out[..]).unwrap();
        String::from_utf8(out[..len].to_vec()).unwrap()
    }

    #[test]
    fn p2pkh_and_p2sh_versions() {
        let p2pkh = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2";
        let p2sh = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy";
        assert_eq!(validate_legacy(AddressType::BitcoinP2pkh, p2pkh), Ok(()));
        assert_eq!(
            validate_legacy(AddressType::BitcoinCashP2pkh, p2pkh),
            Ok(())
        );
        assert_eq!(validate_legacy(AddressType::BitcoinP2sh, p2sh), Ok(()));
        assert_eq!(validate_legacy(AddressType::BitcoinCashP2sh, p2sh), Ok(()));
        assert_eq!(
            validate_legacy(AddressType::BitcoinP2pkh, p2sh)
                .unwrap_err()
                .to_string(),
            "version byte 0x05 is a P2SH address; type 100 is P2PKH (version byte 0x00)"
        );
        assert_eq!(
            validate_legacy(AddressType::BitcoinCashP2sh, p2pkh)
                .unwrap_err()
                .to_string(),
            "version byte 0x00 is a P2PKH address; type 201 is P2SH (version byte 0x05)"
        );
        let testnet = encode(0x6f, &[7; 20]);
        assert_eq!(
            validate_legacy(AddressType::BitcoinP2pkh, &testnet)
                .unwrap_err()
                .to_string(),
            "version byte 0x6f is a testnet address; type 100 is P2PKH (version byte 0x00)"
        );
    }

    #[test]
    fn lengths_and_characters() {
        let short = encode(0x00, &[7; 19]);
        assert_eq!(
            validate_legacy(AddressType::BitcoinP2pkh, &short),
            Err(AddressError::WrongLength {
                expected: 25,
                found: 24
            })
        );
        assert_eq!(
            validate_legacy(
                AddressType::BitcoinP2pkh,
                "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN0"
            )
            .unwrap_err()
            .to_string(),
            "not valid base58: '0' (character 34) is not in the base58 alphabet"
        );
        assert_eq!(
            validate_legacy(
                AddressType::BitcoinP2pkh,
                "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVNé"
            )
            .unwrap_err()
            .to_string(),
            "not valid base58: 'é' (character 34) is not in the base58 alphabet"
        );
    }

    #[test]
    fn payment_code_fields() {
        let mut payload = [0u8; 80];
        payload[0] = 0x01;
        payload[2] = 0x02;
        assert_eq!(validate_payment_code(&encode(0x47, &payload)), Ok(()));
        payload[0] = 0x02;
        payload[2] = 0x03;
        assert_eq!(validate_payment_code(&encode(0x47, &payload)), Ok(()));
        payload[0] = 0x03;
        assert_eq!(
            validate_payment_code(&encode(0x47, &payload))
                .unwrap_err()
                .to_string(),
            "payment code version 0x03; BIP47 defines 0x01 and 0x02"
        );
        payload[0] = 0x01;
        payload[2] = 0x04;
        assert_eq!(
            validate_payment_code(&encode(0x47, &payload))
                .unwrap_err()
                .to_string(),
            "the payment code's public key starts with 0x04; expected 0x02 or 0x03"
        );
        payload[2] = 0x02;
        assert_eq!(
            validate_payment_code(&encode(0x00, &payload))
                .unwrap_err()
                .to_string(),
            "version byte 0x00 is a P2PKH address; type 103 is a BIP47 payment code (version byte 0x47)"
        );
        assert_eq!(
            validate_payment_code("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
            Err(AddressError::WrongLength {
                expected: 85,
                found: 25
            })
        );
    }
}
