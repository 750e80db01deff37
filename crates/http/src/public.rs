//! The public retrieve (DESIGN §5): `GET /api/v1/alias/{id}`.

use actix_web::{HttpRequest, HttpResponse, web};
use aliaskit_service::Credentials;
use serde::Deserialize;
use serde_json::json;

use crate::auth::bearer;
use crate::org::alias_id;
use crate::wire::AliasJson;
use crate::{Api, ApiError};

/// Query of the retrieve; other parameters are ignored (clients add cache busters).
#[derive(Debug, Deserialize)]
pub struct RetrieveParams {
    passcode: Option<String>,
}

/// `GET /api/v1/alias/{id}` with a token, a passcode, the owner's key, or nothing.
pub async fn retrieve(
    api: web::Data<Api>,
    req: HttpRequest,
    id: web::Path<String>,
    params: web::Query<RetrieveParams>,
) -> Result<HttpResponse, ApiError> {
    if let Some(ip) = api.trusted_proxies.client_ip(&req) {
        Api::limit(&api.retrieve_limiter, &ip, "requests from this address")?;
    }
    let id = alias_id(&id)?;
    let bearer = bearer(&req).map(str::to_owned);
    let passcode = params.into_inner().passcode;
    let service = api.service.clone();
    let seen = web::block(move || {
        service.retrieve(
            &id,
            Credentials {
                bearer: bearer.as_deref(),
                passcode: passcode.as_deref(),
            },
        )
    })
    .await??;
    Ok(HttpResponse::Ok().json(json!({ "data": AliasJson::from(&seen.alias) })))
}
