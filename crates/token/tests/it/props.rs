//! Property tests: hostile input never panics and is never accepted.

use aliaskit_domain::UserId;
use aliaskit_token::{Algorithm, Secret};
use proptest::prelude::*;

use crate::*;

fn valid_token(alg: Algorithm) -> String {
    let mut c = aliaskit_domain::AccessClaims::new(crate::alias(), UserId::new("alice").unwrap());
    c.expires_in = Some(600);
    tokens()
        .sign_access(&c, &Secret::from(SECRET), alg)
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_strings_are_refused_without_panic(s in "\\PC{0,400}") {
        prop_assert!(verify(&s).is_err());
    }

    #[test]
    fn token_shaped_strings_are_refused_without_panic(
        h in "[A-Za-z0-9_=+/-]{0,60}", p in "[A-Za-z0-9_=+/-]{0,200}", s in "[A-Za-z0-9_=-]{0,90}"
    ) {
        let token = format!("{h}.{p}.{s}");
        prop_assert!(verify(&token).is_err());
    }

    #[test]
    fn arbitrary_json_with_a_valid_mac_is_checked_without_panic(
        header in "\\{\"alg\":\"HS256\"[ -~]{0,40}\\}", payload in "[ -~]{0,200}"
    ) {
        // Whatever the parser makes of it, nothing panics; anything accepted passed every rule.
        if let Ok(c) = verify(&raw(&header, &payload)) {
            prop_assert_eq!(c.alias.as_str(), ALIAS);
            prop_assert!(c.registered.exp.is_some() || c.expires_in.is_some());
        }
    }

    #[test]
    fn single_byte_mutations_of_a_valid_token_are_refused(
        alg in prop::sample::select(Algorithm::ALL.to_vec()),
        index in any::<prop::sample::Index>(),
        replacement in prop::sample::select(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ é\u{0}".chars().collect::<Vec<_>>()
        ),
    ) {
        let original = valid_token(alg);
        prop_assert!(verify(&original).is_ok());
        let mut chars: Vec<char> = original.chars().collect();
        let i = index.index(chars.len());
        prop_assume!(chars[i] != replacement);
        chars[i] = replacement;
        let mutated: String = chars.into_iter().collect();
        let result = verify(&mutated);
        prop_assert!(result.is_err(), "mutation at {} accepted", i);
        let _ = rejection(&mutated, result);
    }
}
