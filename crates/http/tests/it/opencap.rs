//! OpenCAP over HTTP (`docs/opencap.md`): every error case of the protocol, CORS, limits.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use aliaskit_http::{Api, RateLimiter};
use aliaskit_service::{OpenCapConfig, Service, ServiceConfig};
use serde_json::{Value, json};

use crate::*;

const PASSWORD: &str = "correct horse battery";
const BTC: &str = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2";
const NANO: &str = "nano_1os1zf6ne5ydfmugdnqhwqbgze3p6f6x4k7fsz7epadknw7fae7qmihkaj8i";

/// One API per backend, serving example.com with open signup, logins unlimited.
fn apis() -> Vec<(aliaskit_store::testing::TestDb, Api)> {
    TestApp::new()
        .with_opencap()
        .unlimited()
        .envs()
        .into_iter()
        .map(|env| (env.db, env.api))
        .collect()
}

async fn signup(api: &Api, alias: &str) -> Answer {
    send(
        api,
        TestRequest::post()
            .uri("/v1/users")
            .set_json(json!({"alias": alias, "password": PASSWORD})),
    )
    .await
}

async fn login(api: &Api, alias: &str, password: &str) -> Answer {
    send(
        api,
        TestRequest::post()
            .uri("/v1/auth")
            .set_json(json!({"alias": alias, "password": password})),
    )
    .await
}

