//! The webhook outbox's writer (`docs/webhooks.md`): an event for an alias change, written in
//! the change's own transaction, only when the organization has an enabled webhook subscribed
//! to its type. The alias is sent without its secrets: `jwt_secret`, `passcode` and
//! `stream_key` are always `null`.

use aliaskit_domain::{Alias, EventType};
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
    fn id(&self, event: EventType, alias: &Alias) -> String {
        let digest = Sha256::new()
            .chain_update(self.0.as_bytes())
            .chain_update([0])
            .chain_update(alias.id.as_str().as_bytes())
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
    let organization = orgs::name_of(conn, alias.org)?.unwrap_or_default();
    let id = ids.id(event, alias);
    let payload = json!({
        "id": id,
        "type": event.as_str(),
        "created_at": now,
        "organization": organization,
        "data": {"alias": {
            "id": alias.id.as_str(),
            "type": alias.kind.as_str(),
            "name": alias.name,
            "passcode": null,
            "jwt_secret": null,
            "stream_key": null,
            "expired_at": alias.expired_at,
            "inserted_at": alias.inserted_at,
        }},
    })
    .to_string();
    let seq = webhook_events::insert(
        conn,
        &webhook_events::NewEvent {
            id: &id,
            org: alias.org,
            event_type: event.as_str(),
            alias_id: Some(alias.id.as_str()),
            payload: &payload,
            created_at: now,
        },
    )?;
    for webhook in &subscribers {
        webhook_deliveries::insert(conn, seq, webhook, now)?;
    }
    Ok(())
}
