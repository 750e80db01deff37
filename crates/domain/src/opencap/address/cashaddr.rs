//! Type 202: CashAddr, Bitcoin Cash's base32 address format with a 40-bit BCH checksum.
//!
//! `bitcoincash:` + base32(version byte ‖ hash) + 8 checksum characters. The checksum covers
//! the prefix too, each of its characters reduced to its low 5 bits, then a zero for the `:`.
//! The version byte holds the address type in bits 3–7 (0 = P2PKH, 1 = P2SH) and the hash
//! size in bits 0–2.

use super::{AddressError, BECH32_CHARSET, BitPacker, check_alphabet, is_mixed_case};

const PREFIX: &str = "bitcoincash";
const CHECKSUM_CHARS: usize = 8;
/// A version byte and a 160-bit hash take 34 characters, plus the checksum.
const MIN_PAYLOAD_CHARS: usize = 34 + CHECKSUM_CHARS;
/// Hash sizes in bytes, indexed by the low 3 bits of the version byte.
const HASH_BYTES: [usize; 8] = [20, 24, 28, 32, 40, 48, 56, 64];

pub(super) fn validate(text: &str) -> Result<(), AddressError> {
    // The prefix may be omitted where the network is clear from context, but an address
    // stored for others to pay to must say which network it is for.
    let prefix_ok = text
        .split_once(':')
        .filter(|(prefix, _)| prefix.eq_ignore_ascii_case(PREFIX));
    let Some((prefix, payload)) = prefix_ok else {
        return Err(AddressError::WrongPrefix {
            expected: "\"bitcoincash:\"",
        });
    };
    check_alphabet(payload, prefix.len() + 1, BECH32_CHARSET, true, "CashAddr")?;
    // From here on the text is ASCII.
    if is_mixed_case(text) {
        return Err(AddressError::MixedCase);
    }
    if payload.len() < MIN_PAYLOAD_CHARS {
        return Err(AddressError::TooShort {
            len: text.len(),
            min: PREFIX.len() + 1 + MIN_PAYLOAD_CHARS,
        });
    }

    let values: Vec<u8> = payload
        .bytes()
        .filter_map(|c| {
            BECH32_CHARSET
                .iter()
                .position(|&x| x == c.to_ascii_lowercase())
        })
        .filter_map(|v| u8::try_from(v).ok())
        .collect();
    let prefix_values = PREFIX.bytes().map(|b| b & 0x1f);
    let checked = prefix_values.chain([0]).chain(values.iter().copied());
    if values.len() != payload.len() || polymod(checked) != 0 {
        return Err(AddressError::BadChecksum);
    }

    let data = values
        .get(..values.len().saturating_sub(CHECKSUM_CHARS))
        .unwrap_or_default();
    let mut packer = BitPacker::with_capacity(data.len() * 5 / 8);
    for &v in data {
        packer.push(v, 5);
    }
    let (bytes, leftover_bits, leftover) = packer.finish();
    if leftover_bits >= 5 || leftover != 0 {
        return Err(AddressError::Padding);
    }
    let Some((&version, hash)) = bytes.split_first() else {
        return Err(AddressError::Padding);
    };
    let kind = version >> 3;
    if kind > 1 {
        return Err(AddressError::CashAddrType { found: kind });
    }
    let declared = HASH_BYTES
        .get(usize::from(version & 0x07))
        .copied()
        .unwrap_or_default();
    if hash.len() != declared {
        return Err(AddressError::HashSize {
            declared,
            found: hash.len(),
        });
    }
    Ok(())
}

