//! actix-web adapters for aliaskit: the Datagram-compatible alias routes (`docs/api.md`),
//! authentication extractors, and — in [`error`] — the one mapping of failures to statuses and
//! JSON bodies (`docs/api.md#errors`).
//!
//! ```no_run
//! use actix_web::HttpServer;
//! use aliaskit_http::Api;
//!
//! async fn run(service: aliaskit_service::Service) -> std::io::Result<()> {
//! let api = Api::new(service);
//! HttpServer::new(move || aliaskit_http::app(api.clone()))
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await
//! }
//! ```
//!
//! Another actix-web service mounts the routes with [`configure`]. Database work never runs on
//! an async worker: the reads of the public retrieve and the OpenCAP lookup that their caches
//! miss run on a few reader threads ([`Readers`]), the rest on actix's blocking pool
//! (`web::block`); only the password hashes of OpenCAP signup and login run on the
//! password-hashing threads ([`hashing`]). A request
//! whose database work has not finished within the database's timeout (`database.timeout`) is
//! answered `503` at that moment.

mod audit;
pub mod auth;
pub mod body;
pub mod client;
pub mod error;
pub mod hashing;
mod health;
pub mod limit;
pub mod metrics;
mod observe;
pub mod openapi;
mod opencap;
mod org;
mod public;
mod threads;
mod webhooks;
pub mod wire;

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, Resource, middleware, web};
use aliaskit_service::Service;

pub use error::{ApiError, Flavor};
pub use hashing::HashingPool;
pub use limit::RateLimiter;
pub use metrics::Metrics;
pub use observe::{REQUEST_ID, RequestId, observe};
pub use threads::Readers;

/// A listing's `limit` query parameter: `None` when absent or empty, else a whole number (the
/// service checks its range); a `400` naming `limit` otherwise.
pub(crate) fn parse_limit(raw: Option<&str>) -> Result<Option<u32>, ApiError> {
    match raw {
        None | Some("") => Ok(None),
        Some(l) => l.parse::<u32>().map(Some).map_err(|_| {
            ApiError::invalid(
                Some("limit"),
                format!(
                    "limit must be a whole number between 1 and {}",
                    aliaskit_service::MAX_LIMIT
                ),
            )
        }),
    }
}

/// The default JSON body limit, in bytes: 64 KiB (issue 3; docs/api.md).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;
/// The default time a request body may take to arrive in full: 10 s (`server.body_timeout`).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `POST /v1/auth` and `POST /v1/users` attempts per client IP and minute.
pub const DEFAULT_AUTH_LIMIT: u32 = 10;
/// Default public retrieves per client IP and second.
pub const DEFAULT_RETRIEVE_LIMIT: u32 = 100;
/// Default organization API requests per organization and second (the Datagram service
/// documents 60).
pub const DEFAULT_ORG_LIMIT: u32 = 60;

/// What the routes share: the use cases, the request limits and the metrics.
#[derive(Clone, Debug)]
pub struct Api {
    /// The use cases.
    pub service: Service,
    /// Largest request body, in bytes.
    pub body_limit: usize,
    /// How long a request body may take to arrive in full, from when its handler starts
    /// reading it; then `408 request_timeout`, and the connection is closed.
    pub body_timeout: Duration,
    /// Login and signup attempts per client IP.
    pub auth_limiter: Arc<RateLimiter>,
    /// Public retrieves per client IP.
    pub retrieve_limiter: Arc<RateLimiter>,
    /// Organization API requests per organization.
    pub org_limiter: Arc<RateLimiter<aliaskit_domain::OrgId>>,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: client::TrustedProxies,
    /// The low-priority threads that hash passwords (argon2id, 19 MiB each), so a burst of
    /// logins cannot take the cores from alias lookups.
    pub hashing: Arc<HashingPool>,
    /// The threads that read what the caches of the public retrieve and the OpenCAP lookup
    /// miss.
    pub readers: Arc<Readers>,
    /// The Prometheus metrics, shared by every clone of this `Api` (`GET /metrics`).
    pub metrics: Arc<Metrics>,
}

