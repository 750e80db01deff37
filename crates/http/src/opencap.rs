//! The OpenCAP routes (`docs/opencap.md`): `/v1/addresses` (Address Query and Alias Management),
//! `/v1/auth` and `/v1/users`. Errors are `{"message", "code"}` (written so by the `/v1` scope,
//! [`crate::error::opencap_shape`]); CORS is open.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use aliaskit_domain::opencap::{Address, AddressType, CapAlias, CapUser, Extensions, Password};
use aliaskit_service::{Actor, Lookup, ServiceError, Signup};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{authenticate_org, bearer};
use crate::body::JsonBody;
use crate::metrics::{Limit, LoginFailure};
use crate::wire::Message;
use crate::wire::error::{
    CapBadRequest, CapConflict, CapInternalError, CapNotFound, CapPayloadTooLarge,
    CapRequestTimeout, CapTooManyRequests, CapUnauthorized, CapUnavailable,
    CapUnsupportedMediaType,
};
use crate::wire::opencap::{
    Address as AddressJson, AddressOrAll, AddressType as AddressTypeSchema, Jwt, SignedUp,
};
use crate::{Api, ApiError};

type Answer = Result<HttpResponse, ApiError>;

fn invalid(field: &str, message: impl Into<Cow<'static, str>>) -> ApiError {
    ApiError::invalid(Some(field), message)
}

fn parse_alias(raw: &str) -> Result<CapAlias, ApiError> {
    CapAlias::parse(raw).map_err(|e| invalid("alias", format!("alias: {e}")))
}

fn parse_type(raw: &str) -> Result<AddressType, ApiError> {
    raw.trim()
        .parse::<AddressType>()
        .map_err(|e| invalid("address_type", format!("address_type: {e}")))
}

/// Query of the Address Query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupParams {
    /// The alias, `user$domain` (`$` may be sent as `%24`).
    #[param(value_type = String, required = true, pattern = "^[a-z0-9._-]{1,25}\\$([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]+$", example = "alice$example.com")]
    alias: Option<String>,
    /// One address type; absent for all of the alias's addresses.
    #[param(value_type = Option<AddressTypeSchema>)]
    address_type: Option<String>,
}

/// `GET /v1/addresses?alias=u$d[&address_type=N]` — public.
#[utoipa::path(
    get,
    path = "/v1/addresses",
    tag = "opencap",
    operation_id = "lookup_addresses",
    description = "The Address Query. With `address_type`, the alias's address of that type; \
without, all its addresses, ordered by type (possibly `[]`).",
    params(LookupParams),
    security(()),
    responses(
        (status = 200, description = "One address (with `address_type`) or all of them.",
            content((AddressOrAll = "application/json"))),
        (status = 400, response = CapBadRequest),
        (status = 404, response = CapNotFound),
        (status = 500, response = CapInternalError),
        (status = 503, response = CapUnavailable),
    ),
)]
pub async fn lookup(
    api: web::Data<Api>,
    req: HttpRequest,
    params: web::Query<LookupParams>,
) -> Answer {
    let params = params.into_inner();
    let alias = match params.alias.as_deref() {
        Some(a) if !a.is_empty() => parse_alias(a)?,
        _ => {
            return Err(invalid(
                "alias",
                "alias is required, as in ?alias=alice$example.com",
            ));
        }
    };
    let address_type = match params.address_type.as_deref() {
        None | Some("") => None,
        Some(t) => Some(parse_type(t)?),
    };
    let found = match api.service.opencap().lookup_cached(&alias, address_type) {
        Some(found) => found,
        None => {
            let service = api.service.clone();
            api.read(&req, move || {
                service.opencap().lookup_after_cached(&alias, address_type)
            })
            .await??
        }
    };
    Ok(HttpResponse::Ok().json(match &found {
        Lookup::One(stored) => AddressOrAll::One(AddressJson::from(stored)),
        Lookup::All(all) => AddressOrAll::All(all.iter().map(AddressJson::from).collect()),
    }))
}

/// Body of `/v1/auth` and `/v1/users`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CapCredentials)]
pub struct LoginBody {
    /// The alias, `user$domain`: username `[a-z0-9._-]{1,25}`, a lower-case ASCII domain held
    /// by this server.
    #[schema(
        pattern = "^[a-z0-9._-]{1,25}\\$([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]+$",
        example = "alice$example.com"
    )]
    alias: String,
    /// 10–128 characters.
    #[schema(min_length = 10, max_length = 128, example = "correct horse battery")]
    password: String,
}

fn limited(api: &Api, req: &HttpRequest) -> Result<(), ApiError> {
    match api.trusted_proxies.client_ip(req) {
        Some(ip) => api.limit(
            &api.auth_limiter,
            &ip,
            Limit::Auth,
            "attempts from this address",
        ),
        None => Ok(()),
    }
}

