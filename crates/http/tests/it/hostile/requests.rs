//! Odd requests on every route family: path ids that cannot be ids, oversized heads and
//! query strings, odd OpenCAP queries and listing parameters, refused CORS preflights.

use super::*;

/// An OpenCAP user's login token, `alice$example.com`, on an API that serves `example.com`.
struct World {
    /// Keeps the database alive.
    _db: aliaskit_store::testing::TestDb,
    api: aliaskit_http::Api,
    /// `acme`'s API key.
    key: String,
    /// Alias ids: with a `jwt_secret`, with a passcode (`pin`) only, with neither.
    protected: String,
    passcode: String,
    public: String,
    /// `alice$example.com`'s login token.
    jwt: String,
}

/// One [`World`] per backend.
async fn worlds() -> Vec<World> {
    let mut all = Vec::new();
    for env in TestApp::new().with_opencap().unlimited().envs() {
        let protected = protected(&env).await;
        let with = |body: Value| created(&env, body);
        let passcode =
            with(json!({"type": "live", "passcode": "pin-2468", "expired_at": now() + 3600})).await
                ["id"]
                .as_str()
                .unwrap()
                .to_owned();
        let public = with(json!({"type": "live", "expired_at": now() + 3600})).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let credentials =
            json!({"alias": "alice$example.com", "password": "correct horse battery"});
        let signup = send(
            &env.api,
            TestRequest::post().uri("/v1/users").set_json(&credentials),
        )
        .await;
        assert_eq!(signup.status, StatusCode::OK, "{:?}", signup.body);
        let login = send(
            &env.api,
            TestRequest::post().uri("/v1/auth").set_json(&credentials),
        )
        .await;
        assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
        all.push(World {
            jwt: login.body["jwt"].as_str().unwrap().to_owned(),
            _db: env.db,
            api: env.api,
            key: env.key,
            protected,
            passcode,
            public,
        });
    }
    all
}

/// A request of a case: method, URI, `Authorization` bytes, more headers, a JSON body.
struct Req {
    method: &'static str,
    uri: String,
    authorization: Option<Vec<u8>>,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Value>,
}

impl Req {
    fn new(method: &'static str, uri: impl Into<String>) -> Self {
        Req {
            method,
            uri: uri.into(),
            authorization: None,
            headers: Vec::new(),
            body: None,
        }
    }

    fn auth(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.authorization = Some(value.into());
        self
    }

    fn header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    fn build(&self) -> TestRequest {
        let method = actix_web::http::Method::from_bytes(self.method.as_bytes()).unwrap();
        let mut req = TestRequest::default().method(method).uri(&self.uri);
        if let Some(a) = &self.authorization {
            req = req.insert_header(("Authorization", HeaderValue::from_bytes(a).unwrap()));
        }
        for (name, value) in &self.headers {
            req = req.append_header((name.as_str(), HeaderValue::from_bytes(value).unwrap()));
        }
        if let Some(body) = &self.body {
            req = req.set_json(body);
        }
        req
    }

    /// A short name for failure messages.
    fn label(&self) -> String {
        let mut uri: String = self.uri.chars().take(90).collect();
        if self.uri.len() > 90 {
            write!(uri, "…({} bytes)", self.uri.len()).unwrap();
        }
        let auth = self
            .authorization
            .as_ref()
            .map(|a| format!(" auth {} bytes", a.len()))
            .unwrap_or_default();
        let headers = if self.headers.is_empty() {
            String::new()
        } else {
            format!(" +{} headers", self.headers.len())
        };
        format!("{} {uri}{auth}{headers}", self.method)
    }
}

