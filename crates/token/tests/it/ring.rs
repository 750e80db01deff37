//! The server's own key ring: `kid` in the header, only ring keys verify.

use aliaskit_token::{Algorithm, KeyRing, Policy, Secret};
use serde_json::{Map, Value, json};

use crate::*;

fn claims(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn ring(kid: &str, secret: &str) -> KeyRing {
    KeyRing::new(
        kid,
        Algorithm::HS256,
        &Secret::from(secret),
        &Policy::default(),
    )
    .unwrap()
}

#[test]
fn ring_tokens_carry_the_active_kid_and_verify() {
    let ring = ring("k1", SECRET);
    let t = tokens()
        .sign_ring(
            &ring,
            claims(json!({"sub": "alice$example.com", "iat": NOW, "exp": NOW + 1800})),
        )
        .unwrap();
    let (header, _) = aliaskit_token::decode_unverified(&t).unwrap();
    assert_eq!(
        Value::Object(header),
        json!({"alg": "HS256", "typ": "JWT", "kid": "k1"})
    );
    let verified = tokens().verify_ring(&ring, &t).unwrap();
    assert_eq!(verified.kid, "k1");
    assert_eq!(verified.claims["sub"], "alice$example.com");
    assert_eq!(verified.registered.exp.map(|d| d.secs()), Some(NOW + 1800));
}

#[test]
fn retired_keys_verify_and_unknown_kids_do_not() {
    let old = ring("k1", SECRET);
    let t = tokens()
        .sign_ring(&old, claims(json!({"iat": NOW, "exp": NOW + 60})))
        .unwrap();

    let mut rotated = ring("k2", "22222222222222222222222222222222");
    assert_eq!(rotated.active_kid(), "k2");
    assert_eq!(
        tokens().verify_ring(&rotated, &t).unwrap_err().to_string(),
        "bad signature: the token's key id is not one of this server's keys"
    );
    rotated
        .add_verifying_key(
            "k1",
            Algorithm::HS256,
            &Secret::from(SECRET),
            &Policy::default(),
        )
        .unwrap();
    assert_eq!(tokens().verify_ring(&rotated, &t).unwrap().kid, "k1");
    assert_eq!(rotated.kids().collect::<Vec<_>>(), ["k2", "k1"]);
    let err = rotated
        .add_verifying_key(
            "k2",
            Algorithm::HS256,
            &Secret::from(SECRET),
            &Policy::default(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "key_rejected");
}

#[test]
fn a_ring_token_needs_a_kid_the_right_key_and_an_expiry() {
    let ring = ring("k1", SECRET);
    // Same kid, another secret: a forgery.
    let forged = tokens()
        .sign_ring(
            &crate::ring::ring("k1", "ffffffffffffffffffffffffffffffff"),
            claims(json!({"iat": NOW, "exp": NOW + 60})),
        )
        .unwrap();
    assert_eq!(
        tokens().verify_ring(&ring, &forged).unwrap_err().code(),
        "bad_signature"
    );
    // No kid at all: an access token signed with the same bytes is not a ring token.
    let no_kid = token(json!({"iat": NOW, "exp": NOW + 60}));
    assert_eq!(
        tokens().verify_ring(&ring, &no_kid).unwrap_err().code(),
        "bad_signature"
    );
    // The kid's key is HS256; a token labelled HS512 is refused before any MAC.
    let hs512 = raw_with(
        Algorithm::HS512,
        SECRET.as_bytes(),
        r#"{"alg":"HS512","kid":"k1"}"#,
        r#"{"exp":1700000060}"#,
    );
    assert_eq!(
        tokens().verify_ring(&ring, &hs512).unwrap_err().to_string(),
        "unsupported algorithm \"HS512\": allowed are HS256"
    );
    let no_exp = tokens()
        .sign_ring(&ring, claims(json!({"iat": NOW})))
        .unwrap();
    assert_eq!(
        tokens().verify_ring(&ring, &no_exp).unwrap_err().code(),
        "token_missing_expiry"
    );
    let expired = tokens()
        .sign_ring(&ring, claims(json!({"iat": NOW - 4000, "exp": NOW - 2000})))
        .unwrap();
    assert_eq!(
        tokens()
            .verify_ring(&ring, &expired)
            .unwrap_err()
            .to_string(),
        "token expired 33 min 20 s ago"
    );
}

#[test]
fn ring_keys_obey_the_secret_floor_and_debug_shows_no_key() {
    let err = KeyRing::new(
        "k",
        Algorithm::HS256,
        &Secret::from("short"),
        &Policy::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "secret_too_short");
    let debug = format!("{:?}", ring("k1", SECRET));
    assert_eq!(debug, "KeyRing { active: \"k1\", kids: [\"k1\"], .. }");
}
