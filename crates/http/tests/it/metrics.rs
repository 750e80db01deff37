//! `GET /metrics` (issue 6): a known sequence of requests against one `Api`, then the scrape is
//! parsed and every counter, label set and histogram count checked exactly.

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::dev::Service as _;
use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use aliaskit_http::Api;
use aliaskit_service::{Service, ServiceConfig};
use serde_json::json;

use crate::*;

const PASSWORD: &str = "correct horse battery";
const WRONG: &str = "incorrect horse battery";
const OTHER_SECRET: &str = "fedcba9876543210fedcba9876543210";
/// A passcode sent to an unknown route: it must not reach a label.
const QUERY_SECRET: &str = "hunter2hunter2";

/// A label set, by name.
type Labels = BTreeMap<String, String>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A scrape, parsed: the `# TYPE` of each family and every sample.
#[derive(Debug, Default)]
struct Scrape {
    types: BTreeMap<String, String>,
    samples: BTreeMap<String, BTreeMap<Labels, f64>>,
}

impl Scrape {
    /// Parses the text exposition format (0.0.4). Panics on anything it does not understand,
    /// so a malformed scrape fails the test.
    fn parse(text: &str) -> Scrape {
        let mut scrape = Scrape::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                scrape.types.insert(name.to_owned(), kind.to_owned());
                continue;
            }
            if line.starts_with("# HELP ") {
                continue;
            }
            assert!(!line.starts_with('#'), "unexpected comment: {line}");
            let (name, labels, value) = match line.split_once('{') {
                Some((name, rest)) => {
                    let (labels, value) = rest.rsplit_once("} ").unwrap();
                    (name, parse_labels(labels), value)
                }
                None => {
                    let (name, value) = line.split_once(' ').unwrap();
                    (name, Labels::new(), value)
                }
            };
            let value: f64 = value
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("bad value: {line}"));
            let previous = scrape
                .samples
                .entry(name.to_owned())
                .or_default()
                .insert(labels, value);
            assert!(previous.is_none(), "a sample twice: {line}");
        }
        scrape
    }

    /// The samples of `name`, by label set (empty if none).
    fn series(&self, name: &str) -> BTreeMap<Labels, f64> {
        self.samples.get(name).cloned().unwrap_or_default()
    }

    /// The one sample of `name` with `pairs`.
    fn value(&self, name: &str, pairs: &[(&str, &str)]) -> Option<f64> {
        self.samples.get(name)?.get(&labels(pairs)).copied()
    }
}

/// `a="x",b="y\"z"` → {a: x, b: y"z}.
fn parse_labels(text: &str) -> Labels {
    let mut out = Labels::new();
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert_eq!(chars.next(), Some('"'), "label {name} in {text}");
        let mut value = String::new();
        loop {
            match chars.next().unwrap() {
                '"' => break,
                '\\' => match chars.next().unwrap() {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                c => value.push(c),
            }
        }
        assert!(out.insert(name, value).is_none(), "a label twice in {text}");
        match chars.next() {
            None | Some(',') => {}
            Some(c) => panic!("unexpected {c:?} in {text}"),
        }
    }
    out
}

/// `GET /metrics` through a fresh app over `api`: its content type and text.
pub(crate) async fn scrape(api: &Api) -> (String, String) {
    let app = test::init_service(aliaskit_http::app(api.clone())).await;
    let res = app
        .call(TestRequest::get().uri("/metrics").to_request())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let body = test::read_body(res).await;
    (content_type, String::from_utf8(body.to_vec()).unwrap())
}

/// One `Api` per backend: OpenCAP for example.com with open signup and a lockout after three
/// failures, and limits of one request per hour where a test wants to see a 429.
fn apis() -> Vec<(aliaskit_store::testing::TestDb, Api, String)> {
    TestApp::new()
        .with_opencap()
        .limited(1, Duration::from_secs(3600))
        .envs()
        .into_iter()
        .map(|env| (env.db, env.api, env.key))
        .collect()
}

