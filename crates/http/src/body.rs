//! JSON request bodies: content type checked, size capped, time to arrive bounded, and decode
//! errors that name the field (`expired_at: invalid type: string "1", expected i64`).
//!
//! actix-web bounds only the time to read a request's head (`client_request_timeout`); once the
//! head is in, it waits for the body as long as the client takes. [`JsonBody`] gives the whole
//! body [`Api::body_timeout`](crate::Api::body_timeout) from the moment it starts reading, then
//! answers `408 request_timeout` and closes the connection.
//!
//! Closing takes care: actix-http closes a connection after an answer only while the request's
//! payload is unread *and still held*; a dropped chunked payload it drains instead, waiting for
//! a client that may never send the rest. So the payload is shared with the reader, and on the
//! deadline it is handed to a task that discards what still comes, until actix-http has closed
//! the connection.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::{StatusCode, header};
use actix_web::rt::time::{self, Instant};
use actix_web::{FromRequest, HttpRequest, web};
use futures_core::Stream;
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
        let api = req.app_data::<web::Data<crate::Api>>();
        let limit = api.map_or(crate::DEFAULT_BODY_LIMIT, |api| api.body_limit);
        let timeout = api.map_or(crate::DEFAULT_BODY_TIMEOUT, |api| api.body_timeout);
        // The clock starts now, when the handler asks for the body, not when it is first polled.
        // A timeout too long to add to the clock (only set so on purpose) is no timeout.
        let deadline = Instant::now().checked_add(timeout);
        let payload = Rc::new(RefCell::new(payload.take()));
        let mut reader = Payload::from(Box::pin(Shared(Rc::clone(&payload))) as Pin<Box<_>>);
        let bytes = web::Bytes::from_request(req, &mut reader);
        Box::pin(async move {
            let result = async {
                if !is_json {
                    return Err(ApiError::not_json());
                }
                let bytes = match deadline {
                    Some(deadline) => {
                        let remaining = deadline.saturating_duration_since(Instant::now());
                        let Ok(bytes) = time::timeout(remaining, bytes).await else {
                            actix_web::rt::spawn(discard(payload));
                            return Err(ApiError::body_timeout(timeout));
                        };
                        bytes
                    }
                    None => bytes.await,
                };
                let bytes = bytes.map_err(|e| {
                    if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                        ApiError::too_large(limit)
                    } else {
                        ApiError::malformed_json(format!("could not read the body: {e}"))
                    }
                })?;
                parse(&bytes)
            }
            .await;
            result.map(JsonBody)
        })
    }
}

/// The request's payload, read through a shared handle, so that dropping the reader at the
/// deadline does not drop the payload.
struct Shared(Rc<RefCell<Payload>>);

impl Stream for Shared {
    type Item = Result<web::Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_next(cx)
    }
}

/// Reads what is left of a payload whose request was answered `408`, discarding it. Held and
/// unfinished, the payload makes actix-http close the connection after the answer; the close
/// ends the payload with an error, and this task with it.
async fn discard(payload: Rc<RefCell<Payload>>) {
    let mut payload = Shared(payload);
    while let Some(Ok(_)) = std::future::poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)).await {}
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
        ApiError::invalid(missing, message.to_owned())
    })
}
