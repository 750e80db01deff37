//! Long property runs over the OpenCAP parsers (issue 5, part 4), beyond `opencap_props`:
//! `CapAlias::parse` and `AddressType::from_str` against oracles written here from the
//! documented rules, several edits at once of every valid address, case flips, strings in each
//! type's own alphabet and length (so they reach the checksum code), and — exhaustively —
//! adjacent transpositions and every valid address tried as every other type.
//!
//! Case counts are sized for the debug test run; `ALIASKIT_LONG_FUZZ=1` runs 50 times as many
//! (see docs/security.md).

use aliaskit_domain::opencap::{AddressType, CapAlias};
use proptest::prelude::*;

use crate::all_valid;
use aliaskit_domain::testing::config;

/// The alias syntax of docs/opencap.md, written independently of the parser: a username of
/// 1–25 of `[a-z0-9._-]`, one `$`, and a domain of at most 253 characters made of at least two
/// dot-separated labels of 1–63 of `[a-z0-9-]`, none starting or ending with `-`, the last one
/// alphabetic and at least 2 long.
fn alias_oracle(s: &str) -> bool {
    let mut parts = s.split('$');
    let (Some(user), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let user_ok = (1..=25).contains(&user.len())
        && user
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let tld_ok = labels
        .last()
        .is_some_and(|t| t.len() >= 2 && t.bytes().all(|b| b.is_ascii_lowercase()));
    user_ok && domain.len() <= 253 && labels.len() >= 2 && labels.iter().all(label_ok) && tld_ok
}

/// Alias-like text: usernames and labels from the allowed characters and their near misses.
fn alias_like() -> impl Strategy<Value = String> {
    let user = prop_oneof![
        8 => "[a-z0-9._-]{1,25}",
        1 => "[a-z0-9._-]{26,30}",
        1 => "[a-zA-Z0-9._\\-$@ éİıK\u{212A}\u{0}+]{0,27}",
    ];
    let label = prop_oneof![
        8 => "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?",
        2 => "[a-z]{50,64}",
        1 => "[a-z0-9-]{0,70}",
        1 => "[a-zA-Z0-9_\\-é.$ ]{0,8}",
    ];
    let tld = prop_oneof![
        8 => "[a-z]{2,8}",
        1 => "[a-z0-9-]{0,3}",
        1 => "[A-Za-z0-9é]{1,4}",
    ];
    (
        user,
        prop::collection::vec(label, 0..8),
        tld,
        prop_oneof![12 => Just("$"), 1 => prop::sample::select(vec!["$$", "", "%24", "@"])],
        prop_oneof![12 => Just(""), 1 => prop::sample::select(vec![".", " ", "\n", "\u{0}"])],
    )
        .prop_map(|(user, mut labels, tld, dollar, tail)| {
            labels.push(tld);
            format!("{user}{dollar}{}{tail}", labels.join("."))
        })
}

/// The decimal codes of the address types, as `?address_type=` takes them: ASCII digits only
/// (leading zeros allowed), one of the eight codes.
fn address_type_oracle(s: &str) -> Option<u16> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = s.trim_start_matches('0');
    if digits.len() > 5 {
        return None;
    }
    let n: u32 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    AddressType::ALL
        .into_iter()
        .map(AddressType::code)
        .find(|&c| u32::from(c) == n)
}

/// `s` with the characters at the given positions replaced.
fn replace_at(s: &str, edits: &[(usize, char)]) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    for &(i, c) in edits {
        chars[i] = c;
    }
    chars.into_iter().collect()
}

/// Characters that appear in some address alphabet, in both cases, and a few that appear in
/// none.
const ALPHABETS: &str =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:$.- é\u{0}";

/// A type's own alphabet, prefix and length range, so random text gets past the length and
/// alphabet checks into the checksum code.
fn in_alphabet(t: AddressType) -> BoxedStrategy<String> {
    const BASE58: &str = "[1-9A-HJ-NP-Za-km-z]";
    const BECH32: &str = "[qpzry9x8gf2tvdw0s3jn54khce6mua7l]";
    const NANO: &str = "[13456789abcdefghijkmnopqrstuwxyz]";
    let pattern = match t {
        AddressType::BitcoinP2pkh
        | AddressType::BitcoinCashP2pkh
        | AddressType::BitcoinP2sh
        | AddressType::BitcoinCashP2sh => format!("[13]{BASE58}{{24,35}}"),
        AddressType::Bip47PaymentCode => format!("PM8T{BASE58}{{100,112}}"),
        AddressType::BitcoinSegwit => format!("bc1[qp]{BECH32}{{6,90}}"),
        AddressType::CashAddr => format!("bitcoincash:[qp]{BECH32}{{38,112}}"),
        AddressType::Nano => format!("(nano_|xrb_)[13]{NANO}{{58,60}}"),
    };
    proptest::string::string_regex(&pattern).unwrap().boxed()
}