/// The CashAddr checksum function over 5-bit values; a valid address gives 0.
fn polymod(values: impl IntoIterator<Item = u8>) -> u64 {
    const GENERATORS: [u64; 5] = [
        0x98_f2bc_8e61,
        0x79_b76d_99e2,
        0xf3_3e5f_b3c4,
        0xae_2eab_e2a8,
        0x1e_4f43_e470,
    ];
    let mut c: u64 = 1;
    for d in values {
        let c0 = c >> 35;
        c = ((c & 0x07_ffff_ffff) << 5) ^ u64::from(d);
        for (i, g) in GENERATORS.iter().enumerate() {
            if (c0 >> i) & 1 == 1 {
                c ^= g;
            }
        }
    }
    c ^ 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes a payload (version byte ‖ hash) as a CashAddr address.
    pub(crate) fn encode(bytes: &[u8]) -> String {
        let mut values = Vec::new();
        let mut acc = 0u32;
        let mut bits = 0;
        for &b in bytes {
            acc = (acc << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                values.push(((acc >> bits) & 31) as u8);
            }
            acc &= (1 << bits) - 1;
        }
        if bits > 0 {
            values.push(((acc << (5 - bits)) & 31) as u8);
        }
        let prefix = PREFIX.bytes().map(|b| b & 0x1f);
        let sum = polymod(
            prefix
                .chain([0])
                .chain(values.iter().copied())
                .chain([0; 8]),
        );
        for i in 0..8 {
            values.push(((sum >> (5 * (7 - i))) & 31) as u8);
        }
        let payload: String = values
            .iter()
            .map(|&v| BECH32_CHARSET[v as usize] as char)
            .collect();
        format!("{PREFIX}:{payload}")
    }

    #[test]
    fn encoder_matches_the_spec_vectors() {
        // The spec's 160-bit P2PKH example: hash F5BF48B397DAE70BE82B3CCA4793F8EB2B6CDAC9.
        let mut bytes = vec![0x00];
        bytes.extend_from_slice(&[
            0xF5, 0xBF, 0x48, 0xB3, 0x97, 0xDA, 0xE7, 0x0B, 0xE8, 0x2B, 0x3C, 0xCA, 0x47, 0x93,
            0xF8, 0xEB, 0x2B, 0x6C, 0xDA, 0xC9,
        ]);
        assert_eq!(
            encode(&bytes),
            "bitcoincash:qr6m7j9njldwwzlg9v7v53unlr4jkmx6eylep8ekg2"
        );
        assert_eq!(validate(&encode(&bytes)), Ok(()));
    }

    #[test]
    fn every_hash_size_and_both_types() {
        for (bits, &size) in HASH_BYTES.iter().enumerate() {
            for kind in [0u8, 1] {
                let mut bytes = vec![(kind << 3) | bits as u8];
                bytes.extend(std::iter::repeat_n(0xab, size));
                let addr = encode(&bytes);
                assert_eq!(validate(&addr), Ok(()), "{addr}");
                assert_eq!(validate(&addr.to_uppercase()), Ok(()), "{addr}");
                assert!(addr.len() <= 124);
            }
        }
    }

    #[test]
    fn wrong_type_size_and_prefix() {
        let mut bytes = vec![2 << 3];
        bytes.extend([0; 20]);
        assert_eq!(
            validate(&encode(&bytes)).unwrap_err().to_string(),
            "CashAddr type 2 is not supported; type 202 takes 0 (P2PKH) or 1 (P2SH)"
        );
        let mut bytes = vec![0x01];
        bytes.extend([0; 20]);
        assert_eq!(
            validate(&encode(&bytes)).unwrap_err().to_string(),
            "the version byte declares a 24-byte hash, but the address holds 20 bytes"
        );
        let addr = "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a";
        let bare = addr.trim_start_matches("bitcoincash:");
        assert_eq!(
            validate(bare).unwrap_err().to_string(),
            "the address must start with \"bitcoincash:\""
        );
        assert_eq!(
            validate(&format!("bchtest:{bare}"))
                .unwrap_err()
                .to_string(),
            "the address must start with \"bitcoincash:\""
        );
        assert_eq!(
            validate(&format!("BITCOINCASH:{bare}")),
            Err(AddressError::MixedCase)
        );
        assert_eq!(validate(&addr.to_uppercase()), Ok(()));
        assert_eq!(
            validate("bitcoincash:").unwrap_err().to_string(),
            "the address is 12 characters; at least 54"
        );
        assert_eq!(
            validate("bitcoincash:1KXrWXciRDZUpQwQmuM1DbwsKDLYAYsVLR")
                .unwrap_err()
                .to_string(),
            "not valid CashAddr: '1' (character 13) is not in the CashAddr alphabet"
        );
    }
}
