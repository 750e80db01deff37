//! Type 300: Nano accounts, `nano_` or `xrb_` then 60 characters of Nano's base32.
//!
//! The first 52 characters hold the 256-bit public key behind 4 zero bits (so the first
//! character is `1` or `3`); the last 8 hold the 40-bit blake2b digest of the key, with its
//! bytes reversed.

use blake2::Blake2b;
use blake2::Digest;
use blake2::digest::consts::U5;

use super::{AddressError, BitPacker, check_alphabet};

/// Nano's base32 alphabet: no `0`, `2`, `l` or `v`.
const ALPHABET: &[u8] = b"13456789abcdefghijkmnopqrstuwxyz";
const KEY_CHARS: usize = 52;
const CHECKSUM_CHARS: usize = 8;

pub(super) fn validate(text: &str) -> Result<(), AddressError> {
    let Some((prefix_len, rest)) = ["nano_", "xrb_"]
        .into_iter()
        .find_map(|p| text.strip_prefix(p).map(|rest| (p.len(), rest)))
    else {
        return Err(AddressError::WrongPrefix {
            expected: "\"nano_\" or \"xrb_\"",
        });
    };
    check_alphabet(rest, prefix_len, ALPHABET, false, "Nano base32")?;
    // From here on the text is ASCII.
    let expected = prefix_len + KEY_CHARS + CHECKSUM_CHARS;
    if text.len() < expected {
        return Err(AddressError::TooShort {
            len: text.len(),
            min: expected,
        });
    }
    if text.len() > expected {
        return Err(AddressError::TooLong {
            len: text.len(),
            max: expected,
        });
    }

    let values: Vec<u8> = rest
        .bytes()
        .filter_map(|c| ALPHABET.iter().position(|&x| x == c))
        .filter_map(|v| u8::try_from(v).ok())
        .collect();
    let (key_values, checksum_values) = values.split_at(KEY_CHARS.min(values.len()));
    let Some((&first, key_rest)) = key_values.split_first() else {
        return Err(AddressError::BadChecksum);
    };
    if first > 1 {
        return Err(AddressError::NanoKeyStart {
            found: char::from(ALPHABET.get(usize::from(first)).copied().unwrap_or(b'?')),
        });
    }

    // 1 significant bit from the first character, then 51 * 5 = 255: the 256-bit key.
    let mut key = BitPacker::with_capacity(32);
    key.push(first, 1);
    for &v in key_rest {
        key.push(v, 5);
    }
    let mut checksum = BitPacker::with_capacity(5);
    for &v in checksum_values {
        checksum.push(v, 5);
    }
    let (key, _, _) = key.finish();
    let (checksum, _, _) = checksum.finish();

    let mut digest = Blake2b::<U5>::digest(&key);
    digest.reverse();
    if digest[..] != checksum[..] {
        return Err(AddressError::BadChecksum);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDR: &str = "nano_1os1zf6ne5ydfmugdnqhwqbgze3p6f6x4k7fsz7epadknw7fae7qmihkaj8i";

    #[test]
    fn both_prefixes() {
        assert_eq!(validate(ADDR), Ok(()));
        let xrb = ADDR.replacen("nano_", "xrb_", 1);
        assert_eq!(validate(&xrb), Ok(()));
    }

    #[test]
    fn messages() {
        assert_eq!(
            validate(&ADDR.replacen("nano_", "nan_", 1))
                .unwrap_err()
                .to_string(),
            "the address must start with \"nano_\" or \"xrb_\""
        );
        assert_eq!(
            validate(&ADDR.replacen("nano_1", "nano_4", 1))
                .unwrap_err()
                .to_string(),
            "the public key part must start with '1' or '3', not '4'"
        );
        assert_eq!(
            validate(&ADDR[..ADDR.len() - 1]).unwrap_err().to_string(),
            "the address is 64 characters; at least 65"
        );
        assert_eq!(
            validate(&format!("{ADDR}1")).unwrap_err().to_string(),
            "the address is 66 characters; at most 65"
        );
        assert_eq!(
            validate(&ADDR.replacen("nano_1o", "nano_10", 1))
                .unwrap_err()
                .to_string(),
            "not valid Nano base32: '0' (character 7) is not in the Nano base32 alphabet"
        );
        assert_eq!(
            validate(&ADDR.replacen("j8i", "j8j", 1))
                .unwrap_err()
                .to_string(),
            "bad checksum: the address has a typo or is incomplete"
        );
        assert_eq!(
            validate(&ADDR.to_uppercase()),
            Err(AddressError::WrongPrefix {
                expected: "\"nano_\" or \"xrb_\""
            })
        );
    }
}
