//! The organization's webhook endpoints (`docs/webhooks.md`):
//! `/organization/api/v1/webhooks[/{id}[/rotate-secret|/enable|/disable|/deliveries]]`,
//! authenticated, limited and answered like the rest of the organization API.

use actix_web::{HttpRequest, HttpResponse, web};
use aliaskit_domain::{Webhook, WebhookId};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Org;
use crate::body::JsonBody;
use crate::wire::Message;
use crate::wire::error::{
    BadRequest, InternalError, PayloadTooLarge, RequestTimeout, TooManyRequests, Unauthorized,
    Unavailable, UnsupportedMediaType, WebhookNotFound,
};
use crate::wire::webhook::{
    AttemptJson, AttemptList, AttemptPageJson, CreateWebhookBody, WebhookData, WebhookEntries,
    WebhookJson, WebhookList,
};
use crate::{Api, ApiError};

type Answer = Result<HttpResponse, ApiError>;

/// `200 {"data": Webhook}`, with the secret when `secret`.
fn answer(hook: &Webhook, secret: bool) -> HttpResponse {
    HttpResponse::Ok().json(WebhookData {
        data: if secret {
            WebhookJson::with_secret(hook)
        } else {
            WebhookJson::public(hook)
        },
    })
}

/// A path id that cannot be a webhook id names no webhook: `404`, as an unknown id would.
fn webhook_id(raw: &str) -> Result<WebhookId, ApiError> {
    WebhookId::parse(raw).map_err(|_| ApiError::webhook_not_found())
}

/// `POST /organization/api/v1/webhooks`
#[utoipa::path(
    post,
    path = "/organization/api/v1/webhooks",
    tag = "organization",
    operation_id = "create_webhook",
    request_body = CreateWebhookBody,
    security(("org_api_key" = [])),
    responses(
        (status = 200, description = "The new webhook with its signing `secret`, shown here and \
on rotation only.", body = WebhookData),
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
    body: JsonBody<CreateWebhookBody>,
) -> Answer {
    let service = api.acting(&req);
    // The target's name is resolved here too: off the async workers.
    let hook = api
        .blocking(&req, move || service.create_webhook(org, body.0.into()))
        .await??;
    Ok(answer(&hook, true))
}

