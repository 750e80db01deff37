//! Rotation and revocation (`docs/api.md`) and request limits, over HTTP.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use aliaskit_domain::net::Net;
use aliaskit_http::client::TrustedProxies;
use aliaskit_http::{Api, RateLimiter};
use aliaskit_service::{Service, ServiceConfig};
use aliaskit_token::Clock;
use serde_json::{Value, json};

use crate::*;

/// A clock the test moves.
#[derive(Debug)]
struct Manual(AtomicI64);

impl Clock for Manual {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// An API whose clock the test moves, with `acme`'s key.
fn api_with_clock(env: &Env) -> (Api, Arc<Manual>) {
    let clock = Arc::new(Manual(AtomicI64::new(now())));
    let service = Service::with_clock(env.db.db.clone(), ServiceConfig::default(), clock.clone());
    (Api::new(service), clock)
}

fn post(env: &Env, uri: String) -> TestRequest {
    TestRequest::post()
        .uri(&uri)
        .insert_header(("Authorization", format!("Bearer {}", env.key)))
}

async fn retrieve_with(api: &Api, id: &str, token: &str) -> Answer {
    send(
        api,
        TestRequest::get()
            .uri(&format!("/api/v1/alias/{id}"))
            .insert_header(("Authorization", format!("Bearer {token}"))),
    )
    .await
}

/// `rotate-secret` on alias `id`, which must succeed; the new secret.
async fn rotate_secret(api: &Api, env: &Env, id: &str) -> String {
    let answer = send(
        api,
        post(
            env,
            format!("/organization/api/v1/alias/{id}/rotate-secret"),
        ),
    )
    .await;
    let b = env.db.backend();
    assert_eq!(answer.status, StatusCode::OK, "{b:?} {:?}", answer.body);
    answer.body["data"]["jwt_secret"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn signed(secret: &str, id: &str, iat: i64) -> String {
    token(
        secret,
        json!({"alias": id, "user_id": "u", "iat": iat, "exp": iat + 3600}),
    )
}

#[actix_web::test]
async fn rotate_secret_returns_a_new_one_once_and_the_old_one_works_for_the_grace_period() {
    for env in envs() {
        let b = env.db.backend();
        let (api, clock) = api_with_clock(&env);
        let alias = created(&env, create_body()).await;
        let id = alias["id"].as_str().unwrap();
        let t0 = clock.now();
        let old_token = signed(SECRET, id, t0);

        let new_secret = rotate_secret(&api, &env, id).await;
        assert_eq!(new_secret.len(), 43);
        assert_ne!(new_secret, SECRET);
        // Shown once: the owner's GET shows the current one; retrieve never shows any.
        let new_token = signed(&new_secret, id, t0);
        assert_eq!(
            retrieve_with(&api, id, &new_token).await.status,
            StatusCode::OK,
            "{b:?}"
        );
        assert_eq!(
            retrieve_with(&api, id, &old_token).await.status,
            StatusCode::OK,
            "{b:?}: within the grace"
        );

        clock.0.store(t0 + 301, Ordering::SeqCst);
        let late = retrieve_with(&api, id, &signed(SECRET, id, t0 + 300)).await;
        assert_eq!(
            (late.status, late.body["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("bad_signature")),
            "{b:?}"
        );
        let still = retrieve_with(&api, id, &signed(&new_secret, id, t0 + 300)).await;
        assert_eq!(still.status, StatusCode::OK);
    }
}

#[actix_web::test]
async fn setting_or_clearing_the_secret_ends_the_grace_of_a_rotated_out_one() {
    for env in envs() {
        let b = env.db.backend();
        for replacement in [json!("another-secret-of-32-bytes-or-more!"), Value::Null] {
            let api = env.api.clone();
            // With a passcode, so the alias stays private when its secret is cleared.
            let mut body = create_body();
            body["passcode"] = json!("letmein");
            let alias = created(&env, body).await;
            let id = alias["id"].as_str().unwrap();
            let t0 = now();
            let old_token = signed(SECRET, id, t0);
            rotate_secret(&api, &env, id).await;
            assert_eq!(
                retrieve_with(&api, id, &old_token).await.status,
                StatusCode::OK,
                "{b:?}: within the grace"
            );

            // The emergency path: the owner replaces (or removes) the secret.
            let updated = send(
                &api,
                post(&env, format!("/organization/api/v1/alias/update/{id}"))
                    .set_json(json!({"type": "conference", "jwt_secret": replacement.clone()})),
            )
            .await;
            assert_eq!(updated.status, StatusCode::OK, "{b:?} {:?}", updated.body);
            let refused = retrieve_with(&api, id, &old_token).await;
            assert_eq!(
                refused.status,
                StatusCode::UNAUTHORIZED,
                "{b:?} {replacement}: the rotated-out secret still opened the alias: {:?}",
                refused.body
            );
            if let Some(secret) = replacement.as_str() {
                let fresh = retrieve_with(&api, id, &signed(secret, id, t0)).await;
                assert_eq!(fresh.status, StatusCode::OK, "{b:?}");
            }
        }
    }
}

#[actix_web::test]
async fn revoke_tokens_refuses_tokens_issued_before_it() {
    for env in envs() {
        let b = env.db.backend();
        let (api, clock) = api_with_clock(&env);
        let alias = created(&env, create_body()).await;
        let id = alias["id"].as_str().unwrap();
        let t0 = clock.now();
        let before = signed(SECRET, id, t0 - 10);
        let no_iat = token(SECRET, json!({"alias": id, "user_id": "u", "exp": t0 + 60}));
        assert_eq!(
            retrieve_with(&api, id, &before).await.status,
            StatusCode::OK
        );

        let answer = send(
            &api,
            post(
                &env,
                format!("/organization/api/v1/alias/{id}/revoke-tokens"),
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{b:?}");
        for refused in [&before, &no_iat] {
            let answer = retrieve_with(&api, id, refused).await;
            assert_eq!(
                (answer.status, answer.body["error"]["code"].as_str()),
                (StatusCode::UNAUTHORIZED, Some("token_revoked")),
                "{b:?}"
            );
        }
        assert_eq!(
            retrieve_with(&api, id, &signed(SECRET, id, t0))
                .await
                .status,
            StatusCode::OK,
            "issued at the revocation second or later"
        );
    }
}

#[actix_web::test]
async fn rotate_stream_key_and_ownership() {
    for env in envs() {
        let alias = created(
            &env,
            json!({"type": "live", "stream_key": "sk-old", "expired_at": now() + 60}),
        )
        .await;
        let id = alias["id"].as_str().unwrap();
        let answer = send(
            &env.api,
            post(
                &env,
                format!("/organization/api/v1/alias/{id}/rotate-stream-key"),
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);
        let key = answer.body["data"]["stream_key"].as_str().unwrap();
        assert!(key.starts_with("sk_") && key.len() == 35, "{key}");

        let (_, other) = env
            .api
            .service
            .create_org(&aliaskit_domain::OrgName::parse("other").unwrap())
            .unwrap();
        for action in ["rotate-secret", "revoke-tokens", "rotate-stream-key"] {
            let answer = send(
                &env.api,
                TestRequest::post()
                    .uri(&format!("/organization/api/v1/alias/{id}/{action}"))
                    .insert_header(("Authorization", format!("Bearer {}", other.expose()))),
            )
            .await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{action}");
            let answer = send(
                &env.api,
                TestRequest::post().uri(&format!("/organization/api/v1/alias/{id}/{action}")),
            )
            .await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{action}");
        }
    }
}

#[actix_web::test]
async fn the_organization_api_is_limited_per_organization() {
    let env = envs().remove(0);
    let api = Api {
        org_limiter: Arc::new(RateLimiter::new(2, Duration::from_secs(1))),
        ..env.api.clone()
    };
    let list = || {
        TestRequest::get()
            .uri("/organization/api/v1/aliases")
            .insert_header(("Authorization", format!("Bearer {}", env.key)))
    };
    for _ in 0..2 {
        assert_eq!(send(&api, list()).await.status, StatusCode::OK);
    }
    let answer = send(&api, list()).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer.header("retry-after"), Some("1"));
    assert_eq!(
        error_of(&answer),
        (
            "too_many_requests".into(),
            "too many requests for this organization; retry in 1 s".into()
        )
    );
    // An OpenCAP signup made with the organization's key spends the same budget.
    let signup = send(
        &api,
        TestRequest::post()
            .uri("/v1/users")
            .insert_header(("Authorization", format!("Bearer {}", env.key)))
            .set_json(json!({"alias": "bob$example.com", "password": "a long enough password"})),
    )
    .await;
    assert_eq!(signup.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(signup.header("retry-after"), Some("1"));
    assert_eq!(
        signup.body["message"],
        "too many requests for this organization; retry in 1 s"
    );
    // Another organization has its own budget.
    let (_, other) = env
        .api
        .service
        .create_org(&aliaskit_domain::OrgName::parse("other").unwrap())
        .unwrap();
    let answer = send(
        &api,
        TestRequest::get()
            .uri("/organization/api/v1/aliases")
            .insert_header(("Authorization", format!("Bearer {}", other.expose()))),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[actix_web::test]
async fn the_public_retrieve_is_limited_per_client_ip_behind_trusted_proxies() {
    let env = envs().remove(0);
    let alias = created(&env, json!({"type": "live", "expired_at": now() + 60})).await;
    let id = alias["id"].as_str().unwrap().to_owned();
    let api = Api {
        retrieve_limiter: Arc::new(RateLimiter::new(1, Duration::from_secs(1))),
        trusted_proxies: TrustedProxies::new(vec!["10.0.0.0/8".parse::<Net>().unwrap()]),
        ..env.api.clone()
    };
    let from = |peer: &str, xff: Option<&str>| {
        let mut req = TestRequest::get()
            .uri(&format!("/api/v1/alias/{id}"))
            .peer_addr(peer.parse().unwrap());
        if let Some(x) = xff {
            req = req.insert_header(("X-Forwarded-For", x));
        }
        req
    };
    assert_eq!(
        send(&api, from("203.0.113.9:1", None)).await.status,
        StatusCode::OK
    );
    let limited = send(&api, from("203.0.113.9:1", Some("198.51.100.1"))).await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "a direct client cannot escape by forging X-Forwarded-For"
    );
    assert_eq!(
        limited.body["error"]["code"],
        Value::from("too_many_requests")
    );
    // Two clients behind our proxy are two clients.
    assert_eq!(
        send(&api, from("10.0.0.2:1", Some("198.51.100.1")))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        send(&api, from("10.0.0.2:1", Some("198.51.100.2")))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        send(&api, from("10.0.0.2:1", Some("198.51.100.1")))
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
}
