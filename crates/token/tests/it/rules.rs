//! `docs/security.md`, rule by rule: each has an accepted and a refused side, and the refusal's code and
//! message are what a client would see.

use std::time::Duration;

use aliaskit_token::{Algorithm, Expect, Policy, Secret};
use serde_json::json;

use crate::*;

fn refused(token: &str) -> String {
    rejection(token, verify(token))
}

fn refused_by(policy: Policy, token: &str) -> String {
    rejection(token, verify_with(&tokens_with(policy), token))
}

// Rule 1: size, shape, base64url, `crit`.

#[test]
fn rule1_tokens_up_to_8_kib_are_read_and_longer_ones_refused() {
    let pad = |n: usize| claims_with(json!({"pad": "x".repeat(n)}));
    let base = token(pad(0)).len();
    let at_limit = token(pad((8192 - base) * 3 / 4));
    assert!(
        at_limit.len() <= 8192 && at_limit.len() > 8100,
        "{}",
        at_limit.len()
    );
    assert!(verify(&at_limit).is_ok());

    let over = token(pad(6200));
    assert_eq!(
        refused(&over),
        format!(
            "malformed_token: malformed token: the token is {} bytes; the limit is 8192",
            over.len()
        )
    );
}

#[test]
fn rule1_a_token_has_exactly_three_base64url_segments() {
    let good = token(good_claims());
    let (h, rest) = good.split_once('.').unwrap();
    assert_eq!(
        refused(&format!("{h}.{}", rest.split_once('.').unwrap().0)),
        "malformed_token: malformed token: a JWT has 3 segments separated by '.', this one has 2"
    );
    assert_eq!(
        refused(&format!("{good}.x")),
        "malformed_token: malformed token: a JWT has 3 segments separated by '.', this one has 4"
    );
    assert!(refused(&format!("{h}.a.b.c.d")).contains("encrypted tokens (JWE, 5 segments)"));
    assert_eq!(
        refused(""),
        "malformed_token: malformed token: the token is empty"
    );
    assert!(refused(&format!("{good}=")).contains("the signature is not unpadded base64url"));
    assert!(refused(&good.replacen('e', "+", 1)).contains("the header is not unpadded base64url"));
}

#[test]
fn rule1_non_canonical_base64_is_refused() {
    // An HS256 MAC is 32 bytes: 43 characters whose last one carries 2 unused bits. Setting
    // them gives another spelling of the same bytes, which must not pass.
    let good = token(good_claims());
    let last = good.chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let idx = alphabet.find(last).unwrap();
    let twin = alphabet
        .chars()
        .nth(idx | 1)
        .filter(|&c| c != last)
        .unwrap_or(alphabet.chars().nth(idx | 2).unwrap());
    let mut noncanonical = good.clone();
    noncanonical.pop();
    noncanonical.push(twin);
    assert!(
        refused(&noncanonical).starts_with(
            "malformed_token: malformed token: the signature is not unpadded base64url"
        )
    );
}

#[test]
fn rule1_crit_is_refused_even_with_a_valid_mac() {
    let t = raw(
        r#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
        &good_claims().to_string(),
    );
    assert_eq!(
        refused(&t),
        "malformed_token: malformed token: the header has `crit`; no critical header extensions are supported"
    );
}

// Rule 2: algorithms, `typ`, untrusted key references.

#[test]
fn rule2_none_is_refused_in_every_spelling() {
    let payload = b64(good_claims().to_string().as_bytes());
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#).as_bytes());
        for sig in ["", "AAAA"] {
            let t = format!("{header}.{payload}.{sig}");
            assert_eq!(
                refused(&t),
                format!(
                    "unsupported_algorithm: unsupported algorithm \"{alg}\": allowed are HS256, HS384, HS512"
                )
            );
        }
    }
}

