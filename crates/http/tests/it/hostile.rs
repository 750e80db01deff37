//! Hostile input (issue 5, part 4): the RFC 8725 attack classes against the bearer token of
//! `GET /api/v1/alias/{id}`, and oversized or odd requests on every route family.
//!
//! Every case is answered `4xx` with the documented JSON error shape (Datagram routes:
//! `{"error": {"message", "code", …}}`; `/v1/*`: `{"message", "code"}`) and its stable code;
//! none is accepted, none is a 5xx or a failed service call (what a server would turn into a
//! dropped connection), and the same app instance answers a good request afterwards.
//!
//! Tokens are built by hand and their HMACs computed here, with RustCrypto, not by aliaskit, so
//! each case breaks exactly one rule: a duplicate member or a padded segment carries a MAC that
//! is valid over the bytes sent. What happens below the application — the HTTP/1 codec's limits
//! on the request head — cannot be reached through `actix_web::test` and is tested against the
//! real server in `bins/server/tests/it/hostile.rs`.

use std::fmt::Write as _;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderValue;
use actix_web::test::{self, TestRequest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Sha256, Sha384, Sha512};

use crate::*;

/// A key the attacker owns, as long as the alias's, so that its length gives nothing away.
const ATTACKER: &str = "attacker-key-attacker-key-attack";

/// The usual header, as Joken and most libraries write it.
const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// What a case must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// `401` with this token or auth code and the message `UNAUTHORIZED`.
    Refused(&'static str),
    /// `200` — a positive control: the same trick with the alias's real secret.
    Admitted,
}

use Want::{Admitted, Refused};

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The HMAC of `input` under `key` (`alg` is HS256, HS384 or HS512), computed here.
fn mac(alg: &str, key: &[u8], input: &[u8]) -> Vec<u8> {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], input: &[u8]) -> Vec<u8> {
        let mut m = <M as Mac>::new_from_slice(key).unwrap();
        m.update(input);
        m.finalize().into_bytes().to_vec()
    }
    match alg {
        "HS256" => run::<Hmac<Sha256>>(key, input),
        "HS384" => run::<Hmac<Sha384>>(key, input),
        "HS512" => run::<Hmac<Sha512>>(key, input),
        other => panic!("no HMAC called {other}"),
    }
}

/// `BASE64URL(header) '.' BASE64URL(payload)` from raw JSON text.
fn signing_input(header: &str, payload: &str) -> String {
    format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()))
}

/// Appends an HS256 MAC under the alias's secret to an already encoded signing input, valid
/// over exactly those bytes.
fn sign_input(input: &str) -> String {
    format!(
        "{input}.{}",
        b64(&mac("HS256", SECRET.as_bytes(), input.as_bytes()))
    )
}