/// `GET /organization/api/v1/webhooks`
#[utoipa::path(
    get,
    path = "/organization/api/v1/webhooks",
    tag = "organization",
    operation_id = "list_webhooks",
    security(("org_api_key" = [])),
    responses(
        (status = 200, description = "Every webhook of the organization, oldest first, without \
secrets.", body = WebhookList),
        (status = 401, response = Unauthorized),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn list(api: web::Data<Api>, req: HttpRequest, Org(org): Org) -> Answer {
    let service = api.service.clone();
    let hooks = api
        .blocking(&req, move || service.list_webhooks(org))
        .await??;
    Ok(HttpResponse::Ok().json(WebhookList {
        data: WebhookEntries {
            entries: hooks.iter().map(WebhookJson::public).collect(),
        },
    }))
}

/// `GET /organization/api/v1/webhooks/{id}`
#[utoipa::path(
    get,
    path = "/organization/api/v1/webhooks/{id}",
    tag = "organization",
    operation_id = "get_webhook",
    params(("id" = String, Path, description = "The webhook id.")),
    security(("org_api_key" = [])),
    responses(
        (status = 200, description = "The webhook, without its secret.", body = WebhookData),
        (status = 401, response = Unauthorized),
        (status = 404, response = WebhookNotFound),
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
    let id = webhook_id(&id)?;
    let service = api.service.clone();
    let hook = api
        .blocking(&req, move || service.get_webhook(org, &id))
        .await??;
    Ok(answer(&hook, false))
}

/// `DELETE /organization/api/v1/webhooks/{id}`
#[utoipa::path(
    delete,
    path = "/organization/api/v1/webhooks/{id}",
    tag = "organization",
    operation_id = "delete_webhook",
    params(("id" = String, Path, description = "The webhook id.")),
    security(("org_api_key" = [])),
    responses(
        (status = 200, description = "`{\"message\": \"Webhook deleted successfully.\"}`",
            body = Message),
        (status = 401, response = Unauthorized),
        (status = 404, response = WebhookNotFound),
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
    let id = webhook_id(&id)?;
    let service = api.acting(&req);
    api.blocking(&req, move || service.delete_webhook(org, &id))
        .await??;
    Ok(HttpResponse::Ok().json(Message {
        message: "Webhook deleted successfully.".to_owned(),
    }))
}

/// `POST /organization/api/v1/webhooks/{id}/rotate-secret`: a new signing secret, returned
/// once; the old one keeps signing alongside for `webhooks.rotation_grace`.
#[utoipa::path(
    post,
    path = "/organization/api/v1/webhooks/{id}/rotate-secret",
    tag = "organization",
    operation_id = "rotate_webhook_secret",
    params(("id" = String, Path, description = "The webhook id.")),
    security(("org_api_key" = [])),
    responses(
        (status = 200, description = "The webhook with its new `secret`, shown once.",
            body = WebhookData),
        (status = 401, response = Unauthorized),
        (status = 404, response = WebhookNotFound),
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
    let id = webhook_id(&id)?;
    let service = api.acting(&req);
    let hook = api
        .blocking(&req, move || service.rotate_webhook_secret(org, &id))
        .await??;
    Ok(answer(&hook, true))
}

/// `POST /organization/api/v1/webhooks/{id}/enable`
#[utoipa::path(
    post,
    path = "/organization/api/v1/webhooks/{id}/enable",
    tag = "organization",
    operation_id = "enable_webhook",
    params(("id" = String, Path, description = "The webhook id.")),
    security(("org_api_key" = [])),
    responses(
        (status = 200, description = "The webhook, enabled.", body = WebhookData),
        (status = 401, response = Unauthorized),
        (status = 404, response = WebhookNotFound),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn enable(
    api: web::Data<Api>,
    req: HttpRequest,
    org: Org,
    id: web::Path<String>,
) -> Answer {
    set_enabled(api, req, org, id, true).await
}

/// `POST /organization/api/v1/webhooks/{id}/disable`
#[utoipa::path(
    post,
    path = "/organization/api/v1/webhooks/{id}/disable",
    tag = "organization",
    operation_id = "disable_webhook",
    params(("id" = String, Path, description = "The webhook id.")),
    security(("org_api_key" = [])),
    responses(
        (status = 200, description = "The webhook, disabled: no events are sent to it.",
            body = WebhookData),
        (status = 401, response = Unauthorized),
        (status = 404, response = WebhookNotFound),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn disable(
    api: web::Data<Api>,
    req: HttpRequest,
    org: Org,
    id: web::Path<String>,
) -> Answer {
    set_enabled(api, req, org, id, false).await
}

async fn set_enabled(
    api: web::Data<Api>,
    req: HttpRequest,
    Org(org): Org,
    id: web::Path<String>,
    enabled: bool,
) -> Answer {
    let id = webhook_id(&id)?;
    let service = api.acting(&req);
    let hook = api
        .blocking(&req, move || service.set_webhook_enabled(org, &id, enabled))
        .await??;
    Ok(answer(&hook, false))
}

/// Query of the deliveries log. Unknown parameters are refused.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AttemptParams {
    /// The cursor from the previous page's `after`.
    after: Option<String>,
    /// Page size, 1–200 (50 when absent); outside that range is a `400`, not clamped.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
}

/// `GET /organization/api/v1/webhooks/{id}/deliveries?after=&limit=`: the attempts of the
/// deliveries to the endpoint, newest first.
#[utoipa::path(
    get,
    path = "/organization/api/v1/webhooks/{id}/deliveries",
    tag = "organization",
    operation_id = "list_webhook_deliveries",
    params(("id" = String, Path, description = "The webhook id."), AttemptParams),
    security(("org_api_key" = [])),
    responses(
        (status = 200, description = "One page of the attempts to deliver to the webhook, \
newest first.", body = AttemptList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = WebhookNotFound),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn deliveries(
    api: web::Data<Api>,
    req: HttpRequest,
    Org(org): Org,
    id: web::Path<String>,
    params: web::Query<AttemptParams>,
) -> Answer {
    let id = webhook_id(&id)?;
    let params = params.into_inner();
    let limit = crate::parse_limit(params.limit.as_deref())?;
    let after = params.after.filter(|a| !a.is_empty());
    let service = api.service.clone();
    let page = api
        .blocking(&req, move || {
            service.list_webhook_attempts(org, &id, after.as_deref(), limit)
        })
        .await??;
    Ok(HttpResponse::Ok().json(AttemptList {
        data: AttemptPageJson {
            entries: page.entries.iter().map(AttemptJson::from).collect(),
            after: page.after.as_deref(),
        },
    }))
}
