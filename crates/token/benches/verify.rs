//! Verifying one HS256 access token three ways, and two variants, in one run so the numbers
//! compare:
//!
//! * `aliaskit`: [`Tokens::verify_access`], every rule of `docs/security.md`;
//! * `aliaskit_lean`: the same with a [`Secret::lean`], which keys its HMAC on every use, as
//!   the server's cache of aliases holds its secrets;
//! * `aliaskit_aud_list`: the same with an `aud` list added, a token the plain JSON reader
//!   hands to serde_json;
//! * `jsonwebtoken`: `jsonwebtoken::decode` with comparable validation (HS256 only, `exp`
//!   required, `exp`/`nbf` checked with 60 s leeway, claims deserialized into a struct);
//! * `raw_hmac`: HMAC-SHA256 over the signing input and a constant-time compare, the floor.
//!
//! Targets (issue 2): aliaskit no slower than jsonwebtoken, within 5× raw HMAC. Results and how
//! to read them: `docs/performance.md`.

#![expect(
    clippy::unwrap_used,
    reason = "benchmark setup: a failure aborts the run"
)]

use std::hint::black_box;

use aliaskit_domain::{AccessClaims, AliasId, Audience, UserId};
use aliaskit_token::{Algorithm, Expect, Policy, Secret, Tokens};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// The claims jsonwebtoken deserializes: the same ones aliaskit reads.
#[derive(Deserialize)]
#[expect(dead_code, reason = "read to make the comparison fair, never used")]
struct Claims {
    alias: String,
    user_id: String,
    #[serde(default)]
    host: bool,
    expires_in: Option<u64>,
    iat: Option<i64>,
    exp: i64,
}

fn verify(c: &mut Criterion) {
    let alias = AliasId::parse("Vx3kQ9_aZ-1qW8nT2bC5dE").unwrap();
    let secret = Secret::from(SECRET);
    let tokens = Tokens::new(Policy::default());
    let mut claims = AccessClaims::new(alias.clone(), UserId::new("user-42").unwrap());
    claims.host = true;
    claims.expires_in = Some(3600);
    let token = tokens
        .sign_access(&claims, &secret, Algorithm::HS256)
        .unwrap();

    let secrets = [&secret];
    let expect = Expect::new(&alias, &secrets);
    assert!(tokens.verify_access(&token, &expect).is_ok());

    // The same claims with an audience list: a nested value, to show what a list costs the one
    // reader (json.rs).
    claims.registered.aud = Some(Audience::Many(vec!["web".into(), "mobile".into()]));
    let listed = tokens
        .sign_access(&claims, &secret, Algorithm::HS256)
        .unwrap();
    assert!(tokens.verify_access(&listed, &expect).is_ok());

    let key = jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes());
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.leeway = 60;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp"]);
    assert!(jsonwebtoken::decode::<Claims>(&token, &key, &validation).is_ok());

    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let keyed = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).unwrap();

    let lean = Secret::lean(SECRET);
    let lean_secrets = [&lean];
    let lean_expect = Expect::new(&alias, &lean_secrets);
    assert!(tokens.verify_access(&token, &lean_expect).is_ok());

    let mut group = c.benchmark_group("verify_hs256");
    group.bench_function("aliaskit", |b| {
        b.iter(|| tokens.verify_access(black_box(&token), black_box(&expect)))
    });
    group.bench_function("aliaskit_lean", |b| {
        b.iter(|| tokens.verify_access(black_box(&token), black_box(&lean_expect)))
    });
    group.bench_function("aliaskit_aud_list", |b| {
        b.iter(|| tokens.verify_access(black_box(&listed), black_box(&expect)))
    });
    group.bench_function("jsonwebtoken", |b| {
        b.iter(|| jsonwebtoken::decode::<Claims>(black_box(&token), &key, &validation))
    });
    group.bench_function("raw_hmac", |b| {
        b.iter(|| {
            keyed
                .clone()
                .chain_update(black_box(signing_input).as_bytes())
                .verify_slice(black_box(&signature))
        })
    });
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
