//! Credentials from requests: the `Authorization` header in both Datagram forms, and the
//! organization extractor.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use aliaskit_domain::OrgId;

use crate::metrics::Limit;
use crate::{Api, ApiError};

/// The credential in `Authorization`: `Bearer <x>` (scheme in any case) or the bare `<x>`, as
/// the Datagram docs show both. `None` when the header is absent or not text.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let credential = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        None => value,
    };
    (!credential.is_empty()).then_some(credential)
}

/// The organization whose API key authenticates the request; `401 UNAUTHORIZED` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Org(pub OrgId);

impl FromRequest for Org {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Org, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let api = req.app_data::<web::Data<Api>>().cloned();
        let key = bearer(req).map(str::to_owned);
        let req = req.clone();
        Box::pin(async move {
            let api = api.ok_or_else(|| ApiError::internal("the Api state is not registered"))?;
            let key = key.ok_or_else(|| {
                ApiError::unauthorized(
                    "send the organization API key as Authorization: Bearer <key>",
                )
            })?;
            let org = authenticate_org(&api, &req, key.clone()).await?;
            req.extensions_mut()
                .insert(aliaskit_service::Actor::api_key(&key, org));
            Ok(Org(org))
        })
    }
}

/// The organization owning API key `key` (off the async workers, within the request's database
/// time), counted against the per-organization request limit: what every use of an
/// organization key goes through.
pub(crate) async fn authenticate_org(
    api: &Api,
    req: &HttpRequest,
    key: String,
) -> Result<OrgId, ApiError> {
    let service = api.service.clone();
    let org = api
        .blocking(req, move || service.authenticate_org(&key))
        .await??;
    api.limit(
        &api.org_limiter,
        &org,
        Limit::Org,
        "requests for this organization",
    )?;
    Ok(org)
}
