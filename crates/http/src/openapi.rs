//! The OpenAPI 3.1 description of every route, generated from the handlers' `#[utoipa::path]`
//! attributes and served at `GET /openapi.json`. A copy is checked in at `docs/openapi.json`;
//! a test fails when the two drift (`ALIASKIT_WRITE_OPENAPI=1 cargo test -p aliaskit-http --test
//! it openapi` rewrites the copy).
//!
//! The bodies are described on their real types in [`crate::wire`] and the handlers' modules.
//!
//! ```
//! let doc: serde_json::Value = serde_json::from_slice(aliaskit_http::openapi::json()?)?;
//! assert_eq!(doc["openapi"], "3.1.0");
//! assert!(doc["paths"]["/api/v1/alias/{id}"]["get"].is_object());
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! ```

use std::sync::OnceLock;

use actix_web::HttpResponse;
use actix_web::http::header::ContentType;
use serde_json::{Map, Value};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::ApiError;
use crate::wire::alias::{AliasType, ListStatus};
use crate::wire::error::{
    AliasGone, AliasNotFound, BadRequest, CapBadRequest, CapConflict, CapInternalError,
    CapNotFound, CapPayloadTooLarge, CapRequestTimeout, CapTooManyRequests, CapUnauthorized,
    CapUnavailable, CapUnsupportedMediaType, DatagramError, DatagramErrorBody, InternalError,
    MethodNotAllowed, OpenCapError, PayloadTooLarge, RequestTimeout, TooManyRequests, Unauthorized,
    Unavailable, UnsupportedMediaType, WebhookNotFound,
};
use crate::wire::opencap::AddressType;
use crate::wire::webhook::WebhookEventName;

/// The description of every route. [`json`] is its served form.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "aliaskit",
        description = "An alias server with JWT authentication: a Datagram Link–compatible \
alias API (`/organization/api/v1/…`, `/api/v1/alias/{id}`) and an OpenCAP alias server \
(`/v1/…`).\n\n\
Errors of the Datagram routes are `{\"error\": {\"message\", \"code\", \"detail\"?}}`; errors \
of the OpenCAP routes are `{\"message\", \"code\"}`. Every response carries `X-Request-Id`. \
A path not listed here answers `404` (`not_found`); a listed path asked with another method \
answers `405` (`method_not_allowed`, the `MethodNotAllowed` response) with an `Allow` header. \
Requests the HTTP codec refuses before routing (an oversized head `431`, a malformed request \
line `400`) have no body: see docs/api.md."
    ),
    paths(
        crate::health::healthz,
        crate::health::healthz_head,
        crate::health::readyz,
        crate::health::readyz_head,
        crate::metrics::scrape,
        serve,
        crate::org::create,
        crate::org::list,
        crate::org::get,
        crate::org::update,
        crate::org::delete,
        crate::org::rotate_secret,
        crate::org::revoke_tokens,
        crate::org::rotate_stream_key,
        crate::org::check_token,
        crate::webhooks::create,
        crate::webhooks::list,
        crate::webhooks::get,
        crate::webhooks::delete,
        crate::webhooks::rotate_secret,
        crate::webhooks::enable,
        crate::webhooks::disable,
        crate::webhooks::deliveries,
        crate::audit::list,
        crate::public::retrieve,
        crate::opencap::lookup,
        crate::opencap::put_address,
        crate::opencap::delete_address,
        crate::opencap::login,
        crate::opencap::signup,
        crate::opencap::delete_user,
        crate::audit::user,
    ),
    components(
        schemas(
            AddressType,
            AliasType,
            ListStatus,
            DatagramError,
            DatagramErrorBody,
            OpenCapError,
            WebhookEventName
        ),
        responses(
            BadRequest,
            Unauthorized,
            AliasNotFound,
            WebhookNotFound,
            AliasGone,
            MethodNotAllowed,
            RequestTimeout,
            PayloadTooLarge,
            UnsupportedMediaType,
            TooManyRequests,
            InternalError,
            Unavailable,
            CapBadRequest,
            CapUnauthorized,
            CapNotFound,
            CapConflict,
            CapRequestTimeout,
            CapPayloadTooLarge,
            CapUnsupportedMediaType,
            CapTooManyRequests,
            CapInternalError,
            CapUnavailable,
        )
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "health", description = "Liveness, readiness and this description."),
        (name = "organization", description = "The Datagram Link–compatible organization API, \
authenticated by the organization's API key."),
        (name = "retrieve", description = "The public retrieve of an alias."),
        (name = "opencap", description = "OpenCAP Address Query and Alias Management."),
    )
)]
pub struct ApiDoc;

/// The served description: [`ApiDoc`] as pretty-printed JSON with every object's keys sorted
/// (so the checked-in copy diffs cleanly), and `required: true` on every response header,
/// which the server always sends (utoipa 5 has no field for it). Built once.
pub fn json() -> Result<&'static [u8], &'static str> {
    static DOCUMENT: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    DOCUMENT
        .get_or_init(|| {
            let mut doc = serde_json::to_value(ApiDoc::openapi()).map_err(|e| e.to_string())?;
            require_response_headers(&mut doc);
            let mut bytes = serde_json::to_vec_pretty(&sorted(doc)).map_err(|e| e.to_string())?;
            bytes.push(b'\n');
            Ok(bytes)
        })
        .as_ref()
        .map(Vec::as_slice)
        .map_err(String::as_str)
}

/// Marks the headers of the reusable responses as always present.
fn require_response_headers(doc: &mut Value) {
    let Some(responses) = doc
        .pointer_mut("/components/responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for response in responses.values_mut() {
        if let Some(headers) = response.get_mut("headers").and_then(Value::as_object_mut) {
            for header in headers.values_mut() {
                if let Some(header) = header.as_object_mut() {
                    header.insert("required".into(), Value::Bool(true));
                }
            }
        }
    }
}

/// `value` with the keys of every object in sorted order, whatever map serde_json was built
/// with (`preserve_order` keeps insertion order, and utoipa's extensions are hash maps).
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted(v)))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// `GET /openapi.json`: this description.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "health",
    operation_id = "openapi",
    responses(
        (status = 200, description = "The OpenAPI 3.1 description of every route.",
            body = Object, content_type = "application/json"),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn serve() -> Result<HttpResponse, ApiError> {
    let bytes = json().map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(bytes))
}

/// The security schemes the operations name.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "org_api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The organization's API key: `Authorization: Bearer <key>`. The bare \
                         form `Authorization: <key>` is accepted too (the Datagram docs show \
                         both), and the scheme name is case-insensitive.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "access_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token for one alias, signed (HS256/384/512) by the \
                         organization's backend with the alias's `jwt_secret`; claims `alias`, \
                         `user_id`, `host`, `expires_in` (docs/security.md). The bare form \
                         `Authorization: <jwt>` is accepted too.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "opencap_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The token `POST /v1/auth` answers, signed by the server's own key \
                         ring; 30 minutes by default.",
                    ))
                    .build(),
            ),
        );
    }
}
