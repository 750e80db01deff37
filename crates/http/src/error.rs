//! The one place that knows HTTP statuses: every failure becomes an [`ApiError`] with the status
//! `docs/api.md` lists, written as a [`DatagramError`] or, on the OpenCAP routes, an
//! [`OpenCapError`].
//!
//! Which of the two is decided once, by the route: the OpenCAP routes are mounted in a scope
//! wrapped by [`opencap_shape`], which writes every error answer under it in the OpenCAP shape;
//! every other route answers in the Datagram shape. Handlers never choose.

use std::borrow::Cow;
use std::fmt;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError};
use aliaskit_service::ServiceError;
use aliaskit_token::TokenError;
use serde::Serialize;

use crate::wire::error::{DatagramError, DatagramErrorBody, Detail, OpenCapError};

/// The path prefix of the OpenCAP routes, the scope [`crate::Api::configure`] mounts them under.
pub const OPENCAP_SCOPE: &str = "/v1";

/// Which protocol's error body to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Datagram routes: [`DatagramError`], `{"error": {"message", "code", "detail"?}}`
    /// (`docs/api.md`).
    Datagram,
    /// OpenCAP routes (`/v1/…`): [`OpenCapError`], `{"message", "code"}`
    /// (`docs/opencap.md`).
    OpenCap,
}

impl Flavor {
    /// The shape the routes `req` went to answer in: [`Flavor::OpenCap`] once [`opencap_shape`]
    /// has seen the request, else [`Flavor::Datagram`].
    pub fn of(req: &HttpRequest) -> Flavor {
        req.extensions()
            .get::<Flavor>()
            .copied()
            .unwrap_or(Flavor::Datagram)
    }

    /// The shape the routes at `path` answer in, without a request: OpenCAP under
    /// [`OPENCAP_SCOPE`], where [`crate::Api::configure`] mounts those routes.
    pub fn of_path(path: &str) -> Flavor {
        match path.strip_prefix(OPENCAP_SCOPE) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => Flavor::OpenCap,
            _ => Flavor::Datagram,
        }
    }
}

/// The message of every Datagram `401`, as the Datagram docs spell it.
const UNAUTHORIZED: &str = "UNAUTHORIZED";
/// The message of an opaque `500`.
const INTERNAL: &str = "internal server error";
/// The message of a `503`.
const UNAVAILABLE: &str = "the service is temporarily unavailable; retry shortly";

/// An error answer (boxed: it travels in every handler's `Result`).
#[derive(Debug)]
pub struct ApiError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    status: StatusCode,
    code: Cow<'static, str>,
    says: Says,
    detail: Option<Fact>,
    /// `WWW-Authenticate` (a `401`).
    challenge: Option<Challenge>,
    /// Seconds for `Retry-After` (429; 503 always says 5).
    retry_after: Option<u64>,
    /// The id of the request, on an opaque `5xx` (written by the `observe` middleware).
    request_id: Option<String>,
    /// The cause, for the log only (5xx); never sent.
    cause: Option<String>,
    /// Close the connection after this answer (`Connection: close`).
    close: bool,
}

