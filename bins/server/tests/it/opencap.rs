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

/// Through the real server, as the OpenCAP reference server answers: every `/v1` answer says
/// `Access-Control-Allow-Origin: *`, to requests with and without `Origin` alike (a wallet in a
/// browser may get an answer a cache stored for a request without one), successes and errors;
/// preflights are answered; other routes have no CORS.
#[test]
fn every_v1_answer_allows_any_origin_with_or_without_an_origin_header() {
    let db = TestDb::sqlite().unwrap();
    let app = TestApp::spawn(&db.url);
    let credentials = json!({"alias": "alice$example.com", "password": "correct horse battery"});
    assert_eq!(app.post("/v1/users", &credentials, None).status, 200);
    let agent = agent();
    let send = |method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>| {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", app.base));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let res = agent
            .run(req.body(body.unwrap_or_default().to_owned()).unwrap())
            .unwrap();
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        (
            res.status().as_u16(),
            header("access-control-allow-origin"),
            header("access-control-allow-methods"),
        )
    };
    let json = ("Content-Type", "application/json");
    let login = credentials.to_string();
    for origin in [None, Some("https://wallet.example")] {
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut headers: Vec<(&str, &str)> = extra.to_vec();
            headers.extend(origin.map(|o| ("Origin", o)));
            headers
        };
        for (method, path, headers, body, status) in [
            ("POST", "/v1/auth", with(&[json]), Some(login.as_str()), 200),
            // Twice: the second answer comes from the server's lookup cache.
            (
                "GET",
                "/v1/addresses?alias=alice%24example.com",
                with(&[]),
                None,
                200,
            ),
            (
                "GET",
                "/v1/addresses?alias=alice%24example.com",
                with(&[]),
                None,
                200,
            ),
            (
                "GET",
                "/v1/addresses?alias=bob%24example.com",
                with(&[]),
                None,
                404,
            ),
            ("GET", "/v1/addresses?alias=Alice", with(&[]), None, 400),
            ("DELETE", "/v1/users", with(&[]), None, 401),
            (
                "POST",
                "/v1/auth",
                with(&[("Content-Type", "text/plain")]),
                Some("{}"),
                415,
            ),
            ("PATCH", "/v1/addresses", with(&[]), None, 405),
            ("GET", "/v1/nope", with(&[]), None, 404),
        ] {
            assert_eq!(
                send(method, path, &headers, body),
                (status, Some("*".to_owned()), None),
                "{method} {path} {origin:?}"
            );
        }
        assert_eq!(
            send("GET", "/healthz", &with(&[]), None),
            (200, None, None),
            "no CORS outside /v1 ({origin:?})"
        );
    }
    let (status, allow_origin, methods) = send(
        "OPTIONS",
        "/v1/addresses",
        &[
            ("Origin", "https://wallet.example"),
            ("Access-Control-Request-Method", "PUT"),
            (
                "Access-Control-Request-Headers",
                "authorization, content-type",
            ),
        ],
        None,
    );
    assert_eq!((status, allow_origin.as_deref()), (200, Some("*")));
    assert!(methods.is_some_and(|m| m.contains("PUT")));
}
