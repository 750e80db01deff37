//! The organization API: create, list, get, update, delete.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::json;

use crate::*;

fn as_acme(env: &Env, req: TestRequest) -> TestRequest {
    req.insert_header(("Authorization", format!("Bearer {}", env.key)))
}

#[actix_web::test]
async fn create_answers_the_alias_with_every_key_and_its_secrets() {
    for env in envs() {
        let at = now() + 3600;
        let answer = create(&env, json!({"type": "live", "name": "Launch", "passcode": "pin-2468", "jwt_secret": SECRET, "stream_key": "sk", "expired_at": at})).await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", env.db.backend());
        let data = &answer.body["data"];
        let keys: Vec<_> = data.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 8);
        assert_eq!(data["type"], "live");
        assert_eq!(data["name"], "Launch");
        assert_eq!(data["passcode"], "pin-2468");
        assert_eq!(data["jwt_secret"], SECRET);
        assert_eq!(data["stream_key"], "sk");
        assert_eq!(data["expired_at"], at);
        assert!((now() - data["inserted_at"].as_i64().unwrap()).abs() <= 5);
        assert_eq!(data["id"].as_str().unwrap().len(), 22);
        assert_eq!(answer.header("content-type"), Some("application/json"));

        // Optional values left out are null, never omitted.
        let bare = created(&env, json!({"type": "conference", "expired_at": at})).await;
        for k in ["name", "passcode", "jwt_secret", "stream_key"] {
            assert_eq!(bare[k], serde_json::Value::Null, "{k}");
        }
    }
}

#[actix_web::test]
async fn both_authorization_forms_work_and_the_scheme_is_case_insensitive() {
    for env in envs() {
        for value in [
            format!("Bearer {}", env.key),
            format!("bearer {}", env.key),
            format!("BEARER  {}", env.key),
            env.key.clone(),
        ] {
            let answer = send(
                &env.api,
                TestRequest::get()
                    .uri("/organization/api/v1/aliases")
                    .insert_header(("Authorization", value.clone())),
            )
            .await;
            assert_eq!(answer.status, StatusCode::OK, "{value:?}");
        }
    }
}

#[actix_web::test]
async fn a_missing_or_wrong_key_is_401_unauthorized_with_www_authenticate() {
    for env in envs() {
        let wrong = format!("ak_{}", "A".repeat(43));
        for auth in [
            None,
            Some(format!("Bearer {wrong}")),
            Some("Basic dXNlcjpwYXNz".to_owned()),
            Some("Bearer ".into()),
        ] {
            let mut req = TestRequest::get().uri("/organization/api/v1/aliases");
            if let Some(a) = &auth {
                req = req.insert_header(("Authorization", a.clone()));
            }
            let answer = send(&env.api, req).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{auth:?}");
            assert_eq!(
                error_of(&answer),
                ("unauthorized".into(), "UNAUTHORIZED".into())
            );
            assert_eq!(
                answer.header("www-authenticate"),
                Some("Bearer realm=\"aliaskit\"")
            );
        }
    }
}

#[actix_web::test]
async fn get_shows_the_owner_everything_and_another_organization_gets_404() {
    for env in envs() {
        let alias = created(&env, json!({"type": "conference", "passcode": "pin-2468", "jwt_secret": SECRET, "expired_at": now() + 60})).await;
        let id = alias["id"].as_str().unwrap();
        let answer = send(
            &env.api,
            as_acme(
                &env,
                TestRequest::get().uri(&format!("/organization/api/v1/alias/{id}")),
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.body["data"], alias);

        let (_, other) = env
            .api
            .service
            .create_org(&aliaskit_domain::OrgName::parse("other").unwrap())
            .unwrap();
        let as_other = |req: TestRequest| {
            req.insert_header(("Authorization", format!("Bearer {}", other.expose())))
        };
        for req in [
            TestRequest::get().uri(&format!("/organization/api/v1/alias/{id}")),
            TestRequest::delete().uri(&format!("/organization/api/v1/alias/delete/{id}")),
            TestRequest::post()
                .uri(&format!("/organization/api/v1/alias/update/{id}"))
                .set_json(json!({"type": "live"})),
        ] {
            let answer = send(&env.api, as_other(req)).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND);
            assert_eq!(
                error_of(&answer),
                ("alias_not_found".into(), "Alias not found".into())
            );
        }
        // Not even listed.
        let list = send(
            &env.api,
            as_other(TestRequest::get().uri("/organization/api/v1/aliases")),
        )
        .await;
        assert_eq!(list.body["data"]["entries"], json!([]));
    }
}