/// What the body says besides the code.
#[derive(Debug)]
enum Says {
    /// This message, in both shapes.
    Message(Cow<'static, str>),
    /// A refused credential and why: the Datagram shape says its documented [`UNAUTHORIZED`]
    /// and puts the reason in `detail`; the OpenCAP shape has one message, the reason.
    Unauthorized(Cow<'static, str>),
}

/// A Datagram `detail` besides a `401`'s reason and a `5xx`'s request id.
#[derive(Debug)]
enum Fact {
    /// The request field at fault.
    Field(String),
    /// The methods the path takes; also the `Allow` header.
    Allow(&'static str),
    /// When the alias expired.
    ExpiredAt(i64),
}

/// The `WWW-Authenticate` challenge of a `401` (RFC 6750 §3).
#[derive(Debug)]
enum Challenge {
    /// `Bearer realm="aliaskit"`: no credential, or not a valid one.
    Bearer,
    /// A bearer token was refused: `error="invalid_token"` and why.
    InvalidToken {
        /// The refusal, as the body says it.
        reason: String,
    },
}

impl Challenge {
    fn header(&self) -> Option<HeaderValue> {
        match self {
            Challenge::Bearer => Some(HeaderValue::from_static("Bearer realm=\"aliaskit\"")),
            Challenge::InvalidToken { reason } => {
                // RFC 6750 §3: `error_description` is visible ASCII without `"` and `\`. The
                // reason may quote an alias id or an `alg` from the token, in any script;
                // anything else would make the header value invalid and the header would be
                // lost.
                let description: String = reason
                    .chars()
                    .map(|c| match c {
                        '"' | '\\' => '\'',
                        ' ' | '!'..='~' => c,
                        _ => '?',
                    })
                    .collect();
                HeaderValue::from_str(&format!(
                    "Bearer realm=\"aliaskit\", error=\"invalid_token\", error_description=\"{description}\""
                ))
                .ok()
            }
        }
    }
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError::saying(status, code, Says::Message(message.into()))
    }

    fn saying(status: StatusCode, code: &'static str, says: Says) -> Self {
        ApiError(Box::new(Inner {
            status,
            code: Cow::Borrowed(code),
            says,
            detail: None,
            challenge: None,
            retry_after: None,
            request_id: None,
            cause: None,
            close: false,
        }))
    }

    /// `400 invalid_request`, naming the field when there is one.
    pub fn invalid(field: Option<&str>, message: impl Into<Cow<'static, str>>) -> Self {
        let mut e = ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message);
        e.0.detail = field.map(|f| Fact::Field(f.to_owned()));
        e
    }

    /// `400 malformed_json`.
    pub fn malformed_json(message: impl Into<Cow<'static, str>>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", message)
    }

    /// `401 unauthorized`: `UNAUTHORIZED` (as the Datagram docs spell it) and `reason`.
    pub fn unauthorized(reason: impl Into<Cow<'static, str>>) -> Self {
        ApiError::refused("unauthorized", reason.into(), Challenge::Bearer)
    }

    /// `401` for a refused bearer token: its stable code, its reason, and the RFC 6750 header.
    pub fn invalid_token(e: &TokenError) -> Self {
        let reason = e.to_string();
        ApiError::refused(
            e.code(),
            Cow::Owned(reason.clone()),
            Challenge::InvalidToken { reason },
        )
    }

    fn refused(code: &'static str, reason: Cow<'static, str>, challenge: Challenge) -> Self {
        let mut e = ApiError::saying(StatusCode::UNAUTHORIZED, code, Says::Unauthorized(reason));
        e.0.challenge = Some(challenge);
        e
    }

    /// `404 alias_not_found`, message `Alias not found` as the Datagram docs spell it.
    pub fn alias_not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "alias_not_found", "Alias not found")
    }

    /// `404 webhook_not_found`: no such webhook, or not the organization's.
    pub fn webhook_not_found() -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "webhook_not_found",
            "Webhook not found",
        )
    }

    /// `404 not_found` for a path no route serves.
    pub fn no_route(method: &str, path: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no route for {method} {}", shorten(path)),
        )
    }

    /// `405 method_not_allowed`, with the methods the path takes (in `Allow` and `detail`).
    pub fn method_not_allowed(method: &str, allowed: &'static str) -> Self {
        let mut e = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not allowed here; use {allowed}"),
        );
        e.0.detail = Some(Fact::Allow(allowed));
        e
    }

    /// `413 payload_too_large`.
    pub fn too_large(limit: usize) -> Self {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than {limit} bytes"),
        )
    }

    /// `408 request_timeout`: the body did not arrive in full within `timeout`. The connection
    /// is closed after the answer: the rest of the body may still be on its way, and nothing
    /// after it could be read as a request.
    pub fn body_timeout(timeout: std::time::Duration) -> Self {
        let within = if timeout.subsec_nanos() == 0 {
            format!("{} s", timeout.as_secs())
        } else {
            format!("{} ms", timeout.as_millis())
        };
        let mut e = ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!("the request body did not arrive in full within {within}"),
        );
        e.0.close = true;
        e
    }

    /// `415 unsupported_media_type`.
    pub fn not_json() -> Self {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        )
    }

    /// `500 internal_error`; `cause` goes to the log with the request id, not to the client.
    pub fn internal(cause: impl fmt::Display) -> Self {
        let mut e = ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            INTERNAL,
        );
        e.0.cause = Some(cause.to_string());
        e
    }

    /// `503 unavailable`: the database does not answer; the client may retry.
    pub fn unavailable(cause: impl fmt::Display) -> Self {
        let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", UNAVAILABLE);
        e.0.cause = Some(cause.to_string());
        e.0.retry_after = Some(5);
        e
    }

    /// `429 too_many_requests`, with `Retry-After`.
    pub fn too_many(message: impl Into<Cow<'static, str>>, retry_after: u64) -> Self {
        let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message);
        e.0.retry_after = Some(retry_after.max(1));
        e
    }

    /// The opaque body of a `5xx` answer with `status`: `unavailable` for a `503`, else
    /// `internal_error`, naming the request whose log line has the cause.
    pub(crate) fn opaque(status: StatusCode, request_id: &str) -> Self {
        let mut e = if status == StatusCode::SERVICE_UNAVAILABLE {
            ApiError::new(status, "unavailable", UNAVAILABLE)
        } else {
            ApiError::new(status, "internal_error", INTERNAL)
        };
        e.0.request_id = Some(request_id.to_owned());
        e
    }

    /// A `4xx` that a layer other than aliaskit's handlers wrote without a JSON body (actix-cors
    /// refusing a preflight): the code is the status's reason phrase in snake case
    /// (`bad_request`, `payload_too_large`), as aliaskit's own codes for those statuses are.
    pub(crate) fn foreign(status: StatusCode, message: String) -> Self {
        let mut e = ApiError::new(status, "client_error", message);
        if let Some(reason) = status.canonical_reason() {
            e.0.code = Cow::Owned(reason.to_ascii_lowercase().replace([' ', '-'], "_"));
        }
        e
    }

    /// The stable machine code.
    pub fn code(&self) -> &str {
        &self.0.code
    }

    /// The cause to log, if any.
    pub fn cause(&self) -> Option<&str> {
        self.0.cause.as_deref()
    }

    /// The body in the Datagram shape.
    pub fn datagram(&self) -> DatagramError<'_> {
        let e = &self.0;
        let (message, reason) = match &e.says {
            Says::Message(message) => (message.as_ref(), None),
            Says::Unauthorized(reason) => (UNAUTHORIZED, Some(Detail::Reason(reason))),
        };
        let detail = reason
            .or(e.detail.as_ref().map(|fact| match fact {
                Fact::Field(field) => Detail::Field { field },
                Fact::Allow(allow) => Detail::Allow { allow },
                Fact::ExpiredAt(expired_at) => Detail::ExpiredAt {
                    expired_at: *expired_at,
                },
            }))
            .or(e
                .request_id
                .as_deref()
                .map(|request_id| Detail::RequestId { request_id }));
        DatagramError {
            error: DatagramErrorBody {
                message,
                code: &e.code,
                detail,
            },
        }
    }

    /// The body in the OpenCAP shape.
    pub fn opencap(&self) -> OpenCapError<'_> {
        let e = &self.0;
        let message = match &e.says {
            Says::Message(message) | Says::Unauthorized(message) => message,
        };
        OpenCapError {
            message,
            code: &e.code,
            request_id: e.request_id.as_deref(),
        }
    }

    /// The body in `flavor`'s shape, as JSON.
    pub fn body(&self, flavor: Flavor) -> Vec<u8> {
        match flavor {
            Flavor::Datagram => json(&self.datagram()),
            Flavor::OpenCap => json(&self.opencap()),
        }
    }

    /// The whole answer, its body in `flavor`'s shape.
    pub fn response(&self, flavor: Flavor) -> HttpResponse {
        let e = &self.0;
        let mut response = HttpResponse::build(e.status);
        if let Some(value) = e.challenge.as_ref().and_then(Challenge::header) {
            response.insert_header((header::WWW_AUTHENTICATE, value));
        }
        if let Some(Fact::Allow(allow)) = e.detail
            && let Ok(value) = HeaderValue::from_str(allow)
        {
            response.insert_header((header::ALLOW, value));
        }
        if let Some(seconds) = e.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds));
        }
        if e.close {
            response.force_close();
        }
        response
            .content_type(header::ContentType::json())
            .body(self.body(flavor))
    }
}

