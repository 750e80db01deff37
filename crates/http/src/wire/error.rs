//! The two error shapes, one struct each, and the reusable error responses of the OpenAPI
//! description. Every error answer is written as one of the two by [`crate::ApiError`], in the
//! shape of the routes that answered ([`crate::Flavor`]).

use serde::Serialize;
use utoipa::{ToResponse, ToSchema};

/// A Datagram error: `{"error": {"message", "code", "detail"?}}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct DatagramError<'a> {
    /// What went wrong.
    pub error: DatagramErrorBody<'a>,
}

/// The inside of a Datagram error.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ErrorDetail)]
pub struct DatagramErrorBody<'a> {
    /// Human text; `UNAUTHORIZED` and `Alias not found` as the Datagram docs spell them.
    #[schema(value_type = String, example = "Alias not found")]
    pub message: &'a str,
    /// A stable machine code (docs/api.md).
    #[schema(value_type = String, example = "alias_not_found")]
    pub code: &'a str,
    /// More: the field (`{"field"}`), the reason of a `401` (a string), the allowed methods
    /// (`{"allow"}`), the expiry (`{"expired_at"}`), or the request id of a `5xx`
    /// (`{"request_id"}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Value, required = false)]
    pub detail: Option<Detail<'a>>,
}

/// `detail` of a Datagram error: what the client may act on besides the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Detail<'a> {
    /// Why a credential was refused (`401`), or what would have been needed.
    Reason(&'a str),
    /// `{"field"}` (`400`).
    Field {
        /// The request field at fault.
        field: &'a str,
    },
    /// `{"allow"}` (`405`).
    Allow {
        /// The methods the path takes, as in the `Allow` header.
        allow: &'a str,
    },
    /// `{"expired_at"}` (`410`).
    ExpiredAt {
        /// When the alias expired, Unix seconds.
        expired_at: i64,
    },
    /// `{"request_id"}` (`5xx`).
    RequestId {
        /// The id of the request, whose log line has the cause.
        request_id: &'a str,
    },
}

/// An OpenCAP error: `{"message", "code"}`, plus `request_id` on a `5xx`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CapError)]
pub struct OpenCapError<'a> {
    /// Human text.
    #[schema(value_type = String, example = "alias not found")]
    pub message: &'a str,
    /// A stable machine code.
    #[schema(value_type = String, example = "alias_not_found")]
    pub code: &'a str,
    /// The request id, on a `5xx` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
    pub request_id: Option<&'a str>,
}

// The reusable error responses, by route family: what the handlers' `#[utoipa::path]`
// attributes list, described once.

/// Bad input: `invalid_request` (`detail.field` names the field) or `malformed_json`.
#[derive(ToResponse)]
pub struct BadRequest(pub DatagramError<'static>);

/// No valid credential (`unauthorized`) or a refused token (its code, e.g. `token_expired`).
#[derive(ToResponse)]
#[response(headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"aliaskit\"`, \
with `error=\"invalid_token\"` and `error_description` when a token was refused.")))]
pub struct Unauthorized(pub DatagramError<'static>);

/// `alias_not_found`: no such alias, not this organization's, or an id that cannot be one.
#[derive(ToResponse)]
pub struct AliasNotFound(pub DatagramError<'static>);

/// `webhook_not_found`: no such webhook, not this organization's, or an id that cannot be one.
#[derive(ToResponse)]
pub struct WebhookNotFound(pub DatagramError<'static>);

/// `alias_expired`: the alias is past `expired_at` (`detail.expired_at`).
#[derive(ToResponse)]
pub struct AliasGone(pub DatagramError<'static>);

/// `method_not_allowed`: the path takes other methods, listed in `Allow`.
#[derive(ToResponse)]
#[response(headers(("Allow" = String, description = "The methods the path takes.")))]
pub struct MethodNotAllowed(pub DatagramError<'static>);

/// `request_timeout`: the body did not arrive in full within `server.body_timeout` (10 s by
/// default) of the request's head; the server closes the connection after this answer.
#[derive(ToResponse)]
pub struct RequestTimeout(pub DatagramError<'static>);

/// `payload_too_large`: the body is over `server.body_limit` (64 KiB by default).
#[derive(ToResponse)]
pub struct PayloadTooLarge(pub DatagramError<'static>);

/// `unsupported_media_type`: the body is not sent as `Content-Type: application/json`.
#[derive(ToResponse)]
pub struct UnsupportedMediaType(pub DatagramError<'static>);

/// `too_many_requests`: over a request limit.
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "Seconds until a retry may succeed.")))]
pub struct TooManyRequests(pub DatagramError<'static>);

/// `internal_error`: opaque; `detail.request_id` matches the log line with the cause.
#[derive(ToResponse)]
pub struct InternalError(pub DatagramError<'static>);

/// `unavailable`: the database does not answer; the server recovers by itself.
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "Seconds until a retry may succeed (5).")))]
pub struct Unavailable(pub DatagramError<'static>);

/// Bad input: `invalid_request`, `malformed_json`, `domain_not_served`.
#[derive(ToResponse)]
pub struct CapBadRequest(pub OpenCapError<'static>);

/// No valid token, a refused token, a wrong alias or password (`login_failed`), or signup
/// closed to the public.
#[derive(ToResponse)]
#[response(headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"aliaskit\"`, \
with `error=\"invalid_token\"` and `error_description` when a token was refused.")))]
pub struct CapUnauthorized(pub OpenCapError<'static>);

/// `alias_not_found` or `address_not_found`.
#[derive(ToResponse)]
pub struct CapNotFound(pub OpenCapError<'static>);

/// `alias_taken`: the alias is registered already.
#[derive(ToResponse)]
pub struct CapConflict(pub OpenCapError<'static>);

/// `request_timeout`: the body did not arrive in full within `server.body_timeout` (10 s by
/// default) of the request's head; the server closes the connection after this answer.
#[derive(ToResponse)]
pub struct CapRequestTimeout(pub OpenCapError<'static>);

/// `payload_too_large`: the body is over `server.body_limit` (64 KiB by default).
#[derive(ToResponse)]
pub struct CapPayloadTooLarge(pub OpenCapError<'static>);

/// `unsupported_media_type`: the body is not sent as `Content-Type: application/json`.
#[derive(ToResponse)]
pub struct CapUnsupportedMediaType(pub OpenCapError<'static>);

/// `too_many_requests` (per client IP) or `account_locked` (too many failed logins).
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "Seconds until a retry may succeed.")))]
pub struct CapTooManyRequests(pub OpenCapError<'static>);

/// `internal_error`: opaque, with the `request_id` of the log line with the cause.
#[derive(ToResponse)]
pub struct CapInternalError(pub OpenCapError<'static>);

/// `unavailable`: the database does not answer; the server recovers by itself.
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "Seconds until a retry may succeed (5).")))]
pub struct CapUnavailable(pub OpenCapError<'static>);