#[actix_web::test]
async fn update_is_partial_null_clears_and_type_is_required() {
    for env in envs() {
        let alias = created(&env, json!({"type": "conference", "name": "Old", "passcode": "pin-2468", "stream_key": "sk", "expired_at": now() + 60})).await;
        let id = alias["id"].as_str().unwrap();
        let uri = format!("/organization/api/v1/alias/update/{id}");
        let answer = send(
            &env.api,
            as_acme(
                &env,
                TestRequest::post()
                    .uri(&uri)
                    .set_json(json!({"type": "live", "name": "New", "passcode": null})),
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        let data = &answer.body["data"];
        assert_eq!(
            (data["type"].as_str(), data["name"].as_str()),
            (Some("live"), Some("New"))
        );
        assert_eq!(data["passcode"], serde_json::Value::Null);
        assert_eq!(data["stream_key"], "sk");
        assert_eq!(data["expired_at"], alias["expired_at"]);

        let answer = send(
            &env.api,
            as_acme(
                &env,
                TestRequest::post().uri(&uri).set_json(json!({"name": "x"})),
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(answer.body["error"]["message"], "missing field `type`");

        let answer = send(
            &env.api,
            as_acme(
                &env,
                TestRequest::post()
                    .uri(&uri)
                    .set_json(json!({"type": "live", "expired_at": null})),
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(answer.body["error"]["detail"]["field"], "expired_at");

        let answer = send(
            &env.api,
            as_acme(
                &env,
                TestRequest::post()
                    .uri("/organization/api/v1/alias/update/nope")
                    .set_json(json!({"type": "live"})),
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
    }
}

#[actix_web::test]
async fn delete_answers_the_documented_message_and_then_404() {
    for env in envs() {
        let alias = created(&env, create_body()).await;
        let uri = format!(
            "/organization/api/v1/alias/delete/{}",
            alias["id"].as_str().unwrap()
        );
        let answer = send(&env.api, as_acme(&env, TestRequest::delete().uri(&uri))).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(
            answer.body,
            json!({"message": "Alias deleted successfully."})
        );
        let again = send(&env.api, as_acme(&env, TestRequest::delete().uri(&uri))).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
    }
}

#[actix_web::test]
async fn list_pages_newest_first_filters_by_type_and_refuses_bad_parameters() {
    for env in envs() {
        let mut ids = Vec::new();
        for i in 0..5 {
            let kind = if i % 2 == 0 { "conference" } else { "live" };
            let a = created(&env, json!({"type": kind, "expired_at": now() + 60})).await;
            ids.push(a["id"].as_str().unwrap().to_owned());
        }
        let mut seen = Vec::new();
        let mut uri = "/organization/api/v1/aliases?limit=2".to_owned();
        loop {
            let page = send(&env.api, as_acme(&env, TestRequest::get().uri(&uri))).await;
            assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
            let data = &page.body["data"];
            seen.extend(
                data["entries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a["id"].as_str().unwrap().to_owned()),
            );
            match data["after"].as_str() {
                Some(after) => uri = format!("/organization/api/v1/aliases?limit=2&after={after}"),
                None => break,
            }
        }
        let mut expected = ids.clone();
        expected.sort();
        let mut got = seen.clone();
        got.sort();
        assert_eq!(got, expected, "every alias exactly once");

        let live = send(
            &env.api,
            as_acme(
                &env,
                TestRequest::get().uri("/organization/api/v1/aliases?type=live"),
            ),
        )
        .await;
        let entries = live.body["data"]["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert!(entries.iter().all(|a| a["type"] == "live"));

        let active = send(
            &env.api,
            as_acme(
                &env,
                TestRequest::get().uri("/organization/api/v1/aliases?status=active"),
            ),
        )
        .await;
        assert_eq!(active.body["data"]["entries"].as_array().unwrap().len(), 5);
        let expired = send(
            &env.api,
            as_acme(
                &env,
                TestRequest::get().uri("/organization/api/v1/aliases?status=expired"),
            ),
        )
        .await;
        assert_eq!(expired.body["data"]["entries"], json!([]));

        for (query, field) in [
            ("status=gone", "status"),
            ("limit=0", "limit"),
            ("limit=500", "limit"),
            ("limit=abc", "limit"),
            ("type=video", "type"),
            ("after=%21%21", "after"),
        ] {
            let answer = send(
                &env.api,
                as_acme(
                    &env,
                    TestRequest::get().uri(&format!("/organization/api/v1/aliases?{query}")),
                ),
            )
            .await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(
                answer.body["error"]["detail"]["field"], field,
                "{query}: {:?}",
                answer.body
            );
        }
        let answer = send(
            &env.api,
            as_acme(
                &env,
                TestRequest::get().uri("/organization/api/v1/aliases?kind=live"),
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert!(
            answer.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("unknown field `kind`"),
            "{:?}",
            answer.body
        );
    }
}
