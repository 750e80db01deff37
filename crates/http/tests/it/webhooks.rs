//! The webhook endpoints (`docs/webhooks.md`): create, list, get, delete, rotate-secret,
//! enable, disable; the secret shown only by create and rotate-secret; another organization's
//! webhook not found; bad events and URLs refused; private targets refused unless allowed.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use aliaskit_domain::OrgName;
use aliaskit_service::{ServiceConfig, WebhookConfig};
use serde_json::{Value, json};

use crate::*;

const BASE: &str = "/organization/api/v1/webhooks";
/// A public address literal (TEST-NET-3): no DNS needed, not a forbidden target.
const TARGET: &str = "https://203.0.113.7/aliaskit-events";

fn as_key(key: &str, req: TestRequest) -> TestRequest {
    req.insert_header(("Authorization", format!("Bearer {key}")))
}

async fn call(env: &Env, req: TestRequest) -> Answer {
    send(&env.api, as_key(&env.key, req)).await
}

async fn create_hook(env: &Env, body: Value) -> Answer {
    call(env, TestRequest::post().uri(BASE).set_json(body)).await
}

/// Creates a webhook on [`TARGET`] for every event and returns its `data`.
async fn hook(env: &Env) -> Value {
    let answer = create_hook(
        env,
        json!({"url": TARGET, "events": ["*"], "description": "backend"}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body["data"].clone()
}

fn secret_of(data: &Value) -> &str {
    let secret = data["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    // 32 random bytes, base64url without padding.
    assert_eq!(secret.len(), "whsec_".len() + 43, "{secret}");
    secret
}

#[actix_web::test]
async fn create_answers_the_webhook_with_its_secret_once() {
    for env in envs() {
        let b = env.db.backend();
        let answer = create_hook(
            &env,
            json!({"url": TARGET, "events": ["alias.deleted", "alias.created", "alias.deleted"]}),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{b:?} {:?}", answer.body);
        let data = &answer.body["data"];
        let mut keys: Vec<_> = data.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "created_at",
                "description",
                "enabled",
                "events",
                "id",
                "secret",
                "url"
            ],
            "{b:?}"
        );
        assert!(data["id"].as_str().unwrap().starts_with("wh_"), "{b:?}");
        assert_eq!(data["url"], TARGET);
        assert_eq!(data["events"], json!(["alias.created", "alias.deleted"]));
        assert_eq!(data["description"], Value::Null);
        assert_eq!(data["enabled"], true);
        assert!((now() - data["created_at"].as_i64().unwrap()).abs() <= 5);
        let secret = secret_of(data);
        let id = data["id"].as_str().unwrap();

        // Never again: not in the listing, not in a get.
        let listed = call(&env, TestRequest::get().uri(BASE)).await;
        assert_eq!(listed.status, StatusCode::OK);
        let entries = listed.body["data"]["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["id"], id);
        assert!(entries[0].get("secret").is_none(), "{b:?}");
        let got = call(&env, TestRequest::get().uri(&format!("{BASE}/{id}"))).await;
        assert_eq!(got.status, StatusCode::OK);
        assert!(got.body["data"].get("secret").is_none(), "{b:?}");
        assert_eq!(got.body["data"]["events"], data["events"]);
        assert!(!got.body.to_string().contains(secret), "{b:?}");
    }
}

#[actix_web::test]
async fn the_secret_is_sealed_at_rest() {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        secret: String,
    }
    for env in envs() {
        let data = hook(&env).await;
        let secret = secret_of(&data).to_owned();
        let mut conn = env.db.db.conn().unwrap();
        let rows: Vec<Row> = diesel::sql_query("SELECT secret FROM webhooks")
            .load(&mut *conn)
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].secret.starts_with("v1."), "{:?}", env.db.backend());
        assert!(!rows[0].secret.contains(&secret));
    }
}

