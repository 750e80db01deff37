//! The one place that knows HTTP statuses: every failure becomes
//! `{"error": {"message", "code", "detail"?}}` with the status of `docs/api.md#errors`.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use aliaskit_service::ServiceError;
use aliaskit_token::TokenError;
use serde_json::{Value, json};

/// Which protocol's error body to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Datagram routes: `{"error": {"message", "code", "detail"?}}` (`docs/api.md#errors`).
    Datagram,
    /// OpenCAP routes (`/v1/…`): `{"message", "code"}` (`docs/opencap.md`).
    OpenCap,
}

impl Flavor {
    /// The flavor of the routes `path` belongs to.
    pub fn of_path(path: &str) -> Flavor {
        if path == "/v1" || path.starts_with("/v1/") {
            Flavor::OpenCap
        } else {
            Flavor::Datagram
        }
    }
}

/// An error answer (boxed: it travels in every handler's `Result`).
#[derive(Debug)]
pub struct ApiError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    flavor: Flavor,
    status: StatusCode,
    code: &'static str,
    message: String,
    detail: Option<Value>,
    www_authenticate: Option<String>,
    /// Seconds for `Retry-After` (429; 503 always says 5).
    retry_after: Option<u64>,
    /// The cause, for the log only (5xx); never sent.
    cause: Option<String>,
    /// Close the connection after this answer (`Connection: close`).
    close: bool,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError(Box::new(Inner {
            flavor: Flavor::Datagram,
            status,
            code,
            message: message.into(),
            detail: None,
            www_authenticate: None,
            retry_after: None,
            cause: None,
            close: false,
        }))
    }

    fn detail(mut self, detail: Value) -> Self {
        self.0.detail = Some(detail);
        self
    }

    /// `400 invalid_request`, naming the field when there is one.
    pub fn invalid(field: Option<&str>, message: impl Into<String>) -> Self {
        let e = ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message);
        match field {
            Some(f) => e.detail(json!({ "field": f })),
            None => e,
        }
    }

    /// `400 malformed_json`.
    pub fn malformed_json(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", message)
    }

    /// `401 unauthorized`, message `UNAUTHORIZED` as the Datagram docs spell it.
    pub fn unauthorized(reason: &str) -> Self {
        let mut e = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "UNAUTHORIZED")
            .detail(Value::String(reason.to_owned()));
        e.0.www_authenticate = Some("Bearer realm=\"aliaskit\"".into());
        e
    }

    /// `401` for a refused bearer token: its stable code, its reason, and the RFC 6750 header.
    pub fn invalid_token(e: &TokenError) -> Self {
        let reason = e.to_string();
        let mut err = ApiError::new(StatusCode::UNAUTHORIZED, e.code(), "UNAUTHORIZED")
            .detail(Value::String(reason.clone()));
        // RFC 6750 §3: `error_description` is visible ASCII without `"` and `\`. The reason may
        // quote an alias id or an `alg` from the token, in any script; anything else would make
        // the header value invalid and the header would be lost.
        let description: String = reason
            .chars()
            .map(|c| match c {
                '"' | '\\' => '\'',
                ' ' | '!'..='~' => c,
                _ => '?',
            })
            .collect();
        err.0.www_authenticate = Some(format!(
            "Bearer realm=\"aliaskit\", error=\"invalid_token\", error_description=\"{description}\""
        ));
        err
    }

    /// `404 alias_not_found`, message `Alias not found` as the Datagram docs spell it.
    pub fn alias_not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "alias_not_found", "Alias not found")
    }

    /// `404 not_found` for a path no route serves.
    pub fn no_route(method: &str, path: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no route for {method} {}", shorten(path)),
        )
    }

    /// `405 method_not_allowed`, with the methods the path takes.
    pub fn method_not_allowed(method: &str, allowed: &str) -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not allowed here; use {allowed}"),
        )
        .detail(json!({ "allow": allowed }))
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
            "internal server error",
        );
        e.0.cause = Some(cause.to_string());
        e
    }

    /// `503 unavailable`: the database does not answer; the client may retry.
    pub fn unavailable(cause: impl fmt::Display) -> Self {
        let mut e = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the service is temporarily unavailable; retry shortly",
        );
        e.0.cause = Some(cause.to_string());
        e.0.retry_after = Some(5);
        e
    }

    /// The same error, written in `flavor`'s body shape.
    pub fn flavored(mut self, flavor: Flavor) -> Self {
        self.0.flavor = flavor;
        self
    }

    /// The same error, in the body shape of the routes `req` went to.
    pub fn for_request(self, req: &actix_web::HttpRequest) -> Self {
        self.flavored(Flavor::of_path(req.path()))
    }

    /// `429 too_many_requests`, with `Retry-After`.
    pub fn too_many(message: impl Into<String>, retry_after: u64) -> Self {
        let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message);
        e.0.retry_after = Some(retry_after.max(1));
        e
    }

    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        self.0.code
    }

    /// The cause to log, if any.
    pub fn cause(&self) -> Option<&str> {
        self.0.cause.as_deref()
    }
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
        match &e.cause {
            Some(cause) => write!(f, "{} ({}): {cause}", e.code, e.status),
            None => write!(f, "{} ({}): {}", e.code, e.status, e.message),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse {
        let e = &self.0;
        let body = match e.flavor {
            Flavor::Datagram => {
                let mut error = json!({ "message": e.message, "code": e.code });
                if let Some(detail) = &e.detail {
                    error["detail"] = detail.clone();
                }
                json!({ "error": error })
            }
            // OpenCAP has one message: the specific reason where the Datagram shape keeps the
            // documented "UNAUTHORIZED" and puts the reason in `detail`.
            Flavor::OpenCap => {
                let message = match (&e.detail, e.message.as_str()) {
                    (Some(Value::String(reason)), "UNAUTHORIZED") => reason.as_str(),
                    _ => e.message.as_str(),
                };
                json!({ "message": message, "code": e.code })
            }
        };
        let mut response = HttpResponse::build(e.status);
        if let Some(value) = e
            .www_authenticate
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            response.insert_header((header::WWW_AUTHENTICATE, value));
        }
        if e.close {
            response.force_close();
        }
        if let Some(seconds) = e.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if let Some(value) = e
            .detail
            .as_ref()
            .and_then(|d| d["allow"].as_str())
            .and_then(|allow| HeaderValue::from_str(allow).ok())
        {
            response.insert_header((header::ALLOW, value));
        }
        response.json(body)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::AliasNotFound => ApiError::alias_not_found(),
            ServiceError::AliasExpired { expired_at } => {
                ApiError::new(StatusCode::GONE, "alias_expired", "Alias expired")
                    .detail(json!({ "expired_at": expired_at }))
            }
            ServiceError::Unauthorized { reason } | ServiceError::WrongPasscode { reason, .. } => {
                ApiError::unauthorized(reason)
            }
            e @ ServiceError::PasscodeLocked { block, retry_after } => {
                let mut err = ApiError::too_many(e.to_string(), retry_after.max(1).unsigned_abs());
                err.0.code = match block.scope {
                    aliaskit_service::PasscodeScope::Alias => "passcode_locked",
                    aliaskit_service::PasscodeScope::Client => "passcode_locked_for_address",
                };
                err
            }
            ServiceError::InvalidToken(e) => ApiError::invalid_token(&e),
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
            e @ ServiceError::AddressNotFound { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "address_not_found", e.to_string())
            }
            e @ ServiceError::DomainNotServed { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "domain_not_served", e.to_string())
            }
            e @ ServiceError::SignupClosed => ApiError::unauthorized(&e.to_string()),
            e @ ServiceError::CapUserTaken => {
                ApiError::new(StatusCode::CONFLICT, "alias_taken", e.to_string())
            }
            e @ ServiceError::LoginFailed => {
                let mut err =
                    ApiError::new(StatusCode::UNAUTHORIZED, "login_failed", e.to_string());
                err.0.www_authenticate = Some("Bearer realm=\"aliaskit\"".into());
                err
            }
            e @ ServiceError::AccountLocked { retry_after } => {
                let mut err = ApiError::too_many(e.to_string(), retry_after.max(1).unsigned_abs());
                err.0.code = "account_locked";
                err
            }
            ServiceError::Unavailable(cause) => ApiError::unavailable(cause),
            e @ (ServiceError::Store(_) | ServiceError::Random(_) | ServiceError::Hashing(_)) => {
                ApiError::internal(chain(&e))
            }
            other => ApiError::internal(chain(&other)),
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
