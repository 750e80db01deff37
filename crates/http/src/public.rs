//! The public retrieve (`docs/api.md`): `GET /api/v1/alias/{id}`.

use actix_web::{HttpRequest, HttpResponse, web};
use aliaskit_service::{Credentials, ServiceError};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::bearer;
use crate::metrics::Limit;
use crate::org::alias_id;
use crate::wire::alias::{AliasData, alias_answer};
use crate::wire::error::{
    AliasGone, AliasNotFound, BadRequest, InternalError, TooManyRequests, Unauthorized, Unavailable,
};
use crate::{Api, ApiError};

/// Query of the retrieve; other parameters are ignored (clients add cache busters). No
/// `Debug`: it holds a passcode.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RetrieveParams {
    /// The alias's passcode, compared in constant time; tried after a bearer token. Kept for
    /// Datagram compatibility: prefer the `X-Alias-Passcode` header.
    passcode: Option<String>,
}

/// `GET /api/v1/alias/{id}` with a token, a passcode, the owner's key, or nothing.
#[utoipa::path(
    get,
    path = "/api/v1/alias/{id}",
    tag = "retrieve",
    operation_id = "retrieve_alias",
    description = "Credentials are tried in this order, the first valid one wins: an access \
token signed with the alias's `jwt_secret`; the passcode (`X-Alias-Passcode`, preferred, or \
`?passcode=`); the owning organization's API key; nothing, for an alias with neither a \
`jwt_secret` nor a passcode. `jwt_secret` is always `null`; `passcode` and `stream_key` are \
shown to hosts (`host: true`) and the owner only. Wrong passcodes are counted per alias, across \
servers: beyond `aliases.passcode_failures` per `aliases.passcode_window` (one address may spend \
half), passcode attempts answer `429` (`passcode_locked`, `passcode_locked_for_address`) with \
`Retry-After`; tokens and the owner's key are never affected.",
    params(
        ("id" = String, Path, description = "The alias id."),
        ("X-Alias-Passcode" = Option<String>, Header, description = "The alias's passcode: the \
preferred form, since a query string ends up in proxies' logs. Wins over `?passcode=`."),
        RetrieveParams
    ),
    security(("access_token" = []), ("org_api_key" = []), ()),
    responses(
        (status = 200, description = "The alias, as this caller may see it.", body = AliasData),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = AliasNotFound),
        (status = 410, response = AliasGone),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn retrieve(
    api: web::Data<Api>,
    req: HttpRequest,
    id: web::Path<String>,
    params: web::Query<RetrieveParams>,
) -> Result<HttpResponse, ApiError> {
    let client = api.trusted_proxies.client_ip(&req);
    if let Some(ip) = client {
        api.limit(
            &api.retrieve_limiter,
            &ip,
            Limit::Retrieve,
            "requests from this address",
        )?;
    }
    let id_text = id.clone();
    let id = alias_id(&id)?;
    // The header is the preferred form: a query string ends up in proxies' logs.
    let passcode = match req.headers().get(PASSCODE_HEADER) {
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| {
                    ApiError::invalid(
                        Some("X-Alias-Passcode"),
                        "X-Alias-Passcode must be visible ASCII text",
                    )
                })?
                .to_owned(),
        ),
        None => params.into_inner().passcode,
    };
    let credentials = Credentials {
        bearer: bearer(&req),
        passcode: passcode.as_deref(),
        client,
    };
    // A cached alias with a token or passcode is answered here, without a thread hop or I/O.
    let seen = match api.service.retrieve_cached(&id, credentials) {
        Some(result) => result,
        None => api.read_retrieve(&req, id.clone(), credentials).await?,
    }
    .inspect_err(|e| {
        api.metrics.record_token_error(e);
        api.metrics.record_passcode_outcome(e);
        if let ServiceError::WrongPasscode {
            began: Some(block), ..
        } = e
        {
            // The alias id is no secret (it is in every access log line); the passcode is
            // never logged.
            tracing::warn!(
                alias = %id_text,
                scope = ?block.scope,
                blocked_until = block.until,
                "an alias went over its budget of wrong passcodes; passcode attempts are refused until blocked_until"
            );
        }
    })?;
    Ok(alias_answer(&seen.alias))
}

/// The header that carries a passcode (preferred to `?passcode=`, which proxies log).
pub const PASSCODE_HEADER: &str = "x-alias-passcode";