#[actix_web::test]
async fn rotate_disable_enable_and_delete() {
    for env in envs() {
        let b = env.db.backend();
        let data = hook(&env).await;
        let id = data["id"].as_str().unwrap();
        let first = secret_of(&data).to_owned();

        let rotated = call(
            &env,
            TestRequest::post().uri(&format!("{BASE}/{id}/rotate-secret")),
        )
        .await;
        assert_eq!(rotated.status, StatusCode::OK, "{b:?}");
        let second = secret_of(&rotated.body["data"]).to_owned();
        assert_ne!(first, second, "{b:?}");
        assert_eq!(rotated.body["data"]["id"], id);
        // The old secret keeps signing for the grace: both are stored.
        let stored = env
            .api
            .service
            .get_webhook(org(&env), &aliaskit_domain::WebhookId::parse(id).unwrap())
            .unwrap();
        let active: Vec<_> = stored
            .active_secrets(now())
            .into_iter()
            .map(|s| s.expose().to_owned())
            .collect();
        assert_eq!(active, [second.clone(), first.clone()], "{b:?}");
        assert!(stored.previous_secret_until.unwrap() >= now() + 86_400 - 5);

        let disabled = call(
            &env,
            TestRequest::post().uri(&format!("{BASE}/{id}/disable")),
        )
        .await;
        assert_eq!(disabled.status, StatusCode::OK, "{b:?}");
        assert_eq!(disabled.body["data"]["enabled"], false);
        assert!(disabled.body["data"].get("secret").is_none());
        let got = call(&env, TestRequest::get().uri(&format!("{BASE}/{id}"))).await;
        assert_eq!(got.body["data"]["enabled"], false);
        let enabled = call(
            &env,
            TestRequest::post().uri(&format!("{BASE}/{id}/enable")),
        )
        .await;
        assert_eq!(enabled.status, StatusCode::OK, "{b:?}");
        assert_eq!(enabled.body["data"]["enabled"], true);

        let deleted = call(&env, TestRequest::delete().uri(&format!("{BASE}/{id}"))).await;
        assert_eq!(deleted.status, StatusCode::OK, "{b:?}");
        assert_eq!(deleted.body["message"], "Webhook deleted successfully.");
        for req in [
            TestRequest::get().uri(&format!("{BASE}/{id}")),
            TestRequest::delete().uri(&format!("{BASE}/{id}")),
            TestRequest::post().uri(&format!("{BASE}/{id}/enable")),
        ] {
            let answer = call(&env, req).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{b:?}");
            assert_eq!(
                error_of(&answer),
                ("webhook_not_found".into(), "Webhook not found".into())
            );
        }
        let listed = call(&env, TestRequest::get().uri(BASE)).await;
        assert_eq!(listed.body, json!({"data": {"entries": []}}));
    }
}

/// `acme`'s id.
fn org(env: &Env) -> aliaskit_domain::OrgId {
    env.api.service.authenticate_org(&env.key).unwrap()
}

#[actix_web::test]
async fn another_organizations_webhook_is_not_found() {
    for env in envs() {
        let data = hook(&env).await;
        let id = data["id"].as_str().unwrap();
        let (_, other) = env
            .api
            .service
            .create_org(&OrgName::parse("globex").unwrap())
            .unwrap();
        let other = other.expose().to_owned();
        for req in [
            TestRequest::get().uri(&format!("{BASE}/{id}")),
            TestRequest::delete().uri(&format!("{BASE}/{id}")),
            TestRequest::post().uri(&format!("{BASE}/{id}/rotate-secret")),
            TestRequest::post().uri(&format!("{BASE}/{id}/enable")),
            TestRequest::post().uri(&format!("{BASE}/{id}/disable")),
        ] {
            let answer = send(&env.api, as_key(&other, req)).await;
            assert_eq!(
                answer.status,
                StatusCode::NOT_FOUND,
                "{:?}",
                env.db.backend()
            );
            assert_eq!(error_of(&answer).0, "webhook_not_found");
        }
        let listed = send(&env.api, as_key(&other, TestRequest::get().uri(BASE))).await;
        assert_eq!(listed.body, json!({"data": {"entries": []}}));
        // Untouched for its owner.
        let got = call(&env, TestRequest::get().uri(&format!("{BASE}/{id}"))).await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.body["data"]["enabled"], true);
        // An id that cannot be a webhook id is not found either.
        let answer = call(&env, TestRequest::get().uri(&format!("{BASE}/not-an-id"))).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
    }
}

#[actix_web::test]
async fn without_a_key_every_webhook_route_is_401() {
    for env in envs() {
        for req in [
            TestRequest::get().uri(BASE),
            TestRequest::post()
                .uri(BASE)
                .set_json(json!({"url": TARGET, "events": ["*"]})),
            TestRequest::get().uri(&format!("{BASE}/wh_x")),
            TestRequest::post().uri(&format!("{BASE}/wh_x/rotate-secret")),
        ] {
            let answer = send(&env.api, req).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
            assert_eq!(error_of(&answer).0, "unauthorized");
        }
    }
}

