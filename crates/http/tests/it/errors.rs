//! Every error is JSON in the `docs/api.md#errors` shape: bad bodies, unknown routes, wrong methods,
//! oversized bodies, an unavailable database; and the service endpoints.

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use aliaskit_http::Api;
use serde_json::json;

use crate::*;

fn post_create(env: &Env) -> TestRequest {
    TestRequest::post()
        .uri("/organization/api/v1/alias/create")
        .insert_header(("Authorization", format!("Bearer {}", env.key)))
}

#[actix_web::test]
async fn bad_create_bodies_are_400_naming_the_field() {
    let env = envs().remove(0);
    let at = now() + 3600;
    let cases = [
        (
            json!({"expired_at": at}),
            Some("type"),
            "missing field `type`",
        ),
        (
            json!({"type": "conference"}),
            Some("expired_at"),
            "missing field `expired_at`",
        ),
        (
            json!({"type": "video", "expired_at": at}),
            Some("type"),
            "type: unknown variant `video`, expected `conference` or `live`",
        ),
        (
            json!({"type": "live", "expired_at": "1737456308"}),
            Some("expired_at"),
            "expired_at: invalid type: string \"1737456308\", expected i64",
        ),
        (
            json!({"type": "live", "expired_at": at, "passcod": "x"}),
            Some("passcod"),
            "passcod: unknown field `passcod`, expected one of `type`, `name`, `passcode`, `jwt_secret`, `stream_key`, `expired_at`",
        ),
        (
            json!({"type": "live", "expired_at": at * 1000}),
            Some("expired_at"),
            "",
        ),
        (
            json!({"type": "live", "expired_at": 1000}),
            Some("expired_at"),
            "",
        ),
        (
            json!({"type": "live", "expired_at": at, "jwt_secret": "myJWTsecret123"}),
            Some("jwt_secret"),
            "",
        ),
        (
            json!({"type": "live", "expired_at": at, "name": "n".repeat(256)}),
            Some("name"),
            "name is 256 characters long; the limit is 255",
        ),
        (
            json!({"type": "live", "expired_at": at, "passcode": ""}),
            Some("passcode"),
            "passcode must not be empty; send null (or leave it out) for none",
        ),
    ];
    for (body, field, message) in cases {
        let answer = send(&env.api, post_create(&env).set_json(body.clone())).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        let (code, text) = error_of(&answer);
        assert_eq!(code, "invalid_request", "{body}");
        if !message.is_empty() {
            assert_eq!(text, message, "{body}");
        }
        assert_eq!(
            answer.body["error"]["detail"]["field"].as_str(),
            field,
            "{body}: {:?}",
            answer.body
        );
    }
    let ms = send(
        &env.api,
        post_create(&env).set_json(json!({"type": "live", "expired_at": at * 1000})),
    )
    .await;
    assert!(
        error_of(&ms)
            .1
            .contains("looks like milliseconds; send Unix time in seconds")
    );
    let short = send(
        &env.api,
        post_create(&env)
            .set_json(json!({"type": "live", "expired_at": at, "jwt_secret": "myJWTsecret123"})),
    )
    .await;
    assert!(error_of(&short).1.contains("RFC 7518 §3.2"));
}

#[actix_web::test]
async fn malformed_json_wrong_content_type_and_oversized_bodies_are_json_errors() {
    let env = envs().remove(0);
    let answer = send(
        &env.api,
        post_create(&env)
            .insert_header(("Content-Type", "application/json"))
            .set_payload("{\"type\": "),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&answer).0, "malformed_json");
    assert!(
        error_of(&answer)
            .1
            .starts_with("the body is not valid JSON: EOF while parsing"),
        "{:?}",
        answer.body
    );

    let answer = send(
        &env.api,
        post_create(&env)
            .insert_header(("Content-Type", "text/plain"))
            .set_payload("{}"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        error_of(&answer),
        (
            "unsupported_media_type".into(),
            "send the body as JSON with Content-Type: application/json".into()
        )
    );

    let answer = send(&env.api, post_create(&env).set_payload("{}")).await;
    assert_eq!(
        answer.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "no content type at all"
    );

    let huge = json!({"type": "live", "expired_at": now() + 60, "name": "x".repeat(70 * 1024)});
    let answer = send(&env.api, post_create(&env).set_json(huge)).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        error_of(&answer),
        (
            "payload_too_large".into(),
            "the request body is larger than 65536 bytes".into()
        )
    );

    let answer = send(
        &env.api,
        post_create(&env)
            .insert_header(("Content-Type", "application/json; charset=utf-8"))
            .set_payload(create_body().to_string()),
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "parameters of the media type are fine"
    );
}

