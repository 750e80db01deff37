//! The JSON of the webhook endpoints (`docs/webhooks.md`): the create body in, webhooks out.
//! The signing secret is serialized only in the answers of create and rotate-secret.

use aliaskit_domain::Webhook;
use aliaskit_service::NewWebhook;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An event name a webhook may subscribe to, or `*` for every event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum WebhookEventName {
    /// Every event, including types added later; alone in the list.
    #[serde(rename = "*")]
    All,
    /// An alias was created.
    #[serde(rename = "alias.created")]
    AliasCreated,
    /// An alias was updated.
    #[serde(rename = "alias.updated")]
    AliasUpdated,
    /// An alias was deleted.
    #[serde(rename = "alias.deleted")]
    AliasDeleted,
    /// An alias passed its `expired_at` (once).
    #[serde(rename = "alias.expired")]
    AliasExpired,
    /// An alias's `jwt_secret` was rotated.
    #[serde(rename = "alias.secret_rotated")]
    AliasSecretRotated,
    /// An alias's tokens were revoked.
    #[serde(rename = "alias.tokens_revoked")]
    AliasTokensRevoked,
    /// An alias's stream key was rotated.
    #[serde(rename = "alias.stream_key_rotated")]
    AliasStreamKeyRotated,
    /// Another endpoint of the organization was disabled for failing.
    #[serde(rename = "webhook.disabled")]
    WebhookDisabled,
}

/// The create body. Unknown members are refused.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WebhookCreate)]
pub struct CreateWebhookBody {
    /// The target: `https` (or `http` with `webhooks.allow_insecure`), no user name or
    /// password, not a loopback, private, link-local or metadata address, nor a name resolving
    /// to one (unless `webhooks.allow_private_targets`).
    #[schema(max_length = 2048, example = "https://example.com/aliaskit-events")]
    url: String,
    /// `["*"]`, or one or more event names.
    #[schema(value_type = Vec<WebhookEventName>, min_items = 1)]
    events: Vec<String>,
    /// Free text, at most 256 characters; `null` or absent for none.
    #[serde(default)]
    #[schema(max_length = 256)]
    description: Option<String>,
}

impl From<CreateWebhookBody> for NewWebhook {
    fn from(b: CreateWebhookBody) -> Self {
        NewWebhook {
            url: b.url,
            events: b.events,
            description: b.description,
        }
    }
}

/// A webhook endpoint. `secret` only in the answers of create and rotate-secret.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Webhook)]
pub struct WebhookJson<'a> {
    /// `wh_…`.
    #[schema(value_type = String, example = "wh_3kQ9aZ1xVb7mN2pL4rT6sA")]
    pub id: &'a str,
    /// The target URL, as the server parsed it.
    #[schema(value_type = String)]
    pub url: &'a str,
    /// The subscribed events: `["*"]` or event names.
    #[schema(value_type = Vec<WebhookEventName>)]
    pub events: Vec<&'static str>,
    /// Free text, or `null`.
    #[schema(value_type = Option<String>)]
    pub description: Option<&'a str>,
    /// The signing secret, `whsec_` and 43 characters: shown by create and rotate-secret only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
    pub secret: Option<&'a str>,
    /// Whether events are sent to it.
    pub enabled: bool,
    /// Unix seconds.
    pub created_at: i64,
}

impl<'a> WebhookJson<'a> {
    /// The webhook without its secret.
    pub fn public(w: &'a Webhook) -> Self {
        WebhookJson {
            id: w.id.as_str(),
            url: &w.url,
            events: w.events.names(),
            description: w.description.as_deref(),
            secret: None,
            enabled: w.enabled,
            created_at: w.created_at,
        }
    }

    /// The webhook with its current secret.
    pub fn with_secret(w: &'a Webhook) -> Self {
        WebhookJson {
            secret: Some(w.secret.expose()),
            ..WebhookJson::public(w)
        }
    }
}

/// `{"data": Webhook}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookData<'a> {
    /// The webhook.
    pub data: WebhookJson<'a>,
}

/// `{"data": {"entries": [Webhook…]}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList<'a> {
    /// Every webhook of the organization, oldest first.
    pub data: WebhookEntries<'a>,
}

/// The entries of [`WebhookList`].
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEntries<'a> {
    /// The webhooks, without secrets.
    pub entries: Vec<WebhookJson<'a>>,
}

/// One attempt of a delivery to the endpoint (`GET …/webhooks/{id}/deliveries`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WebhookAttempt)]
pub struct AttemptJson<'a> {
    /// The attempt's id; the listing is newest first by it.
    pub id: i64,
    /// `evt_…`, as sent in `Aliaskit-Event-Id` (the same for every attempt of a delivery).
    #[schema(value_type = String)]
    pub event_id: &'a str,
    /// The event's type.
    #[schema(value_type = WebhookEventName)]
    pub event_type: &'a str,
    /// 1 for the delivery's first attempt.
    pub attempt: i64,
    /// The answer's HTTP status, `null` when none came.
    #[schema(required = true)]
    pub status: Option<i64>,
    /// What went wrong (a status outside `2xx`, a timeout, a refused connection), `null` when
    /// delivered.
    #[schema(value_type = Option<String>, required = true)]
    pub error: Option<&'a str>,
    /// How long the attempt took, milliseconds.
    pub duration_ms: i64,
    /// Unix seconds of the attempt.
    pub at: i64,
    /// Unix seconds of the next attempt of this delivery, `null` when delivered or given up.
    #[schema(required = true)]
    pub next_attempt_at: Option<i64>,
    /// Unix seconds, when this attempt delivered; else `null`.
    #[schema(required = true)]
    pub delivered_at: Option<i64>,
}

impl<'a> From<&'a aliaskit_service::AttemptRecord> for AttemptJson<'a> {
    fn from(a: &'a aliaskit_service::AttemptRecord) -> Self {
        AttemptJson {
            id: a.id,
            event_id: &a.event_id,
            event_type: &a.event_type,
            attempt: a.attempt,
            status: a.status,
            error: a.error.as_deref(),
            duration_ms: a.duration_ms,
            at: a.at,
            next_attempt_at: a.next_attempt_at,
            delivered_at: a.delivered_at,
        }
    }
}

/// `{"data": {"entries": [WebhookAttempt…], "after": cursor|null}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptList<'a> {
    /// One page.
    pub data: AttemptPageJson<'a>,
}

/// One page of the attempts, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WebhookAttemptPage)]
pub struct AttemptPageJson<'a> {
    /// The attempts on this page.
    pub entries: Vec<AttemptJson<'a>>,
    /// The cursor for the next page (`?after=`), `null` on the last page.
    #[schema(value_type = Option<String>, required = true)]
    pub after: Option<&'a str>,
}
