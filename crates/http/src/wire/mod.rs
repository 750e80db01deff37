//! The JSON the routes read and write, by route family. Each type is what its handlers
//! serialize (or deserialize) and, through `ToSchema`, its own OpenAPI schema: the description
//! cannot drift from the bodies.
//!
//! - [`alias`]: the Datagram alias API (aliases, the listing, the create and update bodies);
//! - [`opencap`]: OpenCAP addresses, login and signup answers;
//! - [`webhook`]: the organization's webhook endpoints;
//! - [`health`]: `/healthz` and `/readyz`;
//! - [`error`]: the two error shapes, and the reusable error responses the routes list.

pub mod alias;
pub mod audit;
pub mod error;
pub mod health;
pub mod opencap;
pub mod webhook;

use serde::Serialize;
use utoipa::ToSchema;

/// `{"message": "…"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Message {
    /// What was done.
    pub message: String,
}
