//! actix-web adapters for aliaskit: the Datagram-compatible alias routes (DESIGN §4–§5),
//! authentication extractors, and — in [`error`] — the one mapping of failures to statuses and
//! JSON bodies (DESIGN §8).
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
//! Another actix-web service mounts the routes with [`Api::configure`]. All database work runs on
//! actix's blocking pool (`web::block`), never on an async worker.

pub mod auth;
pub mod body;
pub mod error;
mod health;
mod observe;
mod org;
mod public;
pub mod wire;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpRequest, HttpResponse, Resource, middleware, web};
use aliaskit_service::Service;

pub use error::ApiError;
pub use observe::{REQUEST_ID, RequestId, observe};

/// The default JSON body limit, in bytes (DESIGN: 64 KiB).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// What the routes share: the use cases and the request limits.
#[derive(Clone, Debug)]
pub struct Api {
    /// The use cases.
    pub service: Service,
    /// Largest request body, in bytes.
    pub body_limit: usize,
}

impl Api {
    /// The routes over `service`, with the default body limit.
    pub fn new(service: Service) -> Self {
        Api {
            service,
            body_limit: DEFAULT_BODY_LIMIT,
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
            .service(resource("/healthz", "GET").route(web::get().to(health::healthz)))
            .service(resource("/readyz", "GET").route(web::get().to(health::readyz)))
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
            .service(resource("/api/v1/alias/{id}", "GET").route(web::get().to(public::retrieve)))
            .default_service(web::to(not_found));
    }
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
        .configure(|cfg| api.configure(cfg))
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
