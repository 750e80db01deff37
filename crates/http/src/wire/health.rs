//! The answers of `/healthz` and `/readyz`.

use serde::Serialize;
use utoipa::ToSchema;

/// `{"status": "ok"}` (`/healthz`) or `{"status": "ready"}` (`/readyz`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// `ok` or `ready`.
    #[schema(value_type = String, example = "ok")]
    pub status: &'static str,
}