/// `POST /v1/auth {"alias", "password"}` → `{"jwt"}`. Limited per client IP; password checks
/// run on low-priority hashing threads behind a bounded queue.
#[utoipa::path(
    post,
    path = "/v1/auth",
    tag = "opencap",
    operation_id = "login",
    request_body = LoginBody,
    security(()),
    responses(
        (status = 200, description = "A login token for `Authorization: Bearer`.", body = Jwt),
        (status = 400, response = CapBadRequest),
        (status = 401, response = CapUnauthorized),
        (status = 408, response = CapRequestTimeout),
        (status = 413, response = CapPayloadTooLarge),
        (status = 415, response = CapUnsupportedMediaType),
        (status = 429, response = CapTooManyRequests),
        (status = 500, response = CapInternalError),
        (status = 503, response = CapUnavailable),
    ),
)]
pub async fn login(api: web::Data<Api>, req: HttpRequest, body: JsonBody<LoginBody>) -> Answer {
    limited(&api, &req)
        .inspect_err(|_| api.metrics.record_login_failure(LoginFailure::RateLimited))?;
    let LoginBody { alias, password } = body.0;
    let alias = parse_alias(&alias)?;
    // A password outside the accepted lengths cannot be anyone's: the same answer as a wrong one.
    let password = Password::new(password).map_err(|_| {
        api.metrics
            .record_login_failure(LoginFailure::WrongCredentials);
        ServiceError::LoginFailed
    })?;
    let jwt = log_in(&api, &req, alias, password).await?;
    match &jwt {
        Ok(_) => api.metrics.record_login(),
        Err(ServiceError::LoginFailed) => api
            .metrics
            .record_login_failure(LoginFailure::WrongCredentials),
        Err(ServiceError::AccountLocked { .. }) => {
            api.metrics.record_login_failure(LoginFailure::Locked);
        }
        // The database or the key ring failed: not a refusal; the 5xx is in the request counts.
        Err(_) => {}
    }
    let jwt = jwt?;
    Ok(HttpResponse::Ok().json(Jwt { jwt }))
}

/// A login's steps: the user read (blocking pool), the password check (the hashing pool, the
/// hash only), the outcome recorded (blocking pool). While the database does not answer, a
/// login ends at the first step, within `database.timeout`, without waiting for a hashing
/// thread. `Err` when a pool failed; the use case's own answer inside.
async fn log_in(
    api: &Api,
    req: &HttpRequest,
    alias: CapAlias,
    password: Password,
) -> Result<Result<String, ServiceError>, ApiError> {
    let service = api.service.clone();
    let pending = match api
        .blocking(req, move || service.opencap().login_start(&alias))
        .await?
    {
        Ok(pending) => pending,
        Err(refused) => return Ok(Err(refused)),
    };
    let checked = api.hashing.run(move || pending.verify(&password)).await?;
    // Acting for the request: a lockout it causes is recorded with its address.
    let service = api.acting(req);
    api.blocking(req, move || service.opencap().login_finish(checked))
        .await
}

/// `POST /v1/users {"alias", "password"}`: signup. Open when `opencap.open_signup`; otherwise
/// it needs an organization API key in `Authorization`.
#[utoipa::path(
    post,
    path = "/v1/users",
    tag = "opencap",
    operation_id = "signup",
    description = "Signup: open to anyone when `opencap.open_signup` is true; otherwise it \
needs an organization API key.",
    request_body = LoginBody,
    security((), ("org_api_key" = [])),
    responses(
        (status = 200, description = "The alias signed up.", body = SignedUp),
        (status = 400, response = CapBadRequest),
        (status = 401, response = CapUnauthorized),
        (status = 409, response = CapConflict),
        (status = 408, response = CapRequestTimeout),
        (status = 413, response = CapPayloadTooLarge),
        (status = 415, response = CapUnsupportedMediaType),
        (status = 429, response = CapTooManyRequests),
        (status = 500, response = CapInternalError),
        (status = 503, response = CapUnavailable),
    ),
)]
pub async fn signup(api: web::Data<Api>, req: HttpRequest, body: JsonBody<LoginBody>) -> Answer {
    limited(&api, &req)?;
    let LoginBody { alias, password } = body.0;
    let alias = parse_alias(&alias)?;
    let password = Password::new(password).map_err(|e| invalid("password", e.to_string()))?;
    let (by, actor) = match bearer(&req).map(str::to_owned) {
        None => (
            Signup::Open,
            Actor::OpencapUser {
                alias: alias.as_str().to_owned(),
            },
        ),
        Some(key) => {
            let org = authenticate_org(&api, &req, key.clone()).await?;
            (Signup::ByOrg(org), Actor::api_key(&key, org))
        }
    };
    req.extensions_mut().insert(actor);
    let registered = alias.clone();
    // As a login: the checks and the hash-free database steps on the blocking pool, only the
    // hash on the hashing pool.
    let service = api.service.clone();
    let pending = api
        .blocking(&req, move || service.opencap().signup_start(&alias, by))
        .await??;
    let hashed = api.hashing.run(move || pending.hash(&password)).await??;
    let service = api.acting(&req);
    api.blocking(&req, move || service.opencap().signup_finish(hashed))
        .await??;
    Ok(HttpResponse::Ok().json(SignedUp {
        alias: registered.as_str(),
    }))
}

/// The user a login token in `Authorization: Bearer` speaks for.
pub struct CapAuth(pub CapUser);

