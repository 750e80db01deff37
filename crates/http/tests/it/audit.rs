//! The audit trail over HTTP (`docs/audit.md`): each change through the organization API and
//! OpenCAP is recorded with its actor, target, request id and client address, and field names
//! only; `GET /organization/api/v1/audit` shows an organization its own entries, newest first,
//! paged and filtered; `GET /v1/users/audit` shows an OpenCAP user their account's changes with
//! address types, never the addresses; a change that fails records nothing.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use aliaskit_domain::OrgName;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::*;

const PEER: &str = "203.0.113.9:4000";
const PASSWORD: &str = "correct horse battery";
const ADDRESS: &str = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2";

/// `acme/<first 8 hex digits of the key's SHA-256>`.
fn key_actor(org: &str, key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{org}/{}", &hex[..8])
}

/// Sends `req` as `acme` from [`PEER`]; the answer and the request id it carried.
async fn as_acme(env: &Env, req: TestRequest) -> (Answer, String) {
    let answer = send(
        &env.api,
        req.insert_header(("Authorization", format!("Bearer {}", env.key)))
            .peer_addr(PEER.parse().unwrap()),
    )
    .await;
    let id = answer.header("x-request-id").unwrap_or_default().to_owned();
    (answer, id)
}

async fn trail(env: &Env, query: &str) -> Answer {
    as_acme(
        env,
        TestRequest::get().uri(&format!("/organization/api/v1/audit{query}")),
    )
    .await
    .0
}

fn entries(answer: &Answer) -> Vec<Value> {
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body["data"]["entries"].as_array().unwrap().clone()
}

#[actix_web::test]
async fn every_alias_and_webhook_change_is_recorded_with_who_and_where() {
    for env in TestApp::new().unlimited().envs() {
        let secret = "audit-secret-0123456789abcdefghijkl";
        let (created, create_id) = as_acme(
            &env,
            TestRequest::post()
                .uri("/organization/api/v1/alias/create")
                .set_json(
                    json!({"type": "conference", "name": "Audited", "jwt_secret": secret,
                                 "passcode": "pass-9876", "expired_at": now() + 3600}),
                ),
        )
        .await;
        assert_eq!(created.status, StatusCode::OK, "{:?}", created.body);
        let id = created.body["data"]["id"].as_str().unwrap().to_owned();
        let mut ids = vec![create_id];
        for (req, _) in [
            (
                TestRequest::post()
                    .uri(&format!("/organization/api/v1/alias/update/{id}"))
                    .set_json(json!({"type": "live", "name": "Renamed", "passcode": null})),
                (),
            ),
            (
                TestRequest::post().uri(&format!("/organization/api/v1/alias/{id}/rotate-secret")),
                (),
            ),
            (
                TestRequest::post().uri(&format!("/organization/api/v1/alias/{id}/revoke-tokens")),
                (),
            ),
            (
                TestRequest::post().uri(&format!(
                    "/organization/api/v1/alias/{id}/rotate-stream-key"
                )),
                (),
            ),
            (
                TestRequest::post()
                    .uri("/organization/api/v1/webhooks")
                    .set_json(json!({"url": "https://203.0.113.7/hook", "events": ["*"]})),
                (),
            ),
            (
                TestRequest::delete().uri(&format!("/organization/api/v1/alias/delete/{id}")),
                (),
            ),
        ] {
            let (answer, request_id) = as_acme(&env, req).await;
            assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
            ids.push(request_id);
        }
        // A change that fails records nothing: a bad update, another's alias.
        let (refused, _) = as_acme(
            &env,
            TestRequest::post()
                .uri(&format!("/organization/api/v1/alias/update/{id}"))
                .set_json(json!({"type": "live", "expired_at": 5})),
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{:?}",
            refused.body
        );

        let got = entries(&trail(&env, "").await);
        let actions: Vec<&str> = got.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(
            actions,
            [
                "alias.delete",
                "webhook.create",
                "alias.rotate_stream_key",
                "alias.revoke_tokens",
                "alias.rotate_secret",
                "alias.update",
                "alias.create",
                "org.create",
            ],
            "newest first, the failed update absent"
        );
        // The organization was made by the test's service handle, outside any request.
        assert_eq!(
            got[7]["actor"],
            json!({"kind": "system", "id": "service"}),
            "{got:?}"
        );
        let actor = key_actor("acme", &env.key);
        for (entry, request_id) in got.iter().rev().skip(1).zip(&ids) {
            assert_eq!(
                entry["actor"],
                json!({"kind": "api_key", "id": actor}),
                "{entry}"
            );
            assert_eq!(entry["client_ip"], "203.0.113.9", "{entry}");
            assert_eq!(entry["request_id"], request_id.as_str(), "{entry}");
            assert!(!request_id.is_empty());
        }
        let by_action = |a: &str| got.iter().find(|e| e["action"] == a).unwrap().clone();
        assert_eq!(by_action("alias.create")["target"], id.as_str());
        assert_eq!(
            by_action("alias.create")["changes"],
            json!(["type", "name", "passcode", "jwt_secret", "expired_at"])
        );
        assert_eq!(
            by_action("alias.update")["changes"],
            json!(["type", "name", "passcode"]),
            "the fields whose value changed"
        );
        assert_eq!(
            by_action("alias.rotate_secret")["changes"],
            json!(["jwt_secret"])
        );
        assert_eq!(
            by_action("alias.revoke_tokens")["changes"],
            json!(["tokens_valid_after"])
        );
        assert_eq!(
            by_action("alias.rotate_stream_key")["changes"],
            json!(["stream_key"])
        );
        assert!(
            by_action("webhook.create")["target"]
                .as_str()
                .unwrap()
                .starts_with("wh_")
        );

        // No value of any secret in any entry.
        let text = serde_json::to_string(&got).unwrap();
        for hidden in [secret, "pass-9876", env.key.as_str(), "whsec_", "sk_"] {
            assert!(!text.contains(hidden), "{hidden} in {text}");
        }
    }
}

