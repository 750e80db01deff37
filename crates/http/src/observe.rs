//! Request ids, the access log and the request metrics.
//!
//! Every response carries `X-Request-Id` (the client's, if it sent a sane one, else a new
//! random id). One log line per request records method, path, status and latency — never the
//! query string (it may hold a passcode) or any header (they hold tokens and keys). Each
//! request also counts in `aliaskit_http_requests_total` and
//! `aliaskit_http_request_duration_seconds` of the app's [`Api`](crate::Api), under its route
//! pattern (see [`crate::metrics`]). A 5xx body is replaced with an opaque one that names the
//! request id, and its cause is logged with it.
//! A 4xx that is not JSON — written by a layer other than our handlers, such as actix-cors
//! refusing a preflight in plain text — gets the JSON error shape of its routes. Both are
//! written by [`ApiError`], in the shape its routes chose ([`Flavor::of`]).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};

use crate::{ApiError, Flavor};

/// The id of the request being served, in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The request id header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The middleware: `App::new().wrap(actix_web::middleware::from_fn(observe))`.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let id = incoming_id(&req).unwrap_or_else(new_id);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let started = Instant::now();

    let mut res = next.call(req).await?.map_into_boxed_body();
    let status = res.status();
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    let elapsed = started.elapsed();
    // To the microsecond: the line reads `latency_ms=3.121`, not `latency_ms=3.1214340000000003`.
    let latency_ms = (elapsed.as_secs_f64() * 1e6).round() / 1000.0;
    // Counted under the route pattern, never the path: see `crate::metrics`.
    if let Some(api) = res.request().app_data::<web::Data<crate::Api>>() {
        api.metrics.record_request(res.request(), status, elapsed);
    }
    if status.is_server_error() {
        let cause = res
            .response()
            .error()
            .map_or_else(|| "no error recorded".to_owned(), ToString::to_string);
        tracing::error!(request_id = %id, %method, %path, status = status.as_u16(), %cause, "request failed");
        let body = ApiError::opaque(status, &id).body(Flavor::of(res.request()));
        res = res.map_body(|head, _| json_body(head, body));
    } else {
        tracing::info!(request_id = %id, %method, %path, status = status.as_u16(), latency_ms, "request");
        if status.is_client_error() && !is_json(res.headers()) {
            let message = res.response().error().map_or_else(
                || {
                    status
                        .canonical_reason()
                        .unwrap_or("client error")
                        .to_owned()
                },
                |e| e.to_string().chars().take(200).collect(),
            );
            let body = ApiError::foreign(status, message).body(Flavor::of(res.request()));
            res = res.map_body(|head, _| json_body(head, body));
        }
    }
    Ok(res)
}

/// `body` as the response's body, labelled JSON.
fn json_body(head: &mut actix_web::dev::ResponseHead, body: Vec<u8>) -> BoxBody {
    head.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    BoxBody::new(body)
}

fn is_json(headers: &header::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// A client-sent id, if it is 1–64 characters of `[A-Za-z0-9._-]` (anything else could forge
/// log lines).
fn incoming_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(REQUEST_ID)?.to_str().ok()?;
    let sane = (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    sane.then(|| value.to_owned())
}

/// 16 hex digits: 32 random bits drawn once per process, then a counter. Ids need to be
/// distinct, not secret, so no system call per request.
fn new_id() -> String {
    static PREFIX: OnceLock<u32> = OnceLock::new();
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        let mut bytes = [0u8; 4];
        if getrandom::getrandom(&mut bytes).is_err() {
            // Still distinct enough: the clock.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            bytes = nanos.to_le_bytes();
        }
        u32::from_le_bytes(bytes)
    });
    format!(
        "{prefix:08x}{:08x}",
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use actix_web::{App, HttpResponse, middleware, test, web};
    use serde_json::json;

    use super::*;

    #[actix_web::test]
    async fn a_plain_text_4xx_gets_the_json_shape_of_its_routes_and_json_is_left_alone() {
        let app = test::init_service(
            App::new()
                .wrap(middleware::from_fn(observe))
                .route(
                    "/plain",
                    web::get().to(|| async { HttpResponse::BadRequest().body("nope") }),
                )
                // The OpenCAP routes' scope, as `Api::configure` mounts it.
                .service(
                    web::scope(crate::error::OPENCAP_SCOPE)
                        .wrap(middleware::from_fn(crate::error::opencap_shape))
                        .route(
                            "/plain",
                            web::get().to(|| async { HttpResponse::UriTooLong().finish() }),
                        ),
                )
                .route(
                    "/json",
                    web::get().to(|| async {
                        HttpResponse::Conflict().json(json!({"error": {"code": "mine"}}))
                    }),
                ),
        )
        .await;
        let body = |uri: &'static str| {
            let app = &app;
            async move {
                let res =
                    test::call_service(app, test::TestRequest::get().uri(uri).to_request()).await;
                let status = res.status().as_u16();
                let content_type = res.headers().get(header::CONTENT_TYPE).cloned();
                let bytes = test::read_body(res).await;
                (
                    status,
                    content_type,
                    serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(),
                )
            }
        };
        let json_type = Some(HeaderValue::from_static("application/json"));
        assert_eq!(
            body("/plain").await,
            (
                400,
                json_type.clone(),
                json!({"error": {"message": "Bad Request", "code": "bad_request"}})
            )
        );
        assert_eq!(
            body("/v1/plain").await,
            (
                414,
                json_type.clone(),
                json!({"message": "URI Too Long", "code": "uri_too_long"})
            )
        );
        assert_eq!(
            body("/json").await,
            (409, json_type, json!({"error": {"code": "mine"}}))
        );
    }
}
