//! JSON request bodies: content type checked, size capped, and decode errors that name the
//! field (`expired_at: invalid type: string "1", expected i64`).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;

use crate::ApiError;

/// A JSON body of type `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<JsonBody<T>, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|essence| {
                let essence = essence.trim().to_ascii_lowercase();
                essence == "application/json" || essence.ends_with("+json")
            })
            .unwrap_or(false);
        let limit = req
            .app_data::<web::Data<crate::Api>>()
            .map_or(crate::DEFAULT_BODY_LIMIT, |api| api.body_limit);
        let bytes = web::Bytes::from_request(req, payload);
        let flavor = crate::Flavor::of_path(req.path());
        Box::pin(async move {
            let result = async {
                if !is_json {
                    return Err(ApiError::not_json());
                }
                let bytes = bytes.await.map_err(|e| {
                    if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                        ApiError::too_large(limit)
                    } else {
                        ApiError::malformed_json(format!("could not read the body: {e}"))
                    }
                })?;
                parse(&bytes)
            }
            .await;
            result.map(JsonBody).map_err(|e| e.flavored(flavor))
        })
    }
}

/// Decodes `bytes` as `T`, with the path of the failing field in the message.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::malformed_json(format!("the body is not valid JSON: {inner}"));
        }
        // The position says nothing to an API client once the field is named.
        let full = inner.to_string();
        let position = format!(" at line {} column {}", inner.line(), inner.column());
        let message = full.strip_suffix(&position).unwrap_or(&full);
        if path != "." && !path.is_empty() {
            return ApiError::invalid(Some(&path), format!("{path}: {message}"));
        }
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'));
        ApiError::invalid(missing, message)
    })
}