#[actix_web::test]
async fn bad_events_and_urls_are_400_naming_the_field() {
    for env in envs() {
        let cases = [
            (json!({"url": TARGET, "events": []}), "events"),
            (json!({"url": TARGET, "events": ["alias.nope"]}), "events"),
            (
                json!({"url": TARGET, "events": ["*", "alias.created"]}),
                "events",
            ),
            (
                json!({"url": "http://203.0.113.7/x", "events": ["*"]}),
                "url",
            ),
            (
                json!({"url": "ftp://203.0.113.7/x", "events": ["*"]}),
                "url",
            ),
            (json!({"url": "not a url", "events": ["*"]}), "url"),
            (
                json!({"url": "https://u:p@203.0.113.7/", "events": ["*"]}),
                "url",
            ),
            (
                json!({"url": TARGET, "events": ["*"], "description": "x".repeat(257)}),
                "description",
            ),
        ];
        for (body, field) in cases {
            let answer = create_hook(&env, body.clone()).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(error_of(&answer).0, "invalid_request", "{body}");
            assert_eq!(answer.body["error"]["detail"]["field"], field, "{body}");
        }
        // Unknown members and wrong types are refused by the body reader.
        for body in [
            json!({"url": TARGET, "events": ["*"], "secret": "mine"}),
            json!({"url": TARGET, "events": "*"}),
            json!({"events": ["*"]}),
        ] {
            let answer = create_hook(&env, body.clone()).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        }
        let listed = call(&env, TestRequest::get().uri(BASE)).await;
        assert_eq!(listed.body, json!({"data": {"entries": []}}));
    }
}

#[actix_web::test]
async fn private_targets_are_refused_unless_allowed() {
    let private = [
        "https://127.0.0.1/hook",
        "https://localhost:8443/hook",
        "https://10.0.0.5/hook",
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0x7f.1/hook",
    ];
    for env in envs() {
        for url in private {
            let answer = create_hook(&env, json!({"url": url, "events": ["*"]})).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{url}");
            assert_eq!(answer.body["error"]["detail"]["field"], "url", "{url}");
        }
    }
    let allowed = TestApp::new()
        .with_config(ServiceConfig {
            webhooks: WebhookConfig {
                allow_private_targets: true,
                allow_insecure: true,
                ..WebhookConfig::default()
            },
            ..ServiceConfig::default()
        })
        .envs();
    for env in allowed {
        for url in private.iter().copied().chain(["http://127.0.0.1:9/x"]) {
            let answer = create_hook(&env, json!({"url": url, "events": ["*"]})).await;
            assert_eq!(answer.status, StatusCode::OK, "{url} {:?}", answer.body);
        }
    }
}

#[actix_web::test]
async fn an_organization_has_at_most_twenty_webhooks() {
    for env in envs() {
        for _ in 0..aliaskit_service::MAX_WEBHOOKS_PER_ORG {
            hook(&env).await;
        }
        let answer = create_hook(&env, json!({"url": TARGET, "events": ["*"]})).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(answer.body["error"]["detail"]["field"], "url");
    }
}

/// Records `n` failed attempts (a `500`, then the retries, the clock permitting: one per
/// claim) on `acme`'s deliveries through the service, as a sender would.
fn record_attempts(env: &Env, statuses: &[Option<u16>]) {
    let service = &env.api.service;
    let due = service
        .claim_deliveries(50, std::time::Duration::from_secs(60))
        .unwrap();
    assert!(due.len() >= statuses.len(), "{} due", due.len());
    for (d, status) in due.iter().zip(statuses) {
        service
            .record_delivery(
                d,
                &aliaskit_service::Attempt {
                    status: *status,
                    error: status.is_none().then(|| "timed out".to_owned()),
                    duration: std::time::Duration::from_millis(250),
                },
                1.0,
            )
            .unwrap();
    }
}