async fn jwt(api: &Api) -> String {
    assert_eq!(
        signup(api, "alice$example.com").await.status,
        StatusCode::OK
    );
    let answer = login(api, "alice$example.com", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body["jwt"].as_str().unwrap().to_owned()
}

async fn put(api: &Api, token: &str, body: Value) -> Answer {
    send(
        api,
        TestRequest::put()
            .uri("/v1/addresses")
            .insert_header(("Authorization", format!("Bearer {token}")))
            .set_json(body),
    )
    .await
}

fn message(answer: &Answer) -> String {
    let mut keys: Vec<_> = answer
        .body
        .as_object()
        .unwrap_or_else(|| panic!("{answer:?}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["code", "message"],
        "OpenCAP error bodies are {{message, code}}"
    );
    answer.body["message"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn publish_and_resolve_with_extensions_always_present() {
    for (db, api) in apis() {
        let b = db.backend();
        let token = jwt(&api).await;
        let answer = put(&api, &token, json!({"address_type": 100, "address": BTC})).await;
        assert_eq!(answer.status, StatusCode::OK, "{b:?} {:?}", answer.body);
        assert_eq!(
            answer.body,
            json!({"address_type": 100, "address": BTC, "extensions": {}})
        );
        put(
            &api,
            &token,
            json!({"address_type": 300, "address": NANO, "extensions": {"memo": "hi"}}),
        )
        .await;

        for alias in ["alice$example.com", "alice%24example.com"] {
            let one = send(
                &api,
                TestRequest::get().uri(&format!("/v1/addresses?alias={alias}&address_type=100")),
            )
            .await;
            assert_eq!(one.status, StatusCode::OK);
            assert_eq!(
                one.body,
                json!({"address_type": 100, "address": BTC, "extensions": {}})
            );
            assert_eq!(
                one.header("access-control-allow-origin"),
                Some("*"),
                "without an Origin too, so a cached answer serves browsers"
            );
        }
        let all = send(
            &api,
            TestRequest::get().uri("/v1/addresses?alias=alice$example.com"),
        )
        .await;
        assert_eq!(
            all.body,
            json!([
                {"address_type": 100, "address": BTC, "extensions": {}},
                {"address_type": 300, "address": NANO, "extensions": {"memo": "hi"}},
            ])
        );
    }
}

#[actix_web::test]
async fn malformed_aliases_and_types_are_400_with_a_message() {
    let (_db, api) = apis().remove(0);
    let cases = [
        (
            "/v1/addresses",
            "alias is required, as in ?alias=alice$example.com",
        ),
        (
            "/v1/addresses?alias=alice$example.com&address_type=btc",
            "address_type: address type \"btc\" is not a number; supported: 100, 101, 102, 103, 200, 201, 202, 300",
        ),
        (
            "/v1/addresses?alias=aliceexample.com",
            "alias: the alias needs exactly one '$', as in \"name$example.com\"; found 0",
        ),
        (
            "/v1/addresses?alias=a$b$example.com",
            "alias: the alias needs exactly one '$', as in \"name$example.com\"; found 2",
        ),
        (
            "/v1/addresses?alias=Alice$example.com",
            "alias: upper-case letters are not allowed in the username; found 'A'",
        ),
        (
            "/v1/addresses?alias=abcdefghijklmnopqrstuvwxyz$example.com",
            "alias: the username is 26 characters; at most 25",
        ),
        (
            "/v1/addresses?alias=$example.com",
            "alias: the username (before '$') is empty",
        ),
        ("/v1/addresses?alias=alice$example", ""),
        (
            "/v1/addresses?alias=alice$%D0%BF%D1%80%D0%B8%D0%BC%D0%B5%D1%80.com",
            "",
        ),
        (
            "/v1/addresses?alias=alice$example.com&address_type=999",
            "address_type: unknown address type 999; supported: 100, 101, 102, 103, 200, 201, 202, 300",
        ),
    ];
    for (uri, expected) in cases {
        let answer = send(&api, TestRequest::get().uri(uri)).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{uri}: {:?}",
            answer.body
        );
        let text = message(&answer);
        if expected.is_empty() {
            assert!(text.starts_with("alias: "), "{uri}: {text}");
        } else {
            assert_eq!(text, expected, "{uri}");
        }
    }
}

#[actix_web::test]
async fn unknown_alias_and_missing_address_are_404() {
    let (_db, api) = apis().remove(0);
    let answer = send(
        &api,
        TestRequest::get().uri("/v1/addresses?alias=nobody$example.com"),
    )
    .await;
    assert_eq!(
        (answer.status, message(&answer)),
        (StatusCode::NOT_FOUND, "alias not found".into())
    );
    let token = jwt(&api).await;
    let _ = token;
    let answer = send(
        &api,
        TestRequest::get().uri("/v1/addresses?alias=alice$example.com&address_type=102"),
    )
    .await;
    assert_eq!(
        (answer.status, message(&answer)),
        (
            StatusCode::NOT_FOUND,
            "this alias has no address of type 102".into()
        )
    );
    let all = send(
        &api,
        TestRequest::get().uri("/v1/addresses?alias=alice$example.com"),
    )
    .await;
    assert_eq!((all.status, all.body), (StatusCode::OK, json!([])));
}

#[actix_web::test]
async fn login_failures_are_401_and_repeated_ones_lock() {
    for (db, api) in apis() {
        let b = db.backend();
        jwt(&api).await;
        for (alias, password) in [
            ("nobody$example.com", PASSWORD),
            ("alice$example.com", "wrong password"),
            ("alice$example.com", "short"),
        ] {
            let answer = login(&api, alias, password).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{b:?} {alias}");
            assert_eq!(message(&answer), "invalid alias or password");
        }
        // Only the wrong password of a possible length counted against alice; two more make
        // three (the threshold): locked, even with the right password.
        for _ in 0..2 {
            assert_eq!(
                login(&api, "alice$example.com", "wrong password")
                    .await
                    .status,
                StatusCode::UNAUTHORIZED
            );
        }
        let answer = login(&api, "alice$example.com", PASSWORD).await;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{b:?}");
        assert_eq!(answer.body["code"], "account_locked");
        // 15 minutes, less the second that may tick between the lock and this request.
        let retry: u64 = answer.header("retry-after").unwrap().parse().unwrap();
        assert!((890..=900).contains(&retry), "{retry}");
    }
}

#[actix_web::test]
async fn bad_json_and_bad_addresses_are_400() {
    let (_db, api) = apis().remove(0);
    let token = jwt(&api).await;
    let answer = send(
        &api,
        TestRequest::post()
            .uri("/v1/auth")
            .insert_header(("Content-Type", "application/json"))
            .set_payload("{\"alias\":"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(message(&answer).starts_with("the body is not valid JSON"));

    let cases = [
        (
            json!({"address_type": 100, "address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"}),
            "address: bad checksum: the address has a typo or is incomplete",
        ),
        (
            json!({"address_type": 999, "address": BTC}),
            "address_type: unknown address type 999; supported: 100, 101, 102, 103, 200, 201, 202, 300",
        ),
        (
            json!({"address_type": 101, "address": BTC}),
            "address: version byte 0x00 is a P2PKH address; type 101 is P2SH (version byte 0x05)",
        ),
        (
            json!({"address_type": "100", "address": BTC}),
            "address_type: invalid type: string \"100\", expected u16",
        ),
        (
            json!({"address_type": 100, "address": BTC, "extensions": [1]}),
            "extensions must be a JSON object, such as {}",
        ),
        (json!({"address": BTC}), "missing field `address_type`"),
    ];
    for (body, expected) in cases {
        let answer = put(&api, &token, body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(message(&answer), expected, "{body}");
    }
}

#[actix_web::test]
async fn missing_tampered_expired_and_foreign_tokens_are_401() {
    let (_db, api) = apis().remove(0);
    let token = jwt(&api).await;
    let body = json!({"address_type": 100, "address": BTC});

    let answer = send(
        &api,
        TestRequest::put()
            .uri("/v1/addresses")
            .set_json(body.clone()),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        message(&answer),
        "send the token from POST /v1/auth as Authorization: Bearer <jwt>"
    );

    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let answer = put(&api, &tampered, body.clone()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(
        matches!(
            answer.body["code"].as_str(),
            Some("bad_signature" | "malformed_token")
        ),
        "{:?}",
        answer.body
    );

    // Signed by another server's key ring.
    let (_other_db, other) = apis().remove(0);
    let foreign = jwt(&other).await;
    let answer = put(&api, &foreign, body.clone()).await;
    assert_eq!(
        (answer.status, answer.body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_signature"))
    );

    // A Datagram-style token: no kid, wrong audience.
    let access = token_for(
        SECRET,
        json!({"alias": "x", "user_id": "u", "iat": now(), "exp": now() + 60}),
    );
    let answer = put(&api, &access, body.clone()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);

    // Expired: a ring token with exp in the past cannot be minted through the API, so expiry is
    // covered in the service tests with a moved clock; here the header says why on refusal.
    assert!(
        answer
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer realm=\"aliaskit\"")
    );
}

fn token_for(secret: &str, claims: Value) -> String {
    crate::token(secret, claims)
}

#[actix_web::test]
async fn a_deleted_users_token_stops_working_and_its_alias_is_gone() {
    for (db, api) in apis() {
        let b = db.backend();
        let token = jwt(&api).await;
        put(&api, &token, json!({"address_type": 100, "address": BTC})).await;
        let answer = send(
            &api,
            TestRequest::delete()
                .uri("/v1/users")
                .insert_header(("Authorization", format!("Bearer {token}"))),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{b:?}");
        let answer = put(&api, &token, json!({"address_type": 100, "address": BTC})).await;
        assert_eq!(
            (answer.status, message(&answer)),
            (
                StatusCode::UNAUTHORIZED,
                "the user of this token no longer exists".into()
            )
        );
        let answer = send(
            &api,
            TestRequest::get().uri("/v1/addresses?alias=alice$example.com"),
        )
        .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
        assert_eq!(
            login(&api, "alice$example.com", PASSWORD).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}

#[actix_web::test]
async fn duplicate_signup_is_409_and_closed_signup_needs_an_organization_key() {
    let (db, api) = apis().remove(0);
    assert_eq!(
        signup(&api, "alice$example.com").await.status,
        StatusCode::OK
    );
    let answer = signup(&api, "alice$example.com").await;
    assert_eq!(
        (answer.status, message(&answer)),
        (
            StatusCode::CONFLICT,
            "this alias is already registered".into()
        )
    );

    let closed_service = Service::new(
        db.db.clone(),
        ServiceConfig {
            opencap: OpenCapConfig {
                domains: vec!["example.com".into()],
                ..OpenCapConfig::default()
            },
            ..ServiceConfig::default()
        },
    );
    let (_, key) = closed_service
        .create_org(&aliaskit_domain::OrgName::parse("wallet-co").unwrap())
        .unwrap();
    let closed = Api::new(closed_service);
    let answer = signup(&closed, "bob$example.com").await;
    assert_eq!(
        (answer.status, message(&answer)),
        (
            StatusCode::UNAUTHORIZED,
            "signup needs an organization API key on this server".into()
        )
    );
    let answer = send(
        &closed,
        TestRequest::post()
            .uri("/v1/users")
            .insert_header(("Authorization", format!("Bearer {}", key.expose())))
            .set_json(json!({"alias": "bob$example.com", "password": PASSWORD})),
    )
    .await;
    assert_eq!(
        (answer.status, answer.body.clone()),
        (StatusCode::OK, json!({"alias": "bob$example.com"}))
    );
    let answer = signup(&api, "carol$example.com").await;
    assert_eq!(answer.status, StatusCode::OK);
    let answer = send(
        &api,
        TestRequest::post()
            .uri("/v1/users")
            .set_json(json!({"alias": "dave$example.com", "password": "short"})),
    )
    .await;
    assert_eq!(
        (answer.status, message(&answer)),
        (
            StatusCode::BAD_REQUEST,
            "password is 5 characters; at least 10 are required".into()
        )
    );
    let answer = signup(&api, "erin$other.org").await;
    assert_eq!(
        (answer.status, message(&answer)),
        (
            StatusCode::BAD_REQUEST,
            "this server does not hold aliases of other.org".into()
        )
    );
}

#[actix_web::test]
async fn delete_address_answers_200_then_404() {
    let (_db, api) = apis().remove(0);
    let token = jwt(&api).await;
    put(&api, &token, json!({"address_type": 100, "address": BTC})).await;
    let delete = |t: &str| {
        TestRequest::delete()
            .uri(&format!("/v1/addresses/{t}"))
            .insert_header(("Authorization", format!("Bearer {token}")))
    };
    let answer = send(&api, delete("100")).await;
    assert_eq!(
        (answer.status, answer.body.clone()),
        (
            StatusCode::OK,
            json!({"message": "address of type 100 deleted"})
        )
    );
    let answer = send(&api, delete("100")).await;
    assert_eq!(
        (answer.status, message(&answer)),
        (
            StatusCode::NOT_FOUND,
            "this alias has no address of type 100".into()
        )
    );
    let answer = send(&api, delete("abc")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}

/// As the OpenCAP reference server: `Access-Control-Allow-Origin: *` on every answer under
/// `/v1`, whether or not the request has an `Origin` (an answer a cache stored for a request
/// without one must serve a browser too), successes and errors alike; preflights answered.
#[actix_web::test]
async fn cors_is_open_and_preflight_is_answered() {
    let (_db, api) = apis().remove(0);
    let token = jwt(&api).await;
    let bearer = format!("Bearer {token}");
    put(&api, &token, json!({"address_type": 100, "address": BTC})).await;
    let requests = || {
        [
            (
                TestRequest::get().uri("/v1/addresses?alias=alice$example.com&address_type=100"),
                200,
            ),
            (
                TestRequest::get().uri("/v1/addresses?alias=alice$example.com"),
                200,
            ),
            (
                TestRequest::put()
                    .uri("/v1/addresses")
                    .insert_header(("Authorization", bearer.clone()))
                    .set_json(json!({"address_type": 100, "address": BTC})),
                200,
            ),
            (
                TestRequest::get().uri("/v1/addresses?alias=nobody$example.com"),
                404,
            ),
            (TestRequest::get().uri("/v1/addresses?alias=Alice"), 400),
            (TestRequest::delete().uri("/v1/users"), 401),
            (
                TestRequest::post()
                    .uri("/v1/auth")
                    .insert_header(("Content-Type", "text/plain"))
                    .set_payload("{}"),
                415,
            ),
            (TestRequest::patch().uri("/v1/addresses"), 405),
            (TestRequest::get().uri("/v1/nope"), 404),
        ]
    };
    for origin in [None, Some("https://wallet.example")] {
        for (req, status) in requests() {
            let req = match origin {
                Some(origin) => req.insert_header(("Origin", origin)),
                None => req,
            };
            let answer = send(&api, req).await;
            assert_eq!(
                answer.status.as_u16(),
                status,
                "{origin:?} {:?}",
                answer.body
            );
            assert_eq!(
                answer.header("access-control-allow-origin"),
                Some("*"),
                "{origin:?} {status} {:?}",
                answer.body
            );
        }
    }
    // The lookup again, now answered from the service's cache, with and without Origin.
    for origin in ["https://wallet.example", "https://other.example"] {
        let answer = send(
            &api,
            TestRequest::get()
                .uri("/v1/addresses?alias=alice$example.com&address_type=100")
                .insert_header(("Origin", origin)),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    }

    let preflight = send(
        &api,
        TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/v1/addresses")
            .insert_header(("Origin", "https://wallet.example"))
            .insert_header(("Access-Control-Request-Method", "PUT"))
            .insert_header((
                "Access-Control-Request-Headers",
                "authorization, content-type",
            )),
    )
    .await;
    assert!(preflight.status.is_success(), "{:?}", preflight.status);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    assert!(
        preflight
            .header("access-control-allow-methods")
            .unwrap()
            .contains("PUT")
    );
    // A refused preflight is an answer under /v1 too.
    let refused = send(
        &api,
        TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/v1/addresses")
            .insert_header(("Origin", "https://wallet.example"))
            .insert_header(("Access-Control-Request-Method", "PATCH")),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.header("access-control-allow-origin"), Some("*"));
    // Outside /v1 there is no CORS, with or without Origin.
    for origin in [None, Some("https://wallet.example")] {
        let req = TestRequest::get().uri("/healthz");
        let req = match origin {
            Some(origin) => req.insert_header(("Origin", origin)),
            None => req,
        };
        let answer = send(&api, req).await;
        assert_eq!(answer.header("access-control-allow-origin"), None);
    }
}

#[actix_web::test]
async fn login_attempts_are_limited_per_client_ip() {
    let (_db, api) = apis().remove(0);
    let limited = Api {
        auth_limiter: Arc::new(RateLimiter::new(2, Duration::from_secs(60))),
        ..api
    };
    let from = |ip: &str| {
        TestRequest::post()
            .uri("/v1/auth")
            .peer_addr(format!("{ip}:4000").parse().unwrap())
            .set_json(json!({"alias": "nobody$example.com", "password": PASSWORD}))
    };
    for _ in 0..2 {
        assert_eq!(
            send(&limited, from("10.0.0.1")).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let answer = send(&limited, from("10.0.0.1")).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    // The rest of the minute-long window, rounded up.
    let retry: u64 = answer.header("retry-after").unwrap().parse().unwrap();
    assert!((50..=60).contains(&retry), "{retry}");
    assert_eq!(
        message(&answer),
        format!("too many attempts from this address; retry in {retry} s")
    );
    assert_eq!(
        send(&limited, from("10.0.0.2")).await.status,
        StatusCode::UNAUTHORIZED,
        "another client is not limited"
    );
}

#[actix_web::test]
async fn unknown_v1_routes_and_methods_answer_in_the_opencap_shape() {
    let (_db, api) = apis().remove(0);
    let answer = send(&api, TestRequest::get().uri("/v1/nope")).await;
    assert_eq!(
        (answer.status, message(&answer)),
        (StatusCode::NOT_FOUND, "no route for GET /v1/nope".into())
    );
    let answer = send(&api, TestRequest::patch().uri("/v1/addresses")).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.header("allow"), Some("GET, PUT"));
    message(&answer);
}

#[actix_web::test]
async fn a_malformed_query_string_is_400_in_the_opencap_shape() {
    let (_db, api) = apis().remove(0);
    let answer = send(
        &api,
        TestRequest::get().uri("/v1/addresses?alias=a$example.com&alias=b$example.com"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&answer),
        "bad query string: Query deserialize error: duplicate field `alias`"
    );
}
