//! Integration tests of aliaskit-domain: one module per concern, one test binary.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test, with its location"
)]

mod fuzz;
mod opencap_messages;
mod opencap_props;
mod opencap_vectors;

use aliaskit_domain::opencap::AddressType;
use serde_json::Value;

/// `vectors/opencap.json`, copied from the shared vectors so that a fresh clone tests alone.
const OPENCAP_JSON: &str = include_str!("vectors/opencap.json");

/// The OpenCAP vector file, parsed.
fn opencap_vectors() -> Value {
    serde_json::from_str(OPENCAP_JSON).unwrap()
}

/// The strings of `value[key]`, which must be an array of strings.
fn strings(value: &Value, key: &str) -> Vec<String> {
    value[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// Valid addresses that the shared file does not list: legacy Bitcoin Cash (the CashAddr
/// specification's examples, in their legacy form), more BIP350 and BIP47 vectors.
const EXTRA_VALID: &[(AddressType, &str)] = &[
    (
        AddressType::BitcoinP2pkh,
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
    ),
    (
        AddressType::BitcoinCashP2pkh,
        "1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggu",
    ),
    (
        AddressType::BitcoinCashP2pkh,
        "1KXrWXciRDZUpQwQmuM1DbwsKDLYAYsVLR",
    ),
    (
        AddressType::BitcoinCashP2pkh,
        "16w1D5WRVKJuZUsSRzdLp9w3YGcgoxDXb",
    ),
    (
        AddressType::BitcoinCashP2sh,
        "3CWFddi6m4ndiGyKqzYvsFYagqDLPVMTzC",
    ),
    (
        AddressType::BitcoinCashP2sh,
        "3LDsS579y7sruadqu11beEJoTjdFiFCdX4",
    ),
    (
        AddressType::BitcoinCashP2sh,
        "31nwvkZwyPdgzjBJZXfDmSWsC4ZLKpYyUw",
    ),
    // Taproot (witness v1, bech32m), from BIP86 and BIP350.
    (
        AddressType::BitcoinSegwit,
        "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",
    ),
    (
        AddressType::BitcoinSegwit,
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
    ),
    // All upper case is accepted (BIP173 allows it, for QR codes).
    (
        AddressType::BitcoinSegwit,
        "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
    ),
    // A 32-byte witness v0 program (P2WSH), from BIP173.
    (
        AddressType::BitcoinSegwit,
        "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
    ),
    // BIP47's test payment codes (Alice, Bob).
    (
        AddressType::Bip47PaymentCode,
        "PM8TJTLJbPRGxSbc8EJi42Wrr6QbNSaSSVJ5Y3E4pbCYiTHUskHg13935Ubb7q8tx9GVbh2UuRnBc3WSyJHhUrw8KhprKnn9eDznYGieTzFcwQRya4GA",
    ),
    (
        AddressType::Bip47PaymentCode,
        "PM8TJS2JxQ5ztXUpBBRnpTbcUXbUHy2T1abfrb3KkAAtMEGNbey4oumH7Hc578WgQJhPjBxteQ5GHHToTYHE3A1w6p7tU6KSoFmWBVbFGjKPisZDbP97",
    ),
    // All upper case CashAddr is accepted (the specification allows it).
    (
        AddressType::CashAddr,
        "BITCOINCASH:QPM2QSZNHKS23Z7629MMS6S4CWEF74VCWVY22GDX6A",
    ),
];

/// Every valid address we know of: the shared file's and [`EXTRA_VALID`].
fn all_valid() -> Vec<(AddressType, String)> {
    let vectors = opencap_vectors();
    let mut all = Vec::new();
    for (code, sets) in vectors["addresses"].as_object().unwrap() {
        let t: AddressType = code.parse().unwrap();
        all.extend(strings(sets, "valid").into_iter().map(|a| (t, a)));
    }
    all.extend(EXTRA_VALID.iter().map(|&(t, a)| (t, a.to_owned())));
    all
}
