//! The Datagram seed's three steps against the real server, on SQLite and PostgreSQL: create a
//! private alias with a `jwt_secret`, sign a token with another JWT library, retrieve.

use aliaskit_store::testing::TestDb;
use serde_json::{Value, json};

use crate::*;

#[test]
fn create_sign_retrieve_as_a_new_user_would() {
    for db in TestDb::all().unwrap() {
        let b = db.backend();
        let app = TestApp::spawn(&db.url);
        let auth = format!("Bearer {KEY}");

        // Step 1: create a private alias with a jwt_secret.
        let secret = "your-secure-secret-of-32-bytes!!";
        let created = app.post(
            "/organization/api/v1/alias/create",
            &json!({"type": "conference", "name": "Private Alias Name", "jwt_secret": secret, "expired_at": now() + 3600}),
            Some(&auth),
        );
        assert_eq!(created.status, 200, "{b:?} {:?}", created.body);
        let id = created.body["data"]["id"].as_str().unwrap().to_owned();
        assert_eq!(created.body["data"]["jwt_secret"], secret);

        // Step 2: the organization's backend signs a token (here: the jsonwebtoken crate).
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &json!({"alias": id, "user_id": "user789xyz", "host": true, "expires_in": 3600, "iat": now()}),
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap();

        // Step 3: the end user retrieves the alias with it.
        let seen = app.get(
            &format!("/api/v1/alias/{id}"),
            Some(&format!("Bearer {token}")),
        );
        assert_eq!(seen.status, 200, "{b:?} {:?}", seen.body);
        assert_eq!(seen.body["data"]["id"], id.as_str());
        assert_eq!(seen.body["data"]["name"], "Private Alias Name");
        assert_eq!(seen.body["data"]["jwt_secret"], Value::Null);

        // Without the token: the documented 401; with a token for another secret: why not.
        let anonymous = app.get(&format!("/api/v1/alias/{id}"), None);
        assert_eq!(anonymous.status, 401);
        assert_eq!(anonymous.body["error"]["message"], "UNAUTHORIZED");
        let forged = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &json!({"alias": id, "user_id": "mallory", "iat": now(), "exp": now() + 60}),
            &jsonwebtoken::EncodingKey::from_secret(b"not-the-secret-not-the-secret-!!"),
        )
        .unwrap();
        let refused = app.get(
            &format!("/api/v1/alias/{id}"),
            Some(&format!("Bearer {forged}")),
        );
        assert_eq!(refused.status, 401);
        assert_eq!(refused.body["error"]["code"], "bad_signature");
        assert!(
            refused
                .www_authenticate
                .unwrap()
                .contains("error=\"invalid_token\"")
        );

        // The service endpoints.
        assert_eq!(app.get("/healthz", None).status, 200);
        assert_eq!(app.get("/readyz", None).status, 200);
        assert_eq!(app.get("/nope", None).body["error"]["code"], "not_found");
    }
}