#[actix_web::test]
async fn unknown_routes_are_404_and_wrong_methods_405_with_allow() {
    let env = envs().remove(0);
    let answer = send(&env.api, TestRequest::get().uri("/nope?x=1")).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(
        error_of(&answer),
        ("not_found".into(), "no route for GET /nope".into())
    );

    let answer = send(
        &env.api,
        TestRequest::get().uri("/organization/api/v1/alias/create"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        error_of(&answer),
        (
            "method_not_allowed".into(),
            "GET is not allowed here; use POST".into()
        )
    );
    assert_eq!(answer.header("allow"), Some("POST"));

    let answer = send(&env.api, TestRequest::post().uri("/api/v1/alias/abc")).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.header("allow"), Some("GET"));
}

#[actix_web::test]
async fn health_ready_and_request_ids() {
    let env = envs().remove(0);
    let answer = send(&env.api, TestRequest::get().uri("/healthz")).await;
    assert_eq!(
        (answer.status, answer.body.clone()),
        (StatusCode::OK, json!({"status": "ok"}))
    );
    let id = answer.header("x-request-id").unwrap();
    assert_eq!(id.len(), 16);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));

    let answer = send(
        &env.api,
        TestRequest::get()
            .uri("/readyz")
            .insert_header(("X-Request-Id", "trace-abc.123")),
    )
    .await;
    assert_eq!(
        (answer.status, answer.body.clone()),
        (StatusCode::OK, json!({"status": "ready"}))
    );
    assert_eq!(
        answer.header("x-request-id"),
        Some("trace-abc.123"),
        "a sane incoming id is kept"
    );

    let answer = send(
        &env.api,
        TestRequest::get()
            .uri("/healthz")
            .insert_header(("X-Request-Id", "evil\tlog line")),
    )
    .await;
    assert_ne!(answer.header("x-request-id"), Some("evil\tlog line"));

    // Load balancers that probe with HEAD get the status without a body.
    for path in ["/healthz", "/readyz"] {
        let answer = send(
            &env.api,
            TestRequest::default().method(Method::HEAD).uri(path),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        let answer = send(&env.api, TestRequest::delete().uri(path)).await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(answer.header("allow"), Some("GET, HEAD"), "{path}");
    }
}

/// An `Api` over a PostgreSQL that is not there, serving OpenCAP aliases of example.com.
fn unreachable() -> Api {
    let db = aliaskit_store::Database::open(
        "postgres://nobody:hunter2@127.0.0.1:1/none",
        aliaskit_store::PoolOptions {
            max_size: 1,
            connect_timeout: std::time::Duration::from_millis(200),
            ..aliaskit_store::PoolOptions::default()
        },
        aliaskit_store::testing::test_vault().unwrap(),
    )
    .unwrap();
    let config = aliaskit_service::ServiceConfig {
        opencap: aliaskit_service::OpenCapConfig {
            domains: vec!["example.com".into()],
            ..aliaskit_service::OpenCapConfig::default()
        },
        ..aliaskit_service::ServiceConfig::default()
    };
    Api::new(aliaskit_service::Service::new(db, config))
}

#[actix_web::test]
async fn an_unreachable_database_is_503_with_retry_after_and_an_opaque_body() {
    let api = unreachable();
    let answer = send(&api, TestRequest::get().uri("/readyz")).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.header("retry-after"), Some("5"));
    let id = answer.header("x-request-id").unwrap().to_owned();
    assert_eq!(
        answer.body,
        json!({"error": {"message": "the service is temporarily unavailable; retry shortly", "code": "unavailable", "detail": {"request_id": id}}})
    );

    let key = format!("ak_{}", "A".repeat(43));
    let answer = send(
        &api,
        TestRequest::post()
            .uri("/organization/api/v1/alias/create")
            .insert_header(("Authorization", format!("Bearer {key}")))
            .set_json(create_body()),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!answer.body.to_string().contains("hunter2"));
    let answer = send(&api, TestRequest::get().uri("/api/v1/alias/abc")).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
}

