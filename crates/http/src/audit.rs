//! The audit trail (`docs/audit.md`): `GET /organization/api/v1/audit` (an organization's own
//! entries) and `GET /v1/users/audit` (an OpenCAP user's own account and addresses).

use actix_web::{HttpRequest, HttpResponse, web};
use aliaskit_service::AuditQuery;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Org;
use crate::opencap::CapAuth;
use crate::wire::audit::{AuditEntryJson, AuditList, AuditPageJson, UserAuditEntryJson};
use crate::wire::error::{
    BadRequest, CapInternalError, CapUnauthorized, CapUnavailable, InternalError, TooManyRequests,
    Unauthorized, Unavailable,
};
use crate::{Api, ApiError, parse_limit};

/// Query of the organization's trail. Unknown parameters are refused.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// The cursor from the previous page's `after`.
    after: Option<String>,
    /// Page size, 1–200 (50 when absent); outside that range is a `400`, not clamped.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// Only entries of this action (`alias.rotate_secret`, …).
    action: Option<String>,
    /// Only entries about this target (an alias or webhook id, …).
    target: Option<String>,
}

/// `GET /organization/api/v1/audit?after=&limit=&action=&target=`: the calling
/// organization's audit trail, newest first.
#[utoipa::path(
    get,
    path = "/organization/api/v1/audit",
    tag = "organization",
    operation_id = "list_audit",
    params(AuditParams),
    security(("org_api_key" = [])),
    responses(
        (status = 200, description = "One page of the organization's audit trail, newest \
first.", body = AuditList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn list(
    api: web::Data<Api>,
    req: HttpRequest,
    Org(org): Org,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    let params = params.into_inner();
    let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
    let query = AuditQuery {
        limit: parse_limit(params.limit.as_deref())?,
        after: nonempty(params.after),
        action: nonempty(params.action),
        target: nonempty(params.target),
    };
    let service = api.service.clone();
    let page = api
        .blocking(&req, move || service.list_audit(org, &query))
        .await??;
    Ok(HttpResponse::Ok().json(AuditList {
        data: AuditPageJson {
            entries: page.entries.iter().map(AuditEntryJson::from).collect(),
            after: page.after.as_deref(),
        },
    }))
}

/// `GET /v1/users/audit`: the changes to the caller's own account and addresses, newest
/// first (the newest 500), with time, client address and address type — never the address.
#[utoipa::path(
    get,
    path = "/v1/users/audit",
    tag = "opencap",
    operation_id = "user_audit",
    security(("opencap_token" = [])),
    responses(
        (status = 200, description = "The changes to the caller's account and addresses, \
newest first.", body = Vec<UserAuditEntryJson>),
        (status = 401, response = CapUnauthorized),
        (status = 500, response = CapInternalError),
        (status = 503, response = CapUnavailable),
    ),
)]
pub async fn user(
    api: web::Data<Api>,
    req: HttpRequest,
    CapAuth(user): CapAuth,
) -> Result<HttpResponse, ApiError> {
    let service = api.service.clone();
    let entries = api
        .blocking(&req, move || service.list_user_audit(user.alias.as_str()))
        .await??;
    Ok(HttpResponse::Ok().json(
        entries
            .iter()
            .map(UserAuditEntryJson::from)
            .collect::<Vec<_>>(),
    ))
}
