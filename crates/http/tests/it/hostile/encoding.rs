//! The token as text: its size, non-canonical base64url, wrong segment counts, non-ASCII and
//! control characters.

use super::*;

/// A valid token for alias `id` of exactly `len` bytes, padded with a `pad` claim (and header
/// members, since a base64url segment is never 1 mod 4 characters long).
fn token_of_len(id: &str, len: usize) -> String {
    let start = (len * 3 / 4).saturating_sub(300);
    for extra in 0..4 {
        let header = format!(
            r#"{{"alg":"HS256","typ":"JWT","x":"{}"}}"#,
            "x".repeat(extra)
        );
        for pad in start..len {
            let t = signed(&header, &claims(id, json!({"pad": "p".repeat(pad)})));
            if t.len() == len {
                return t;
            }
            if t.len() > len {
                break;
            }
        }
    }
    panic!("no token of {len} bytes")
}

#[actix_web::test]
async fn oversized_tokens_are_refused_and_the_limit_itself_is_fine() {
    for env in envs() {
        let id = protected(&env).await;
        let limit = aliaskit_token::MAX_TOKEN_BYTES;
        let at_limit = token_of_len(&id, limit);
        let over = token_of_len(&id, limit + 1);
        let shaped =
            |len: usize| format!("{}.{}.{}", "a".repeat(len / 2), "b".repeat(len / 2), "c");
        let cases = vec![
            (
                "a valid token of 8 KiB exactly".to_owned(),
                at_limit,
                Admitted,
            ),
            (
                "a valid token of 8 KiB - 1".to_owned(),
                token_of_len(&id, limit - 1),
                Admitted,
            ),
            (
                "a validly signed token of 8 KiB + 1".to_owned(),
                over,
                Refused("malformed_token"),
            ),
            (
                "16 KiB, three segments".to_owned(),
                shaped(16 * 1024),
                Refused("malformed_token"),
            ),
            (
                "64 KiB, three segments".to_owned(),
                shaped(64 * 1024),
                Refused("malformed_token"),
            ),
            (
                "1 MiB, three segments".to_owned(),
                shaped(1024 * 1024),
                Refused("malformed_token"),
            ),
            (
                "a header of 10 000 members".to_owned(),
                signed(
                    &format!(
                        "{{\"alg\":\"HS256\",{}}}",
                        (0..10_000)
                            .map(|i| format!("\"m{i}\":0"))
                            .collect::<Vec<_>>()
                            .join(",")
                    ),
                    &claims(&id, json!({})),
                ),
                Refused("malformed_token"),
            ),
            (
                "600 header members, the last a duplicate of the first, within the limit"
                    .to_owned(),
                signed(
                    &format!(
                        "{{\"alg\":\"HS256\",{},\"m0\":1}}",
                        (0..600)
                            .map(|i| format!("\"m{i}\":0"))
                            .collect::<Vec<_>>()
                            .join(",")
                    ),
                    &claims(&id, json!({})),
                ),
                Refused("malformed_token"),
            ),
            (
                "a payload nested 2000 deep, within the limit".to_owned(),
                signed(HS256, &format!("{}{}", "[".repeat(2000), "]".repeat(2000))),
                Refused("malformed_token"),
            ),
            (
                "a payload nested 10 000 deep".to_owned(),
                signed(
                    HS256,
                    &format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
                ),
                Refused("malformed_token"),
            ),
        ];
        judge_tokens(&env, &id, &cases).await;
    }
}

/// `segment` with its unused trailing bits set: a lenient decoder reads the same bytes.
fn dirty_tail(segment: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    assert!(segment.len() % 4 >= 2, "{segment} has no trailing bits");
    let last = *segment.as_bytes().last().unwrap();
    let value = ALPHABET.iter().position(|&c| c == last).unwrap();
    let dirty = value | 1;
    assert_ne!(value, dirty, "{segment}: its trailing bits were not zero");
    format!(
        "{}{}",
        &segment[..segment.len() - 1],
        char::from(ALPHABET[dirty])
    )
}

/// `segment` padded with `=` to a multiple of 4 (at least one `=`).
fn padded(segment: &str) -> String {
    let n = match segment.len() % 4 {
        0 => 4,
        r => 4 - r,
    };
    format!("{segment}{}", "=".repeat(n))
}

