//! In-process HTTP tests of every route and error case (`docs/api.md`), through the whole
//! application (middleware included), on SQLite and — when `ALIASKIT_TEST_POSTGRES_URL` is set —
//! PostgreSQL.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test, with its location"
)]

mod audit;
mod errors;
mod hostile;
mod metrics;
mod openapi;
mod opencap;
mod org_api;
mod retrieve;
mod security;
mod token_check;
mod webhooks;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use aliaskit_domain::OrgName;
use std::sync::Arc;
use std::time::Duration;

use aliaskit_http::{Api, RateLimiter};
use aliaskit_service::{OpenCapConfig, ServiceConfig};
use aliaskit_store::testing::TestDb;
use serde_json::{Value, json};

/// A 32-byte secret.
pub const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// Now, in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A database with organization `acme`, and its API key.
pub struct Env {
    /// Keeps the database alive.
    pub db: TestDb,
    /// The routes' state.
    pub api: Api,
    /// `acme`'s key.
    pub key: String,
}

/// How a test's `Api` is built: the default service and limits, or OpenCAP for `example.com`,
/// or the request limits off or set — then one [`Env`] per backend.
#[derive(Default)]
pub struct TestApp {
    config: ServiceConfig,
    /// Every request limit at this many per period; `None` keeps `Api::new`'s.
    limits: Option<(u32, Duration)>,
}

impl TestApp {
    /// The default service and request limits.
    pub fn new() -> TestApp {
        TestApp::default()
    }

    /// Serves OpenCAP aliases of `example.com`, with open signup and a lockout after three
    /// failed logins.
    pub fn with_opencap(mut self) -> TestApp {
        self.config.opencap = OpenCapConfig {
            domains: vec!["example.com".into()],
            open_signup: true,
            lockout_threshold: 3,
            ..OpenCapConfig::default()
        };
        self
    }

    /// This service configuration instead of the default one.
    pub fn with_config(mut self, config: ServiceConfig) -> TestApp {
        self.config = config;
        self
    }

    /// No request limit: for tests that send many requests on purpose.
    pub fn unlimited(self) -> TestApp {
        self.limited(0, Duration::from_secs(1))
    }

    /// Every request limit (retrieve, organization, login) at `n` per `per`.
    pub fn limited(mut self, n: u32, per: Duration) -> TestApp {
        self.limits = Some((n, per));
        self
    }

    /// One environment per backend: a fresh database with organization `acme`.
    pub fn envs(self) -> Vec<Env> {
        TestDb::all()
            .unwrap()
            .into_iter()
            .map(|db| {
                let service = aliaskit_service::Service::new(db.db.clone(), self.config.clone());
                let (_, key) = service
                    .create_org(&OrgName::parse("acme").unwrap())
                    .unwrap();
                let mut api = Api::new(service);
                if let Some((n, per)) = self.limits {
                    api.auth_limiter = Arc::new(RateLimiter::new(n, per));
                    api.retrieve_limiter = Arc::new(RateLimiter::new(n, per));
                    api.org_limiter = Arc::new(RateLimiter::new(n, per));
                }
                Env {
                    db,
                    api,
                    key: key.expose().to_owned(),
                }
            })
            .collect()
    }
}

/// One environment per backend, with the default service and limits.
pub fn envs() -> Vec<Env> {
    TestApp::new().envs()
}

/// What a client sees of a response.
#[derive(Debug)]
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// Headers, by lower-case name.
    pub headers: actix_web::http::header::HeaderMap,
    /// The body, parsed as JSON (`Value::Null` if it was not JSON).
    pub body: Value,
}

impl Answer {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends `req` through a fresh instance of the whole app.
pub async fn send(api: &Api, req: TestRequest) -> Answer {
    let app = test::init_service(aliaskit_http::app(api.clone())).await;
    let res: ServiceResponse<_> = app.call(req.to_request()).await.unwrap();
    read(res).await
}

async fn read<B: MessageBody>(res: ServiceResponse<B>) -> Answer {
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = test::read_body(res).await;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

/// `POST /organization/api/v1/alias/create` with `body`, as `acme`.
pub async fn create(env: &Env, body: Value) -> Answer {
    send(
        &env.api,
        TestRequest::post()
            .uri("/organization/api/v1/alias/create")
            .insert_header(("Authorization", format!("Bearer {}", env.key)))
            .set_json(body),
    )
    .await
}

/// A valid create body: conference, a secret, an hour to live.
pub fn create_body() -> Value {
    json!({"type": "conference", "name": "Weekly sync", "jwt_secret": SECRET, "expired_at": now() + 3600})
}

/// Creates an alias from `body` and returns its JSON (`data`).
pub async fn created(env: &Env, body: Value) -> Value {
    let answer = create(env, body).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body["data"].clone()
}

/// An access token made by another JWT library.
pub fn token(secret: &str, claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// Asserts the `docs/api.md#errors` error shape and returns `(code, message)`.
pub fn error_of(answer: &Answer) -> (String, String) {
    let error = answer
        .body
        .get("error")
        .unwrap_or_else(|| panic!("not an error body: {answer:?}"));
    (
        error["code"].as_str().unwrap().to_owned(),
        error["message"].as_str().unwrap().to_owned(),
    )
}

/// A conference alias expiring in an hour, for the service called directly.
pub fn new_alias() -> aliaskit_domain::NewAlias {
    aliaskit_domain::NewAlias {
        kind: aliaskit_domain::AliasKind::Conference,
        name: Some("Weekly sync".into()),
        passcode: None,
        jwt_secret: Some(SECRET.into()),
        stream_key: None,
        expired_at: now() + 3600,
    }
}