/// The answer a case wants: a status and a code in the shape of the path's routes (`None`
/// for a `200`).
type Expected = (u16, Option<&'static str>);

/// Sends every case through one app and checks status, shape and code; then the app still
/// serves a good request.
async fn judge_requests(world: &World, cases: &[(Req, Expected)]) {
    let app = test::init_service(aliaskit_http::app(world.api.clone())).await;
    let mut failures = Vec::new();
    for (req, (status, code)) in cases {
        let answer = call(&app, req.build().to_request()).await;
        let got = if answer.status.is_success() {
            Ok((answer.status.as_u16(), None))
        } else if aliaskit_http::Flavor::of_path(req.uri.split('?').next().unwrap_or_default())
            == aliaskit_http::Flavor::OpenCap
        {
            opencap_error(&answer).map(|(s, c)| (s, Some(c)))
        } else {
            datagram_error(&answer).map(|(s, c, _)| (s, Some(c)))
        };
        match got {
            Ok((s, c)) if s == *status && c.as_deref() == *code => {}
            Ok((s, c)) => failures.push(format!(
                "{}: wanted {status} {code:?}, got {s} {c:?}: {}",
                req.label(),
                shorten_body(&answer.body)
            )),
            Err(problem) => failures.push(format!("{}: {} {problem}", req.label(), answer.status)),
        }
    }
    report(&failures);
    let id = &world.protected;
    assert_served(&call(&app, good_request(id).to_request()).await, id);
}

fn shorten_body(body: &Value) -> String {
    body.to_string().chars().take(300).collect()
}

/// Path ids that cannot be alias ids, percent-encoded as a client would send them.
const ODD_IDS: &[&str] = &[
    "..",
    ".",
    "%2E%2E",
    "%2F",
    "a%2Fb",
    "%2F..%2F..%2Fetc%2Fpasswd",
    "%00",
    "a%00b",
    "%C3%A9",
    "%F0%9F%98%80",
    "%",
    "%Z",
    "%ZZ",
    "%C3",
    "%FF",
    "%20",
    "a%20b",
    "a;b",
    "a:b",
    "~a",
    "%252F",
    "a.b",
    "+",
    "*",
    "'",
    "a'OR'1'='1",
    "$",
    "@",
    "%0D%0ASet-Cookie:x=1",
    "%7B%7D",
    "..%2F..%2F",
];

#[actix_web::test]
async fn odd_path_ids_are_json_404s_on_every_route_family() {
    for world in worlds().await {
        let long_ids = [
            "x".repeat(65),
            "x".repeat(8 * 1024),
            format!("{}x", world.protected),
        ];
        let ids = ODD_IDS
            .iter()
            .map(|s| (*s).to_owned())
            .chain(long_ids)
            .collect::<Vec<_>>();
        let key = format!("Bearer {}", world.key);
        let jwt = format!("Bearer {}", world.jwt);
        let mut cases = Vec::new();
        for id in &ids {
            let not_found = (404, Some("alias_not_found"));
            cases.push((Req::new("GET", format!("/api/v1/alias/{id}")), not_found));
            cases.push((
                Req::new("GET", format!("/api/v1/alias/{id}")).auth(key.clone()),
                not_found,
            ));
            cases.push((
                Req::new("GET", format!("/organization/api/v1/alias/{id}")).auth(key.clone()),
                not_found,
            ));
            cases.push((
                Req::new("POST", format!("/organization/api/v1/alias/update/{id}"))
                    .auth(key.clone())
                    .json(json!({"type": "live"})),
                not_found,
            ));
            cases.push((
                Req::new("DELETE", format!("/organization/api/v1/alias/delete/{id}"))
                    .auth(key.clone()),
                not_found,
            ));
            cases.push((
                Req::new("DELETE", format!("/v1/addresses/{id}")).auth(jwt.clone()),
                (400, Some("invalid_request")),
            ));
        }
        // Paths no route serves.
        let no_route = (404, Some("not_found"));
        for path in [
            "/api/v1/alias/".to_owned(),
            "/api/v1/alias//".to_owned(),
            "/api/v1/alias/a/b".to_owned(),
            format!("/api/v1/alias/{}/", world.protected),
            format!("/api/v1/alias/{}/..", world.protected),
            format!("/api/v1/alias//{}", world.protected),
            format!("/api/v1/alias/{}/../{}", world.protected, world.public),
            "/organization/api/v1/alias/".to_owned(),
            "/organization/api/v1/alias/update/".to_owned(),
            "/organization/api/v1/alias/delete/".to_owned(),
            format!("/{}", "x".repeat(8 * 1024)),
            "//".to_owned(),
            "/%00".to_owned(),
            "/%2e%2e/%2e%2e/etc/passwd".to_owned(),
        ] {
            cases.push((Req::new("GET", path).auth(key.clone()), no_route));
        }
        cases.push((
            Req::new("DELETE", "/v1/addresses/").auth(jwt.clone()),
            (404, Some("not_found")),
        ));
        judge_requests(&world, &cases).await;
    }
}

#[actix_web::test]
async fn oversized_headers_and_query_strings_are_json_4xx() {
    for world in worlds().await {
        let (protected, passcode, public) = (&world.protected, &world.passcode, &world.public);
        let key = format!("Bearer {}", world.key);
        let jwt = format!("Bearer {}", world.jwt);
        let shaped =
            |len: usize| format!("Bearer {}.{}.c", "a".repeat(len / 2), "b".repeat(len / 2));
        let k16 = format!("Bearer {}", "a".repeat(16 * 1024));
        let k64 = format!("Bearer {}", "a".repeat(64 * 1024));
        let big_query = "p".repeat(60 * 1024);
        let unauthorized = (401, Some("unauthorized"));
        let mut cases = vec![
            (Req::new("GET", format!("/api/v1/alias/{protected}")).auth(k16.clone()), unauthorized),
            (Req::new("GET", format!("/api/v1/alias/{protected}")).auth(k64.clone()), unauthorized),
            (Req::new("GET", format!("/api/v1/alias/{protected}")).auth("a".repeat(64 * 1024)), unauthorized),
            (Req::new("GET", format!("/api/v1/alias/{protected}")).auth(shaped(16 * 1024)), (401, Some("malformed_token"))),
            (Req::new("GET", format!("/api/v1/alias/{protected}")).auth(shaped(64 * 1024)), (401, Some("malformed_token"))),
            (Req::new("GET", format!("/api/v1/alias/{passcode}")).auth(k64.clone()), unauthorized),
            (Req::new("GET", format!("/api/v1/alias/{public}")).auth(k64.clone()), (200, None)),
            (Req::new("GET", "/organization/api/v1/aliases").auth(k16.clone()), unauthorized),
            (Req::new("GET", "/organization/api/v1/aliases").auth(k64.clone()), unauthorized),
            (Req::new("POST", "/organization/api/v1/alias/create").auth(k64.clone()).json(create_body()), unauthorized),
            (Req::new("DELETE", format!("/organization/api/v1/alias/delete/{protected}")).auth(k64.clone()), unauthorized),
            // OpenCAP reads any bearer as its login token and answers with the token's code.
            (Req::new("PUT", "/v1/addresses").auth(k64.clone()).json(json!({"address_type": 100, "address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"})), (401, Some("malformed_token"))),
            (Req::new("PUT", "/v1/addresses").auth(shaped(64 * 1024)).json(json!({"address_type": 100, "address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"})), (401, Some("malformed_token"))),
            (Req::new("DELETE", "/v1/users").auth(k64.clone()), (401, Some("malformed_token"))),
            (Req::new("DELETE", "/v1/addresses/100").auth(k16.clone()), (401, Some("malformed_token"))),
            (Req::new("DELETE", "/v1/users").auth(format!("Bearer {}", signed(r#"{"alg":"none"}"#, "{}"))), (401, Some("unsupported_algorithm"))),
            (Req::new("DELETE", "/v1/users").auth(jwt.replace("Bearer ", "Bearer x")), (401, Some("malformed_token"))),
            // Long query strings (the in-process client cannot build a URI over 64 KiB; the real
            // server's codec answers those, see bins/server/tests/it/hostile.rs).
            (Req::new("GET", format!("/api/v1/alias/{passcode}?passcode={big_query}")), unauthorized),
            (Req::new("GET", format!("/api/v1/alias/{protected}?passcode={big_query}")), unauthorized),
            (Req::new("GET", format!("/api/v1/alias/{public}?cache={big_query}")), (200, None)),
            (Req::new("GET", format!("/api/v1/alias/{passcode}?passcode=%FF%FE")), unauthorized),
            (Req::new("GET", format!("/api/v1/alias/{passcode}?passcode=%")), unauthorized),
            (Req::new("GET", format!("/api/v1/alias/{passcode}?passcode=pin-2468%00")), unauthorized),
            (Req::new("GET", format!("/api/v1/alias/{passcode}?passcode[]=pin")), unauthorized),
            (Req::new("GET", format!("/api/v1/alias/{passcode}?passcode=pin-2468&passcode=pin-2468")), (400, Some("invalid_request"))),
            (Req::new("GET", format!("/api/v1/alias/{passcode}?passcode=pin-2468")), (200, None)),
            (Req::new("GET", format!("/organization/api/v1/aliases?x={big_query}")).auth(key.clone()), (400, Some("invalid_request"))),
            (Req::new("GET", format!("/organization/api/v1/aliases?after={big_query}")).auth(key.clone()), (400, Some("invalid_request"))),
            (Req::new("GET", format!("/v1/addresses?alias={big_query}%24example.com")), (400, Some("invalid_request"))),
            (Req::new("GET", format!("/v1/addresses?alias=alice%24example.com&address_type={}", "1".repeat(10_000))), (400, Some("invalid_request"))),
        ];
        // Many headers, and one huge one, reach the app in-process (the codec's limits are for
        // the real server).
        let mut many = Req::new("GET", format!("/api/v1/alias/{public}"));
        for i in 0..90 {
            many = many.header(format!("x-junk-{i}"), "j".repeat(1024));
        }
        cases.push((many, (200, None)));
        cases.push((
            Req::new("GET", format!("/api/v1/alias/{public}"))
                .header("x-junk", "j".repeat(1024 * 1024)),
            (200, None),
        ));
        // Fifty `Authorization` headers, a bad token first and good ones after: only the first
        // is read, and it is refused.
        let good = format!("Bearer {}", signed(HS256, &claims(protected, json!({}))));
        let mut many_auth = Req::new("GET", format!("/api/v1/alias/{protected}")).header(
            "authorization",
            format!(
                "Bearer {}",
                signed_with("HS256", ATTACKER, HS256, &claims(protected, json!({})))
            ),
        );
        for _ in 0..49 {
            many_auth = many_auth.header("authorization", good.clone());
        }
        cases.push((many_auth, (401, Some("bad_signature"))));
        cases.push((
            Req::new("GET", format!("/api/v1/alias/{protected}"))
                .header("x-request-id", "x".repeat(64 * 1024)),
            unauthorized,
        ));
        judge_requests(&world, &cases).await;
    }
}

#[actix_web::test]
async fn odd_opencap_queries_and_listing_parameters_are_json_400s() {
    for world in worlds().await {
        let key = format!("Bearer {}", world.key);
        let mut cases = Vec::new();
        let bad = (400, Some("invalid_request"));
        for alias in [
            "",
            "%00",
            "alice%24example.com%00",
            "..",
            "alice%24..",
            "%F0%9F%98%80%24example.com",
            "alice%24example.com%2F..%2Fx",
            "alice%24example.com/../x",
            "aaaaaaaaaaaaaaaaaaaaaaaaaa%24example.com",
            "ALICE%24example.com",
            "alice%24%24example.com",
            "alice%24example.c0m",
            "alice",
            "%24",
            "%24example.com",
            "alice%24",
            "%",
            "%ZZ",
            "%FF",
            "alice%24example.com.",
            "alice%24.example.com",
            "alice%24example..com",
            "alice%24-example.com",
            "alice%24%C3%A9xample.com",
            "alice%24EXAMPLE.COM",
            "alice%20%24example.com",
            "alice%24example.com%20",
            "alice%0A%24example.com",
        ] {
            cases.push((Req::new("GET", format!("/v1/addresses?alias={alias}")), bad));
        }
        let unknown = (404, Some("alias_not_found"));
        cases.push((
            Req::new("GET", "/v1/addresses?alias=bob%24example.com"),
            unknown,
        ));
        cases.push((
            Req::new("GET", "/v1/addresses?alias=bob%24xn--bcher-kva.example"),
            unknown,
        ));
        for t in [
            "-1",
            "1e2",
            "100.0",
            "0x64",
            "99999999999999999999",
            "%00",
            "abc",
            "100%00",
            "%D9%A1%D9%A0%D9%A0",
            "100%20100",
            "1%2C2",
            "%",
            "%FF",
            "%2B100",
            "%2D100",
        ] {
            cases.push((
                Req::new(
                    "GET",
                    format!("/v1/addresses?alias=alice%24example.com&address_type={t}"),
                ),
                bad,
            ));
        }
        cases.push((
            Req::new(
                "GET",
                "/v1/addresses?alias=alice%24example.com&alias=bob%24example.com",
            ),
            bad,
        ));
        // `+` is a space in a query string, and the type is trimmed: a valid type.
        for t in ["100", "+100", "%20100%20"] {
            cases.push((
                Req::new(
                    "GET",
                    format!("/v1/addresses?alias=alice%24example.com&address_type={t}"),
                ),
                (404, Some("address_not_found")),
            ));
        }
        cases.push((
            Req::new("GET", "/v1/addresses?alias=alice%24example.com"),
            (200, None),
        ));
        // An empty `limit` is taken as absent: the default page.
        cases.push((
            Req::new("GET", "/organization/api/v1/aliases?limit=").auth(key.clone()),
            (200, None),
        ));
        for query in [
            "limit=0",
            "limit=-1",
            "limit=201",
            "limit=1e3",
            "limit=99999999999999999999",
            "limit=abc",
            "limit=%00",
            "limit=1&limit=2",
            "after=%00",
            "after=garbage",
            "after=..",
            "after=%FF%FE",
            "type=video",
            "type=%00",
            "unknown=1",
        ] {
            cases.push((
                Req::new("GET", format!("/organization/api/v1/aliases?{query}")).auth(key.clone()),
                bad,
            ));
        }
        judge_requests(&world, &cases).await;
    }
}

#[actix_web::test]
async fn refused_cors_preflights_are_json_in_the_opencap_shape() {
    // Regression: actix-cors answers a refused preflight with a plain-text 400 and no content
    // type; the observe middleware now gives it the OpenCAP error shape.
    let env = envs().remove(0);
    let app = test::init_service(aliaskit_http::app(env.api.clone())).await;
    let preflight = |extra: Option<(&'static str, &'static str)>, method: &'static str| {
        let mut req = TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/v1/addresses")
            .insert_header(("Origin", "https://wallet.example"))
            .insert_header(("Access-Control-Request-Method", method));
        if let Some(h) = extra {
            req = req.insert_header(h);
        }
        req.to_request()
    };
    for (req, message) in [
        (preflight(None, "PATCH"), "Requested method is not allowed"),
        (
            preflight(Some(("Access-Control-Request-Headers", "x-evil")), "GET"),
            "One or more request headers are not allowed",
        ),
    ] {
        let answer = call(&app, req).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            answer.body,
            json!({"message": message, "code": "bad_request"})
        );
        assert_eq!(answer.header("content-type"), Some("application/json"));
        assert!(answer.header("x-request-id").is_some());
    }
    let answer = call(&app, preflight(None, "GET")).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "an allowed preflight is untouched"
    );
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
}