/// `value` as JSON. The error shapes hold only strings and integers, which always serialize.
fn json(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// Caller input in a message: at most 80 characters.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(80).collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.0;
        match (&e.cause, &e.says) {
            (Some(cause), _) => write!(f, "{} ({}): {cause}", e.code, e.status),
            (None, Says::Message(message) | Says::Unauthorized(message)) => {
                write!(f, "{} ({}): {message}", e.code, e.status)
            }
        }
    }
}

/// Written in the Datagram shape; [`opencap_shape`] rewrites it on the OpenCAP routes.
impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse {
        self.response(Flavor::Datagram)
    }
}

/// The OpenCAP routes' error shape, for the scope it wraps: marks each request
/// [`Flavor::OpenCap`] (so the `observe` middleware writes its opaque `5xx` and foreign `4xx`
/// bodies in that shape too) and writes every [`ApiError`] answered under it — a handler's, an
/// extractor's, a `404` or `405` — as an [`OpenCapError`], its status and headers unchanged.
pub async fn opencap_shape(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    req.extensions_mut().insert(Flavor::OpenCap);
    let res = next.call(req).await?.map_into_boxed_body();
    let body = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
        .map(|e| e.body(Flavor::OpenCap));
    Ok(match body {
        Some(body) => res.map_body(|_, _| BoxBody::new(body)),
        None => res,
    })
}

