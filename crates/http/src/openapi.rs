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
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToResponse, ToSchema};

use crate::ApiError;
use crate::wire::alias::{AliasType, ListStatus};
use crate::wire::opencap::AddressType;

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
        crate::public::retrieve,
        crate::opencap::lookup,
        crate::opencap::put_address,
        crate::opencap::delete_address,
        crate::opencap::login,
        crate::opencap::signup,
        crate::opencap::delete_user,
    ),
    components(
        schemas(AddressType, AliasType, ListStatus, Error, ErrorDetail, CapError),
        responses(
            BadRequest,
            Unauthorized,
            AliasNotFound,
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

// The error shapes and the reusable error responses.

/// A Datagram error: `{"error": {"message", "code", "detail"?}}`.
#[derive(Serialize, ToSchema)]
pub struct Error {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The inside of a Datagram error.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Human text; `UNAUTHORIZED` and `Alias not found` as the Datagram docs spell them.
    #[schema(example = "Alias not found")]
    pub message: String,
    /// A stable machine code (docs/api.md).
    #[schema(example = "alias_not_found")]
    pub code: String,
    /// More: the field (`{"field"}`), the reason of a `401` (a string), the allowed methods
    /// (`{"allow"}`), the expiry (`{"expired_at"}`), or the request id of a `5xx`
    /// (`{"request_id"}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Value, required = false)]
    pub detail: Option<Value>,
}

/// An OpenCAP error: `{"message", "code"}`, plus `request_id` on a `5xx`.
#[derive(Serialize, ToSchema)]
pub struct CapError {
    /// Human text.
    #[schema(example = "alias not found")]
    pub message: String,
    /// A stable machine code.
    #[schema(example = "alias_not_found")]
    pub code: String,
    /// The request id, on a `5xx` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
    pub request_id: Option<String>,
}

// The reusable error responses, by route family.

/// Bad input: `invalid_request` (`detail.field` names the field) or `malformed_json`.
#[derive(ToResponse)]
pub struct BadRequest(pub Error);

/// No valid credential (`unauthorized`) or a refused token (its code, e.g. `token_expired`).
#[derive(ToResponse)]
#[response(headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"aliaskit\"`, \
with `error=\"invalid_token\"` and `error_description` when a token was refused.")))]
pub struct Unauthorized(pub Error);

/// `alias_not_found`: no such alias, not this organization's, or an id that cannot be one.
#[derive(ToResponse)]
pub struct AliasNotFound(pub Error);

/// `alias_expired`: the alias is past `expired_at` (`detail.expired_at`).
#[derive(ToResponse)]
pub struct AliasGone(pub Error);

/// `method_not_allowed`: the path takes other methods, listed in `Allow`.
#[derive(ToResponse)]
#[response(headers(("Allow" = String, description = "The methods the path takes.")))]
pub struct MethodNotAllowed(pub Error);

/// `request_timeout`: the body did not arrive in full within `server.body_timeout` (10 s by
/// default) of the request's head; the server closes the connection after this answer.
#[derive(ToResponse)]
pub struct RequestTimeout(pub Error);

/// `payload_too_large`: the body is over `server.body_limit` (64 KiB by default).
#[derive(ToResponse)]
pub struct PayloadTooLarge(pub Error);

/// `unsupported_media_type`: the body is not sent as `Content-Type: application/json`.
#[derive(ToResponse)]
pub struct UnsupportedMediaType(pub Error);

/// `too_many_requests`: over a request limit.
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "Seconds until a retry may succeed.")))]
pub struct TooManyRequests(pub Error);

/// `internal_error`: opaque; `detail.request_id` matches the log line with the cause.
#[derive(ToResponse)]
pub struct InternalError(pub Error);

/// `unavailable`: the database does not answer; the server recovers by itself.
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "Seconds until a retry may succeed (5).")))]
pub struct Unavailable(pub Error);

/// Bad input: `invalid_request`, `malformed_json`, `domain_not_served`.
#[derive(ToResponse)]
pub struct CapBadRequest(pub CapError);

/// No valid token, a refused token, a wrong alias or password (`login_failed`), or signup
/// closed to the public.
#[derive(ToResponse)]
#[response(headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"aliaskit\"`, \
with `error=\"invalid_token\"` and `error_description` when a token was refused.")))]
pub struct CapUnauthorized(pub CapError);

/// `alias_not_found` or `address_not_found`.
#[derive(ToResponse)]
pub struct CapNotFound(pub CapError);

/// `alias_taken`: the alias is registered already.
#[derive(ToResponse)]
pub struct CapConflict(pub CapError);

/// `request_timeout`: the body did not arrive in full within `server.body_timeout` (10 s by
/// default) of the request's head; the server closes the connection after this answer.
#[derive(ToResponse)]
pub struct CapRequestTimeout(pub CapError);

/// `payload_too_large`: the body is over `server.body_limit` (64 KiB by default).
#[derive(ToResponse)]
pub struct CapPayloadTooLarge(pub CapError);

/// `unsupported_media_type`: the body is not sent as `Content-Type: application/json`.
#[derive(ToResponse)]
pub struct CapUnsupportedMediaType(pub CapError);

/// `too_many_requests` (per client IP) or `account_locked` (too many failed logins).
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "Seconds until a retry may succeed.")))]
pub struct CapTooManyRequests(pub CapError);

/// `internal_error`: opaque, with the `request_id` of the log line with the cause.
#[derive(ToResponse)]
pub struct CapInternalError(pub CapError);

/// `unavailable`: the database does not answer; the server recovers by itself.
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "Seconds until a retry may succeed (5).")))]
pub struct CapUnavailable(pub CapError);