proptest! {
    #![proptest_config(config(4000))]

    #[test]
    fn alias_like_text_parses_exactly_when_the_documented_rules_hold(s in alias_like()) {
        let parsed = CapAlias::parse(&s);
        prop_assert_eq!(parsed.is_ok(), alias_oracle(&s), "{:?}: {:?}", s, parsed);
        if let Ok(alias) = parsed {
            prop_assert_eq!(format!("{}${}", alias.username(), alias.domain()), s);
        }
    }

    #[test]
    fn any_text_parses_as_an_alias_exactly_when_the_documented_rules_hold(s in any::<String>()) {
        prop_assert_eq!(CapAlias::parse(&s).is_ok(), alias_oracle(&s), "{:?}", s);
    }

    #[test]
    fn address_type_numbers_parse_exactly_as_documented(
        s in prop_oneof![
            "[0-9]{0,8}",
            "0*(100|101|102|103|200|201|202|300)",
            "[ +\\-0-9a-fx.e]{0,6}",
            any::<String>(),
        ],
    ) {
        let parsed = s.parse::<AddressType>().ok().map(AddressType::code);
        prop_assert_eq!(parsed, address_type_oracle(&s), "{:?}", s);
    }
}

proptest! {
    #![proptest_config(config(3000))]

    /// Two to four characters of a valid address changed at once are refused.
    #[test]
    fn several_substitutions_of_a_valid_address_are_refused(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec(
            (any::<prop::sample::Index>(), prop::sample::select(ALPHABETS.chars().collect::<Vec<_>>())),
            2..5,
        ),
    ) {
        let all = all_valid();
        let (t, addr) = which.get(&all);
        let n = addr.chars().count();
        let edits: Vec<(usize, char)> = edits.iter().map(|(i, c)| (i.index(n), *c)).collect();
        let mutated = replace_at(addr, &edits);
        prop_assume!(mutated != *addr);
        prop_assert!(t.validate(&mutated).is_err(), "type {} accepted {} (from {})", t, mutated, addr);
    }

    /// A letter of a valid address in the other case is refused (bech32 and CashAddr refuse
    /// mixed case; base58 and Nano read another value).
    #[test]
    fn a_case_flip_in_a_valid_address_is_refused(
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
    ) {
        let all = all_valid();
        let (t, addr) = which.get(&all);
        let letters: Vec<usize> = addr
            .char_indices()
            .filter(|(_, c)| c.is_ascii_alphabetic())
            .map(|(i, _)| i)
            .collect();
        let i = letters[at.index(letters.len())];
        let mut bytes = addr.clone().into_bytes();
        bytes[i] ^= 0x20;
        let mutated = String::from_utf8(bytes).unwrap();
        // Bech32 and CashAddr accept an address all in upper case, never a mix; every address
        // has more than one letter, so one flipped letter always makes a mix.
        prop_assert!(t.validate(&mutated).is_err(), "type {} accepted {} (from {})", t, mutated, addr);
    }

    /// A valid address with text around it, or twice, is refused.
    #[test]
    fn a_valid_address_with_anything_around_it_is_refused(
        which in any::<prop::sample::Index>(),
        before in "[ -~é\u{0}\u{feff}]{0,3}",
        after in "[ -~é\u{0}\u{feff}]{0,3}",
        twice in any::<bool>(),
    ) {
        let all = all_valid();
        let (t, addr) = which.get(&all);
        let text = if twice { format!("{before}{addr}{addr}{after}") } else { format!("{before}{addr}{after}") };
        prop_assume!(text != *addr);
        prop_assert!(t.validate(&text).is_err(), "type {} accepted {:?}", t, text);
    }

    /// Random text in each type's own alphabet and lengths reaches the checksum code; it must
    /// never panic. (A random string passes a 32-bit checksum once in four billion tries, so
    /// refusal is not asserted here.)
    #[test]
    fn text_in_each_types_alphabet_is_an_address_or_an_error(
        (_, s) in prop::sample::select(AddressType::ALL.to_vec())
            .prop_flat_map(|t| (Just(t), in_alphabet(t))),
    ) {
        for t in AddressType::ALL {
            let _ = t.validate(&s);
        }
    }
}

/// Swapping two adjacent, different characters of any valid address is refused (the typo
/// every checksum here is meant to catch).
#[test]
fn every_adjacent_transposition_of_a_valid_address_is_refused() {
    let mut checked = 0;
    for (t, addr) in all_valid() {
        let chars: Vec<char> = addr.chars().collect();
        for i in 0..chars.len() - 1 {
            if chars[i] == chars[i + 1] {
                continue;
            }
            let mut swapped = chars.clone();
            swapped.swap(i, i + 1);
            let swapped: String = swapped.into_iter().collect();
            assert!(
                t.validate(&swapped).is_err(),
                "type {t} accepted {swapped} (from {addr})"
            );
            checked += 1;
        }
    }
    assert!(checked > 1_000, "{checked}");
}

/// A valid address of one type is refused as any other type, except Bitcoin Cash legacy and
/// Bitcoin legacy, which are the same format (`docs/opencap.md`: "encoded like 100/101").
#[test]
fn a_valid_address_is_refused_as_every_other_type() {
    let same_format = |a: AddressType, b: AddressType| {
        let legacy = |t| match t {
            AddressType::BitcoinP2pkh | AddressType::BitcoinCashP2pkh => Some(0),
            AddressType::BitcoinP2sh | AddressType::BitcoinCashP2sh => Some(5),
            _ => None,
        };
        a == b || (legacy(a).is_some() && legacy(a) == legacy(b))
    };
    for (t, addr) in all_valid() {
        for other in AddressType::ALL {
            assert_eq!(
                other.validate(&addr).is_ok(),
                same_format(t, other),
                "{addr} (type {t}) as type {other}"
            );
        }
    }
}
