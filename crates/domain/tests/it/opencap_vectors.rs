//! Every vector of `vectors/opencap.json`, plus our own.

use aliaskit_domain::opencap::{Address, AddressType, CapAlias};

use crate::{EXTRA_VALID, all_valid, opencap_vectors, strings};

#[test]
fn valid_aliases_parse() {
    let vectors = opencap_vectors();
    let valid = strings(&vectors["aliases"], "valid");
    assert!(!valid.is_empty());
    for alias in valid {
        let parsed = CapAlias::parse(&alias).unwrap_or_else(|e| panic!("{alias}: {e}"));
        assert_eq!(parsed.to_string(), alias);
        let (user, domain) = alias.split_once('$').unwrap();
        assert_eq!((parsed.username(), parsed.domain()), (user, domain));
    }
}

#[test]
fn invalid_aliases_error() {
    let vectors = opencap_vectors();
    let invalid = strings(&vectors["aliases"], "invalid");
    assert!(!invalid.is_empty());
    for alias in invalid {
        let err = CapAlias::parse(&alias).expect_err(&alias);
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn every_address_type_has_vectors() {
    let vectors = opencap_vectors();
    let mut covered: Vec<AddressType> = vectors["addresses"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.parse().unwrap())
        .chain(EXTRA_VALID.iter().map(|(t, _)| *t))
        .collect();
    covered.sort();
    covered.dedup();
    assert_eq!(covered, AddressType::ALL);
}

#[test]
fn valid_addresses_validate() {
    let all = all_valid();
    assert!(all.len() >= 30);
    for (t, addr) in all {
        if let Err(e) = t.validate(&addr) {
            panic!("type {t}, {addr}: {e}");
        }
        let address = Address::new(t, addr.clone()).unwrap();
        assert_eq!(
            (address.address_type(), address.as_str()),
            (t, addr.as_str())
        );
    }
}

#[test]
fn invalid_addresses_error() {
    let vectors = opencap_vectors();
    let mut count = 0;
    for (code, sets) in vectors["addresses"].as_object().unwrap() {
        let t: AddressType = code.parse().unwrap();
        for addr in strings(sets, "invalid") {
            let err = t
                .validate(&addr)
                .expect_err(&format!("type {t} accepted {addr}"));
            assert!(Address::new(t, addr.as_str()).is_err());
            assert!(!err.to_string().is_empty());
            count += 1;
        }
    }
    assert!(count >= 20);
}

/// A valid address of one type is refused as any other type, except where two types share
/// an encoding (legacy Bitcoin and Bitcoin Cash).
#[test]
fn addresses_are_refused_under_other_types() {
    let same_encoding = |a: AddressType, b: AddressType| {
        use AddressType::*;
        a == b
            || matches!(
                (a, b),
                (BitcoinP2pkh, BitcoinCashP2pkh)
                    | (BitcoinCashP2pkh, BitcoinP2pkh)
                    | (BitcoinP2sh, BitcoinCashP2sh)
                    | (BitcoinCashP2sh, BitcoinP2sh)
            )
    };
    for (t, addr) in all_valid() {
        for other in AddressType::ALL {
            let result = other.validate(&addr);
            assert_eq!(
                result.is_ok(),
                same_encoding(t, other),
                "{addr} (type {t}) as type {other}: {result:?}"
            );
        }
    }
}