fn auth(alias: &str, password: &str) -> TestRequest {
    TestRequest::post()
        .uri("/v1/auth")
        .set_json(json!({"alias": alias, "password": password}))
}

/// The token with the first character of its signature changed.
fn tampered(token: &str) -> String {
    let (head, signature) = token.rsplit_once('.').unwrap();
    let first = if signature.starts_with('A') { 'B' } else { 'A' };
    format!("{head}.{first}{}", &signature[1..])
}

#[actix_web::test]
async fn scraping_after_a_known_sequence_counts_exactly_and_leaks_nothing() {
    for (db, api, key) in apis() {
        let b = db.backend();
        let status = |answer: &Answer| answer.status.as_u16();

        // Liveness, three times; a method nobody knows.
        for _ in 0..3 {
            let answer = send(&api, TestRequest::get().uri("/healthz")).await;
            assert_eq!(status(&answer), 200);
        }
        let brew = TestRequest::default()
            .method(Method::from_bytes(b"BREW").unwrap())
            .uri("/healthz");
        assert_eq!(status(&send(&api, brew).await), 405);

        // The organization API: one create, then the per-organization limit.
        let org = |req: TestRequest| req.insert_header(("Authorization", format!("Bearer {key}")));
        let created = send(
            &api,
            org(TestRequest::post().uri("/organization/api/v1/alias/create")).set_json(json!({
                "type": "conference", "jwt_secret": SECRET, "expired_at": now() + 3600
            })),
        )
        .await;
        assert_eq!(status(&created), 200, "{b:?} {:?}", created.body);
        let id = created.body["data"]["id"].as_str().unwrap().to_owned();
        let listed = send(
            &api,
            org(TestRequest::get().uri("/organization/api/v1/aliases")),
        )
        .await;
        assert_eq!(status(&listed), 429, "{b:?}");

        // The public retrieve: two expired tokens, one signed with another secret, then a good
        // one from a client IP and the same again, which its limit refuses.
        let retrieve = |token: &str| {
            TestRequest::get()
                .uri(&format!("/api/v1/alias/{id}"))
                .insert_header(("Authorization", format!("Bearer {token}")))
        };
        let expired = token(
            SECRET,
            json!({"alias": id, "user_id": "u1", "iat": now() - 7200, "exp": now() - 3600}),
        );
        for _ in 0..2 {
            let answer = send(&api, retrieve(&expired)).await;
            assert_eq!(error_of(&answer).0, "token_expired", "{b:?}");
        }
        let forged = token(
            OTHER_SECRET,
            json!({"alias": id, "user_id": "u1", "iat": now(), "exp": now() + 600}),
        );
        let answer = send(&api, retrieve(&forged)).await;
        assert_eq!(error_of(&answer).0, "bad_signature", "{b:?}");
        let good = token(
            SECRET,
            json!({"alias": id, "user_id": "u1", "iat": now(), "exp": now() + 600}),
        );
        let from_ip = || retrieve(&good).peer_addr("198.51.100.7:4000".parse().unwrap());
        assert_eq!(status(&send(&api, from_ip()).await), 200, "{b:?}");
        assert_eq!(status(&send(&api, from_ip()).await), 429, "{b:?}");

        // Paths no route serves, at the top and in the /v1 scope.
        let unknown = format!("/no/such/{id}?passcode={QUERY_SECRET}");
        assert_eq!(
            status(&send(&api, TestRequest::get().uri(&unknown)).await),
            404
        );
        assert_eq!(
            status(&send(&api, TestRequest::get().uri("/v1/nothing")).await),
            404
        );

        // OpenCAP: two users; alice fails twice, logs in, logs in again from a client IP whose
        // one attempt is used up; bob fails three times (locked) and is then refused.
        for user in ["alice$example.com", "bob$example.com"] {
            let answer = send(
                &api,
                TestRequest::post()
                    .uri("/v1/users")
                    .set_json(json!({"alias": user, "password": PASSWORD})),
            )
            .await;
            assert_eq!(status(&answer), 200, "{b:?} {:?}", answer.body);
        }
        for _ in 0..2 {
            let answer = send(&api, auth("alice$example.com", WRONG)).await;
            assert_eq!(status(&answer), 401, "{b:?}");
        }
        let ip = || "192.0.2.10:5000".parse().unwrap();
        let answer = send(&api, auth("alice$example.com", PASSWORD).peer_addr(ip())).await;
        assert_eq!(status(&answer), 200, "{b:?} {:?}", answer.body);
        let jwt = answer.body["jwt"].as_str().unwrap().to_owned();
        let answer = send(&api, auth("alice$example.com", PASSWORD).peer_addr(ip())).await;
        assert_eq!(status(&answer), 429, "{b:?}");
        for _ in 0..3 {
            let answer = send(&api, auth("bob$example.com", WRONG)).await;
            assert_eq!(status(&answer), 401, "{b:?}");
        }
        let answer = send(&api, auth("bob$example.com", PASSWORD)).await;
        assert_eq!(answer.body["code"], "account_locked", "{b:?}");

        // OpenCAP bearer checks: not a JWT at all, and alice's token with a forged signature.
        let forged_jwt = tampered(&jwt);
        for (bearer, code) in [
            ("not-a-jwt", "malformed_token"),
            (forged_jwt.as_str(), "bad_signature"),
        ] {
            let answer = send(
                &api,
                TestRequest::put()
                    .uri("/v1/addresses")
                    .insert_header(("Authorization", format!("Bearer {bearer}")))
                    .set_json(json!({"address_type": 100, "address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"})),
            )
            .await;
            assert_eq!(status(&answer), 401, "{b:?}");
            assert_eq!(answer.body["code"], code, "{b:?}");
        }

        // The scrape.
        let (content_type, text) = scrape(&api).await;
        assert_eq!(content_type, "text/plain; version=0.0.4", "{b:?}");
        let metrics = Scrape::parse(&text);

        let requests: BTreeMap<Labels, f64> = [
            ("/healthz", "GET", "200", 3.0),
            ("/healthz", "other", "405", 1.0),
            ("/organization/api/v1/alias/create", "POST", "200", 1.0),
            ("/organization/api/v1/aliases", "GET", "429", 1.0),
            ("/api/v1/alias/{id}", "GET", "401", 3.0),
            ("/api/v1/alias/{id}", "GET", "200", 1.0),
            ("/api/v1/alias/{id}", "GET", "429", 1.0),
            ("unmatched", "GET", "404", 2.0),
            ("/v1/users", "POST", "200", 2.0),
            ("/v1/auth", "POST", "200", 1.0),
            ("/v1/auth", "POST", "401", 5.0),
            ("/v1/auth", "POST", "429", 2.0),
            ("/v1/addresses", "PUT", "401", 2.0),
        ]
        .into_iter()
        .map(|(route, method, status, n)| {
            (
                labels(&[("route", route), ("method", method), ("status", status)]),
                n,
            )
        })
        .collect();
        assert_eq!(
            metrics.series("aliaskit_http_requests_total"),
            requests,
            "{b:?}"
        );

        // One histogram per route and method, counting every request of it.
        let mut per_route: BTreeMap<Labels, f64> = BTreeMap::new();
        for (l, n) in &requests {
            let key = labels(&[("route", &l["route"]), ("method", &l["method"])]);
            *per_route.entry(key).or_default() += n;
        }
        assert_eq!(
            metrics.series("aliaskit_http_request_duration_seconds_count"),
            per_route,
            "{b:?}"
        );
        assert_eq!(
            metrics
                .series("aliaskit_http_request_duration_seconds_sum")
                .keys()
                .collect::<Vec<_>>(),
            per_route.keys().collect::<Vec<_>>()
        );
        let buckets = metrics.series("aliaskit_http_request_duration_seconds_bucket");
        for (key, count) in &per_route {
            let mut of_route: Vec<(f64, f64)> = buckets
                .iter()
                .filter(|(l, _)| l["route"] == key["route"] && l["method"] == key["method"])
                .map(|(l, n)| {
                    let le = match l["le"].as_str() {
                        "+Inf" => f64::INFINITY,
                        le => le.parse().unwrap(),
                    };
                    (le, *n)
                })
                .collect();
            of_route.sort_by(|a, b| a.0.total_cmp(&b.0));
            assert_eq!(of_route.first().map(|b| b.0), Some(0.0005), "{key:?}");
            assert_eq!(of_route.last(), Some(&(f64::INFINITY, *count)), "{key:?}");
            assert!(
                of_route.windows(2).all(|w| w[0].1 <= w[1].1),
                "cumulative buckets: {of_route:?}"
            );
        }

        assert_eq!(
            metrics.series("aliaskit_token_rejections_total"),
            [
                ("token_expired", 2.0),
                ("bad_signature", 2.0),
                ("malformed_token", 1.0)
            ]
            .into_iter()
            .map(|(code, n)| (labels(&[("code", code)]), n))
            .collect(),
            "{b:?}"
        );
        assert_eq!(
            metrics.series("aliaskit_login_failures_total"),
            [
                ("wrong_credentials", 5.0),
                ("locked", 1.0),
                ("rate_limited", 1.0)
            ]
            .into_iter()
            .map(|(reason, n)| (labels(&[("reason", reason)]), n))
            .collect(),
            "{b:?}"
        );
        assert_eq!(metrics.value("aliaskit_logins_total", &[]), Some(1.0));
        assert_eq!(
            metrics.series("aliaskit_rate_limited_total"),
            [("retrieve", 1.0), ("org", 1.0), ("auth", 1.0)]
                .into_iter()
                .map(|(limit, n)| (labels(&[("limit", limit)]), n))
                .collect(),
            "{b:?}"
        );

        // The pool, read at scrape time: nothing in flight, the connections used are idle.
        let max = f64::from(api.service.db().pool_max_size());
        assert_eq!(metrics.value("aliaskit_db_pool_max", &[]), Some(max));
        let idle = metrics
            .value("aliaskit_db_pool_connections", &[("state", "idle")])
            .unwrap();
        let in_use = metrics
            .value("aliaskit_db_pool_connections", &[("state", "in_use")])
            .unwrap();
        assert_eq!(in_use, 0.0, "{b:?}");
        assert!((1.0..=max).contains(&idle), "{b:?}: {idle} idle of {max}");

        // The cache: the first of the four retrieves that reached the service read the
        // database, the other three the cached copy; no Address Query was made.
        for (cache, result, count) in [
            ("alias", "miss", 1.0),
            ("alias", "hit", 3.0),
            ("lookup", "miss", 0.0),
            ("lookup", "hit", 0.0),
        ] {
            assert_eq!(
                metrics.value(
                    "aliaskit_cache_reads_total",
                    &[("cache", cache), ("result", result)]
                ),
                Some(count),
                "{b:?}: {cache} {result}"
            );
        }

        let types: BTreeMap<&str, &str> = metrics
            .types
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            types,
            BTreeMap::from([
                ("aliaskit_cache_reads_total", "counter"),
                ("aliaskit_db_pool_connections", "gauge"),
                ("aliaskit_db_pool_max", "gauge"),
                ("aliaskit_http_request_duration_seconds", "histogram"),
                ("aliaskit_http_requests_total", "counter"),
                ("aliaskit_login_failures_total", "counter"),
                ("aliaskit_logins_total", "counter"),
                ("aliaskit_passcode_failures_total", "counter"),
                ("aliaskit_passcode_lockouts_total", "counter"),
                ("aliaskit_rate_limited_total", "counter"),
                ("aliaskit_token_rejections_total", "counter"),
                ("aliaskit_webhook_deliveries_total", "counter"),
                ("aliaskit_webhook_oldest_pending_seconds", "gauge"),
                ("aliaskit_webhook_pending", "gauge"),
            ])
        );

        // No id, token, key, secret, password or query string, anywhere in the scrape.
        for secret in [
            id.as_str(),
            &key,
            SECRET,
            OTHER_SECRET,
            &expired,
            &forged,
            &good,
            &jwt,
            &forged_jwt,
            PASSWORD,
            WRONG,
            QUERY_SECRET,
            "alice",
            "/no/such",
        ] {
            assert!(!text.contains(secret), "{b:?}: {secret:?} in\n{text}");
        }

        // The scrape counts too, from the next one on; other counters are as they were.
        let (_, again) = scrape(&api).await;
        let again = Scrape::parse(&again);
        let route = |n: f64| {
            let mut expected = requests.clone();
            expected.insert(
                labels(&[("route", "/metrics"), ("method", "GET"), ("status", "200")]),
                n,
            );
            expected
        };
        assert_eq!(again.series("aliaskit_http_requests_total"), route(1.0));
        assert_eq!(
            again.series("aliaskit_token_rejections_total"),
            metrics.series("aliaskit_token_rejections_total")
        );
    }
}

