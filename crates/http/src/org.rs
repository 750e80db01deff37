//! The organization API (`docs/api.md`): `/organization/api/v1/…`, authenticated by API key.

use actix_web::{HttpRequest, HttpResponse, web};
use aliaskit_domain::{AliasId, AliasKind};
use aliaskit_service::ListQuery;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Org;
use crate::body::JsonBody;
use crate::wire::Message;
use crate::wire::alias::{
    AliasData, AliasJson, AliasList, AliasPage, AliasType, CreateBody, ListStatus, TokenCheckBody,
    TokenCheckData, UpdateBody, alias_answer,
};
use crate::wire::error::{
    AliasNotFound, BadRequest, InternalError, PayloadTooLarge, RequestTimeout, TooManyRequests,
    Unauthorized, Unavailable, UnsupportedMediaType,
};
use crate::{Api, ApiError};

type Answer = Result<HttpResponse, ApiError>;

/// `POST /organization/api/v1/alias/create`
#[utoipa::path(
    post,
    path = "/organization/api/v1/alias/create",
    tag = "organization",
    operation_id = "create_alias",
    request_body = CreateBody,
    security(("org_api_key" = [])),
    responses(
        (status = 200, description = "The new alias, secrets echoed.", body = AliasData),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 408, response = RequestTimeout),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn create(
    api: web::Data<Api>,
    req: HttpRequest,
    Org(org): Org,
    body: JsonBody<CreateBody>,
) -> Answer {
    let service = api.acting(&req);
    let alias = api
        .blocking(&req, move || service.create_alias(org, body.0.into()))
        .await??;
    Ok(alias_answer(&alias))
}

/// Query of the listing. Unknown parameters are refused, so a misspelt filter is not silently
/// ignored.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only aliases of this type; empty or absent for both.
    #[serde(rename = "type")]
    #[param(value_type = Option<AliasType>)]
    kind: Option<String>,
    /// The cursor from the previous page's `after`.
    after: Option<String>,
    /// Page size, 1–200 (50 when absent); outside that range is a `400`, not clamped.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// `active` (not yet past `expired_at`) or `expired`; empty or absent for both.
    #[param(value_type = Option<ListStatus>)]
    status: Option<String>,
}

/// `GET /organization/api/v1/aliases?type=&status=&after=&limit=`
#[utoipa::path(
    get,
    path = "/organization/api/v1/aliases",
    tag = "organization",
    operation_id = "list_aliases",
    params(ListParams),
    security(("org_api_key" = [])),
    responses(
        (status = 200, description = "One page of the organization's aliases, newest first.",
            body = AliasList),
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
    params: web::Query<ListParams>,
) -> Answer {
    let params = params.into_inner();
    let kind = match params.kind.as_deref() {
        None | Some("") => None,
        Some(k) => Some(
            k.parse::<AliasKind>()
                .map_err(|e| ApiError::invalid(Some("type"), format!("type: {e}")))?,
        ),
    };
    let limit = crate::parse_limit(params.limit.as_deref())?;
    let status = match params.status.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(raw.parse::<ListStatus>().map_err(|()| {
            ApiError::invalid(
                Some("status"),
                format!(
                    "status must be \"active\" or \"expired\", not {}",
                    aliaskit_domain::Error::shown(raw)
                ),
            )
        })?),
    };
    let query = ListQuery {
        kind,
        status: status.map(Into::into),
        after: params.after.filter(|a| !a.is_empty()),
        limit,
    };
    let service = api.service.clone();
    let page = api
        .blocking(&req, move || service.list_aliases(org, &query))
        .await??;
    Ok(HttpResponse::Ok().json(AliasList {
        data: AliasPage {
            entries: page.entries.iter().map(AliasJson::from).collect(),
            after: page.after.as_deref(),
        },
    }))
}