#[actix_web::test]
async fn the_trail_is_paged_filtered_and_the_organizations_own() {
    for env in TestApp::new().unlimited().envs() {
        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.push(
                created(&env, create_body()).await["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        let (answer, _) = as_acme(
            &env,
            TestRequest::post().uri(&format!(
                "/organization/api/v1/alias/{}/rotate-secret",
                ids[0]
            )),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);

        // org.create, five alias.create, one alias.rotate_secret.
        let first = trail(&env, "?limit=4").await;
        let page = entries(&first);
        assert_eq!(page.len(), 4);
        let after = first.body["data"]["after"].as_str().unwrap().to_owned();
        let second = trail(&env, &format!("?limit=4&after={after}")).await;
        let rest = entries(&second);
        assert_eq!(rest.len(), 3);
        assert_eq!(second.body["data"]["after"], Value::Null);
        let all: Vec<i64> = page
            .iter()
            .chain(&rest)
            .map(|e| e["id"].as_i64().unwrap())
            .collect();
        assert!(
            all.windows(2).all(|w| w[0] > w[1]),
            "newest first, no overlap: {all:?}"
        );

        let rotations = entries(&trail(&env, "?action=alias.rotate_secret").await);
        assert_eq!(rotations.len(), 1);
        let about = entries(&trail(&env, &format!("?target={}", ids[0])).await);
        assert_eq!(about.len(), 2, "{about:?}");

        for bad in ["?limit=0", "?limit=x", "?after=nonsense", "?unknown=1"] {
            let answer = trail(&env, bad).await;
            assert_eq!(
                answer.status,
                StatusCode::BAD_REQUEST,
                "{bad}: {:?}",
                answer.body
            );
        }

        // Another organization sees none of it.
        let (_, other) = env
            .api
            .service
            .create_org(&OrgName::parse("other").unwrap())
            .unwrap();
        let answer = send(
            &env.api,
            TestRequest::get()
                .uri("/organization/api/v1/audit")
                .insert_header(("Authorization", format!("Bearer {}", other.expose()))),
        )
        .await;
        let theirs = entries(&answer);
        assert_eq!(theirs.len(), 1, "its own creation only: {theirs:?}");
        assert_eq!(theirs[0]["action"], "org.create");
        assert_eq!(theirs[0]["target"], "other");
    }
}

#[actix_web::test]
async fn an_opencap_user_sees_every_change_to_their_account() {
    for env in TestApp::new().with_opencap().unlimited().envs() {
        let api = &env.api;
        let signed_up = send(
            api,
            TestRequest::post()
                .uri("/v1/users")
                .peer_addr(PEER.parse().unwrap())
                .set_json(json!({"alias": "alice$example.com", "password": PASSWORD})),
        )
        .await;
        assert_eq!(signed_up.status, StatusCode::OK, "{:?}", signed_up.body);
        let login = send(
            api,
            TestRequest::post()
                .uri("/v1/auth")
                .set_json(json!({"alias": "alice$example.com", "password": PASSWORD})),
        )
        .await;
        let jwt = login.body["jwt"].as_str().unwrap().to_owned();
        let bearer = format!("Bearer {jwt}");
        let put = send(
            api,
            TestRequest::put()
                .uri("/v1/addresses")
                .insert_header(("Authorization", bearer.clone()))
                .peer_addr("198.51.100.4:5000".parse().unwrap())
                .set_json(json!({"address_type": 100, "address": ADDRESS})),
        )
        .await;
        assert_eq!(put.status, StatusCode::OK, "{:?}", put.body);
        let deleted = send(
            api,
            TestRequest::delete()
                .uri("/v1/addresses/100")
                .insert_header(("Authorization", bearer.clone())),
        )
        .await;
        assert_eq!(deleted.status, StatusCode::OK, "{:?}", deleted.body);
        // Three wrong passwords lock the account (lockout_threshold 3): recorded as the system's.
        for _ in 0..3 {
            let refused = send(
                api,
                TestRequest::post()
                    .uri("/v1/auth")
                    .peer_addr("192.0.2.66:6000".parse().unwrap())
                    .set_json(json!({"alias": "alice$example.com", "password": "wrong password"})),
            )
            .await;
            assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        }

        let answer = send(
            api,
            TestRequest::get()
                .uri("/v1/users/audit")
                .insert_header(("Authorization", bearer.clone())),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
        let got = answer.body.as_array().unwrap();
        let summary: Vec<(&str, &str, &str, Value)> = got
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap(),
                    e["actor"]["kind"].as_str().unwrap(),
                    e["client_ip"].as_str().unwrap_or("-"),
                    e["address_type"].clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("opencap.user.lock", "system", "192.0.2.66", Value::Null),
                (
                    "opencap.address.delete",
                    "opencap_user",
                    "0.0.0.0",
                    json!(100)
                ),
                (
                    "opencap.address.put",
                    "opencap_user",
                    "198.51.100.4",
                    json!(100)
                ),
                (
                    "opencap.user.create",
                    "opencap_user",
                    "203.0.113.9",
                    Value::Null
                ),
            ]
            .into_iter()
            .map(|(a, k, ip, t)| (
                a,
                k,
                if ip == "0.0.0.0" {
                    got[1]["client_ip"].as_str().unwrap_or("-")
                } else {
                    ip
                },
                t
            ))
            .collect::<Vec<_>>(),
            "{got:?}"
        );
        assert_eq!(got[2]["actor"]["id"], "alice$example.com");
        assert_eq!(got[0]["actor"]["id"], "login_lockout");
        let text = answer.body.to_string();
        for hidden in [ADDRESS, PASSWORD, jwt.as_str()] {
            assert!(!text.contains(hidden), "{hidden} in {text}");
        }

        // Without a token: 401 in the OpenCAP shape.
        let answer = send(api, TestRequest::get().uri("/v1/users/audit")).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert!(answer.body["message"].is_string(), "{:?}", answer.body);
    }
}

#[actix_web::test]
async fn a_signup_made_with_an_organization_key_names_the_key() {
    for env in TestApp::new().with_opencap().unlimited().envs() {
        let answer = send(
            &env.api,
            TestRequest::post()
                .uri("/v1/users")
                .insert_header(("Authorization", format!("Bearer {}", env.key)))
                .set_json(json!({"alias": "bob$example.com", "password": PASSWORD})),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        let entries = env
            .api
            .service
            .search_audit(
                &aliaskit_service::AuditFilter {
                    cap_user: Some("bob$example.com"),
                    ..aliaskit_service::AuditFilter::default()
                },
                10,
            )
            .unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].action, "opencap.user.create");
        assert_eq!(
            (entries[0].actor_kind.as_str(), entries[0].actor_id.clone()),
            ("api_key", key_actor("acme", &env.key))
        );
    }
}