/// A token from raw header and payload text with `alg`'s HMAC under `key`.
fn signed_with(alg: &str, key: &str, header: &str, payload: &str) -> String {
    let input = signing_input(header, payload);
    let sig = mac(alg, key.as_bytes(), input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

/// A token from raw header and payload text, HS256 under the alias's real secret.
fn signed(header: &str, payload: &str) -> String {
    signed_with("HS256", SECRET, header, payload)
}

/// Claims that pass every rule for alias `id`, as JSON text, with `extra` members.
fn claims(id: &str, extra: Value) -> String {
    let mut c = json!({"alias": id, "user_id": "u", "iat": now(), "exp": now() + 300});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c.to_string()
}

/// A payload for alias `id` whose date members are the raw JSON text `dates`.
fn payload_with_dates(id: &str, dates: &str) -> String {
    format!(r#"{{"alias":"{id}","user_id":"u",{dates}}}"#)
}

/// `GET /api/v1/alias/{id}`.
fn retrieve(id: &str) -> TestRequest {
    TestRequest::get().uri(&format!("/api/v1/alias/{id}"))
}

/// Sends `req` through `app` — one instance for a whole test, as a running server keeps it —
/// and reads the answer. A failed service call (what the server would turn into a dropped
/// connection) fails the test.
async fn call<S, R, B>(app: &S, req: R) -> Answer
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    match app.call(req).await {
        Ok(res) => crate::read(res).await,
        Err(e) => panic!("the service failed instead of answering: {e}"),
    }
}

/// The Datagram error shape, exactly: `{"error": {"message": str, "code": str, "detail"?}}`.
/// Returns `(status, code, message)`, or a description of what is wrong with the body.
fn datagram_error(answer: &Answer) -> Result<(u16, String, String), String> {
    let shape = || format!("not the Datagram error shape: {}", answer.body);
    let outer = answer.body.as_object().ok_or_else(shape)?;
    let error = outer
        .get("error")
        .and_then(Value::as_object)
        .filter(|_| outer.len() == 1)
        .ok_or_else(shape)?;
    let text = |k: &str| error.get(k).and_then(Value::as_str).map(str::to_owned);
    let (Some(code), Some(message)) = (text("code"), text("message")) else {
        return Err(shape());
    };
    if error
        .keys()
        .any(|k| !["code", "message", "detail"].contains(&k.as_str()))
    {
        return Err(shape());
    }
    Ok((answer.status.as_u16(), code, message))
}

/// The OpenCAP error shape, exactly: `{"message": str, "code": str}`. Returns
/// `(status, code)`, or a description of what is wrong with the body.
fn opencap_error(answer: &Answer) -> Result<(u16, String), String> {
    let shape = || format!("not the OpenCAP error shape: {}", answer.body);
    let body = answer.body.as_object().ok_or_else(shape)?;
    match (body.get("message"), body.get("code"), body.len()) {
        (Some(Value::String(_)), Some(Value::String(code)), 2) => {
            Ok((answer.status.as_u16(), code.clone()))
        }
        _ => Err(shape()),
    }
}

/// Fails with every collected mismatch at once, so one run shows them all.
fn report(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} case(s) answered otherwise:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `api` without rate limits: these tests send a hundred requests a second on purpose (a flood
/// is answered with a JSON 429, but that is not what they are about).
fn unlimited(api: &aliaskit_http::Api) -> aliaskit_http::Api {
    let second = std::time::Duration::from_secs(1);
    aliaskit_http::Api {
        auth_limiter: std::sync::Arc::new(aliaskit_http::RateLimiter::new(0, second)),
        retrieve_limiter: std::sync::Arc::new(aliaskit_http::RateLimiter::new(0, second)),
        org_limiter: std::sync::Arc::new(aliaskit_http::RateLimiter::new(0, second)),
        ..api.clone()
    }
}

/// Sends each token as `Authorization: Bearer <token>` to the retrieve of alias `id` and checks
/// it gets what it wants: `401` with the code, message `UNAUTHORIZED`, `WWW-Authenticate`, the
/// token never echoed; or `200` for a positive control. Then a good token still gets `200`.
async fn judge_tokens(env: &Env, id: &str, cases: &[(String, String, Want)]) {
    let app = test::init_service(aliaskit_http::app(unlimited(&env.api))).await;
    let mut failures = Vec::new();
    for (label, token, want) in cases {
        let answer = call(
            &app,
            retrieve(id)
                .insert_header(("Authorization", format!("Bearer {token}")))
                .to_request(),
        )
        .await;
        if let Err(problem) = check_token_answer(&answer, token, *want) {
            failures.push(format!("{label}: {problem}"));
        }
    }
    report(&failures);
    assert_served(&call(&app, good_request(id).to_request()).await, id);
}

fn check_token_answer(answer: &Answer, token: &str, want: Want) -> Result<(), String> {
    match want {
        Admitted => {
            if answer.status != StatusCode::OK {
                return Err(format!("wanted 200, got {} {}", answer.status, answer.body));
            }
            if answer.body["data"]["jwt_secret"] != Value::Null {
                return Err("the secret was shown".into());
            }
            Ok(())
        }
        Refused(code) => {
            let (status, got, message) = datagram_error(answer)?;
            if (status, got.as_str(), message.as_str()) != (401, code, "UNAUTHORIZED") {
                return Err(format!(
                    "wanted 401 {code}, got {status} {got} ({})",
                    answer.body
                ));
            }
            let www = answer.header("www-authenticate").unwrap_or_default();
            if !www.starts_with("Bearer realm=\"aliaskit\"") {
                return Err(format!("WWW-Authenticate is {www:?}"));
            }
            let shown = format!("{} {www}", answer.body);
            if let Some(segment) = token
                .split('.')
                .filter(|s| s.len() > 12)
                .find(|s| shown.contains(*s))
            {
                return Err(format!("the answer echoes the token segment {segment:?}"));
            }
            Ok(())
        }
    }
}

/// A request a healthy server answers `200`: a good token for alias `id`.
fn good_request(id: &str) -> TestRequest {
    let good = token(
        SECRET,
        json!({"alias": id, "user_id": "after", "iat": now(), "exp": now() + 60}),
    );
    retrieve(id).insert_header(("Authorization", format!("Bearer {good}")))
}

/// The answer to [`good_request`]: `200` with the alias.
fn assert_served(answer: &Answer, id: &str) {
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    assert_eq!(answer.body["data"]["id"], id);
}

/// An alias with a `jwt_secret`, created through the API; its id.
async fn protected(env: &Env) -> String {
    created(env, create_body()).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn alg_none_in_every_spelling_is_refused() {
    for env in envs() {
        let id = protected(&env).await;
        let payload = claims(&id, json!({}));
        let mut cases = Vec::new();
        for alg in [
            "none",
            "None",
            "NONE",
            "nOnE",
            "none ",
            " none",
            "",
            "none\u{0}",
        ] {
            for typ in [None, Some("JWT")] {
                let mut header = json!({"alg": alg});
                if let Some(t) = typ {
                    header["typ"] = json!(t);
                }
                let input = signing_input(&header.to_string(), &payload);
                let real_mac = b64(&mac("HS256", SECRET.as_bytes(), input.as_bytes()));
                for (sig_label, sig) in [("empty", ""), ("AAAA", "AAAA"), ("real MAC", &real_mac)] {
                    cases.push((
                        format!("alg {alg:?} typ {typ:?}, {sig_label} signature"),
                        format!("{input}.{sig}"),
                        Refused("unsupported_algorithm"),
                    ));
                }
            }
        }
        // `alg` that is not a string, or missing: the header itself is malformed.
        for header in [
            r#"{"typ":"JWT"}"#,
            r#"{"alg":null}"#,
            r#"{"alg":["HS256"]}"#,
            r#"{"alg":{"name":"HS256"}}"#,
            r#"{"alg":256}"#,
            r#"{"alg":true}"#,
        ] {
            cases.push((
                format!("header {header}"),
                signed(header, &payload),
                Refused("malformed_token"),
            ));
        }
        judge_tokens(&env, &id, &cases).await;
    }
}

#[actix_web::test]
async fn algorithm_confusion_is_refused() {
    for env in envs() {
        let id = protected(&env).await;
        let payload = claims(&id, json!({}));
        let mut cases = Vec::new();
        // Asymmetric algorithms, the classic confusion: the "public key" used as an HMAC
        // secret. Here the MAC is even right under the alias's secret; only `alg` is wrong.
        for alg in [
            "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "ES256K", "PS256", "PS384",
            "PS512", "EdDSA", "Ed25519", "hs256", "Hs256", "HS256 ", "HS1", "HS", "dir", "A128KW",
            "RSA-OAEP",
        ] {
            cases.push((
                format!("alg {alg:?}, HS256 MAC under the real secret"),
                signed(&json!({"alg": alg, "typ": "JWT"}).to_string(), &payload),
                Refused("unsupported_algorithm"),
            ));
        }
        // An HMAC header over another HMAC's MAC: the MAC is computed with the header's
        // algorithm, so it does not verify.
        for (header_alg, mac_alg) in [
            ("HS384", "HS256"),
            ("HS512", "HS256"),
            ("HS256", "HS384"),
            ("HS256", "HS512"),
            ("HS512", "HS384"),
        ] {
            let input = signing_input(&json!({"alg": header_alg}).to_string(), &payload);
            let sig = mac(mac_alg, SECRET.as_bytes(), input.as_bytes());
            cases.push((
                format!("alg {header_alg} over a {mac_alg} MAC"),
                format!("{input}.{}", b64(&sig)),
                Refused("bad_signature"),
            ));
            // And the truncations an attacker might try: a longer MAC cut to the header's
            // length.
            let truncated = &sig[..sig.len().min(32)];
            cases.push((
                format!("alg {header_alg} over a {mac_alg} MAC cut to 32 bytes"),
                format!("{input}.{}", b64(truncated)),
                Refused("bad_signature"),
            ));
        }
        // The real MAC with its last byte dropped or one byte too many.
        let good = signed(HS256, &payload);
        let (input, sig) = good.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        let mut longer = sig.clone();
        longer.push(0);
        for (label, bytes) in [
            ("short MAC", &sig[..31]),
            ("long MAC", &longer[..]),
            ("empty MAC", &[][..]),
        ] {
            cases.push((
                label.to_owned(),
                format!("{input}.{}", b64(bytes)),
                Refused("bad_signature"),
            ));
        }
        cases.push(("positive control".into(), good, Admitted));
        judge_tokens(&env, &id, &cases).await;
    }
}

#[actix_web::test]
async fn duplicate_members_and_crit_are_refused_even_with_a_valid_mac() {
    for env in envs() {
        let id = protected(&env).await;
        let now = now();
        let good = claims(&id, json!({}));
        let mut cases = Vec::new();
        for header in [
            r#"{"alg":"HS256","alg":"none"}"#,
            r#"{"alg":"none","alg":"HS256"}"#,
            r#"{"alg":"HS256","alg":"HS256"}"#,
            r#"{"alg":"HS256","typ":"JWT","typ":"JWT"}"#,
            r#"{"alg":"HS256","\u0061lg":"none"}"#,
            r#"{"alg":"HS256","kid":"a","kid":"b"}"#,
            r#"{"alg":"HS256","x":{"y":1,"y":2}}"#,
        ] {
            cases.push((
                format!("header {header}"),
                signed(header, &good),
                Refused("malformed_token"),
            ));
        }
        for payload in [
            format!(
                r#"{{"alias":"{id}","user_id":"u","iat":{now},"exp":{},"exp":{}}}"#,
                now + 300,
                now + 86_400 * 365
            ),
            format!(
                r#"{{"alias":"{id}","user_id":"u","iat":{now},"exp":{},"exp":{}}}"#,
                now - 3600,
                now + 300
            ),
            format!(
                r#"{{"alias":"someone-else","alias":"{id}","user_id":"u","iat":{now},"exp":{}}}"#,
                now + 300
            ),
            format!(
                r#"{{"alias":"{id}","alias":"someone-else","user_id":"u","iat":{now},"exp":{}}}"#,
                now + 300
            ),
            format!(
                r#"{{"alias":"{id}","\u0061lias":"{id}","user_id":"u","iat":{now},"exp":{}}}"#,
                now + 300
            ),
            format!(
                r#"{{"alias":"{id}","user_id":"u","host":false,"host":true,"iat":{now},"exp":{}}}"#,
                now + 300
            ),
            format!(
                r#"{{"alias":"{id}","user_id":"u","iat":{now},"exp":{},"x":{{"a":1,"a":2}}}}"#,
                now + 300
            ),
            format!(
                r#"{{"alias":"{id}","user_id":"u","iat":{now},"exp":{},"x":[{{"a":1,"a":2}}]}}"#,
                now + 300
            ),
        ] {
            cases.push((
                format!("payload {payload}"),
                signed(HS256, &payload),
                Refused("malformed_token"),
            ));
        }
        for header in [
            r#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
            r#"{"alg":"HS256","crit":[]}"#,
            r#"{"alg":"HS256","crit":["b64"],"b64":false}"#,
            r#"{"alg":"HS256","crit":null}"#,
        ] {
            cases.push((
                format!("header {header}"),
                signed(header, &good),
                Refused("malformed_token"),
            ));
        }
        judge_tokens(&env, &id, &cases).await;
    }
}

#[actix_web::test]
async fn key_pointing_headers_are_never_followed() {
    for env in envs() {
        let id = protected(&env).await;
        let payload = claims(&id, json!({}));
        let attacker_jwk = json!({"kty": "oct", "k": b64(ATTACKER.as_bytes())});
        let headers = [
            json!({"alg": "HS256", "jwk": attacker_jwk}),
            json!({"alg": "HS256", "jku": "https://attacker.example/jwks.json"}),
            json!({"alg": "HS256", "jku": "file:///etc/passwd"}),
            json!({"alg": "HS256", "x5u": "https://attacker.example/cert.pem"}),
            json!({"alg": "HS256", "x5c": ["MIIBszCCAVmgAwIBAgIJAK"]}),
            json!({"alg": "HS256", "kid": "attacker"}),
            json!({"alg": "HS256", "kid": "../../../../../../dev/null"}),
            json!({"alg": "HS256", "kid": "' UNION SELECT 'attacker-key-attacker-key-attack' --"}),
            json!({"alg": "HS256", "kid": 0}),
            json!({"alg": "HS256", "kid": {"$ne": null}}),
            json!({"alg": "HS256", "typ": "JWT", "jwk": attacker_jwk, "jku": "https://attacker.example/", "kid": "attacker", "x5u": "https://attacker.example/"}),
        ];
        let mut cases = Vec::new();
        for header in headers {
            let header = header.to_string();
            cases.push((
                format!("{header} signed with the attacker's key"),
                signed_with("HS256", ATTACKER, &header, &payload),
                Refused("bad_signature"),
            ));
            // The empty key a `kid: /dev/null` attack aims for.
            cases.push((
                format!("{header} signed with the empty key"),
                signed_with("HS256", "", &header, &payload),
                Refused("bad_signature"),
            ));
            cases.push((
                format!("{header} signed with the alias's secret"),
                signed(&header, &payload),
                Admitted,
            ));
        }
        judge_tokens(&env, &id, &cases).await;
    }
}

#[actix_web::test]
async fn hostile_numeric_dates_are_refused_with_their_code() {
    for env in envs() {
        let id = protected(&env).await;
        let now = now();
        let soon = now + 300;
        let mut cases = Vec::new();
        let mut add = |dates: String, want: Want| {
            cases.push((
                format!("dates {dates}"),
                signed(HS256, &payload_with_dates(&id, &dates)),
                want,
            ));
        };
        let invalid = Refused("invalid_claims");
        for exp in [
            "1e19",
            "-1e19",
            "10000000000000000000",
            "18446744073709551616",
            "-9223372036854775808",
            "9223372036854775807",
            "1.7976931348623157e308",
            "-1",
            "-0.5",
            "253402300800",
            "\"9999999999\"",
            "\"\"",
            "null",
            "true",
            "[]",
            "{}",
            "[1]",
        ] {
            add(format!(r#""iat":{now},"exp":{exp}"#), invalid);
        }
        for number in [
            "1e400",
            "-1e400",
            "NaN",
            "Infinity",
            "-Infinity",
            "0x10",
            "01",
            "1.",
            ".5",
            "+1",
        ] {
            // Not JSON numbers at all (or out of f64's range): the payload is not valid JSON.
            add(
                format!(r#""iat":{now},"exp":{number}"#),
                Refused("malformed_token"),
            );
        }
        for (dates, want) in [
            (format!(r#""iat":{now},"exp":0"#), Refused("token_expired")),
            (
                format!(r#""iat":{now},"exp":1e-400"#),
                Refused("token_expired"),
            ),
            (
                format!(r#""iat":{now},"exp":-0.0"#),
                Refused("token_expired"),
            ),
            (
                format!(r#""iat":{now},"exp":{}"#, now - 3600),
                Refused("token_expired"),
            ),
            (format!(r#""iat":1e19,"exp":{soon}"#), invalid),
            (format!(r#""iat":-1,"exp":{soon}"#), invalid),
            (format!(r#""iat":null,"exp":{soon}"#), invalid),
            (format!(r#""iat":"{now}","exp":{soon}"#), invalid),
            (
                format!(r#""iat":{},"exp":{}"#, now + 3600, now + 3900),
                Refused("token_issued_in_future"),
            ),
            (format!(r#""nbf":1e19,"exp":{soon}"#), invalid),
            (format!(r#""nbf":-5,"exp":{soon}"#), invalid),
            (
                format!(r#""nbf":{},"exp":{}"#, now + 3600, now + 3900),
                Refused("token_not_yet_valid"),
            ),
            (format!(r#""iat":{now},"expires_in":-1"#), invalid),
            (format!(r#""iat":{now},"expires_in":1.5"#), invalid),
            (format!(r#""iat":{now},"expires_in":1e19"#), invalid),
            (
                format!(r#""iat":{now},"expires_in":18446744073709551615"#),
                invalid,
            ),
            (format!(r#""iat":{now},"expires_in":"60""#), invalid),
            (format!(r#""iat":{now},"expires_in":null"#), invalid),
            (r#""expires_in":60"#.to_owned(), invalid),
            (format!(r#""iat":{now}"#), Refused("token_missing_expiry")),
            (
                format!(r#""iat":{now},"exp":{}"#, now + 86_400 * 2),
                Refused("token_lifetime_too_long"),
            ),
            (
                format!(r#""iat":0,"exp":{soon}"#),
                Refused("token_lifetime_too_long"),
            ),
            (
                format!(r#""iat":{now},"expires_in":9999999999"#),
                Refused("token_lifetime_too_long"),
            ),
            // Fractions are floored (documented), so these are fine.
            (format!(r#""iat":{now}.9,"exp":{soon}.75"#), Admitted),
            (format!(r#""iat":{now},"exp":{soon}e0"#), Admitted),
        ] {
            add(dates, want);
        }
        judge_tokens(&env, &id, &cases).await;
    }
}

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
        let app = test::init_service(aliaskit_http::app(unlimited(&env.api))).await;
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

/// An OpenCAP user's login token, `alice$example.com`, on an API that serves `example.com`.
struct World {
    /// Keeps the database alive.
    _db: aliaskit_store::testing::TestDb,
    api: aliaskit_http::Api,
    /// `acme`'s API key.
    key: String,
    /// Alias ids: with a `jwt_secret`, with a passcode (`pin`) only, with neither.
    protected: String,
    passcode: String,
    public: String,
    /// `alice$example.com`'s login token.
    jwt: String,
}

/// One [`World`] per backend.
async fn worlds() -> Vec<World> {
    let mut all = Vec::new();
    for db in aliaskit_store::testing::TestDb::all().unwrap() {
        let config = aliaskit_service::ServiceConfig {
            opencap: aliaskit_service::OpenCapConfig {
                domains: vec!["example.com".into()],
                open_signup: true,
                ..Default::default()
            },
            ..Default::default()
        };
        let service = aliaskit_service::Service::new(db.db.clone(), config);
        let (_, key) = service
            .create_org(&aliaskit_domain::OrgName::parse("acme").unwrap())
            .unwrap();
        let api = unlimited(&aliaskit_http::Api::new(service));
        let env = Env {
            db,
            api,
            key: key.expose().to_owned(),
        };
        let protected = protected(&env).await;
        let with = |body: Value| created(&env, body);
        let passcode =
            with(json!({"type": "live", "passcode": "pin-2468", "expired_at": now() + 3600})).await
                ["id"]
                .as_str()
                .unwrap()
                .to_owned();
        let public = with(json!({"type": "live", "expired_at": now() + 3600})).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let credentials =
            json!({"alias": "alice$example.com", "password": "correct horse battery"});
        let signup = send(
            &env.api,
            TestRequest::post().uri("/v1/users").set_json(&credentials),
        )
        .await;
        assert_eq!(signup.status, StatusCode::OK, "{:?}", signup.body);
        let login = send(
            &env.api,
            TestRequest::post().uri("/v1/auth").set_json(&credentials),
        )
        .await;
        assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
        all.push(World {
            jwt: login.body["jwt"].as_str().unwrap().to_owned(),
            _db: env.db,
            api: env.api,
            key: env.key,
            protected,
            passcode,
            public,
        });
    }
    all
}

/// A request of a case: method, URI, `Authorization` bytes, more headers, a JSON body.
struct Req {
    method: &'static str,
    uri: String,
    authorization: Option<Vec<u8>>,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Value>,
}

impl Req {
    fn new(method: &'static str, uri: impl Into<String>) -> Self {
        Req {
            method,
            uri: uri.into(),
            authorization: None,
            headers: Vec::new(),
            body: None,
        }
    }

    fn auth(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.authorization = Some(value.into());
        self
    }

    fn header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    fn build(&self) -> TestRequest {
        let method = actix_web::http::Method::from_bytes(self.method.as_bytes()).unwrap();
        let mut req = TestRequest::default().method(method).uri(&self.uri);
        if let Some(a) = &self.authorization {
            req = req.insert_header(("Authorization", HeaderValue::from_bytes(a).unwrap()));
        }
        for (name, value) in &self.headers {
            req = req.append_header((name.as_str(), HeaderValue::from_bytes(value).unwrap()));
        }
        if let Some(body) = &self.body {
            req = req.set_json(body);
        }
        req
    }

    /// A short name for failure messages.
    fn label(&self) -> String {
        let mut uri: String = self.uri.chars().take(90).collect();
        if self.uri.len() > 90 {
            write!(uri, "…({} bytes)", self.uri.len()).unwrap();
        }
        let auth = self
            .authorization
            .as_ref()
            .map(|a| format!(" auth {} bytes", a.len()))
            .unwrap_or_default();
        let headers = if self.headers.is_empty() {
            String::new()
        } else {
            format!(" +{} headers", self.headers.len())
        };
        format!("{} {uri}{auth}{headers}", self.method)
    }
}

/// The answer a case wants: a status and a code in the shape of the path's routes (`None`
/// for a `200`).
type Expected = (u16, Option<&'static str>);

/// Sends every case through one app and checks status, shape and code; then the app still
/// serves a good request.
async fn judge_requests(world: &World, cases: &[(Req, Expected)]) {
    let app = test::init_service(aliaskit_http::app(world.api.clone())).await;
    let mut failures = Vec::new();
    for (req, (status, code)) in cases {
        let answer = call(&app, req.build().to_request()).await;
        let got = if answer.status.is_success() {
            Ok((answer.status.as_u16(), None))
        } else if aliaskit_http::Flavor::of_path(req.uri.split('?').next().unwrap_or_default())
            == aliaskit_http::Flavor::OpenCap
        {
            opencap_error(&answer).map(|(s, c)| (s, Some(c)))
        } else {
            datagram_error(&answer).map(|(s, c, _)| (s, Some(c)))
        };
        match got {
            Ok((s, c)) if s == *status && c.as_deref() == *code => {}
            Ok((s, c)) => failures.push(format!(
                "{}: wanted {status} {code:?}, got {s} {c:?}: {}",
                req.label(),
                shorten_body(&answer.body)
            )),
            Err(problem) => failures.push(format!("{}: {} {problem}", req.label(), answer.status)),
        }
    }
    report(&failures);
    let id = &world.protected;
    assert_served(&call(&app, good_request(id).to_request()).await, id);
}

fn shorten_body(body: &Value) -> String {
    body.to_string().chars().take(300).collect()
}

/// Path ids that cannot be alias ids, percent-encoded as a client would send them.
const ODD_IDS: &[&str] = &[
    "..",
    ".",
    "%2E%2E",
    "%2F",
    "a%2Fb",
    "%2F..%2F..%2Fetc%2Fpasswd",
    "%00",
    "a%00b",
    "%C3%A9",
    "%F0%9F%98%80",
    "%",
    "%Z",
    "%ZZ",
    "%C3",
    "%FF",
    "%20",
    "a%20b",
    "a;b",
    "a:b",
    "~a",
    "%252F",
    "a.b",
    "+",
    "*",
    "'",
    "a'OR'1'='1",
    "$",
    "@",
    "%0D%0ASet-Cookie:x=1",
    "%7B%7D",
    "..%2F..%2F",
];

#[actix_web::test]
async fn odd_path_ids_are_json_404s_on_every_route_family() {
    for world in worlds().await {
        let long_ids = [
            "x".repeat(65),
            "x".repeat(8 * 1024),
            format!("{}x", world.protected),
        ];
        let ids = ODD_IDS
            .iter()
            .map(|s| (*s).to_owned())
            .chain(long_ids)
            .collect::<Vec<_>>();
        let key = format!("Bearer {}", world.key);
        let jwt = format!("Bearer {}", world.jwt);
        let mut cases = Vec::new();
        for id in &ids {
            let not_found = (404, Some("alias_not_found"));
            cases.push((Req::new("GET", format!("/api/v1/alias/{id}")), not_found));
            cases.push((
                Req::new("GET", format!("/api/v1/alias/{id}")).auth(key.clone()),
                not_found,
            ));
            cases.push((
                Req::new("GET", format!("/organization/api/v1/alias/{id}")).auth(key.clone()),
                not_found,
            ));
            cases.push((
                Req::new("POST", format!("/organization/api/v1/alias/update/{id}"))
                    .auth(key.clone())
                    .json(json!({"type": "live"})),
                not_found,
            ));
            cases.push((
                Req::new("DELETE", format!("/organization/api/v1/alias/delete/{id}"))
                    .auth(key.clone()),
                not_found,
            ));
            cases.push((
                Req::new("DELETE", format!("/v1/addresses/{id}")).auth(jwt.clone()),
                (400, Some("invalid_request")),
            ));
        }
        // Paths no route serves.
        let no_route = (404, Some("not_found"));
        for path in [
            "/api/v1/alias/".to_owned(),
            "/api/v1/alias//".to_owned(),
            "/api/v1/alias/a/b".to_owned(),
            format!("/api/v1/alias/{}/", world.protected),
            format!("/api/v1/alias/{}/..", world.protected),
            format!("/api/v1/alias//{}", world.protected),
            format!("/api/v1/alias/{}/../{}", world.protected, world.public),
            "/organization/api/v1/alias/".to_owned(),
            "/organization/api/v1/alias/update/".to_owned(),
            "/organization/api/v1/alias/delete/".to_owned(),
            format!("/{}", "x".repeat(8 * 1024)),
            "//".to_owned(),
            "/%00".to_owned(),
            "/%2e%2e/%2e%2e/etc/passwd".to_owned(),
        ] {
            cases.push((Req::new("GET", path).auth(key.clone()), no_route));
        }
        cases.push((
            Req::new("DELETE", "/v1/addresses/").auth(jwt.clone()),
            (404, Some("not_found")),
        ));
        judge_requests(&world, &cases).await;
    }
}

#[actix_web::test]
async fn oversized_headers_and_query_strings_are_json_4xx() {
    for world in worlds().await {
        let (protected, passcode, public) = (&world.protected, &world.passcode, &world.public);
        let key = format!("Bearer {}", world.key);
        let jwt = format!("Bearer {}", world.jwt);
        let shaped =
            |len: usize| format!("Bearer {}.{}.c", "a".repeat(len / 2), "b".repeat(len / 2));
        let k16 = format!("Bearer {}", "a".repeat(16 * 1024));
        let k64 = format!("Bearer {}", "a".repeat(64 * 1024));
        let big_query = "p".repeat(60 * 1024);
        let unauthorized = (401, Some("unauthorized"));
        let mut cases = vec![
            (Req::new("GET", format!("/api/v1/alias/{protected}")).auth(k16.clone()), unauthorized),
            (Req::new("GET", format!("/api/v1/alias/{protected}")).auth(k64.clone()), unauthorized),
            (Req::new("GET", format!("/api/v1/alias/{protected}")).auth("a".repeat(64 * 1024)), unauthorized),
            (Req::new("GET", format!("/api/v1/alias/{protected}")).auth(shaped(16 * 1024)), (401, Some("malformed_token"))),
            (Req::new("GET", format!("/api/v1/alias/{protected}")).auth(shaped(64 * 1024)), (401, Some("malformed_token"))),
            (Req::new("GET", format!("/api/v1/alias/{passcode}")).auth(k64.clone()), unauthorized),
            (Req::new("GET", format!("/api/v1/alias/{public}")).auth(k64.clone()), (200, None)),
            (Req::new("GET", "/organization/api/v1/aliases").auth(k16.clone()), unauthorized),
            (Req::new("GET", "/organization/api/v1/aliases").auth(k64.clone()), unauthorized),
            (Req::new("POST", "/organization/api/v1/alias/create").auth(k64.clone()).json(create_body()), unauthorized),
            (Req::new("DELETE", format!("/organization/api/v1/alias/delete/{protected}")).auth(k64.clone()), unauthorized),
            // OpenCAP reads any bearer as its login token and answers with the token's code.
            (Req::new("PUT", "/v1/addresses").auth(k64.clone()).json(json!({"address_type": 100, "address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"})), (401, Some("malformed_token"))),
            (Req::new("PUT", "/v1/addresses").auth(shaped(64 * 1024)).json(json!({"address_type": 100, "address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"})), (401, Some("malformed_token"))),
            (Req::new("DELETE", "/v1/users").auth(k64.clone()), (401, Some("malformed_token"))),
            (Req::new("DELETE", "/v1/addresses/100").auth(k16.clone()), (401, Some("malformed_token"))),
            (Req::new("DELETE", "/v1/users").auth(format!("Bearer {}", signed(r#"{"alg":"none"}"#, "{}"))), (401, Some("unsupported_algorithm"))),
            (Req::new("DELETE", "/v1/users").auth(jwt.replace("Bearer ", "Bearer x")), (401, Some("malformed_token"))),
            // Long query strings (the in-process client cannot build a URI over 64 KiB; the real
            // server's codec answers those, see bins/server/tests/it/hostile.rs).
            (Req::new("GET", format!("/api/v1/alias/{passcode}?passcode={big_query}")), unauthorized),
            (Req::new("GET", format!("/api/v1/alias/{protected}?passcode={big_query}")), unauthorized),
            (Req::new("GET", format!("/api/v1/alias/{public}?cache={big_query}")), (200, None)),
            (Req::new("GET", format!("/api/v1/alias/{passcode}?passcode=%FF%FE")), unauthorized),
            (Req::new("GET", format!("/api/v1/alias/{passcode}?passcode=%")), unauthorized),
            (Req::new("GET", format!("/api/v1/alias/{passcode}?passcode=pin-2468%00")), unauthorized),
            (Req::new("GET", format!("/api/v1/alias/{passcode}?passcode[]=pin")), unauthorized),
            (Req::new("GET", format!("/api/v1/alias/{passcode}?passcode=pin-2468&passcode=pin-2468")), (400, Some("invalid_request"))),
            (Req::new("GET", format!("/api/v1/alias/{passcode}?passcode=pin-2468")), (200, None)),
            (Req::new("GET", format!("/organization/api/v1/aliases?x={big_query}")).auth(key.clone()), (400, Some("invalid_request"))),
            (Req::new("GET", format!("/organization/api/v1/aliases?after={big_query}")).auth(key.clone()), (400, Some("invalid_request"))),
            (Req::new("GET", format!("/v1/addresses?alias={big_query}%24example.com")), (400, Some("invalid_request"))),
            (Req::new("GET", format!("/v1/addresses?alias=alice%24example.com&address_type={}", "1".repeat(10_000))), (400, Some("invalid_request"))),
        ];
        // Many headers, and one huge one, reach the app in-process (the codec's limits are for
        // the real server).
        let mut many = Req::new("GET", format!("/api/v1/alias/{public}"));
        for i in 0..90 {
            many = many.header(format!("x-junk-{i}"), "j".repeat(1024));
        }
        cases.push((many, (200, None)));
        cases.push((
            Req::new("GET", format!("/api/v1/alias/{public}"))
                .header("x-junk", "j".repeat(1024 * 1024)),
            (200, None),
        ));
        // Fifty `Authorization` headers, a bad token first and good ones after: only the first
        // is read, and it is refused.
        let good = format!("Bearer {}", signed(HS256, &claims(protected, json!({}))));
        let mut many_auth = Req::new("GET", format!("/api/v1/alias/{protected}")).header(
            "authorization",
            format!(
                "Bearer {}",
                signed_with("HS256", ATTACKER, HS256, &claims(protected, json!({})))
            ),
        );
        for _ in 0..49 {
            many_auth = many_auth.header("authorization", good.clone());
        }
        cases.push((many_auth, (401, Some("bad_signature"))));
        cases.push((
            Req::new("GET", format!("/api/v1/alias/{protected}"))
                .header("x-request-id", "x".repeat(64 * 1024)),
            unauthorized,
        ));
        judge_requests(&world, &cases).await;
    }
}

#[actix_web::test]
async fn odd_opencap_queries_and_listing_parameters_are_json_400s() {
    for world in worlds().await {
        let key = format!("Bearer {}", world.key);
        let mut cases = Vec::new();
        let bad = (400, Some("invalid_request"));
        for alias in [
            "",
            "%00",
            "alice%24example.com%00",
            "..",
            "alice%24..",
            "%F0%9F%98%80%24example.com",
            "alice%24example.com%2F..%2Fx",
            "alice%24example.com/../x",
            "aaaaaaaaaaaaaaaaaaaaaaaaaa%24example.com",
            "ALICE%24example.com",
            "alice%24%24example.com",
            "alice%24example.c0m",
            "alice",
            "%24",
            "%24example.com",
            "alice%24",
            "%",
            "%ZZ",
            "%FF",
            "alice%24example.com.",
            "alice%24.example.com",
            "alice%24example..com",
            "alice%24-example.com",
            "alice%24%C3%A9xample.com",
            "alice%24EXAMPLE.COM",
            "alice%20%24example.com",
            "alice%24example.com%20",
            "alice%0A%24example.com",
        ] {
            cases.push((Req::new("GET", format!("/v1/addresses?alias={alias}")), bad));
        }
        let unknown = (404, Some("alias_not_found"));
        cases.push((
            Req::new("GET", "/v1/addresses?alias=bob%24example.com"),
            unknown,
        ));
        cases.push((
            Req::new("GET", "/v1/addresses?alias=bob%24xn--bcher-kva.example"),
            unknown,
        ));
        for t in [
            "-1",
            "1e2",
            "100.0",
            "0x64",
            "99999999999999999999",
            "%00",
            "abc",
            "100%00",
            "%D9%A1%D9%A0%D9%A0",
            "100%20100",
            "1%2C2",
            "%",
            "%FF",
            "%2B100",
            "%2D100",
        ] {
            cases.push((
                Req::new(
                    "GET",
                    format!("/v1/addresses?alias=alice%24example.com&address_type={t}"),
                ),
                bad,
            ));
        }
        cases.push((
            Req::new(
                "GET",
                "/v1/addresses?alias=alice%24example.com&alias=bob%24example.com",
            ),
            bad,
        ));
        // `+` is a space in a query string, and the type is trimmed: a valid type.
        for t in ["100", "+100", "%20100%20"] {
            cases.push((
                Req::new(
                    "GET",
                    format!("/v1/addresses?alias=alice%24example.com&address_type={t}"),
                ),
                (404, Some("address_not_found")),
            ));
        }
        cases.push((
            Req::new("GET", "/v1/addresses?alias=alice%24example.com"),
            (200, None),
        ));
        // An empty `limit` is taken as absent: the default page.
        cases.push((
            Req::new("GET", "/organization/api/v1/aliases?limit=").auth(key.clone()),
            (200, None),
        ));
        for query in [
            "limit=0",
            "limit=-1",
            "limit=201",
            "limit=1e3",
            "limit=99999999999999999999",
            "limit=abc",
            "limit=%00",
            "limit=1&limit=2",
            "after=%00",
            "after=garbage",
            "after=..",
            "after=%FF%FE",
            "type=video",
            "type=%00",
            "unknown=1",
        ] {
            cases.push((
                Req::new("GET", format!("/organization/api/v1/aliases?{query}")).auth(key.clone()),
                bad,
            ));
        }
        judge_requests(&world, &cases).await;
    }
}

#[actix_web::test]
async fn refused_cors_preflights_are_json_in_the_opencap_shape() {
    // Regression: actix-cors answers a refused preflight with a plain-text 400 and no content
    // type; the observe middleware now gives it the OpenCAP error shape.
    let env = envs().remove(0);
    let app = test::init_service(aliaskit_http::app(unlimited(&env.api))).await;
    let preflight = |extra: Option<(&'static str, &'static str)>, method: &'static str| {
        let mut req = TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/v1/addresses")
            .insert_header(("Origin", "https://wallet.example"))
            .insert_header(("Access-Control-Request-Method", method));
        if let Some(h) = extra {
            req = req.insert_header(h);
        }
        req.to_request()
    };
    for (req, message) in [
        (preflight(None, "PATCH"), "Requested method is not allowed"),
        (
            preflight(Some(("Access-Control-Request-Headers", "x-evil")), "GET"),
            "One or more request headers are not allowed",
        ),
    ] {
        let answer = call(&app, req).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            answer.body,
            json!({"message": message, "code": "bad_request"})
        );
        assert_eq!(answer.header("content-type"), Some("application/json"));
        assert!(answer.header("x-request-id").is_some());
    }
    let answer = call(&app, preflight(None, "GET")).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "an allowed preflight is untouched"
    );
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
}
