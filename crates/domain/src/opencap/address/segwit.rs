//! Type 102: segwit addresses, bech32 for witness version 0 (BIP173) and bech32m for versions
//! 1 to 16 (BIP350), on Bitcoin mainnet (`bc1…`).
//!
//! The `bech32` crate computes the checksums and the padding rule; the checks around it are
//! spelled out here so that each failure gets its own message.

use bech32::primitives::decode::{SegwitHrpstringError, UncheckedHrpstring};
use bech32::{Bech32, Bech32m};

use super::{AddressError, BECH32_CHARSET, check_alphabet, is_mixed_case};

/// The human-readable part of mainnet addresses, and the `1` separator.
const PREFIX: &str = "bc1";
/// BIP173's limit on the length of a segwit address.
const MAX_CHARS: usize = 90;
/// `bc1`, a witness version, a 2-byte program (4 characters) and a 6-character checksum.
const MIN_CHARS: usize = 14;
const CHECKSUM_CHARS: usize = 6;

pub(super) fn validate(text: &str) -> Result<(), AddressError> {
    let prefixed = text
        .get(..PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(PREFIX));
    if !prefixed {
        return Err(AddressError::WrongPrefix {
            expected: "\"bc1\" (Bitcoin mainnet)",
        });
    }
    let data = text.get(PREFIX.len()..).unwrap_or_default();
    check_alphabet(data, PREFIX.len(), BECH32_CHARSET, true, "bech32")?;
    // From here on the text is ASCII, so its length in bytes is its length in characters.
    if is_mixed_case(text) {
        return Err(AddressError::MixedCase);
    }
    if text.len() > MAX_CHARS {
        return Err(AddressError::TooLong {
            len: text.len(),
            max: MAX_CHARS,
        });
    }
    // Anything shorter than `MIN_CHARS` is invalid, but a string that still holds a witness
    // version and a checksum goes on, to be refused for its program length.
    if data.len() < 1 + CHECKSUM_CHARS {
        return Err(AddressError::TooShort {
            len: text.len(),
            min: MIN_CHARS,
        });
    }

    let version = data
        .bytes()
        .next()
        .and_then(|c| {
            BECH32_CHARSET
                .iter()
                .position(|&x| x == c.to_ascii_lowercase())
        })
        .and_then(|v| u8::try_from(v).ok())
        .unwrap_or_default();
    if version > 16 {
        return Err(AddressError::WitnessVersion { found: version });
    }

    let unchecked = UncheckedHrpstring::new(text).map_err(|_| AddressError::BadChecksum)?;
    let bech32 = unchecked.has_valid_checksum::<Bech32>();
    let bech32m = unchecked.has_valid_checksum::<Bech32m>();
    let checked = match (version, bech32, bech32m) {
        (0, true, _) => unchecked.remove_checksum::<Bech32>(),
        (1.., _, true) => unchecked.remove_checksum::<Bech32m>(),
        (0, false, true) | (1.., true, false) => {
            return Err(AddressError::ChecksumVariant { version });
        }
        _ => return Err(AddressError::BadChecksum),
    };

    checked.validate_segwit().map(drop).map_err(|e| match e {
        SegwitHrpstringError::Padding(_) => AddressError::Padding,
        SegwitHrpstringError::WitnessLength(_) => AddressError::ProgramLength {
            version,
            // The characters between the witness version and the checksum, as bytes.
            len: text.len().saturating_sub(PREFIX.len() + 1 + CHECKSUM_CHARS) * 5 / 8,
        },
        SegwitHrpstringError::TooLong(len) => AddressError::TooLong {
            len,
            max: MAX_CHARS,
        },
        SegwitHrpstringError::InvalidWitnessVersion(v) => {
            AddressError::WitnessVersion { found: v.to_u8() }
        }
        _ => AddressError::TooShort {
            len: text.len(),
            min: MIN_CHARS,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bech32::primitives::iter::Fe32IterExt;
    use bech32::{Checksum, Fe32, Hrp};
    #[test]
    fn bip350_valid_mainnet_vectors() {
        for addr in [
            "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
            "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
            "BC1SW50QGDZ25J",
            "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
            "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",
        ] {
            assert_eq!(validate(addr), Ok(()), "{addr}");
        }
    }

    #[test]
    fn bip350_invalid_vectors_fail_for_their_stated_reason() {
        use AddressError::*;
        let cases: &[(&str, AddressError)] = &[
            // Invalid human-readable part.
            (
                "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",
                WrongPrefix {
                    expected: "\"bc1\" (Bitcoin mainnet)",
                },
            ),
            // Invalid checksum (bech32 instead of bech32m).
            (
                "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
                ChecksumVariant { version: 1 },
            ),
            (
                "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
                ChecksumVariant { version: 16 },
            ),
            // Invalid checksum (bech32m instead of bech32).
            (
                "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",
                ChecksumVariant { version: 0 },
            ),
            // Invalid character in checksum.
            (
                "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",
                BadCharacter {
                    encoding: "bech32",
                    character: 'o',
                    position: 60,
                },
            ),
            // Invalid witness version.
            (
                "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",
                WitnessVersion { found: 17 },
            ),
            // Invalid program length (1 byte).
            ("bc1pw5dgrnzv", ProgramLength { version: 1, len: 1 }),
            // Invalid program length (41 bytes).
            (
                "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
                ProgramLength {
                    version: 1,
                    len: 41,
                },
            ),
            // Invalid program length for witness version 0 (per BIP141).
            (
                "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",
                ProgramLength {
                    version: 0,
                    len: 16,
                },
            ),
            // Mixed case (BIP350's vector is on testnet; this is it with the mainnet prefix).
            (
                "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",
                MixedCase,
            ),
            // Zero padding of more than 4 bits.
            (
                "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",
                Padding,
            ),
            // Empty data section.
            ("bc1gmk9yu", TooShort { len: 9, min: 14 }),
        ];
        for (addr, expected) in cases {
            assert_eq!(validate(addr).as_ref(), Err(expected), "{addr}");
        }
    }

    /// Encodes 5-bit values (witness version first) as `bc1…` with the checksum `Ck`.
    fn encode<Ck: Checksum>(values: &[u8]) -> String {
        let hrp = Hrp::parse("bc").unwrap();
        let fes = values.iter().map(|&v| Fe32::try_from(v).unwrap());
        fes.with_checksum::<Ck>(&hrp).chars().collect()
    }

    #[test]
    fn padding_rules() {
        // BIP350's "non-zero padding in 8-to-5 conversion" vector is on testnet; the same
        // values with the mainnet prefix: the last of 52 program characters has a low bit set.
        let tb = "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j";
        let values: Vec<u8> = tb[4..tb.len() - 6]
            .bytes()
            .map(|c| BECH32_CHARSET.iter().position(|&x| x == c).unwrap() as u8)
            .collect();
        let mut all = vec![1];
        all.extend(&values);
        assert_eq!(
            validate(&encode::<Bech32m>(&all)),
            Err(AddressError::Padding)
        );
        // Clearing the padding bit makes it valid.
        *all.last_mut().unwrap() &= !1;
        assert_eq!(validate(&encode::<Bech32m>(&all)), Ok(()));
        // Every witness version takes bech32m, and 0 takes bech32, with 2 to 40 bytes.
        assert_eq!(validate(&encode::<Bech32m>(&[16, 0, 0, 0, 0])), Ok(()));
        assert_eq!(validate(&encode::<Bech32>(&[0; 33])), Ok(()));
        assert_eq!(
            validate(&encode::<Bech32>(&[0; 34])),
            Err(AddressError::Padding)
        );
    }

    #[test]
    fn bip173_witness_version_17_is_refused_for_its_version() {
        // BIP173 lists this as "invalid witness version": its bech32 checksum is fine.
        let addr = "BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2";
        assert!(
            UncheckedHrpstring::new(addr)
                .unwrap()
                .has_valid_checksum::<Bech32>()
        );
        assert_eq!(
            validate(addr),
            Err(AddressError::WitnessVersion { found: 17 })
        );
        assert_eq!(
            validate(addr).unwrap_err().to_string(),
            "witness version 17 does not exist; versions go from 0 to 16"
        );
    }

    #[test]
    fn messages() {
        assert_eq!(
            validate("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5")
                .unwrap_err()
                .to_string(),
            "bad checksum: the address has a typo or is incomplete"
        );
        assert_eq!(
            validate("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd")
                .unwrap_err()
                .to_string(),
            "witness version 1 must use the bech32m checksum (BIP350), but this address uses bech32"
        );
        assert_eq!(
            validate("bc1pw5dgrnzv").unwrap_err().to_string(),
            "a witness version 1 program cannot be 1 byte; it takes 2 to 40"
        );
        assert_eq!(
            validate("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx")
                .unwrap_err()
                .to_string(),
            "the address must start with \"bc1\" (Bitcoin mainnet)"
        );
    }
}