/// `GET /organization/api/v1/alias/{id}`
#[utoipa::path(
    get,
    path = "/organization/api/v1/alias/{id}",
    tag = "organization",
    operation_id = "get_alias",
    params(("id" = String, Path, description = "The alias id.")),
    security(("org_api_key" = [])),
    responses(
        (status = 200, description = "The alias, the owner's full view.", body = AliasData),
        (status = 401, response = Unauthorized),
        (status = 404, response = AliasNotFound),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn get(
    api: web::Data<Api>,
    req: HttpRequest,
    Org(org): Org,
    id: web::Path<String>,
) -> Answer {
    let id = alias_id(&id)?;
    let service = api.service.clone();
    let alias = api
        .blocking(&req, move || service.get_alias(org, &id))
        .await??;
    Ok(alias_answer(&alias))
}

/// `POST /organization/api/v1/alias/update/{id}`
#[utoipa::path(
    post,
    path = "/organization/api/v1/alias/update/{id}",
    tag = "organization",
    operation_id = "update_alias",
    params(("id" = String, Path, description = "The alias id.")),
    request_body = UpdateBody,
    security(("org_api_key" = [])),
    responses(
        (status = 200, description = "The updated alias.", body = AliasData),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = AliasNotFound),
        (status = 408, response = RequestTimeout),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn update(
    api: web::Data<Api>,
    req: HttpRequest,
    Org(org): Org,
    id: web::Path<String>,
    body: JsonBody<UpdateBody>,
) -> Answer {
    let id = alias_id(&id)?;
    let service = api.acting(&req);
    let alias = api
        .blocking(&req, move || service.update_alias(org, &id, body.0.into()))
        .await??;
    Ok(alias_answer(&alias))
}

/// `DELETE /organization/api/v1/alias/delete/{id}`
#[utoipa::path(
    delete,
    path = "/organization/api/v1/alias/delete/{id}",
    tag = "organization",
    operation_id = "delete_alias",
    params(("id" = String, Path, description = "The alias id.")),
    security(("org_api_key" = [])),
    responses(
        (status = 200, description = "`{\"message\": \"Alias deleted successfully.\"}`",
            body = Message),
        (status = 401, response = Unauthorized),
        (status = 404, response = AliasNotFound),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn delete(
    api: web::Data<Api>,
    req: HttpRequest,
    Org(org): Org,
    id: web::Path<String>,
) -> Answer {
    let id = alias_id(&id)?;
    let service = api.acting(&req);
    api.blocking(&req, move || service.delete_alias(org, &id))
        .await??;
    Ok(HttpResponse::Ok().json(Message {
        message: "Alias deleted successfully.".to_owned(),
    }))
}

/// `POST /organization/api/v1/alias/{id}/rotate-secret`: a new random `jwt_secret`, returned
/// once; tokens signed with the previous one verify for `tokens.rotation_grace`.
#[utoipa::path(
    post,
    path = "/organization/api/v1/alias/{id}/rotate-secret",
    tag = "organization",
    operation_id = "rotate_secret",
    params(("id" = String, Path, description = "The alias id.")),
    security(("org_api_key" = [])),
    responses(
        (status = 200, description = "The alias with its new `jwt_secret`, shown once.", body = AliasData),
        (status = 401, response = Unauthorized),
        (status = 404, response = AliasNotFound),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn rotate_secret(
    api: web::Data<Api>,
    req: HttpRequest,
    Org(org): Org,
    id: web::Path<String>,
) -> Answer {
    let id = alias_id(&id)?;
    let service = api.acting(&req);
    let alias = api
        .blocking(&req, move || service.rotate_secret(org, &id))
        .await??;
    Ok(alias_answer(&alias))
}

/// `POST /organization/api/v1/alias/{id}/revoke-tokens`: tokens issued before now (or without
/// `iat`) are refused from now on.
#[utoipa::path(
    post,
    path = "/organization/api/v1/alias/{id}/revoke-tokens",
    tag = "organization",
    operation_id = "revoke_tokens",
    params(("id" = String, Path, description = "The alias id.")),
    security(("org_api_key" = [])),
    responses(
        (status = 200, description = "The alias; tokens issued before now are refused from now on.", body = AliasData),
        (status = 401, response = Unauthorized),
        (status = 404, response = AliasNotFound),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn revoke_tokens(
    api: web::Data<Api>,
    req: HttpRequest,
    Org(org): Org,
    id: web::Path<String>,
) -> Answer {
    let id = alias_id(&id)?;
    let service = api.acting(&req);
    let alias = api
        .blocking(&req, move || service.revoke_tokens(org, &id))
        .await??;
    Ok(alias_answer(&alias))
}

/// `POST /organization/api/v1/alias/{id}/token-check`: why the retrieve would admit or refuse
/// a token, by the retrieve's own rules. A refused token is a `200` with `valid: false`; the
/// token is never logged, and the check is not counted as a retrieve.
#[utoipa::path(
    post,
    path = "/organization/api/v1/alias/{id}/token-check",
    tag = "organization",
    operation_id = "check_token",
    params(("id" = String, Path, description = "The alias id.")),
    request_body = TokenCheckBody,
    security(("org_api_key" = [])),
    responses(
        (status = 200, description = "The verdict, valid or not.", body = TokenCheckData),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = AliasNotFound),
        (status = 408, response = RequestTimeout),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn check_token(
    api: web::Data<Api>,
    req: HttpRequest,
    Org(org): Org,
    id: web::Path<String>,
    body: JsonBody<TokenCheckBody>,
) -> Answer {
    let id = alias_id(&id)?;
    let service = api.service.clone();
    let token = body.0.token;
    let check = api
        .blocking(&req, move || service.check_token(org, &id, &token))
        .await??;
    Ok(HttpResponse::Ok().json(TokenCheckData { data: check.into() }))
}

/// `POST /organization/api/v1/alias/{id}/rotate-stream-key`: a new random stream key.
#[utoipa::path(
    post,
    path = "/organization/api/v1/alias/{id}/rotate-stream-key",
    tag = "organization",
    operation_id = "rotate_stream_key",
    params(("id" = String, Path, description = "The alias id.")),
    security(("org_api_key" = [])),
    responses(
        (status = 200, description = "The alias with its new `stream_key`.", body = AliasData),
        (status = 401, response = Unauthorized),
        (status = 404, response = AliasNotFound),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn rotate_stream_key(
    api: web::Data<Api>,
    req: HttpRequest,
    Org(org): Org,
    id: web::Path<String>,
) -> Answer {
    let id = alias_id(&id)?;
    let service = api.acting(&req);
    let alias = api
        .blocking(&req, move || service.rotate_stream_key(org, &id))
        .await??;
    Ok(alias_answer(&alias))
}

/// A path id that cannot be an alias id names no alias: `404`, as an unknown id would.
pub(crate) fn alias_id(raw: &str) -> Result<AliasId, ApiError> {
    AliasId::parse(raw).map_err(|_| ApiError::alias_not_found())
}