#[test]
fn rule2_only_allowed_hmac_algorithms_pass() {
    for alg in Algorithm::ALL {
        let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
        let t = raw_with(alg, SECRET.as_bytes(), &header, &good_claims().to_string());
        assert!(verify(&t).is_ok(), "{alg}");
    }
    for alg in ["RS256", "ES256", "PS256", "EdDSA", "hs256", "HS256 ", ""] {
        let t = raw(&format!(r#"{{"alg":"{alg}"}}"#), &good_claims().to_string());
        assert!(refused(&t).starts_with("unsupported_algorithm: "), "{alg}");
    }
    let t = raw(r#"{"alg":7}"#, &good_claims().to_string());
    assert_eq!(
        refused(&t),
        "malformed_token: malformed token: header `alg` must be a string"
    );
    let t = raw(r#"{"typ":"JWT"}"#, &good_claims().to_string());
    assert_eq!(
        refused(&t),
        "malformed_token: malformed token: the header has no `alg`"
    );

    let hs512 = raw_with(
        Algorithm::HS512,
        SECRET.as_bytes(),
        r#"{"alg":"HS512"}"#,
        &good_claims().to_string(),
    );
    let only_256 = Policy {
        algorithms: vec![Algorithm::HS256],
        ..Policy::default()
    };
    assert_eq!(
        refused_by(only_256, &hs512),
        "unsupported_algorithm: unsupported algorithm \"HS512\": allowed are HS256"
    );
}

#[test]
fn rule2_a_header_alg_that_differs_from_the_signing_alg_is_a_bad_signature() {
    // Signed with HS256, labelled HS512: the labelled algorithm is the one checked.
    let t = raw_with(
        Algorithm::HS256,
        SECRET.as_bytes(),
        r#"{"alg":"HS512"}"#,
        &good_claims().to_string(),
    );
    assert_eq!(
        refused(&t),
        "bad_signature: bad signature: the token was not signed with the alias's secret"
    );
}

#[test]
fn rule2_typ_is_jwt_in_any_case_or_absent() {
    for typ in [r#","typ":"JWT""#, r#","typ":"jwt""#, ""] {
        let t = raw(
            &format!(r#"{{"alg":"HS256"{typ}}}"#),
            &good_claims().to_string(),
        );
        assert!(verify(&t).is_ok(), "{typ}");
    }
    for typ in [r#""JOSE""#, r#""at+jwt""#, "1"] {
        let t = raw(
            &format!(r#"{{"alg":"HS256","typ":{typ}}}"#),
            &good_claims().to_string(),
        );
        assert_eq!(
            refused(&t),
            "malformed_token: malformed token: header `typ` must be \"JWT\" when present"
        );
    }
}

#[test]
fn rule2_kid_jku_x5u_jwk_are_never_followed() {
    // A header pointing at attacker-controlled keys changes nothing: the alias's secret decides.
    let header = r#"{"alg":"HS256","kid":"../../etc/passwd","jku":"http://attacker.invalid/k","x5u":"http://attacker.invalid/c","jwk":{"kty":"oct","k":"YXR0YWNrZXI"}}"#;
    assert!(verify(&raw(header, &good_claims().to_string())).is_ok());
    let attacker = raw_with(
        Algorithm::HS256,
        b"attacker",
        header,
        &good_claims().to_string(),
    );
    assert_eq!(
        refused(&attacker),
        "bad_signature: bad signature: the token was not signed with the alias's secret"
    );
}

// Rule 3: the MAC.

#[test]
fn rule3_the_mac_must_match_one_candidate_secret() {
    let t = token(good_claims());
    let other = Secret::from("ffffffffffffffffffffffffffffffff");
    let current = Secret::from(SECRET);
    let alias = crate::alias();
    let tokens = tokens();

    assert_eq!(
        tokens
            .verify_access(&t, &Expect::new(&alias, &[&other]))
            .unwrap_err()
            .code(),
        "bad_signature"
    );
    // During a rotation the previous secret is a second candidate.
    assert!(
        tokens
            .verify_access(&t, &Expect::new(&alias, &[&other, &current]))
            .is_ok()
    );
    assert_eq!(
        tokens
            .verify_access(&t, &Expect::new(&alias, &[]))
            .unwrap_err()
            .code(),
        "bad_signature"
    );

    let truncated = &t[..t.len() - 4];
    assert_eq!(
        refused(truncated),
        "bad_signature: bad signature: the token was not signed with the alias's secret"
    );
}

#[test]
fn rule3_secrets_shorter_than_the_policy_minimum_are_refused() {
    let short = Secret::from("x".repeat(31));
    let t = raw_with(
        Algorithm::HS256,
        short.expose(),
        r#"{"alg":"HS256"}"#,
        &good_claims().to_string(),
    );
    let alias = crate::alias();
    let err = tokens()
        .verify_access(&t, &Expect::new(&alias, &[&short]))
        .unwrap_err();
    assert_eq!(
        format!("{}: {err}", err.code()),
        "secret_too_short: the secret is 31 bytes; at least 32 are required (RFC 7518 §3.2 asks for as many bytes as the hash output)"
    );
    let lowered = tokens_with(Policy {
        min_secret_bytes: 31,
        ..Policy::default()
    });
    assert!(
        lowered
            .verify_access(&t, &Expect::new(&alias, &[&short]))
            .is_ok()
    );
}

// Rule 4: the payload and its claim types.

#[test]
fn rule4_duplicate_members_are_refused_in_header_and_payload() {
    let t = raw(
        r#"{"alg":"HS256","alg":"none"}"#,
        &good_claims().to_string(),
    );
    assert!(refused(&t).starts_with("malformed_token: malformed token: the header is not valid JSON: member \"alg\" appears twice"));
    let payload = format!(
        r#"{{"alias":"{ALIAS}","user_id":"alice","exp":{},"exp":{}}}"#,
        NOW + 60,
        NOW + 9_999_999
    );
    assert!(refused(&raw(r#"{"alg":"HS256"}"#, &payload)).starts_with("malformed_token: malformed token: the payload is not valid JSON: member \"exp\" appears twice"));
}

#[test]
fn rule4_the_payload_is_a_json_object() {
    for payload in ["[]", "\"x\"", "", "{", "nul"] {
        assert!(
            refused(&raw(r#"{"alg":"HS256"}"#, payload))
                .starts_with("malformed_token: malformed token: the payload is not"),
            "{payload}"
        );
    }
}

#[test]
fn rule4_alias_must_be_present_and_match_the_path() {
    assert_eq!(
        refused(&token(claims_with(json!({"alias": null})))),
        "invalid_claims: invalid claims: claim `alias` is missing"
    );
    assert_eq!(
        refused(&token(claims_with(json!({"alias": "room-2"})))),
        "alias_mismatch: the token is for alias \"room-2\", not for \"room-1\""
    );
    assert!(
        refused(&token(claims_with(json!({"alias": ["room-1"]}))))
            .starts_with("invalid_claims: invalid claims: claim `alias` must be a string")
    );
}

#[test]
fn rule4_user_id_is_a_non_empty_string_of_at_most_256_bytes() {
    assert!(verify(&token(claims_with(json!({"user_id": "u".repeat(256)})))).is_ok());
    assert_eq!(
        refused(&token(claims_with(json!({"user_id": null})))),
        "invalid_claims: invalid claims: claim `user_id` is missing"
    );
    assert_eq!(
        refused(&token(claims_with(json!({"user_id": ""})))),
        "invalid_claims: invalid claims: claim `user_id` must not be empty"
    );
    assert_eq!(
        refused(&token(claims_with(json!({"user_id": "u".repeat(257)})))),
        "invalid_claims: invalid claims: claim `user_id` is 257 bytes long; the limit is 256"
    );
    assert_eq!(
        refused(&token(claims_with(json!({"user_id": 42})))),
        "invalid_claims: invalid claims: claim `user_id` must be a string, not a number"
    );
}

#[test]
fn rule4_host_is_a_boolean_defaulting_to_false() {
    assert!(!verify(&token(good_claims())).unwrap().host);
    assert!(
        verify(&token(claims_with(json!({"host": true}))))
            .unwrap()
            .host
    );
    assert_eq!(
        refused(&token(claims_with(json!({"host": "true"})))),
        "invalid_claims: invalid claims: claim `host` must be true or false, not a string"
    );
}

#[test]
fn rule4_numeric_dates_are_integers_or_floored_finite_numbers_in_range() {
    let c = verify(&token(claims_with(
        json!({"exp": (NOW + 100) as f64 + 0.9}),
    )))
    .unwrap();
    assert_eq!(c.registered.exp.map(|d| d.secs()), Some(NOW + 100));

    let out_of_range = [
        (json!({"exp": 1e19}), "claim `exp` is out of range (1e+19)"),
        (
            json!({"exp": 10_000_000_000_000_000_000_u64}),
            "claim `exp` is out of range (10000000000000000000)",
        ),
        (json!({"iat": -1}), "claim `iat` is out of range (-1)"),
        (json!({"nbf": -0.5}), "claim `nbf` is out of range (-0.5)"),
        (
            json!({"exp": 253_402_300_800_i64}),
            "claim `exp` is out of range (253402300800)",
        ),
    ];
    for (change, message) in out_of_range {
        let text = refused(&token(claims_with(change.clone())));
        assert!(
            text.starts_with(&format!("invalid_claims: invalid claims: {message}")),
            "{change}: {text}"
        );
    }
    for (change, kind) in [
        (json!({"exp": "1700000600"}), "a string"),
        (json!({"iat": true}), "a boolean"),
        (json!({"nbf": [1]}), "a list"),
    ] {
        assert!(
            refused(&token(claims_with(change.clone()))).ends_with(&format!(
                "must be a number of seconds since 1970, not {kind}"
            )),
            "{change}"
        );
    }
    // A number too large for JSON's doubles is a parse error, not a panic.
    let payload = format!(r#"{{"alias":"{ALIAS}","user_id":"a","exp":1e400}}"#);
    assert!(refused(&raw(r#"{"alg":"HS256"}"#, &payload)).contains("number out of range"));
}

#[test]
fn rule4_expires_in_is_a_non_negative_integer() {
    let c = verify(&token(claims_with(json!({"exp": null, "expires_in": 0})))).unwrap();
    assert_eq!(c.expires_in, Some(0));
    for bad in [json!(-1), json!(1.5), json!("60")] {
        assert!(
            refused(&token(claims_with(json!({"expires_in": bad.clone()})))).starts_with(
                "invalid_claims: invalid claims: claim `expires_in` must be a whole number"
            ),
            "{bad}"
        );
    }
}

// Rule 5: expiry, not-before, issued-at.

#[test]
fn rule5_a_token_without_any_expiry_is_refused() {
    assert_eq!(
        refused(&token(claims_with(json!({"exp": null})))),
        "token_missing_expiry: token has no expiry: it needs `exp`, or `iat` with `expires_in`"
    );
}

#[test]
fn rule5_expires_in_without_iat_is_refused_saying_so() {
    assert_eq!(
        refused(&token(claims_with(json!({"iat": null, "expires_in": 60})))),
        "invalid_claims: invalid claims: claim `expires_in` counts from `iat`, but the token has no `iat`"
    );
}

#[test]
fn rule5_the_effective_expiry_is_the_earlier_of_exp_and_iat_plus_expires_in() {
    // exp is in the future, but iat + expires_in passed 2 h 3 min ago.
    let t = token(claims_with(
        json!({"iat": NOW - 7380 - 10, "expires_in": 10, "exp": NOW + 600}),
    ));
    assert_eq!(refused(&t), "token_expired: token expired 2 h 3 min ago");
    // expires_in is still running, but exp has passed.
    let t = token(claims_with(
        json!({"iat": NOW - 100, "expires_in": 3600, "exp": NOW - 90}),
    ));
    assert_eq!(refused(&t), "token_expired: token expired 1 min 30 s ago");
    let t = token(claims_with(
        json!({"iat": NOW - 100, "expires_in": 3600, "exp": null}),
    ));
    assert_eq!(verify(&t).unwrap().expires_in, Some(3600));
}

#[test]
fn rule5_expiry_has_a_leeway_of_60_seconds() {
    assert!(
        verify(&token(claims_with(
            json!({"iat": NOW - 600, "exp": NOW - 60})
        )))
        .is_ok()
    );
    assert_eq!(
        refused(&token(claims_with(
            json!({"iat": NOW - 600, "exp": NOW - 61})
        ))),
        "token_expired: token expired 1 min 1 s ago"
    );
    let strict = Policy {
        leeway: Duration::ZERO,
        ..Policy::default()
    };
    assert_eq!(
        refused_by(
            strict,
            &token(claims_with(json!({"iat": NOW - 600, "exp": NOW - 1})))
        ),
        "token_expired: token expired 1 s ago"
    );
}

#[test]
fn rule5_nbf_and_iat_may_be_at_most_the_leeway_ahead() {
    assert!(verify(&token(claims_with(json!({"nbf": NOW + 60})))).is_ok());
    assert_eq!(
        refused(&token(claims_with(json!({"nbf": NOW + 61})))),
        "token_not_yet_valid: token is not valid yet: nbf is 1 min 1 s from now"
    );
    assert!(verify(&token(claims_with(json!({"iat": NOW + 60})))).is_ok());
    assert_eq!(
        refused(&token(claims_with(
            json!({"iat": NOW + 3 * 3600, "exp": NOW + 4 * 3600})
        ))),
        "token_issued_in_future: token was issued in the future: iat is 3 h from now"
    );
}

// Rule 6: lifetime cap.

#[test]
fn rule6_lifetime_is_capped_at_24_hours_by_default() {
    assert!(verify(&token(claims_with(json!({"exp": NOW + 86_400})))).is_ok());
    assert_eq!(
        refused(&token(claims_with(json!({"exp": NOW + 86_401})))),
        "token_lifetime_too_long: token lifetime is 1 d (86401 s), longer than the allowed 1 d (86400 s)"
    );
    // Without iat the lifetime counts from nbf, then from now.
    assert_eq!(
        refused(&token(claims_with(
            json!({"iat": null, "nbf": NOW - 3600, "exp": NOW + 86_400})
        ))),
        "token_lifetime_too_long: token lifetime is 1 d 1 h (90000 s), longer than the allowed 1 d (86400 s)"
    );
    assert!(
        verify(&token(claims_with(
            json!({"iat": null, "exp": NOW + 86_400})
        )))
        .is_ok()
    );
    assert_eq!(
        refused(&token(claims_with(
            json!({"iat": null, "exp": NOW + 2 * 86_400})
        ))),
        "token_lifetime_too_long: token lifetime is 2 d (172800 s), longer than the allowed 1 d (86400 s)"
    );
    let week = Policy {
        max_lifetime: Duration::from_secs(7 * 86_400),
        ..Policy::default()
    };
    assert!(
        verify_with(
            &tokens_with(week),
            &token(claims_with(json!({"exp": NOW + 2 * 86_400})))
        )
        .is_ok()
    );
}

// Rule 7: iss and aud.

#[test]
fn rule7_iss_and_aud_are_optional_unless_the_policy_names_them() {
    assert!(verify(&token(claims_with(json!({"iss": "anyone", "aud": ["x"]})))).is_ok());
    let joken = || Policy {
        issuer: Some("Joken".into()),
        audience: Some("Joken".into()),
        ..Policy::default()
    };
    let ok = token(claims_with(
        json!({"iss": "Joken", "aud": ["other", "Joken"]}),
    ));
    assert!(verify_with(&tokens_with(joken()), &ok).is_ok());
    let cases = [
        (
            json!({"aud": "Joken"}),
            "invalid_claims: invalid claims: claim `iss` is missing",
        ),
        (
            json!({"iss": "Jokes", "aud": "Joken"}),
            "invalid_claims: invalid claims: claim `iss` must be \"Joken\"",
        ),
        (
            json!({"iss": "Joken"}),
            "invalid_claims: invalid claims: claim `aud` is missing",
        ),
        (
            json!({"iss": "Joken", "aud": ["other"]}),
            "invalid_claims: invalid claims: claim `aud` must contain \"Joken\"",
        ),
    ];
    for (change, message) in cases {
        assert_eq!(refused_by(joken(), &token(claims_with(change))), message);
    }
}

// Revocation (`docs/api.md` `revoke-tokens`).

#[test]
fn revoked_tokens_are_those_issued_before_the_cutoff_or_without_iat() {
    let secret = Secret::from(SECRET);
    let alias = crate::alias();
    let secrets = [&secret];
    let expect = Expect::new(&alias, &secrets).revoked_before(NOW - 10);
    let t = token(claims_with(json!({"iat": NOW - 10})));
    assert!(tokens().verify_access(&t, &expect).is_ok());
    let t = token(claims_with(json!({"iat": NOW - 11})));
    assert_eq!(
        rejection(&t, tokens().verify_access(&t, &expect)),
        "token_revoked: token was revoked: it was issued before the alias's tokens were revoked"
    );
    let t = token(claims_with(json!({"iat": null})));
    assert_eq!(
        rejection(&t, tokens().verify_access(&t, &expect)),
        "token_revoked: token was revoked: it has no `iat`, and the alias's tokens were revoked"
    );
}