impl FromRequest for CapAuth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<CapAuth, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let api = req.app_data::<web::Data<Api>>().cloned();
        let token = bearer(req).map(str::to_owned);
        let req = req.clone();
        Box::pin(async move {
            let api = api.ok_or_else(|| ApiError::internal("the Api state is not registered"))?;
            let token = token.ok_or_else(|| {
                ApiError::unauthorized(
                    "send the token from POST /v1/auth as Authorization: Bearer <jwt>",
                )
            })?;
            let service = api.service.clone();
            let user = api
                .blocking(&req, move || service.opencap().authenticate(&token))
                .await?
                .inspect_err(|e| api.metrics.record_token_error(e))?;
            req.extensions_mut().insert(Actor::OpencapUser {
                alias: user.alias.as_str().to_owned(),
            });
            Ok(CapAuth(user))
        })
    }
}

/// Body of `PUT /v1/addresses`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AddressPut)]
pub struct PutAddress {
    /// The type, a JSON number.
    #[schema(value_type = AddressTypeSchema)]
    address_type: u16,
    /// The address, checked against its type's format and checksum.
    #[schema(max_length = 128, example = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")]
    address: String,
    /// A JSON object of at most 4 KiB, returned as stored; `null` or absent for `{}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    extensions: Option<Value>,
}

/// `PUT /v1/addresses {"address_type", "address", "extensions"?}`: adds or replaces the
/// user's address of that type, after checking its checksum.
#[utoipa::path(
    put,
    path = "/v1/addresses",
    tag = "opencap",
    operation_id = "put_address",
    request_body = PutAddress,
    security(("opencap_token" = [])),
    responses(
        (status = 200, description = "The stored address.", body = AddressJson),
        (status = 400, response = CapBadRequest),
        (status = 401, response = CapUnauthorized),
        (status = 408, response = CapRequestTimeout),
        (status = 413, response = CapPayloadTooLarge),
        (status = 415, response = CapUnsupportedMediaType),
        (status = 500, response = CapInternalError),
        (status = 503, response = CapUnavailable),
    ),
)]
pub async fn put_address(
    api: web::Data<Api>,
    req: HttpRequest,
    CapAuth(user): CapAuth,
    body: JsonBody<PutAddress>,
) -> Answer {
    let PutAddress {
        address_type,
        address,
        extensions,
    } = body.0;
    let address_type = AddressType::from_code(address_type)
        .map_err(|e| invalid("address_type", format!("address_type: {e}")))?;
    let address = Address::new(address_type, address)
        .map_err(|e| invalid("address", format!("address: {e}")))?;
    let extensions =
        Extensions::new(extensions.unwrap_or_else(|| Value::Object(Default::default())))
            .map_err(|e| invalid("extensions", e.to_string()))?;
    let service = api.acting(&req);
    let stored = api
        .blocking(&req, move || {
            service.opencap().put_address(&user, address, extensions)
        })
        .await??;
    Ok(HttpResponse::Ok().json(AddressJson::from(&stored)))
}

/// `DELETE /v1/addresses/{address_type}`.
#[utoipa::path(
    delete,
    path = "/v1/addresses/{address_type}",
    tag = "opencap",
    operation_id = "delete_address",
    params(("address_type" = AddressTypeSchema, Path, description = "The type, as a decimal number.")),
    security(("opencap_token" = [])),
    responses(
        (status = 200, description = "`{\"message\": \"address of type N deleted\"}`", body = Message),
        (status = 400, response = CapBadRequest),
        (status = 401, response = CapUnauthorized),
        (status = 404, response = CapNotFound),
        (status = 500, response = CapInternalError),
        (status = 503, response = CapUnavailable),
    ),
)]
pub async fn delete_address(
    api: web::Data<Api>,
    req: HttpRequest,
    CapAuth(user): CapAuth,
    address_type: web::Path<String>,
) -> Answer {
    let address_type = parse_type(&address_type)?;
    let service = api.acting(&req);
    api.blocking(&req, move || {
        service.opencap().delete_address(&user, address_type)
    })
    .await??;
    Ok(HttpResponse::Ok().json(Message {
        message: format!("address of type {} deleted", address_type.code()),
    }))
}

/// `DELETE /v1/users`: deletes the token's user and its addresses; its tokens stop working.
#[utoipa::path(
    delete,
    path = "/v1/users",
    tag = "opencap",
    operation_id = "delete_user",
    security(("opencap_token" = [])),
    responses(
        (status = 200, description = "`{\"message\": \"user … deleted\"}`", body = Message),
        (status = 401, response = CapUnauthorized),
        (status = 500, response = CapInternalError),
        (status = 503, response = CapUnavailable),
    ),
)]
pub async fn delete_user(api: web::Data<Api>, req: HttpRequest, CapAuth(user): CapAuth) -> Answer {
    let alias = user.alias.clone();
    let service = api.acting(&req);
    api.blocking(&req, move || service.opencap().delete_user(&user))
        .await??;
    Ok(HttpResponse::Ok().json(Message {
        message: format!("user {alias} deleted"),
    }))
}
