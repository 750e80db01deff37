//! `aliaskit token sign|verify|decode`, checked against another JWT library (`jsonwebtoken`).

use serde_json::{Value, json};

use crate::{aliaskit, now};

const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// A token made by `jsonwebtoken`, not by aliaskit.
fn foreign_token(claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn foreign_decode(token: &str, alg: jsonwebtoken::Algorithm) -> jsonwebtoken::TokenData<Value> {
    decode_with(token, alg, SECRET)
}

/// An HS256 token decoded by another library with `secret`.
fn foreign_decode_with(token: &str, secret: &str) -> jsonwebtoken::TokenData<Value> {
    decode_with(token, jsonwebtoken::Algorithm::HS256, secret)
}

fn decode_with(
    token: &str,
    alg: jsonwebtoken::Algorithm,
    secret: &str,
) -> jsonwebtoken::TokenData<Value> {
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.set_required_spec_claims(&["exp"]);
    jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .unwrap()
}

#[test]
fn sign_prints_only_a_token_that_another_library_accepts_with_exactly_the_documented_claims() {
    let before = now();
    let run = aliaskit(
        &[
            "token",
            "sign",
            "--secret",
            SECRET,
            "--alias",
            "room-1",
            "--user-id",
            "alice",
            "--expires-in",
            "3600",
        ],
        None,
    );
    let after = now();
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    assert!(
        run.stdout.ends_with('\n') && run.stdout.lines().count() == 1,
        "{:?}",
        run.stdout
    );
    let token = run.stdout.trim();

    let data = foreign_decode(token, jsonwebtoken::Algorithm::HS256);
    assert_eq!(data.header.typ.as_deref(), Some("JWT"));
    let iat = data.claims["iat"].as_i64().unwrap();
    assert!(
        (before..=after).contains(&iat),
        "iat {iat} not in {before}..={after}"
    );
    assert_eq!(
        data.claims,
        json!({"alias": "room-1", "user_id": "alice", "host": false, "expires_in": 3600, "iat": iat, "exp": iat + 3600})
    );
}

/// Generated alias ids and secrets are base64url and may begin with `-`: they are values, not
/// flags, wherever they are given.
#[test]
fn values_beginning_with_a_hyphen_are_values_not_flags() {
    let secret = "-Fx3kQ9_aZ-1qW8nT2bC5dE0123456789abcdef";
    let run = aliaskit(
        &[
            "token",
            "sign",
            "--secret",
            secret,
            "--alias",
            "-room",
            "--user-id",
            "-alice",
            "--expires-in",
            "60",
        ],
        None,
    );
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    let data = foreign_decode_with(run.stdout.trim(), secret);
    assert_eq!(data.claims["alias"], "-room");
    assert_eq!(data.claims["user_id"], "-alice");
    let run = aliaskit(
        &[
            "token",
            "verify",
            "--secret",
            secret,
            "--alias",
            "-room",
            run.stdout.trim(),
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn sign_takes_host_an_algorithm_and_a_secret_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret");
    std::fs::write(&path, format!("{SECRET}\n")).unwrap();
    let run = aliaskit(
        &[
            "token",
            "sign",
            "--secret-file",
            path.to_str().unwrap(),
            "--alias",
            "room-1",
            "--user-id",
            "bob",
            "--host",
            "--expires-in",
            "60",
            "--alg",
            "hs512",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The trailing newline of the file is not part of the key: the foreign library verifies
    // with the bare secret.
    let data = foreign_decode(run.stdout.trim(), jsonwebtoken::Algorithm::HS512);
    assert_eq!(data.header.alg, jsonwebtoken::Algorithm::HS512);
    assert_eq!(data.claims["host"], true);
    assert_eq!(data.claims["user_id"], "bob");
}

#[test]
fn sign_refuses_bad_input_saying_what_is_wrong() {
    let sign = |extra: &[&str]| {
        let mut args = vec![
            "token",
            "sign",
            "--alias",
            "room-1",
            "--user-id",
            "u",
            "--expires-in",
            "60",
        ];
        args.extend_from_slice(extra);
        aliaskit(&args, None)
    };
    let run = sign(&["--secret", "short"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "secret_too_short: the secret is 5 bytes; at least 32 are required (RFC 7518 §3.2 asks for as many bytes as the hash output)\n"
    );
    assert_eq!(run.stdout, "");

    let run = aliaskit(
        &[
            "token",
            "sign",
            "--secret",
            SECRET,
            "--alias",
            "room/1",
            "--user-id",
            "u",
            "--expires-in",
            "60",
        ],
        None,
    );
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: --alias: invalid alias id: '/' is not allowed; use only A-Z, a-z, 0-9, '_' and '-'\n"
    );

    let run = aliaskit(
        &[
            "token",
            "sign",
            "--secret",
            SECRET,
            "--alias",
            "r",
            "--user-id",
            "u",
            "--expires-in",
            "90000",
        ],
        None,
    );
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            "token_lifetime_too_long: token lifetime is 1 d 1 h (90000 s), longer than the allowed 1 d (86400 s)\n"
        )
    );

    let run = sign(&["--secret", SECRET, "--alg", "RS256"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("unknown algorithm \"RS256\": expected HS256, HS384 or HS512"),
        "{}",
        run.stderr
    );

    let run = sign(&["--secret-file", "/nonexistent/secret"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("error: cannot read --secret-file /nonexistent/secret: "),
        "{}",
        run.stderr
    );

    let run = sign(&[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--secret"), "{}", run.stderr);
}

#[test]
fn verify_accepts_a_foreign_token_and_prints_its_claims() {
    let iat = now();
    let token = foreign_token(
        &json!({"alias": "room-1", "user_id": "alice", "host": true, "iat": iat, "exp": iat + 600, "team": "blue"}),
    );
    let run = aliaskit(
        &[
            "token", "verify", "--secret", SECRET, "--alias", "room-1", &token,
        ],
        None,
    );
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    let claims: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        claims,
        json!({"alias": "room-1", "user_id": "alice", "host": true, "iat": iat, "exp": iat + 600, "team": "blue"})
    );
    // The same, read from stdin.
    let run = aliaskit(
        &[
            "token", "verify", "--secret", SECRET, "--alias", "room-1", "-",
        ],
        Some(&format!("{token}\n")),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn verify_refuses_an_expired_token_naming_by_how_much() {
    let iat = now() - 7200;
    let token = foreign_token(
        &json!({"alias": "room-1", "user_id": "alice", "iat": iat, "exp": iat + 3600}),
    );
    let run = aliaskit(
        &[
            "token", "verify", "--secret", SECRET, "--alias", "room-1", &token,
        ],
        None,
    );
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    // One hour ago, give or take the second the test takes.
    assert!(
        run.stderr.starts_with("token_expired: token expired 1 h"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(&token[..20]),
        "the token is echoed: {}",
        run.stderr
    );
}

#[test]
fn verify_refuses_a_token_for_another_alias_or_secret() {
    let iat = now();
    let token = foreign_token(
        &json!({"alias": "room-2", "user_id": "alice", "iat": iat, "exp": iat + 600}),
    );
    let run = aliaskit(
        &[
            "token", "verify", "--secret", SECRET, "--alias", "room-1", &token,
        ],
        None,
    );
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            "alias_mismatch: the token is for alias \"room-2\", not for \"room-1\"\n"
        )
    );
    let other = "ffffffffffffffffffffffffffffffff";
    let run = aliaskit(
        &[
            "token", "verify", "--secret", other, "--alias", "room-2", &token,
        ],
        None,
    );
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            1,
            "bad_signature: bad signature: the token was not signed with the alias's secret\n"
        )
    );
    assert!(!run.stderr.contains(other));
}

#[test]
fn verify_enforces_issuer_and_audience_when_asked() {
    let iat = now();
    let token = foreign_token(
        &json!({"alias": "r", "user_id": "u", "iat": iat, "exp": iat + 60, "iss": "Joken", "aud": "Joken"}),
    );
    let ok = aliaskit(
        &[
            "token",
            "verify",
            "--secret",
            SECRET,
            "--alias",
            "r",
            "--issuer",
            "Joken",
            "--audience",
            "Joken",
            &token,
        ],
        None,
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let bad = aliaskit(
        &[
            "token", "verify", "--secret", SECRET, "--alias", "r", "--issuer", "other", &token,
        ],
        None,
    );
    assert_eq!(
        (bad.code, bad.stderr.as_str()),
        (
            1,
            "invalid_claims: invalid claims: claim `iss` must be \"other\"\n"
        )
    );
}

#[test]
fn verify_accepts_joken_vectors_only_with_a_lowered_secret_floor() {
    // Joken's vector for secret "s3cret", payload {}: the MAC verifies, the claims do not.
    let token =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.JXJ_RWHq_C9ZJbkrRGRg7NxSFm2hnVu5ToEa8Nx6OiU";
    let run = aliaskit(
        &[
            "token", "verify", "--secret", "s3cret", "--alias", "r", token,
        ],
        None,
    );
    assert_eq!(
        run.stderr,
        "secret_too_short: the secret is 6 bytes; at least 32 are required (RFC 7518 §3.2 asks for as many bytes as the hash output)\n"
    );
    let run = aliaskit(
        &[
            "token",
            "verify",
            "--secret",
            "s3cret",
            "--min-secret-bytes",
            "6",
            "--alias",
            "r",
            token,
        ],
        None,
    );
    assert_eq!(
        run.stderr,
        "invalid_claims: invalid claims: claim `alias` is missing\n"
    );
}

#[test]
fn decode_prints_header_and_payload_and_warns_that_nothing_was_verified() {
    let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoiSm9obiBEb2UifQ.xuEv8qrfXu424LZk8bVgr9MQJUIrp1rHcPyZw_KSsds";
    let run = aliaskit(&["token", "decode", token], None);
    assert_eq!(run.code, 0);
    let printed: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        printed,
        json!({"header": {"alg": "HS256", "typ": "JWT"}, "payload": {"name": "John Doe"}})
    );
    assert!(
        run.stderr.starts_with("warning: nothing was verified"),
        "{}",
        run.stderr
    );

    let run = aliaskit(&["token", "decode", "-"], Some("not.a-token"));
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "malformed_token: malformed token: a JWT has 3 segments separated by '.', this one has 2\n"
    );
}

#[test]
fn an_unwritable_stdout_is_an_error_not_a_panic() {
    // stdout on /dev/full: every write fails (ENOSPC), as it does on a closed pipe.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_aliaskit"))
        .args([
            "token",
            "sign",
            "--secret",
            SECRET,
            "--alias",
            "room-1",
            "--user-id",
            "u",
            "--expires-in",
            "60",
        ])
        .stdout(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: cannot write to stdout"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