#[actix_web::test]
async fn deliveries_lists_the_attempts_newest_first_in_pages() {
    for env in envs() {
        let b = env.db.backend();
        let data = hook(&env).await;
        let id = data["id"].as_str().unwrap();
        let empty = call(
            &env,
            TestRequest::get().uri(&format!("{BASE}/{id}/deliveries")),
        )
        .await;
        assert_eq!(empty.status, StatusCode::OK, "{b:?} {:?}", empty.body);
        assert_eq!(empty.body, json!({"data": {"entries": [], "after": null}}));

        for _ in 0..3 {
            created(&env, create_body()).await;
        }
        record_attempts(&env, &[Some(200), Some(500), None]);

        let all = call(
            &env,
            TestRequest::get().uri(&format!("{BASE}/{id}/deliveries")),
        )
        .await;
        assert_eq!(all.status, StatusCode::OK, "{b:?} {:?}", all.body);
        let entries = all.body["data"]["entries"].as_array().unwrap().clone();
        assert_eq!(entries.len(), 3, "{b:?}");
        assert_eq!(all.body["data"]["after"], Value::Null);
        let mut keys: Vec<_> = entries[0].as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "at",
                "attempt",
                "delivered_at",
                "duration_ms",
                "error",
                "event_id",
                "event_type",
                "id",
                "next_attempt_at",
                "status"
            ]
        );
        // Newest first: the timeout, the 500, the 200.
        assert_eq!(entries[0]["status"], Value::Null);
        assert_eq!(entries[0]["error"], "timed out");
        assert!(entries[0]["next_attempt_at"].is_i64());
        assert_eq!(entries[1]["status"], 500);
        assert_eq!(entries[1]["error"], "answered 500");
        assert_eq!(entries[2]["status"], 200);
        assert_eq!(entries[2]["error"], Value::Null);
        assert_eq!(entries[2]["next_attempt_at"], Value::Null);
        assert!(entries[2]["delivered_at"].is_i64());
        for e in &entries {
            assert_eq!(e["attempt"], 1);
            assert_eq!(e["event_type"], "alias.created");
            assert_eq!(e["duration_ms"], 250);
            assert!(e["event_id"].as_str().unwrap().starts_with("evt_"));
        }
        assert!(entries[0]["id"].as_i64() > entries[1]["id"].as_i64());

        // Two pages of two and one.
        let first = call(
            &env,
            TestRequest::get().uri(&format!("{BASE}/{id}/deliveries?limit=2")),
        )
        .await;
        assert_eq!(first.body["data"]["entries"], json!(entries[..2]));
        let after = first.body["data"]["after"].as_str().unwrap().to_owned();
        let second = call(
            &env,
            TestRequest::get().uri(&format!("{BASE}/{id}/deliveries?limit=2&after={after}")),
        )
        .await;
        assert_eq!(second.body["data"]["entries"], json!(entries[2..]));
        assert_eq!(second.body["data"]["after"], Value::Null);

        // Bad limits and cursors are 400 naming the field; unknown parameters too.
        for (query, field) in [
            ("limit=0", "limit"),
            ("limit=201", "limit"),
            ("limit=ten", "limit"),
            ("after=%21%21", "after"),
        ] {
            let answer = call(
                &env,
                TestRequest::get().uri(&format!("{BASE}/{id}/deliveries?{query}")),
            )
            .await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{b:?} {query}");
            assert!(
                answer.body.to_string().contains(field),
                "{b:?} {query}: {:?}",
                answer.body
            );
        }
        let answer = call(
            &env,
            TestRequest::get().uri(&format!("{BASE}/{id}/deliveries?page=2")),
        )
        .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{b:?}");

        // Another organization's webhook, an unknown and an impossible id: 404.
        let (_, other) = env
            .api
            .service
            .create_org(&OrgName::parse("globex").unwrap())
            .unwrap();
        let answer = send(
            &env.api,
            as_key(
                other.expose(),
                TestRequest::get().uri(&format!("{BASE}/{id}/deliveries")),
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{b:?}");
        assert_eq!(error_of(&answer).0, "webhook_not_found");
        for unknown in ["wh_AAAAAAAAAAAAAAAAAAAAAA", "not-an-id"] {
            let answer = call(
                &env,
                TestRequest::get().uri(&format!("{BASE}/{unknown}/deliveries")),
            )
            .await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{b:?} {unknown}");
        }
        // Without a key: 401.
        let answer = send(
            &env.api,
            TestRequest::get().uri(&format!("{BASE}/{id}/deliveries")),
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
}
