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
//!
//! By subject: `algorithms` (none, confusion, keys that point elsewhere), `claims` (duplicate
//! members, `crit`, hostile dates), `encoding` (size, base64url, segments, characters) and
//! `requests` (odd paths, heads, queries and preflights on every route family).

mod algorithms;
mod claims;
mod encoding;
mod requests;

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

/// One environment per backend, without rate limits: these tests send a hundred requests a
/// second on purpose (a flood is answered with a JSON 429, but that is not what they are about).
fn envs() -> Vec<Env> {
    TestApp::new().unlimited().envs()
}

/// Sends each token as `Authorization: Bearer <token>` to the retrieve of alias `id` and checks
/// it gets what it wants: `401` with the code, message `UNAUTHORIZED`, `WWW-Authenticate`, the
/// token never echoed; or `200` for a positive control. Then a good token still gets `200`.
async fn judge_tokens(env: &Env, id: &str, cases: &[(String, String, Want)]) {
    let app = test::init_service(aliaskit_http::app(env.api.clone())).await;
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
        let check = call(
            &app,
            TestRequest::post()
                .uri(&format!("/organization/api/v1/alias/{id}/token-check"))
                .insert_header(("Authorization", format!("Bearer {}", env.key)))
                .set_json(json!({"token": token}))
                .to_request(),
        )
        .await;
        if let Err(problem) = check_token_check(&check, token, *want) {
            failures.push(format!("{label}, token-check: {problem}"));
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

/// The organization's token check of a case agrees with the retrieve: `200`, `valid` for a
/// positive control only, the retrieve's code for a refused token (a bearer the retrieve does
/// not take for a JWT, refused as `unauthorized`, is a `malformed_token` here), never the
/// token echoed. A token too big for the request body limit (64 KiB) is the documented `413`.
fn check_token_check(answer: &Answer, token: &str, want: Want) -> Result<(), String> {
    if token.len() > 65_536 - 16 {
        let (status, code, _) = datagram_error(answer)?;
        return match (status, code.as_str()) {
            (413, "payload_too_large") => Ok(()),
            _ => Err(format!("wanted 413 payload_too_large, got {}", answer.body)),
        };
    }
    if answer.status != StatusCode::OK {
        return Err(format!("wanted 200, got {} {}", answer.status, answer.body));
    }
    let data = &answer.body["data"];
    let wanted = match want {
        Admitted => (true, Value::Null),
        Refused("unauthorized") => (false, json!("malformed_token")),
        Refused(code) => (false, json!(code)),
    };
    if (data["valid"].as_bool(), &data["code"]) != (Some(wanted.0), &wanted.1) {
        return Err(format!("wanted {wanted:?}, got {data}"));
    }
    let shown = answer.body.to_string();
    if let Some(segment) = token
        .split('.')
        .filter(|s| s.len() > 12)
        .find(|s| shown.contains(*s))
    {
        return Err(format!("the answer echoes the token segment {segment:?}"));
    }
    Ok(())
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
