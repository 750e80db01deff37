//! The webhook outbox's writer (`docs/webhooks.md`): an event for an alias change, written in
//! the change's own transaction, only when the organization has an enabled webhook subscribed
//! to its type. The alias is sent without its secrets: `jwt_secret`, `passcode` and
//! `stream_key` are always `null`. And `webhook.disabled`, written when an endpoint is
//! disabled for failing a day, for the organization's other endpoints (no secret in it).

use aliaskit_domain::{Alias, EventFilter, EventType, OrgId};
use aliaskit_store::repo::{orgs, webhook_deliveries, webhook_events, webhooks};
use aliaskit_store::{DbConn, StoreError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{Result, random};

/// Randomness for the ids of the events one transaction writes, drawn before it begins (so the
/// transaction itself cannot fail for want of randomness).
pub(crate) struct EventIds(String);

impl EventIds {
    /// A fresh source of ids.
    pub(crate) fn new() -> Result<Self> {
        Ok(EventIds(random::token::<16>()?))
    }

    /// The id of `event` about `alias`: `evt_` and 128 bits of SHA-256 over this source's
    /// random nonce, the alias and the type — unique and unguessable.
    fn id(&self, event: EventType, subject: &str) -> String {
        let digest = Sha256::new()
            .chain_update(self.0.as_bytes())
            .chain_update([0])
            .chain_update(subject.as_bytes())
            .chain_update([0])
            .chain_update(event.as_str().as_bytes())
            .finalize();
        format!("evt_{}", URL_SAFE_NO_PAD.encode(&digest[..16]))
    }
}

/// Writes `event` about `alias` at `now`, with a pending delivery for each enabled webhook of
/// its organization subscribed to it; nothing when there is none. Call it inside the change's
/// transaction.
pub(crate) fn record(
    conn: &mut DbConn,
    ids: &EventIds,
    event: EventType,
    alias: &Alias,
    now: i64,
) -> std::result::Result<(), StoreError> {
    let subscribers = webhooks::subscribers(conn, alias.org, event)?;
    if subscribers.is_empty() {
        return Ok(());
    }
    let data = json!({"alias": {
            "id": alias.id.as_str(),
            "type": alias.kind.as_str(),
            "name": alias.name,
            "passcode": null,
            "jwt_secret": null,
            "stream_key": null,
            "expired_at": alias.expired_at,
            "inserted_at": alias.inserted_at,
    }});
    let id = ids.id(event, alias.id.as_str());
    write(
        conn,
        &id,
        alias.org,
        event,
        Some(alias.id.as_str()),
        data,
        &subscribers,
        now,
    )
}

/// Writes `webhook.disabled` about `hook` (just disabled for failing) at `now`, with a pending
/// delivery for each other enabled endpoint of its organization subscribed to it; nothing when
/// there is none. Call it inside the transaction that disables the endpoint.
pub(crate) fn webhook_disabled(
    conn: &mut DbConn,
    ids: &EventIds,
    hook: &webhooks::Health,
    now: i64,
) -> std::result::Result<(), StoreError> {
    let org = OrgId(hook.org_id);
    let event = EventType::WebhookDisabled;
    let subscribers: Vec<String> = webhooks::subscribers(conn, org, event)?
        .into_iter()
        .filter(|id| *id != hook.id)
        .collect();
    if subscribers.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = hook.events.split(',').collect();
    let events = EventFilter::parse(&names)
        .map(|f| f.names())
        .unwrap_or_default();
    let data = json!({"webhook": {
        "id": hook.id,
        "url": hook.url,
        "events": events,
        "description": hook.description,
        "enabled": false,
        "created_at": hook.created_at,
    }});
    let id = ids.id(event, &hook.id);
    write(conn, &id, org, event, None, data, &subscribers, now)
}

/// Writes the event `id` with its body around `data`, and a delivery to each of `subscribers`.
#[expect(
    clippy::too_many_arguments,
    reason = "the columns of an event and its fan-out, each from a different place"
)]
fn write(
    conn: &mut DbConn,
    id: &str,
    org: OrgId,
    event: EventType,
    alias_id: Option<&str>,
    data: serde_json::Value,
    subscribers: &[String],
    now: i64,
) -> std::result::Result<(), StoreError> {
    let organization = orgs::name_of(conn, org)?.unwrap_or_default();
    let payload = json!({
        "id": id,
        "type": event.as_str(),
        "created_at": now,
        "organization": organization,
        "data": data,
    })
    .to_string();
    let seq = webhook_events::insert(
        conn,
        &webhook_events::NewEvent {
            id,
            org,
            event_type: event.as_str(),
            alias_id,
            payload: &payload,
            created_at: now,
        },
    )?;
    for webhook in subscribers {
        webhook_deliveries::insert(conn, seq, webhook, alias_id, now)?;
    }
    Ok(())
}