impl Api {
    /// The routes over `service`, with the default limits: 64 KiB bodies arriving within 10 s,
    /// 10 login or signup attempts per client IP and minute, 100 public retrieves per client IP
    /// and second, 60 organization API requests per organization and second, no trusted proxy,
    /// half the cores (at least one) for password hashing, and for reading cache misses one
    /// thread per core on SQLite (its reads use the CPU only), two on PostgreSQL (where a read
    /// waits for the network), between 2 and the pool's size.
    pub fn new(service: Service) -> Self {
        let connections = usize::try_from(service.db().pool_max_size()).unwrap_or(usize::MAX);
        let per_core = match service.db().backend() {
            aliaskit_store::Backend::Sqlite => 1,
            aliaskit_store::Backend::Postgres => 2,
        };
        Api {
            readers: Arc::new(Readers::with_defaults(
                service.clone(),
                per_core,
                connections,
            )),
            service,
            body_limit: DEFAULT_BODY_LIMIT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            auth_limiter: Arc::new(RateLimiter::new(
                DEFAULT_AUTH_LIMIT,
                Duration::from_secs(60),
            )),
            retrieve_limiter: Arc::new(RateLimiter::new(
                DEFAULT_RETRIEVE_LIMIT,
                Duration::from_secs(1),
            )),
            org_limiter: Arc::new(RateLimiter::new(DEFAULT_ORG_LIMIT, Duration::from_secs(1))),
            trusted_proxies: client::TrustedProxies::default(),
            hashing: Arc::new(HashingPool::with_defaults()),
            metrics: Arc::new(Metrics::new()),
        }
    }

    /// Registers every route, the JSON error handlers and a JSON 404 for unknown paths.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(web::Data::new(self.clone()))
            .app_data(web::PayloadConfig::new(self.body_limit))
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                ApiError::invalid(None, format!("bad query string: {e}")).into()
            }))
            .app_data(
                web::PathConfig::default().error_handler(|_, _| ApiError::alias_not_found().into()),
            )
            // Routes are tried in this order: the hot public retrieve first.
            .service(resource("/api/v1/alias/{id}", "GET").route(web::get().to(public::retrieve)))
            // Health checks also answer HEAD: some load balancers probe with it.
            .service(
                resource("/healthz", "GET, HEAD")
                    .route(web::get().to(health::healthz))
                    .route(web::head().to(health::healthz_head)),
            )
            .service(
                resource("/readyz", "GET, HEAD")
                    .route(web::get().to(health::readyz))
                    .route(web::head().to(health::readyz_head)),
            )
            .service(resource("/openapi.json", "GET").route(web::get().to(openapi::serve)))
            .service(resource("/metrics", "GET").route(web::get().to(metrics::scrape)))
            .service(
                resource("/organization/api/v1/alias/create", "POST")
                    .route(web::post().to(org::create)),
            )
            .service(
                resource("/organization/api/v1/aliases", "GET").route(web::get().to(org::list)),
            )
            .service(
                resource("/organization/api/v1/alias/update/{id}", "POST")
                    .route(web::post().to(org::update)),
            )
            .service(
                resource("/organization/api/v1/alias/delete/{id}", "DELETE")
                    .route(web::delete().to(org::delete)),
            )
            .service(
                resource("/organization/api/v1/alias/{id}", "GET").route(web::get().to(org::get)),
            )
            .service(
                resource("/organization/api/v1/alias/{id}/rotate-secret", "POST")
                    .route(web::post().to(org::rotate_secret)),
            )
            .service(
                resource("/organization/api/v1/alias/{id}/revoke-tokens", "POST")
                    .route(web::post().to(org::revoke_tokens)),
            )
            .service(
                resource("/organization/api/v1/alias/{id}/token-check", "POST")
                    .route(web::post().to(org::check_token)),
            )
            .service(
                resource("/organization/api/v1/alias/{id}/rotate-stream-key", "POST")
                    .route(web::post().to(org::rotate_stream_key)),
            )
            .service(
                resource("/organization/api/v1/webhooks", "GET, POST")
                    .route(web::get().to(webhooks::list))
                    .route(web::post().to(webhooks::create)),
            )
            .service(
                resource("/organization/api/v1/webhooks/{id}", "GET, DELETE")
                    .route(web::get().to(webhooks::get))
                    .route(web::delete().to(webhooks::delete)),
            )
            .service(
                resource("/organization/api/v1/webhooks/{id}/rotate-secret", "POST")
                    .route(web::post().to(webhooks::rotate_secret)),
            )
            .service(
                resource("/organization/api/v1/webhooks/{id}/enable", "POST")
                    .route(web::post().to(webhooks::enable)),
            )
            .service(
                resource("/organization/api/v1/webhooks/{id}/disable", "POST")
                    .route(web::post().to(webhooks::disable)),
            )
            .service(
                resource("/organization/api/v1/webhooks/{id}/deliveries", "GET")
                    .route(web::get().to(webhooks::deliveries)),
            )
            .service(
                resource("/organization/api/v1/audit", "GET").route(web::get().to(audit::list)),
            )
            // OpenCAP: its own error shape and open CORS (any origin, with or without an
            // `Origin` header), for everything under the scope.
            .service(
                web::scope(error::OPENCAP_SCOPE)
                    .wrap(cors())
                    .wrap(any_origin())
                    .wrap(middleware::from_fn(error::opencap_shape))
                    .service(
                        resource("/addresses", "GET, PUT")
                            .route(web::get().to(opencap::lookup))
                            .route(web::put().to(opencap::put_address)),
                    )
                    .service(
                        resource("/addresses/{address_type}", "DELETE")
                            .route(web::delete().to(opencap::delete_address)),
                    )
                    .service(resource("/auth", "POST").route(web::post().to(opencap::login)))
                    .service(
                        resource("/users", "POST, DELETE")
                            .route(web::post().to(opencap::signup))
                            .route(web::delete().to(opencap::delete_user)),
                    )
                    .service(resource("/users/audit", "GET").route(web::get().to(audit::user)))
                    .default_service(web::to(not_found)),
            )
            .default_service(web::to(not_found));
    }
}

