//! Property tests: every input parses or errors, and no single-character change of a valid
//! address is accepted.

use aliaskit_domain::opencap::{AddressType, CapAlias};
use proptest::prelude::*;

use crate::all_valid;

/// Characters a mutation may put in: every alphabet in use, both cases, and a few others.
const REPLACEMENTS: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:$.-é€";

/// `s` with its `i`-th character replaced by `c`.
fn replace_char(s: &str, i: usize, c: char) -> String {
    s.chars()
        .enumerate()
        .map(|(j, x)| if j == i { c } else { x })
        .collect()
}

/// Every single-character substitution of every valid address, from a set of replacement
/// characters covering all the alphabets, is refused. Bech32 and CashAddr guarantee this; for
/// base58check and Nano a miss would need a 32- or 40-bit checksum collision.
#[test]
fn every_single_substitution_is_refused() {
    let mut checked = 0;
    for (t, addr) in all_valid() {
        for (i, original) in addr.chars().enumerate() {
            for c in REPLACEMENTS.chars().filter(|&c| c != original) {
                let mutated = replace_char(&addr, i, c);
                assert!(
                    t.validate(&mutated).is_err(),
                    "type {t} accepted {mutated} (from {addr})"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 100_000, "{checked}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn any_string_is_an_alias_or_an_error(s in any::<String>()) {
        let _ = CapAlias::parse(&s);
    }

    #[test]
    fn alias_like_strings_are_aliases_or_errors(s in "[a-zA-Z0-9._$@-]{0,40}") {
        if let Ok(alias) = CapAlias::parse(&s) {
            prop_assert_eq!(alias.as_str(), s.as_str());
        }
    }

    #[test]
    fn any_string_is_an_address_or_an_error(s in any::<String>()) {
        for t in AddressType::ALL {
            let _ = t.validate(&s);
        }
    }

    #[test]
    fn address_like_strings_are_addresses_or_errors(
        s in "(bc1|BC1|bitcoincash:|BITCOINCASH:|nano_|xrb_|PM8T|1|3)?[0-9a-zA-Z]{0,120}"
    ) {
        for t in AddressType::ALL {
            let _ = t.validate(&s);
        }
    }

    #[test]
    fn any_substitution_of_a_valid_address_is_refused(
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        c in any::<char>(),
    ) {
        let all = all_valid();
        let (t, addr) = which.get(&all);
        let i = at.index(addr.chars().count());
        prop_assume!(addr.chars().nth(i) != Some(c));
        let mutated = replace_char(addr, i, c);
        prop_assert!(t.validate(&mutated).is_err(), "type {} accepted {}", t, mutated);
    }

    #[test]
    fn deleting_or_inserting_a_character_is_refused(
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        c in prop::sample::select(REPLACEMENTS.chars().collect::<Vec<_>>()),
        insert in any::<bool>(),
    ) {
        let all = all_valid();
        let (t, addr) = which.get(&all);
        let mut chars: Vec<char> = addr.chars().collect();
        if insert {
            chars.insert(at.index(chars.len() + 1), c);
        } else {
            chars.remove(at.index(chars.len()));
        }
        let mutated: String = chars.into_iter().collect();
        prop_assert!(t.validate(&mutated).is_err(), "type {} accepted {}", t, mutated);
    }
}