/// `segment` in the standard alphabet.
fn standard_alphabet(segment: &str) -> String {
    segment.replace('-', "+").replace('_', "/")
}

#[actix_web::test]
async fn non_canonical_base64_is_refused() {
    for env in envs() {
        let id = protected(&env).await;
        // A header of 28 bytes: 38 characters, two of them carrying trailing bits.
        let header = r#"{"alg":"HS256", "typ":"JWT"}"#;
        // A payload and a MAC that both contain `-` or `_`, and a payload whose length leaves
        // trailing bits.
        let (h, p, s) = (0..10_000)
            .map(|i| {
                // `~` and `?` end in 0b111110 and 0b111111: at a byte offset of 2 mod 3 they
                // are `-` and `_` in base64url.
                let t = signed(
                    header,
                    &claims(&id, json!({"user_id": format!("u{i}"), "x": "~~~???"})),
                );
                let parts: Vec<String> = t.split('.').map(str::to_owned).collect();
                (parts[0].clone(), parts[1].clone(), parts[2].clone())
            })
            .find(|(_, p, s)| p.contains(['-', '_']) && s.contains(['-', '_']) && p.len() % 4 >= 2)
            .unwrap();
        assert_eq!(h.len() % 4, 2);
        let mut cases = vec![
            (
                "positive control".to_owned(),
                format!("{h}.{p}.{s}"),
                Admitted,
            ),
            // The MAC, spelt another way: a lenient decoder would accept these as they are.
            (
                "signature padded".to_owned(),
                format!("{h}.{p}.{}", padded(&s)),
                Refused("malformed_token"),
            ),
            (
                "signature with '+' and '/'".to_owned(),
                format!("{h}.{p}.{}", standard_alphabet(&s)),
                Refused("malformed_token"),
            ),
            (
                "signature with trailing bits set".to_owned(),
                format!("{h}.{p}.{}", dirty_tail(&s)),
                Refused("malformed_token"),
            ),
            (
                "signature with a space inside".to_owned(),
                format!("{h}.{p}.{} {}", &s[..10], &s[10..]),
                Refused("malformed_token"),
            ),
            (
                "signature base64 of the hex MAC".to_owned(),
                format!(
                    "{h}.{p}.{}",
                    b64(URL_SAFE_NO_PAD
                        .decode(&s)
                        .unwrap()
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                        .as_bytes())
                ),
                Refused("bad_signature"),
            ),
        ];
        // Header and payload spelt another way, with a MAC valid over the bytes as sent.
        for (label, input) in [
            ("header padded", format!("{}.{p}", padded(&h))),
            (
                "header with trailing bits set",
                format!("{}.{p}", dirty_tail(&h)),
            ),
            (
                "header with a space inside",
                format!("{} {}.{p}", &h[..4], &h[4..]),
            ),
            ("payload padded", format!("{h}.{}", padded(&p))),
            (
                "payload with '+' and '/'",
                format!("{h}.{}", standard_alphabet(&p)),
            ),
            (
                "payload with trailing bits set",
                format!("{h}.{}", dirty_tail(&p)),
            ),
            (
                "payload with a space inside",
                format!("{h}.{} {}", &p[..4], &p[4..]),
            ),
            (
                "payload in standard base64 with padding",
                format!("{h}.{}", padded(&standard_alphabet(&p))),
            ),
        ] {
            cases.push((
                label.to_owned(),
                sign_input(&input),
                Refused("malformed_token"),
            ));
        }
        judge_tokens(&env, &id, &cases).await;
    }
}