/// Every aliaskit route, for [`App::configure`] in another actix-web application:
/// `App::new().configure(aliaskit_http::configure(api.clone()))`. The same as
/// [`Api::configure`], owning its `Api`.
pub fn configure(api: Api) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| api.configure(cfg)
}

/// The whole application: [`Api::configure`] behind the [`observe`] middleware.
pub fn app(
    api: Api,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .wrap(middleware::from_fn(observe))
        .configure(configure(api))
}

/// A resource whose other methods answer `405` with `Allow: <allow>` and a JSON body.
fn resource(path: &str, allow: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        Err::<HttpResponse, _>(ApiError::method_not_allowed(req.method().as_str(), allow))
    }))
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::no_route(req.method().as_str(), req.path()))
}

/// OpenCAP is called from wallets in browsers: any origin, preflight answered. actix-cors
/// answers preflights, and marks the answers to requests that carry `Origin`; [`any_origin`]
/// marks the rest.
fn cors() -> actix_cors::Cors {
    actix_cors::Cors::default()
        .allow_any_origin()
        .send_wildcard()
        .allowed_methods(["GET", "PUT", "POST", "DELETE"])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(86_400)
}

/// `Access-Control-Allow-Origin: *` on every answer under the OpenCAP scope, with or without
/// an `Origin` in the request — as the OpenCAP reference server sends it — so that an answer
/// stored by a cache from a request without `Origin` still serves a browser. actix-cors sets
/// the header only when the request has an `Origin`; this fills it in on the others (errors,
/// the opaque 5xx and refused preflights included).
fn any_origin() -> middleware::DefaultHeaders {
    middleware::DefaultHeaders::new().add((
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        header::HeaderValue::from_static("*"),
    ))
}

/// How long a request has waited on the database so far (in its extensions).
#[derive(Debug, Clone, Copy)]
struct DatabaseWait(Duration);

impl Api {
    /// The use cases acting for this request, as the audit trail records its changes
    /// (`docs/audit.md`): the API key or OpenCAP user its extractor authenticated (else the
    /// service's own origin), its request id and its client's address.
    pub(crate) fn acting(&self, req: &HttpRequest) -> Service {
        let extensions = req.extensions();
        let actor = extensions
            .get::<aliaskit_service::Actor>()
            .cloned()
            .unwrap_or_else(|| self.service.origin().actor.clone());
        let request_id = extensions.get::<RequestId>().map(|r| r.0.clone());
        drop(extensions);
        self.service.acting_as(aliaskit_service::Origin {
            actor,
            request_id,
            client_ip: self.trusted_proxies.client_ip(req).map(|ip| ip.to_string()),
        })
    }