/// Every use case's failure, mapped one by one (no catch-all: a new [`ServiceError`] variant does
/// not compile until it is mapped here). The messages are the wire text, written here rather
/// than taken from the service's `Display`, which speaks to logs and the CLI: the Datagram ones
/// as the Datagram docs spell them (`UNAUTHORIZED`, `Alias not found`), the OpenCAP ones as
/// `docs/opencap.md` documents them.
impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::AliasNotFound => ApiError::alias_not_found(),
            ServiceError::WebhookNotFound => ApiError::webhook_not_found(),
            ServiceError::AliasExpired { expired_at } => {
                let mut e = ApiError::new(StatusCode::GONE, "alias_expired", "Alias expired");
                e.0.detail = Some(Fact::ExpiredAt(expired_at));
                e
            }
            ServiceError::Unauthorized { reason } | ServiceError::WrongPasscode { reason, .. } => {
                ApiError::unauthorized(reason)
            }
            ServiceError::PasscodeLocked { block, retry_after } => {
                let mut e = ApiError::too_many(
                    format!(
                        "too many wrong passcodes for this alias; try again in {retry_after} s, \
                         or use an access token"
                    ),
                    retry_after.max(1).unsigned_abs(),
                );
                e.0.code = Cow::Borrowed(match block.scope {
                    aliaskit_service::PasscodeScope::Alias => "passcode_locked",
                    aliaskit_service::PasscodeScope::Client => "passcode_locked_for_address",
                });
                e
            }
            ServiceError::InvalidToken(e) => ApiError::invalid_token(&e),
            // The domain's messages name the field and rule, quoting caller input shortened.
            ServiceError::Invalid(e) => match e {
                aliaskit_domain::Error::InvalidField { field, .. } => {
                    ApiError::invalid(Some(field), e.to_string())
                }
                other => ApiError::invalid(None, other.to_string()),
            },
            ServiceError::OrgNameTaken => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "an organization with this name exists already",
            ),
            ServiceError::OrgNotFound { name } => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no organization is named {}", shorten(&name)),
            ),
            ServiceError::CapAliasNotFound => {
                ApiError::new(StatusCode::NOT_FOUND, "alias_not_found", "alias not found")
            }
            ServiceError::AddressNotFound { address_type } => ApiError::new(
                StatusCode::NOT_FOUND,
                "address_not_found",
                format!("this alias has no address of type {address_type}"),
            ),
            ServiceError::DomainNotServed { domain } => ApiError::new(
                StatusCode::BAD_REQUEST,
                "domain_not_served",
                format!("this server does not hold aliases of {domain}"),
            ),
            ServiceError::SignupClosed => {
                ApiError::unauthorized("signup needs an organization API key on this server")
            }
            ServiceError::CapUserTaken => ApiError::new(
                StatusCode::CONFLICT,
                "alias_taken",
                "this alias is already registered",
            ),
            ServiceError::LoginFailed => {
                let mut e = ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "login_failed",
                    "invalid alias or password",
                );
                e.0.challenge = Some(Challenge::Bearer);
                e
            }
            ServiceError::AccountLocked { retry_after } => {
                let mut e = ApiError::too_many(
                    format!("too many failed logins; try again in {retry_after} s"),
                    retry_after.max(1).unsigned_abs(),
                );
                e.0.code = Cow::Borrowed("account_locked");
                e
            }
            ServiceError::Unavailable(cause) => ApiError::unavailable(cause),
            e @ (ServiceError::Store(_) | ServiceError::Random(_) | ServiceError::Hashing(_)) => {
                ApiError::internal(chain(&e))
            }
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal(format!("blocking task failed: {e}"))
    }
}