#[actix_web::test]
async fn extra_missing_and_empty_segments_are_refused() {
    for env in envs() {
        let id = protected(&env).await;
        let good = signed(HS256, &claims(&id, json!({})));
        let parts: Vec<&str> = good.split('.').collect();
        let (h, p, s) = (parts[0], parts[1], parts[2]);
        // Not three segments: not a JWT, so the plain UNAUTHORIZED of the retrieve.
        let not_jwt = Refused("unauthorized");
        let cases = vec![
            ("positive control".to_owned(), good.clone(), Admitted),
            ("1 segment".to_owned(), h.to_owned(), not_jwt),
            ("2 segments".to_owned(), format!("{h}.{p}"), not_jwt),
            ("4 segments".to_owned(), format!("{h}.{p}.{s}.{s}"), not_jwt),
            (
                "5 segments (JWE shape)".to_owned(),
                format!("{h}.{p}.{s}.{p}.{s}"),
                not_jwt,
            ),
            ("trailing dot".to_owned(), format!("{h}.{p}.{s}."), not_jwt),
            ("leading dot".to_owned(), format!(".{h}.{p}.{s}"), not_jwt),
            (".".to_owned(), ".".to_owned(), not_jwt),
            ("...".to_owned(), "...".to_owned(), not_jwt),
            ("....".to_owned(), "....".to_owned(), not_jwt),
            ("..".to_owned(), "..".to_owned(), Refused("malformed_token")),
            (
                "empty header".to_owned(),
                format!(".{p}.{s}"),
                Refused("malformed_token"),
            ),
            (
                "empty header and payload".to_owned(),
                format!("..{s}"),
                Refused("malformed_token"),
            ),
            (
                "empty payload".to_owned(),
                format!("{h}..{s}"),
                Refused("bad_signature"),
            ),
            (
                "empty signature".to_owned(),
                format!("{h}.{p}."),
                Refused("bad_signature"),
            ),
            (
                "empty payload and signature".to_owned(),
                format!("{h}.."),
                Refused("bad_signature"),
            ),
            (
                "empty payload, valid MAC".to_owned(),
                sign_input(&format!("{h}.")),
                Refused("malformed_token"),
            ),
            (
                "header and payload swapped".to_owned(),
                format!("{p}.{h}.{s}"),
                Refused("malformed_token"),
            ),
            (
                "payload as the header, valid MAC".to_owned(),
                sign_input(&format!("{p}.{p}")),
                Refused("malformed_token"),
            ),
            (
                "header as the payload, valid MAC".to_owned(),
                sign_input(&format!("{h}.{h}")),
                Refused("invalid_claims"),
            ),
            (
                "payload a JSON array, valid MAC".to_owned(),
                signed(HS256, "[1,2]"),
                Refused("malformed_token"),
            ),
            (
                "payload a JSON string, valid MAC".to_owned(),
                signed(HS256, "\"x\""),
                Refused("malformed_token"),
            ),
            (
                "payload empty object, valid MAC".to_owned(),
                signed(HS256, "{}"),
                Refused("invalid_claims"),
            ),
            (
                "payload with trailing data, valid MAC".to_owned(),
                signed(HS256, &format!("{} {{}}", claims(&id, json!({})))),
                Refused("malformed_token"),
            ),
            (
                "header a JSON array".to_owned(),
                signed("[\"HS256\"]", &claims(&id, json!({}))),
                Refused("malformed_token"),
            ),
        ];
        judge_tokens(&env, &id, &cases).await;
    }
}