    /// Runs `work`, database work that blocks, on actix's blocking pool: the way handlers reach
    /// the database (but for [`read`](Self::read)). When the request's database work, counted
    /// across all its calls, has not finished within [`Database::timeout`](aliaskit_store::Database::timeout)
    /// (`database.timeout`), the answer is `503 unavailable` at that moment, so a database that
    /// stops answering never holds a request longer. The work is not interrupted: it ends at
    /// the database's own timeouts, and a write among it may still commit — its outcome is
    /// unknown to the client.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        req: &HttpRequest,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        self.bounded(req, async move { Ok(web::block(work).await?) })
            .await
    }

    /// [`blocking`](Self::blocking) on the reader threads ([`Readers`]): for the reads the
    /// caches of the public retrieve and the OpenCAP lookup miss, with the same bound.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        req: &HttpRequest,
        read: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let readers = self.readers.clone();
        self.bounded(req, async move { readers.run(read).await })
            .await
    }

    /// A public retrieve the alias cache could not answer, on the reader threads with the same
    /// bound as [`read`](Self::read) (batched with the retrieves queued with it).
    pub(crate) async fn read_retrieve(
        &self,
        req: &HttpRequest,
        id: aliaskit_domain::AliasId,
        credentials: aliaskit_service::Credentials<'_>,
    ) -> Result<aliaskit_service::Result<aliaskit_service::Retrieved>, ApiError> {
        let read = self.readers.retrieve(
            id,
            credentials.bearer.map(str::to_owned),
            credentials.passcode.map(str::to_owned),
            credentials.client,
        );
        self.bounded(req, read).await
    }

    /// Awaits `work` for what is left of the request's database time.
    async fn bounded<T>(
        &self,
        req: &HttpRequest,
        work: impl std::future::Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        let bound = self.service.db().timeout();
        let waited = req
            .extensions()
            .get::<DatabaseWait>()
            .map_or(Duration::ZERO, |w| w.0);
        let left = bound.saturating_sub(waited);
        let too_late = || {
            ApiError::unavailable(format!(
                "the database did not answer within {} s",
                bound.as_secs_f64()
            ))
        };
        if left.is_zero() {
            return Err(too_late());
        }
        let started = Instant::now();
        let outcome = actix_web::rt::time::timeout(left, work).await;
        req.extensions_mut()
            .insert(DatabaseWait(waited.saturating_add(started.elapsed())));
        outcome.map_err(|_| too_late())?
    }

    /// Counts a request of `key` against `limiter`: `429` with `Retry-After` beyond the limit,
    /// counted in `aliaskit_rate_limited_total{limit}`.
    pub(crate) fn limit<K: std::hash::Hash + Eq + Clone>(
        &self,
        limiter: &RateLimiter<K>,
        key: &K,
        which: metrics::Limit,
        what: &str,
    ) -> Result<(), ApiError> {
        limiter.check(key).map_err(|retry_after| {
            self.metrics.record_rate_limited(which);
            ApiError::too_many(
                format!("too many {what}; retry in {retry_after} s"),
                retry_after,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use aliaskit_store::testing::{TestDb, test_vault};
    use aliaskit_store::{Database, PoolOptions};

    /// One request's database work gets `database.timeout` in all, then a 503, even while the
    /// work itself goes on.
    #[actix_web::test]
    async fn database_work_past_the_timeout_is_503_counted_across_the_request() {
        let test_db = TestDb::sqlite().unwrap();
        let options = PoolOptions {
            timeout: Duration::from_secs(1),
            ..PoolOptions::default()
        };
        let db = Database::open(&test_db.url, options, test_vault().unwrap()).unwrap();
        let api = Api::new(Service::new(db, Default::default()));
        let req = TestRequest::default().to_http_request();

        let started = Instant::now();
        assert_eq!(api.blocking(&req, || 7).await.ok(), Some(7));
        let slow = api
            .blocking(&req, || std::thread::sleep(Duration::from_millis(600)))
            .await;
        assert!(slow.is_ok(), "0.6 s of the request's 1 s");
        let late = api
            .blocking(&req, || std::thread::sleep(Duration::from_secs(2)))
            .await;
        assert_eq!(late.as_ref().err().map(ApiError::code), Some("unavailable"));
        let took = started.elapsed();
        assert!(took < Duration::from_millis(1_500), "{took:?}");
        let spent = api.blocking(&req, || 7).await;
        assert_eq!(
            spent.as_ref().err().map(ApiError::code),
            Some("unavailable"),
            "no time left"
        );

        let other = TestRequest::default().to_http_request();
        assert_eq!(
            api.blocking(&other, || 7).await.ok(),
            Some(7),
            "per request"
        );
    }
}