/// The error shape is decided by the route, whatever layer answered — a handler, an extractor,
/// the router's `404` or `405`: under `/v1` every error is OpenCAP's `{"message", "code"}`,
/// elsewhere Datagram's `{"error": {"message", "code", "detail"?}}`; the headers are the same.
#[actix_web::test]
async fn the_error_shape_is_decided_by_the_route() {
    let env = envs().remove(0);
    let key = format!("Bearer {}", env.key);
    let huge = json!({"alias": "a$example.com", "password": "x".repeat(70 * 1024)});
    let json_body = |req: TestRequest, body: &str| {
        req.insert_header(("Content-Type", "application/json"))
            .set_payload(body.to_owned())
    };
    let create = || {
        TestRequest::post()
            .uri("/organization/api/v1/alias/create")
            .insert_header(("Authorization", key.clone()))
    };
    let opencap = [
        (TestRequest::delete().uri("/v1/users"), 401, "unauthorized"),
        (
            json_body(TestRequest::post().uri("/v1/auth"), &huge.to_string()),
            413,
            "payload_too_large",
        ),
        (
            TestRequest::post()
                .uri("/v1/auth")
                .insert_header(("Content-Type", "text/plain"))
                .set_payload("{}"),
            415,
            "unsupported_media_type",
        ),
        (
            json_body(TestRequest::post().uri("/v1/auth"), "{\"alias\": "),
            400,
            "malformed_json",
        ),
        (
            TestRequest::get().uri("/v1/addresses?alias=a&alias=b"),
            400,
            "invalid_request",
        ),
        (TestRequest::get().uri("/v1/nope"), 404, "not_found"),
        (TestRequest::get().uri("/v1"), 404, "not_found"),
        (
            TestRequest::patch().uri("/v1/addresses"),
            405,
            "method_not_allowed",
        ),
    ];
    for (req, status, code) in opencap {
        let answer = send(&env.api, req).await;
        let mut keys: Vec<&str> = answer
            .body
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        assert_eq!(
            (answer.status.as_u16(), keys, answer.body["code"].as_str()),
            (status, vec!["code", "message"], Some(code)),
            "{:?}",
            answer.body
        );
        assert!(answer.body["message"].is_string());
        assert_eq!(answer.header("content-type"), Some("application/json"));
        match status {
            401 => assert_eq!(
                (
                    answer.header("www-authenticate"),
                    answer.body["message"].as_str()
                ),
                (
                    Some("Bearer realm=\"aliaskit\""),
                    Some("send the token from POST /v1/auth as Authorization: Bearer <jwt>")
                ),
                "OpenCAP's message is the reason"
            ),
            405 => assert_eq!(answer.header("allow"), Some("GET, PUT")),
            _ => {}
        }
    }

    let datagram = [
        (
            TestRequest::get().uri("/organization/api/v1/aliases"),
            401,
            "unauthorized",
        ),
        (
            json_body(create(), &"x".repeat(70 * 1024)),
            413,
            "payload_too_large",
        ),
        (
            create()
                .insert_header(("Content-Type", "text/plain"))
                .set_payload("{}"),
            415,
            "unsupported_media_type",
        ),
        (json_body(create(), "{\"type\": "), 400, "malformed_json"),
        (
            TestRequest::get()
                .uri("/organization/api/v1/aliases?limit=1&limit=2")
                .insert_header(("Authorization", key.clone())),
            400,
            "invalid_request",
        ),
        (TestRequest::get().uri("/nope"), 404, "not_found"),
        // A path that only starts like the OpenCAP scope is not under it.
        (TestRequest::get().uri("/v1x/addresses"), 404, "not_found"),
        (
            TestRequest::patch().uri("/healthz"),
            405,
            "method_not_allowed",
        ),
    ];
    for (req, status, code) in datagram {
        let answer = send(&env.api, req).await;
        assert_eq!(
            (answer.status.as_u16(), error_of(&answer).0),
            (status, code.to_owned()),
            "{:?}",
            answer.body
        );
        assert_eq!(answer.body.as_object().map(|o| o.len()), Some(1));
        assert_eq!(answer.header("content-type"), Some("application/json"));
        if status == 405 {
            assert_eq!(answer.header("allow"), Some("GET, HEAD"));
            assert_eq!(
                answer.body["error"]["detail"],
                json!({"allow": "GET, HEAD"})
            );
        }
    }
    let answer = send(
        &env.api,
        TestRequest::get().uri("/organization/api/v1/aliases"),
    )
    .await;
    assert_eq!(
        answer.body,
        json!({"error": {"message": "UNAUTHORIZED", "code": "unauthorized", "detail": "send the organization API key as Authorization: Bearer <key>"}}),
        "Datagram's message is UNAUTHORIZED, the reason in detail"
    );
    assert_eq!(
        answer.header("www-authenticate"),
        Some("Bearer realm=\"aliaskit\"")
    );

    // The opaque 5xx, written by the observe middleware, is in the route's shape too.
    let api = unreachable();
    let answer = send(
        &api,
        TestRequest::get().uri("/v1/addresses?alias=alice%24example.com"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.header("retry-after"), Some("5"));
    let id = answer.header("x-request-id").unwrap().to_owned();
    assert_eq!(
        answer.body,
        json!({"message": "the service is temporarily unavailable; retry shortly", "code": "unavailable", "request_id": id})
    );
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("*"),
        "any origin on every /v1 answer, without an Origin too"
    );
    let answer = send(&api, TestRequest::get().uri("/readyz")).await;
    assert_eq!(answer.header("access-control-allow-origin"), None);
    let id = answer.header("x-request-id").unwrap().to_owned();
    assert_eq!(
        answer.body,
        json!({"error": {"message": "the service is temporarily unavailable; retry shortly", "code": "unavailable", "detail": {"request_id": id}}})
    );
}
