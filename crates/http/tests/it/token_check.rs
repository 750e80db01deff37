//! `POST /organization/api/v1/alias/{id}/token-check` (`docs/api.md#token-check`): the
//! retrieve's own verdict on a token, with its code, its claims only when the signature
//! verifies, its expiry and host flag; a refusal is a `200` with `valid: false`; another
//! organization's alias is `404`; the check is not counted as a retrieve. (Every hostile token
//! of `hostile/` is also checked here against the retrieve's answer: `hostile::judge_tokens`.)

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use aliaskit_domain::OrgName;
use serde_json::{Value, json};

use crate::*;

async fn check(env: &Env, id: &str, token: &str) -> Answer {
    check_as(env, &env.key, id, json!({ "token": token })).await
}

async fn check_as(env: &Env, key: &str, id: &str, body: Value) -> Answer {
    send(
        &env.api,
        TestRequest::post()
            .uri(&format!("/organization/api/v1/alias/{id}/token-check"))
            .insert_header(("Authorization", format!("Bearer {key}")))
            .set_json(body),
    )
    .await
}

async fn post(env: &Env, path: &str) -> Answer {
    send(
        &env.api,
        TestRequest::post()
            .uri(path)
            .insert_header(("Authorization", format!("Bearer {}", env.key)))
            .set_json(json!({})),
    )
    .await
}

/// `(valid, code)` of a check answered `200`.
fn verdict(answer: &Answer) -> (bool, Value) {
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    let data = &answer.body["data"];
    (data["valid"].as_bool().unwrap(), data["code"].clone())
}

#[actix_web::test]
async fn a_valid_token_is_described() {
    for env in envs() {
        let id = created(&env, create_body()).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (iat, exp) = (now(), now() + 600);
        let good = token(
            SECRET,
            json!({"alias": id, "user_id": "u-1", "host": true, "iat": iat, "exp": exp,
                   "expires_in": 300, "room": "extra"}),
        );
        let answer = check(&env, &id, &good).await;
        assert_eq!(verdict(&answer), (true, Value::Null));
        let data = &answer.body["data"];
        assert_eq!(data["host"], true);
        assert_eq!(
            data["expires_at"],
            iat + 300,
            "the earlier of exp and iat + expires_in"
        );
        assert_eq!(data["claims"]["user_id"], "u-1");
        assert_eq!(data["claims"]["room"], "extra", "the payload as signed");
        assert!(data["message"].as_str().unwrap().contains("host"), "{data}");
        assert_eq!(
            data.as_object().unwrap().len(),
            6,
            "valid, code, message, claims, expires_at, host: {data}"
        );
    }
}

#[actix_web::test]
async fn every_refusal_of_the_retrieve_has_its_code() {
    for env in envs() {
        let id = created(&env, create_body()).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let now = now();
        let signed = |claims: Value| token(SECRET, claims);
        let cases = [
            (
                "expired",
                signed(json!({"alias": id, "user_id": "u", "iat": now - 7200, "exp": now - 3600})),
                "token_expired",
                true,
            ),
            (
                "not yet valid",
                signed(json!({"alias": id, "user_id": "u", "nbf": now + 3600, "exp": now + 7200})),
                "token_not_yet_valid",
                true,
            ),
            (
                "issued in the future",
                signed(json!({"alias": id, "user_id": "u", "iat": now + 3600, "exp": now + 7200})),
                "token_issued_in_future",
                true,
            ),
            (
                "another alias",
                signed(json!({"alias": "another", "user_id": "u", "iat": now, "exp": now + 60})),
                "alias_mismatch",
                true,
            ),
            (
                "missing expiry",
                signed(json!({"alias": id, "user_id": "u", "iat": now})),
                "token_missing_expiry",
                true,
            ),
            (
                "lifetime too long",
                signed(json!({"alias": id, "user_id": "u", "iat": now, "exp": now + 86_400 * 30})),
                "token_lifetime_too_long",
                true,
            ),
            (
                "another secret",
                token(
                    "another-secret-another-secret-another",
                    json!({"alias": id, "user_id": "u", "iat": now, "exp": now + 60}),
                ),
                "bad_signature",
                false,
            ),
            (
                "malformed",
                "not.a.token".to_owned(),
                "malformed_token",
                false,
            ),
            ("garbage", "garbage".to_owned(), "malformed_token", false),
        ];
        for (label, tok, code, claims) in cases {
            let answer = check(&env, &id, &tok).await;
            assert_eq!(
                verdict(&answer),
                (false, json!(code)),
                "{label}: {:?}",
                answer.body
            );
            let data = &answer.body["data"];
            assert!(!data["message"].as_str().unwrap().is_empty(), "{label}");
            assert_eq!(
                data["claims"].is_object(),
                claims,
                "{label}: claims only when the signature verifies: {data}"
            );
            if !claims {
                assert_eq!(data["expires_at"], Value::Null, "{label}");
                assert_eq!(data["host"], Value::Null, "{label}");
            }
        }
    }
}