#[actix_web::test]
async fn two_apis_in_one_process_count_apart() {
    let (db, first, _) = apis().remove(0);
    let second = Api::new(Service::new(db.db.clone(), ServiceConfig::default()));
    for _ in 0..2 {
        send(&first, TestRequest::get().uri("/healthz")).await;
    }
    let count = |text: &str| {
        Scrape::parse(text)
            .series("aliaskit_http_requests_total")
            .into_iter()
            .map(|(l, n)| (l["route"].clone(), n))
            .collect::<Vec<_>>()
    };
    assert_eq!(count(&scrape(&first).await.1), [("/healthz".into(), 2.0)]);
    assert_eq!(count(&scrape(&second).await.1), []);
    // A clone shares its original's metrics.
    assert_eq!(
        count(&scrape(&first.clone()).await.1),
        [("/healthz".into(), 2.0), ("/metrics".into(), 1.0)]
    );
}

#[actix_web::test]
async fn the_scrape_counts_webhook_attempts_and_reads_the_backlog() {
    for env in envs() {
        let b = env.db.backend();
        let service = &env.api.service;
        let (_, text) = scrape(&env.api).await;
        let metrics = Scrape::parse(&text);
        for outcome in ["delivered", "retry", "failed"] {
            assert_eq!(
                metrics.value("aliaskit_webhook_deliveries_total", &[("outcome", outcome)]),
                Some(0.0),
                "{b:?}: {outcome} starts at zero"
            );
        }
        assert_eq!(metrics.value("aliaskit_webhook_pending", &[]), Some(0.0));
        assert_eq!(
            metrics.value("aliaskit_webhook_oldest_pending_seconds", &[]),
            Some(0.0)
        );

        let org = service.authenticate_org(&env.key).unwrap();
        service
            .create_webhook(
                org,
                aliaskit_service::NewWebhook {
                    url: "https://203.0.113.7/events".into(),
                    events: vec!["*".into()],
                    description: None,
                },
            )
            .unwrap();
        for _ in 0..2 {
            service.create_alias(org, new_alias()).unwrap();
        }
        let due = service
            .claim_deliveries(10, Duration::from_secs(60))
            .unwrap();
        assert_eq!(due.len(), 2, "{b:?}");
        for (d, status) in due.iter().zip([200, 500]) {
            service
                .record_delivery(
                    d,
                    &aliaskit_service::Attempt {
                        status: Some(status),
                        error: None,
                        duration: Duration::from_millis(3),
                    },
                    1.0,
                )
                .unwrap();
        }
        let (_, text) = scrape(&env.api).await;
        let metrics = Scrape::parse(&text);
        for (outcome, count) in [("delivered", 1.0), ("retry", 1.0), ("failed", 0.0)] {
            assert_eq!(
                metrics.value("aliaskit_webhook_deliveries_total", &[("outcome", outcome)]),
                Some(count),
                "{b:?}: {outcome}"
            );
        }
        assert_eq!(
            metrics.value("aliaskit_webhook_pending", &[]),
            Some(1.0),
            "{b:?}"
        );
        let age = metrics
            .value("aliaskit_webhook_oldest_pending_seconds", &[])
            .unwrap();
        assert!((0.0..60.0).contains(&age), "{b:?}: {age}");
    }
}