#[actix_web::test]
async fn non_ascii_and_control_characters_in_the_token_are_refused() {
    for env in envs() {
        let id = protected(&env).await;
        let good = signed(HS256, &claims(&id, json!({})));
        let (input, s) = good.rsplit_once('.').unwrap();
        let (h, p) = input.split_once('.').unwrap();
        let cases = vec![
            (
                "a tab in the signature".to_owned(),
                format!("{h}.{p}.{}\t{}", &s[..5], &s[5..]),
                Refused("malformed_token"),
            ),
            (
                "a tab in the payload".to_owned(),
                format!("{h}.{}\t{}.{s}", &p[..5], &p[5..]),
                Refused("bad_signature"),
            ),
            (
                "a tab in the payload, valid MAC".to_owned(),
                sign_input(&format!("{h}.{}\t{}", &p[..5], &p[5..])),
                Refused("malformed_token"),
            ),
            (
                "header not UTF-8".to_owned(),
                signed(
                    "{\"alg\":\"HS256\",\"x\":\"\u{fffd}\"}",
                    &claims(&id, json!({})),
                )
                .replacen(
                    &b64("{\"alg\":\"HS256\",\"x\":\"\u{fffd}\"}".as_bytes()),
                    &b64(b"{\"alg\":\"HS256\",\"x\":\"\xff\"}"),
                    1,
                ),
                Refused("malformed_token"),
            ),
            (
                "header with a lone surrogate".to_owned(),
                signed(r#"{"alg":"HS256","x":"\ud800"}"#, &claims(&id, json!({}))),
                Refused("malformed_token"),
            ),
            (
                "header with a BOM".to_owned(),
                signed("\u{feff}{\"alg\":\"HS256\"}", &claims(&id, json!({}))),
                Refused("malformed_token"),
            ),
            (
                "alg with a NUL".to_owned(),
                signed(r#"{"alg":"HS256\u0000"}"#, &claims(&id, json!({}))),
                Refused("unsupported_algorithm"),
            ),
            (
                "alg in full-width letters".to_owned(),
                signed("{\"alg\":\"ＨＳ２５６\"}", &claims(&id, json!({}))),
                Refused("unsupported_algorithm"),
            ),
            (
                "alias with a NUL".to_owned(),
                signed(HS256, &claims(&id, json!({"alias": format!("{id}\u{0}")}))),
                Refused("invalid_claims"),
            ),
            (
                "alias with a Cyrillic look-alike".to_owned(),
                signed(
                    HS256,
                    &claims(&id, json!({"alias": format!("\u{430}{}", &id[1..])})),
                ),
                Refused("invalid_claims"),
            ),
            (
                "user_id not a string".to_owned(),
                signed(HS256, &claims(&id, json!({"user_id": 5}))),
                Refused("invalid_claims"),
            ),
            (
                "user_id empty".to_owned(),
                signed(HS256, &claims(&id, json!({"user_id": ""}))),
                Refused("invalid_claims"),
            ),
            (
                "user_id of 257 bytes".to_owned(),
                signed(
                    HS256,
                    &claims(&id, json!({"user_id": "é".repeat(128) + "u"})),
                ),
                Refused("invalid_claims"),
            ),
            (
                "host a string".to_owned(),
                signed(HS256, &claims(&id, json!({"host": "true"}))),
                Refused("invalid_claims"),
            ),
            (
                "host null".to_owned(),
                signed(HS256, &claims(&id, json!({"host": null}))),
                Refused("invalid_claims"),
            ),
        ];
        judge_tokens(&env, &id, &cases).await;

        // Bytes outside visible ASCII: obs-text (≥ 0x80) reaches the app, which cannot read the
        // header as text and so sees no credential at all; control bytes cannot even be put in a
        // header value (the real server's codec answers 400, see bins/server/tests/it).
        let app = test::init_service(aliaskit_http::app(env.api.clone())).await;
        let mut failures = Vec::new();
        for raw in [
            format!("Bearer {good}\u{e9}").into_bytes(),
            format!("Bearer \u{e9}{good}").into_bytes(),
            [b"Bearer ".as_slice(), &[0xff, 0xfe], good.as_bytes()].concat(),
            format!("Bearer {}", "\u{1f600}".repeat(100)).into_bytes(),
        ] {
            let value = HeaderValue::from_bytes(&raw).unwrap();
            let answer = call(
                &app,
                retrieve(&id)
                    .insert_header(("Authorization", value))
                    .to_request(),
            )
            .await;
            if let Err(problem) = check_token_answer(&answer, &good, Refused("unauthorized")) {
                failures.push(format!("{:?}: {problem}", String::from_utf8_lossy(&raw)));
            }
        }
        report(&failures);
        for control in [0u8, 1, b'\n', b'\r', 0x1b, 0x7f] {
            let raw = [b"Bearer ".as_slice(), good.as_bytes(), &[control]].concat();
            assert!(
                HeaderValue::from_bytes(&raw).is_err(),
                "byte {control:#x} is a valid header value byte"
            );
        }
        assert_served(&call(&app, good_request(&id).to_request()).await, &id);
    }
}

#[actix_web::test]
async fn a_refusal_quoting_non_ascii_keeps_its_www_authenticate_header() {
    // Regression: the reason quoted the token's `alg` as received; a non-ASCII one made the
    // header value invalid and the 401 went out without `WWW-Authenticate`.
    let env = envs().remove(0);
    let id = protected(&env).await;
    let token = signed(
        "{\"alg\":\"ＨＳ２５６\",\"x\":\"\\\"\\\\\"}",
        &claims(&id, json!({})),
    );
    let answer = send(
        &env.api,
        retrieve(&id).insert_header(("Authorization", format!("Bearer {token}"))),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.body["error"]["detail"],
        "unsupported algorithm \"ＨＳ２５６\": allowed are HS256, HS384, HS512"
    );
    assert_eq!(
        answer.header("www-authenticate"),
        Some(
            "Bearer realm=\"aliaskit\", error=\"invalid_token\", error_description=\"unsupported algorithm '?????': allowed are HS256, HS384, HS512\""
        )
    );
}
