//! Signing access tokens.

use std::time::Duration;

use aliaskit_domain::{AccessClaims, NumericDate, UserId};
use aliaskit_token::{Algorithm, Expect, Policy, Secret, decode_unverified};
use serde_json::{Value, json};

use crate::*;

fn claims() -> AccessClaims {
    let mut c = AccessClaims::new(crate::alias(), UserId::new("alice").unwrap());
    c.expires_in = Some(3600);
    c
}

#[test]
fn signed_tokens_have_the_documented_header_and_claims() {
    let secret = Secret::from(SECRET);
    for alg in Algorithm::ALL {
        let t = tokens().sign_access(&claims(), &secret, alg).unwrap();
        let (header, payload) = decode_unverified(&t).unwrap();
        assert_eq!(
            serde_json::to_string(&header).unwrap(),
            format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#)
        );
        assert_eq!(
            Value::Object(payload),
            json!({"alias": ALIAS, "user_id": "alice", "host": false, "expires_in": 3600, "iat": NOW, "exp": NOW + 3600})
        );
        let verified = verify(&t).unwrap();
        assert_eq!(verified.to_json(), claims_for_check(&t));
    }
}

fn claims_for_check(t: &str) -> serde_json::Map<String, Value> {
    decode_unverified(t).unwrap().1
}

#[test]
fn custom_claims_and_a_given_iat_are_kept() {
    let mut c = claims();
    c.host = true;
    c.registered.iat = NumericDate::from_secs(NOW - 10);
    c.extra.insert("team".into(), json!("blue"));
    let t = tokens()
        .sign_access(&c, &Secret::from(SECRET), Algorithm::HS256)
        .unwrap();
    let (_, payload) = decode_unverified(&t).unwrap();
    assert_eq!(payload["team"], "blue");
    assert_eq!(payload["host"], true);
    assert_eq!(payload["iat"], NOW - 10);
    assert_eq!(payload["exp"], NOW - 10 + 3600);
}

#[test]
fn signing_refuses_what_verification_would_refuse() {
    let secret = Secret::from(SECRET);
    let mut forever = claims();
    forever.expires_in = None;
    assert_eq!(
        tokens()
            .sign_access(&forever, &secret, Algorithm::HS256)
            .unwrap_err()
            .code(),
        "token_missing_expiry"
    );
    let mut long = claims();
    long.expires_in = Some(2 * 86_400);
    assert_eq!(
        tokens()
            .sign_access(&long, &secret, Algorithm::HS256)
            .unwrap_err()
            .to_string(),
        "token lifetime is 2 d (172800 s), longer than the allowed 1 d (86400 s)"
    );
    let err = tokens()
        .sign_access(&claims(), &Secret::from("short"), Algorithm::HS256)
        .unwrap_err();
    assert_eq!(err.code(), "secret_too_short");
    let only_256 = tokens_with(Policy {
        algorithms: vec![Algorithm::HS256],
        ..Policy::default()
    });
    assert_eq!(
        only_256
            .sign_access(&claims(), &secret, Algorithm::HS384)
            .unwrap_err()
            .code(),
        "unsupported_algorithm"
    );
    let mut huge = claims();
    huge.expires_in = Some(u64::MAX);
    let week = tokens_with(Policy {
        max_lifetime: Duration::MAX,
        ..Policy::default()
    });
    assert_eq!(
        week.sign_access(&huge, &secret, Algorithm::HS256)
            .unwrap_err()
            .to_string(),
        "invalid claims: claim `expires_in` puts `exp` after the year 9999"
    );
}

#[test]
fn a_signed_token_is_bound_to_its_alias_and_secret() {
    let secret = Secret::from(SECRET);
    let t = tokens()
        .sign_access(&claims(), &secret, Algorithm::HS256)
        .unwrap();
    let other_alias = aliaskit_domain::AliasId::parse("room-2").unwrap();
    let err = tokens()
        .verify_access(&t, &Expect::new(&other_alias, &[&secret]))
        .unwrap_err();
    assert_eq!(err.code(), "alias_mismatch");
    // It decodes and verifies in another library, with its own validation.
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_exp = false;
    let data = jsonwebtoken::decode::<Value>(
        &t,
        &jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()),
        &validation,
    )
    .unwrap();
    assert_eq!(data.claims["user_id"], "alice");
}
