//! Integration tests of aliaskit-token: one module per concern, one test binary.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a failed unwrap is a failed test, with its location"
)]

mod fuzz;
mod props;
mod ring;
mod rules;
mod sign;
mod vectors;

use aliaskit_domain::AliasId;
use aliaskit_token::{Algorithm, Expect, FixedClock, Policy, Secret, TokenError, Tokens};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Sha256, Sha384, Sha512};

/// The fixed "now" of these tests.
pub const NOW: i64 = 1_700_000_000;
/// A 32-byte secret: the default minimum.
pub const SECRET: &str = "0123456789abcdef0123456789abcdef";
/// The alias the tokens are for.
pub const ALIAS: &str = "room-1";

/// Tokens under the default policy at `NOW`.
pub fn tokens() -> Tokens<FixedClock> {
    tokens_with(Policy::default())
}

/// Tokens under `policy` at `NOW`.
pub fn tokens_with(policy: Policy) -> Tokens<FixedClock> {
    Tokens::with_clock(policy, FixedClock(NOW))
}

/// The alias id `ALIAS`.
pub fn alias() -> AliasId {
    AliasId::parse(ALIAS).unwrap()
}

/// Unpadded base64url.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The raw HMAC of `input` under `key`, computed without aliaskit.
pub fn mac(alg: Algorithm, key: &[u8], input: &[u8]) -> Vec<u8> {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], input: &[u8]) -> Vec<u8> {
        let mut m = <M as Mac>::new_from_slice(key).unwrap();
        m.update(input);
        m.finalize().into_bytes().to_vec()
    }
    match alg {
        Algorithm::HS256 => run::<Hmac<Sha256>>(key, input),
        Algorithm::HS384 => run::<Hmac<Sha384>>(key, input),
        Algorithm::HS512 => run::<Hmac<Sha512>>(key, input),
    }
}

/// A token built by hand from raw header and payload text, with a correct HS256 MAC under
/// `SECRET`, so that a rule under test is the only thing wrong with it.
pub fn raw(header: &str, payload: &str) -> String {
    raw_with(Algorithm::HS256, SECRET.as_bytes(), header, payload)
}

/// Like [`raw`], with another algorithm and key.
pub fn raw_with(alg: Algorithm, key: &[u8], header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = mac(alg, key, input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

/// An HS256 token for `payload`, header `{"alg":"HS256","typ":"JWT"}`.
pub fn token(payload: Value) -> String {
    raw(r#"{"alg":"HS256","typ":"JWT"}"#, &payload.to_string())
}

/// Claims that pass every rule at `NOW`.
pub fn good_claims() -> Value {
    json!({"alias": ALIAS, "user_id": "alice", "iat": NOW, "exp": NOW + 600})
}

/// `good_claims` with members replaced (or removed, for `null`).
pub fn claims_with(changes: Value) -> Value {
    let mut claims = good_claims();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

/// Verifies `token` for `ALIAS` with `SECRET` under the default policy.
pub fn verify(token: &str) -> Result<aliaskit_domain::AccessClaims, TokenError> {
    verify_with(&tokens(), token)
}

/// Verifies `token` for `ALIAS` with `SECRET` under `tokens`' policy.
pub fn verify_with(
    tokens: &Tokens<FixedClock>,
    token: &str,
) -> Result<aliaskit_domain::AccessClaims, TokenError> {
    let secret = Secret::from(SECRET);
    tokens.verify_access(token, &Expect::new(&alias(), &[&secret]))
}

/// The error's `code: message`, asserting that it never echoes the token or the secret.
pub fn rejection(token: &str, result: Result<impl std::fmt::Debug, TokenError>) -> String {
    let err = result.expect_err("the token must be refused");
    let text = format!("{}: {err}", err.code());
    assert!(!text.contains(SECRET), "secret leaked into {text:?}");
    for segment in token.split('.').filter(|s| s.len() > 12) {
        assert!(!text.contains(segment), "token leaked into {text:?}");
    }
    text
}
