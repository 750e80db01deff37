//! Liveness and readiness.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::wire::error::{InternalError, Unavailable};
use crate::wire::health::Status;
use crate::{Api, ApiError};

/// `GET /healthz`: 200 while the process serves requests.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    operation_id = "healthz",
    responses((status = 200, description = "The process serves requests: `{\"status\": \"ok\"}`.", body = Status)),
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Status { status: "ok" })
}

/// `GET /readyz`: 200 only while the database answers; 503 otherwise.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    operation_id = "readyz",
    responses(
        (status = 200, description = "The database answers: `{\"status\": \"ready\"}`.", body = Status),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn readyz(api: web::Data<Api>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let db = api.service.db().clone();
    api.blocking(&req, move || db.ping())
        .await?
        .map_err(ApiError::unavailable)?;
    Ok(HttpResponse::Ok().json(Status { status: "ready" }))
}

/// `HEAD /healthz`: the status of `GET /healthz` without its body, for load balancers that
/// probe with `HEAD`.
#[utoipa::path(
    head,
    path = "/healthz",
    tag = "health",
    operation_id = "healthz_head",
    responses((status = 200, description = "The process serves requests.")),
)]
pub async fn healthz_head() -> HttpResponse {
    healthz().await
}

/// `HEAD /readyz`: the status of `GET /readyz` without its body.
#[utoipa::path(
    head,
    path = "/readyz",
    tag = "health",
    operation_id = "readyz_head",
    responses(
        (status = 200, description = "The database answers."),
        (status = 500, description = "An unexpected server error."),
        (status = 503, description = "The database does not answer; `Retry-After` says when to try again."),
    ),
)]
pub async fn readyz_head(api: web::Data<Api>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    readyz(api, req).await
}
