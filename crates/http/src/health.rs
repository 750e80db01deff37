//! Liveness and readiness.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::{Api, ApiError};

/// `GET /healthz`: 200 while the process serves requests.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /readyz`: 200 only while the database answers; 503 otherwise.
pub async fn readyz(api: web::Data<Api>) -> Result<HttpResponse, ApiError> {
    let db = api.service.db().clone();
    web::block(move || db.ping())
        .await?
        .map_err(ApiError::unavailable)?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}
