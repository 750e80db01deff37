//! The OpenCAP reference server's scenario against the real server, on SQLite and PostgreSQL:
//! signup, login, publish 100 and 300, resolve one and all, delete both, resolve → 404, delete
//! the user, login again → 401.

use aliaskit_store::testing::TestDb;
use serde_json::json;

use crate::*;

const BTC: &str = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2";
const NANO: &str = "xrb_1ipdmx5ck6fwc1hkt3fg631z6twjo9e5m6e9dbenm65sbb3e4hgmd1ygxnq3";

#[test]
fn a_wallet_signs_up_publishes_resolves_and_leaves() {
    for db in TestDb::all().unwrap() {
        let b = db.backend();
        let app = TestApp::spawn(&db.url);
        let credentials =
            json!({"alias": "alice$example.com", "password": "correct horse battery"});

        let signup = app.post("/v1/users", &credentials, None);
        assert_eq!(signup.status, 200, "{b:?} {:?}", signup.body);
        let login = app.post("/v1/auth", &credentials, None);
        assert_eq!(login.status, 200, "{b:?} {:?}", login.body);
        let auth = format!("Bearer {}", login.body["jwt"].as_str().unwrap());

        for (kind, address) in [(100, BTC), (300, NANO)] {
            let put = app.put(
                "/v1/addresses",
                &json!({"address_type": kind, "address": address}),
                Some(&auth),
            );
            assert_eq!(put.status, 200, "{b:?} {:?}", put.body);
        }
        let one = app.get(
            "/v1/addresses?alias=alice%24example.com&address_type=300",
            None,
        );
        assert_eq!(
            one.body,
            json!({"address_type": 300, "address": NANO, "extensions": {}})
        );
        let all = app.get("/v1/addresses?alias=alice$example.com", None);
        assert_eq!(
            all.body,
            json!([
                {"address_type": 100, "address": BTC, "extensions": {}},
                {"address_type": 300, "address": NANO, "extensions": {}},
            ]),
            "{b:?}"
        );

        for kind in [100, 300] {
            assert_eq!(
                app.delete(&format!("/v1/addresses/{kind}"), Some(&auth))
                    .status,
                200
            );
        }
        let gone = app.get(
            "/v1/addresses?alias=alice$example.com&address_type=100",
            None,
        );
        assert_eq!(
            (gone.status, gone.body["message"].as_str()),
            (404, Some("this alias has no address of type 100"))
        );

        assert_eq!(app.delete("/v1/users", Some(&auth)).status, 200);
        let again = app.post("/v1/auth", &credentials, None);
        assert_eq!(
            (again.status, again.body["message"].as_str()),
            (401, Some("invalid alias or password")),
            "{b:?}"
        );
        assert_eq!(
            app.get("/v1/addresses?alias=alice$example.com", None)
                .status,
            404
        );
    }
}