/// An error and its sources, `: `-separated, for the log.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use aliaskit_service::{PasscodeBlock, PasscodeScope};
    use aliaskit_store::StoreError;
    use serde_json::{Value, json};

    use super::*;

    fn shapes(e: &ApiError) -> (Value, Value) {
        (
            serde_json::to_value(e.datagram()).unwrap_or_default(),
            serde_json::to_value(e.opencap()).unwrap_or_default(),
        )
    }

    /// The messages clients read are written in this file, whatever the service's `Display`
    /// says (that one speaks to logs and the CLI).
    #[test]
    fn every_service_error_has_its_status_code_and_wire_text_here() {
        let block = |scope| PasscodeBlock { scope, until: 0 };
        let cases = [
            (
                ServiceError::AliasNotFound,
                404,
                "alias_not_found",
                "Alias not found",
            ),
            (
                ServiceError::WebhookNotFound,
                404,
                "webhook_not_found",
                "Webhook not found",
            ),
            (
                ServiceError::AliasExpired { expired_at: 7 },
                410,
                "alias_expired",
                "Alias expired",
            ),
            (
                ServiceError::Unauthorized { reason: "why" },
                401,
                "unauthorized",
                "why",
            ),
            (
                ServiceError::WrongPasscode {
                    reason: "why",
                    began: Some(block(PasscodeScope::Alias)),
                },
                401,
                "unauthorized",
                "why",
            ),
            (
                ServiceError::PasscodeLocked {
                    block: block(PasscodeScope::Alias),
                    retry_after: 30,
                },
                429,
                "passcode_locked",
                "too many wrong passcodes for this alias; try again in 30 s, or use an access \
                 token",
            ),
            (
                ServiceError::PasscodeLocked {
                    block: block(PasscodeScope::Client),
                    retry_after: 30,
                },
                429,
                "passcode_locked_for_address",
                "too many wrong passcodes for this alias; try again in 30 s, or use an access \
                 token",
            ),
            (
                ServiceError::InvalidToken(TokenError::Expired { by: 60 }),
                401,
                "token_expired",
                "token expired 1 min ago",
            ),
            (
                ServiceError::OrgNameTaken,
                409,
                "conflict",
                "an organization with this name exists already",
            ),
            (
                ServiceError::OrgNotFound {
                    name: "acme".into(),
                },
                404,
                "not_found",
                "no organization is named acme",
            ),
            (
                ServiceError::CapAliasNotFound,
                404,
                "alias_not_found",
                "alias not found",
            ),
            (
                ServiceError::AddressNotFound { address_type: 100 },
                404,
                "address_not_found",
                "this alias has no address of type 100",
            ),
            (
                ServiceError::DomainNotServed {
                    domain: "example.org".into(),
                },
                400,
                "domain_not_served",
                "this server does not hold aliases of example.org",
            ),
            (
                ServiceError::SignupClosed,
                401,
                "unauthorized",
                "signup needs an organization API key on this server",
            ),
            (
                ServiceError::CapUserTaken,
                409,
                "alias_taken",
                "this alias is already registered",
            ),
            (
                ServiceError::LoginFailed,
                401,
                "login_failed",
                "invalid alias or password",
            ),
            (
                ServiceError::AccountLocked { retry_after: 90 },
                429,
                "account_locked",
                "too many failed logins; try again in 90 s",
            ),
            (
                ServiceError::Unavailable(StoreError::Unavailable {
                    reason: "secret-host refused".into(),
                }),
                503,
                "unavailable",
                UNAVAILABLE,
            ),
            (
                ServiceError::Store(StoreError::Unavailable {
                    reason: "secret-host refused".into(),
                }),
                500,
                "internal_error",
                INTERNAL,
            ),
            (
                ServiceError::Random("secret-host".into()),
                500,
                "internal_error",
                INTERNAL,
            ),
            (
                ServiceError::Hashing("secret-host".into()),
                500,
                "internal_error",
                INTERNAL,
            ),
        ];
        for (service_error, status, code, message) in cases {
            let label = format!("{service_error:?}");
            let e = ApiError::from(service_error);
            assert_eq!(
                (e.status_code().as_u16(), e.code()),
                (status, code),
                "{label}"
            );
            let (datagram, opencap) = shapes(&e);
            assert_eq!(opencap["message"], message, "{label}");
            if status == 401 && code != "login_failed" {
                // The Datagram docs' one message; the reason in `detail`.
                assert_eq!(datagram["error"]["message"], UNAUTHORIZED, "{label}");
                assert_eq!(datagram["error"]["detail"], message, "{label}");
            } else {
                assert_eq!(datagram["error"]["message"], message, "{label}");
            }
            assert_eq!(
                e.response(Flavor::Datagram)
                    .headers()
                    .contains_key(header::WWW_AUTHENTICATE),
                status == 401,
                "{label}"
            );
            assert!(!datagram.to_string().contains("secret-host"), "{label}");
            let retry = e
                .response(Flavor::OpenCap)
                .headers()
                .get(header::RETRY_AFTER)
                .cloned();
            assert_eq!(
                retry.is_some(),
                matches!(status, 429 | 503),
                "{label}: {retry:?}"
            );
        }
    }

    #[test]
    fn the_two_shapes_of_each_kind_of_detail() {
        let field = ApiError::invalid(Some("name"), "name is too long");
        assert_eq!(
            shapes(&field),
            (
                json!({"error": {"message": "name is too long", "code": "invalid_request", "detail": {"field": "name"}}}),
                json!({"message": "name is too long", "code": "invalid_request"}),
            )
        );
        let expired = ApiError::from(ServiceError::AliasExpired { expired_at: 7 });
        assert_eq!(
            shapes(&expired).0["error"]["detail"],
            json!({"expired_at": 7})
        );
        let method = ApiError::method_not_allowed("PATCH", "GET, PUT");
        assert_eq!(
            shapes(&method).0["error"]["detail"],
            json!({"allow": "GET, PUT"})
        );
        let response = method.response(Flavor::OpenCap);
        assert_eq!(
            response.headers().get(header::ALLOW),
            Some(&HeaderValue::from_static("GET, PUT"))
        );
        let opaque = ApiError::opaque(StatusCode::BAD_GATEWAY, "abc");
        assert_eq!(
            shapes(&opaque),
            (
                json!({"error": {"message": INTERNAL, "code": "internal_error", "detail": {"request_id": "abc"}}}),
                json!({"message": INTERNAL, "code": "internal_error", "request_id": "abc"}),
            )
        );
        let foreign = ApiError::foreign(StatusCode::URI_TOO_LONG, "too long".into());
        assert_eq!(
            shapes(&foreign).1,
            json!({"message": "too long", "code": "uri_too_long"})
        );
    }
}