#[actix_web::test]
async fn revocation_and_the_rotation_grace_are_the_retrieves() {
    for env in envs() {
        let id = created(&env, create_body()).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let old = token(
            SECRET,
            json!({"alias": id, "user_id": "u", "iat": now() - 10, "exp": now() + 600}),
        );

        // Rotated: the old secret's token is still accepted within the grace, and says so.
        let answer = post(
            &env,
            &format!("/organization/api/v1/alias/{id}/rotate-secret"),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        let new_secret = answer.body["data"]["jwt_secret"]
            .as_str()
            .unwrap()
            .to_owned();
        let answer = check(&env, &id, &old).await;
        assert_eq!(verdict(&answer), (true, Value::Null));
        let message = answer.body["data"]["message"].as_str().unwrap();
        assert!(message.contains("previous jwt_secret"), "{message}");

        // Revoked: tokens issued before now are refused, with their claims shown.
        let answer = post(
            &env,
            &format!("/organization/api/v1/alias/{id}/revoke-tokens"),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        let answer = check(&env, &id, &old).await;
        assert_eq!(verdict(&answer), (false, json!("token_revoked")));
        assert!(answer.body["data"]["claims"].is_object());
        let fresh = token(
            &new_secret,
            json!({"alias": id, "user_id": "u", "iat": now() + 1, "exp": now() + 600}),
        );
        assert_eq!(
            verdict(&check(&env, &id, &fresh).await),
            (true, Value::Null)
        );
    }
}

#[actix_web::test]
async fn an_expired_alias_or_one_without_a_secret_refuses_every_token() {
    for env in envs() {
        let open = created(&env, json!({"type": "live", "expired_at": now() + 3600})).await;
        let id = open["id"].as_str().unwrap();
        let any = token(
            SECRET,
            json!({"alias": id, "user_id": "u", "iat": now(), "exp": now() + 60}),
        );
        let answer = check(&env, id, &any).await;
        assert_eq!(verdict(&answer), (false, json!("bad_signature")));
        assert!(
            answer.body["data"]["message"]
                .as_str()
                .unwrap()
                .contains("no jwt_secret"),
            "{:?}",
            answer.body
        );

        let expiring = created(
            &env,
            // Two seconds ahead: one could pass the second boundary before the server reads
            // its clock, and the create refuses an expiry that is not in the future.
            json!({"type": "live", "jwt_secret": SECRET, "expired_at": now() + 2}),
        )
        .await;
        let id = expiring["id"].as_str().unwrap();
        let good = token(
            SECRET,
            json!({"alias": id, "user_id": "u", "iat": now(), "exp": now() + 60}),
        );
        std::thread::sleep(std::time::Duration::from_millis(3100));
        let answer = check(&env, id, &good).await;
        assert_eq!(verdict(&answer), (false, json!("alias_expired")));
    }
}

#[actix_web::test]
async fn another_organizations_alias_and_bad_bodies_are_refused() {
    for env in envs() {
        let id = created(&env, create_body()).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (_, other) = env
            .api
            .service
            .create_org(&OrgName::parse("other").unwrap())
            .unwrap();
        let good = token(
            SECRET,
            json!({"alias": id, "user_id": "u", "iat": now(), "exp": now() + 60}),
        );
        let answer = check_as(&env, other.expose(), &id, json!({"token": good})).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{:?}", answer.body);
        assert_eq!(error_of(&answer).0, "alias_not_found");

        let answer = check_as(&env, "not-a-key", &id, json!({"token": good})).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{:?}", answer.body);

        for body in [
            json!({}),
            json!({"token": 7}),
            json!({"token": good, "extra": 1}),
        ] {
            let answer = check_as(&env, &env.key, &id, body.clone()).await;
            assert_eq!(
                answer.status,
                StatusCode::BAD_REQUEST,
                "{body}: {:?}",
                answer.body
            );
        }
    }
}

#[actix_web::test]
async fn a_check_is_not_counted_as_a_retrieve() {
    for env in envs() {
        let id = created(&env, create_body()).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let expired = token(
            SECRET,
            json!({"alias": id, "user_id": "u", "iat": now() - 7200, "exp": now() - 3600}),
        );
        assert!(!verdict(&check(&env, &id, &expired).await).0);
        let (_, text) = crate::metrics::scrape(&env.api).await;
        assert!(
            !text.contains("aliaskit_token_rejections_total{code=\"token_expired\"} 1"),
            "{text}"
        );
        assert!(
            text.lines()
                .filter(|l| l.starts_with("aliaskit_cache_reads_total{cache=\"alias\""))
                .all(|l| l.ends_with(" 0")),
            "{text}"
        );
    }
}
