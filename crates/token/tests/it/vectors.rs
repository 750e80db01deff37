//! Tokens made by other implementations: Elixir Joken and RFC 7515's example.

use aliaskit_token::{Expect, Policy, Secret};
use serde_json::{Value, json};

use crate::*;

#[test]
fn joken_vectors_verify_their_mac_with_a_lowered_minimum_secret_length() {
    let file: Value = serde_json::from_str(include_str!("vectors/joken-hs256.json")).unwrap();
    let vectors = file["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 5);
    let lowered = tokens_with(Policy {
        min_secret_bytes: 4,
        ..Policy::default()
    });
    for v in vectors {
        let token = v["token"].as_str().unwrap();
        let secret = Secret::from(v["secret"].as_str().unwrap());
        let alias = crate::alias();
        let secrets = [&secret];
        let expect = Expect::new(&alias, &secrets);

        // The MAC verifies, so the first refusal is about claims: these payloads carry no
        // `alias` (they are not access tokens).
        let err = lowered.verify_access(token, &expect).unwrap_err();
        assert_eq!(
            (err.code(), err.to_string().as_str()),
            ("invalid_claims", "invalid claims: claim `alias` is missing"),
            "vector {token}"
        );

        // One flipped bit of the MAC, or another secret, is a bad signature.
        let mut tampered = token.to_owned();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'Q' } else { 'A' });
        let err = lowered.verify_access(&tampered, &expect).unwrap_err();
        assert!(
            matches!(err.code(), "bad_signature" | "malformed_token"),
            "{err}"
        );
        let other = Secret::from("not-the-secret");
        let err = lowered
            .verify_access(token, &Expect::new(&crate::alias(), &[&other]))
            .unwrap_err();
        assert_eq!(err.code(), "bad_signature");

        // With the default 32-byte floor, these short secrets are refused before any MAC.
        let err = tokens().verify_access(token, &expect).unwrap_err();
        assert_eq!(err.code(), "secret_too_short");
    }
}

#[test]
fn rfc7515_a1_mac_is_checked_over_the_bytes_as_received() {
    // RFC 7515 Appendix A.1: the header contains CR LF and spaces; re-serializing it would
    // break the MAC, so a verifier that passes this checks the bytes as sent.
    let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let k =
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
    let key = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, k).unwrap();
    let secret = Secret::new(key);
    let alias = crate::alias();
    let secrets = [&secret];
    let expect = Expect::new(&alias, &secrets);
    let err = tokens().verify_access(token, &expect).unwrap_err();
    assert_eq!(err.to_string(), "invalid claims: claim `alias` is missing");

    // The same header, re-serialized compactly, with the original MAC: refused.
    let (_, rest) = token.split_once('.').unwrap();
    let recoded = format!("{}.{rest}", b64(br#"{"typ":"JWT","alg":"HS256"}"#));
    let err = tokens().verify_access(&recoded, &expect).unwrap_err();
    assert_eq!(err.code(), "bad_signature");
}

/// The shape of a token from Joken's default config (`Joken.Config.default_claims/1`):
/// `exp` = iat + 7200, `iat`, `nbf`, `iss` = `aud` = "Joken", a 24-character `jti`, plus the
/// caller's claims, made here by another JWT library.
fn joken_default_token(secret: &str) -> String {
    let claims = json!({
        "alias": ALIAS, "user_id": "alice", "host": true,
        "exp": NOW + 7200, "iat": NOW, "nbf": NOW,
        "iss": "Joken", "aud": "Joken", "jti": "2tbbrh4uk5s0jmbjhg000lm1",
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[test]
fn a_joken_default_shaped_token_verifies_with_a_32_byte_secret() {
    let token = joken_default_token(SECRET);
    let claims = verify(&token).unwrap();
    assert!(claims.host);
    assert_eq!(claims.user_id.as_str(), "alice");
    assert_eq!(claims.registered.iss.as_deref(), Some("Joken"));
    assert_eq!(
        claims.registered.jti.as_deref(),
        Some("2tbbrh4uk5s0jmbjhg000lm1")
    );
    assert_eq!(claims.registered.exp.map(|d| d.secs()), Some(NOW + 7200));

    // Expected iss and aud, when configured, are enforced and satisfied.
    let strict = tokens_with(Policy {
        issuer: Some("Joken".into()),
        audience: Some("Joken".into()),
        ..Policy::default()
    });
    assert!(verify_with(&strict, &token).is_ok());

    // Two hours later (plus the minute of leeway) it has expired.
    let later = aliaskit_token::Tokens::with_clock(
        Policy::default(),
        aliaskit_token::FixedClock(NOW + 7200 + 61),
    );
    let secret = Secret::from(SECRET);
    let err = later
        .verify_access(&token, &Expect::new(&crate::alias(), &[&secret]))
        .unwrap_err();
    assert_eq!(err.to_string(), "token expired 1 min 1 s ago");
}
