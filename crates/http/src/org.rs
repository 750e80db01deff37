//! The organization API (DESIGN §4): `/organization/api/v1/…`, authenticated by API key.

use actix_web::{HttpResponse, web};
use aliaskit_domain::{AliasId, AliasKind};
use aliaskit_service::ListQuery;
use serde::Deserialize;
use serde_json::json;

use crate::auth::Org;
use crate::body::JsonBody;
use crate::wire::{AliasJson, CreateBody, UpdateBody};
use crate::{Api, ApiError};

type Answer = Result<HttpResponse, ApiError>;

/// `POST /organization/api/v1/alias/create`
pub async fn create(api: web::Data<Api>, Org(org): Org, body: JsonBody<CreateBody>) -> Answer {
    let service = api.service.clone();
    let alias = web::block(move || service.create_alias(org, body.0.into())).await??;
    Ok(HttpResponse::Ok().json(json!({ "data": AliasJson::from(&alias) })))
}

/// Query of the listing. Unknown parameters are refused, so a misspelt filter is not silently
/// ignored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    #[serde(rename = "type")]
    kind: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// `GET /organization/api/v1/aliases?type=&after=&limit=`
pub async fn list(api: web::Data<Api>, Org(org): Org, params: web::Query<ListParams>) -> Answer {
    let params = params.into_inner();
    let kind = match params.kind.as_deref() {
        None | Some("") => None,
        Some(k) => Some(
            k.parse::<AliasKind>()
                .map_err(|e| ApiError::invalid(Some("type"), format!("type: {e}")))?,
        ),
    };
    let limit = match params.limit.as_deref() {
        None | Some("") => None,
        Some(l) => Some(l.parse::<u32>().map_err(|_| {
            ApiError::invalid(
                Some("limit"),
                format!(
                    "limit must be a whole number between 1 and {}",
                    aliaskit_service::MAX_LIMIT
                ),
            )
        })?),
    };
    let query = ListQuery {
        kind,
        after: params.after.filter(|a| !a.is_empty()),
        limit,
    };
    let service = api.service.clone();
    let page = web::block(move || service.list_aliases(org, &query)).await??;
    let entries: Vec<AliasJson<'_>> = page.entries.iter().map(AliasJson::from).collect();
    Ok(HttpResponse::Ok().json(json!({ "data": { "entries": entries, "after": page.after } })))
}

/// `GET /organization/api/v1/alias/{id}`
pub async fn get(api: web::Data<Api>, Org(org): Org, id: web::Path<String>) -> Answer {
    let id = alias_id(&id)?;
    let service = api.service.clone();
    let alias = web::block(move || service.get_alias(org, &id)).await??;
    Ok(HttpResponse::Ok().json(json!({ "data": AliasJson::from(&alias) })))
}

/// `POST /organization/api/v1/alias/update/{id}`
pub async fn update(
    api: web::Data<Api>,
    Org(org): Org,
    id: web::Path<String>,
    body: JsonBody<UpdateBody>,
) -> Answer {
    let id = alias_id(&id)?;
    let service = api.service.clone();
    let alias = web::block(move || service.update_alias(org, &id, body.0.into())).await??;
    Ok(HttpResponse::Ok().json(json!({ "data": AliasJson::from(&alias) })))
}

/// `DELETE /organization/api/v1/alias/delete/{id}`
pub async fn delete(api: web::Data<Api>, Org(org): Org, id: web::Path<String>) -> Answer {
    let id = alias_id(&id)?;
    let service = api.service.clone();
    web::block(move || service.delete_alias(org, &id)).await??;
    Ok(HttpResponse::Ok().json(json!({ "message": "Alias deleted successfully." })))
}

/// `POST /organization/api/v1/alias/{id}/rotate-secret`: a new random `jwt_secret`, returned
/// once; tokens signed with the previous one verify for `tokens.rotation_grace`.
pub async fn rotate_secret(api: web::Data<Api>, Org(org): Org, id: web::Path<String>) -> Answer {
    let id = alias_id(&id)?;
    let service = api.service.clone();
    let alias = web::block(move || service.rotate_secret(org, &id)).await??;
    Ok(HttpResponse::Ok().json(json!({ "data": AliasJson::from(&alias) })))
}

/// `POST /organization/api/v1/alias/{id}/revoke-tokens`: tokens issued before now (or without
/// `iat`) are refused from now on.
pub async fn revoke_tokens(api: web::Data<Api>, Org(org): Org, id: web::Path<String>) -> Answer {
    let id = alias_id(&id)?;
    let service = api.service.clone();
    let alias = web::block(move || service.revoke_tokens(org, &id)).await??;
    Ok(HttpResponse::Ok().json(json!({ "data": AliasJson::from(&alias) })))
}

/// `POST /organization/api/v1/alias/{id}/rotate-stream-key`: a new random stream key.
pub async fn rotate_stream_key(
    api: web::Data<Api>,
    Org(org): Org,
    id: web::Path<String>,
) -> Answer {
    let id = alias_id(&id)?;
    let service = api.service.clone();
    let alias = web::block(move || service.rotate_stream_key(org, &id)).await??;
    Ok(HttpResponse::Ok().json(json!({ "data": AliasJson::from(&alias) })))
}

/// A path id that cannot be an alias id names no alias: `404`, as an unknown id would.
pub(crate) fn alias_id(raw: &str) -> Result<AliasId, ApiError> {
    AliasId::parse(raw).map_err(|_| ApiError::alias_not_found())
}
